package gitops

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lkg-dev/lkg/types"
)

// benchRepo is a generated history of 5,000 commits (merges, octopus
// merges, six branches plus namespaces and tags) shared by the benchmarks.
// bench/git-reach.sh measures the 50,000-commit, 15,000-ref case.
func benchRepo(b *testing.B) (string, []string) {
	b.Helper()
	return newGenRepo(b, 5, 5000)
}

// BenchmarkLookup resolves 2,000 abbreviated revisions at once, as a
// registry scan does with image tag names.
func BenchmarkLookup(b *testing.B) {
	dir, _ := benchRepo(b)
	r, err := Open(dir, WithNoFetch(true), WithCacheDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	t, err := r.commitTableFor()
	if err != nil {
		b.Fatal(err)
	}
	revs := make([]string, 0, 2000)
	for i := 0; len(revs) < 2000; i++ {
		revs = append(revs, t.Hash((i * 7919) % t.Len()).String()[:10])
	}
	b.ResetTimer()
	for b.Loop() {
		found, _ := r.Lookup(context.Background(), revs, types.LookupHints{})
		if len(found) == 0 {
			b.Fatal("nothing found")
		}
	}
}

// BenchmarkRefStates answers "which branches hold the good commit, how far
// ahead" for every ref, the table already built.
func BenchmarkRefStates(b *testing.B) {
	dir, _ := benchRepo(b)
	r, err := Open(dir, WithNoFetch(true), WithCacheDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	good, err := r.Resolve("b0~200")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := r.RefStates(context.Background(), good, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTableLoad builds the commit table from each source: the object
// store scan (first run), lkg's cache, git's commit-graph.
func BenchmarkTableLoad(b *testing.B) {
	dir, _ := benchRepo(b)
	gitRun(b, dir, "repack", "-adq")
	cache := b.TempDir()
	run := func(b *testing.B, opts ...Option) {
		for b.Loop() {
			r, err := Open(dir, append([]Option{WithNoFetch(true)}, opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.commitTableFor(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("scan", func(b *testing.B) { run(b, WithTableCache(false), WithCommitGraph(false)) })
	b.Run("cached", func(b *testing.B) { run(b, WithCacheDir(cache), WithCommitGraph(false)) })
	b.Run("go-git", func(b *testing.B) {
		for b.Loop() {
			r, _ := Open(dir, WithNoFetch(true))
			if _, err := r.loader().LoadGoGit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	gitRun(b, dir, "commit-graph", "write", "--reachable")
	if _, err := os.Stat(filepath.Join(dir, "objects/info/commit-graph")); err != nil {
		b.Fatal(err)
	}
	b.Run("commit-graph", func(b *testing.B) { run(b, WithTableCache(false)) })
}
