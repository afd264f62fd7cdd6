package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/journal"
)

// writeMermaid draws the timeline as a Mermaid gantt chart (without the
// fence). A gantt chart has a real time axis: the steps sit where they
// happened, as milestones, and the time to restore is a bar as long as it
// lasted. Mermaid's timeline diagram, the other candidate, spaces its
// periods evenly whatever the time between them, and cannot take a clock
// time (its period text ends at a colon).
//
// One row per step, grouped in sections by kind; the tags colour them:
// done for what went well and for the time to restore, crit for what
// failed and for a span that never restored, active for what needs a look
// (overwritten, unknown, interrupted).
// Times are UTC, written without a zone so that Mermaid neither shifts
// nor relabels them. The front matter sets only those tags' colours (the
// SVG's), so the renderer's own theme, light or dark, still applies.
func writeMermaid(w io.Writer, t Timeline) {
	const stamp = "2006-01-02 15:04:05"
	axis := "%H:%M"
	if t.Last().Sub(t.Start) >= 24*time.Hour {
		axis = "%m-%d %H:%M"
	}
	title := "Incident " + t.ID
	if t.Title != "" {
		title += ": " + t.Title
	}
	fmt.Fprintf(w, "---\nconfig:\n  themeVariables:\n")
	for _, v := range []struct {
		name string
		o    Outcome
	}{{"doneTask", OutcomeOK}, {"crit", OutcomeFailed}, {"activeTask", OutcomeWarning}, {"task", OutcomeInfo}} {
		c := colours[v.o]
		fmt.Fprintf(w, "    %sBkgColor: \"%s\"\n    %sBorderColor: \"%s\"\n", v.name, c.fill, v.name, c.stroke)
	}
	fmt.Fprintf(w, "---\n")
	fmt.Fprintf(w, "gantt\n    title %s (UTC)\n    dateFormat YYYY-MM-DD HH:mm:ss\n    axisFormat %s\n", mermaidText(title), axis)

	row := func(label, tags string, at time.Time, d time.Duration) {
		if tags != "" {
			tags += ", "
		}
		fmt.Fprintf(w, "    %s :%s%s, %ds\n", mermaidText(label), tags, at.UTC().Format(stamp), int64(d/time.Second))
	}
	milestone := func(p Point) {
		row(p.Time.UTC().Format("15:04 ")+p.Label, mermaidTag(p.Outcome)+"milestone", p.Time, 0)
	}
	groups := []struct {
		name  string
		kinds []journal.Kind
	}{
		{"Incident", nil}, // the start, the close and the time to restore
		{"Find", []journal.Kind{journal.KindFind}},
		{"Deploy", []journal.Kind{journal.KindDeploy, journal.KindUndo}},
		{"Verify", []journal.Kind{journal.KindVerify}},
		{"Notes", []journal.Kind{journal.KindNote, journal.KindSuspects}},
	}
	inGroup := map[journal.Kind]bool{}
	for _, g := range groups {
		for _, k := range g.kinds {
			inGroup[k] = true
		}
	}
	for _, g := range groups {
		var ps []Point
		for _, p := range t.Points {
			if g.kinds == nil && !inGroup[p.Kind] || slices.Contains(g.kinds, p.Kind) {
				ps = append(ps, p)
			}
		}
		if g.kinds != nil && len(ps) == 0 {
			continue
		}
		fmt.Fprintf(w, "    section %s\n", g.name)
		if g.kinds == nil {
			if d, ok := t.TimeToRestore(); ok {
				row(restoreLabel(t), "done", t.Start, d)
			} else {
				row("not restored", "crit", t.Start, t.Last().Sub(t.Start))
			}
		}
		for _, p := range ps {
			milestone(p)
		}
	}
}

// restoreLabel names the restore span: "time to restore 6m (verified at
// 14:06)".
func restoreLabel(t Timeline) string {
	d, _ := t.TimeToRestore()
	if t.Restore.Verified {
		return fmt.Sprintf("time to restore %s (verified at %s)", RoundDuration(d), t.Restore.At.UTC().Format("15:04"))
	}
	return fmt.Sprintf("time to restore %s (deployed at %s, no verification)", RoundDuration(d), t.Restore.At.UTC().Format("15:04"))
}

// mermaidTag is the gantt tag (with its comma) that colours an outcome.
func mermaidTag(o Outcome) string {
	switch o {
	case OutcomeOK:
		return "done, "
	case OutcomeFailed:
		return "crit, "
	case OutcomeWarning:
		return "active, "
	}
	return ""
}

// mermaidText makes text from the journal safe in a gantt line: every
// character but letters, digits, space and . , / _ + ( ) - becomes an
// entity code (#58; for a colon), which Mermaid turns back into the
// character after parsing. A colon, #, ; or newline would otherwise end
// the task's title, %% would start a comment or a directive, and a leading
// keyword (section, click) would change the line's meaning: the labels
// start with a clock time, and the escaping keeps the rest inert.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(" .,/_+()-", r):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "#%d;", r)
		}
	}
	return strings.TrimSpace(b.String())
}
