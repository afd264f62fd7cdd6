package gitops

import (
	"fmt"
	"os"
	"testing"
)

// TestMain points the user cache dir at a temp dir: tests that open a
// repository without WithCacheDir must not leave commit tables in the
// developer's own cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gitops-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
