package suspects

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/lkg-dev/lkg/internal/packfile"
)

// The walk paints each commit with the sides it is reachable from.
const (
	goodOnly uint8 = 1 // reachable from good only
	badOnly  uint8 = 2 // reachable from bad only
	common         = goodOnly | badOnly
)

type walkNode struct {
	hash   plumbing.Hash
	c      *object.Commit // nil when the object is missing (shallow clone)
	flags  uint8
	queued bool
	popped bool
	index  int
}

// walker paints commits from good and bad newest first, like git's
// paint_down_to_common, and stops once every queued commit is reachable from
// both: what is left below can be neither side's alone. It visits the two
// ranges and their boundary, never the whole history.
type walker struct {
	st        storer.EncodedObjectStorer
	pr        *packfile.Reader
	hdr       packfile.CommitHeader // reused by parseCommit
	nodes     map[plumbing.Hash]*walkNode
	queue     walkQueue
	exclusive int // queued nodes not yet common
	warnings  []string
}

func newWalker(st storer.EncodedObjectStorer, pr *packfile.Reader) *walker {
	return &walker{st: st, pr: pr, nodes: map[plumbing.Hash]*walkNode{}}
}

// commit reads a commit from the packs, or through go-git when it is loose
// or does not parse.
func (w *walker) commit(h plumbing.Hash) (*object.Commit, error) {
	if typ, data, err := w.pr.Read(h); err == nil && typ == packfile.TypeCommit {
		if c, ok := w.parseCommit(h, data); ok {
			return c, nil
		}
	}
	return object.GetCommit(w.st, h)
}

// parseCommit turns the headers the walk and the units use (tree, parents,
// author, committer, message) into a go-git commit.
func (w *walker) parseCommit(h plumbing.Hash, data []byte) (*object.Commit, bool) {
	if err := packfile.ParseCommit(data, &w.hdr); err != nil || !w.hdr.HasTree {
		return nil, false
	}
	c := &object.Commit{Hash: h, TreeHash: w.hdr.Tree, Message: string(w.hdr.Message)}
	if len(w.hdr.Parents) > 0 {
		c.ParentHashes = append([]plumbing.Hash(nil), w.hdr.Parents...)
	}
	if w.hdr.Author != nil {
		c.Author.Decode(w.hdr.Author)
	}
	if w.hdr.Committer != nil {
		c.Committer.Decode(w.hdr.Committer)
	}
	return c, true
}

func (w *walker) paint(ctx context.Context, good, bad plumbing.Hash) error {
	if err := w.push(good, goodOnly); err != nil {
		return err
	}
	if err := w.push(bad, badOnly); err != nil {
		return err
	}
	for n := 0; w.queue.Len() > 0 && w.exclusive > 0; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		node := heap.Pop(&w.queue).(*walkNode)
		node.queued, node.popped = false, true
		if node.flags != common {
			w.exclusive--
		}
		for _, p := range node.c.ParentHashes {
			if err := w.push(p, node.flags); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *walker) push(h plumbing.Hash, flags uint8) error {
	n := w.nodes[h]
	if n == nil {
		n = &walkNode{hash: h}
		c, err := w.commit(h)
		switch {
		case errors.Is(err, plumbing.ErrObjectNotFound):
			w.warnings = append(w.warnings, fmt.Sprintf("commit %s is missing (shallow clone?); the range stops there", h))
		case err != nil:
			return fmt.Errorf("reading commit %s: %w", h, err)
		default:
			n.c = c
		}
		w.nodes[h] = n
	}
	merged := n.flags | flags
	if merged == n.flags && (n.queued || n.popped) {
		return nil
	}
	if n.queued {
		if n.flags != common && merged == common {
			w.exclusive--
		}
		n.flags = merged
		return nil
	}
	n.flags = merged
	if n.c == nil {
		return nil
	}
	heap.Push(&w.queue, n)
	n.queued = true
	if merged != common {
		w.exclusive++
	}
	return nil
}

// count is the number of commits painted exactly side.
func (w *walker) count(side uint8) int {
	n := 0
	for _, node := range w.nodes {
		if node.flags == side && node.c != nil {
			n++
		}
	}
	return n
}

// mergeBases are the common commits that a one-sided commit has as parent:
// every merge base is among them (possibly with older common commits, which
// the caller drops), newest first.
func (w *walker) mergeBases() []plumbing.Hash {
	seen := map[plumbing.Hash]bool{}
	var out []*walkNode
	for _, node := range w.nodes {
		if node.c == nil || node.flags == common {
			continue
		}
		for _, p := range node.c.ParentHashes {
			pn := w.nodes[p]
			if pn != nil && pn.c != nil && pn.flags == common && !seen[p] {
				seen[p] = true
				out = append(out, pn)
			}
		}
	}
	// good or bad itself may be the base (bad is an ancestor of good).
	sort.Slice(out, func(i, j int) bool { return newer(out[i], out[j]) })
	hs := make([]plumbing.Hash, len(out))
	for i, n := range out {
		hs[i] = n.hash
	}
	return hs
}

// unitWork is one unit on its way through the diff workers.
type unitWork struct {
	unit     Unit
	oldTree  plumbing.Hash // zero: the empty tree (a root commit)
	newTree  plumbing.Hash
	warnings []string
}

// units follows the first-parent line from tip while it stays on side; each
// commit on it is a unit. Commits of the side off the line are given to the
// oldest merge on the line that reaches them: the merge that brought them in.
func (w *walker) units(tip plumbing.Hash, side uint8, authors bool) []*unitWork {
	var line []*walkNode
	onLine := map[plumbing.Hash]bool{}
	for h := tip; ; {
		n := w.nodes[h]
		if n == nil || n.c == nil || n.flags != side {
			break
		}
		line = append(line, n)
		onLine[h] = true
		if len(n.c.ParentHashes) == 0 {
			break
		}
		h = n.c.ParentHashes[0]
	}
	assigned := map[plumbing.Hash]bool{}
	out := make([]*unitWork, len(line))
	for i := len(line) - 1; i >= 0; i-- {
		n := line[i]
		c := n.c
		u := &unitWork{newTree: c.TreeHash}
		subject := subjectOf(c.Message)
		u.unit = Unit{
			Commit:  n.hash.String(),
			Kind:    UnitCommit,
			PR:      prNumber(subject, c.Message),
			Subject: subject,
			Time:    c.Committer.When,
			Files:   []File{},
			Risks:   []string{},
		}
		members := []*walkNode{n}
		if len(c.ParentHashes) > 1 {
			u.unit.Kind = UnitMerge
			stack := append([]plumbing.Hash{}, c.ParentHashes[1:]...)
			var side []*walkNode
			for len(stack) > 0 {
				h := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				m := w.nodes[h]
				if m == nil || m.c == nil || m.flags != n.flags || onLine[h] || assigned[h] {
					continue
				}
				assigned[h] = true
				side = append(side, m)
				stack = append(stack, m.c.ParentHashes...)
			}
			sort.Slice(side, func(i, j int) bool { return newer(side[i], side[j]) })
			members = append(members, side...)
		} else if u.unit.PR != 0 {
			u.unit.Kind = UnitSquash
		}
		names := map[string]bool{}
		for _, m := range members {
			sc := Commit{Hash: m.hash.String(), Subject: subjectOf(m.c.Message)}
			if authors {
				sc.Author = m.c.Author.Name
				names[m.c.Author.Name] = true
			}
			u.unit.Commits = append(u.unit.Commits, sc)
		}
		if authors {
			u.unit.Authors = sortedKeys(names)
		}
		if len(c.ParentHashes) > 0 {
			p := w.nodes[c.ParentHashes[0]]
			if p != nil && p.c != nil {
				u.oldTree = p.c.TreeHash
			} else {
				u.warnings = append(u.warnings, fmt.Sprintf("unit %s: first parent %s is missing; its files are listed as added", n.hash.String()[:12], c.ParentHashes[0].String()[:12]))
			}
		}
		out[i] = u
	}
	return out
}

func newer(a, b *walkNode) bool {
	ta, tb := a.c.Committer.When, b.c.Committer.When
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	return bytes.Compare(a.hash[:], b.hash[:]) < 0
}

// walkQueue is a max-heap by committer time.
type walkQueue []*walkNode

func (q walkQueue) Len() int           { return len(q) }
func (q walkQueue) Less(i, j int) bool { return newer(q[i], q[j]) }
func (q walkQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *walkQueue) Push(x any) {
	n := x.(*walkNode)
	n.index = len(*q)
	*q = append(*q, n)
}
func (q *walkQueue) Pop() any {
	old := *q
	n := old[len(old)-1]
	*q = old[:len(old)-1]
	return n
}
