package suspects

import (
	"context"
	"os"
	"testing"

	"github.com/lkg-dev/lkg/gitops"
)

// BenchmarkFind times Result over good..bad of the repository named
// by LKG_BENCH_SUSPECTS_REPO (bench/suspects.sh makes one:
// bench/out/suspects-10000-v2.git), else over a small generated repo.
func BenchmarkFind(b *testing.B) {
	dir, good, bad := os.Getenv("LKG_BENCH_SUSPECTS_REPO"), "good", "bad"
	if dir == "" {
		r := newTestRepo(b)
		r.write("a.txt", lines(200, "a"))
		r.commit("initial")
		r.git("tag", "good")
		for i := 0; i < 50; i++ {
			r.write("a.txt", lines(200+i, "a"))
			r.write("b.txt", lines(i, "b"))
			r.commit("change (#1)")
		}
		r.git("tag", "bad")
		dir = r.dir
	}
	repo, err := gitops.Open(dir, gitops.WithNoFetch(true), gitops.WithCacheDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Find(context.Background(), repo, good, bad)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(s.Changes.Commits), "commits")
		b.ReportMetric(float64(s.Changes.Files), "files")
	}
}
