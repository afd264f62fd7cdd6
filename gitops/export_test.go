package gitops

import (
	"context"
	"errors"
	"github.com/lkg-dev/lkg/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// mustGit runs git in dir with a fixed identity and dates, returning its
// trimmed stdout.
func mustGit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	testenv.NeedGit(tb)
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_AUTHOR_DATE=2024-05-01T10:00:00Z",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_COMMITTER_DATE=2024-05-01T10:00:00Z",
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+tb.TempDir())
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			tb.Fatalf("git %v: %v\n%s", args, err, ee.Stderr)
		}
		tb.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// exportFixture makes a repository whose one commit has a regular file, an
// executable, a symlink, a nested directory and a submodule entry, then
// dirties the work tree so a test can tell what Export read.
func exportFixture(t *testing.T) (dir, commit string) {
	t.Helper()
	dir = t.TempDir()
	mustGit(t, dir, "init", "-q", "-b", "main")
	write := func(name, body string, perm os.FileMode) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), perm); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM scratch\nCOPY . /\n", 0o644)
	write("bin/run.sh", "#!/bin/sh\necho hi\n", 0o755)
	write("a/b/c.txt", "deep\n", 0o644)
	if err := os.Symlink("a/b/c.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	mustGit(t, dir, "add", ".")
	mustGit(t, dir, "update-index", "--add", "--cacheinfo", "160000,1111111111111111111111111111111111111111,vendor/sub")
	mustGit(t, dir, "commit", "-q", "-m", "one")
	commit = mustGit(t, dir, "rev-parse", "HEAD")
	// The work tree moves on; the export must not see any of this.
	write("Dockerfile", "FROM scratch\nBROKEN\n", 0o644)
	write("untracked.txt", "x\n", 0o644)
	return dir, commit
}

func TestExport(t *testing.T) {
	t.Parallel()
	repoDir, commit := exportFixture(t)
	r, err := Open(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	statusBefore := mustGit(t, repoDir, "status", "--porcelain")
	out := filepath.Join(t.TempDir(), "ctx")
	ex, err := r.Export(context.Background(), commit, out)
	if err != nil {
		t.Fatal(err)
	}
	wantTime := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	if !ex.Time.Equal(wantTime) {
		t.Errorf("Time = %v, want %v", ex.Time, wantTime)
	}
	if got, want := ex.Submodules, []string{"vendor/sub"}; !slices.Equal(got, want) {
		t.Errorf("Submodules = %q, want %q", got, want)
	}
	if got, want := ex.Files, 4; got != want {
		t.Errorf("Files = %d, want %d", got, want)
	}

	files := []struct {
		path string
		body string
		mode os.FileMode // type bits and permissions, as Lstat reports them
	}{
		{"Dockerfile", "FROM scratch\nCOPY . /\n", 0o644},
		{"bin/run.sh", "#!/bin/sh\necho hi\n", 0o755},
		{"a/b/c.txt", "deep\n", 0o644},
		{"link", "a/b/c.txt", os.ModeSymlink | 0o777},
		{"vendor/sub", "", os.ModeDir | 0o755},
	}
	for _, f := range files {
		p := filepath.Join(out, f.path)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
			continue
		}
		if got := fi.Mode(); got != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, got, f.mode)
		}
		var got string
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			got, err = os.Readlink(p)
		case fi.IsDir():
			ents, _ := os.ReadDir(p)
			if len(ents) != 0 {
				t.Errorf("%s: submodule directory not empty", f.path)
			}
		default:
			var b []byte
			b, err = os.ReadFile(p)
			got = string(b)
			if !fi.ModTime().Equal(wantTime) {
				t.Errorf("%s: mtime %v, want %v", f.path, fi.ModTime(), wantTime)
			}
		}
		if err != nil {
			t.Errorf("%s: %v", f.path, err)
		}
		if got != f.body {
			t.Errorf("%s: content %q, want %q", f.path, got, f.body)
		}
	}
	if _, err := os.Lstat(filepath.Join(out, "untracked.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("untracked work-tree file exported (err %v)", err)
	}
	if got := mustGit(t, repoDir, "status", "--porcelain"); got != statusBefore {
		t.Errorf("work tree changed by export: status %q, was %q", got, statusBefore)
	}
}

func TestExportErrors(t *testing.T) {
	t.Parallel()
	repoDir, commit := exportFixture(t)
	r, err := Open(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		commit string
		dir    string
		want   error // nil: any error will do
	}{
		{"short hash", context.Background(), commit[:7], t.TempDir(), ErrUnknownRef},
		{"absent commit", context.Background(), strings.Repeat("ab", 20), t.TempDir(), ErrUnknownRef},
		{"dir not empty", context.Background(), commit, nonEmpty, nil},
		{"cancelled", cancelled, commit, t.TempDir(), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Export(tt.ctx, tt.commit, tt.dir)
			if err == nil {
				t.Fatal("Export succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckEntryName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want bool // safe
	}{
		{"main.go", true},
		{".gitignore", true},
		{"..", false},
		{".", false},
		{".git", false},
		{".GIT", false},
		{"a/b", false},
		{`a\b`, false},
		{"", false},
	}
	for _, tt := range tests {
		if got := checkEntryName(tt.name) == nil; got != tt.want {
			t.Errorf("checkEntryName(%q) safe = %v, want %v", tt.name, got, tt.want)
		}
	}
}
