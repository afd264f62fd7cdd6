package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/journal"
)

// ReportCmd is `lkg report`.
type ReportCmd struct {
	Format   string `default:"markdown" enum:"markdown" help:"Output format (markdown)."`
	Incident string `placeholder:"ID" help:"Write up this incident (default: the open one, else the newest)."`
}

// Help is the long text of `lkg report --help`.
func (c *ReportCmd) Help() string {
	return `Writes the incident up from the journal, in Markdown: the timeline, what lkg
found and where, what was deployed (by digest), the verification, the time to
restore, the suspects (from 'lkg suspects' run during the incident) and the notes.

Time to restore runs from the incident's start to the first verified deploy: a
deploy that finished, followed by a verify that answered 2xx. When no verify was
recorded at all, it runs to the first finished deploy.`
}

// Run prints the report.
func (c *ReportCmd) Run(g *Globals, std *IO) error {
	j, _, err := journalOf(g)
	if err != nil {
		return err
	}
	events, _, err := readJournal(j, std.Err)
	if err != nil {
		return err
	}
	in, err := pickIncident(events, c.Incident)
	if err != nil {
		return err
	}
	writeReport(std.Out, in)
	return nil
}

// restore is when and how service came back in an incident.
type restore struct {
	at       time.Time
	deploy   journal.DeployData
	deployAt time.Time
	verified bool
	// failedVerify says deploys finished but every verify after them
	// failed: not restored.
	failedVerify bool
}

// restoreOf finds the first verified deploy, or the first finished deploy
// when the incident has no verify at all.
func restoreOf(in journal.Incident) (restore, bool) {
	var done *restore
	var firstDone *restore
	anyVerify := false
	for _, e := range in.Events {
		switch e.Kind {
		case journal.KindDeploy:
			var d journal.DeployData
			if e.DecodeData(&d) != nil || (d.Status != "done" && d.Status != "unchanged") {
				continue
			}
			done = &restore{at: e.Time, deploy: d, deployAt: e.Time}
			if firstDone == nil {
				firstDone = done
			}
		case journal.KindVerify:
			anyVerify = true
			var v journal.VerifyData
			if e.DecodeData(&v) != nil || !v.OK || done == nil {
				continue
			}
			r := *done
			r.at, r.verified = e.Time, true
			return r, true
		}
	}
	if firstDone == nil {
		return restore{}, false
	}
	if anyVerify {
		return restore{failedVerify: true, deploy: firstDone.deploy, deployAt: firstDone.deployAt}, false
	}
	return *firstDone, true
}

func writeReport(w io.Writer, in journal.Incident) {
	const day = "2006-01-02 15:04 MST"
	clock := func(t time.Time) string { return t.UTC().Format("15:04") }
	title := in.Title
	if title == "" {
		title = "untitled"
	}
	fmt.Fprintf(w, "# Incident %s: %s\n\n", in.ID, mdText(title))
	fmt.Fprintf(w, "- **Started:** %s\n", in.Start.UTC().Format(day))
	if in.Open {
		fmt.Fprintf(w, "- **Closed:** still open\n")
	} else {
		fmt.Fprintf(w, "- **Closed:** %s (%s after the start)\n", in.End.UTC().Format(day), roundDuration(in.End.Sub(in.Start)))
	}
	r, restored := restoreOf(in)
	switch {
	case restored && r.verified:
		fmt.Fprintf(w, "- **Time to restore:** %s (from the start at %s to %s, when the deploy of `%s` at %s was verified)\n",
			roundDuration(r.at.Sub(in.Start)), clock(in.Start), clock(r.at), r.deploy.Target, clock(r.deployAt))
	case restored:
		fmt.Fprintf(w, "- **Time to restore:** %s (from the start at %s to the deploy of `%s` at %s; no verification was recorded)\n",
			roundDuration(r.at.Sub(in.Start)), clock(in.Start), r.deploy.Target, clock(r.at))
	case r.failedVerify:
		fmt.Fprintf(w, "- **Time to restore:** not restored: the deploy of `%s` at %s failed verification\n", r.deploy.Target, clock(r.deployAt))
	default:
		fmt.Fprintf(w, "- **Time to restore:** not restored: no deploy finished\n")
	}
	if restored {
		var with []string
		if r.deploy.Build != "" {
			with = append(with, "`"+r.deploy.Build+"`")
		}
		if r.deploy.Digest != "" {
			with = append(with, "at `"+r.deploy.Digest+"`")
		}
		if r.deploy.Method != "" {
			with = append(with, "("+r.deploy.Method+")")
		}
		if len(with) > 0 {
			fmt.Fprintf(w, "- **Restored with:** %s\n", strings.Join(with, " "))
		}
	}

	fmt.Fprintf(w, "\n## Timeline\n\n| Time (UTC) | Event | What happened |\n| --- | --- | --- |\n")
	for _, e := range in.Events {
		fmt.Fprintf(w, "| %s | %s | %s |\n", e.Time.UTC().Format("15:04:05"), e.Kind, mdCell(summarize(e)))
	}

	fmt.Fprintf(w, "\n## What was found\n\n")
	found := false
	for _, e := range in.Events {
		if e.Kind != journal.KindFind {
			continue
		}
		var d journal.FindData
		if e.DecodeData(&d) != nil {
			continue
		}
		found = true
		good := "the known-good code"
		if d.GoodTag != "" {
			good = "`" + d.GoodTag + "`"
		}
		if d.Best != "" {
			fmt.Fprintf(w, "- %s: best build of %s: `%s` (%s found, %s to rebuild from)\n", clock(e.Time), good, d.Best, plural(d.Builds, "build"), plural(d.Sources, "git ref"))
		} else {
			fmt.Fprintf(w, "- %s: no build of %s; %s to rebuild from\n", clock(e.Time), good, plural(d.Sources, "git ref"))
		}
	}
	if !found {
		fmt.Fprintf(w, "No lkg find was recorded.\n")
	}

	fmt.Fprintf(w, "\n## What was deployed\n\n")
	deployed := false
	for _, e := range in.Events {
		if e.Kind != journal.KindDeploy && e.Kind != journal.KindUndo {
			continue
		}
		var d journal.DeployData
		if e.DecodeData(&d) != nil || d.Status == "planned" {
			continue // the planned line precedes the outcome line
		}
		if !deployed {
			fmt.Fprintf(w, "| Time (UTC) | Step | Target | Now at | Was at | Build | Method | Status |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
			deployed = true
		}
		status := d.Status
		if d.Error != "" {
			status += ": " + d.Error
		}
		fmt.Fprintf(w, "| %s | %s | `%s` | %s | %s | %s | %s | %s |\n", e.Time.UTC().Format("15:04:05"), e.Kind,
			d.Target, mdCode(d.Digest), mdCode(d.Previous), mdCode(d.Build), mdCell(d.Method), mdCell(status))
	}
	if !deployed {
		fmt.Fprintf(w, "Nothing was deployed.\n")
	}

	fmt.Fprintf(w, "\n## Verification\n\n")
	verified := false
	for _, e := range in.Events {
		if e.Kind != journal.KindVerify {
			continue
		}
		var v journal.VerifyData
		if e.DecodeData(&v) != nil {
			continue
		}
		verified = true
		verdict := "FAILED"
		if v.OK {
			verdict = "ok"
		}
		fmt.Fprintf(w, "- %s: %s: `%s` answered %d in %d ms\n", clock(e.Time), verdict, v.URL, v.Status, v.ElapsedMS)
	}
	if !verified {
		fmt.Fprintf(w, "No verification was recorded (lkg deploy --verify-url URL records one).\n")
	}

	fmt.Fprintf(w, "\n## Suspects\n\n")
	var sus *journal.SuspectsData
	for _, e := range in.Events {
		if e.Kind == journal.KindSuspects {
			var d journal.SuspectsData
			if e.DecodeData(&d) == nil {
				sus = &d
			}
		}
	}
	if sus == nil {
		fmt.Fprintf(w, "No suspects list was recorded. During an incident, `lkg suspects --good GOOD --bad BAD` adds one.\n")
	} else {
		fmt.Fprintf(w, "Changes from `%s` to `%s`: %s, %s, %s, +%d -%d.\n", sus.Good, sus.Bad,
			plural(sus.Units, "change"), plural(sus.Commits, "commit"), plural(sus.Files, "file"), sus.Added, sus.Deleted)
		if sus.Diverged {
			fmt.Fprintf(w, "`%s` is not an ancestor of `%s`: counted from their merge base `%s`.\n", sus.Good, sus.Bad, short(sus.From))
		}
		if len(sus.Risky) > 0 {
			fmt.Fprintf(w, "\nChanges touching risky files (%s):\n\n", reportRisks(sus.Risks))
			for i, u := range sus.Risky {
				if i == 10 {
					fmt.Fprintf(w, "- ... %d more (lkg suspects --good %s --bad %s)\n", len(sus.Risky)-10, sus.Good, sus.Bad)
					break
				}
				pr := ""
				if u.PR != 0 {
					pr = fmt.Sprintf("PR #%d ", u.PR)
				}
				fmt.Fprintf(w, "- %s`%s` %s [%s]\n", pr, short(u.Commit), mdText(u.Subject), strings.Join(u.Risks, ", "))
			}
		}
	}

	fmt.Fprintf(w, "\n## Notes\n\n")
	noted := false
	for _, e := range in.Events {
		if e.Kind == journal.KindNote {
			noted = true
			fmt.Fprintf(w, "- %s: %s\n", clock(e.Time), mdText(e.Message))
		}
	}
	if !noted {
		fmt.Fprintf(w, "No notes.\n")
	}
}

func reportRisks(risks map[string]int) string {
	keys := make([]string, 0, len(risks))
	for k := range risks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, risks[k]))
	}
	return strings.Join(parts, ", ")
}

// mdText keeps user text on one line, so it cannot break the list or table
// it sits in.
func mdText(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// mdCell is mdText safe inside a table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(mdText(s), "|", `\|`)
}

// mdCode is a table cell in code font, or a dash when empty.
func mdCode(s string) string {
	if s == "" {
		return "-"
	}
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}
