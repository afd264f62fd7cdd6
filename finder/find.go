package finder

import (
	"context"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/imageref"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lkg-dev/lkg/internal/warn"
	"github.com/lkg-dev/lkg/types"
)

// DefaultWorkers is how many Inspect calls Find runs at once when
// Options.Workers is not set: enough to keep a registry busy (one Inspect is
// two or three round trips) without tripping its rate limits. Measured
// against Debian's distribution registry on loopback (bench/find-registry.sh),
// 32 read 2,000 tags 4-5% faster than 16; 64 gained nothing more.
const DefaultWorkers = 32

// reproducibleEpoch: creation times before it are pinned by reproducible
// builders (ko, Jib and buildpacks use 1970 or 1980) and say nothing about
// when a build was made.
var reproducibleEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Options tune Find. The zero value scans with the defaults.
type Options struct {
	// TagPatterns extract revisions from tag names; nil means
	// DefaultTagPatterns (see CompileTagPatterns).
	TagPatterns []*regexp.Regexp
	// VerifyAll inspects every tag instead of trusting revisions in tag
	// names, for registries whose tag names cannot be trusted.
	VerifyAll bool
	// Workers bounds the Inspect calls in flight across all registries;
	// zero or less means DefaultWorkers.
	Workers int
	// PinTag, when set, names the tag `lkg pin` gives the best build of a
	// good tag (lkg-keep-v1.2.0 for v1.2.0). A build carrying its good
	// tag's pin ranks first among builds of equal match, and a pin counts
	// as the good tag's name for a build that records no revision: lkg
	// itself chose that build for that tag.
	PinTag func(goodTag string) string
	// Trust, when set, checks the signatures of the builds that could be
	// the answer (registries implementing Attested): each gets a verdict
	// (Build.Trust), a verified build ranks before an unverified one of
	// the same good tag and match, and a verified attestation's revision
	// is the strongest there is. Nil reads no signatures at all.
	Trust Verifier
	// Progress, when set, is called as inspections complete with how many
	// are done of how many there are, the last call with done == total.
	// Tags whose names record no revision are inspected while git answers
	// and counted from the first call on. It is called from the goroutine
	// that called Find, never concurrently.
	Progress func(done, total int)
}

// RegistryError says a registry's tags could not be listed. Find returns it
// (several are joined with errors.Join; use errors.As) so the caller can turn
// an authorization failure, a missing repository or an unreachable host into
// one clear line.
type RegistryError struct {
	Registry string // Registry.Name()
	Err      error
}

// Error implements error.
func (e *RegistryError) Error() string {
	return fmt.Sprintf("listing tags of %s: %v", e.Registry, e.Err)
}

// Unwrap returns the registry's error, for errors.Is and errors.As.
func (e *RegistryError) Unwrap() error { return e.Err }

// Find matches the builds in regs and local against goods and ranks them
// by how sure each match is. goods are the known-good candidates, newest first,
// already filtered by the caller. local are images from the Docker engine,
// already fully read.
//
// Find asks the registries as little as it can: one tag list per registry,
// one batched Lookup for every revision named in a tag (and a second for
// revisions found only in labels), and an Inspect only for tags that could
// be the answer or whose names say nothing. The latter are read while the
// Lookup runs: with a fetch or a first scan of the object store, git and
// the registry answer at once.
//
// When a registry's tags cannot be listed, Find still scans the others and
// returns their Result together with a *RegistryError (several joined); the
// caller decides whether that is fatal. When ctx is done, Find returns
// ctx.Err() promptly, without waiting for inspections in flight.
func Find(ctx context.Context, goods []Good, commits Commits, regs []Registry, local []types.Artifact, opts Options) (Result, error) {
	s := &scan{
		goods:   goods,
		commits: commits,
		pats:    opts.TagPatterns,
		pinTag:  opts.PinTag,
		trust:   opts.Trust,
		known:   map[string]types.Commit{},
		failed:  map[string]error{},
		warn:    warn.New(warn.PerKind),
	}
	if s.pats == nil {
		s.pats = defaultTagRegexps
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}

	// 1. Tag lists, all registries at once: a slow registry should not
	// delay the others.
	lists, regErr := listTags(ctx, regs)
	if err := ctx.Err(); err != nil {
		return emptyResult(goods), err
	}

	// 2. Every revision any tag name or local label records, for one Lookup.
	var names []tagName // every registry tag, parsed
	for ri, list := range lists {
		for _, t := range list {
			if isSignatureTag(t) {
				continue
			}
			n := s.parseTag(t)
			n.reg = ri
			names = append(names, n)
			s.want(n.rev)
		}
	}
	for _, a := range local {
		for _, r := range artifactRevisions(a) {
			if !r.junk {
				hex, _ := StripDirty(r.value)
				s.wantBuilt(hex, a.Created)
			}
		}
		for _, t := range a.Tags {
			s.wantBuilt(s.parseTag(localTag(t)).rev, a.Created)
		}
	}
	// 3. Tags whose names record no revision are read whatever git says:
	// their inspections start now, so that the registry answers while git
	// does (a fetch from a remote, a first scan of the object store).
	slots := make(chan struct{}, workers) // Inspect calls at once, both batches
	var jobs []inspectJob
	for i, n := range names {
		if n.rev == "" {
			jobs = append(jobs, inspectJob{name: i})
		}
	}
	early := len(jobs)
	earlyCtx, stopEarly := context.WithCancel(ctx)
	defer stopEarly()
	var earlyDone atomic.Int64
	earlyBatch := make(chan inspected, 1)
	go func(jobs []inspectJob) {
		earlyBatch <- inspect(earlyCtx, regs, names, jobs, slots, func(done, _ int) { earlyDone.Store(int64(done)) })
	}(jobs[:early:early])
	if err := s.lookup(ctx); err != nil {
		return emptyResult(goods), err
	}

	// 4. Choose what else to inspect: the tags naming a revision that
	// could be the answer, or that git could not resolve.
	unknownNames := map[[2]string][]string{} // (registry, revision) -> tags
	for i, n := range names {
		if n.rev == "" {
			continue
		}
		c, st := s.resolve(n.rev)
		switch {
		case st == revResolved && s.fits(c):
			jobs = append(jobs, inspectJob{name: i, pinned: true})
		case opts.VerifyAll:
			jobs = append(jobs, inspectJob{name: i, pinned: st == revResolved})
		case st == revResolved:
			// Another commit: the saving this scan exists for.
		case st == revUnknown && n.strong:
			k := [2]string{regs[n.reg].Name(), n.rev}
			unknownNames[k] = append(unknownNames[k], n.tag)
		default:
			// A short name that does not resolve (a date, a build
			// number) or is ambiguous says nothing: read the labels.
			jobs = append(jobs, inspectJob{name: i})
		}
	}
	for k, tags := range unknownNames {
		slices.Sort(tags)
		more := ""
		if len(tags) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(tags)-1)
		}
		s.warnf("tag %s%s of %s records revision %s, which is %s", tags[0], more, k[0], k[1], s.notFound(k[1]))
	}
	var progress func(done, total int)
	reported := -1
	if opts.Progress != nil {
		progress = func(done, total int) {
			reported = done + int(earlyDone.Load())
			opts.Progress(reported, total+early)
		}
	}
	rest := inspect(ctx, regs, names, jobs[early:], slots, progress)
	first := <-earlyBatch
	if err := errors.Join(rest.err, first.err); err != nil {
		return emptyResult(goods), err
	}
	if opts.Progress != nil && reported < len(jobs) {
		opts.Progress(len(jobs), len(jobs)) // the early batch ended last
	}
	arts := append(first.arts, rest.arts...)
	for _, b := range []struct {
		inspected
		base int
	}{{first, 0}, {rest, early}} {
		for _, u := range b.unread {
			s.unread = append(s.unread, failedJob{job: u.job + b.base, err: u.err})
		}
		for _, u := range b.skipped {
			n := names[jobs[u.job+b.base].name]
			s.warnf("skipped %s:%s: %v", regs[n.reg].Name(), n.tag, u.err)
		}
	}

	// 5. One piece of evidence per (registry, digest), then the local images.
	evs := groupByDigest(regs, names, jobs, arts)
	for _, a := range local {
		evs = append(evs, &evidence{source: types.SourceDocker, reg: -1, image: a.Image, art: a, tags: sortedUnique(a.Tags, nil)})
	}

	// 6. Revisions recorded only in labels get a second batched Lookup.
	for _, e := range evs {
		for _, r := range artifactRevisions(e.art) {
			if !r.junk {
				hex, _ := StripDirty(r.value)
				s.wantBuilt(hex, e.art.Created)
			}
		}
		for _, t := range e.tags {
			s.wantBuilt(s.parseTag(localTag(t)).rev, e.art.Created)
		}
	}
	if err := s.lookup(ctx); err != nil {
		return emptyResult(goods), err
	}

	// 6b. Signatures of the builds that could be the answer, and the
	// revisions verified attestations name.
	if s.trust != nil {
		if err := s.checkTrust(ctx, regs, evs, workers); err != nil {
			return emptyResult(goods), err
		}
	}

	// 7. Match.
	builds := []Build{}
	for _, e := range evs {
		if b, ok := s.match(e); ok {
			builds = append(builds, b)
		}
	}

	// 8. Rank, then one row per digest with every place it was found.
	RankBuilds(builds, goods)
	builds = MergeLocations(builds)

	res := emptyResult(goods)
	res.Builds = builds
	if len(builds) > 0 {
		res.Best = &res.Builds[0]
	}

	// 9. Builds that could not be read, and could outrank the best.
	for _, u := range s.unread {
		n := names[jobs[u.job].name]
		image := regs[n.reg].Name() + ":" + n.tag
		if !s.couldOutrank(n, jobs[u.job].pinned && !opts.VerifyAll, res.Best) {
			s.warnf("skipped %s: %v", image, u.err)
			continue
		}
		res.Unread = append(res.Unread, Unread{Image: image, Err: u.err})
		s.warnf("could not be read: %s (%v); it could be the answer, so this result is incomplete", image, u.err)
	}
	res.Incomplete = len(res.Unread) > 0
	res.Warnings = s.warn.List()
	return res, regErr
}

// couldOutrank reports whether the build behind tag name n, which could not
// be read, could rank at or above best. Only a name that pins a revision
// (and is trusted) says which good it is a build of; any other could be an
// exact build of the newest good. An equal rank counts: the unread build
// could be newer.
func (s *scan) couldOutrank(n tagName, pinned bool, best *Build) bool {
	if best == nil || !pinned {
		return true
	}
	c, st := s.resolve(n.rev)
	gi, m, ok := s.goodFor(c)
	if st != revResolved || !ok {
		return true
	}
	bi := len(s.goods)
	for i, g := range s.goods {
		if g.Tag == best.GoodTag {
			bi = i
			break
		}
	}
	return gi < bi || gi == bi && matchStrength(m) <= matchStrength(best.Match)
}

// RankBuilds sorts builds best first: a build whose records contradict
// its signed provenance after every other, then by the position of their
// GoodTag in goods (newest good first; tags not in goods last), then match
// strength (exact, tree, tag), then verified builds first (their signatures
// verified under the trust policy), then pinned builds first (lkg pin chose them for
// their tag), then provenance (a CI build before one lkg staged itself:
// evidence before age), then RankTime newest first (Created when RankTime
// is zero), then image name and digest so equal builds keep a stable order.
func RankBuilds(builds []Build, goods []Good) {
	order := make(map[string]int, len(goods))
	for i, g := range goods {
		if _, dup := order[g.Tag]; !dup {
			order[g.Tag] = i
		}
	}
	goodIdx := func(b Build) int {
		if i, ok := order[b.GoodTag]; ok {
			return i
		}
		return len(goods)
	}
	rankTime := func(b Build) time.Time {
		if b.RankTime.IsZero() {
			return b.Created
		}
		return b.RankTime
	}
	sort.SliceStable(builds, func(i, j int) bool {
		a, b := builds[i], builds[j]
		if x, y := a.Conflict != "", b.Conflict != ""; x != y {
			return y
		}
		if x, y := goodIdx(a), goodIdx(b); x != y {
			return x < y
		}
		if x, y := matchStrength(a.Match), matchStrength(b.Match); x != y {
			return x < y
		}
		if x, y := a.verified(), b.verified(); x != y {
			return x
		}
		if a.Pinned != b.Pinned {
			return a.Pinned
		}
		if a.Staged != b.Staged {
			return b.Staged
		}
		if x, y := rankTime(a), rankTime(b); !x.Equal(y) {
			return x.After(y)
		}
		if a.Image != b.Image {
			return a.Image < b.Image
		}
		return a.Digest < b.Digest
	})
}

// verified says the build's signatures verified under the trust policy.
func (b Build) verified() bool {
	return b.Trust != nil && b.Trust.State == types.TrustVerified
}

// matchStrength orders match kinds, strongest (lowest) first.
func matchStrength(m Match) int {
	switch m {
	case MatchExact:
		return 0
	case MatchTree:
		return 1
	case MatchTag:
		return 2
	case MatchContains:
		return 3
	}
	return 4
}

// emptyResult is a Result whose slices are empty, not nil, so that JSON
// prints [] rather than null.
func emptyResult(goods []Good) Result {
	g := make([]Good, len(goods))
	copy(g, goods)
	return Result{Good: g, Builds: []Build{}, Sources: []Source{}, Warnings: []string{}}
}

// listTags lists every registry's tags concurrently. A failing registry
// leaves a nil list and contributes a *RegistryError.
func listTags(ctx context.Context, regs []Registry) ([][]string, error) {
	lists := make([][]string, len(regs))
	errs := make([]error, len(regs))
	var wg sync.WaitGroup
	for i, r := range regs {
		wg.Go(func() {
			tags, err := r.Tags(ctx)
			if err != nil {
				errs[i] = &RegistryError{Registry: r.Name(), Err: err}
				return
			}
			lists[i] = sortedUnique(tags, nil)
		})
	}
	wg.Wait()
	return lists, errors.Join(errs...)
}

// tagName is one tag and what its name says.
type tagName struct {
	reg    int    // index into the registries
	tag    string // the tag as listed
	rev    string // lower-case hex without DirtySuffix; "" when no pattern matched
	dirty  bool
	strong bool // the name is surely a revision (sha- prefix or 40 hex), so an unknown one is worth a warning
}

// inspectJob is one tag to inspect: an index into the parsed names.
type inspectJob struct {
	name   int
	pinned bool
}

// evidence is everything known about one build before matching.
type evidence struct {
	source types.Source   // types.SourceRegistry or types.SourceDocker
	repo   string         // registry name; "" for local
	reg    int            // index of the registry; -1 for local
	image  string         // set for local images; registry images get repo:best tag
	art    types.Artifact // the inspected artifact (first one at the digest)
	tags   []string       // sorted, unique
	trust  *types.Trust   // the signatures' verdict; nil when not checked
}

// revState is what Lookup said of one revision.
type revState int

const (
	revResolved revState = iota
	revUnknown
	revAmbiguous
)

// scan holds the state of one Find.
type scan struct {
	goods   []Good
	commits Commits
	pats    []*regexp.Regexp
	pending map[string]struct{}  // revisions not yet asked for
	created map[string]time.Time // newest creation time of the builds recording a revision, when known
	known   map[string]types.Commit
	failed  map[string]error
	// warn keeps the first few warnings of each kind: a registry with
	// 100,000 tags naming unknown revisions gives five lines and a count.
	warn   *warn.Set
	pinTag func(goodTag string) string // Options.PinTag; nil for none
	unread []failedJob                 // inspections that failed with types.ErrUnread
	trust  Verifier                    // Options.Trust; nil for none
}

// failedJob is an inspection that failed, and why.
type failedJob struct {
	job int
	err error
}

func (s *scan) warnf(format string, args ...any) {
	s.warn.Addf(format, args...)
}

func (s *scan) parseTag(tag string) tagName {
	n := tagName{tag: tag}
	rev, ok := RevisionFromTag(tag, s.pats)
	if !ok {
		return n
	}
	n.rev, n.dirty = StripDirty(rev)
	n.strong = len(n.rev) == fullRevisionLen || strings.HasPrefix(tag, "sha-")
	return n
}

// want queues a revision for the next batched Lookup.
func (s *scan) want(rev string) {
	if rev == "" {
		return
	}
	if _, ok := s.known[rev]; ok {
		return
	}
	if _, ok := s.failed[rev]; ok {
		return
	}
	if s.pending == nil {
		s.pending = map[string]struct{}{}
	}
	s.pending[rev] = struct{}{}
}

// wantBuilt queues a revision recorded by a build created at created
// (zero when unknown): how old a build is decides whether its revision is
// worth looking for on the remotes.
func (s *scan) wantBuilt(rev string, created time.Time) {
	s.want(rev)
	if rev == "" || created.IsZero() {
		return
	}
	if s.created == nil {
		s.created = map[string]time.Time{}
	}
	if c, ok := s.created[rev]; !ok || created.After(c) {
		s.created[rev] = created
	}
}

// hints tell Commits how old the builds recording revs are and when the
// oldest good commit was made.
func (s *scan) hints(revs []string) types.LookupHints {
	h := types.LookupHints{Created: map[string]time.Time{}}
	for _, g := range s.goods {
		t := g.CommitTime
		if t.IsZero() {
			t = g.Time
		}
		if t.IsZero() {
			return types.LookupHints{} // a good of unknown age: every revision could matter
		}
		if h.Since.IsZero() || t.Before(h.Since) {
			h.Since = t
		}
	}
	for _, r := range revs {
		if c, ok := s.created[r]; ok {
			h.Created[r] = c
		}
	}
	return h
}

// lookup asks Commits about every queued revision in one call.
func (s *scan) lookup(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	revs := make([]string, 0, len(s.pending))
	for r := range s.pending {
		revs = append(revs, r)
	}
	slices.Sort(revs)
	s.pending = nil
	found, failed := s.commits.Lookup(ctx, revs, s.hints(revs))
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, r := range revs {
		if c, ok := found[r]; ok && c.Hash != "" {
			s.known[r] = c
			continue
		}
		err := failed[r]
		if err == nil {
			err = types.ErrUnknownRevision
		}
		s.failed[r] = err
	}
	return nil
}

func (s *scan) resolve(rev string) (types.Commit, revState) {
	if c, ok := s.known[rev]; ok {
		return c, revResolved
	}
	if errors.Is(s.failed[rev], types.ErrAmbiguousRevision) {
		return types.Commit{}, revAmbiguous
	}
	return types.Commit{}, revUnknown
}

// notFound says an unknown revision is not in the repository or its
// remotes, with why the remotes could not say when Lookup knows: the one
// warning about the revision carries the reason.
func (s *scan) notFound(rev string) string {
	var e *types.UnknownRevisionError
	if errors.As(s.failed[rev], &e) && e.Why != "" {
		return "not in the repository or its remotes (" + e.Why + ")"
	}
	return "not in the repository or its remotes"
}

// goodFor returns the first (newest) good c fits and how.
func (s *scan) goodFor(c types.Commit) (int, Match, bool) {
	return GoodFor(s.goods, c)
}

// GoodFor is the one rule that places a commit among the known-good
// candidates goods (newest first), for find and status alike: the newest
// good whose commit it is (exact) or whose root tree it has (tree). It
// returns that good's index and the match.
func GoodFor(goods []Good, c types.Commit) (int, Match, bool) {
	for i, g := range goods {
		if c.Hash == g.Commit {
			return i, MatchExact, true
		}
		if c.Tree != "" && c.Tree == g.Tree {
			return i, MatchTree, true
		}
	}
	return 0, "", false
}

func (s *scan) fits(c types.Commit) bool {
	_, _, ok := s.goodFor(c)
	return ok
}

// inspected is what one batch of inspections found: one artifact per job
// (nil where the inspection failed), the builds that could not be read,
// and the other failures. Job indices are the batch's.
type inspected struct {
	arts    []*types.Artifact
	unread  []failedJob // failed with types.ErrUnread
	skipped []failedJob // failed otherwise: read and found broken, or gone
	err     error       // ctx's, when it ended first
}

// inspect runs the jobs, each holding one of slots while it asks its
// registry (batches running at once share them). It touches no scan
// state, so that a batch can run beside the scan's lookups.
func inspect(ctx context.Context, regs []Registry, names []tagName, jobs []inspectJob, slots chan struct{}, progress func(int, int)) inspected {
	res := inspected{arts: make([]*types.Artifact, len(jobs))}
	if progress != nil {
		progress(0, len(jobs))
	}
	if len(jobs) == 0 {
		return res
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the feeder and the idle workers if we return early

	type outcome struct {
		job int
		art types.Artifact
		err error
	}
	// Buffered for every job so that workers never block on a Find that
	// has already returned.
	results := make(chan outcome, len(jobs))
	queue := make(chan int)
	go func() {
		defer close(queue)
		for j := range jobs {
			select {
			case queue <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range min(cap(slots), len(jobs)) {
		go func() {
			for j := range queue {
				select {
				case slots <- struct{}{}:
					if err := ctx.Err(); err != nil {
						// Both were ready: the slot was freed by an
						// inspection the cancellation ended.
						<-slots
						results <- outcome{job: j, err: err}
						continue
					}
				case <-ctx.Done():
					results <- outcome{job: j, err: ctx.Err()}
					continue
				}
				n := names[jobs[j].name]
				a, err := regs[n.reg].Inspect(ctx, n.tag, jobs[j].pinned)
				<-slots
				results <- outcome{job: j, art: a, err: err}
			}
		}()
	}
	for done := 0; done < len(jobs); {
		select {
		case <-ctx.Done():
			res.err = ctx.Err()
			return res
		case o := <-results:
			done++
			switch {
			case o.err != nil && ctx.Err() != nil:
				res.err = ctx.Err()
				return res
			case o.err != nil && errors.Is(o.err, types.ErrUnread):
				// Warned about once the best build is known (step 9).
				res.unread = append(res.unread, failedJob{job: o.job, err: o.err})
			case o.err != nil:
				res.skipped = append(res.skipped, failedJob{job: o.job, err: o.err})
			default:
				a := o.art
				res.arts[o.job] = &a
			}
			if progress != nil {
				progress(done, len(jobs))
			}
		}
	}
	return res
}

// groupByDigest makes one evidence per (registry, digest) of the inspected
// artifacts, in the order of the jobs, with every tag seen at the digest.
func groupByDigest(regs []Registry, names []tagName, jobs []inspectJob, arts []*types.Artifact) []*evidence {
	type key struct {
		reg    int
		digest string
	}
	byKey := map[key]*evidence{}
	var evs []*evidence
	for j, a := range arts {
		if a == nil {
			continue
		}
		n := names[jobs[j].name]
		k := key{n.reg, a.Digest}
		if a.Digest == "" {
			k.digest = "tag:" + n.tag // no digest to share: the tag is its own build
		}
		e, ok := byKey[k]
		if !ok {
			e = &evidence{source: types.SourceRegistry, repo: regs[n.reg].Name(), reg: n.reg, art: *a}
			byKey[k] = e
			evs = append(evs, e)
		}
		e.tags = append(e.tags, n.tag)
		e.tags = append(e.tags, a.Tags...)
	}
	for _, e := range evs {
		e.tags = sortedUnique(e.tags, nil)
	}
	return evs
}

// match decides the revision of one build (labels first, then tag names),
// matches it against the goods and fills in a Build; ok is false when the
// build matches no good. Every doubt on the way becomes a warning.
func (s *scan) match(e *evidence) (Build, bool) {
	label := e.image // for warnings until the best tag is known
	switch {
	case label != "":
	case len(e.tags) > 0:
		label = e.repo + ":" + e.tags[0]
	default:
		label = e.repo + "@" + e.art.Digest
	}

	// Revisions the build records, strongest first: a verified signed
	// attestation, unsigned provenance, labels, the annotation. Junk is
	// reported, never used.
	var recs []recorded
	if t := e.trust; t != nil && t.State == types.TrustVerified && t.Revision != "" {
		recs = append(recs, recorded{value: t.Revision, where: "signed attestation (" + t.By + ")", from: types.FromSigned})
	}
	for _, r := range artifactRevisions(e.art) {
		if r.junk {
			s.warnf("image %s: %s has junk value %q, ignored", label, r.where, r.value)
			continue
		}
		recs = append(recs, r)
	}
	var labelRev recorded
	haveLabel := len(recs) > 0
	if haveLabel {
		labelRev = recs[0]
	}

	// Revisions the tag names record, resolved first.
	var names []tagName
	for _, t := range e.tags {
		if n := s.parseTag(localTag(t)); n.rev != "" {
			n.tag = t
			names = append(names, n)
		}
	}
	slices.SortStableFunc(names, func(a, b tagName) int { return s.nameRank(a) - s.nameRank(b) })

	var (
		dirty    bool
		commit   types.Commit
		found    bool // a usable revision is recorded somewhere
		from     types.RevisionFrom
		conflict string
	)
	if haveLabel {
		var rev string
		rev, dirty = StripDirty(labelRev.value)
		found = true
		c, st := s.resolve(rev)
		conflict = s.disagreement(label, rev, c, st, recs)
		for _, n := range names {
			nc, nst := s.resolve(n.rev)
			if nst == revResolved || (nst == revUnknown && n.strong) {
				if !sameRevision(rev, c, st, n.rev, nc, nst) {
					s.warnf("image %s: %s records revision %s but tag %s names %s; the label wins", label, labelRev.where, rev, n.tag, n.rev)
					break
				}
			}
		}
		switch st {
		case revUnknown:
			s.warnf("image %s records revision %s (%s), which is %s; not matched", label, rev, labelRev.where, s.notFound(rev))
			return Build{}, false
		case revAmbiguous:
			s.warnf("image %s records abbreviated revision %s (%s), which names more than one commit; not matched", label, rev, labelRev.where)
			return Build{}, false
		}
		commit, from = c, labelRev.from
	} else if len(names) > 0 {
		n := names[0]
		c, st := s.resolve(n.rev)
		switch {
		case st == revResolved:
			dirty, commit, found, from = n.dirty, c, true, types.FromTagName
		case st == revUnknown && n.strong:
			s.warnf("image %s records revision %s in tag %s, which is %s; not matched", label, n.rev, n.tag, s.notFound(n.rev))
			return Build{}, false
		case st == revAmbiguous:
			s.warnf("image %s: tag %s names abbreviated revision %s, which names more than one commit; ignored", label, n.tag, n.rev)
		}
		// Otherwise a short name that did not resolve: it says nothing.
	}

	b := Build{
		Source:    e.source,
		Image:     e.image,
		Digest:    e.art.Digest,
		Tags:      e.tags,
		Created:   e.art.Created,
		Platforms: sortedUnique(e.art.Platforms, []string{}),
		Repo:      e.repo,
		Dirty:     dirty,
		Staged:    slices.ContainsFunc(e.tags, func(t string) bool { return IsStagingTag(localTag(t)) }),
		Trust:     e.trust,
	}
	if b.Tags == nil {
		b.Tags = []string{}
	}

	if found {
		gi, m, ok := s.goodFor(commit)
		if !ok {
			if conflict != "" {
				s.warnf("image %s: %s; not matched: the signed commit is no known-good one", label, conflict)
			}
			return Build{}, false
		}
		b.Revision, b.Match, b.GoodTag = commit.Hash, m, s.goods[gi].Tag
		b.RevisionFrom, b.Conflict = from, conflict
		if conflict != "" {
			s.warnf("image %s: %s; ranked after every build without a conflict", label, conflict)
		}
		b.Pinned = s.pinned(e.tags, b.GoodTag)
		b.Image = s.imageName(e, commit, b.GoodTag)
		b.RankTime = b.Created
		switch {
		case b.Created.IsZero():
			b.RankTime = commit.Time
			s.warnf("image %s records no creation time; ranked by its commit time %s", b.Image, commit.Time.UTC().Format(time.RFC3339))
		case b.Created.Before(reproducibleEpoch):
			b.RankTime = commit.Time
			s.warnf("image %s has creation time %s (pinned by a reproducible build); ranked by its commit time %s", b.Image, b.Created.UTC().Format(time.RFC3339), commit.Time.UTC().Format(time.RFC3339))
		}
		if dirty {
			s.warnf("image %s was built from revision %s with uncommitted changes (-dirty); matched on the commit, but it may differ from good tag %s", b.Image, commit.Hash, b.GoodTag)
		}
		return b, true
	}

	// No revision anywhere: the weakest evidence, the tag name itself.
	for _, g := range s.goods {
		for _, t := range e.tags {
			if localTag(t) == g.Tag || s.pinned([]string{t}, g.Tag) {
				b.Match, b.GoodTag, b.Pinned = MatchTag, g.Tag, s.pinned(e.tags, g.Tag)
				b.Image = s.imageName(e, types.Commit{}, g.Tag)
				b.RankTime = b.Created
				s.warnf("image %s matched good tag %s by tag name only: it records no revision", b.Image, g.Tag)
				return b, true
			}
		}
	}
	return Build{}, false
}

// pinned says tags hold goodTag's pin.
func (s *scan) pinned(tags []string, goodTag string) bool {
	if s.pinTag == nil {
		return false
	}
	pin := s.pinTag(goodTag)
	for _, t := range tags {
		if localTag(t) == pin {
			return true
		}
	}
	return false
}

// imageName names a registry build by its most telling tag: one whose name
// records the matched commit, else the good tag's name, else the first.
func (s *scan) imageName(e *evidence, c types.Commit, goodTag string) string {
	if e.image != "" {
		return e.image
	}
	best := ""
	for _, t := range e.tags {
		if n := s.parseTag(t); n.rev != "" && c.Hash != "" {
			if nc, st := s.resolve(n.rev); st == revResolved && nc.Hash == c.Hash {
				best = t
				break
			}
		}
	}
	if best == "" && slices.Contains(e.tags, goodTag) {
		best = goodTag
	}
	if best == "" && len(e.tags) > 0 {
		best = e.tags[0]
	}
	if best == "" {
		return e.repo + "@" + e.art.Digest
	}
	return e.repo + ":" + best
}

// nameRank orders the revisions tag names record by how much they tell:
// resolved, then surely a revision but unknown (worth a warning), then
// ambiguous, then a short name that did not resolve (says nothing).
func (s *scan) nameRank(n tagName) int {
	switch _, st := s.resolve(n.rev); {
	case st == revResolved:
		return 0
	case st == revUnknown && n.strong:
		return 1
	case st == revAmbiguous:
		return 2
	}
	return 3
}

// sameRevision says whether a label revision and a name revision agree:
// the same commit when both resolve, else one a prefix of the other.
func sameRevision(a string, ac types.Commit, ast revState, b string, bc types.Commit, bst revState) bool {
	if ast == revResolved && bst == revResolved {
		return ac.Hash == bc.Hash
	}
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

// localTag returns the tag part of a local image reference
// ("host:5000/app:sha-abc" -> "sha-abc"); a bare tag is returned as is.
func localTag(ref string) string {
	r, err := imageref.Parse(ref)
	switch {
	case err != nil:
		return ref
	case r.Tag() != "":
		return r.Tag()
	}
	return r.Repo()
}

// sortedUnique returns a sorted copy of ss without duplicates; empty input
// gives empty (which may be nil, to let callers choose).
func sortedUnique(ss []string, empty []string) []string {
	if len(ss) == 0 {
		return empty
	}
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// StagingTagPrefix starts the tag lkg pushes a rebuild or a local image
// under before it moves the production tag: "lkg-" and 12 hex digits of
// the image ID.
const StagingTagPrefix = "lkg-"

// IsStagingTag reports whether tag is one of lkg's own staging tags.
func IsStagingTag(tag string) bool {
	hex, ok := strings.CutPrefix(tag, StagingTagPrefix)
	if !ok || len(hex) != 12 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// MergeLocations makes one build of the builds that share a digest (the
// same build, found in a registry and in the engine, or in two
// registries), keeping the first in the order given and listing every
// place in its Locations, registries first. When a registry holds the
// build, the row speaks for the registry copy (Source, Image, Repo), which
// deploy can copy by digest without an engine. A build without a digest
// is its own row.
func MergeLocations(builds []Build) []Build {
	out := make([]Build, 0, len(builds))
	at := map[string]int{}
	for _, b := range builds {
		loc := Location{Source: b.Source, Image: b.Image}
		i, seen := at[b.Digest]
		if !seen || b.Digest == "" {
			b.Locations = []Location{loc}
			at[b.Digest] = len(out)
			out = append(out, b)
			continue
		}
		m := &out[i]
		m.Locations = append(m.Locations, loc)
		m.Tags = sortedUnique(append(m.Tags, b.Tags...), []string{})
		m.Staged = m.Staged || b.Staged
		m.Pinned = m.Pinned || b.Pinned
		if m.Source != types.SourceRegistry && b.Source == types.SourceRegistry {
			m.Source, m.Image, m.Repo = b.Source, b.Image, b.Repo
		}
		slices.SortStableFunc(m.Locations, func(x, y Location) int {
			return cmpBool(x.Source != types.SourceRegistry, y.Source != types.SourceRegistry)
		})
	}
	return out
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
