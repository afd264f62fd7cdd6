package gitops

import (
	"bufio"
	"compress/zlib"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/lkg-dev/lkg/internal/packfile"
)

// readObject reads one object for resolving refs and tags. A packed object
// is found by a binary search of the .idx files and inflated on its own
// through internal/packfile: go-git's reader builds an offset-to-hash map
// of every object in the pack the first time it meets an offset delta
// (MemoryIndex.FindHash), which at millions of objects was most of a warm
// run and most of its memory, to read one tag. Loose objects, and packs
// internal/packfile cannot read, go through go-git.
func (r *Repo) readObject(h plumbing.Hash) (object.Object, error) {
	r.packsMu.Lock()
	r.openPacks()
	typ, data, err := r.packReader.Read(h)
	var o *plumbing.MemoryObject
	if err == nil {
		o = &plumbing.MemoryObject{}
		o.SetType(plumbing.ObjectType(typ))
		_, err = o.Write(data) // a copy: data is the reader's scratch buffer
	}
	r.packsMu.Unlock()
	if err != nil {
		return r.repo.Object(plumbing.AnyObject, h)
	}
	return object.DecodeObject(r.store, o)
}

// openPacks maps the packs of the repository and its alternates, once;
// r.packsMu is held. A pack that does not open is read through go-git, and
// noted in r.packsErr.
func (r *Repo) openPacks() {
	if r.packs == nil {
		r.packs, r.packsErr = packfile.Open(packfile.ObjectDirs(filepath.Join(r.gitDir, "objects"))...)
		r.packReader = r.packs.Reader()
	}
}

// dropPacks unmaps the packs: a fetch added one.
func (r *Repo) dropPacks() {
	r.packsMu.Lock()
	defer r.packsMu.Unlock()
	if r.packs != nil {
		r.packs.Close()
		r.packs, r.packReader, r.packsErr = nil, nil, nil
	}
}

// storeCommits lists up to limit commits of the object store (packs and
// loose objects, alternates included) whose hash starts with the
// lowercase hex prefix (at least 2 digits), through the packs' .idx files
// and the one loose-object directory the prefix names: what a table of the
// whole store would answer, without building one. ok is false when a pack
// could not be mapped, and the answer could be incomplete.
func (r *Repo) storeCommits(prefix string, limit int) (_ []plumbing.Hash, ok bool) {
	if len(prefix) < 2 {
		return nil, false
	}
	seen := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	r.packsMu.Lock()
	r.openPacks()
	if r.packsErr != nil {
		r.packsMu.Unlock()
		return nil, false
	}
	for _, p := range r.packs.Packs() {
		// Every object with the prefix, commit or not: a blob sharing
		// it must not hide a commit behind it.
		for _, h := range p.FindPrefix(prefix, 64) {
			if seen[h] {
				continue
			}
			if typ, _, err := r.packReader.Read(h); err == nil && typ == packfile.TypeCommit {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	r.packsMu.Unlock()
	for _, dir := range packfile.ObjectDirs(filepath.Join(r.gitDir, "objects")) {
		ents, _ := os.ReadDir(filepath.Join(dir, prefix[:2]))
		for _, e := range ents {
			name := e.Name()
			if len(name) != 38 || !strings.HasPrefix(name, prefix[2:]) {
				continue
			}
			h := plumbing.NewHash(prefix[:2] + name)
			if !seen[h] && isLooseCommit(filepath.Join(dir, prefix[:2], name)) {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, true
}

// isLooseCommit says whether the loose object at path is a commit, from
// the type that starts its inflated content.
func isLooseCommit(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	zr, err := zlib.NewReader(bufio.NewReader(f))
	if err != nil {
		return false
	}
	defer zr.Close()
	head := make([]byte, len("commit "))
	_, err = io.ReadFull(zr, head)
	return err == nil && string(head) == "commit "
}
