package gitops

import (
	"bytes"
	"encoding/hex"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
)

// commitTable is every commit of the repository in one sorted array, with
// parents as indices into it. Lookups are binary searches; reachability
// questions are single passes in generation order, never per-ref walks
// through go-git's object decoding (which takes minutes on big repos).
type commitTable struct {
	hashes      []plumbing.Hash // sorted ascending
	trees       []plumbing.Hash
	times       []int64  // committer time, unix seconds
	parentStart []uint32 // parents of i are parents[parentStart[i]:parentStart[i+1]]
	parents     []uint32
	gens        []uint32 // topological level: 1 for a root, 1+max(parents) otherwise
	byGen       []uint32 // indices ordered by ascending generation

	// missingParents counts parent links to commits absent from the table
	// (a shallow clone, or a broken repository): ancestry through them
	// cannot be proven.
	missingParents int
	// fromGraph says the table came from git's commit-graph plus the
	// commits reachable from refs: unreachable commits may be missing, so
	// a lookup that misses asks the object store.
	fromGraph bool
}

// tableBuilder collects commits in any order, then sorts and links them.
type tableBuilder struct {
	hashes  []plumbing.Hash
	trees   []plumbing.Hash
	times   []int64
	pstart  []uint32
	phashes []plumbing.Hash
}

func (b *tableBuilder) add(h, tree plumbing.Hash, t int64, parents []plumbing.Hash) {
	b.hashes = append(b.hashes, h)
	b.trees = append(b.trees, tree)
	b.times = append(b.times, t)
	b.pstart = append(b.pstart, uint32(len(b.phashes)))
	b.phashes = append(b.phashes, parents...)
}

func (b *tableBuilder) len() int { return len(b.hashes) }

// build sorts, drops duplicates (a commit may sit in two packs, or in a
// graph and in the object store) and links parents.
func (b *tableBuilder) build() *commitTable {
	n := len(b.hashes)
	b.pstart = append(b.pstart, uint32(len(b.phashes)))
	perm := make([]uint32, n)
	for i := range perm {
		perm[i] = uint32(i)
	}
	sort.Slice(perm, func(i, j int) bool {
		return bytes.Compare(b.hashes[perm[i]][:], b.hashes[perm[j]][:]) < 0
	})
	// dedupe
	out := perm[:0]
	for i, p := range perm {
		if i > 0 && b.hashes[p] == b.hashes[out[len(out)-1]] {
			continue
		}
		out = append(out, p)
	}
	perm = out
	m := len(perm)
	t := &commitTable{
		hashes:      make([]plumbing.Hash, m),
		trees:       make([]plumbing.Hash, m),
		times:       make([]int64, m),
		parentStart: make([]uint32, m+1),
	}
	for i, p := range perm {
		t.hashes[i] = b.hashes[p]
		t.trees[i] = b.trees[p]
		t.times[i] = b.times[p]
	}
	t.parents = make([]uint32, 0, len(b.phashes))
	for i, p := range perm {
		t.parentStart[i] = uint32(len(t.parents))
		for _, ph := range b.phashes[b.pstart[p]:b.pstart[p+1]] {
			j, ok := t.find(ph)
			if !ok {
				t.missingParents++
				continue
			}
			t.parents = append(t.parents, uint32(j))
		}
	}
	t.parentStart[m] = uint32(len(t.parents))
	t.computeGenerations()
	return t
}

func (t *commitTable) len() int { return len(t.hashes) }

func (t *commitTable) parentsOf(i uint32) []uint32 {
	return t.parents[t.parentStart[i]:t.parentStart[i+1]]
}

// find is a binary search for a full hash.
func (t *commitTable) find(h plumbing.Hash) (int, bool) {
	i := sort.Search(len(t.hashes), func(i int) bool { return bytes.Compare(t.hashes[i][:], h[:]) >= 0 })
	return i, i < len(t.hashes) && t.hashes[i] == h
}

// findPrefix returns the indices of every commit whose hex hash starts
// with prefix (lowercase hex, any length up to 40), at most limit of them.
func (t *commitTable) findPrefix(prefix string, limit int) []int {
	var lo plumbing.Hash
	full := prefix
	if len(full)%2 == 1 {
		full += "0"
	}
	if _, err := hex.Decode(lo[:], []byte(full)); err != nil {
		return nil
	}
	i := sort.Search(len(t.hashes), func(i int) bool { return bytes.Compare(t.hashes[i][:], lo[:]) >= 0 })
	var out []int
	for ; i < len(t.hashes) && len(out) < limit; i++ {
		if !hasHexPrefix(t.hashes[i], prefix) {
			break
		}
		out = append(out, i)
	}
	return out
}

func hasHexPrefix(h plumbing.Hash, prefix string) bool {
	const digits = "0123456789abcdef"
	for k := 0; k < len(prefix); k++ {
		b := h[k/2]
		var d byte
		if k%2 == 0 {
			d = digits[b>>4]
		} else {
			d = digits[b&0xf]
		}
		if d != prefix[k] {
			return false
		}
	}
	return true
}

// computeGenerations assigns topological levels with an iterative
// post-order walk (histories are deeper than any goroutine stack wants).
func (t *commitTable) computeGenerations() {
	n := len(t.hashes)
	t.gens = make([]uint32, n)
	// visiting guards against a parent cycle in a corrupt source: the
	// edge that closes it is ignored rather than looping forever.
	visiting := make([]bool, n)
	stack := make([]uint32, 0, 64)
	for start := 0; start < n; start++ {
		if t.gens[start] != 0 {
			continue
		}
		stack = append(stack[:0], uint32(start))
		for len(stack) > 0 {
			c := stack[len(stack)-1]
			if t.gens[c] != 0 {
				stack = stack[:len(stack)-1]
				continue
			}
			if !visiting[c] {
				visiting[c] = true
				for _, p := range t.parentsOf(c) {
					if t.gens[p] == 0 && !visiting[p] {
						stack = append(stack, p)
					}
				}
				continue
			}
			var g uint32
			for _, p := range t.parentsOf(c) {
				if t.gens[p] > g {
					g = t.gens[p]
				}
			}
			t.gens[c] = g + 1
			stack = stack[:len(stack)-1]
		}
	}
	// Counting sort by generation: the order every descendant pass uses.
	var maxGen uint32
	for _, g := range t.gens {
		if g > maxGen {
			maxGen = g
		}
	}
	count := make([]uint32, maxGen+2)
	for _, g := range t.gens {
		count[g+1]++
	}
	for g := 1; g < len(count); g++ {
		count[g] += count[g-1]
	}
	t.byGen = make([]uint32, n)
	for i, g := range t.gens {
		t.byGen[count[g]] = uint32(i)
		count[g]++
	}
}

// descendants marks every commit that has commit g as an ancestor or is
// g: one pass in generation order, since a parent always comes before its
// children there.
func (t *commitTable) descendants(g int) []bool {
	mark := make([]bool, len(t.hashes))
	mark[g] = true
	gg := t.gens[g]
	// Skip the prefix of lower generations with a binary search.
	start := sort.Search(len(t.byGen), func(i int) bool { return t.gens[t.byGen[i]] > gg })
	for _, c := range t.byGen[start:] {
		for _, p := range t.parentsOf(c) {
			if mark[p] {
				mark[c] = true
				break
			}
		}
	}
	return mark
}

// ancestors marks commit g and everything reachable from it.
func (t *commitTable) ancestors(g int) []bool {
	mark := make([]bool, len(t.hashes))
	stack := []uint32{uint32(g)}
	mark[g] = true
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range t.parentsOf(c) {
			if !mark[p] {
				mark[p] = true
				stack = append(stack, p)
			}
		}
	}
	return mark
}

// isAncestor says whether a is reachable from b (or equal), pruning by
// generation.
func (t *commitTable) isAncestor(a, b int) bool {
	if a == b {
		return true
	}
	ga := t.gens[a]
	if t.gens[b] <= ga {
		return false
	}
	seen := map[uint32]bool{uint32(b): true}
	stack := []uint32{uint32(b)}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range t.parentsOf(c) {
			if int(p) == a {
				return true
			}
			if t.gens[p] <= ga || seen[p] {
				continue
			}
			seen[p] = true
			stack = append(stack, p)
		}
	}
	return false
}

// countExcluding counts commits reachable from tip that are not marked in
// stop (ancestors of the good commit). scratch and epoch avoid a fresh
// allocation per ref.
func (t *commitTable) countExcluding(tip int, stop []bool, scratch []uint32, epoch uint32) int {
	if stop[tip] {
		return 0
	}
	n := 0
	stack := []uint32{uint32(tip)}
	scratch[tip] = epoch
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		for _, p := range t.parentsOf(c) {
			if stop[p] || scratch[p] == epoch {
				continue
			}
			scratch[p] = epoch
			stack = append(stack, p)
		}
	}
	return n
}

// sameTree lists the commits whose root tree is tree: a scan, since no
// index by tree is worth its memory for one question per run.
func (t *commitTable) sameTree(tree plumbing.Hash) []int {
	var out []int
	for i := range t.trees {
		if t.trees[i] == tree {
			out = append(out, i)
		}
	}
	return out
}
