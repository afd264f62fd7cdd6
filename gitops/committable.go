package gitops

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/lkg-dev/lkg/gitops/commitindex"
)

// loader builds this repository's commit table with its options.
func (r *Repo) loader() *commitindex.Loader {
	l := &commitindex.Loader{
		GitDir:      r.gitDir,
		Store:       r.store,
		Tips:        r.refTipHashes,
		CommitGraph: !r.opts.noGraph,
		Warnf:       r.warnf,
	}
	if !r.opts.noCache {
		l.CacheDir = r.opts.cacheDir
	}
	return l
}

// commitTableFor returns the repository's commit table, building it on
// first use.
func (r *Repo) commitTableFor() (*commitindex.Table, error) {
	r.tableMu.Lock()
	defer r.tableMu.Unlock()
	if r.table != nil {
		return r.table, nil
	}
	t, err := r.loader().Load()
	if err != nil {
		return nil, fmt.Errorf("reading the commit history of %q: %w", r.gitDir, err)
	}
	r.table = t
	return t, nil
}

// storeTableFor returns the complete object-store table, for lookups the
// graph-based table cannot answer.
func (r *Repo) storeTableFor() (*commitindex.Table, error) {
	r.tableMu.Lock()
	defer r.tableMu.Unlock()
	if r.table != nil && !r.table.FromGraph() {
		return r.table, nil
	}
	if r.storeTable != nil {
		return r.storeTable, nil
	}
	t, err := r.loader().LoadStore()
	if err != nil {
		return nil, err
	}
	r.storeTable = t
	return t, nil
}

// invalidateTable drops the table and the refs read after a fetch added
// commits and refs.
func (r *Repo) invalidateTable() {
	r.tableMu.Lock()
	r.table = nil
	r.storeTable = nil
	r.tableMu.Unlock()
	r.dropRefs()
	r.dropPacks()
}

// refTipHashes lists every ref's commit (tags peeled), HEAD included. An
// annotated tag in packed-refs is peeled by its ^ line; only loose tags
// are read from the object store.
func (r *Repo) refTipHashes() ([]plumbing.Hash, error) {
	snap, err := r.diskRefs()
	if err != nil {
		return nil, err
	}
	out := make([]plumbing.Hash, 0, len(snap.list)+1)
	for _, ref := range snap.list {
		h := ref.hash
		switch {
		case !ref.peeled.IsZero():
			h = ref.peeled
		case strings.HasPrefix(ref.name, "refs/tags/"):
			c, err := r.peelCommit(h)
			if err != nil {
				continue
			}
			h = c.Hash
		}
		out = append(out, h)
	}
	if head, err := r.repo.Head(); err == nil {
		out = append(out, head.Hash())
	}
	return out, nil
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
