package suspects

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/packfile"
)

// Result is what changed between a known-good and a bad commit, grouped
// the way a team reviews changes: one unit per merge or squash commit on the
// bad side's first-parent line.
type Result struct {
	Good Ref `json:"good"`
	Bad  Ref `json:"bad"`
	// Diverged says good is not an ancestor of bad (a hotfix branch, a
	// rollback, swapped arguments): Changes then runs from the merge base,
	// and GoodOnly lists what good has that bad lacks.
	Diverged bool `json:"diverged"`
	// Swapped says bad is an ancestor of good: the bad deploy has nothing
	// good lacks, and the two were most likely given the wrong way round.
	Swapped   bool     `json:"swapped"`
	MergeBase []string `json:"merge_base"` // set when Diverged; several for criss-cross merges
	// Changes is what bad has and good lacks: `git log good..bad`.
	Changes Range `json:"changes"`
	// GoodOnly is what good has and bad lacks, when Diverged.
	GoodOnly *Range   `json:"good_only,omitempty"`
	Warnings []string `json:"warnings"`
}

// Ref is one end of the comparison.
type Ref struct {
	Ref    string `json:"ref"`    // as the user named it
	Commit string `json:"commit"` // 40 hex
}

// Range is one side's changes, newest unit first.
type Range struct {
	From    string         `json:"from"` // excluded: good, or the merge base
	To      string         `json:"to"`   // included: bad (or good, for GoodOnly)
	Commits int            `json:"commits"`
	Files   int            `json:"files"` // file changes summed over the units
	Added   int            `json:"added"`
	Deleted int            `json:"deleted"`
	Risks   map[string]int `json:"risks"` // category → units touching it
	Units   []Unit         `json:"units"`
}

// The kinds of unit.
const (
	UnitMerge  = "merge"  // a merge commit: its branch's commits, diffed against the first parent
	UnitSquash = "squash" // a single commit naming a pull request, "(#N)"
	UnitCommit = "commit" // a commit made straight on the line
)

// Unit is one reviewable change: a merge with the commits it brought
// in, a squashed pull request, or a direct commit. Its files are the diff
// from its first parent, which is what the merge changed on the line.
type Unit struct {
	Commit  string    `json:"commit"`
	Kind    string    `json:"kind"`
	PR      int       `json:"pr,omitempty"`
	Subject string    `json:"subject"`
	Time    time.Time `json:"time"`
	Commits []Commit  `json:"commits"` // the unit's own commit first, then its branch's, newest first
	Authors []string  `json:"authors,omitempty"`
	Files   []File    `json:"files"`
	Added   int       `json:"added"`
	Deleted int       `json:"deleted"`
	Risks   []string  `json:"risks"`
}

// Commit is one commit of a unit.
type Commit struct {
	Hash    string `json:"hash"`
	Subject string `json:"subject"`
	Author  string `json:"author,omitempty"` // only WithAuthors
}

// The statuses of a changed file.
const (
	FileAdded    = "added"
	FileModified = "modified"
	FileDeleted  = "deleted"
	FileRenamed  = "renamed"
)

// File is one changed path of a unit, with line counts like `git
// diff --numstat` (none for binary files and submodules).
type File struct {
	Path      string   `json:"path"`
	OldPath   string   `json:"old_path,omitempty"` // renames
	Status    string   `json:"status"`
	Added     int      `json:"added"`
	Deleted   int      `json:"deleted"`
	Binary    bool     `json:"binary,omitempty"`
	Submodule bool     `json:"submodule,omitempty"`
	Risks     []string `json:"risks,omitempty"`
}

// Option configures Result.
type Option func(*options)

type options struct {
	authors bool
	rules   []RiskRule
	workers int
}

// WithAuthors includes commit authors. The default is false: the list is
// blame-free, about changes, not people.
func WithAuthors(on bool) Option {
	return func(o *options) { o.authors = on }
}

// WithRiskRules sets the risk categories files are flagged with. The
// default is DefaultRiskRules().
func WithRiskRules(rules []RiskRule) Option {
	return func(o *options) { o.rules = rules }
}

// WithDiffWorkers sets how many units are diffed at once, each worker with
// its own object store handle. The default is runtime.GOMAXPROCS(0).
func WithDiffWorkers(n int) Option {
	return func(o *options) { o.workers = n }
}

// Find lists what changed from good to bad, like `git log --first-parent
// -m --numstat good..bad` grouped by merge. good and bad are anything
// gitops.Repo.Resolve takes. When good is not an ancestor of bad, Diverged is set and
// both sides are listed from the merge base. The diff is computed here from
// the trees, not through go-git's patch machinery, and units are diffed in
// parallel.
func Find(ctx context.Context, r *gitops.Repo, good, bad string, opts ...Option) (*Result, error) {
	o := options{rules: DefaultRiskRules(), workers: runtime.GOMAXPROCS(0)}
	for _, opt := range opts {
		opt(&o)
	}
	if o.workers < 1 {
		o.workers = 1
	}
	g, err := r.Resolve(good)
	if err != nil {
		return nil, fmt.Errorf("resolving the good revision: %w", err)
	}
	b, err := r.Resolve(bad)
	if err != nil {
		return nil, fmt.Errorf("resolving the bad revision: %w", err)
	}
	s := &Result{
		Good:      Ref{Ref: good, Commit: g.Hash},
		Bad:       Ref{Ref: bad, Commit: b.Hash},
		MergeBase: []string{},
		Warnings:  []string{},
	}

	st := storage(r)
	defer st.Close()
	// A pack that does not open is read through go-git.
	packs, _ := packfile.Open(filepath.Join(r.GitDir(), "objects"))
	defer packs.Close()
	w := newWalker(st, packs.Reader())
	gh, bh := plumbing.NewHash(g.Hash), plumbing.NewHash(b.Hash)
	if err := w.paint(ctx, gh, bh); err != nil {
		return nil, fmt.Errorf("walking %s..%s: %w", good, bad, err)
	}
	s.Warnings = append(s.Warnings, w.warnings...)

	badUnits := w.units(bh, badOnly, o.authors)
	s.Changes = Range{From: g.Hash, To: b.Hash, Commits: w.count(badOnly)}
	var goodUnits []*unitWork
	if w.count(goodOnly) > 0 {
		s.Diverged = true
		s.MergeBase = append(s.MergeBase, bestBases(r, w.mergeBases())...)
		if len(s.MergeBase) > 0 {
			s.Changes.From = s.MergeBase[0]
		} else {
			s.Changes.From = ""
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s and %s share no history", good, bad))
		}
		s.Swapped = w.count(badOnly) == 0 && len(s.MergeBase) == 1 && s.MergeBase[0] == b.Hash
		goodUnits = w.units(gh, goodOnly, o.authors)
		s.GoodOnly = &Range{From: s.Changes.From, To: g.Hash, Commits: w.count(goodOnly)}
	}

	all := append(append([]*unitWork{}, badUnits...), goodUnits...)
	if err := diffAll(ctx, r, packs, all, o); err != nil {
		return nil, err
	}
	for _, u := range all {
		s.Warnings = append(s.Warnings, u.warnings...)
	}
	s.Changes.fill(badUnits)
	if s.GoodOnly != nil {
		s.GoodOnly.fill(goodUnits)
	}
	return s, nil
}

func (rg *Range) fill(units []*unitWork) {
	rg.Units = make([]Unit, 0, len(units))
	rg.Risks = map[string]int{}
	for _, u := range units {
		rg.Units = append(rg.Units, u.unit)
		rg.Files += len(u.unit.Files)
		rg.Added += u.unit.Added
		rg.Deleted += u.unit.Deleted
		for _, c := range u.unit.Risks {
			rg.Risks[c]++
		}
	}
}

// storage opens a private handle on the object store: go-git's
// storage is not safe for concurrent reads, so each diff worker (and the
// walk) gets its own, with its own cache and pack descriptors.
func storage(r *gitops.Repo) *filesystem.Storage {
	return filesystem.NewStorageWithOptions(osfs.New(r.GitDir()), cache.NewObjectLRU(32*cache.MiByte),
		filesystem.Options{KeepDescriptors: true})
}

// unitChunk is at most how many consecutive units a worker diffs in a row,
// oldest first: a file's new blob in one unit is its old blob in a later
// one, and the worker's caches then hold it.
const unitChunk = 64

// diffAll diffs every unit, spreading chunks of units over the
// workers.
func diffAll(ctx context.Context, r *gitops.Repo, packs *packfile.Packs, units []*unitWork, o options) error {
	next := make(chan []*unitWork)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rm := riskMatcher{rules: o.rules}
	shared := newObjectCache()
	// Smaller chunks for a short range, so every worker gets some.
	chunk := min(unitChunk, max(1, len(units)/(4*o.workers)))
	workers := min(o.workers, (len(units)+chunk-1)/chunk)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := storage(r)
			defer st.Close()
			d := newDiffer(st, packs.Reader(), rm, shared)
			for chunk := range next {
				// units are newest first; walk the chunk oldest first.
				for k := len(chunk) - 1; k >= 0; k-- {
					if ctx.Err() != nil {
						break
					}
					if err := d.diffUnit(chunk[k]); err != nil {
						once.Do(func() { firstErr = err; cancel(err) })
					}
				}
			}
		}()
	}
	// Hand out the oldest chunks first so neighbouring chunks run at about
	// the same time on different workers.
feed:
	for end := len(units); end > 0; end -= chunk {
		select {
		case next <- units[max(0, end-chunk):end]:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

var (
	mergePR  = regexp.MustCompile(`^Merge pull request #(\d+)`)
	squashPR = regexp.MustCompile(`\(#(\d+)\)`)
	gitLabMR = regexp.MustCompile(`(?m)^See merge request \S*!(\d+)\s*$`)
)

// prNumber reads a pull request number from a commit message: GitHub's
// "Merge pull request #N", a squash's "(#N)" (the last one in the subject),
// or GitLab's "See merge request group/project!N".
func prNumber(subject, message string) int {
	if m := mergePR.FindStringSubmatch(subject); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if ms := squashPR.FindAllStringSubmatch(subject, -1); ms != nil {
		n, _ := strconv.Atoi(ms[len(ms)-1][1])
		return n
	}
	if m := gitLabMR.FindStringSubmatch(message); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func subjectOf(message string) string {
	if i := strings.IndexByte(message, '\n'); i >= 0 {
		message = message[:i]
	}
	return strings.TrimSpace(message)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// errMissing marks an object absent from the store: a shallow or
// partial clone.
var errMissing = errors.New("object missing from the repository (shallow or partial clone?)")

// bestBases drops candidates that are ancestors of another
// candidate, leaving the merge bases (several only after criss-cross merges).
func bestBases(r *gitops.Repo, cands []plumbing.Hash) []string {
	var out []string
	for i, a := range cands {
		best := true
		for j, b := range cands {
			if i == j {
				continue
			}
			if anc, err := r.IsAncestor(a.String(), b.String()); err == nil && anc {
				best = false
				break
			}
		}
		if best {
			out = append(out, a.String())
		}
	}
	return out
}
