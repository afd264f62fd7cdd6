package gitops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lkg-dev/lkg/types"
)

// remoteSetup: upstream (bare) with main and a release branch; a fork of
// alice's; a local clone with alice as a remote and an unreachable remote;
// after cloning, upstream gains a branch holding good, a PR merge ref and
// a rebased copy of good.
type remoteSetup struct {
	local, upstream, fork, other string
	good, bad, prMerge, rebased  string
}

func newRemoteSetup(t *testing.T) remoteSetup {
	t.Helper()
	requireGit(t)
	root := t.TempDir()
	var s remoteSetup
	work := filepath.Join(root, "work")
	os.Mkdir(work, 0o755)
	gitRun(t, work, "init", "-q", "-b", "main")
	commitAt(t, work, "a", "0", 1000000000)
	s.good = commitAt(t, work, "a", "good", 1000000100)
	gitRun(t, work, "tag", "v1")
	s.bad = commitAt(t, work, "a", "bad", 1000000200)
	gitRun(t, work, "branch", "release", s.good)
	s.upstream = filepath.Join(root, "upstream.git")
	gitRun(t, root, "clone", "-q", "--bare", work, s.upstream)
	s.fork = filepath.Join(root, "alice.git")
	gitRun(t, root, "clone", "-q", "--bare", work, s.fork)
	s.other = filepath.Join(root, "bob.git")
	gitRun(t, root, "clone", "-q", "--bare", work, s.other)
	s.local = filepath.Join(root, "local")
	gitRun(t, root, "clone", "-q", s.upstream, s.local)
	gitRun(t, s.local, "remote", "add", "alice", s.fork)
	gitRun(t, s.local, "remote", "add", "gone", filepath.Join(root, "nope.git"))
	// Upstream moves on after the clone.
	gitRun(t, work, "checkout", "-q", "-b", "hotfix", s.good)
	commitAt(t, work, "b", "fix", 1000000300)
	gitRun(t, work, "push", "-q", s.upstream, "hotfix")
	gitRun(t, work, "checkout", "-q", "-b", "pr", s.bad)
	commitAt(t, work, "c", "pr", 1000000400)
	prHead := gitRun(t, work, "rev-parse", "HEAD")
	gitRun(t, work, "checkout", "-q", "main")
	tree := gitRun(t, work, "rev-parse", prHead+"^{tree}")
	s.prMerge = gitRunEnv(t, work, []string{"GIT_COMMITTER_DATE=@1000000500 +0000", "GIT_AUTHOR_DATE=@1000000500 +0000"}, "commit-tree", tree, "-p", s.bad, "-p", prHead, "-m", "merge pr")
	gitRun(t, work, "push", "-q", s.upstream, prHead+":refs/pull/1/head", s.prMerge+":refs/pull/1/merge")
	// Alice's fork: a teammate namespace branch with good's tree on
	// another parent (a rebase).
	goodTree := gitRun(t, work, "rev-parse", s.good+"^{tree}")
	s.rebased = gitRunEnv(t, work, []string{"GIT_COMMITTER_DATE=@1000000600 +0000", "GIT_AUTHOR_DATE=@1000000600 +0000"}, "commit-tree", goodTree, "-p", s.good+"^", "-m", "rebased good")
	gitRun(t, work, "push", "-q", s.fork, s.rebased+":refs/heads/alice/rebased")
	// Bob's fork, given by URL only: a branch two commits past good.
	gitRun(t, work, "checkout", "-q", "-b", "bob", s.good)
	commitAt(t, work, "d", "1", 1000000700)
	commitAt(t, work, "d", "2", 1000000800)
	gitRun(t, work, "push", "-q", s.other, "bob:refs/heads/bob/wip")
	return s
}

// userState is everything find must leave alone.
func userState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(gitRun(t, dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/remotes", "refs/tags"))
	for _, f := range []string{".git/HEAD", ".git/index", ".git/config", "a"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n" + f + "\n" + string(data))
	}
	return b.String()
}

func TestRefStates(t *testing.T) {
	t.Parallel()
	s := newRemoteSetup(t)
	os.WriteFile(filepath.Join(s.local, "a"), []byte("uncommitted"), 0o644)
	before := userState(t, s.local)
	r, err := Open(s.local, WithCacheDir(t.TempDir()), WithRemotes("file://"+s.other, "nosuchremote"))
	if err != nil {
		t.Fatal(err)
	}
	good, err := r.Resolve("v1")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := r.Resolve("main")
	if err != nil {
		t.Fatal(err)
	}
	states, warnings, err := r.RefStates(context.Background(), good, &bad)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ remote, ref string }
	got := map[key]types.RefState{}
	for _, st := range states {
		got[key{st.Remote, st.Ref}] = st
	}
	tests := []struct {
		remote, ref             string
		containsGood, containsB bool
		ahead                   int
		sameTree                bool
	}{
		{"", "refs/heads/main", true, true, 1, false},
		{"origin", "refs/heads/release", true, false, 0, true},
		{"origin", "refs/heads/hotfix", true, false, 1, false},
		{"alice", "refs/heads/alice/rebased", false, false, 1, true},
		{"file://" + s.other, "refs/heads/bob/wip", true, false, 2, false},
	}
	for _, tc := range tests {
		st, ok := got[key{tc.remote, tc.ref}]
		if !ok {
			t.Errorf("no state for %s %s; got %+v", tc.remote, tc.ref, states)
			continue
		}
		if st.ContainsGood != tc.containsGood || st.ContainsBad != tc.containsB || st.Ahead != tc.ahead || (st.Tree == good.Tree) != tc.sameTree {
			t.Errorf("%s %s = %+v, want good %v bad %v ahead %d same tree %v", tc.remote, tc.ref, st, tc.containsGood, tc.containsB, tc.ahead, tc.sameTree)
		}
	}
	for k := range got {
		if strings.HasPrefix(k.ref, "refs/remotes/origin/") || strings.HasPrefix(k.ref, "refs/remotes/alice/") {
			t.Errorf("stale remote-tracking ref %s listed although its remote answered", k.ref)
		}
	}
	joined := strings.Join(warnings, "\n")
	for _, want := range []string{`remote "gone"`, `"nosuchremote"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q lack %s", warnings, want)
		}
	}
	// The PR merge commit is on no branch: Lookup fetches pull refs.
	found, errs := r.Lookup(context.Background(), []string{s.prMerge[:12], "0123456789abcdef"}, types.LookupHints{})
	if found[s.prMerge[:12]].Hash != s.prMerge {
		t.Errorf("Lookup PR merge = %v (%v), want %s", found[s.prMerge[:12]], errs[s.prMerge[:12]], s.prMerge)
	}
	if !errors.Is(errs["0123456789abcdef"], types.ErrUnknownRevision) {
		t.Errorf("Lookup unknown = %v, want types.ErrUnknownRevision", errs["0123456789abcdef"])
	}
	// Why it stays unknown is in the error, for the caller's one message
	// about it; Lookup itself warns nothing about the revision.
	var unknown *types.UnknownRevisionError
	if !errors.As(errs["0123456789abcdef"], &unknown) || !strings.Contains(unknown.Why, `remote "gone"`) || !strings.Contains(unknown.Why, "abbreviated revision cannot be asked for by object id") {
		t.Errorf("Lookup unknown = %#v, want an UnknownRevisionError saying why the remotes could not say", errs["0123456789abcdef"])
	}
	for _, w := range r.takeWarnings() {
		if strings.Contains(w, "0123456789abcdef") {
			t.Errorf("Lookup warned about the unknown revision itself: %q", w)
		}
	}
	if after := userState(t, s.local); after != before {
		t.Errorf("user state changed:\nbefore %s\nafter %s", before, after)
	}
	lkgRefs := gitRun(t, s.local, "for-each-ref", "--format=%(refname)", "refs/lkg")
	for _, want := range []string{"refs/lkg/origin/heads/hotfix", "refs/lkg/alice/heads/alice/rebased", "refs/lkg/origin/pull/1/merge"} {
		if !strings.Contains(lkgRefs, want) {
			t.Errorf("refs/lkg = %q, want %s", lkgRefs, want)
		}
	}
}

func TestRefStatesNoFetch(t *testing.T) {
	t.Parallel()
	s := newRemoteSetup(t)
	before := userState(t, s.local)
	r, err := Open(s.local, WithCacheDir(t.TempDir()), WithNoFetch(true), WithRemotes("file://"+s.other))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := r.Resolve("v1")
	states, _, err := r.RefStates(context.Background(), good, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range states {
		got = append(got, st.Remote+" "+st.Ref)
	}
	want := []string{" refs/heads/main", "origin refs/remotes/origin/main", "origin refs/remotes/origin/release"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("no-fetch refs = %q, want %q", got, want)
	}
	_, errs := r.Lookup(context.Background(), []string{s.prMerge}, types.LookupHints{})
	if !errors.Is(errs[s.prMerge], types.ErrUnknownRevision) {
		t.Errorf("no-fetch Lookup of a remote-only commit = %v, want types.ErrUnknownRevision", errs[s.prMerge])
	}
	if after := userState(t, s.local); after != before {
		t.Errorf("user state changed")
	}
	if out := gitRun(t, s.local, "for-each-ref", "refs/lkg"); out != "" {
		t.Errorf("--no-fetch wrote refs: %s", out)
	}
}

func TestRefStatesShallow(t *testing.T) {
	t.Parallel()
	s := newRemoteSetup(t)
	shallow := filepath.Join(t.TempDir(), "shallow")
	gitRun(t, "", "clone", "-q", "--depth=1", "file://"+s.upstream, shallow)
	r, err := Open(shallow, WithCacheDir(t.TempDir()), WithNoFetch(true))
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	_, warnings, err := r.RefStates(context.Background(), head, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "git fetch --unshallow") {
		t.Errorf("warnings %q lack the unshallow hint", warnings)
	}
}

// TestFetchProgress: with WithProgress, every remote listed and every fetch
// is drawn, the fetch with its objects and bytes, and the line is cleared.
func TestFetchProgress(t *testing.T) {
	t.Parallel()
	s := newRemoteSetup(t)
	var buf strings.Builder
	r, err := Open(s.local, WithCacheDir(t.TempDir()), WithProgress(&buf))
	if err != nil {
		t.Fatal(err)
	}
	good, err := r.Resolve("v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.RefStates(context.Background(), good, nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"origin: listing refs", "alice: listing refs", "origin: fetched 1 ref(s), ", " objects, ", "\r\033[K"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress %q lacks %q", out, want)
		}
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress %q does not end cleared", out)
	}
}
