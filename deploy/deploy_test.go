package deploy

import (
	"context"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/testenv"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/gitops"
)

func TestSourceURL(t *testing.T) {
	testenv.NeedGit(t)
	tests := []struct {
		origin string // "" for no origin remote
		want   string
	}{
		{"", ""},
		{"https://ada:s3cret@git.example.com/shop/api.git", "https://git.example.com/shop/api.git"},
		{"ssh://git@git.example.com/shop/api.git", "ssh://git.example.com/shop/api.git"},
		{"git@git.example.com:shop/api.git", "git@git.example.com:shop/api.git"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		run := func(args ...string) {
			t.Helper()
			cmd := exec.Command("git", args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		run("init", "-q")
		if tt.origin != "" {
			run("remote", "add", "origin", tt.origin)
		}
		repo, err := gitops.Open(filepath.Join(dir))
		if err != nil {
			t.Fatal(err)
		}
		if got := sourceURL(repo); got != tt.want {
			t.Errorf("origin %q: sourceURL = %q, want %q", tt.origin, got, tt.want)
		}
	}
}

func TestExplain(t *testing.T) {
	plain := errors.New("boom")
	tests := []struct {
		name     string
		err      error
		wantHint string // "" when the error must come back unchanged
	}{
		{"nil", nil, ""},
		{"plain", plain, ""},
		{"cancelled", context.Canceled, ""},
		{"moved", fmt.Errorf("moving: %w", artifacts.ErrTargetMoved), "Someone else deployed meanwhile"},
		{"no dockerfile", fmt.Errorf("x: %w", artifacts.ErrNoDockerfile), "--dockerfile PATH"},
		{"build", fmt.Errorf("x: %w", artifacts.ErrBuildFailed), "r/app:prod was not changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := explain(tt.err, "r/app:prod")
			if tt.wantHint == "" {
				if got != tt.err {
					t.Errorf("explain = %v, want %v unchanged", got, tt.err)
				}
				return
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("explain = %v, does not wrap %v", got, tt.err)
			}
			if !strings.Contains(got.Error(), tt.wantHint) {
				t.Errorf("explain = %q, want hint %q", got, tt.wantHint)
			}
			if c := exitCode(got); c != 1 {
				t.Errorf("exit code %d, want 1", c)
			}
		})
	}
}

func exitCode(err error) int {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 0
}

func TestUpperKeepsTargetNames(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"swarm://api runs sha256:1 now", "swarm://api runs sha256:1 now"},
		{"registry.example.com/shop/api:prod is still at x", "registry.example.com/shop/api:prod is still at x"},
		{"could not read it back", "Could not read it back"},
		{"", ""},
	} {
		if got := upper(tc.in); got != tc.want {
			t.Errorf("upper(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
