package types_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeaf keeps types a leaf: finder, gitops and artifacts all import it,
// so it may import nothing but the standard library.
func TestLeaf(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/lkg-dev/lkg/types").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "github.com/lkg-dev/lkg/types" {
		t.Errorf("types depends on %q, want the standard library only", got)
	}
}
