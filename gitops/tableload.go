package gitops

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// commitTableFor returns the repository's commit table, building it on
// first use.
func (r *Repo) commitTableFor() (*commitTable, error) {
	r.tableMu.Lock()
	defer r.tableMu.Unlock()
	if r.table != nil {
		return r.table, nil
	}
	t, err := r.loadCommitTable()
	if err != nil {
		return nil, fmt.Errorf("reading the commit history of %q: %w", r.gitDir, err)
	}
	r.table = t
	return t, nil
}

// storeTableFor returns the complete object-store table, for lookups the
// graph-based table cannot answer.
func (r *Repo) storeTableFor() (*commitTable, error) {
	r.tableMu.Lock()
	defer r.tableMu.Unlock()
	if r.table != nil && !r.table.fromGraph {
		return r.table, nil
	}
	if r.storeTable != nil {
		return r.storeTable, nil
	}
	t, err := r.loadStoreTable()
	if err != nil {
		return nil, err
	}
	r.storeTable = t
	return t, nil
}

// invalidateTable drops the table after a fetch added commits.
func (r *Repo) invalidateTable() {
	r.tableMu.Lock()
	r.table = nil
	r.storeTable = nil
	r.tableMu.Unlock()
}

// loadCommitTableGoGit builds the table by decoding every commit object
// through go-git: the slow, always-correct path.
func (r *Repo) loadCommitTableGoGit() (*commitTable, error) {
	iter, err := r.store.IterEncodedObjects(plumbing.CommitObject)
	if err != nil {
		return nil, err
	}
	defer iter.Close()
	var b tableBuilder
	for {
		o, err := iter.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		c, err := object.DecodeCommit(r.store, o)
		if err != nil {
			return nil, fmt.Errorf("decoding commit %s: %w", o.Hash(), err)
		}
		b.add(c.Hash, c.TreeHash, c.Committer.When.Unix(), c.ParentHashes)
	}
	return b.build(), nil
}

// loadCommitTable picks the fastest correct source for the table: git's
// commit-graph (completed from the object store for commits written after
// it), else lkg's cached table for this exact pack set, else a scan of the
// object store, which is then cached.
func (r *Repo) loadCommitTable() (*commitTable, error) {
	objects := filepath.Join(r.gitDir, "objects")
	if !r.opts.noGraph {
		var b tableBuilder
		ok, err := readCommitGraph(objects, &b)
		switch {
		case err != nil:
			r.warnf("ignoring the commit-graph: %v", err)
		case ok:
			t, err := r.completeFromRefs(&b)
			if err == nil {
				t.fromGraph = true
				return t, nil
			}
			r.warnf("ignoring the commit-graph: %v", err)
		}
	}
	return r.loadStoreTable()
}

// loadStoreTable is the complete table of every commit in the object
// store, cached on disk by pack set.
func (r *Repo) loadStoreTable() (*commitTable, error) {
	objects := filepath.Join(r.gitDir, "objects")
	key, keyErr := objectStoreKey(objects)
	path := ""
	if keyErr == nil && !r.opts.noCache && r.opts.cacheDir != "" {
		path = tableCachePath(r.opts.cacheDir, r.gitDir, key)
		if t, err := readTableCache(path); err == nil {
			return t, nil
		}
	}
	var b tableBuilder
	if err := scanObjectStore(objects, r.store, &b); err != nil {
		r.warnf("fast object scan failed, decoding through go-git: %v", err)
		return r.loadCommitTableGoGit()
	}
	t := b.build()
	if path != "" {
		if err := writeTableCache(path, t); err != nil {
			r.warnf("caching the commit table: %v", err)
		}
	}
	return t, nil
}

// completeFromRefs builds the table from a graph's commits and adds, from
// the object store, every commit reachable from a ref that the graph does
// not know (commits made or fetched after the graph was written). A graph
// parent missing from both is an error: the graph is not to be trusted.
func (r *Repo) completeFromRefs(b *tableBuilder) (*commitTable, error) {
	t := b.build()
	if t.missingParents > 0 {
		return nil, fmt.Errorf("%w: %d parent links point outside it", errGraphCorrupt, t.missingParents)
	}
	tips, err := r.refTipHashes()
	if err != nil {
		return nil, err
	}
	added := map[plumbing.Hash]bool{}
	var stack []plumbing.Hash
	for _, h := range tips {
		if _, ok := t.find(h); !ok {
			stack = append(stack, h)
		}
	}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if added[h] {
			continue
		}
		if _, ok := t.find(h); ok {
			continue
		}
		c, err := object.GetCommit(r.store, h)
		if err != nil {
			// Shallow boundary or a missing object: a missing parent.
			continue
		}
		added[h] = true
		b.add(c.Hash, c.TreeHash, c.Committer.When.Unix(), c.ParentHashes)
		stack = append(stack, c.ParentHashes...)
	}
	if len(added) == 0 {
		return t, nil
	}
	b.pstart = b.pstart[:len(b.pstart)-1] // build appended a sentinel
	return b.build(), nil
}

// refTipHashes lists every ref's commit (tags peeled), HEAD included.
func (r *Repo) refTipHashes() ([]plumbing.Hash, error) {
	iter, err := r.repo.References()
	if err != nil {
		return nil, err
	}
	var out []plumbing.Hash
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference {
			return nil
		}
		h := ref.Hash()
		if strings.HasPrefix(ref.Name().String(), "refs/tags/") {
			if c, err := r.peelCommit(h); err == nil {
				h = c.Hash
			} else {
				return nil
			}
		}
		out = append(out, h)
		return nil
	})
	if head, err := r.repo.Head(); err == nil {
		out = append(out, head.Hash())
	}
	return out, err
}

// warnf records a note for the caller (RefStates returns them); it never
// prints.
func (r *Repo) warnf(format string, args ...any) {
	r.warnMu.Lock()
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
	r.warnMu.Unlock()
}

// takeWarnings returns and clears the notes gathered so far.
func (r *Repo) takeWarnings() []string {
	r.warnMu.Lock()
	defer r.warnMu.Unlock()
	w := r.warnings
	r.warnings = nil
	return w
}
