package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/internal/demo"
)

// DemoCmd is `lkg demo`: a whole incident, staged in a temp dir, so a
// newcomer sees lkg work with nothing installed but Go.
type DemoCmd struct {
	Keep bool `help:"Keep the demo repository instead of deleting it at the end."`
	JSON bool `name:"json" help:"Print find's JSON instead of the table."`
}

// Help is the long text of `lkg demo --help`.
func (c *DemoCmd) Help() string {
	return `Stages a throwaway incident: a git repository whose v1.5.0 deploy broke
production, an in-process image registry holding the team's labelled builds, and a
release branch. Then runs, for real:

  lkg find -C <repo> --image <registry>/shop/api --good-tags 'v*' --bad v1.5.0
  lkg deploy -C <repo> --bad v1.5.0 --dry-run
  lkg check -C <repo>

Nothing outside a temp dir is touched; the registry lives only as long as the demo.`
}

// demoRelease is one release in the demo's history.
type demoRelease struct {
	tag, file, content, msg string
	at                      time.Time
}

// Run stages the incident and runs find on it.
func (c *DemoCmd) Run(ctx context.Context, std *IO) error {
	dir, err := os.MkdirTemp("", "lkg-demo-")
	if err != nil {
		return fmt.Errorf("making the demo's temp dir: %w", err)
	}
	if c.Keep {
		fmt.Fprintf(std.Err, "demo repository kept at %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	// The demo's runs read only the demo's settings: none of the user's
	// LKG_* variables (another service's images, good tags, target), and
	// not the user's cache.
	clearLKGEnv()
	if err := os.Setenv("LKG_CACHE_DIR", filepath.Join(dir, "cache")); err != nil {
		return err
	}

	repoDir := filepath.Join(dir, "shop-api")
	commits, err := demoRepo(repoDir)
	if err != nil {
		return fmt.Errorf("staging the demo repository: %w", err)
	}
	reg, err := demo.StartRegistry()
	if err != nil {
		return fmt.Errorf("starting the demo registry: %w", err)
	}
	defer reg.Close()
	repo := reg.Addr + "/shop/api"
	for _, img := range []struct {
		tag, rev string
		at       time.Time
	}{
		{"sha-" + commits["v1.3.0"][:7], commits["v1.3.0"], demoTime(0)},
		{"sha-" + commits["v1.4.0"][:7], commits["v1.4.0"], demoTime(2)},
		{"sha-" + commits["v1.4.1"][:7], commits["v1.4.1"], demoTime(4)},
		{"sha-" + commits["v1.5.0"][:7], commits["v1.5.0"], demoTime(6)},
		{"latest", commits["v1.5.0"], demoTime(6)},
		{"prod", commits["v1.5.0"], demoTime(6)}, // production runs the bad deploy
	} {
		spec := demo.Image{
			Labels: map[string]string{
				"org.opencontainers.image.revision": img.rev,
				"org.opencontainers.image.source":   "https://git.example.com/shop/api",
			},
			Created: img.at.Add(5 * time.Minute),
			Seed:    img.rev,
		}
		if _, err := demo.Push(ctx, repo+":"+img.tag, spec); err != nil {
			return fmt.Errorf("pushing the demo image %s: %w", img.tag, err)
		}
	}

	// The team's settings, as a real repo would keep them: where to deploy.
	cfg := fmt.Sprintf("# lkg settings for shop-api\nimages: [%s]\ngood_tags: [\"v*\"]\nto: %s:prod\n", repo, repo)
	if err := os.WriteFile(filepath.Join(repoDir, config.FileName), []byte(cfg), 0o644); err != nil {
		return err
	}

	fmt.Fprintf(std.Err, `The incident: shop-api v1.5.0 went to production and broke it.
  git repository  %s (tags v1.3.0, v1.4.0, v1.4.1, v1.5.0; branch release/1.4)
  registry        %s (builds labelled with their git revision)
  .lkg.yaml       deploy target %s:prod

$ lkg find -C %s --image %s --good-tags 'v*' --bad v1.5.0

`, repoDir, repo, repo, repoDir, repo)
	args := []string{"find", "-C", repoDir, "--image", repo, "--good-tags", "v*", "--bad", "v1.5.0", "--no-fetch"}
	if c.JSON {
		args = append(args, "--json")
	}
	if code := run(ctx, args, std); code != exitOK {
		return status(code)
	}
	if c.JSON {
		return nil
	}

	// The next step, planned but not taken: the demo changes nothing.
	fmt.Fprintf(std.Err, "\n$ lkg deploy -C %s --bad v1.5.0 --dry-run   (images, good tags and --to come from .lkg.yaml)\n\n", repoDir)
	if code := run(ctx, []string{"deploy", "-C", repoDir, "--bad", "v1.5.0", "--no-fetch", "--dry-run"}, std); code != exitOK {
		return status(code)
	}
	// Before the next outage: the drill a scheduled CI job runs.
	fmt.Fprintf(std.Err, "\n$ lkg check -C %s   (the restore drill for a scheduled CI job)\n\n", repoDir)
	if code := run(ctx, []string{"check", "-C", repoDir, "--no-fetch"}, std); code != exitOK {
		return status(code)
	}
	return nil
}

// demoTime is the demo's clock: releases a day apart, ending a day ago.
func demoTime(hoursIn int) time.Time {
	base := time.Now().UTC().Truncate(time.Hour).Add(-7 * 24 * time.Hour)
	return base.Add(time.Duration(hoursIn) * 24 * time.Hour)
}

// demoRepo writes the demo's history with go-git (no git binary needed) and
// returns each tag's commit hash.
func demoRepo(dir string) (map[string]string, error) {
	r, err := git.PlainInit(dir, false)
	if err != nil {
		return nil, err
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, err
	}
	releases := []demoRelease{
		{"v1.3.0", "main.go", "package main\n\nfunc main() { serve(\":8080\") }\n", "Serve the shop API (#101)", demoTime(0)},
		{"v1.4.0", "cart.go", "package main\n\n// cart totals\n", "Add cart totals (#112)", demoTime(2)},
		{"v1.4.1", "cart.go", "package main\n\n// cart totals, rounding fixed\n", "Fix rounding in cart totals (#118)", demoTime(4)},
		{"v1.5.0", "cache.go", "package main\n\n// a new cache layer that breaks checkout\n", "Add a cache layer in front of the cart (#120)", demoTime(6)},
	}
	hashes := map[string]string{}
	sig := func(at time.Time) *object.Signature {
		return &object.Signature{Name: "Ada Oncall", Email: "ada@example.com", When: at}
	}
	for _, rel := range releases {
		if err := os.WriteFile(filepath.Join(dir, rel.file), []byte(rel.content), 0o644); err != nil {
			return nil, err
		}
		if _, err := wt.Add(rel.file); err != nil {
			return nil, err
		}
		h, err := wt.Commit(rel.msg, &git.CommitOptions{Author: sig(rel.at), Committer: sig(rel.at)})
		if err != nil {
			return nil, err
		}
		if _, err := r.CreateTag(rel.tag, h, &git.CreateTagOptions{Tagger: sig(rel.at), Message: "release " + rel.tag}); err != nil {
			return nil, err
		}
		hashes[rel.tag] = h.String()
		if rel.tag == "v1.4.1" {
			ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName("release/1.4"), h)
			if err := r.Storer.SetReference(ref); err != nil {
				return nil, err
			}
		}
	}
	// A remote the demo never contacts (find runs with --no-fetch), so the
	// sources table shows where a teammate's copy would come from.
	if _, err := r.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{"https://git.example.com/shop/api.git"}}); err != nil {
		return nil, err
	}
	return hashes, nil
}

// clearLKGEnv unsets every LKG_* variable for the rest of this process.
func clearLKGEnv() {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "LKG_") {
			os.Unsetenv(k)
		}
	}
}
