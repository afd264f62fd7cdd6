package commitindex

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/lkg-dev/lkg/internal/radix"
	"github.com/lkg-dev/lkg/types"
)

// Table is every commit of the repository in one sorted array, with
// parents as indices into it. Lookups are binary searches; reachability
// questions are single passes in generation order, never per-ref walks
// through go-git's object decoding (which takes minutes on big repos).
type Table struct {
	hashes      []plumbing.Hash // sorted ascending
	trees       []plumbing.Hash
	times       []int64  // committer time, unix seconds
	parentStart []uint32 // parents of i are parents[parentStart[i]:parentStart[i+1]]
	parents     []uint32
	gens        []uint32 // topological level: 1 for a root, 1+max(parents) otherwise
	byGen       []uint32 // indices ordered by ascending generation
	fanout      []uint32 // see index; nil: Find searches everything

	// missingParents counts parent links to commits absent from the table
	// (a shallow clone, or a broken repository): ancestry through them
	// cannot be proven.
	missingParents int
	// fromGraph says the table came from git's commit-graph plus the
	// commits reachable from refs: unreachable commits may be missing, so
	// a lookup that misses asks the object store.
	fromGraph bool
}

// Builder collects commits in any order, then sorts and links them.
type Builder struct {
	hashes  []plumbing.Hash
	trees   []plumbing.Hash
	times   []int64
	pstart  []uint32
	phashes []plumbing.Hash
}

func (b *Builder) Add(h, tree plumbing.Hash, t int64, parents []plumbing.Hash) {
	b.hashes = append(b.hashes, h)
	b.trees = append(b.trees, tree)
	b.times = append(b.times, t)
	b.pstart = append(b.pstart, uint32(len(b.phashes)))
	b.phashes = append(b.phashes, parents...)
}

// grow makes room for n more commits with np parents in all, so that a
// scan of a million commits does not double its arrays a dozen times.
func (b *Builder) grow(n, np int) {
	b.hashes = slices.Grow(b.hashes, n)
	b.trees = slices.Grow(b.trees, n)
	b.times = slices.Grow(b.times, n)
	b.pstart = slices.Grow(b.pstart, n+1)
	b.phashes = slices.Grow(b.phashes, np)
}

// Build sorts, drops duplicates (a commit may sit in two packs, or in a
// graph and in the object store) and links parents.
func (b *Builder) Build() *Table {
	b.pstart = append(b.pstart, uint32(len(b.phashes)))
	perm := sortByHash(b.hashes)
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
	t := &Table{
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
	t.index()
	t.parents = make([]uint32, 0, len(b.phashes))
	for i, p := range perm {
		t.parentStart[i] = uint32(len(t.parents))
		for _, ph := range b.phashes[b.pstart[p]:b.pstart[p+1]] {
			j, ok := t.Find(ph)
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

// sortByHash returns the indices of hashes in ascending hash order. Each
// key is a hash's first five bytes and its index, radix-sorted; hashes
// that share five bytes (a few in a million) are then ordered whole. A
// comparison sort of a million indices, by hashes scattered in memory,
// was a tenth of a cold scan.
func sortByHash(hashes []plumbing.Hash) []uint32 {
	n := len(hashes)
	perm := make([]uint32, n)
	const idxBits = 24
	if n >= 1<<idxBits {
		for i := range perm {
			perm[i] = uint32(i)
		}
		slices.SortFunc(perm, func(x, y uint32) int { return compareHashes(&hashes[x], &hashes[y]) })
		return perm
	}
	keys := make([]uint64, n)
	for i := range hashes {
		keys[i] = binary.BigEndian.Uint64(hashes[i][:8])&^(1<<idxBits-1) | uint64(i)
	}
	radix.Sort(keys)
	for i, k := range keys {
		perm[i] = uint32(k & (1<<idxBits - 1))
	}
	for i := 1; i < n; i++ {
		if keys[i]>>idxBits != keys[i-1]>>idxBits {
			continue
		}
		// A run of equal prefixes: insertion sort by the whole hash.
		for j := i; j > 0 && keys[j]>>idxBits == keys[j-1]>>idxBits && compareHashes(&hashes[perm[j]], &hashes[perm[j-1]]) < 0; j-- {
			perm[j], perm[j-1] = perm[j-1], perm[j]
		}
	}
	return perm
}

// compareHashes is bytes.Compare of two hashes, the first eight bytes
// compared as one integer.
func compareHashes(a, b *plumbing.Hash) int {
	x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return bytes.Compare(a[8:], b[8:])
}

// index builds the fan-out table of the sorted hashes: fanout[k] counts
// the hashes whose first two bytes are below k, so that a lookup searches
// the few dozen hashes of its own bucket (a pack index does the same with
// one byte).
func (t *Table) index() {
	t.fanout = make([]uint32, 1<<16+1)
	k := 0
	for i := range t.hashes {
		b := int(t.hashes[i][0])<<8 | int(t.hashes[i][1])
		for k <= b {
			t.fanout[k] = uint32(i)
			k++
		}
	}
	for ; k <= 1<<16; k++ {
		t.fanout[k] = uint32(len(t.hashes))
	}
}

// Len is the number of commits; indices run from 0 to Len()-1.
func (t *Table) Len() int { return len(t.hashes) }

// Hash is commit i's hash.
func (t *Table) Hash(i int) plumbing.Hash { return t.hashes[i] }

// Tree is commit i's root tree.
func (t *Table) Tree(i int) plumbing.Hash { return t.trees[i] }

// Commit is commit i.
func (t *Table) Commit(i int) types.Commit {
	return types.Commit{Hash: t.hashes[i].String(), Tree: t.trees[i].String(), Time: time.Unix(t.times[i], 0).UTC()}
}

// MissingParents counts parent links to commits absent from the table (a
// shallow clone, or a broken repository): ancestry through them cannot be
// proven.
func (t *Table) MissingParents() int { return t.missingParents }

// FromGraph says the table came from git's commit-graph plus the commits
// reachable from refs: commits no ref reaches may be missing from it.
func (t *Table) FromGraph() bool { return t.fromGraph }

func (t *Table) parentsOf(i uint32) []uint32 {
	return t.parents[t.parentStart[i]:t.parentStart[i+1]]
}

// Find is a binary search for a full hash, within its fan-out bucket
// once the table is indexed. Not found, the index is where h would go.
func (t *Table) Find(h plumbing.Hash) (int, bool) {
	lo, hi := 0, len(t.hashes)
	if t.fanout != nil {
		k := int(h[0])<<8 | int(h[1])
		lo, hi = int(t.fanout[k]), int(t.fanout[k+1])
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareHashes(&t.hashes[m], &h) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(t.hashes) && t.hashes[lo] == h
}

// FindPrefix returns the indices of every commit whose hex hash starts
// with prefix (lowercase hex, any length up to 40), at most limit of them.
func (t *Table) FindPrefix(prefix string, limit int) []int {
	var lo plumbing.Hash
	if len(prefix) > 2*len(lo) {
		return nil // longer than any hash: it names none (and would not fit lo)
	}
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
// Levels already in t.gens (nonzero) are kept: extend fills in those of
// the old commits, and only the new ones are walked.
func (t *Table) computeGenerations() {
	n := len(t.hashes)
	if len(t.gens) != n {
		t.gens = make([]uint32, n)
	}
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
	t.sortByGen()
}

// sortByGen orders the commits by generation (a counting sort): the order
// every descendant pass uses.
func (t *Table) sortByGen() {
	n := len(t.hashes)
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

// Descendants marks every commit that has commit g as an ancestor or is
// g: one pass in generation order, since a parent always comes before its
// children there.
func (t *Table) Descendants(g int) []bool {
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

// Ancestors marks commit g and everything reachable from it.
func (t *Table) Ancestors(g int) []bool {
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

// IsAncestor says whether a is reachable from b (or equal), pruning by
// generation.
func (t *Table) IsAncestor(a, b int) bool {
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

// CountExcluding counts commits reachable from tip that are not marked in
// stop (ancestors of the good commit). scratch and epoch avoid a fresh
// allocation per ref.
func (t *Table) CountExcluding(tip int, stop []bool, scratch []uint32, epoch uint32) int {
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

// SameTree lists the commits whose root tree is tree: a scan, since no
// index by tree is worth its memory for one question per run.
func (t *Table) SameTree(tree plumbing.Hash) []int {
	var out []int
	for i := range t.trees {
		if t.trees[i] == tree {
			out = append(out, i)
		}
	}
	return out
}

// AheadCounter counts, for tips that contain the good commit g, the
// commits reachable from the tip but not from g, without a walk per tip:
// ahead(c) = ahead(b) + 1 + |commits only the other parents bring|, where
// b is a parent of c that contains g. ahead is memoized along the chain
// of such parents, and a merge's extra commits come from one
// generation-ordered paint-down (git's merge-base technique) that stops as
// soon as nothing is left that only the other parents reach: the cost is
// the size of the merged topic, not of the history.
type AheadCounter struct {
	t     *Table
	desc  []bool  // contains g
	memo  []int32 // -1: not computed
	flags []uint8 // paint-down colours, valid when stamp == epoch
	stamp []uint32
	epoch uint32
	queue genQueue
	chain []uint32
}

// NewAheadCounter counts, for tips that contain commit g (desc is
// t.Descendants(g)), how many commits each is ahead of g.
func NewAheadCounter(t *Table, g int, desc []bool) *AheadCounter {
	a := &AheadCounter{t: t, desc: desc, memo: make([]int32, t.Len()), flags: make([]uint8, t.Len()), stamp: make([]uint32, t.Len())}
	for i := range a.memo {
		a.memo[i] = -1
	}
	a.memo[g] = 0
	a.queue.t = t
	return a
}

// base is the first parent of c that contains g; c contains g and is not
// g, so one exists.
func (a *AheadCounter) base(c uint32) uint32 {
	for _, p := range a.t.parentsOf(c) {
		if a.desc[p] {
			return p
		}
	}
	panic("commitindex: AheadCounter on a commit that does not contain the good commit")
}

// Ahead is how many commits tip has that g lacks: git rev-list --count g..tip.
// tip must contain g.
func (a *AheadCounter) Ahead(tip int) int {
	a.chain = a.chain[:0]
	c := uint32(tip)
	for a.memo[c] < 0 {
		a.chain = append(a.chain, c)
		c = a.base(c)
	}
	for i := len(a.chain) - 1; i >= 0; i-- {
		c := a.chain[i]
		b := a.base(c)
		a.memo[c] = a.memo[b] + 1 + int32(a.onlyOthers(c, b))
	}
	return int(a.memo[tip])
}

const (
	paintBase  = 1
	paintOther = 2
)

// onlyOthers counts commits reachable from c's parents other than b but
// not from b.
func (a *AheadCounter) onlyOthers(c, b uint32) int {
	ps := a.t.parentsOf(c)
	if len(ps) < 2 {
		return 0
	}
	a.epoch++
	a.queue.items = a.queue.items[:0]
	pending := 0 // queued commits painted by the other parents only
	paint := func(p uint32, f uint8) {
		if a.stamp[p] != a.epoch {
			a.stamp[p] = a.epoch
			a.flags[p] = f
			a.queue.push(p)
			if f == paintOther {
				pending++
			}
			return
		}
		old := a.flags[p]
		a.flags[p] |= f
		if old == paintOther && a.flags[p] != paintOther {
			pending--
		}
	}
	paint(b, paintBase)
	for _, p := range ps {
		if p != b {
			paint(p, paintOther)
		}
	}
	n := 0
	for pending > 0 && len(a.queue.items) > 0 {
		x := a.queue.pop()
		f := a.flags[x]
		if f == paintOther {
			n++
			pending--
		}
		for _, p := range a.t.parentsOf(x) {
			paint(p, f)
		}
	}
	return n
}

// genQueue is a max-heap of commits by generation: a commit is popped
// only after every commit that can reach it.
type genQueue struct {
	t     *Table
	items []uint32
}

func (q *genQueue) less(i, j int) bool { return q.t.gens[q.items[i]] > q.t.gens[q.items[j]] }

func (q *genQueue) push(x uint32) {
	q.items = append(q.items, x)
	i := len(q.items) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			break
		}
		q.items[i], q.items[parent] = q.items[parent], q.items[i]
		i = parent
	}
}

func (q *genQueue) pop() uint32 {
	top := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items = q.items[:last]
	i := 0
	for {
		l, r := 2*i+1, 2*i+2
		m := i
		if l < last && q.less(l, m) {
			m = l
		}
		if r < last && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
	return top
}

// extend returns t with b's commits added, without sorting t again: b's
// new commits are sorted and merged into t's order, t's parent indices
// renumbered and the new commits' parents looked up in the merged table.
// It costs one pass over t, against a sort of every commit for a table
// built afresh. t's missing parents stay missing: callers extend only
// tables that have none, or accept that.
func (t *Table) extend(b *Builder) *Table {
	type add struct {
		hash, tree plumbing.Hash
		time       int64
		parents    []plumbing.Hash
	}
	var news []add
	for i, h := range b.hashes {
		if _, ok := t.Find(h); ok {
			continue
		}
		news = append(news, add{h, b.trees[i], b.times[i], b.phashes[b.pstart[i]:b.pstartEnd(i)]})
	}
	if len(news) == 0 {
		return t
	}
	sort.Slice(news, func(i, j int) bool { return bytes.Compare(news[i].hash[:], news[j].hash[:]) < 0 })
	uniq := news[:1]
	for _, a := range news[1:] {
		if a.hash != uniq[len(uniq)-1].hash {
			uniq = append(uniq, a)
		}
	}
	news = uniq
	n, k := len(t.hashes), len(news)
	m := n + k
	out := &Table{
		hashes:         make([]plumbing.Hash, 0, m),
		trees:          make([]plumbing.Hash, 0, m),
		times:          make([]int64, 0, m),
		parentStart:    make([]uint32, 0, m+1),
		missingParents: t.missingParents,
	}
	oldAt := make([]uint32, n) // t's index -> merged index
	isNew := make([]int32, 0, m)
	for i, j := 0, 0; i < n || j < k; {
		if j == k || i < n && bytes.Compare(t.hashes[i][:], news[j].hash[:]) < 0 {
			oldAt[i] = uint32(len(out.hashes))
			out.hashes = append(out.hashes, t.hashes[i])
			out.trees = append(out.trees, t.trees[i])
			out.times = append(out.times, t.times[i])
			isNew = append(isNew, -1-int32(i))
			i++
			continue
		}
		out.hashes = append(out.hashes, news[j].hash)
		out.trees = append(out.trees, news[j].tree)
		out.times = append(out.times, news[j].time)
		isNew = append(isNew, int32(j))
		j++
	}
	out.index()
	out.parents = make([]uint32, 0, len(t.parents)+k)
	for _, src := range isNew {
		out.parentStart = append(out.parentStart, uint32(len(out.parents)))
		if src < 0 {
			for _, p := range t.parentsOf(uint32(-1 - src)) {
				out.parents = append(out.parents, oldAt[p])
			}
			continue
		}
		for _, ph := range news[src].parents {
			j, ok := out.Find(ph)
			if !ok {
				out.missingParents++
				continue
			}
			out.parents = append(out.parents, uint32(j))
		}
	}
	out.parentStart = append(out.parentStart, uint32(len(out.parents)))
	// An old commit's parents are old (t has no missing parents to gain),
	// so its generation stands; only the new commits' are computed.
	if t.missingParents == 0 && len(t.gens) == n {
		out.gens = make([]uint32, m)
		for i, g := range t.gens {
			out.gens[oldAt[i]] = g
		}
	}
	out.computeGenerations()
	return out
}

// pstartEnd is where the parents of b's i-th commit end, before Build
// appended its sentinel.
func (b *Builder) pstartEnd(i int) uint32 {
	if i+1 < len(b.pstart) {
		return b.pstart[i+1]
	}
	return uint32(len(b.phashes))
}

// addBuilder adds every commit of o.
func (b *Builder) addBuilder(o *Builder) {
	for i := range o.hashes {
		b.Add(o.hashes[i], o.trees[i], o.times[i], o.phashes[o.pstart[i]:o.pstartEnd(i)])
	}
}
