package gitops

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
)

// stallTransport serves repositories from disk (lkgstall:///path), except
// that an upload-pack blocks until release is closed, whatever its
// context says: a transport no context reaches. done is closed once the
// fetch that stalled has closed its session, that is when go-git's fetch
// has returned and written all it was going to.
type stallTransport struct {
	release chan struct{}
	done    chan struct{}
	once    sync.Once
}

var (
	stallMu  sync.Mutex
	stallNow *stallTransport
)

// installStall registers the lkgstall scheme for this test.
func installStall(t *testing.T) *stallTransport {
	t.Helper()
	st := &stallTransport{release: make(chan struct{}), done: make(chan struct{})}
	stallMu.Lock()
	stallNow = st
	stallMu.Unlock()
	client.InstallProtocol("lkgstall", stallClient{})
	t.Cleanup(func() {
		st.once.Do(func() { close(st.release) })
		client.InstallProtocol("lkgstall", nil)
	})
	return st
}

type stallClient struct{}

func (stallClient) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	s, err := server.DefaultServer.NewUploadPackSession(ep, auth)
	if err != nil {
		return nil, err
	}
	stallMu.Lock()
	defer stallMu.Unlock()
	return &stallSession{UploadPackSession: s, t: stallNow}, nil
}

func (stallClient) NewReceivePackSession(*transport.Endpoint, transport.AuthMethod) (transport.ReceivePackSession, error) {
	return nil, errors.New("read only")
}

type stallSession struct {
	transport.UploadPackSession
	t       *stallTransport
	stalled bool
}

func (s *stallSession) UploadPack(_ context.Context, req *packp.UploadPackRequest) (*packp.UploadPackResponse, error) {
	s.stalled = true
	<-s.t.release
	return s.UploadPackSession.UploadPack(context.Background(), req)
}

func (s *stallSession) Close() error {
	err := s.UploadPackSession.Close()
	if s.stalled {
		close(s.t.done)
	}
	return err
}

func packFiles(t *testing.T, gitDir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "pack-*"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// TestFetchAbandonedWritesNothing: a remote that hangs past its budget is
// given up on, the next remote is fetched from, and when the hung fetch
// wakes up and runs to its end it writes nothing: no pack, no ref, no
// object. Without the fence it wrote the pack and refs/lkg/slow/...
// after lkg had moved on.
func TestFetchAbandonedWritesNothing(t *testing.T) {
	s := newRemoteSetup(t)
	stall := installStall(t)
	r, err := Open(s.local, WithCacheDir(t.TempDir()), WithNetworkTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hotfix := gitRun(t, s.upstream, "rev-parse", "refs/heads/hotfix")

	slow := &remoteInfo{name: "slow", url: "lkgstall://" + s.upstream, ns: "slow"}
	if err := r.listRemote(ctx, slow); err != nil {
		t.Fatal(err)
	}
	err = r.fetchSpecs(ctx, slow, []config.RefSpec{r.lkgSpec(slow, "refs/heads/hotfix")})
	if err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("fetch from the hanging remote = %v, want a timeout", err)
	}

	// The next fetch, while the abandoned one is still blocked.
	fork := &remoteInfo{name: "alice", url: s.fork, ns: "alice"}
	if err := r.listRemote(ctx, fork); err != nil {
		t.Fatal(err)
	}
	if err := r.fetchSpecs(ctx, fork, []config.RefSpec{r.lkgSpec(fork, "refs/heads/alice/rebased")}); err != nil {
		t.Fatalf("fetch from the fork: %v", err)
	}
	if err := packLKGRefs(r.gitDir); err != nil {
		t.Fatal(err)
	}
	packs := packFiles(t, r.gitDir)
	refs := gitRun(t, s.local, "for-each-ref", "--format=%(refname) %(objectname)")

	// The hung fetch wakes up and runs to its end.
	stall.once.Do(func() { close(stall.release) })
	select {
	case <-stall.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the abandoned fetch never finished")
	}
	if got := packFiles(t, r.gitDir); !slices.Equal(got, packs) {
		t.Errorf("packs after the abandoned fetch finished:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(packs, "\n"))
	}
	if got := gitRun(t, s.local, "for-each-ref", "--format=%(refname) %(objectname)"); got != refs {
		t.Errorf("refs after the abandoned fetch finished:\n%s\nwant\n%s", got, refs)
	}
	if _, err := os.Stat(filepath.Join(r.gitDir, "refs", "lkg", "slow")); err == nil {
		t.Error("the abandoned fetch wrote refs/lkg/slow/")
	}
	if err := exec.Command("git", "-C", s.local, "cat-file", "-e", hotfix).Run(); err == nil {
		t.Errorf("the abandoned fetch's commit %s is in the repository", hotfix)
	}
	if !strings.Contains(refs, "refs/lkg/alice/heads/alice/rebased "+s.rebased) {
		t.Errorf("refs = %q, want the fork's fetch in refs/lkg/alice", refs)
	}
}
