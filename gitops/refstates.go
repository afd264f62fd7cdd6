package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/lkg-dev/lkg/gitops/commitindex"
	"github.com/lkg-dev/lkg/types"
)

// branchRef is one ref scanned as a possible source.
type branchRef struct {
	name   string
	remote string
	hash   plumbing.Hash
}

// RefStates answers, for every branch lkg can see, whether it holds the
// good commit (and the bad one), its tip's tree and how far it is ahead.
// Branches are the local ones, the remote-tracking ones and every
// remote's advertised refs/heads/* (teammates' namespaces included, forks
// added with WithRemotes), fetched into refs/lkg/<remote>/ when missing;
// a remote that answered replaces its stale remote-tracking refs.
// Reachability is one pass over the commit table per commit asked about,
// whatever the number of refs. Warnings name remotes that could not be
// reached and a shallow history; they never stop the scan.
func (r *Repo) RefStates(ctx context.Context, good types.Commit, bad *types.Commit) ([]types.RefState, []string, error) {
	d := r.discover(ctx)
	warnings := append([]string(nil), d.warnings...)
	refs, err := r.branchRefs(d)
	if err != nil {
		return nil, warnings, err
	}
	t, err := r.commitTableFor()
	if err != nil {
		return nil, warnings, err
	}
	warnings = append(warnings, r.takeWarnings()...)
	if w := r.shallowWarning(t); w != "" {
		warnings = append(warnings, w)
	}
	gi, ok := t.Find(plumbing.NewHash(good.Hash))
	if !ok {
		return nil, warnings, fmt.Errorf("checking which branches hold %s: %w: not in the commit history", good.Hash, ErrUnknownRef)
	}
	desc := t.Descendants(gi)
	var descBad []bool
	if bad != nil {
		bi, ok := t.Find(plumbing.NewHash(bad.Hash))
		if !ok {
			return nil, warnings, fmt.Errorf("checking which branches hold bad commit %s: %w: not in the commit history", bad.Hash, ErrUnknownRef)
		}
		descBad = t.Descendants(bi)
	}
	goodTree := t.Tree(gi)
	var anc []bool
	var scratch []uint32
	var epoch uint32
	var counter *commitindex.AheadCounter
	out := make([]types.RefState, 0, len(refs))
	unfetched := 0
	for _, br := range refs {
		ti, ok := t.Find(br.hash)
		if !ok {
			unfetched++
			continue
		}
		s := types.RefState{Ref: br.name, Remote: br.remote, Commit: br.hash.String(), Tree: t.Tree(ti).String(), ContainsGood: desc[ti]}
		if descBad != nil {
			s.ContainsBad = descBad[ti]
		}
		switch {
		case s.ContainsGood:
			if counter == nil {
				counter = commitindex.NewAheadCounter(t, gi, desc)
			}
			s.Ahead = counter.Ahead(ti)
		case t.Tree(ti) == goodTree:
			// A copy of the good code on another history: rare, so a
			// plain walk down to the good commit's ancestors is fine.
			if anc == nil {
				anc = t.Ancestors(gi)
				scratch = make([]uint32, t.Len())
			}
			epoch++
			s.Ahead = t.CountExcluding(ti, anc, scratch, epoch)
		}
		out = append(out, s)
	}
	if unfetched > 0 {
		warnings = append(warnings, fmt.Sprintf("%d remote branches were not fetched and are left out", unfetched))
	}
	return out, warnings, nil
}

// branchRefs lists the refs scanned as sources.
func (r *Repo) branchRefs(d *discovery) ([]branchRef, error) {
	listed := map[string]bool{}
	var names []string
	for _, rm := range d.remotes {
		if rm.listed {
			listed[rm.name] = true
		}
		names = append(names, rm.name)
	}
	// Longest remote name first: remote names may hold slashes.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	snap, err := r.diskRefs()
	if err != nil {
		return nil, fmt.Errorf("listing refs: %w", err)
	}
	var out []branchRef
	for _, ref := range snap.list {
		name := ref.name
		switch {
		case strings.HasPrefix(name, "refs/heads/"):
			out = append(out, branchRef{name: name, hash: ref.hash})
		case strings.HasPrefix(name, "refs/remotes/"):
			rest := strings.TrimPrefix(name, "refs/remotes/")
			remote, _, _ := strings.Cut(rest, "/")
			for _, n := range names {
				if strings.HasPrefix(rest, n+"/") {
					remote = n
					break
				}
			}
			if listed[remote] {
				continue // the remote's own answer is fresher
			}
			out = append(out, branchRef{name: name, remote: remote, hash: ref.hash})
		}
	}
	for _, rm := range d.remotes {
		for _, ref := range rm.refs {
			if ref.Type() == plumbing.HashReference && strings.HasPrefix(ref.Name().String(), "refs/heads/") {
				out = append(out, branchRef{name: ref.Name().String(), remote: rm.name, hash: ref.Hash()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].remote != out[j].remote {
			return out[i].remote < out[j].remote
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

// shallowWarning says when ancestry cannot be proven: a shallow clone, or
// parents missing from the object store.
func (r *Repo) shallowWarning(t *commitindex.Table) string {
	if fi, err := os.Stat(filepath.Join(r.gitDir, "shallow")); err == nil && fi.Size() > 0 {
		return "this is a shallow clone: ancestry cannot be proven beyond its oldest commits, so branches may be missed; run git fetch --unshallow"
	}
	if t.MissingParents() > 0 {
		return fmt.Sprintf("%d parent commits are missing from the repository: ancestry cannot be proven past them; run git fetch --unshallow or git fsck", t.MissingParents())
	}
	return ""
}

// SameTree lists the commits whose root tree is tree (40 hex), newest
// first: rebases, cherry-picks and squashes of identical source.
func (r *Repo) SameTree(tree string) ([]types.Commit, error) {
	t, err := r.commitTableFor()
	if err != nil {
		return nil, err
	}
	var out []types.Commit
	for _, i := range t.SameTree(plumbing.NewHash(tree)) {
		out = append(out, t.Commit(i))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, nil
}
