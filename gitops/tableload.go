package gitops

import (
	"errors"
	"fmt"
	"io"

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

// invalidateTable drops the table after a fetch added commits.
func (r *Repo) invalidateTable() {
	r.tableMu.Lock()
	r.table = nil
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

// loadCommitTable picks the fastest correct source for the table.
func (r *Repo) loadCommitTable() (*commitTable, error) {
	return r.loadCommitTableGoGit()
}
