package commitindex

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/lkg-dev/lkg/internal/packfile"
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
		t, err := readCommitGraph(objects)
		switch {
		case err != nil:
			l.warnf("ignoring the commit-graph: %v", err)
		case t != nil:
			t, err := l.completeFromRefs(t)
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
// store. The packs' commits are cached on disk by pack set; a pack set
// that only grew (a fetch added packs) extends the cached table by the new
// packs instead of scanning everything again. Loose commits, few and
// changing with every commit, are scanned afresh and merged in.
func (l *Loader) LoadStore() (*Table, error) {
	objects := filepath.Join(l.GitDir, "objects")
	t, err := l.loadPacks(objects)
	if err != nil {
		l.warnf("fast object scan failed, decoding through go-git: %v", err)
		return l.LoadGoGit()
	}
	var loose Builder
	for _, dir := range packfile.ObjectDirs(objects) {
		if err := scanLoose(dir, &loose); err != nil {
			l.warnf("fast object scan failed, decoding through go-git: %v", err)
			return l.LoadGoGit()
		}
	}
	if len(loose.hashes) == 0 {
		return t, nil
	}
	if t.missingParents > 0 {
		// Loose commits may be the missing parents (a small fetch is
		// unpacked loose), and the table no longer knows which hashes it
		// missed: link everything anew.
		var b Builder
		if err := scanPacks(objects, nil, l.Store, &b); err != nil {
			return nil, err
		}
		b.addBuilder(&loose)
		return b.Build(), nil
	}
	return t.extend(&loose), nil
}

// loadPacks returns the table of the packs' commits: cached for this pack
// set, else a cached table of fewer packs extended by the new ones, else a
// scan of every pack; what it built is cached.
func (l *Loader) loadPacks(objects string) (*Table, error) {
	packs, err := packNames(objects)
	if err != nil || l.CacheDir == "" {
		var b Builder
		if err := scanPacks(objects, nil, l.Store, &b); err != nil {
			return nil, err
		}
		return b.Build(), nil
	}
	path := tableCachePath(l.CacheDir, l.GitDir, packSetKey(packs))
	if t, _, err := readTableCache(path); err == nil {
		return t, nil
	}
	var t *Table
	if old, skip := l.cachedSubset(packs); old != nil {
		var b Builder
		if err := scanPacks(objects, skip, l.Store, &b); err != nil {
			return nil, err
		}
		t = old.extend(&b)
	} else {
		var b Builder
		if err := scanPacks(objects, nil, l.Store, &b); err != nil {
			return nil, err
		}
		t = b.Build()
	}
	if err := writeTableCache(path, packs, t); err != nil {
		l.warnf("caching the commit table: %v", err)
	}
	return t, nil
}

// cachedSubset finds a cached table of this repository built from some of
// packs and nothing else (no pack since removed), with no missing parents
// (a new pack could hold them, and extend cannot link them afterwards).
// It returns the table and its packs, as a set.
func (l *Loader) cachedSubset(packs []string) (*Table, map[string]bool) {
	have := map[string]bool{}
	for _, p := range packs {
		have[p] = true
	}
	for _, path := range repoTableCaches(l.CacheDir, l.GitDir) {
		t, used, err := readTableCache(path)
		if err != nil || t.missingParents > 0 {
			continue
		}
		skip := map[string]bool{}
		for _, p := range used {
			if !have[p] {
				skip = nil
				break
			}
			skip[p] = true
		}
		if skip != nil {
			return t, skip
		}
	}
	return nil, nil
}

// completeFromRefs adds to a graph's table, from the object store, every
// commit reachable from a ref that the graph does not know (commits made
// or fetched after the graph was written).
func (l *Loader) completeFromRefs(t *Table) (*Table, error) {
	if l.Tips == nil {
		return t, nil
	}
	tips, err := l.Tips()
	if err != nil {
		return nil, err
	}
	var b Builder
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
	return t.extend(&b), nil
}
