package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// referenceDir is where the generated command reference lives.
const referenceDir = "../docs/reference"

// TestReference fails when docs/reference/ does not say what the command
// definitions say; -update (or LKG_UPDATE_GOLDEN=1) regenerates it.
func TestReference(t *testing.T) {
	if *updateGolden {
		if err := WriteReference(referenceDir); err != nil {
			t.Fatal(err)
		}
	}
	pages, err := Reference()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range pages {
		got, err := os.ReadFile(filepath.Join(referenceDir, name))
		if err != nil || string(got) != want {
			t.Errorf("docs/reference/%s is stale or missing: regenerate with go test ./cli -run TestReference -update", name)
		}
	}
	on, _ := filepath.Glob(filepath.Join(referenceDir, "lkg*.md"))
	for _, p := range on {
		if _, ok := pages[filepath.Base(p)]; !ok {
			t.Errorf("docs/reference/%s documents no command: regenerate with go test ./cli -run TestReference -update", filepath.Base(p))
		}
	}
}
