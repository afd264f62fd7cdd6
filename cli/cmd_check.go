package cli

import (
	"context"
	"fmt"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/text"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/drill"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/types"
)

// CheckCmd is `lkg check`.
type CheckCmd struct {
	FindFlags
	Keep int  `default:"3" placeholder:"K" help:"Check the last K known-good tags (default: ${default}); replaces --depth." env:"LKG_KEEP" config:"keep"`
	JSON bool `name:"json" help:"Print exactly one JSON object (its fields are in docs/json.md) instead of the table."`
}

// Help is the long text of `lkg check --help`.
func (c *CheckCmd) Help() string {
	return `The restore drill, for a scheduled CI job: for the last K known-good tags it runs
the same find as an outage would, then asks of each tag's best build:

  restorable  does the registry still serve its manifest, and every config and
              layer (HEAD requests, nothing is pulled), for every platform the
              --to tag runs? An index whose children are gone is not.
  deploy plan would 'lkg deploy --to' go through (its dry run)?
  rebuild     is there a git ref to rebuild the code from?

In a shallow clone (CI checkouts usually are) check first fetches the known-good
tags and the commits they point at, at depth 1, and says so; nothing more. With
--no-fetch it uses what the clone has.

Exit codes: 0 the newest fallback (the newest known-good tag production does not
run) is restorable, 6 it is not, 2 usage or configuration error, 1 the drill
could not run (registry unreachable, a shallow clone whose tags cannot be
fetched).`
}

// Validate checks the flags that need no network.
func (c *CheckCmd) Validate() error {
	if c.Keep < 1 {
		return usagef("--keep must be at least 1, not %d", c.Keep)
	}
	if c.To != "" {
		return checkTarget(c.To)
	}
	return nil
}

// Run deepens a shallow clone as far as the drill needs, runs find over the
// last --keep good tags, and checks each one's build. The production tag
// (--to) gives the platforms every build must have and the deploy plan's
// target; find reads the bad deploy from it, so the tags checked are the
// ones an outage would fall back to.
func (c *CheckCmd) Run(ctx context.Context, g *Globals, repo *gitops.Repo, std *IO) error {
	deepened, repo, err := deepenForDrill(ctx, g, std, repo, c.FindFlags)
	if err != nil {
		return err
	}
	res, err := findKnownGood(ctx, g, std, repo, c.FindFlags, c.Keep)
	if err != nil {
		return err
	}
	copier, err := g.copier(std)
	if err != nil {
		return err
	}
	var target deploy.Target
	if c.To != "" {
		if target, err = g.openTarget(std, c.To, 0); err != nil {
			return err
		}
	}
	rep, err := drill.Check(ctx, copier, res, target)
	if err != nil {
		return err
	}
	rep.Deepened = deepened
	if c.JSON {
		if err := writeJSON(std.Out, rep); err != nil {
			return err
		}
	} else {
		printCheck(std.Out, rep)
	}
	if !rep.Restorable {
		return drillFailed(rep)
	}
	return nil
}

// findKnownGood is find over the last keep known-good tags: the one place
// check and pin run the search.
func findKnownGood(ctx context.Context, g *Globals, std *IO, repo *gitops.Repo, f FindFlags, keep int) (finder.Result, error) {
	f.Depth = keep
	return runFind(ctx, g, std, repo, f, nil)
}

// deepenForDrill fetches, into a shallow clone, the known-good tags and
// the commits they point at, and returns what it did in words ("" when the
// clone is not shallow) and the repository reopened to see them.
func deepenForDrill(ctx context.Context, g *Globals, std *IO, repo *gitops.Repo, f FindFlags) (string, *gitops.Repo, error) {
	if !repo.IsShallow() || (f.Good != "" && !looksLikeTag(f.Good)) {
		return "", repo, nil
	}
	if f.NoFetch {
		msg := "shallow clone and --no-fetch: only the tags it has are checked"
		std.warnf("%s", msg)
		return msg, repo, nil
	}
	globs := f.GoodTags
	if f.Good != "" {
		globs = []string{f.Good}
	}
	d, err := repo.DeepenTags(ctx, globs)
	if err != nil {
		return "", nil, err
	}
	msg := fmt.Sprintf("shallow clone: fetched %d tag(s) and the commits they point at, at depth 1, from %s (%s)", d.Tags, d.Remote, d.Command)
	fmt.Fprintf(std.Err, "lkg: %s\n", msg)
	// A fresh open sees the new tags and packs.
	repo, err = f.ProvideRepo(g, std)
	return msg, repo, err
}

// looksLikeTag says a --good value could be a tag rather than a hash.
func looksLikeTag(ref string) bool {
	return !text.IsHex(ref) || len(ref) < 7
}

// drillError is a failed drill: exit 6, with why on stderr.
type drillError struct{ msg string }

func (e drillError) Error() string { return e.msg }
func (e drillError) ExitCode() int { return exitNoFallback }

func drillFailed(rep *drill.Report) error {
	if rep.Fallback == "" {
		return drillError{"no restorable fallback: no known-good tag besides the one production runs. Widen --good-tags or raise --keep"}
	}
	for _, t := range rep.Tags {
		if t.GoodTag != rep.Fallback {
			continue
		}
		why := t.Note
		if t.Build == nil {
			why = "no build of it was found"
		}
		return drillError{fmt.Sprintf("no restorable fallback: %s: %s. Push or rebuild a build of %s, then keep it with 'lkg pin'", rep.Fallback, why, rep.Fallback)}
	}
	return drillError{"no restorable fallback"}
}

// orUnchecked is t, or a verdict saying nothing was checked.
func orUnchecked(t *types.Trust) *types.Trust {
	if t == nil {
		return &types.Trust{State: "-"}
	}
	return t
}

// printCheck writes the drill's table.
func printCheck(w io.Writer, rep *drill.Report) {
	switch {
	case rep.Target == "":
		fmt.Fprintln(w, "Restore drill (no --to: every platform checked, no deploy plan tried)")
	case rep.Current == "":
		fmt.Fprintf(w, "Restore drill for %s (the tag does not exist yet)\n", rep.Target)
	default:
		fmt.Fprintf(w, "Restore drill for %s (now %s, runs %s)\n", rep.Target, digest.Short(rep.Current), orDash(strings.Join(rep.Platforms, ", ")))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// A trust policy adds each fallback's signature state to its match.
	trusted := slices.ContainsFunc(rep.Tags, func(t drill.Tag) bool { return t.Build != nil && t.Build.Trust != nil })
	if trusted {
		fmt.Fprintln(tw, "  GOOD\tBUILD\tMATCH\tTRUST\tRESTORABLE\tDEPLOY PLAN\tREBUILD FROM")
	} else {
		fmt.Fprintln(tw, "  GOOD\tBUILD\tMATCH\tRESTORABLE\tDEPLOY PLAN\tREBUILD FROM")
	}
	for _, t := range rep.Tags {
		build, match, restorable, plan := "none", "-", "no build", "-"
		if trusted {
			match = "-\t-"
		}
		if t.Build != nil {
			build, match = t.Build.Image+" "+digest.Short(t.Build.Digest), string(t.Build.Match)
			if trusted {
				match += "\t" + trustLine(*orUnchecked(t.Build.Trust))
			}
			restorable = fmt.Sprintf("yes (%d parts)", t.Checked)
			if !t.Restorable {
				restorable = "NO: " + missingWords(t.Missing)
			}
		}
		switch {
		case t.InProduction:
			plan = "in production"
		case t.Plan.Status == drill.PlanOK:
			plan = "ok (" + string(t.Plan.Method) + ")"
		case t.Plan.Status == drill.PlanFailed:
			plan = "FAILS"
		case t.Plan.Status == drill.PlanUnchanged:
			plan = "in production"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", t.GoodTag, build, match, restorable, plan, orDash(t.Rebuild))
	}
	tw.Flush()
	var notes []string
	for _, t := range rep.Tags {
		if t.Plan.Status == drill.PlanFailed {
			notes = append(notes, fmt.Sprintf("%s: the deploy plan fails: %s", t.GoodTag, t.Plan.Error))
		} else if t.Note != "" && t.Restorable {
			notes = append(notes, t.GoodTag+": "+t.Note)
		}
	}
	notes = append(notes, rep.Warnings...)
	if rep.Deepened != "" {
		notes = append(notes, rep.Deepened)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Notes:")
		for _, n := range notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	fmt.Fprintln(w)
	switch {
	case rep.Fallback == "":
		fmt.Fprintln(w, "Newest fallback: none (production runs the only known-good tag checked).")
	case rep.Restorable:
		fmt.Fprintf(w, "Newest fallback %s: restorable.\n", rep.Fallback)
	default:
		fmt.Fprintf(w, "Newest fallback %s: NOT restorable.\n", rep.Fallback)
	}
}

// missingWords names the first missing part, and how many more.
func missingWords(m []artifacts.Missing) string {
	if len(m) == 0 {
		return "unreadable"
	}
	first := m[0]
	s := string(first.Kind) + " " + digest.Short(first.Digest)
	switch {
	case first.Kind == artifacts.MissingPlatform:
		s = "no " + first.Platform + " image"
	case first.Platform != "":
		s += " (" + first.Platform + ") gone"
	default:
		s += " gone"
	}
	if len(m) > 1 {
		s += fmt.Sprintf(", +%d more", len(m)-1)
	}
	return s
}
