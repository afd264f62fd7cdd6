package commitindex

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// TestGraphTable: the table read from git's commit-graph, as a single
// file, as a chain of layers, stale (commits after it), and without
// topological levels, equals the table built from the object store for
// every commit a ref reaches: hashes, trees, times, parents (an octopus
// included) and generations.
func TestGraphTable(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string, run func(...string) string)
	}{
		{"one file", func(t *testing.T, dir string, run func(...string) string) {
			run("commit-graph", "write", "--reachable")
		}},
		{"chain, then commits after it", func(t *testing.T, dir string, run func(...string) string) {
			run("commit-graph", "write", "--reachable", "--split")
			tip := run("rev-parse", "topic")
			for i := range 4 {
				tip = run("commit-tree", "-p", tip, "-p", "main", "-m", fmt.Sprintf("layer %d", i), tip+"^{tree}")
			}
			run("update-ref", "refs/heads/layer", tip)
			run("commit-graph", "write", "--reachable", "--split=no-merge")
			if _, err := os.Stat(filepath.Join(dir, "objects/info/commit-graphs/commit-graph-chain")); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				tip = run("commit-tree", "-p", tip, "-m", fmt.Sprintf("after the graph %d", i), tip+"^{tree}")
			}
			run("update-ref", "refs/heads/after", tip)
		}},
		{"no levels", func(t *testing.T, dir string, run func(...string) string) {
			run("commit-graph", "write", "--reachable")
			zeroLevels(t, filepath.Join(dir, "objects/info/commit-graph"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := scanRepo(t)
			run := func(args ...string) string {
				t.Helper()
				return gitIn(t, dir, "", args...)
			}
			octopus := run("commit-tree", "-p", "main~5", "-p", "topic~7", "-p", "side", "-m", "octopus", "main^{tree}")
			run("update-ref", "refs/heads/octopus", octopus)
			tc.setup(t, dir, run)

			g, err := git.PlainOpen(dir)
			if err != nil {
				t.Fatal(err)
			}
			var warnings []string
			l := &Loader{
				GitDir:      dir,
				Store:       g.Storer.(*filesystem.Storage),
				CommitGraph: true,
				Tips: func() ([]plumbing.Hash, error) {
					var tips []plumbing.Hash
					for _, h := range strings.Fields(run("for-each-ref", "--format=%(objectname)")) {
						tips = append(tips, plumbing.NewHash(h))
					}
					return tips, nil
				},
				Warnf: func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) },
			}
			got, err := l.Load()
			if err != nil {
				t.Fatal(err)
			}
			if !got.FromGraph() || len(warnings) > 0 {
				t.Fatalf("table from graph: %v, warnings %q", got.FromGraph(), warnings)
			}
			store, err := l.LoadStore()
			if err != nil {
				t.Fatal(err)
			}
			reachable := strings.Fields(run("rev-list", "--all"))
			if got.Len() != len(reachable) {
				t.Errorf("graph table has %d commits, git rev-list --all %d", got.Len(), len(reachable))
			}
			want := tableLines(store)
			want = slices.DeleteFunc(want, func(line string) bool {
				_, ok := got.Find(plumbing.NewHash(line[:40]))
				return !ok
			})
			if lines := tableLines(got); !slices.Equal(lines, want) {
				for i := range min(len(lines), len(want)) {
					if lines[i] != want[i] {
						t.Fatalf("commit %d differs:\n got %s\nwant %s", i, lines[i], want[i])
					}
				}
				t.Fatalf("%d commits from the graph, %d of the store's are reachable", len(lines), len(want))
			}
			for k, i := range got.byGen {
				for _, p := range got.parentsOf(i) {
					if slices.Index(got.byGen[:k], p) < 0 {
						t.Fatalf("commit %s comes before its parent %s in generation order", got.Hash(int(i)), got.Hash(int(p)))
					}
				}
			}
		})
	}
}

// zeroLevels rewrites a commit-graph file as a git before 2.19 wrote it:
// every topological level 0. The checksum is made good again.
func zeroLevels(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := parseGraphFile(data, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range g.n {
		w := g.cdat[i*36+28:]
		binary.BigEndian.PutUint32(w, binary.BigEndian.Uint32(w)&3)
	}
	sum := sha1.Sum(data[:len(data)-20])
	copy(data[len(data)-20:], sum[:])
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
