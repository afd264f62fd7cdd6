package commitindex

import (
	"bytes"
	"fmt"
	"github.com/lkg-dev/lkg/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// gitIn runs git in dir with stdin and a fixed identity, and returns its
// output trimmed; an error fails t.
func gitIn(t testing.TB, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@b", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@b")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// scanRepo is a copy of scanTemplate, for a test to change as it likes.
// The template (3,000 commits, an aggressive repack) is built once per test
// binary: five tests start from it, and building it is most of their time.
func scanRepo(t *testing.T) string {
	t.Helper()
	testenv.NeedGit(t)
	tmpl.once.Do(func() {
		dir, err := os.MkdirTemp("", "lkg-scanrepo-")
		if err != nil {
			tmpl.err = err
			return
		}
		tmpl.dir = dir
		tmpl.err = buildScanRepo(t, dir)
	})
	if tmpl.err != nil {
		t.Fatalf("building the scan repository: %v", tmpl.err)
	}
	dir := filepath.Join(t.TempDir(), "repo.git")
	if err := os.CopyFS(dir, os.DirFS(tmpl.dir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tmpl is scanRepo's template, removed by TestMain.
var tmpl struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tmpl.dir != "" {
		os.RemoveAll(tmpl.dir)
	}
	os.Exit(code)
}

// buildScanRepo makes in dir a repository whose commits sit in two packs
// (one of them aggressively deltified, so some commits are deltas) and as
// loose objects, with messages long enough that header-only inflation
// matters, merges, and a commit no ref reaches.
func buildScanRepo(t *testing.T, dir string) error {
	t.Helper()
	git := func(stdin string, args ...string) string {
		t.Helper()
		return gitIn(t, dir, stdin, args...)
	}
	git("", "init", "-q", "--bare", "-b", "main")
	// A fast-import stream: 3,000 commits on two branches with merges,
	// each with a long message that differs only at its end.
	var s bytes.Buffer
	long := strings.Repeat("the same long paragraph of a commit message, ", 40)
	for i := 1; i <= 3000; i++ {
		branch := "main"
		if i%3 == 0 {
			branch = "topic"
		}
		msg := fmt.Sprintf("commit %d\n\n%s%d\n", i, long, i)
		fmt.Fprintf(&s, "commit refs/heads/%s\nmark :%d\ncommitter C <c@x> %d +0100\ndata %d\n%s", branch, i, 1700000000+i*60, len(msg), msg)
		if i > 3 {
			fmt.Fprintf(&s, "from :%d\n", i-3)
		}
		if i%50 == 0 && i > 3 {
			fmt.Fprintf(&s, "merge :%d\n", i-1)
		}
		fmt.Fprintf(&s, "M 100644 inline f%d.txt\ndata %d\n%d\n\n", i%7, len(fmt.Sprint(i))+1, i)
	}
	git(s.String(), "fast-import", "--quiet")
	git("", "repack", "-adq", "--window=250", "--depth=50", "-f")
	// A second pack, then loose objects on top of it.
	git("", "branch", "side", "main~10")
	tip := git("", "rev-parse", "main")
	for i := range 3 {
		tip = git("", "commit-tree", "-p", tip, "-m", fmt.Sprintf("loose %d\n\n%s", i, long), tip+"^{tree}")
	}
	git("", "update-ref", "refs/heads/more", tip)
	git("", "repack", "-dq")
	for i := range 3 {
		tip = git("", "commit-tree", "-p", tip, "-m", fmt.Sprintf("looser %d", i), tip+"^{tree}")
	}
	git("", "commit-tree", "-m", "dangling", tip+"^{tree}") // no ref reaches it
	return nil
}

// TestScanAgainstGit compares the parallel pack scan with git's own view of
// the same object store: every commit `git cat-file --batch-all-objects`
// lists, with the tree, committer time and parents git reads.
func TestScanAgainstGit(t *testing.T) {
	dir := scanRepo(t)
	packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	if len(packs) < 2 {
		t.Fatalf("want at least two packs, have %d", len(packs))
	}
	cmd := exec.Command("git", "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectname)")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var commits []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if h, ok := strings.CutPrefix(line, "commit "); ok {
			commits = append(commits, h)
		}
	}
	cmd = exec.Command("git", "log", "--no-walk=unsorted", "--stdin", "--format=%H %T %ct %P")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(strings.Join(commits, "\n") + "\n")
	out, err = cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		want = append(want, strings.TrimSpace(line))
	}
	slices.Sort(want)

	g, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b Builder
	if err := scanObjectStore(filepath.Join(dir, "objects"), g.Storer.(*filesystem.Storage), &b); err != nil {
		t.Fatal(err)
	}
	tab := b.Build()
	var got []string
	for i := range tab.Len() {
		line := fmt.Sprintf("%s %s %d", tab.Hash(i), tab.Tree(i), tab.Commit(i).Time.Unix())
		for _, p := range tab.parentsOf(uint32(i)) {
			line += " " + tab.Hash(int(p)).String()
		}
		got = append(got, strings.TrimSpace(line))
	}
	slices.Sort(got)
	if len(got) != len(want) {
		t.Fatalf("scan found %d commits, git %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("commit %d differs:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}
