package packfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/testenv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// newRepo makes a repository whose pack, once repacked, has long delta
// chains of blobs, trees and commits (long, nearly identical messages make
// git store commits as deltas).
func newRepo(tb testing.TB) string {
	tb.Helper()
	testenv.NeedGit(tb)
	dir := tb.TempDir()
	git(tb, dir, "init", "-q", "-b", "main")
	long := strings.Repeat("the same long explanation of a change\n", 100)
	for i := 0; i < 30; i++ {
		var b strings.Builder
		for j := 0; j < 40+i; j++ {
			fmt.Fprintf(&b, "line %d of the main file\n", j)
		}
		os.WriteFile(filepath.Join(dir, "main.go"), []byte(b.String()), 0o644)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.txt", i%5)), []byte(b.String()[:i*7]), 0o644)
		git(tb, dir, "add", "-A")
		git(tb, dir, "commit", "-q", "-m", fmt.Sprintf("change %d\n\n%s", i, long))
	}
	return dir
}

// object is one object as git cat-file prints it.
type object struct {
	typ  string
	data []byte
}

// catAll reads every object of the repository with git cat-file.
func catAll(tb testing.TB, dir string) map[plumbing.Hash]object {
	tb.Helper()
	cmd := exec.Command("git", "cat-file", "--batch-all-objects", "--batch")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		tb.Fatal(err)
	}
	objs := map[plumbing.Hash]object{}
	r := bufio.NewReader(bytes.NewReader(out))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		f := strings.Fields(line)
		n, _ := strconv.Atoi(f[2])
		data := make([]byte, n+1)
		if _, err := io.ReadFull(r, data); err != nil {
			tb.Fatal(err)
		}
		objs[plumbing.NewHash(f[0])] = object{f[1], data[:n]}
	}
	return objs
}

var typeNames = map[int]string{TypeCommit: "commit", TypeTree: "tree", TypeBlob: "blob", TypeTag: "tag"}

// TestAgainstGit reads every object of a deltified pack, with offset
// deltas (git's default) and with deltas naming their base by hash (as
// older packers wrote), and compares entries with git verify-pack and
// contents and commit headers with git cat-file.
func TestAgainstGit(t *testing.T) {
	dir := newRepo(t)
	for _, useOfs := range []string{"true", "false"} {
		t.Run("ofs-delta="+useOfs, func(t *testing.T) {
			git(t, dir, "-c", "repack.usedeltabaseoffset="+useOfs, "repack", "-adfq", "--depth=50", "--window=50")
			checkAgainstGit(t, dir, useOfs == "true")
		})
	}
	// The header walk split into ranges, as on big packs: deltas whose
	// base lies in another range.
	defer func(n int) { parallelWalkMin = n }(parallelWalkMin)
	parallelWalkMin = 1
	for _, procs := range []int{2, 3, 8} {
		t.Run(fmt.Sprintf("walkers=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for _, useOfs := range []string{"true", "false"} {
				git(t, dir, "-c", "repack.usedeltabaseoffset="+useOfs, "repack", "-adfq", "--depth=50", "--window=50")
				checkAgainstGit(t, dir, useOfs == "true")
			}
		})
	}
}

func checkAgainstGit(t *testing.T, dir string, ofs bool) {
	packs, err := Open(filepath.Join(dir, ".git", "objects"))
	if err != nil {
		t.Fatal(err)
	}
	defer packs.Close()
	if len(packs.Packs()) != 1 {
		t.Fatalf("%d packs mapped, want 1", len(packs.Packs()))
	}
	p := packs.Packs()[0]
	want := catAll(t, dir)

	// Entries: hash, offset, type and delta-ness, as git verify-pack -v
	// prints them: "sha type size size-in-pack offset [depth base-sha]".
	idx := strings.TrimSuffix(p.Path(), ".pack") + ".idx"
	verify := map[plumbing.Hash][]string{}
	for _, line := range strings.Split(git(t, dir, "verify-pack", "-v", idx), "\n") {
		if f := strings.Fields(line); len(f) >= 5 && len(f[0]) == 40 {
			verify[plumbing.NewHash(f[0])] = f
		}
	}
	es, err := p.Entries()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != len(verify) || len(es) != p.Len() {
		t.Fatalf("%d entries (Len %d), git verify-pack lists %d", len(es), p.Len(), len(verify))
	}
	deltas := map[int]int{}
	for i, e := range es {
		f := verify[e.Hash]
		if f == nil {
			t.Fatalf("entry %s not in git verify-pack", e.Hash)
		}
		if i > 0 && es[i-1].Offset >= e.Offset {
			t.Errorf("entries not in pack order at %d", i)
		}
		if got, want := fmt.Sprintf("%s %d %v", typeNames[int(e.Type)], e.Offset, e.Delta), fmt.Sprintf("%s %s %v", f[1], f[4], len(f) == 7); got != want {
			t.Errorf("entry %s = %s, git verify-pack says %s", e.Hash, got, want)
		}
		if e.Delta {
			deltas[int(e.Type)]++
		}
		if off, ok := p.Find(e.Hash); !ok || off != e.Offset {
			t.Errorf("Find(%s) = %d, %v; want %d", e.Hash, off, ok, e.Offset)
		}
	}
	if deltas[TypeCommit] == 0 || deltas[TypeBlob] == 0 {
		t.Fatalf("deltified objects by type = %v, want commits and blobs", deltas)
	}
	// The kind of delta the pack holds, to be sure both are read.
	h, err := p.header(es[len(es)-1].Offset)
	for i := len(es) - 1; i >= 0 && err == nil && !es[i].Delta; i-- {
		h, err = p.header(es[i].Offset)
	}
	if wantTyp := map[bool]int{true: typeOfsDelta, false: typeRefDelta}[ofs]; err != nil || h.typ != wantTyp {
		t.Fatalf("last delta's type = %d (%v), want %d", h.typ, err, wantTyp)
	}

	// Contents, through the hash lookup and by offset.
	r := packs.Reader()
	var c CommitHeader
	for _, e := range es {
		w := want[e.Hash]
		for _, read := range []func() (int, []byte, error){
			func() (int, []byte, error) { return r.Read(e.Hash) },
			func() (int, []byte, error) { return r.ReadAt(p, e.Offset) },
		} {
			typ, got, err := read()
			if err != nil {
				t.Fatalf("%s: %v", e.Hash, err)
			}
			if typeNames[typ] != w.typ || !bytes.Equal(got, w.data) {
				t.Fatalf("%s: got %s, %d bytes; git cat-file says %s, %d bytes", e.Hash, typeNames[typ], len(got), w.typ, len(w.data))
			}
		}
		if w.typ != "commit" {
			continue
		}
		if err := ParseCommit(w.data, &c); err != nil {
			t.Fatalf("%s: %v", e.Hash, err)
		}
		var ps []string
		for _, p := range c.Parents {
			ps = append(ps, p.String())
		}
		got := fmt.Sprintf("%s|%s|%d|%s", c.Tree, strings.Join(ps, " "), c.CommitTime(), strings.Fields(string(c.Author))[0])
		if want := git(t, dir, "log", "-1", "--format=%T|%P|%ct|%an", e.Hash.String()); got != want {
			t.Errorf("commit %s headers = %q, git log says %q", e.Hash, got, want)
		}
		if !strings.HasPrefix(string(c.Message), "change ") {
			t.Errorf("commit %s message = %.20q", e.Hash, c.Message)
		}
	}
	if _, _, err := r.Read(plumbing.NewHash("0123456789012345678901234567890123456789")); !errors.Is(err, ErrNotInPacks) {
		t.Errorf("unknown object: err = %v, want ErrNotInPacks", err)
	}
}

func TestParseCommit(t *testing.T) {
	tree := strings.Repeat("ab", 20)
	parent := strings.Repeat("cd", 20)
	tests := []struct {
		name, data string
		want       string // tree parents time message, or the error
	}{
		{"full", "tree " + tree + "\nparent " + parent + "\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1700000000 +0100\n\nmsg\n", tree + " 1 1700000000 \"msg\\n\""},
		{"root, gpgsig", "tree " + tree + "\ncommitter C <c@x> 5 +0000\ngpgsig -----BEGIN\n \n -----END\n\nm", tree + " 0 5 \"m\""},
		{"no message", "tree " + tree + "\ncommitter C <c@x> 5 +0000", tree + " 0 5 \"\""},
		{"bad tree", "tree 12\n\n", "bad tree line"},
		{"bad parent", "tree " + tree + "\nparent zz\n\n", "bad parent line"},
	}
	for _, tt := range tests {
		var c CommitHeader
		var got string
		if err := ParseCommit([]byte(tt.data), &c); err != nil {
			got = err.Error()
		} else {
			got = fmt.Sprintf("%s %d %d %q", c.Tree, len(c.Parents), c.CommitTime(), c.Message)
		}
		if got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestFindPrefix finds, for prefixes of every length cut from the pack's
// objects (and a few no object has), exactly the objects whose names git
// lists with that prefix, in hash order.
func TestFindPrefix(t *testing.T) {
	dir := newRepo(t)
	git(t, dir, "repack", "-adq")
	packs, err := Open(filepath.Join(dir, ".git", "objects"))
	if err != nil {
		t.Fatal(err)
	}
	defer packs.Close()
	p := packs.Packs()[0]
	var all []string
	for h := range catAll(t, dir) {
		all = append(all, h.String())
	}
	sort.Strings(all)
	prefixes := []string{"00", "ff", "0000000", "fffffff", "1234567890abcdef"}
	for i, h := range all {
		prefixes = append(prefixes, h[:2+i%39], h[:2], h[:3])
	}
	for _, prefix := range prefixes {
		var want []string
		for _, h := range all {
			if strings.HasPrefix(h, prefix) {
				want = append(want, h)
			}
		}
		var got []string
		for _, h := range p.FindPrefix(prefix, len(all)) {
			got = append(got, h.String())
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("FindPrefix(%q) = %v, want %v", prefix, got, want)
		}
		if len(want) > 1 {
			if got := p.FindPrefix(prefix, 1); len(got) != 1 || got[0].String() != want[0] {
				t.Errorf("FindPrefix(%q, 1) = %v, want [%s]", prefix, got, want[0])
			}
		}
	}
}
