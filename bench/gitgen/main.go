// Command gitgen writes a git fast-import stream for a repository shaped
// like a large project: a main line fed by merged topic branches, a few
// release branches, per-person branch namespaces, pull-request refs and
// release tags. bench/git-reach.sh pipes it into `git fast-import`.
//
//	gitgen -commits 50000 -refs 15000 -tags 500 | git fast-import --quiet
//
// With -pulls N the pull-request refs are shaped like a hosting service's
// instead: N pull requests whose refs/pull/K/head is a commit of its own
// (closed, squash-merged or abandoned work that no branch reaches, so
// fetching the pull namespace downloads objects a clone lacks), and for
// one in -pull-merge-every of them a refs/pull/K/merge test merge with
// main. -prod N adds annotated tags prod-1..prod-N on main in the last
// fifth of history (bench/outage.sh calls prod-7 good and prod-8 bad).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand"
	"os"
)

func main() {
	commits := flag.Int("commits", 50000, "number of commits")
	refs := flag.Int("refs", 15000, "number of refs in all (branches, pull refs, tags)")
	tags := flag.Int("tags", 500, "number of annotated release tags (part of -refs)")
	files := flag.Int("files", 2000, "number of files in the tree")
	seed := flag.Int64("seed", 1, "random seed")
	pulls := flag.Int("pulls", -1, "pull requests with unmerged heads of their own (default: a quarter of -refs, on existing commits)")
	pullMergeEvery := flag.Int("pull-merge-every", 3, "with -pulls: one pull request in this many also has a refs/pull/N/merge")
	prod := flag.Int("prod", 0, "annotated prod-1..prod-N tags on main")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	g := gen(w, rand.New(rand.NewSource(*seed)), *commits, *refs, *tags, *files, *pulls, *pullMergeEvery)
	g.prodTags(*prod)
}

type gen0 struct {
	w     *bufio.Writer
	mark  int
	when  int64
	mains []int // marks on main, oldest first
}

func (g *gen0) commit(ref string, from int, merges []int, rng *rand.Rand, files int, content string) int {
	g.mark++
	g.when += int64(30 + rng.Intn(600))
	fmt.Fprintf(g.w, "commit %s\nmark :%d\nauthor Dev <dev@example.com> %d +0000\ncommitter Dev <dev@example.com> %d +0000\ndata 12\nchange %05d\n",
		ref, g.mark, g.when, g.when, g.mark%100000)
	if from > 0 {
		fmt.Fprintf(g.w, "from :%d\n", from)
	}
	for _, m := range merges {
		fmt.Fprintf(g.w, "merge :%d\n", m)
	}
	// One to three files change, spread over 40 directories.
	for k := 0; k < 1+rng.Intn(3); k++ {
		f := rng.Intn(files)
		if content == "" {
			content = fmt.Sprintf("rev %d of file %d\n", g.mark, f)
		}
		fmt.Fprintf(g.w, "M 644 inline src/d%02d/f%04d.go\ndata %d\n%s\n", f%40, f, len(content), content)
		content = ""
	}
	return g.mark
}

func gen(w *bufio.Writer, rng *rand.Rand, commits, refs, tags, files, ownPulls, pullMergeEvery int) *gen0 {
	g := &gen0{w: w, when: 1600000000}
	var all []int   // every commit mark, in order
	var mains []int // marks on main
	head := 0
	// The main line grows by merges of short topic branches (two to
	// eight commits each) and by direct commits; every 8 merges a release
	// tag candidate.
	for len(all) < commits {
		if head == 0 || rng.Intn(3) == 0 {
			head = g.commit("refs/heads/main", head, nil, rng, files, "")
			all = append(all, head)
			mains = append(mains, head)
			continue
		}
		n := 2 + rng.Intn(7)
		base := head
		if len(mains) > 20 && rng.Intn(4) == 0 {
			base = mains[len(mains)-1-rng.Intn(20)] // a topic started a while ago
		}
		tip := base
		for k := 0; k < n && len(all) < commits-1; k++ {
			tip = g.commit("refs/heads/topic", tip, nil, rng, files, "")
			all = append(all, tip)
		}
		head = g.commit("refs/heads/main", head, []int{tip}, rng, files, "")
		all = append(all, head)
		mains = append(mains, head)
	}
	// Refs: release tags on main, pull refs on recent commits, and
	// per-person namespaces plus remote-tracking copies on anything.
	fmt.Fprintf(w, "reset refs/heads/topic\nfrom 0000000000000000000000000000000000000000\n\n")
	for t := 0; t < tags; t++ {
		m := mains[(t+1)*len(mains)/(tags+1)]
		g.when++
		fmt.Fprintf(w, "tag v%d.%d.%d\nfrom :%d\ntagger Rel <rel@example.com> %d +0000\ndata 8\nrelease\n", 1+t/100, (t/10)%10, t%10, m, g.when)
	}
	rest := refs - tags - 1
	if ownPulls >= 0 {
		g.ownPulls(rng, files, mains, ownPulls, pullMergeEvery)
	} else {
		pulls := rest / 4
		for p := 0; p < pulls; p++ {
			fmt.Fprintf(w, "reset refs/pull/%d/head\nfrom :%d\n\n", p+1, all[len(all)/2+rng.Intn(len(all)/2)])
		}
		rest -= pulls
	}
	people := 150
	for b := 0; b < rest; b++ {
		m := all[rng.Intn(len(all))]
		if rng.Intn(2) == 0 {
			m = all[len(all)-1-rng.Intn(len(all)/10)] // recent work is more common
		}
		switch {
		case b%5 == 0:
			fmt.Fprintf(w, "reset refs/remotes/origin/feature-%d\nfrom :%d\n\n", b, m)
		default:
			fmt.Fprintf(w, "reset refs/heads/u%03d/topic-%d\nfrom :%d\n\n", b%people, b, m)
		}
	}
	g.mains = mains
	return g
}

// ownPulls writes n pull requests, each a commit of its own on a main
// commit (pull requests are spread over history, newer ones more often),
// reachable only from refs/pull/K/head; one in mergeEvery also gets a
// refs/pull/K/merge merging it into a later main commit. The commits are
// made on a scratch branch that is deleted afterwards.
func (g *gen0) ownPulls(rng *rand.Rand, files int, mains []int, n, mergeEvery int) {
	for p := 1; p <= n; p++ {
		i := rng.Intn(len(mains))
		if rng.Intn(2) == 0 {
			i = len(mains) - 1 - rng.Intn(len(mains)/5+1)
		}
		head := g.commit("refs/heads/pr-scratch", mains[i], nil, rng, files, "")
		fmt.Fprintf(g.w, "reset refs/pull/%d/head\nfrom :%d\n\n", p, head)
		if mergeEvery > 0 && p%mergeEvery == 0 {
			base := mains[min(len(mains)-1, i+1+rng.Intn(20))]
			merge := g.commit("refs/heads/pr-scratch", base, []int{head}, rng, files, "")
			fmt.Fprintf(g.w, "reset refs/pull/%d/merge\nfrom :%d\n\n", p, merge)
		}
	}
	fmt.Fprintf(g.w, "reset refs/heads/pr-scratch\nfrom 0000000000000000000000000000000000000000\n\n")
}

// prodTags tags n main commits prod-1..prod-n, evenly over the last fifth
// of history, the newest at least a few commits before the tip.
func (g *gen0) prodTags(n int) {
	if n <= 0 {
		return
	}
	from := len(g.mains) * 4 / 5
	span := len(g.mains) - 10 - from
	for t := 1; t <= n; t++ {
		m := g.mains[from+t*span/(n+1)]
		g.when++
		fmt.Fprintf(g.w, "tag prod-%d\nfrom :%d\ntagger Rel <rel@example.com> %d +0000\ndata 8\nrelease\n", t, m, g.when)
	}
}
