package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/internal/digest"
)

// PinCmd is `lkg pin`.
type PinCmd struct {
	FindFlags
	Keep   int  `default:"3" placeholder:"K" help:"Pin the best build of each of the last K known-good tags (default: ${default}); replaces --depth." env:"LKG_KEEP" config:"keep"`
	List   bool `help:"List the pins in the --image repositories, and change nothing."`
	Force  bool `help:"Move a pin tag that points at another build (without it, such a tag is left alone and named)."`
	DryRun bool `name:"dry-run" help:"Say what would be pinned, and change nothing."`
	JSON   bool `name:"json" help:"Print exactly one JSON object instead of the table."`
}

// Help is the long text of `lkg pin --help`.
func (c *PinCmd) Help() string {
	return `Tags the best build of each of the last K known-good tags as lkg-keep-<good tag>
in the build's own repository, by digest (one manifest PUT, nothing pulled), so a
registry retention rule that keeps the lkg-keep- prefix keeps the way back. The
pattern is pin_pattern in .lkg.yaml ({tag} stands for the good tag). The build
production runs (--to) is pinned too: pin takes no bad deploy from it.

Pinning again changes nothing. A pin tag that exists and points at another build
is left alone and named with both digests, unless --force. During an outage,
find ranks a pinned build first among builds of equal match.

Exit codes: 0 every tag with a build is pinned, 4 no build to pin, 1 a pin was
refused or failed, 2 usage or configuration error.`
}

// Validate checks the flags that need no network.
func (c *PinCmd) Validate() error {
	if c.Keep < 1 {
		return usagef("--keep must be at least 1, not %d", c.Keep)
	}
	return nil
}

// Run pins, or lists the pins.
func (c *PinCmd) Run(ctx context.Context, g *Globals, repo *gitops.Repo, std *IO) error {
	cfg, err := g.Config()
	if err != nil {
		return err
	}
	copier, err := artifacts.NewCopier(g.copierOptions(std)...)
	if err != nil {
		return err
	}
	if c.List {
		if len(c.Images) == 0 {
			return usagef("--list needs the repositories to look in: --image HOST/REPO (or images in .lkg.yaml)")
		}
		pins, err := deploy.ListPins(ctx, copier, c.Images, pinPattern(cfg))
		if err != nil {
			return err
		}
		if c.JSON {
			return writeJSON(std.Out, map[string]any{"pins": pins})
		}
		if len(pins) == 0 {
			fmt.Fprintln(std.Out, "No pins.")
			return nil
		}
		tw := tabwriter.NewWriter(std.Out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PIN\tGOOD\tDIGEST")
		for _, p := range pins {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Pin, p.GoodTag, p.Digest)
		}
		return tw.Flush()
	}
	// What production runs now is the first thing worth keeping: unlike
	// find, pin does not take it for the bad deploy (only --bad says so).
	f := c.FindFlags
	f.To = ""
	res, err := findKnownGood(ctx, g, std, repo, f, c.Keep)
	if err != nil {
		return err
	}
	pins, perr := deploy.Pin(ctx, copier, res, pinTagOf(cfg), deploy.WithForce(c.Force), deploy.WithPinDryRun(c.DryRun))
	if c.JSON {
		if err := writeJSON(std.Out, map[string]any{"pins": pins}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(std.Out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "GOOD\tPIN\tDIGEST\tSTATUS")
		for _, p := range pins {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.GoodTag, orDash(p.Pin), orDash(digest.Short(p.Digest)), pinWords(p))
		}
		tw.Flush()
	}
	if perr != nil {
		// One line per refusal or failure; the first decides the code.
		var joined interface{ Unwrap() []error }
		if errors.As(perr, &joined) {
			errs := joined.Unwrap()
			for _, e := range errs[:len(errs)-1] {
				line, _ := describe(e, false)
				fmt.Fprintf(std.Err, "lkg: %s\n", line)
			}
			return errs[len(errs)-1]
		}
		return perr
	}
	for _, p := range pins {
		if p.Status != deploy.PinNoBuild {
			return nil
		}
	}
	fmt.Fprintln(std.Err, "lkg: no registry build of the known-good tags to pin. Run 'lkg find' to see what there is")
	return status(exitNotFound)
}

// pinWords says what happened to one pin, for the table.
func pinWords(p deploy.PinResult) string {
	switch p.Status {
	case deploy.PinCreated:
		return "pinned"
	case deploy.PinUnchanged:
		return "already pinned"
	case deploy.PinMoved:
		return "moved (was " + digest.Short(p.Previous) + ", --force)"
	case deploy.PinRefused:
		if p.Previous != "" && p.Previous != p.Digest {
			return "REFUSED: points at " + digest.Short(p.Previous)
		}
		return "FAILED"
	case deploy.PinNotRestore:
		return "NOT RESTORABLE: not pinned"
	case deploy.PinNoBuild:
		return "no build to pin"
	case deploy.PinDryRun:
		return "would pin (dry run)"
	}
	return string(p.Status)
}

// pinPattern is pin_pattern from .lkg.yaml, or the default.
func pinPattern(cfg *config.Config) string {
	if cfg != nil && cfg.PinPattern != "" {
		return cfg.PinPattern
	}
	return config.DefaultPinPattern
}

// pinTagOf names a good tag's pin under the configured pattern.
func pinTagOf(cfg *config.Config) func(goodTag string) string {
	pattern := pinPattern(cfg)
	return func(goodTag string) string { return config.PinTag(pattern, goodTag) }
}
