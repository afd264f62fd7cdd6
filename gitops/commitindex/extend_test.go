package commitindex

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// tableLines renders a table as sorted "hash tree time parents..." lines.
func tableLines(t *Table) []string {
	var out []string
	for i := range t.Len() {
		line := fmt.Sprintf("%s %s %d gen %d", t.Hash(i), t.Tree(i), t.times[i], t.gens[i])
		for _, p := range t.parentsOf(uint32(i)) {
			line += " " + t.Hash(int(p)).String()
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

// TestExtend: a table extended by more commits equals one built from all
// of them, parents and generations included.
func TestExtend(t *testing.T) {
	var all, first, rest Builder
	for i := range 200 {
		var ps []plumbing.Hash
		if i > 0 {
			ps = append(ps, hash(fmt.Sprint(i-1)))
		}
		if i%7 == 0 && i > 10 {
			ps = append(ps, hash(fmt.Sprint(i-10)))
		}
		if i == 150 {
			ps = append(ps, hash("nowhere"))
		}
		all.Add(hash(fmt.Sprint(i)), hash("tree "+fmt.Sprint(i%13)), int64(i), ps)
		// first is a closed history (a pack); rest the next pack, which
		// repeats some of first's commits.
		if i%30 == 0 || i > 120 {
			rest.Add(hash(fmt.Sprint(i)), hash("tree "+fmt.Sprint(i%13)), int64(i), ps)
		}
		if i <= 120 {
			first.Add(hash(fmt.Sprint(i)), hash("tree "+fmt.Sprint(i%13)), int64(i), ps)
		}
	}
	base := first.Build()
	got := base.extend(&rest)
	want := all.Build()
	if !slices.Equal(tableLines(got), tableLines(want)) {
		t.Errorf("extended table differs from the one built at once")
	}
	if got.MissingParents() < 1 {
		t.Errorf("MissingParents = %d, want the link to nowhere counted", got.MissingParents())
	}
	for i := range want.Len() {
		j, _ := got.Find(want.Hash(i))
		if got.gens[j] != want.gens[i] {
			t.Fatalf("generation of %s = %d, want %d", want.Hash(i), got.gens[j], want.gens[i])
		}
	}
}

// TestLoadStoreExtendsCache: after a fetch-like new pack, LoadStore scans
// only the new pack and answers like a full scan; new loose commits are
// read without touching the cache.
func TestLoadStoreExtendsCache(t *testing.T) {
	dir := scanRepo(t)
	run := func(args ...string) string {
		t.Helper()
		return gitIn(t, dir, "", args...)
	}
	run("repack", "-dq") // the loose objects into a pack of their own
	g, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := &Loader{GitDir: dir, Store: g.Storer.(*filesystem.Storage), CacheDir: t.TempDir()}
	full := func() []string {
		var b Builder
		if err := scanObjectStore(filepath.Join(dir, "objects"), l.Store, &b); err != nil {
			t.Fatal(err)
		}
		return tableLines(b.Build())
	}
	load := func() ([]string, int64) {
		t.Helper()
		before := packsScanned.Load()
		tab, err := l.LoadStore()
		if err != nil {
			t.Fatal(err)
		}
		return tableLines(tab), packsScanned.Load() - before
	}
	if got, scanned := load(); !slices.Equal(got, full()) || scanned < 2 {
		t.Fatalf("first load: %d packs scanned, table equal to a full scan: %v", scanned, slices.Equal(got, full()))
	}
	if _, scanned := load(); scanned != 0 {
		t.Errorf("cached load scanned %d packs, want 0", scanned)
	}
	// A fetch adds a pack; new commits sit loose on top.
	tip := run("rev-parse", "main")
	for i := range 5 {
		tip = run("commit-tree", "-p", tip, "-m", fmt.Sprintf("fetched %d", i), tip+"^{tree}")
	}
	run("update-ref", "refs/heads/fetched", tip)
	run("repack", "-dq")
	for i := range 2 {
		tip = run("commit-tree", "-p", tip, "-m", fmt.Sprintf("local %d", i), tip+"^{tree}")
	}
	got, scanned := load()
	if scanned != 1 {
		t.Errorf("after a new pack, %d packs scanned, want 1", scanned)
	}
	if want := full(); !slices.Equal(got, want) {
		t.Errorf("extended table: %d commits, a full scan %d; they differ", len(got), len(want))
	}
	if _, scanned := load(); scanned != 0 {
		t.Errorf("load after the extension scanned %d packs, want 0", scanned)
	}
}
