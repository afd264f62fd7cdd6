package cli

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sort"
	"strings"

	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/internal/warn"
	"github.com/lkg-dev/lkg/journal"
	"github.com/lkg-dev/lkg/suspects"
)

// SuspectsCmd is `lkg suspects`.
type SuspectsCmd struct {
	Good    string `required:"" placeholder:"REF" predictor:"tag" help:"The known-good commit-ish (tag, branch, sha)." env:"LKG_GOOD"`
	Bad     string `required:"" placeholder:"REF" predictor:"tag" help:"The broken deploy's commit-ish." env:"LKG_BAD"`
	Authors bool   `help:"Show who made each change (off by default: the list is about changes, not people)."`
	Files   int    `default:"20" placeholder:"N" help:"Show at most N files per change in the table (--json has all)."`
	JSON    bool   `name:"json" help:"Print exactly one JSON object instead of the table."`
}

// Help is the long text of `lkg suspects --help`.
func (c *SuspectsCmd) Help() string {
	return `Lists what changed between the known-good and the bad deploy, the way a team
reviews it: one entry per merged pull request ("Merge pull request #N"), squashed
pull request ("... (#N)") or direct commit on the bad side's first-parent line,
each with its files and added/deleted line counts (like git diff --numstat; the
counts come from a minimal line diff, so on heavily edited files git's heuristics
may count a few lines more).

Files are flagged by risk category: migration, dependency, infra, build, config.
Change the patterns in .lkg.yaml; a category named there replaces the default,
an empty list turns it off, a new name adds one:

  risk:
    migration: ["db/migrate/**", "*.sql"]
    payments: ["services/payments/**"]
    config: []

When good is not an ancestor of bad (a hotfix branch, swapped arguments), both
sides are listed from their merge base. Inside an open incident the summary is
added to the journal, for lkg report.`
}

// Run lists the suspects.
func (c *SuspectsCmd) Run(ctx context.Context, g *Globals, std *IO) error {
	if c.Files < 0 {
		return usagef("--files must be at least 0, not %d", c.Files)
	}
	cfg, err := g.Config()
	if err != nil {
		return err
	}
	rules := riskRules(cfg)
	repo, err := g.openRepo(gitops.WithNoFetch(true))
	if err != nil {
		return err
	}
	// One pass over many objects, then exit: trading memory for less GC
	// time is the right call for this command.
	debug.SetGCPercent(200)
	s, err := suspects.Find(ctx, repo, c.Good, c.Bad, suspects.WithAuthors(c.Authors), suspects.WithRiskRules(rules))
	if err != nil {
		return err
	}
	s.Warnings = warn.Cap(s.Warnings, maxWarnings)
	recordSuspects(repo.GitDir(), std, s)
	if c.JSON {
		return writeJSON(std.Out, s)
	}
	s = printableSuspects(s)
	printSuspects(std.Out, s, rules, c.Files)
	for _, w := range s.Warnings {
		std.warnf("%s", w)
	}
	return nil
}

// recordSuspects adds the summary to the open incident, if there is one: a
// suspects list alone is investigation, not an incident, so it never starts
// one. A journal that cannot be read or written only costs a warning.
func recordSuspects(gitDir string, std *IO, s *suspects.Result) {
	j, err := openJournal(gitDir)
	if err != nil {
		return
	}
	if id, err := j.Current(); err != nil || id == "" {
		return
	}
	data := journal.SuspectsData{
		Good: s.Good.Ref, Bad: s.Bad.Ref, From: s.Changes.From, To: s.Changes.To, Diverged: s.Diverged,
		Commits: s.Changes.Commits, Units: len(s.Changes.Units), Files: s.Changes.Files,
		Added: s.Changes.Added, Deleted: s.Changes.Deleted, Risks: s.Changes.Risks,
	}
	for _, u := range s.Changes.Units {
		if len(u.Risks) > 0 {
			data.Risky = append(data.Risky, journal.SuspectUnit{Commit: u.Commit, PR: u.PR, Subject: u.Subject, Risks: u.Risks})
		}
	}
	e, err := journal.NewEvent(journal.KindSuspects, "", data)
	if err == nil {
		_, err = appendEvent(gitDir, std, e)
	}
	if err != nil {
		std.warnf("%s", text.OneLine(err))
	}
}

// printableSuspects is a copy of s with the texts from git (refs as typed,
// subjects, authors, paths, warnings) made printable, for the table.
func printableSuspects(s *suspects.Result) *suspects.Result {
	out := *s
	out.Good.Ref, out.Bad.Ref = printable(s.Good.Ref), printable(s.Bad.Ref)
	out.Warnings = printableAll(s.Warnings)
	out.Changes = printableRange(s.Changes)
	if s.GoodOnly != nil {
		rg := printableRange(*s.GoodOnly)
		out.GoodOnly = &rg
	}
	return &out
}

func printableRange(rg suspects.Range) suspects.Range {
	rg.Units = slices.Clone(rg.Units)
	for i := range rg.Units {
		u := &rg.Units[i]
		u.Subject = printable(u.Subject)
		u.Authors = printableAll(u.Authors)
		u.Files = slices.Clone(u.Files)
		for j := range u.Files {
			f := &u.Files[j]
			f.Path, f.OldPath = printable(f.Path), printable(f.OldPath)
		}
	}
	return rg
}

func printSuspects(w io.Writer, s *suspects.Result, rules []suspects.RiskRule, maxFiles int) {
	good := fmt.Sprintf("%s (%s)", s.Good.Ref, text.ShortHash(s.Good.Commit))
	bad := fmt.Sprintf("%s (%s)", s.Bad.Ref, text.ShortHash(s.Bad.Commit))
	switch {
	case s.Good.Commit == s.Bad.Commit:
		fmt.Fprintf(w, "No changes: %s and %s are the same commit.\n", s.Good.Ref, bad)
		return
	case s.Swapped:
		fmt.Fprintf(w, "Bad %s is an ancestor of good %s: the bad deploy has nothing the good one lacks.\n", bad, good)
		fmt.Fprintf(w, "Good and bad look swapped. Did you mean: lkg suspects --good %s --bad %s\n", s.Bad.Ref, s.Good.Ref)
		if s.GoodOnly != nil {
			fmt.Fprintf(w, "\nOnly on good %s (missing from the bad deploy):\n", s.Good.Ref)
			printSuspectsRange(w, *s.GoodOnly, rules, maxFiles)
		}
	case s.Diverged:
		base := "no common history"
		if len(s.MergeBase) > 0 {
			base = "merge base " + text.ShortHash(s.MergeBase[0])
		}
		fmt.Fprintf(w, "Good %s is not an ancestor of bad %s: they diverged (%s).\n", good, bad, base)
		fmt.Fprintf(w, "Both sides are listed from the merge base.\n\n")
		fmt.Fprintf(w, "Only on bad %s:\n", s.Bad.Ref)
		printSuspectsRange(w, s.Changes, rules, maxFiles)
		if s.GoodOnly != nil {
			fmt.Fprintf(w, "\nOnly on good %s (missing from the bad deploy):\n", s.Good.Ref)
			printSuspectsRange(w, *s.GoodOnly, rules, maxFiles)
		}
	default:
		fmt.Fprintf(w, "Changes from good %s to bad %s:\n", good, bad)
		printSuspectsRange(w, s.Changes, rules, maxFiles)
	}
}

func printSuspectsRange(w io.Writer, rg suspects.Range, rules []suspects.RiskRule, maxFiles int) {
	if len(rg.Units) == 0 {
		fmt.Fprintf(w, "  nothing: no commits in this range.\n")
		return
	}
	fmt.Fprintf(w, "  %s, %s, %s, +%d -%d\n", text.Plural(len(rg.Units), "change"), text.Plural(rg.Commits, "commit"),
		text.Plural(rg.Files, "file"), rg.Added, rg.Deleted)
	if risky := riskSummary(rg.Risks, rules); risky != "" {
		fmt.Fprintf(w, "  changes touching risky files: %s\n", risky)
	}
	for _, u := range rg.Units {
		fmt.Fprintf(w, "\n  %s  %s  %s\n", text.ShortHash(u.Commit), unitLabel(u), u.Subject)
		extra := fmt.Sprintf("%s, +%d -%d", text.Plural(len(u.Files), "file"), u.Added, u.Deleted)
		if len(u.Commits) > 1 {
			extra = text.Plural(len(u.Commits), "commit") + ", " + extra
		}
		if len(u.Risks) > 0 {
			extra += "  [" + strings.Join(u.Risks, ", ") + "]"
		}
		fmt.Fprintf(w, "           %s\n", extra)
		if len(u.Authors) > 0 {
			fmt.Fprintf(w, "           by %s\n", strings.Join(u.Authors, ", "))
		}
		for i, f := range u.Files {
			if i == maxFiles {
				fmt.Fprintf(w, "           ... %d more (--files N, or --json)\n", len(u.Files)-maxFiles)
				break
			}
			fmt.Fprintf(w, "           %s\n", fileLine(f))
		}
	}
}

func unitLabel(u suspects.Unit) string {
	switch {
	case u.PR != 0:
		return fmt.Sprintf("PR #%d", u.PR)
	case u.Kind == suspects.UnitMerge:
		return "merge"
	}
	return "commit"
}

func fileLine(f suspects.File) string {
	counts := fmt.Sprintf("+%d -%d", f.Added, f.Deleted)
	switch {
	case f.Submodule:
		counts = "submodule"
	case f.Binary:
		counts = "binary"
	}
	name := f.Path
	if f.OldPath != "" {
		name = f.OldPath + " -> " + f.Path
	}
	line := fmt.Sprintf("%-8s  %-12s  %s", f.Status, counts, name)
	if len(f.Risks) > 0 {
		line += "  [" + strings.Join(f.Risks, ", ") + "]"
	}
	return line
}

// riskSummary is "migration 1, dependency 2" in the rules' order, then any
// other category alphabetically.
func riskSummary(risks map[string]int, rules []suspects.RiskRule) string {
	var parts []string
	seen := map[string]bool{}
	for _, r := range rules {
		if n := risks[r.Category]; n > 0 && !seen[r.Category] {
			seen[r.Category] = true
			parts = append(parts, fmt.Sprintf("%s %d", r.Category, n))
		}
	}
	var rest []string
	for k, n := range risks {
		if !seen[k] && n > 0 {
			rest = append(rest, fmt.Sprintf("%s %d", k, n))
		}
	}
	sort.Strings(rest)
	return strings.Join(append(parts, rest...), ", ")
}
