package scan

import (
	"context"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/errs"
	"strings"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/provenance"
	"github.com/lkg-dev/lkg/types"
)

// InputError is bad input found before any network call: a flag value
// that cannot work. Its message is the one line to show, with the
// corrected form where there is one; lkg exits 2.
type InputError struct{ msg string }

func (e *InputError) Error() string { return e.msg }

// ExitCode is 2, the usage error.
func (e *InputError) ExitCode() int { return 2 }

func inputf(format string, args ...any) error {
	return &InputError{msg: fmt.Sprintf(format, args...)}
}

// IncompleteError is a find that could not read a build that could be the
// answer (finder.Result.Incomplete), without WithAllowIncomplete: rather
// than answer with an older build, Find answers nothing. lkg exits 5.
type IncompleteError struct {
	Unread []finder.Unread
}

func (e *IncompleteError) Error() string {
	u := e.Unread[0]
	more := ""
	if len(e.Unread) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(e.Unread)-1)
	}
	return fmt.Sprintf("incomplete: a build that could be the answer could not be read: %s (%v)%s. Retry when the registry recovers, or pass --allow-incomplete to answer with the builds that were read", u.Image, u.Err, more)
}

// ExitCode is 5, an incomplete find.
func (e *IncompleteError) ExitCode() int { return 5 }

// Engine is the Docker engine as Find uses it: artifacts.Engine.
type Engine interface {
	Images(ctx context.Context) ([]types.Artifact, error)
	Close() error
}

// Find runs one find in repo: it selects the known-good candidates, scans
// the registries and the engine for builds of them, has finder match and
// rank the builds, and lists the git refs to rebuild from.
//
// A registry or engine that fails while another place answered is a
// warning (in Result.Warnings, and given to WithWarn); when every place
// failed, Find returns their errors joined. Bad input (a depth below 1, an
// image reference that cannot be one) is an *InputError, found before any
// network call.
func Find(ctx context.Context, repo *gitops.Repo, opts ...Option) (finder.Result, error) {
	o := newOptions(opts)
	if err := o.check(); err != nil {
		return finder.Result{}, err
	}
	patterns, err := finder.CompileTagPatterns(o.tagPatterns)
	if err != nil {
		return finder.Result{}, err
	}
	var policy *provenance.Policy
	if !o.trust.Empty() {
		if policy, err = provenance.LoadPolicy(o.trust); err != nil {
			return finder.Result{}, &InputError{msg: err.Error()}
		}
	}
	regs := make([]finder.Registry, 0, len(o.images))
	for _, image := range o.images {
		r, err := o.openRepository(image)
		if err != nil {
			return finder.Result{}, err
		}
		regs = append(regs, r)
	}
	var bad *badDeploy
	var warnings []string
	noProduction := false
	switch {
	case o.bad != "":
		if bad, err = o.namedBad(repo); err != nil {
			return finder.Result{}, err
		}
	case o.target != "":
		var w string
		bad, w, err = o.productionBad(ctx, repo, patterns)
		if errors.Is(err, errNoProduction) {
			noProduction, err = true, nil
		}
		if err != nil {
			return finder.Result{}, err
		}
		if w != "" {
			warnings = append(warnings, w)
		}
	}
	goods, bad, skipped, w, err := o.selectGood(repo, bad, noProduction)
	if err != nil {
		return finder.Result{}, err
	}
	warnings = append(warnings, w...)
	var badCommit *types.Commit // what sources must not hold
	if bad != nil && !bad.restored {
		badCommit = &bad.commit
	}

	var local []types.Artifact
	var engineErr error
	if o.docker {
		local, engineErr = o.localImages(ctx)
		if engineErr != nil && ctx.Err() != nil {
			return finder.Result{}, ctx.Err()
		}
	}
	fopts := finder.Options{TagPatterns: patterns, VerifyAll: o.verifyAll, Progress: o.progress, PinTag: o.pinTag}
	if policy.Enabled() {
		fopts.Trust = policy
	}
	res, err := finder.Find(ctx, goods, repo, regs, local, fopts)
	if err != nil && ctx.Err() != nil {
		return finder.Result{}, ctx.Err()
	}
	failed := registryFailures(err)
	if err != nil && len(failed) == 0 {
		return finder.Result{}, err
	}
	if (len(failed) > 0 || engineErr != nil) && len(failed) == len(regs) && (!o.docker || engineErr != nil) {
		// Nowhere answered: that is the error, not a warning.
		errs := make([]error, 0, len(failed)+1)
		for _, rf := range failed {
			errs = append(errs, rf.Err)
		}
		return finder.Result{}, errors.Join(append(errs, engineErr)...)
	}
	// Some place answered: its builds are worth showing at 3 a.m., with
	// each failure said as a warning.
	for _, rf := range failed {
		o.warn(rf.Err)
		res.Warnings = append(res.Warnings, fmt.Sprintf("registry %s was not scanned: %s", rf.Registry, text.OneLine(rf.Err)))
	}
	if res.Incomplete && !o.incomplete {
		return finder.Result{}, &IncompleteError{Unread: res.Unread}
	}
	if engineErr != nil {
		o.warn(engineErr)
		res.Warnings = append(res.Warnings, "the local Docker engine was not scanned: "+text.OneLine(engineErr))
	}
	switch {
	case skipped > 0 && bad.restored:
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d known-good tag(s) skipped: after %s, which production runs", skipped, bad.ref))
	case skipped > 0:
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d known-good tag(s) skipped: at or after the bad deploy %s", skipped, bad.ref))
	}
	sources, sourceWarnings, err := findSources(ctx, repo, goods, badCommit)
	if ctx.Err() != nil {
		// Interrupted (a fetch stopped by Ctrl-C is only a warning to
		// findSources): what was found so far is not the answer.
		return finder.Result{}, ctx.Err()
	}
	if err != nil {
		return finder.Result{}, err
	}
	res.Sources = sources
	if bad != nil && !bad.restored {
		res.Bad = &finder.Bad{Ref: bad.ref, Commit: bad.commit.Hash, From: bad.from}
	}
	res.Assumed = bad == nil && o.good == "" && !noProduction
	res.Warnings = append(append(warnings, res.Warnings...), sourceWarnings...)
	return res, nil
}

// check is the input that needs no network.
func (o *options) check() error {
	if o.depth < 1 {
		return inputf("--depth must be at least 1, not %d", o.depth)
	}
	for _, image := range o.images {
		if err := CheckImage(image); err != nil {
			return err
		}
	}
	if o.target != "" && o.running == "" {
		if err := CheckTarget(o.target); err != nil {
			return err
		}
	}
	return nil
}

func (o *options) openRepository(image string) (finder.Registry, error) {
	if o.repository != nil {
		return o.repository(image)
	}
	r, err := artifacts.NewRepository(image, append([]artifacts.Option{artifacts.WithCacheDir(o.cacheDir), artifacts.WithProvenance(!o.noProv)}, o.registry...)...)
	if err != nil {
		return nil, &InputError{msg: err.Error()}
	}
	return r, nil
}

// localImages lists the Docker engine's images.
func (o *options) localImages(ctx context.Context) ([]types.Artifact, error) {
	connect := o.engine
	if connect == nil {
		connect = func(ctx context.Context) (Engine, error) { return artifacts.NewEngine(ctx, o.engineOpts...) }
	}
	engine, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	defer engine.Close()
	return engine.Images(ctx)
}

// selectGood picks the known-good candidates: the ref named by WithGood,
// or the tags matching WithGoodTags, newest first, without those at or
// after the bad deploy, at most depth of them. The bad deploy comes back
// nil when production turns out to run the --good commit itself. Unless
// noProduction says nothing runs in production yet, a missing bad deploy
// is warned about: the newest tag is then only assumed good.
func (o *options) selectGood(repo *gitops.Repo, bad *badDeploy, noProduction bool) (goods []finder.Good, _ *badDeploy, skipped int, warnings []string, err error) {
	if o.good != "" {
		c, err := repo.Resolve(o.good)
		if err != nil {
			return nil, nil, 0, nil, fmt.Errorf("--good: %w", err)
		}
		if bad != nil && c.Hash == bad.commit.Hash {
			if bad.from == "--bad" {
				return nil, nil, 0, nil, inputf("--good %q and --bad %q are the same commit %s", o.good, o.bad, text.ShortHash(c.Hash))
			}
			warnings = append(warnings, fmt.Sprintf("%s already runs the commit of --good %s", strings.TrimPrefix(bad.from, "production tag "), o.good))
			bad = nil
		}
		return []finder.Good{{Tag: o.good, Commit: c.Hash, Tree: c.Tree, Time: c.Time, CommitTime: c.Time}}, bad, 0, warnings, nil
	}
	globs := o.goodTags
	if len(globs) == 0 {
		globs = []string{"*"}
	}
	tags, err := repo.Tags(globs)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	if len(tags) == 0 {
		return nil, nil, 0, nil, inputf("no git tag matches --good-tags %q. List the tags with 'git tag -l', or name the good commit with --good REF", globs)
	}
	for _, t := range tags {
		if len(goods) == o.depth {
			break
		}
		if bad != nil {
			after, err := repo.IsAncestor(bad.commit.Hash, t.Commit.Hash)
			if err != nil {
				return nil, nil, 0, nil, err
			}
			if after && !(bad.restored && t.Commit.Hash == bad.commit.Hash) {
				skipped++
				continue
			}
		}
		goods = append(goods, finder.Good{Tag: t.Name, Commit: t.Commit.Hash, Tree: t.Commit.Tree, Time: t.Time, CommitTime: t.Commit.Time})
	}
	if len(goods) == 0 {
		return nil, nil, 0, nil, fmt.Errorf("every tag matching %q is at or after the bad deploy %q (from %s): %w. Name an older good commit with --good REF", globs, bad.ref, bad.from, errs.ErrNothingGood)
	}
	if bad == nil && !noProduction {
		warnings = append(warnings, fmt.Sprintf("no bad deploy named: assuming the newest tag %s is good; name the bad deploy with --bad REF, or give the production tag with --to HOST/REPO:TAG", goods[0].Tag))
	}
	return goods, bad, skipped, warnings, nil
}

// registryFailures are the registries finder.Find could not list.
func registryFailures(err error) []*finder.RegistryError {
	var out []*finder.RegistryError
	var walk func(error)
	walk = func(err error) {
		var re *finder.RegistryError
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
		} else if errors.As(err, &re) {
			out = append(out, re)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}
