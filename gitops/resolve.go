package gitops

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

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
	parsed, err := parseRevision(rev)
	if err != nil {
		return nil, fmt.Errorf("resolving %q: %w", rev, err)
	}
	c, err := r.resolveBase(parsed.base, parsed.kind)
	if err != nil {
		return nil, fmt.Errorf("resolving %q: %w", rev, err)
	}
	for _, op := range parsed.ops {
		switch {
		case op.op == '~':
			for k := 0; k < op.n; k++ {
				if c, err = r.firstParent(c, 1); err != nil {
					return nil, fmt.Errorf("resolving %q: %w", rev, err)
				}
			}
		case op.n > 0:
			if c, err = r.firstParent(c, op.n); err != nil {
				return nil, fmt.Errorf("resolving %q: %w", rev, err)
			}
		}
	}
	return c, nil
}

func (r *Repo) firstParent(c *object.Commit, n int) (*object.Commit, error) {
	if n > c.NumParents() {
		return nil, fmt.Errorf("%w: commit %s has no parent %d", ErrUnknownRef, c.Hash, n)
	}
	p, err := r.peelCommit(c.ParentHashes[n-1])
	if err != nil {
		return nil, fmt.Errorf("%w: reading parent %d of %s: %w", ErrUnknownRef, n, c.Hash, err)
	}
	return p, nil
}

// refHash is the target of a ref by its full name, symbolic refs
// followed. Names under refs/ come from the refs read once (a lookup in
// them, against go-git's scan of packed-refs per name, which at 100,000
// refs was a tenth of a second for each of the six names git tries);
// FETCH_HEAD and the like from go-git.
func (r *Repo) refHash(name string) (plumbing.Hash, bool) {
	if !strings.HasPrefix(name, "refs/") {
		ref, err := r.repo.Reference(plumbing.ReferenceName(name), true)
		if err != nil {
			return plumbing.ZeroHash, false
		}
		return ref.Hash(), true
	}
	snap, err := r.diskRefs()
	if err != nil {
		ref, err := r.repo.Reference(plumbing.ReferenceName(name), true)
		if err != nil {
			return plumbing.ZeroHash, false
		}
		return ref.Hash(), true
	}
	for range 5 { // git follows at most five levels of symbolic refs
		if i, ok := snap.byName[name]; ok {
			return snap.list[i].hash, true
		}
		target, ok := snap.symbolic[name]
		if !ok {
			return plumbing.ZeroHash, false
		}
		name = target
	}
	return plumbing.ZeroHash, false
}

// resolveBase resolves a name or sha without ~/^ operators; kind is its
// shape, from parseRevision.
func (r *Repo) resolveBase(base string, kind revKind) (*object.Commit, error) {
	if base == "HEAD" || base == "@" {
		ref, err := r.repo.Head()
		if err != nil {
			return nil, fmt.Errorf("%w: HEAD: %w", ErrUnknownRef, err)
		}
		return r.peelCommit(ref.Hash())
	}
	switch kind {
	case revFull:
		return r.peelCommit(plumbing.NewHash(base))
	case revDigest:
		if strings.Contains(base, ":") {
			return nil, ErrImageDigest // no ref name holds a colon
		}
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
		h, ok := r.refHash(name)
		if !ok {
			continue
		}
		c, err := r.peelCommit(h)
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
	switch kind {
	case revDigest:
		return nil, ErrImageDigest
	case revTooLong:
		return nil, tooLongError(base)
	case revShort:
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

// peelCommit follows tag objects to the commit they name.
func (r *Repo) peelCommit(h plumbing.Hash) (*object.Commit, error) {
	c, _, err := r.peel(h)
	return c, err
}

// peel also returns the outermost tag object, if any, for its tagger date.
func (r *Repo) peel(h plumbing.Hash) (*object.Commit, *object.Tag, error) {
	var outer *object.Tag
	for depth := 0; depth < 16; depth++ {
		o, err := r.readObject(h)
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
	snap, err := r.diskRefs()
	if err != nil {
		return nil, fmt.Errorf("listing tags: %w", err)
	}
	var out []Tag
	for _, ref := range snap.list {
		name, ok := strings.CutPrefix(ref.name, "refs/tags/")
		if !ok || !matchAny(globs, name) {
			continue
		}
		c, tag, err := r.peel(ref.hash)
		if err != nil {
			continue
		}
		t := Tag{Name: name, Commit: commitOf(c), Time: c.Committer.When}
		if tag != nil && !tag.Tagger.When.IsZero() {
			t.Time = tag.Tagger.When
		}
		out = append(out, t)
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
// are looked for on the remotes (not with WithNoFetch), lazily: only those
// whose builds could still hold a good commit's code (hints), newest
// builds first, at most WithFetchLimit of them, each remote within its
// time budget. A revision that is an advertised ref tip, pull-request refs
// included, is fetched by that ref into refs/lkg/<remote>/...; a full
// revision no ref advertises is asked for by object id where the server
// allows it. Each revision that stays unresolved has an error wrapping
// ErrUnknownRevision (a *types.UnknownRevisionError, whose Why says why
// the remotes could not answer) or ErrAmbiguousRevision; Lookup warns
// nothing of its own about it, so the caller's one message carries it.
func (r *Repo) Lookup(ctx context.Context, revs []string, hints types.LookupHints) (map[string]types.Commit, map[string]error) {
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
		case errors.Is(err, types.ErrUnknownRevision) && text.IsHex(rev) && len(rev) >= 7 && len(rev) <= 40:
			if c, ok := r.fetchedCommit(strings.ToLower(rev)); ok {
				found[rev] = c
				continue
			}
			missing = append(missing, rev)
		default:
			errs[rev] = err
		}
	}
	why := map[string][]string{}
	skipped := map[string]string{}
	if len(missing) > 0 && !r.opts.noFetch {
		ask := r.worthAsking(missing, hints, skipped)
		if len(ask) > 0 {
			fetched, w := r.fetchRevisions(ctx, ask)
			why = w
			if fetched {
				t, err = r.commitTableFor()
			}
			for _, rev := range ask {
				if c, ok := r.fetchedCommit(strings.ToLower(rev)); ok {
					found[rev] = c
				} else if err == nil {
					if c, err := r.lookupOne(t, rev); err == nil {
						found[rev] = c
					}
				}
			}
			r.warnUnanswered(ask, found)
		}
	}
	for _, rev := range missing {
		if _, ok := found[rev]; ok {
			continue
		}
		// Why the remotes could not say goes in the error, not in a
		// warning of its own: the caller's one message about this
		// revision carries it.
		e := &types.UnknownRevisionError{Rev: rev, Where: "in the repository"}
		switch {
		case r.opts.noFetch:
			e.Where += " (remotes not consulted: --no-fetch)"
		case skipped[rev] != "":
			e.Where += " (not looked for on the remotes: " + skipped[rev] + ")"
		default:
			e.Where += " or on its remotes"
			e.Why = strings.Join(why[strings.ToLower(rev)], "; ")
		}
		errs[rev] = e
	}
	return found, errs
}

// placeholderEpoch: creation times before it are pinned by reproducible
// builders (1970, 1980) and say nothing about when a build was made.
var placeholderEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// clockSkew is how far a CI clock may run behind the committer's before a
// build created "before" the good commit is believed.
const clockSkew = time.Hour

// worthAsking picks the missing revisions to look for on the remotes:
// not those whose every build predates the oldest good commit, newest
// builds first (builds of unknown age after them), at most the limit left.
// What it leaves out goes in skipped, with why, and in one warning.
func (r *Repo) worthAsking(missing []string, hints types.LookupHints, skipped map[string]string) []string {
	var ask []string
	old := 0
	for _, rev := range missing {
		c, known := hints.Created[rev]
		if known && !hints.Since.IsZero() && !c.Before(placeholderEpoch) && c.Before(hints.Since.Add(-clockSkew)) {
			skipped[rev] = "built before the oldest good commit"
			old++
			continue
		}
		ask = append(ask, rev)
	}
	slices.SortStableFunc(ask, func(a, b string) int {
		ca, oka := hints.Created[a]
		cb, okb := hints.Created[b]
		switch {
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		case !ca.Equal(cb):
			return cb.Compare(ca)
		}
		return strings.Compare(a, b)
	})
	r.fetchedMu.Lock()
	room := max(r.opts.limit-r.asked, 0)
	over := 0
	if len(ask) > room {
		for _, rev := range ask[room:] {
			skipped[rev] = fmt.Sprintf("over the limit of %d", r.opts.limit)
		}
		over = len(ask) - room
		ask = ask[:room]
	}
	r.asked += len(ask)
	r.fetchedMu.Unlock()
	if old+over > 0 {
		var parts []string
		if old > 0 {
			parts = append(parts, fmt.Sprintf("%d built before the oldest good commit", old))
		}
		if over > 0 {
			parts = append(parts, fmt.Sprintf("%d over the limit of %d (newest builds first)", over, r.opts.limit))
		}
		r.warnf("%d build revision(s) not in the repository were not looked for on the remotes: %s", old+over, strings.Join(parts, ", "))
	}
	return ask
}

// warnUnanswered says, for each remote that failed or ran out of time,
// which revisions it might have held: answers that could have changed had
// it answered.
func (r *Repo) warnUnanswered(asked []string, found map[string]types.Commit) {
	var left []string
	for _, rev := range asked {
		if _, ok := found[rev]; !ok {
			left = append(left, shortRev(rev))
		}
	}
	if len(left) == 0 {
		return
	}
	more := ""
	if len(left) > 5 {
		more = fmt.Sprintf(" and %d more", len(left)-5)
		left = left[:5]
	}
	for _, rm := range r.disc.remotes {
		if rm.failure != "" {
			r.warnf("%s %s: build revision(s) %s%s could have been found there and changed the answer", rm.label(), rm.failure, strings.Join(left, ", "), more)
		}
	}
}

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func (r *Repo) lookupOne(t *commitindex.Table, rev string) (types.Commit, error) {
	lrev := strings.ToLower(rev)
	if len(lrev) < 7 || len(lrev) > 40 || !text.IsHex(lrev) {
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
// prefix: from the table, and, when the table may be incomplete (a
// commit-graph holds only what refs reach), from the object store's
// indexes too.
func (r *Repo) matchPrefix(t *commitindex.Table, prefix string) []plumbing.Hash {
	var out []plumbing.Hash
	for _, i := range t.FindPrefix(prefix, 2) {
		out = append(out, t.Hash(i))
	}
	if len(out) == 0 && t.FromGraph() {
		if found, ok := r.storeCommits(prefix, 2); ok {
			return found
		}
		if st, err := r.storeTableFor(); err == nil {
			for _, i := range st.FindPrefix(prefix, 2) {
				out = append(out, st.Hash(i))
			}
		}
	}
	return out
}
