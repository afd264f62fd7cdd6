package cli

import (
	"cmp"
	"context"
	"fmt"
	"github.com/lkg-dev/lkg/internal/imageref"
	"text/tabwriter"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/types"
)

// StatusCmd is `lkg status`.
type StatusCmd struct {
	GoodTags []string `name:"good-tags" placeholder:"GLOB" help:"Known-good tags are those matching GLOB (default: every tag)." env:"LKG_GOOD_TAGS" config:"good_tags"`
	JSON     bool     `name:"json" help:"Print exactly one JSON object instead of the table."`
}

// Help is the long text of `lkg status --help`.
func (c *StatusCmd) Help() string {
	return `Shows what every environment in .lkg.yaml runs now, in the file's order: the
digest its tag points at, the revision the build records, the nearest known-good
tag and how it matches (exact: that tag's commit; tree: identical source;
contains: a later commit), and the build's age.

  environments:
    staging: {to: registry.example.com/app:staging, verify_url: https://staging.example.com/health}
    prod:    {to: registry.example.com/app:prod, verify_url: https://example.com/health}

Exit codes: 0 every environment was read, 1 one could not be, 2 no environments
configured.`
}

// Run reads each environment's tag and places its build among the good tags.
func (c *StatusCmd) Run(ctx context.Context, g *Globals, std *IO) error {
	cfg, err := g.Config()
	if err != nil {
		return err
	}
	if len(cfg.Environments) == 0 {
		return usagef("no environments in %s. Add them like: environments: {staging: {to: HOST/REPO:staging}, prod: {to: HOST/REPO:prod}}", configName(cfg))
	}
	repo, err := g.openRepo(gitops.WithNoFetch(true))
	if err != nil {
		return err
	}
	globs := c.GoodTags
	if len(globs) == 0 {
		globs = []string{"*"}
	}
	tags, err := repo.Tags(globs)
	if err != nil {
		return err
	}
	goods := make([]finder.Good, 0, len(tags))
	for _, t := range tags {
		goods = append(goods, finder.Good{Tag: t.Name, Commit: t.Commit.Hash, Tree: t.Commit.Tree, Time: t.Time})
	}
	inspect := func(ctx context.Context, image string) (types.Artifact, error) {
		ref, err := imageref.Parse(image)
		if err != nil {
			return types.Artifact{}, err
		}
		r, err := artifacts.NewRepository(ref.Repo(), append(g.registryOptions(std), artifacts.WithCacheDir(g.cacheDir()))...)
		if err != nil {
			return types.Artifact{}, err
		}
		return r.Inspect(ctx, cmp.Or(ref.Digest(), ref.Tag()), false)
	}
	states := make([]deploy.EnvState, 0, len(cfg.Environments))
	failed := 0
	for _, e := range cfg.Environments {
		t, err := g.openEnvTarget(std, e, 0)
		if err != nil {
			return usagef("environment %s in %s: %v", e.Name, configName(cfg), err)
		}
		st := deploy.EnvStatus(ctx, e.Name, t, inspect, repo, goods)
		if st.Error != "" {
			failed++
		}
		states = append(states, st)
	}
	if c.JSON {
		if err := writeJSON(std.Out, map[string]any{"environments": states}); err != nil {
			return err
		}
	} else {
		printStatus(std, states)
	}
	if failed > 0 {
		return status(exitFailure)
	}
	return nil
}

func printStatus(std *IO, states []deploy.EnvState) {
	now := time.Now()
	tw := tabwriter.NewWriter(std.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENV\tTARGET\tDIGEST\tREVISION\tGOOD\tMATCH\tAGE")
	for _, s := range states {
		if s.Error != "" && s.Digest == "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\n", s.Env, s.Target)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Env, s.Target, digest.Short(s.Digest), orDash(text.ShortHash(s.Revision)), orDash(s.GoodTag), orDash(string(s.Match)), age(s.Created, now))
	}
	tw.Flush()
	for _, s := range states {
		if s.Error != "" {
			fmt.Fprintf(std.Err, "lkg: %s: %s\n", s.Env, s.Error)
		}
	}
}

// configName is the settings file as errors name it.
func configName(cfg *config.Config) string {
	if cfg != nil && cfg.Path != "" {
		return cfg.Path
	}
	return config.FileName
}
