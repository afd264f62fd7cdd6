package commitindex

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Loader builds one repository's commit table.
type Loader struct {
	// GitDir is the repository's git directory (its objects are in
	// GitDir/objects).
	GitDir string
	// Store is go-git's view of the same object store: the slow, always
	// correct path, and the reader of commits the commit-graph lacks.
	Store *filesystem.Storage
	// Tips lists every ref's commit (tags peeled), HEAD included: where
	// to complete a commit-graph from. Needed only with CommitGraph.
	Tips func() ([]plumbing.Hash, error)
	// CacheDir holds tables built from the object store, keyed by pack
	// set. Empty: no cache.
	CacheDir string
	// CommitGraph says whether git's commit-graph file may be used.
	CommitGraph bool
	// Warnf records a note for the caller (a corrupt graph, a failed fast
	// scan); nil drops them.
	Warnf func(format string, args ...any)
}

func (l *Loader) warnf(format string, args ...any) {
	if l.Warnf != nil {
		l.Warnf(format, args...)
	}
}

// LoadGoGit builds the table by decoding every commit object
// through go-git: the slow, always-correct path.
func (l *Loader) LoadGoGit() (*Table, error) {
	iter, err := l.Store.IterEncodedObjects(plumbing.CommitObject)
	if err != nil {
		return nil, err
	}
	defer iter.Close()
	var b Builder
	for {
		o, err := iter.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		c, err := object.DecodeCommit(l.Store, o)
		if err != nil {
			return nil, fmt.Errorf("decoding commit %s: %w", o.Hash(), err)
		}
		b.Add(c.Hash, c.TreeHash, c.Committer.When.Unix(), c.ParentHashes)
	}
	return b.Build(), nil
}

// Load picks the fastest correct source for the table: git's
// commit-graph (completed from the object store for commits written after
// it), else lkg's cached table for this exact pack set, else a scan of the
// object store, which is then cached.
func (l *Loader) Load() (*Table, error) {
	objects := filepath.Join(l.GitDir, "objects")
	if l.CommitGraph {
		var b Builder
		ok, err := readCommitGraph(objects, &b)
		switch {
		case err != nil:
			l.warnf("ignoring the commit-graph: %v", err)
		case ok:
			t, err := l.completeFromRefs(&b)
			if err == nil {
				t.fromGraph = true
				return t, nil
			}
			l.warnf("ignoring the commit-graph: %v", err)
		}
	}
	return l.LoadStore()
}

// LoadStore is the complete table of every commit in the object
// store, cached on disk by pack set.
func (l *Loader) LoadStore() (*Table, error) {
	objects := filepath.Join(l.GitDir, "objects")
	key, keyErr := objectStoreKey(objects)
	path := ""
	if keyErr == nil && l.CacheDir != "" {
		path = tableCachePath(l.CacheDir, l.GitDir, key)
		if t, err := readTableCache(path); err == nil {
			return t, nil
		}
	}
	var b Builder
	if err := scanObjectStore(objects, l.Store, &b); err != nil {
		l.warnf("fast object scan failed, decoding through go-git: %v", err)
		return l.LoadGoGit()
	}
	t := b.Build()
	if path != "" {
		if err := writeTableCache(path, t); err != nil {
			l.warnf("caching the commit table: %v", err)
		}
	}
	return t, nil
}

// completeFromRefs builds the table from a graph's commits and adds, from
// the object store, every commit reachable from a ref that the graph does
// not know (commits made or fetched after the graph was written). A graph
// parent missing from both is an error: the graph is not to be trusted.
func (l *Loader) completeFromRefs(b *Builder) (*Table, error) {
	t := b.Build()
	if t.missingParents > 0 {
		return nil, fmt.Errorf("%w: %d parent links point outside it", errGraphCorrupt, t.missingParents)
	}
	if l.Tips == nil {
		return t, nil
	}
	tips, err := l.Tips()
	if err != nil {
		return nil, err
	}
	added := map[plumbing.Hash]bool{}
	var stack []plumbing.Hash
	for _, h := range tips {
		if _, ok := t.Find(h); !ok {
			stack = append(stack, h)
		}
	}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if added[h] {
			continue
		}
		if _, ok := t.Find(h); ok {
			continue
		}
		c, err := object.GetCommit(l.Store, h)
		if err != nil {
			// Shallow boundary or a missing object: a missing parent.
			continue
		}
		added[h] = true
		b.Add(c.Hash, c.TreeHash, c.Committer.When.Unix(), c.ParentHashes)
		stack = append(stack, c.ParentHashes...)
	}
	if len(added) == 0 {
		return t, nil
	}
	b.pstart = b.pstart[:len(b.pstart)-1] // Build appended a sentinel
	return b.Build(), nil
}
