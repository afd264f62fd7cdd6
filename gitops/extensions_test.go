package gitops

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenExtensions(t *testing.T) {
	t.Parallel()
	requireGit(t)
	sparse := t.TempDir()
	gitRun(t, sparse, "init", "-q", "-b", "main")
	if err := os.MkdirAll(filepath.Join(sparse, "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	commitAt(t, sparse, "api/app.txt", "one", 1700000000)
	gitRun(t, sparse, "sparse-checkout", "set", "api")

	sha256 := t.TempDir()
	gitRun(t, sha256, "init", "-q", "--object-format=sha256")

	reftable := t.TempDir()
	gitRun(t, reftable, "init", "-q")
	gitRun(t, reftable, "config", "core.repositoryformatversion", "1")
	gitRun(t, reftable, "config", "extensions.refStorage", "reftable")

	for _, tc := range []struct {
		name, dir string
		want      string // the ExtensionError's, or "" when Open works
	}{
		{"sparse", sparse, ""},
		{"sha256", sha256, "objectFormat=sha256"},
		{"reftable", reftable, "refStorage=reftable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gitDir, err := FindGitDir(filepath.Join(tc.dir, "."))
			if err != nil {
				t.Fatalf("FindGitDir: %v", err)
			}
			if want := filepath.Join(tc.dir, ".git"); gitDir != want {
				t.Errorf("FindGitDir = %s, want %s", gitDir, want)
			}
			r, err := Open(tc.dir, WithNoFetch(true), WithCacheDir(t.TempDir()))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if r.GitDir() != gitDir {
					t.Errorf("GitDir = %s, want %s", r.GitDir(), gitDir)
				}
				if _, err := r.Resolve("main"); err != nil {
					t.Errorf("Resolve(main): %v", err)
				}
				return
			}
			var ee *ExtensionError
			if !errors.As(err, &ee) || !errors.Is(err, ErrUnsupportedExtension) {
				t.Fatalf("Open: %v, want an ExtensionError", err)
			}
			if got := ee.Name + "=" + ee.Value; got != tc.want {
				t.Errorf("extension %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFindGitDirLinkedWorktree(t *testing.T) {
	t.Parallel()
	requireGit(t)
	main := t.TempDir()
	gitRun(t, main, "init", "-q", "-b", "main")
	commitAt(t, main, "a", "one", 1700000000)
	linked := filepath.Join(t.TempDir(), "linked")
	gitRun(t, main, "worktree", "add", "-q", linked)
	if err := os.Mkdir(filepath.Join(linked, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := FindGitDir(filepath.Join(linked, "sub"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(main, ".git"); got != want {
		t.Errorf("FindGitDir = %s, want %s", got, want)
	}
	if _, err := FindGitDir(t.TempDir()); !errors.Is(err, ErrNotRepository) {
		t.Errorf("FindGitDir(not a repo) = %v, want ErrNotRepository", err)
	}
}
