// Command gitreach answers, through lkg's gitops API, the two questions
// bench/git-reach.sh also asks git: which branches (refs/heads and
// refs/remotes) hold the good commit, and which commits share its tree.
// It prints the two counts, so the script can check both tools agree, and
// the time of each phase on stderr.
//
//	gitreach -C REPO -good REV [-graph=false] [-cache DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/lkg-dev/lkg/gitops"
)

func main() {
	dir := flag.String("C", ".", "repository")
	good := flag.String("good", "", "the good revision")
	graph := flag.Bool("graph", true, "use git's commit-graph when present")
	cache := flag.String("cache", "", "commit table cache dir (default: the user cache dir)")
	profile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	opts := []gitops.Option{gitops.WithNoFetch(true), gitops.WithCommitGraph(*graph)}
	if *cache != "" {
		opts = append(opts, gitops.WithCacheDir(*cache))
	}
	r, err := gitops.Open(*dir, opts...)
	if err != nil {
		fail(err)
	}
	g, err := r.Resolve(*good)
	if err != nil {
		fail(err)
	}
	states, warnings, err := r.RefStates(context.Background(), g, nil)
	if err != nil {
		fail(err)
	}
	reach := time.Since(start)
	contains := 0
	for _, s := range states {
		if s.ContainsGood {
			contains++
		}
	}
	same, err := r.SameTree(g.Tree)
	if err != nil {
		fail(err)
	}
	fmt.Printf("contains %d\nsametree %d\n", contains, len(same))
	fmt.Fprintf(os.Stderr, "gitreach: %d refs scanned, reachability %v, total %v, warnings %q\n", len(states), reach.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), warnings)
}

func fail(err error) {
	pprof.StopCPUProfile()
	fmt.Fprintln(os.Stderr, "gitreach:", err)
	os.Exit(1)
}
