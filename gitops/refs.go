package gitops

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/text"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/lkg-dev/lkg/gitops/commitindex"
)

// lkgRefs is the private namespace fetched revisions land in. Nothing
// outside it is ever written; `lkg clean` removes it.
const lkgRefs = "refs/lkg/"

// diskRef is one ref as stored: its target and, for an annotated tag in
// packed-refs, the commit it peels to.
type diskRef struct {
	name   string
	hash   plumbing.Hash
	peeled plumbing.Hash // zero when unknown
}

// readRefs lists every ref under refs/ the way git reads them: packed-refs
// first, then the loose files, which win. It reads packed-refs in one go
// and walks refs/ once with os.ReadDir; go-git's reader opens every loose
// ref through its chroot filesystem, which costs seconds at tens of
// thousands of refs. Symbolic refs (refs/remotes/origin/HEAD) are skipped:
// they repeat a ref that is listed anyway.
func readRefs(gitDir string) ([]diskRef, error) {
	refs, _, err := readRefsSymbolic(gitDir)
	return refs, err
}

// readRefsSymbolic is readRefs that also returns the loose symbolic refs
// under refs/, by name, with the names they point to.
func readRefsSymbolic(gitDir string) ([]diskRef, map[string]string, error) {
	symbolic := map[string]string{}
	byName := map[string]int{}
	var out []diskRef
	packed, err := os.ReadFile(filepath.Join(gitDir, "packed-refs"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("reading packed-refs: %w", err)
	}
	for line := range bytes.Lines(packed) {
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0 || line[0] == '#':
		case line[0] == '^':
			if len(out) > 0 && len(line) >= 41 {
				out[len(out)-1].peeled = plumbing.NewHash(string(line[1:41]))
			}
		case len(line) > 41 && line[40] == ' ':
			name := string(line[41:])
			byName[name] = len(out)
			out = append(out, diskRef{name: name, hash: plumbing.NewHash(string(line[:40]))})
		}
	}
	var walk func(dir, prefix string) error
	walk = func(dir, prefix string) error {
		ents, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		for _, e := range ents {
			name := prefix + e.Name()
			p := filepath.Join(dir, e.Name())
			if e.IsDir() {
				if err := walk(p, name+"/"); err != nil {
					return err
				}
				continue
			}
			if strings.HasSuffix(name, ".lock") {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				continue // raced with a writer; packed-refs has it or it is gone
			}
			b = bytes.TrimSpace(b)
			if target, ok := bytes.CutPrefix(b, []byte("ref: ")); ok {
				symbolic[name] = string(bytes.TrimSpace(target))
				continue
			}
			if len(b) != 40 || !text.IsHex(string(b)) {
				continue // junk git would not read either
			}
			ref := diskRef{name: name, hash: plumbing.NewHash(string(b))}
			if i, ok := byName[name]; ok {
				out[i] = ref
				continue
			}
			byName[name] = len(out)
			out = append(out, ref)
		}
		return nil
	}
	if err := walk(filepath.Join(gitDir, "refs"), "refs/"); err != nil {
		return nil, nil, fmt.Errorf("reading refs: %w", err)
	}
	return out, symbolic, nil
}

// refSnapshot is the repository's refs as read once by readRefs, until a
// fetch changes them.
type refSnapshot struct {
	list     []diskRef
	byName   map[string]int
	symbolic map[string]string // loose symbolic refs: name -> target
}

// diskRefs returns the refs, read on first use and after each fetch.
func (r *Repo) diskRefs() (*refSnapshot, error) {
	r.refsMu.Lock()
	defer r.refsMu.Unlock()
	if r.refs != nil {
		return r.refs, nil
	}
	list, symbolic, err := readRefsSymbolic(r.gitDir)
	if err != nil {
		return nil, err
	}
	snap := &refSnapshot{list: list, byName: make(map[string]int, len(list)), symbolic: symbolic}
	for i, ref := range list {
		snap.byName[ref.name] = i
	}
	r.refs = snap
	return snap, nil
}

// dropRefs forgets the refs read so far: a fetch wrote some.
func (r *Repo) dropRefs() {
	r.refsMu.Lock()
	r.refs = nil
	r.refsMu.Unlock()
}

// packLKGRefs moves every loose ref under refs/lkg/ into packed-refs, the
// way `git pack-refs` would for that namespace only: a fetch of a few
// revisions leaves a few packed lines, not a directory tree of files. The
// user's own refs are copied through unchanged. packed-refs.lock is taken
// as git takes it, so a concurrent git command fails cleanly rather than
// losing a ref.
func packLKGRefs(gitDir string) error {
	loose := map[string]plumbing.Hash{}
	root := filepath.Join(gitDir, "refs", "lkg")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".lock") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b = bytes.TrimSpace(b)
		if len(b) == 40 && text.IsHex(string(b)) {
			rel, _ := filepath.Rel(gitDir, p)
			loose[filepath.ToSlash(rel)] = plumbing.NewHash(string(b))
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(loose) == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("packing refs/lkg: %w", err)
	}
	return rewritePacked(gitDir, func(name string) bool { return false }, loose, func() {
		for name := range loose {
			os.Remove(filepath.Join(gitDir, filepath.FromSlash(name)))
		}
		removeEmptyDirs(root)
	})
}

// rewritePacked rewrites packed-refs without the refs drop says to drop,
// with add merged in, keeping the sorted order git expects; after is run
// while the lock is still held.
func rewritePacked(gitDir string, drop func(string) bool, add map[string]plumbing.Hash, after func()) error {
	path := filepath.Join(gitDir, "packed-refs")
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("locking packed-refs: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			lock.Close()
			os.Remove(path + ".lock")
		}
	}()
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading packed-refs: %w", err)
	}
	type entry struct {
		name  string
		lines []byte // the ref line and its peeled line, as written
	}
	header := []byte("# pack-refs with: peeled fully-peeled sorted \n")
	var entries []entry
	for line := range bytes.Lines(old) {
		switch {
		case bytes.HasPrefix(line, []byte("#")):
			header = line
		case bytes.HasPrefix(line, []byte("^")):
			if len(entries) > 0 {
				entries[len(entries)-1].lines = append(entries[len(entries)-1].lines, line...)
			}
		case len(line) > 41:
			name := strings.TrimRight(string(line[41:]), "\r\n")
			entries = append(entries, entry{name: name, lines: append([]byte(nil), line...)})
		}
	}
	if len(old) == 0 && len(add) == 0 {
		if after != nil {
			after() // nothing packed, nothing to pack: no file to write
		}
		return nil
	}
	kept := entries[:0]
	for _, e := range entries {
		if _, replaced := add[e.name]; replaced || drop(e.name) {
			continue
		}
		kept = append(kept, e)
	}
	for name, h := range add {
		kept = append(kept, entry{name: name, lines: []byte(h.String() + " " + name + "\n")})
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].name < kept[j].name })
	w := bufio.NewWriter(lock)
	w.Write(header)
	for _, e := range kept {
		w.Write(e.lines)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing packed-refs: %w", err)
	}
	if err := lock.Close(); err != nil {
		return fmt.Errorf("writing packed-refs: %w", err)
	}
	if err := os.Rename(path+".lock", path); err != nil {
		return fmt.Errorf("writing packed-refs: %w", err)
	}
	committed = true
	if after != nil {
		after()
	}
	return nil
}

// removeEmptyDirs removes dir and the empty directories below it.
func removeEmptyDirs(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() {
			removeEmptyDirs(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir) // fails, as it should, when something is left
}

// Clean removes what lkg left in the repository and its cache: every ref
// under refs/lkg/ (loose and packed), the objects lkg fetched by id into its
// own scratch repository, and the cached commit tables of this repository.
// Objects fetched into the repository itself stay until git gc prunes them,
// as after any deleted branch. It reports how many refs it removed.
func (r *Repo) Clean() (int, error) {
	refs, err := readRefs(r.gitDir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ref := range refs {
		if strings.HasPrefix(ref.name, lkgRefs) {
			n++
		}
	}
	if err := rewritePacked(r.gitDir, func(name string) bool { return strings.HasPrefix(name, lkgRefs) }, nil, func() {
		os.RemoveAll(filepath.Join(r.gitDir, "refs", "lkg"))
	}); err != nil {
		return 0, fmt.Errorf("removing refs/lkg: %w", err)
	}
	if err := os.RemoveAll(r.scratchDir()); err != nil {
		return n, fmt.Errorf("removing lkg's fetched objects: %w", err)
	}
	if err := commitindex.RemoveCaches(r.opts.cacheDir, r.gitDir); err != nil {
		return n, fmt.Errorf("removing cached commit tables: %w", err)
	}
	return n, nil
}
