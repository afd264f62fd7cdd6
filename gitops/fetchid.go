package gitops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/lkg-dev/lkg/internal/packfile"
	"github.com/lkg-dev/lkg/types"
)

// scratchDir is lkg's own bare repository for commits fetched by object
// id: <cache>/fetched/<repo id>.git. A shallow, filtered fetch would make
// the user's repository shallow and a partial clone (git rewrites its
// config and writes .git/shallow); in a repository of lkg's own it costs
// nothing, and `lkg clean` removes it.
func (r *Repo) scratchDir() string {
	id := sha256.Sum256([]byte(r.gitDir))
	return filepath.Join(r.opts.cacheDir, "fetched", hex.EncodeToString(id[:])[:16]+".git")
}

// setFetchedCommit records a commit fetched by id for Lookup: it is not in
// the repository's object store, so the commit table never holds it.
func (r *Repo) setFetchedCommit(c types.Commit) {
	r.fetchedMu.Lock()
	defer r.fetchedMu.Unlock()
	if r.fetched == nil {
		r.fetched = map[string]types.Commit{}
	}
	r.fetched[c.Hash] = c
}

func (r *Repo) fetchedCommit(hash string) (types.Commit, bool) {
	r.fetchedMu.Lock()
	defer r.fetchedMu.Unlock()
	c, ok := r.fetched[hash]
	return c, ok
}

// fetchByID asks rm for one commit by its id: depth 1 and, where the server
// filters, without trees or blobs, so a commit costs a few hundred bytes
// whatever the size of its tree. With the git CLI present the fetch goes
// into lkg's scratch repository (and is remembered there for later runs);
// without it, go-git fetches into memory, depth 1 but unfiltered (go-git
// v5 sends no filter).
func (r *Repo) fetchByID(ctx context.Context, rm *remoteInfo, oid string) (types.Commit, error) {
	ctx, cancel := r.budgetCtx(ctx, rm)
	defer cancel()
	if _, err := exec.LookPath("git"); err == nil && r.opts.cacheDir != "" {
		return r.fetchByIDGit(ctx, rm, oid)
	}
	return r.fetchByIDGoGit(ctx, rm, oid)
}

// errNotServed: the server refused a want by id or does not have it.
var errNotServed = errors.New("not served by id")

func (r *Repo) fetchByIDGit(ctx context.Context, rm *remoteInfo, oid string) (types.Commit, error) {
	dir := r.scratchDir()
	run := func(args ...string) ([]byte, []byte, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir, "-c", "gc.auto=0", "-c", "maintenance.auto=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=", "GIT_DIR="+dir)
		// Stopped by SIGINT, git removes its temporary pack (SIGKILL,
		// CommandContext's default, would leave it).
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = fetchStopWait
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.Bytes(), stderr.Bytes(), err
	}
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return types.Commit{}, err
		}
		cmd := exec.CommandContext(ctx, "git", "init", "-q", "--bare", dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return types.Commit{}, fmt.Errorf("creating lkg's scratch repository: %v: %s", err, bytes.TrimSpace(out))
		}
	}
	if out, _, err := run("cat-file", "commit", oid); err == nil {
		return parseCommitObject(oid, out)
	}
	r.progressf("%s: fetching %s by id", rm.name, oid[:12])
	_, stderr, err := run("fetch", "--quiet", "--no-tags", "--depth=1", "--filter=tree:0",
		rm.url, "+"+oid+":refs/ids/"+oid)
	if err != nil {
		if ctx.Err() != nil {
			return types.Commit{}, r.remoteError(rm, "fetching by id from", context.DeadlineExceeded)
		}
		msg := strings.Join(strings.Fields(string(stderr)), " ")
		switch {
		case strings.Contains(msg, "not our ref"), strings.Contains(msg, "unadvertised object"):
			return types.Commit{}, &remoteFailure{fmt.Sprintf("fetching %s by id from %s: %v: %s", oid[:12], rm.label(), errNotServed, msg),
				rm.label() + " does not serve it (it does not have it, or does not allow fetching by object id)"}
		}
		return types.Commit{}, r.remoteError(rm, "fetching by id from", fmt.Errorf("%v: %s", err, msg))
	}
	out, _, err := run("cat-file", "commit", oid)
	if err != nil {
		return types.Commit{}, fmt.Errorf("reading fetched commit %s: %w", oid, err)
	}
	return parseCommitObject(oid, out)
}

func (r *Repo) fetchByIDGoGit(ctx context.Context, rm *remoteInfo, oid string) (types.Commit, error) {
	st := memory.NewStorage()
	spec := config.RefSpec(oid + ":refs/ids/" + oid)
	remote := git.NewRemote(st, &config.RemoteConfig{Name: "lkg", URLs: []string{rm.url}})
	r.progressf("%s: fetching %s by id", rm.name, oid[:12])
	err := withCtx(ctx, func() error {
		return remote.FetchContext(ctx, &git.FetchOptions{RefSpecs: []config.RefSpec{spec}, Depth: 1, Tags: git.NoTags, Auth: rm.auth})
	})
	switch {
	case errors.Is(err, git.ErrExactSHA1NotSupported):
		return types.Commit{}, &remoteFailure{err.Error(), rm.label() + " does not allow fetching by object id"}
	case err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate):
		return types.Commit{}, r.remoteError(rm, "fetching by id from", err)
	}
	c, err := object.GetCommit(st, plumbing.NewHash(oid))
	if err != nil {
		return types.Commit{}, &remoteFailure{err.Error(), rm.label() + " does not serve it"}
	}
	return commitOf(c), nil
}

// parseCommitObject reads the tree and committer time of a raw commit.
func parseCommitObject(oid string, data []byte) (types.Commit, error) {
	var h packfile.CommitHeader
	if err := packfile.ParseCommit(data, &h); err != nil || !h.HasTree {
		return types.Commit{}, fmt.Errorf("reading fetched commit %s: malformed", oid)
	}
	return types.Commit{Hash: oid, Tree: h.Tree.String(), Time: time.Unix(h.CommitTime(), 0)}, nil
}
