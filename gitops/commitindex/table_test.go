package commitindex

import (
	"fmt"
	"sort"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func hash(name string) plumbing.Hash {
	return plumbing.ComputeHash(plumbing.CommitObject, []byte(name))
}

// TestTable checks the table's answers on a small history built by hand:
//
//	a - b - c ------ e   main
//	     \          /
//	      d -------'     topic (d has c's tree: a cherry-pick)
//
// plus x, whose parent is not in the table.
func TestTable(t *testing.T) {
	var b Builder
	tree := func(name string) plumbing.Hash { return hash("tree " + name) }
	b.Add(hash("e"), tree("e"), 5, []plumbing.Hash{hash("c"), hash("d")})
	b.Add(hash("a"), tree("a"), 1, nil)
	b.Add(hash("c"), tree("c"), 3, []plumbing.Hash{hash("b")})
	b.Add(hash("b"), tree("b"), 2, []plumbing.Hash{hash("a")})
	b.Add(hash("d"), tree("c"), 4, []plumbing.Hash{hash("b")})
	b.Add(hash("b"), tree("b"), 2, []plumbing.Hash{hash("a")}) // in two packs
	b.Add(hash("x"), tree("x"), 6, []plumbing.Hash{hash("gone")})
	tab := b.Build()

	if got, want := tab.Len(), 6; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
	if got := tab.MissingParents(); got != 1 {
		t.Errorf("MissingParents = %d, want 1", got)
	}
	idx := map[string]int{}
	for _, n := range []string{"a", "b", "c", "d", "e", "x"} {
		i, ok := tab.Find(hash(n))
		if !ok || tab.Hash(i) != hash(n) {
			t.Fatalf("Find(%s) = %d, %v", n, i, ok)
		}
		idx[n] = i
		if c := tab.Commit(i); c.Hash != hash(n).String() || c.Tree != tab.Tree(i).String() {
			t.Errorf("Commit(%s) = %+v", n, c)
		}
	}
	if _, ok := tab.Find(hash("gone")); ok {
		t.Errorf("Find(gone) found it")
	}
	if got := tab.FindPrefix(hash("c").String()[:7], 2); len(got) != 1 || got[0] != idx["c"] {
		t.Errorf("FindPrefix(c) = %v, want [%d]", got, idx["c"])
	}

	anc := []struct {
		a, b string
		want bool
	}{{"a", "e", true}, {"d", "e", true}, {"c", "d", false}, {"e", "e", true}, {"e", "a", false}, {"a", "x", false}}
	for _, tt := range anc {
		if got := tab.IsAncestor(idx[tt.a], idx[tt.b]); got != tt.want {
			t.Errorf("IsAncestor(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}

	// Ahead of b: c, d and e for e (git rev-list --count b..e = 3).
	desc := tab.Descendants(idx["b"])
	ancB := tab.Ancestors(idx["b"])
	counter := NewAheadCounter(tab, idx["b"], desc)
	scratch := make([]uint32, tab.Len())
	for i, tt := range []struct {
		tip  string
		want int
	}{{"b", 0}, {"c", 1}, {"d", 1}, {"e", 3}} {
		if !desc[idx[tt.tip]] {
			t.Errorf("%s does not contain b", tt.tip)
		}
		if got := counter.Ahead(idx[tt.tip]); got != tt.want {
			t.Errorf("Ahead(%s) = %d, want %d", tt.tip, got, tt.want)
		}
		if got := tab.CountExcluding(idx[tt.tip], ancB, scratch, uint32(i+1)); got != tt.want {
			t.Errorf("CountExcluding(%s) = %d, want %d", tt.tip, got, tt.want)
		}
	}
	if desc[idx["a"]] || desc[idx["x"]] {
		t.Errorf("Descendants(b) holds a or x")
	}

	var same []string
	for _, i := range tab.SameTree(tree("c")) {
		same = append(same, tab.Hash(i).String())
	}
	want := []string{hash("c").String(), hash("d").String()}
	sort.Strings(same)
	sort.Strings(want)
	if fmt.Sprint(same) != fmt.Sprint(want) {
		t.Errorf("SameTree(c's tree) = %v, want c and d %v", same, want)
	}
}

// TestSortAndFind: commits are ordered by whole hash even when many share
// their first bytes (the sort keys hold five), and Find, searching one
// fan-out bucket, finds each and says where a missing hash would go.
func TestSortAndFind(t *testing.T) {
	var b Builder
	var want []plumbing.Hash
	for i := range 3000 {
		h := hash(fmt.Sprint(i))
		if i%3 == 0 {
			copy(h[:7], []byte{0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, byte(i % 5)}) // shared prefixes
		}
		if i%7 == 0 {
			h[0], h[1] = 0xff, 0xff // the last bucket
		}
		want = append(want, h)
		b.Add(h, h, int64(i), nil)
		if i%10 == 0 {
			b.Add(h, h, int64(i), nil) // duplicates go
		}
	}
	tab := b.Build()
	sort.Slice(want, func(i, j int) bool { return want[i].String() < want[j].String() })
	if tab.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", tab.Len(), len(want))
	}
	for i, h := range want {
		if tab.Hash(i) != h {
			t.Fatalf("Hash(%d) = %s, want %s", i, tab.Hash(i), h)
		}
		if got, ok := tab.Find(h); !ok || got != i {
			t.Fatalf("Find(%s) = %d, %v, want %d", h, got, ok, i)
		}
		miss := h
		miss[19]++
		got, ok := tab.Find(miss)
		wantAt := sort.Search(len(want), func(j int) bool { return want[j].String() >= miss.String() })
		if ok || got != wantAt {
			t.Fatalf("Find(%s) = %d, %v, want %d, false", miss, got, ok, wantAt)
		}
	}
}
