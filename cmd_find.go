package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/journal"
	"github.com/lkg-dev/lkg/types"
)

// FindFlags select the known-good code and where to look for builds of it.
// deploy embeds them: it deploys what find finds.
type FindFlags struct {
	Good        string   `placeholder:"REF" help:"The known-good commit-ish (tag, branch, sha, short sha). Wins over --good-tags." env:"LKG_GOOD" config:"good"`
	GoodTags    []string `name:"good-tags" placeholder:"GLOB" help:"Known-good tags are those matching GLOB, newest first (default: every tag)." env:"LKG_GOOD_TAGS" config:"good_tags"`
	Bad         string   `placeholder:"REF" help:"The broken deploy: tags at it, or after it, are skipped." env:"LKG_BAD"`
	Depth       int      `default:"5" placeholder:"N" help:"Fall back through at most N known-good tags (default: ${default})." env:"LKG_DEPTH" config:"depth"`
	Images      []string `name:"image" placeholder:"REPO" help:"Image repository to scan, as HOST/REPO (repeatable)." env:"LKG_IMAGES" config:"images"`
	Docker      bool     `help:"Also look at images in the local Docker engine." env:"LKG_DOCKER" config:"docker"`
	Remotes     []string `name:"remote" placeholder:"NAME|URL" help:"Extra git remote or fork URL to look for branches on (repeatable)." env:"LKG_REMOTES" config:"remotes"`
	NoFetch     bool     `name:"no-fetch" help:"Contact no git remote: use only what the repository already has." env:"LKG_NO_FETCH"`
	VerifyAll   bool     `name:"verify-all" help:"Read every tag's image config instead of trusting revisions in tag names." env:"LKG_VERIFY_ALL" config:"verify_all"`
	TagPatterns []string `name:"tag-pattern" sep:"none" placeholder:"REGEX" help:"Regular expression with a named group (?P<rev>...) that reads a revision from an image tag (repeatable, not comma-separated; replaces the defaults)." env:"LKG_TAG_PATTERNS" config:"tag_patterns"`
}

// FindCmd is `lkg find`.
type FindCmd struct {
	FindFlags
	JSON bool `name:"json" help:"Print exactly one JSON object (its fields are listed in the README) instead of the table."`
}

// Help is the long text of `lkg find --help`.
func (c *FindCmd) Help() string {
	return `Finds builds of the known-good code in the image registries given with --image and,
with --docker, in the local Docker engine; and the git refs (local and remote
branches, teammates' refs, forks) the code could be rebuilt from.

A build matches "exact" when it records the known-good commit, "tree" when it records
another commit with identical source (a rebase or squash), "tag" when it records no
revision but its tag equals the git tag's name (weak evidence). The revision is read
from image labels (org.opencontainers.image.revision, org.label-schema.vcs-ref,
vcs-ref), the manifest annotation, or the tag name (sha-<hex>, <name>-<hex>, 40 hex).

Exit codes: 0 a build was found, 3 no build but a ref to rebuild from, 4 nothing
found, 2 usage or configuration error, 1 any other failure.`
}

// Run prints the ranked builds and sources, and exits by what was found.
func (c *FindCmd) Run(ctx context.Context, g *Globals, std *IO) error {
	res, repo, err := c.FindFlags.find(ctx, g, std)
	if err != nil {
		return err
	}
	recordFind(repo, std, res)
	if c.JSON {
		if err := writeJSON(std.Out, res); err != nil {
			return err
		}
	} else {
		printFind(std.Out, res, c.FindFlags, g)
	}
	return findStatus(res)
}

// findStatus is the exit code a find result carries.
func findStatus(res finder.Result) error {
	switch {
	case res.Best != nil:
		return nil
	case len(res.Sources) > 0:
		return status(exitSources)
	default:
		return status(exitNotFound)
	}
}

// find runs the whole search: known-good selection, the registry and engine
// scan, matching, and the git sources.
func (f *FindFlags) find(ctx context.Context, g *Globals, std *IO) (finder.Result, *gitops.Repo, error) {
	if f.Depth < 1 {
		return finder.Result{}, nil, usagef("--depth must be at least 1, not %d", f.Depth)
	}
	if _, err := g.Config(); err != nil {
		return finder.Result{}, nil, err
	}
	patterns, err := finder.CompileTagPatterns(f.TagPatterns)
	if err != nil {
		return finder.Result{}, nil, usageError{err}
	}
	repo, err := g.openRepo(f.gitOptions()...)
	if err != nil {
		return finder.Result{}, nil, err
	}
	goods, bad, skipped, err := f.selectGood(repo)
	if err != nil {
		return finder.Result{}, repo, err
	}
	regs := make([]finder.Registry, 0, len(f.Images))
	for _, image := range f.Images {
		r, err := artifacts.NewRepository(image, artifacts.WithCacheDir(g.cacheDir()))
		if err != nil {
			return finder.Result{}, repo, usageError{err}
		}
		regs = append(regs, r)
	}
	var local []types.Artifact
	if f.Docker {
		if local, err = localImages(ctx); err != nil {
			return finder.Result{}, repo, err
		}
	}
	opts := finder.Options{TagPatterns: patterns, VerifyAll: f.VerifyAll}
	if std.ErrTerminal {
		p := newProgress(std.Err, "inspecting images")
		defer p.Done()
		opts.Progress = p.Update
	}
	res, err := finder.Find(ctx, goods, repo, regs, local, opts)
	if err != nil {
		failed := registryFailures(err)
		if len(failed) == 0 || len(failed) == len(regs) && !f.Docker {
			return finder.Result{}, repo, registryError(err, failed)
		}
		// Some registries answered: their builds are worth showing at 3 a.m.,
		// with the failure said on stderr and in the warnings.
		for _, rf := range failed {
			line, _ := describe(rf.Err)
			fmt.Fprintf(std.Err, "lkg: warning: %s\n", line)
			res.Warnings = append(res.Warnings, fmt.Sprintf("registry %s was not scanned: %s", rf.Registry, text.OneLine(rf.Err)))
		}
	}
	if skipped > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d known-good tag(s) skipped: at or after the bad deploy %s", skipped, f.Bad))
	}
	sources, warnings, err := findSources(ctx, repo, goods, bad)
	if err != nil {
		return finder.Result{}, repo, err
	}
	res.Sources = sources
	res.Warnings = append(res.Warnings, warnings...)
	return res, repo, nil
}

// selectGood picks the known-good candidates: the ref
// named by --good, or the tags matching --good-tags, newest first, without
// those at or after --bad, at most --depth of them.
func (f *FindFlags) selectGood(repo *gitops.Repo) (goods []finder.Good, bad *types.Commit, skipped int, err error) {
	if f.Bad != "" {
		b, err := repo.Resolve(f.Bad)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("--bad: %w", err)
		}
		bad = &b
	}
	if f.Good != "" {
		c, err := repo.Resolve(f.Good)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("--good: %w", err)
		}
		if bad != nil && c.Hash == bad.Hash {
			return nil, nil, 0, usagef("--good %q and --bad %q are the same commit %s", f.Good, f.Bad, text.ShortHash(c.Hash))
		}
		return []finder.Good{{Tag: f.Good, Commit: c.Hash, Tree: c.Tree, Time: c.Time}}, bad, 0, nil
	}
	globs := f.GoodTags
	if len(globs) == 0 {
		globs = []string{"*"}
	}
	tags, err := repo.Tags(globs)
	if err != nil {
		return nil, nil, 0, err
	}
	if len(tags) == 0 {
		return nil, nil, 0, usagef("no git tag matches --good-tags %q. List the tags with 'git tag -l', or name the good commit with --good REF", globs)
	}
	for _, t := range tags {
		if len(goods) == f.Depth {
			break
		}
		if bad != nil {
			after, err := repo.IsAncestor(bad.Hash, t.Commit.Hash)
			if err != nil {
				return nil, nil, 0, err
			}
			if after {
				skipped++
				continue
			}
		}
		goods = append(goods, finder.Good{Tag: t.Name, Commit: t.Commit.Hash, Tree: t.Commit.Tree, Time: t.Time})
	}
	if len(goods) == 0 {
		return nil, nil, 0, fmt.Errorf("every tag matching %q is at or after the bad deploy %q: %w. Name an older good commit with --good REF", globs, f.Bad, errNothingGood)
	}
	return goods, bad, skipped, nil
}

// errNothingGood: no known-good candidate survives --bad. Nothing can be
// found, so it exits 4 like an empty find.
var errNothingGood = errors.New("no known-good candidate")

// gitOptions are how find may talk to git remotes.
func (f *FindFlags) gitOptions() []gitops.Option {
	return []gitops.Option{gitops.WithRemotes(f.Remotes...), gitops.WithNoFetch(f.NoFetch)}
}

// localImages lists the Docker engine's images.
func localImages(ctx context.Context) ([]types.Artifact, error) {
	engine, err := artifacts.NewEngine(ctx)
	if err != nil {
		return nil, err
	}
	defer engine.Close()
	return engine.Images(ctx)
}

// registryFailures are the registries Find could not list.
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
	walk(err)
	return out
}

// registryError is the error find fails with when no registry answered:
// each registry's own error, which already names the registry.
func registryError(err error, failed []*finder.RegistryError) error {
	if len(failed) == 0 {
		return err
	}
	errs := make([]error, 0, len(failed))
	for _, rf := range failed {
		errs = append(errs, rf.Err)
	}
	return errors.Join(errs...)
}

// age says how long ago t was, roughly, for a table read under stress.
func age(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

// recordFind journals what find answered. A find must still answer when the
// journal cannot be written (a read-only checkout): appendEvent has printed
// the event, and the failure is a warning on stderr.
func recordFind(repo *gitops.Repo, std *IO, res finder.Result) {
	data := journal.FindData{Builds: len(res.Builds), Sources: len(res.Sources)}
	if len(res.Good) > 0 {
		data.GoodTag = res.Good[0].Tag
	}
	if res.Best != nil {
		data.GoodTag = res.Best.GoodTag
		data.Best = res.Best.Image + "@" + res.Best.Digest
	}
	e, err := journal.NewEvent(journal.KindFind, "", data)
	if err == nil {
		_, err = appendEvent(repo.GitDir(), std.Err, e)
	}
	if err != nil {
		fmt.Fprintf(std.Err, "lkg: warning: %s\n", text.OneLine(err))
	}
}
