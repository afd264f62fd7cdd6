package gitops

import (
	"context"
	"errors"
	"github.com/lkg-dev/lkg/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lkg-dev/lkg/types"
)

// gitRun runs git in dir with a fixed identity and clock, failing the test
// on error, and returns trimmed stdout.
func gitRun(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	return gitRunEnv(tb, dir, nil, args...)
}

func gitRunEnv(tb testing.TB, dir string, env []string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		tb.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

func requireGit(tb testing.TB) {
	tb.Helper()
	testenv.NeedGit(tb)
}

// commitAt makes a commit with a file change at a fixed date (seconds).
func commitAt(tb testing.TB, dir, file, content string, when int) string {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	gitRun(tb, dir, "add", file)
	date := []string{"GIT_AUTHOR_DATE=@" + strconv.Itoa(when) + " +0000", "GIT_COMMITTER_DATE=@" + strconv.Itoa(when) + " +0000"}
	gitRunEnv(tb, dir, date, "commit", "-q", "-m", file+" "+content)
	return gitRun(tb, dir, "rev-parse", "HEAD")
}

// smallRepo: main with three commits, tags v1 (lightweight), v2
// (annotated, tagged later), a branch "feature" off v1, a tag and a
// branch both named "dup" at different commits.
type smallRepo struct {
	dir            string
	c1, c2, c3, f1 string
}

func newSmallRepo(tb testing.TB) smallRepo {
	tb.Helper()
	requireGit(tb)
	dir := tb.TempDir()
	gitRun(tb, dir, "init", "-q", "-b", "main")
	s := smallRepo{dir: dir}
	s.c1 = commitAt(tb, dir, "a", "1", 1000000000)
	s.c2 = commitAt(tb, dir, "a", "2", 1000001000)
	s.c3 = commitAt(tb, dir, "a", "3", 1000002000)
	gitRun(tb, dir, "tag", "v1", s.c1)
	gitRunEnv(tb, dir, []string{"GIT_COMMITTER_DATE=@1000005000 +0000"}, "tag", "-a", "-m", "two", "v2", s.c2)
	gitRun(tb, dir, "branch", "feature", s.c1)
	gitRun(tb, dir, "checkout", "-q", "feature")
	s.f1 = commitAt(tb, dir, "b", "f", 1000003000)
	gitRun(tb, dir, "checkout", "-q", "main")
	gitRun(tb, dir, "tag", "dup", s.c1)
	gitRun(tb, dir, "branch", "dup", s.c3)
	return s
}

func TestOpen(t *testing.T) {
	t.Parallel()
	s := newSmallRepo(t)
	sub := filepath.Join(s.dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "b.git")
	gitRun(t, s.dir, "clone", "-q", "--bare", s.dir, bare)
	wt := filepath.Join(t.TempDir(), "wt")
	gitRun(t, s.dir, "worktree", "add", "-q", "--detach", wt, "v1")
	for _, tc := range []struct{ path, wantDir string }{
		{s.dir, filepath.Join(s.dir, ".git")},
		{sub, filepath.Join(s.dir, ".git")},
		{bare, bare},
		{wt, filepath.Join(s.dir, ".git")}, // a linked work tree: the common dir
	} {
		r, err := Open(tc.path)
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.path, err)
		}
		if got := r.GitDir(); got != tc.wantDir {
			t.Errorf("Open(%q).GitDir() = %q, want %q", tc.path, got, tc.wantDir)
		}
		if _, err := r.Resolve("v2"); err != nil {
			t.Errorf("Open(%q).Resolve(v2): %v", tc.path, err)
		}
	}
	if c, err := Open(wt); err == nil {
		if got, err := c.Resolve("HEAD"); err != nil || got.Hash != s.c1 {
			t.Errorf("detached HEAD of the work tree = %v, %v; want %s", got.Hash, err, s.c1)
		}
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotRepository) {
		t.Errorf("Open(empty dir) error = %v, want ErrNotRepository", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, ErrNotRepository) {
		t.Errorf("Open(missing) error = %v, want ErrNotRepository", err)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	s := newSmallRepo(t)
	r, err := Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rev     string
		want    string
		wantErr error
	}{
		{"v1", s.c1, nil},
		{"v2", s.c2, nil},
		{"refs/tags/v2", s.c2, nil},
		{"main", s.c3, nil},
		{"feature", s.f1, nil},
		{"HEAD", s.c3, nil},
		{"HEAD~2", s.c1, nil},
		{"main^", s.c2, nil},
		{"v2^{commit}", s.c2, nil},
		{s.c2, s.c2, nil},
		{s.c2[:9], s.c2, nil},
		{strings.ToUpper(s.c2[:9]), s.c2, nil},
		{"dup", "", ErrAmbiguousRef},
		{"refs/heads/dup", s.c3, nil},
		{"nope", "", ErrUnknownRef},
		{strings.Repeat("0", 40), "", ErrUnknownRef},
		{"HEAD~9", "", ErrUnknownRef},
	}
	for _, tc := range tests {
		got, err := r.Resolve(tc.rev)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Resolve(%q) error = %v, want %v", tc.rev, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.rev, err)
			continue
		}
		if got.Hash != tc.want {
			t.Errorf("Resolve(%q) = %s, want %s", tc.rev, got.Hash, tc.want)
		}
		if wantTree := gitRun(t, s.dir, "rev-parse", tc.want+"^{tree}"); got.Tree != wantTree {
			t.Errorf("Resolve(%q).Tree = %s, want %s", tc.rev, got.Tree, wantTree)
		}
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	s := newSmallRepo(t)
	r, err := Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		globs []string
		want  []string
	}{
		{[]string{"v*"}, []string{"v2", "v1"}},         // v2's tagger date is newest
		{[]string{"v1", "dup"}, []string{"v1", "dup"}}, // same date: name descending
		{[]string{"x*"}, nil},
		{nil, []string{"v2", "v1", "dup"}},
	}
	for _, tc := range tests {
		tags, err := r.Tags(tc.globs)
		if err != nil {
			t.Fatalf("Tags(%q): %v", tc.globs, err)
		}
		var got []string
		for _, tg := range tags {
			got = append(got, tg.Name)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Tags(%q) = %q, want %q", tc.globs, got, tc.want)
		}
	}
	tags, _ := r.Tags([]string{"v2"})
	if got, want := tags[0].Time.Unix(), int64(1000005000); got != want {
		t.Errorf("v2 time = %d, want tagger date %d", got, want)
	}
	if got, want := tags[0].Commit.Hash, s.c2; got != want {
		t.Errorf("v2 commit = %s, want %s", got, want)
	}
	if _, err := r.Tags([]string{"v["}); !errors.Is(err, ErrBadGlob) || !strings.Contains(err.Error(), `"v["`) {
		t.Errorf("Tags(bad glob) error = %v, want ErrBadGlob quoting it", err)
	}
}

func TestIsAncestor(t *testing.T) {
	t.Parallel()
	s := newSmallRepo(t)
	r, err := Open(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		a, b string
		want bool
	}{
		{"v1", "main", true},
		{"main", "v1", false},
		{"main", "main", true},
		{"v2", "feature", false},
		{"v1", "feature", true},
	}
	for _, tc := range tests {
		got, err := r.IsAncestor(tc.a, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("IsAncestor(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	s := newSmallRepo(t)
	r, err := Open(s.dir, WithNoFetch(true))
	if err != nil {
		t.Fatal(err)
	}
	revs := []string{s.c1, s.c2[:7], strings.ToUpper(s.f1[:10]), "deadbeefdeadbeef", "xyz", "abc"}
	found, errs := r.Lookup(context.Background(), revs, types.LookupHints{})
	for rev, want := range map[string]string{s.c1: s.c1, s.c2[:7]: s.c2, strings.ToUpper(s.f1[:10]): s.f1} {
		if got := found[rev].Hash; got != want {
			t.Errorf("Lookup %q = %q, want %q (err %v)", rev, got, want, errs[rev])
		}
	}
	for _, rev := range []string{"deadbeefdeadbeef", "xyz", "abc"} {
		if !errors.Is(errs[rev], types.ErrUnknownRevision) {
			t.Errorf("Lookup %q error = %v, want types.ErrUnknownRevision", rev, errs[rev])
		}
	}
	if c := found[s.c2[:7]]; c.Tree != gitRun(t, s.dir, "rev-parse", s.c2+"^{tree}") || c.Time.Unix() != 1000001000 {
		t.Errorf("Lookup commit = %+v, wrong tree or time", c)
	}
}

// TestLookupBeyondGraph: with a commit-graph the table holds what refs
// reach; a build revision that no ref reaches (a dangling commit, one left
// by an earlier fetch) is still found in the object store, loose or
// packed, by the store's indexes: no table of the whole store is built
// (at a million commits that is seconds, for every unknown revision).
func TestLookupBeyondGraph(t *testing.T) {
	t.Parallel()
	s := newSmallRepo(t)
	gitRun(t, s.dir, "commit-graph", "write", "--reachable")
	tree := gitRun(t, s.dir, "rev-parse", s.c2+"^{tree}")
	dangling := gitRun(t, s.dir, "commit-tree", tree, "-p", s.c1, "-m", "no ref points here")
	packed := gitRun(t, s.dir, "commit-tree", tree, "-p", s.c2, "-m", "nor here")
	// packed lives in a pack of its own only.
	pack := exec.Command("git", "pack-objects", "-q", filepath.Join(s.dir, ".git", "objects", "pack", "pack"))
	pack.Dir, pack.Stdin = s.dir, strings.NewReader(packed+"\n")
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("git pack-objects: %v\n%s", err, out)
	}
	if err := os.Remove(filepath.Join(s.dir, ".git", "objects", packed[:2], packed[2:])); err != nil {
		t.Fatal(err)
	}
	r, err := Open(s.dir, WithNoFetch(true), WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := r.commitTableFor()
	if err != nil {
		t.Fatal(err)
	}
	if !tab.FromGraph() {
		t.Fatalf("table not from the commit-graph: %q", r.takeWarnings())
	}
	tests := []struct{ rev, want string }{
		{dangling[:8], dangling},
		{dangling, dangling},
		{packed[:9], packed},
		{s.c3[:8], s.c3},
	}
	unknown := []string{"deadbeefdeadbeef", tree[:10], tree}
	revs := unknown
	for _, tc := range tests {
		revs = append(revs, tc.rev)
	}
	found, errs := r.Lookup(context.Background(), revs, types.LookupHints{})
	for _, tc := range tests {
		if got := found[tc.rev]; got.Hash != tc.want || got.Tree == "" {
			t.Errorf("Lookup(%q) = %+v (%v), want %s", tc.rev, got, errs[tc.rev], tc.want)
		}
	}
	for _, rev := range unknown {
		if !errors.Is(errs[rev], types.ErrUnknownRevision) {
			t.Errorf("Lookup(%q) error = %v, want types.ErrUnknownRevision", rev, errs[rev])
		}
	}
	if r.storeTable != nil {
		t.Errorf("the lookups built a table of the whole object store")
	}
}
