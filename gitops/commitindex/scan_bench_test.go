package commitindex

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// BenchmarkScan scans the object store of $LKG_BENCH_REPO (a bare repo,
// e.g. one bench/gitgen made; bench/git-reach.sh builds one), the first
// run without a commit-graph or cache.
func BenchmarkScan(b *testing.B) {
	dir := os.Getenv("LKG_BENCH_REPO")
	if dir == "" {
		b.Skip("set LKG_BENCH_REPO to a bare repository")
	}
	g, err := git.PlainOpen(dir)
	if err != nil {
		b.Fatal(err)
	}
	st := g.Storer.(*filesystem.Storage)
	for b.Loop() {
		var bl Builder
		if err := scanObjectStore(filepath.Join(dir, "objects"), st, &bl); err != nil {
			b.Fatal(err)
		}
		bl.Build()
	}
}
