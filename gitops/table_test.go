package gitops

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/lkg-dev/lkg/gitops/commitindex"
)

// genHistory writes a fast-import stream for a history with branches,
// merges (an octopus among them) and same-tree commits (reverts), and
// returns the branch names it made.
func genHistory(seed int64, commits int) (stream []byte, branches []string) {
	rng := rand.New(rand.NewSource(seed))
	var buf bytes.Buffer
	const nb = 6
	marks := make([]int, nb) // last mark on each branch, 0 = none
	mark := 0
	when := 1500000000
	for i := 0; i < commits; i++ {
		b := rng.Intn(nb)
		mark++
		when += 60
		fmt.Fprintf(&buf, "commit refs/heads/b%d\nmark :%d\ncommitter t <t@example.com> %d +0000\ndata 0\n", b, mark, when)
		if marks[b] == 0 && b != 0 && marks[0] != 0 {
			fmt.Fprintf(&buf, "from :%d\n", marks[0])
		}
		// Merges: one other branch, now and then two (an octopus).
		if marks[b] != 0 && i%7 == 3 {
			o := (b + 1 + rng.Intn(nb-1)) % nb
			if marks[o] != 0 {
				fmt.Fprintf(&buf, "merge :%d\n", marks[o])
			}
			if i%21 == 3 {
				o2 := (o + 1) % nb
				if o2 != b && marks[o2] != 0 {
					fmt.Fprintf(&buf, "merge :%d\n", marks[o2])
				}
			}
		}
		// Content: mostly new, sometimes a value seen before (same tree
		// as an older commit is then likely for small files sets).
		v := i
		if i%5 == 4 {
			v = i - 1 - rng.Intn(3)
		}
		fmt.Fprintf(&buf, "M 644 inline f%d\ndata %d\n%d\n", b, len(fmt.Sprint(v))+1, v)
		marks[b] = mark
	}
	for b := 0; b < nb; b++ {
		if marks[b] != 0 {
			branches = append(branches, fmt.Sprintf("b%d", b))
		}
	}
	return buf.Bytes(), branches
}

// newGenRepo makes a bare repo from genHistory plus, per branch, a
// teammate namespace ref and a tag, and returns its path.
func newGenRepo(tb testing.TB, seed int64, commits int) (string, []string) {
	tb.Helper()
	requireGit(tb)
	dir := filepath.Join(tb.TempDir(), "gen.git")
	gitRun(tb, "", "init", "-q", "--bare", dir)
	stream, branches := genHistory(seed, commits)
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stream)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("fast-import: %v\n%s", err, out)
	}
	for i, b := range branches {
		gitRun(tb, dir, "update-ref", "refs/heads/alice/"+b, b+"~"+fmt.Sprint(i))
		gitRun(tb, dir, "tag", "t-"+b, b+"~1")
	}
	return dir, branches
}

func gitLines(tb testing.TB, dir string, args ...string) []string {
	tb.Helper()
	out := gitRun(tb, dir, args...)
	if out == "" {
		return nil
	}
	lines := strings.Split(out, "\n")
	sort.Strings(lines)
	return lines
}

// checkTableAgainstGit compares the table's answers with git's for a
// handful of commits.
func checkTableAgainstGit(t *testing.T, dir string, r *Repo) {
	t.Helper()
	tab, err := r.commitTableFor()
	if err != nil {
		t.Fatal(err)
	}
	all := gitLines(t, dir, "rev-list", "--all")
	if got, want := tab.Len(), len(all); got < want {
		t.Fatalf("table has %d commits, git rev-list --all %d", got, want)
	}
	rng := rand.New(rand.NewSource(1))
	refs := gitLines(t, dir, "for-each-ref", "--format=%(refname)", "refs/heads")
	tips := map[string]string{}
	for _, line := range gitLines(t, dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads") {
		f := strings.Fields(line)
		tips[f[0]] = f[1]
	}
	for k := 0; k < 3; k++ {
		g := all[rng.Intn(len(all))]
		gi, ok := tab.Find(plumbing.NewHash(g))
		if !ok {
			t.Fatalf("commit %s missing from table", g)
		}
		// Which branches contain g.
		want := gitLines(t, dir, "for-each-ref", "--contains", g, "--format=%(refname)", "refs/heads")
		desc := tab.Descendants(gi)
		anc := tab.Ancestors(gi)
		scratch := make([]uint32, tab.Len())
		counter := commitindex.NewAheadCounter(tab, gi, desc)
		var got []string
		for ei, ref := range refs {
			tip := tips[ref]
			ti, _ := tab.Find(plumbing.NewHash(tip))
			if desc[ti] {
				got = append(got, ref)
			}
			if k > 0 {
				continue // the costly per-ref git calls, for one commit
			}
			// Ahead counts.
			wantAhead := gitRun(t, dir, "rev-list", "--count", tip, "^"+g)
			if gotAhead := tab.CountExcluding(ti, anc, scratch, uint32(ei+1)); fmt.Sprint(gotAhead) != wantAhead {
				t.Errorf("ahead of %s over %s = %d, git says %s", ref, g[:8], gotAhead, wantAhead)
			}
			if desc[ti] {
				if gotAhead := counter.Ahead(ti); fmt.Sprint(gotAhead) != wantAhead {
					t.Errorf("aheadCounter of %s over %s = %d, git says %s", ref, g[:8], gotAhead, wantAhead)
				}
			}
			// Pairwise ancestry against merge-base.
			err := exec.Command("git", "-C", dir, "merge-base", "--is-ancestor", g, tip).Run()
			if gotAnc := tab.IsAncestor(gi, ti); gotAnc != (err == nil) {
				t.Errorf("isAncestor(%s, %s) = %v, git says %v", g[:8], ref, gotAnc, err == nil)
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("refs containing %s:\n got %q\nwant %q", g[:8], got, want)
		}
		// Commits sharing g's tree.
		tree := gitRun(t, dir, "rev-parse", g+"^{tree}")
		var wantSame []string
		for _, line := range strings.Split(gitRun(t, dir, "log", "--all", "--format=%H %T"), "\n") {
			if f := strings.Fields(line); f[1] == tree {
				wantSame = append(wantSame, f[0])
			}
		}
		sort.Strings(wantSame)
		var gotSame []string
		for _, i := range tab.SameTree(plumbing.NewHash(tree)) {
			gotSame = append(gotSame, tab.Hash(i).String())
		}
		if strings.Join(gotSame, " ") != strings.Join(wantSame, " ") {
			t.Errorf("commits with tree of %s:\n got %q\nwant %q", g[:8], gotSame, wantSame)
		}
		// Commit time and tree.
		c := tab.Commit(gi)
		if want := gitRun(t, dir, "log", "-1", "--format=%T %ct", g); fmt.Sprintf("%s %d", c.Tree, c.Time.Unix()) != want {
			t.Errorf("commit %s = %s %d, git says %s", g[:8], c.Tree, c.Time.Unix(), want)
		}
	}
}

func TestCommitTableAgainstGit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		graph bool // want the table from the graph
	}{
		{"no graph, packed", func(t *testing.T, dir string) {}, false},
		{"no graph, loose and packed", func(t *testing.T, dir string) {
			gitRun(t, dir, "repack", "-adq")
			// Loose commits on top.
			tree := gitRun(t, dir, "rev-parse", "b1^{tree}")
			c := gitRun(t, dir, "commit-tree", tree, "-p", "b1", "-p", "b2", "-m", "loose merge")
			gitRun(t, dir, "update-ref", "refs/heads/loose", c)
		}, false},
		{"no graph, deltified commits and ref deltas", func(t *testing.T, dir string) {
			// Long, nearly identical messages make git store commits as
			// deltas; without offset deltas they are ref deltas.
			long := strings.Repeat("the same long explanation of a change\n", 100)
			parent := gitRun(t, dir, "rev-parse", "b2")
			tree := gitRun(t, dir, "rev-parse", "b2^{tree}")
			for i := 0; i < 20; i++ {
				cmd := exec.Command("git", "commit-tree", tree, "-p", parent)
				cmd.Dir = dir
				cmd.Stdin = strings.NewReader(fmt.Sprintf("change %d\n\n%s", i, long))
				out, err := cmd.Output()
				if err != nil {
					t.Fatal(err)
				}
				parent = strings.TrimSpace(string(out))
			}
			gitRun(t, dir, "update-ref", "refs/heads/long", parent)
			gitRun(t, dir, "-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq")
			packs, _ := filepath.Glob(filepath.Join(dir, "objects/pack/*.idx"))
			out := gitRun(t, dir, "verify-pack", "-v", packs[0])
			deltas := 0
			for _, line := range strings.Split(out, "\n") {
				if f := strings.Fields(line); len(f) == 7 && f[1] == "commit" {
					deltas++
				}
			}
			if deltas == 0 {
				t.Fatal("no deltified commit in the pack")
			}
		}, false},
		{"no graph, big blobs", func(t *testing.T, dir string) {
			// Blobs larger than the read buffer are skipped by seeking.
			blob := make([]byte, 9<<20)
			rand.New(rand.NewSource(2)).Read(blob)
			p := filepath.Join(t.TempDir(), "big")
			os.WriteFile(p, blob, 0o644)
			bh := gitRun(t, dir, "hash-object", "-w", p)
			cmd := exec.Command("git", "mktree")
			cmd.Dir = dir
			cmd.Stdin = strings.NewReader("100644 blob " + bh + "\tbig.bin\n")
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			c := gitRun(t, dir, "commit-tree", strings.TrimSpace(string(out)), "-p", "b2", "-m", "big")
			gitRun(t, dir, "update-ref", "refs/heads/big", c)
			c2 := gitRun(t, dir, "commit-tree", strings.TrimSpace(string(out)), "-p", c, "-m", "after big")
			gitRun(t, dir, "update-ref", "refs/heads/big2", c2)
			gitRun(t, dir, "repack", "-adq")
		}, false},
		{"no graph, alternates", func(t *testing.T, dir string) {
			// The repository under test borrows its objects: move them to
			// another store and point objects/info/alternates at it.
			other := filepath.Join(t.TempDir(), "objects")
			if err := os.Rename(filepath.Join(dir, "objects"), other); err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Join(dir, "objects", "info"), 0o755)
			os.MkdirAll(filepath.Join(dir, "objects", "pack"), 0o755)
			os.WriteFile(filepath.Join(dir, "objects", "info", "alternates"), []byte(other+"\n"), 0o644)
			tree := gitRun(t, dir, "rev-parse", "b1^{tree}")
			c := gitRun(t, dir, "commit-tree", tree, "-p", "b1", "-m", "local, on top of borrowed history")
			gitRun(t, dir, "update-ref", "refs/heads/b1", c)
		}, false},
		{"graph", func(t *testing.T, dir string) {
			gitRun(t, dir, "commit-graph", "write", "--reachable")
		}, true},
		{"graph chain", func(t *testing.T, dir string) {
			gitRun(t, dir, "commit-graph", "write", "--reachable", "--split")
			tree := gitRun(t, dir, "rev-parse", "b3^{tree}")
			c := gitRun(t, dir, "commit-tree", tree, "-p", "b3", "-m", "second layer")
			gitRun(t, dir, "update-ref", "refs/heads/layer2", c)
			gitRun(t, dir, "commit-graph", "write", "--reachable", "--split=no-merge")
			if _, err := os.Stat(filepath.Join(dir, "objects/info/commit-graphs/commit-graph-chain")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"stale graph", func(t *testing.T, dir string) {
			gitRun(t, dir, "commit-graph", "write", "--reachable")
			tree := gitRun(t, dir, "rev-parse", "b4^{tree}")
			c := gitRun(t, dir, "commit-tree", tree, "-p", "b4", "-p", "b0", "-m", "after the graph")
			gitRun(t, dir, "update-ref", "refs/heads/b4", c)
		}, true},
		{"corrupt graph", func(t *testing.T, dir string) {
			gitRun(t, dir, "commit-graph", "write", "--reachable")
			p := filepath.Join(dir, "objects/info/commit-graph")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 0x55
			os.Chmod(p, 0o644)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"truncated graph", func(t *testing.T, dir string) {
			gitRun(t, dir, "commit-graph", "write", "--reachable")
			p := filepath.Join(dir, "objects/info/commit-graph")
			os.Chmod(p, 0o644)
			if err := os.Truncate(p, 100); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := newGenRepo(t, 7, 400)
			tc.setup(t, dir)
			{
				r, err := Open(dir, WithCacheDir(filepath.Join(t.TempDir())), WithNoFetch(true))
				if err != nil {
					t.Fatal(err)
				}
				tab, err := r.commitTableFor()
				if err != nil {
					t.Fatal(err)
				}
				if tab.FromGraph() != tc.graph {
					t.Errorf("table from graph = %v, want %v (warnings %q)", tab.FromGraph(), tc.graph, r.takeWarnings())
				}
				if w := r.takeWarnings(); !strings.Contains(tc.name, "corrupt") && !strings.Contains(tc.name, "truncated") && len(w) > 0 {
					t.Errorf("warnings %q", w)
				}
				checkTableAgainstGit(t, dir, r)
			}
		})
	}
}

func TestTableCache(t *testing.T) {
	t.Parallel()
	dir, _ := newGenRepo(t, 3, 300)
	cache := t.TempDir()
	r1, err := Open(dir, WithCacheDir(cache), WithNoFetch(true))
	if err != nil {
		t.Fatal(err)
	}
	t1, err := r1.commitTableFor()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cache, "commit-tables", "*.bin"))
	if len(files) != 1 {
		t.Fatalf("cache files = %q, want one", files)
	}
	r2, _ := Open(dir, WithCacheDir(cache), WithNoFetch(true))
	t2, err := r2.commitTableFor()
	if err != nil {
		t.Fatal(err)
	}
	if t1.Len() != t2.Len() || fmt.Sprint(*t1) != fmt.Sprint(*t2) {
		t.Errorf("cached table differs from the built one")
	}
	// A new commit changes the key: the table is rebuilt, not served stale.
	tree := gitRun(t, dir, "rev-parse", "b0^{tree}")
	c := gitRun(t, dir, "commit-tree", tree, "-p", "b0", "-m", "new")
	gitRun(t, dir, "update-ref", "refs/heads/new", c)
	r3, _ := Open(dir, WithCacheDir(cache), WithNoFetch(true))
	t3, _ := r3.commitTableFor()
	if _, ok := t3.Find(plumbing.NewHash(c)); !ok {
		t.Errorf("new commit missing: stale cache served")
	}
	files, _ = filepath.Glob(filepath.Join(cache, "commit-tables", "*.bin"))
	if len(files) != 1 {
		t.Errorf("cache files after rebuild = %q, want one", files)
	}
	// A corrupt cache file is rebuilt, not trusted.
	os.WriteFile(files[0], []byte("lkg-commit-table-1\njunk"), 0o644)
	r4, _ := Open(dir, WithCacheDir(cache), WithNoFetch(true))
	t4, err := r4.commitTableFor()
	if err != nil || t4.Len() != t3.Len() {
		t.Errorf("corrupt cache: table of %d commits, err %v; want %d", t4.Len(), err, t3.Len())
	}
}

// TestAheadCounter checks the memoized counter against the plain walk
// (itself checked against git rev-list --count above) for every commit
// that contains each of several good commits.
func TestAheadCounter(t *testing.T) {
	t.Parallel()
	dir, _ := newGenRepo(t, 11, 600)
	r, err := Open(dir, WithCacheDir(t.TempDir()), WithNoFetch(true))
	if err != nil {
		t.Fatal(err)
	}
	tab, err := r.commitTableFor()
	if err != nil {
		t.Fatal(err)
	}
	scratch := make([]uint32, tab.Len())
	epoch := uint32(0)
	for g := 0; g < tab.Len(); g += 37 {
		desc := tab.Descendants(g)
		anc := tab.Ancestors(g)
		counter := commitindex.NewAheadCounter(tab, g, desc)
		for c := 0; c < tab.Len(); c++ {
			if !desc[c] {
				continue
			}
			epoch++
			if got, want := counter.Ahead(c), tab.CountExcluding(c, anc, scratch, epoch); got != want {
				t.Fatalf("ahead(%s) over %s = %d, want %d", tab.Hash(c), tab.Hash(g), got, want)
			}
		}
	}
}
