package gitops

import (
	"fmt"
	"github.com/lkg-dev/lkg/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// looseRefRepo makes a repository with n loose branches beside a few
// packed refs (an annotated tag among them), the shape go-git's per-file
// walk is slow on.
func looseRefRepo(tb testing.TB, n int) string {
	tb.Helper()
	testenv.NeedGit(tb)
	dir := tb.TempDir()
	run := func(stdin string, args ...string) {
		tb.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@b", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@b")
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("", "init", "-q", "-b", "main")
	run("", "commit", "-q", "--allow-empty", "-m", "one")
	run("", "tag", "-a", "v1", "-m", "v1")
	run("", "branch", "packed")
	run("", "pack-refs", "--all")
	run("", "commit", "-q", "--allow-empty", "-m", "two")
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "create refs/heads/team/t%d/b%d HEAD\n", i%50, i)
	}
	run(b.String(), "update-ref", "--stdin")
	return dir
}

// TestReadRefs compares readRefs with go-git's reader: the same refs, the
// same targets, loose refs winning over packed ones.
func TestReadRefs(t *testing.T) {
	t.Parallel()
	dir := looseRefRepo(t, 300)
	g, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	iter, err := g.References()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference && strings.HasPrefix(ref.Name().String(), "refs/") {
			want = append(want, ref.Name().String()+" "+ref.Hash().String())
		}
		return nil
	})
	refs, err := readRefs(filepath.Join(dir, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	peeled := 0
	for _, r := range refs {
		got = append(got, r.name+" "+r.hash.String())
		if !r.peeled.IsZero() {
			peeled++
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("readRefs: %d refs, go-git %d; first: %v vs %v", len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
	}
	if peeled != 1 {
		t.Errorf("peeled refs = %d, want 1 (the annotated tag v1)", peeled)
	}
}

// BenchmarkRefs: lkg's reader against go-git's at 20,000 loose refs.
func BenchmarkRefs(b *testing.B) {
	dir := looseRefRepo(b, 20000)
	b.Run("readRefs", func(b *testing.B) {
		for b.Loop() {
			if _, err := readRefs(filepath.Join(dir, ".git")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-git", func(b *testing.B) {
		g, err := git.PlainOpen(dir)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			iter, err := g.References()
			if err != nil {
				b.Fatal(err)
			}
			iter.ForEach(func(*plumbing.Reference) error { return nil })
		}
	})
}
