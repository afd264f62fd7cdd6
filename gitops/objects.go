package gitops

import (
	"path/filepath"

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
	if r.packs == nil {
		// A pack that does not open is read through go-git.
		r.packs, _ = packfile.Open(filepath.Join(r.gitDir, "objects"))
		r.packReader = r.packs.Reader()
	}
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

// dropPacks unmaps the packs: a fetch added one.
func (r *Repo) dropPacks() {
	r.packsMu.Lock()
	defer r.packsMu.Unlock()
	if r.packs != nil {
		r.packs.Close()
		r.packs, r.packReader = nil, nil
	}
}
