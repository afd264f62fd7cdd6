package gitops

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/lkg-dev/lkg/gitops/commitindex"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/types"
)

// Resolve names one commit like `git rev-parse REV^{commit}`: a tag
// (annotated tags peeled), a branch, a remote-tracking branch, any full
// ref name, HEAD, a full or abbreviated sha, optionally followed by ~N and
// ^N. A name that is a tag and a branch at different commits gives
// ErrAmbiguousRef rather than git's silent preference: at 3 a.m. a wrong
// guess is worse than a question.
func (r *Repo) Resolve(rev string) (types.Commit, error) {
	c, err := r.resolveCommit(rev)
	if err != nil {
		return types.Commit{}, err
	}
	return commitOf(c), nil
}

func commitOf(c *object.Commit) types.Commit {
	return types.Commit{Hash: c.Hash.String(), Tree: c.TreeHash.String(), Time: c.Committer.When}
}

func (r *Repo) resolveCommit(rev string) (*object.Commit, error) {
	if rev == "" {
		return nil, fmt.Errorf("resolving %q: %w: empty revision", rev, ErrUnknownRef)
	}
	base, ops := rev, ""
	if i := strings.IndexAny(rev, "^~"); i >= 0 {
		base, ops = rev[:i], rev[i:]
	}
	c, err := r.resolveBase(base)
	if err != nil {
		return nil, fmt.Errorf("resolving %q: %w", rev, err)
	}
	for ops != "" {
		op := ops[0]
		ops = ops[1:]
		if op == '^' && strings.HasPrefix(ops, "{") {
			end := strings.IndexByte(ops, '}')
			if end < 0 {
				return nil, fmt.Errorf("resolving %q: %w: unclosed ^{", rev, ErrUnknownRef)
			}
			if kind := ops[1:end]; kind != "" && kind != "commit" {
				return nil, fmt.Errorf("resolving %q: %w: only ^{commit} is supported", rev, ErrUnknownRef)
			}
			ops = ops[end+1:]
			continue
		}
		j := 0
		for j < len(ops) && ops[j] >= '0' && ops[j] <= '9' {
			j++
		}
		n := 1
		if j > 0 {
			n, _ = strconv.Atoi(ops[:j])
		}
		ops = ops[j:]
		switch op {
		case '~':
			for k := 0; k < n; k++ {
				if c, err = firstParent(c, 1); err != nil {
					return nil, fmt.Errorf("resolving %q: %w", rev, err)
				}
			}
		case '^':
			if n == 0 {
				continue
			}
			if c, err = firstParent(c, n); err != nil {
				return nil, fmt.Errorf("resolving %q: %w", rev, err)
			}
		}
	}
	return c, nil
}

func firstParent(c *object.Commit, n int) (*object.Commit, error) {
	if n > c.NumParents() {
		return nil, fmt.Errorf("%w: commit %s has no parent %d", ErrUnknownRef, c.Hash, n)
	}
	p, err := c.Parent(n - 1)
	if err != nil {
		return nil, fmt.Errorf("%w: reading parent %d of %s: %w", ErrUnknownRef, n, c.Hash, err)
	}
	return p, nil
}

// resolveBase resolves a name or sha without ~/^ operators.
func (r *Repo) resolveBase(base string) (*object.Commit, error) {
	if base == "HEAD" || base == "@" {
		ref, err := r.repo.Head()
		if err != nil {
			return nil, fmt.Errorf("%w: HEAD: %w", ErrUnknownRef, err)
		}
		return r.peelCommit(ref.Hash())
	}
	if len(base) == 40 && isHex(base) {
		return r.peelCommit(plumbing.NewHash(base))
	}
	// The ref names git tries for a short name, in its order.
	candidates := []string{base, "refs/" + base, "refs/tags/" + base, "refs/heads/" + base,
		"refs/remotes/" + base, "refs/remotes/" + base + "/HEAD"}
	var found *object.Commit
	var foundRef string
	for _, name := range candidates {
		if name == base && !strings.HasPrefix(base, "refs/") && !strings.HasSuffix(base, "HEAD") {
			continue // outside refs/, only FETCH_HEAD, ORIG_HEAD and the like are refs
		}
		ref, err := r.repo.Reference(plumbing.ReferenceName(name), true)
		if err != nil {
			continue
		}
		c, err := r.peelCommit(ref.Hash())
		if err != nil {
			continue
		}
		if found != nil && found.Hash != c.Hash {
			return nil, fmt.Errorf("%w: %s is %s but %s is %s; name the full ref", ErrAmbiguousRef,
				foundRef, text.ShortHash(found.Hash.String()), name, text.ShortHash(c.Hash.String()))
		}
		if found == nil {
			found, foundRef = c, name
		}
	}
	if found != nil {
		return found, nil
	}
	if len(base) >= 4 && isHex(base) {
		t, err := r.commitTableFor()
		if err != nil {
			return nil, err
		}
		m := r.matchPrefix(t, strings.ToLower(base))
		switch len(m) {
		case 0:
		case 1:
			return r.peelCommit(m[0])
		default:
			return nil, fmt.Errorf("%w: short sha matches %d commits; give more digits", ErrAmbiguousRef, len(m))
		}
	}
	return nil, ErrUnknownRef
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// peelCommit follows tag objects to the commit they name.
func (r *Repo) peelCommit(h plumbing.Hash) (*object.Commit, error) {
	c, _, err := r.peel(h)
	return c, err
}

// peel also returns the outermost tag object, if any, for its tagger date.
func (r *Repo) peel(h plumbing.Hash) (*object.Commit, *object.Tag, error) {
	var outer *object.Tag
	for depth := 0; depth < 16; depth++ {
		o, err := r.repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: object %s: %w", ErrUnknownRef, h, err)
		}
		switch o := o.(type) {
		case *object.Commit:
			return o, outer, nil
		case *object.Tag:
			if outer == nil {
				outer = o
			}
			h = o.Target
		default:
			return nil, nil, fmt.Errorf("%w: %s is a %s, not a commit", ErrUnknownRef, h, o.Type())
		}
	}
	return nil, nil, fmt.Errorf("%w: tag chain at %s too deep", ErrUnknownRef, h)
}

// Tags lists the tags whose names match any of globs (path.Match syntax:
// '*' does not cross '/'), newest first by tagger date, else commit date.
// No globs means every tag. Tags of trees or blobs are skipped.
func (r *Repo) Tags(globs []string) ([]Tag, error) {
	for _, g := range globs {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("matching tags with %q: %w: %w", g, ErrBadGlob, err)
		}
	}
	iter, err := r.repo.Tags()
	if err != nil {
		return nil, fmt.Errorf("listing tags: %w", err)
	}
	var out []Tag
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		name := strings.TrimPrefix(ref.Name().String(), "refs/tags/")
		if !matchAny(globs, name) {
			return nil
		}
		c, tag, err := r.peel(ref.Hash())
		if err != nil {
			return nil
		}
		t := Tag{Name: name, Commit: commitOf(c), Time: c.Committer.When}
		if tag != nil && !tag.Tagger.When.IsZero() {
			t.Time = tag.Tagger.When
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing tags: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		if !out[i].Commit.Time.Equal(out[j].Commit.Time) {
			return out[i].Commit.Time.After(out[j].Commit.Time)
		}
		return out[i].Name > out[j].Name
	})
	return out, nil
}

func matchAny(globs []string, name string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// IsAncestor says whether ancestor is reachable from of, or is of, like
// `git merge-base --is-ancestor`.
func (r *Repo) IsAncestor(ancestor, of string) (bool, error) {
	a, err := r.Resolve(ancestor)
	if err != nil {
		return false, err
	}
	b, err := r.Resolve(of)
	if err != nil {
		return false, err
	}
	t, err := r.commitTableFor()
	if err != nil {
		return false, err
	}
	ia, ok1 := t.Find(plumbing.NewHash(a.Hash))
	ib, ok2 := t.Find(plumbing.NewHash(b.Hash))
	if !ok1 || !ok2 {
		return false, fmt.Errorf("checking %q is an ancestor of %q: commit missing from the history table", ancestor, of)
	}
	return t.IsAncestor(ia, ib), nil
}

// Lookup resolves build revisions: full or abbreviated (at least 7) hex.
// It answers from the commit table with one binary search each, so
// thousands of revisions cost milliseconds. Revisions the repository lacks
// are looked for on the remotes, pull-request refs included, and fetched
// into refs/lkg/<remote>/... (not with WithNoFetch). Each revision that
// stays unresolved has an error wrapping ErrUnknownRevision or
// ErrAmbiguousRevision.
func (r *Repo) Lookup(ctx context.Context, revs []string) (map[string]types.Commit, map[string]error) {
	found := map[string]types.Commit{}
	errs := map[string]error{}
	t, err := r.commitTableFor()
	if err != nil {
		for _, rev := range revs {
			errs[rev] = fmt.Errorf("looking up %q: %w: %w", rev, types.ErrUnknownRevision, err)
		}
		return found, errs
	}
	var missing []string
	for _, rev := range revs {
		if _, done := found[rev]; done {
			continue
		}
		c, err := r.lookupOne(t, rev)
		switch {
		case err == nil:
			found[rev] = c
		case errors.Is(err, types.ErrUnknownRevision) && isHex(rev) && len(rev) >= 7 && len(rev) <= 40:
			missing = append(missing, rev)
		default:
			errs[rev] = err
		}
	}
	if len(missing) > 0 && !r.opts.noFetch {
		if r.fetchRevisions(ctx, missing) {
			if t, err = r.commitTableFor(); err == nil {
				for _, rev := range missing {
					if c, err := r.lookupOne(t, rev); err == nil {
						found[rev] = c
					}
				}
			}
		}
	}
	for _, rev := range missing {
		if _, ok := found[rev]; !ok {
			where := "in the repository"
			if r.opts.noFetch {
				where += " (remotes not consulted: --no-fetch)"
			} else {
				where += " or on its remotes"
			}
			errs[rev] = fmt.Errorf("looking up %q: %w %s", rev, types.ErrUnknownRevision, where)
		}
	}
	return found, errs
}

func (r *Repo) lookupOne(t *commitindex.Table, rev string) (types.Commit, error) {
	lrev := strings.ToLower(rev)
	if len(lrev) < 7 || len(lrev) > 40 || !isHex(lrev) {
		return types.Commit{}, fmt.Errorf("looking up %q: %w: not a 7 to 40 digit hex revision", rev, types.ErrUnknownRevision)
	}
	m := r.matchPrefix(t, lrev)
	switch len(m) {
	case 0:
		return types.Commit{}, fmt.Errorf("looking up %q: %w", rev, types.ErrUnknownRevision)
	case 1:
		i, ok := t.Find(m[0])
		if ok {
			return t.Commit(i), nil
		}
		c, err := r.peelCommit(m[0])
		if err != nil {
			return types.Commit{}, fmt.Errorf("looking up %q: %w: %w", rev, types.ErrUnknownRevision, err)
		}
		return commitOf(c), nil
	default:
		return types.Commit{}, fmt.Errorf("looking up %q: %w: it matches %d commits", rev, types.ErrAmbiguousRevision, len(m))
	}
}

// matchPrefix lists the commits whose hash starts with the lowercase hex
// prefix: from the table, and, when the table may be incomplete, from the
// object store's indexes too.
func (r *Repo) matchPrefix(t *commitindex.Table, prefix string) []plumbing.Hash {
	var out []plumbing.Hash
	for _, i := range t.FindPrefix(prefix, 2) {
		out = append(out, t.Hash(i))
	}
	if len(out) == 0 && t.FromGraph() {
		if st, err := r.storeTableFor(); err == nil {
			for _, i := range st.FindPrefix(prefix, 2) {
				out = append(out, st.Hash(i))
			}
		}
	}
	return out
}
