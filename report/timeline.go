package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/redact"
	"github.com/lkg-dev/lkg/journal"
)

// Timeline is an incident as points in time: what the report's pictures
// (the Mermaid diagram, the SVG) and lkg report --json are drawn from.
type Timeline struct {
	ID    string
	Title string
	Start time.Time
	End   time.Time // the close; zero while the incident is open
	// Restore and Restored are RestoreOf's answer, computed once for the
	// whole report.
	Restore  Restore
	Restored bool
	Points   []Point // oldest first
}

// Point is one step of the incident on the timeline. A deploy or undo is
// one point, its outcome: the planned line written before the move is
// left out, and so are retitles.
type Point struct {
	Time    time.Time
	Kind    journal.Kind // the journal's kind: incident-start, find, deploy, undo, verify, note, suspects, incident-close, or a newer lkg's
	Target  string       // what a deploy or undo moved, or the URL a verify asked; "" otherwise
	Status  string       // see the statuses in pointOf
	Outcome Outcome      // how the step went, the colour it is drawn in
	Env     string       // the environment of a deploy or verify (lkg deploy --env)
	Label   string       // a few words for the picture, like "deploy checkout:prod done"
	Text    string       // the whole step, as lkg journal says it
}

// Point's text comes from the journal with any credential a URL in it
// might carry masked (the journal redacts when it writes; this covers
// journals older versions wrote), and otherwise exact: each picture makes
// it safe for where it goes, and --json carries it as it is.

// Outcome is how a step went, as the pictures colour it.
type Outcome string

// The outcomes.
const (
	OutcomeOK      Outcome = "ok"      // a finished deploy or undo, a verify that answered 2xx, a find with a build
	OutcomeFailed  Outcome = "failed"  // a failed deploy, a failed verify
	OutcomeWarning Outcome = "warning" // overwritten, unknown, interrupted, no build found: needs a look
	OutcomeInfo    Outcome = "info"    // the incident's start and close, notes, suspects, dry runs
)

// colours are the outcomes' fill and stroke, the same in the SVG and in
// the Mermaid diagram: green went well, red failed, amber needs a look,
// grey-blue is the rest.
var colours = map[Outcome]struct{ fill, stroke string }{
	OutcomeOK:      {"#81c784", "#2e7d32"},
	OutcomeFailed:  {"#e53935", "#b71c1c"},
	OutcomeWarning: {"#ffb74d", "#e65100"},
	OutcomeInfo:    {"#b0bec5", "#546e7a"},
}

// TimeToRestore is the span from the incident's start to the restore, and
// whether service was restored.
func (t Timeline) TimeToRestore() (time.Duration, bool) {
	if !t.Restored {
		return 0, false
	}
	return t.Restore.At.Sub(t.Start), true
}

// Last is the latest time on the timeline: the close, the last point or
// the restore, whichever is later.
func (t Timeline) Last() time.Time {
	last := t.Start
	for _, p := range t.Points {
		if p.Time.After(last) {
			last = p.Time
		}
	}
	if t.End.After(last) {
		last = t.End
	}
	if t.Restored && t.Restore.At.After(last) {
		last = t.Restore.At
	}
	return last
}

// TimelineOf is the incident's timeline, with its time to restore.
func TimelineOf(in journal.Incident) Timeline {
	t := Timeline{ID: in.ID, Title: redact.Text(in.Title), Start: in.Start.UTC()}
	if !in.Open {
		t.End = in.End.UTC()
	}
	t.Restore, t.Restored = RestoreOf(in)
	for _, e := range in.Events {
		if p, ok := pointOf(e); ok {
			t.Points = append(t.Points, p)
		}
	}
	return t
}

// pointOf is the event as a point on the timeline; false for events the
// timeline leaves out. Statuses: a deploy's or undo's own (done, failed,
// unchanged, overwritten, unknown, dry-run); a verify's "ok", "failed" or
// "interrupted"; a find's "found" or "no-build"; "" for the rest.
func pointOf(e journal.Event) (Point, bool) {
	p := Point{Time: e.Time.UTC(), Kind: e.Kind, Outcome: OutcomeInfo, Text: redact.Text(e.Summary())}
	switch e.Kind {
	case journal.KindIncidentTitle:
		return p, false
	case journal.KindIncidentStart:
		p.Label = "incident started"
	case journal.KindIncidentClose:
		p.Label = "incident closed"
	case journal.KindNote:
		p.Label = "note: " + clip(strings.Join(strings.Fields(redact.Text(e.Message)), " "), 40)
	case journal.KindFind:
		var d journal.FindData
		if e.DecodeData(&d) != nil {
			break
		}
		good := ""
		if d.GoodTag != "" {
			good = " of " + redact.Text(d.GoodTag)
		}
		if d.Best != "" {
			p.Status, p.Outcome, p.Label = "found", OutcomeOK, "found a build"+good
		} else {
			p.Status, p.Outcome, p.Label = "no-build", OutcomeWarning, "no build"+good
		}
	case journal.KindDeploy, journal.KindUndo:
		var d journal.Move
		if e.DecodeData(&d) != nil {
			break
		}
		if !d.Status.Outcome() {
			return p, false // the outcome line follows
		}
		p.Target, p.Status, p.Env = redact.Text(d.Target), string(d.Status), redact.Text(d.Env)
		p.Label = fmt.Sprintf("%s %s %s", e.Kind, shortTarget(p.Target), d.Status)
		switch {
		case d.Status.Finished():
			p.Outcome = OutcomeOK
		case d.Status == journal.StatusFailed:
			p.Outcome = OutcomeFailed
		case d.Status == journal.StatusDryRun:
			p.Outcome = OutcomeInfo
		default: // overwritten, unknown, or a newer lkg's status
			p.Outcome = OutcomeWarning
		}
	case journal.KindVerify:
		var v journal.VerifyData
		if e.DecodeData(&v) != nil {
			break
		}
		p.Target, p.Env = redact.Text(v.URL), redact.Text(v.Env)
		answer := v.Error
		if answer == "" || v.OK {
			answer = fmt.Sprint(v.Status)
		}
		switch {
		case v.OK:
			p.Status, p.Outcome = "ok", OutcomeOK
		case v.Interrupted():
			p.Status, p.Outcome = "interrupted", OutcomeWarning
		default:
			p.Status, p.Outcome = "failed", OutcomeFailed
		}
		p.Label = fmt.Sprintf("verify %s (%s)", v.Verdict(), redact.Text(answer))
	case journal.KindSuspects:
		var d journal.SuspectsData
		if e.DecodeData(&d) != nil {
			break
		}
		p.Label = fmt.Sprintf("suspects: %s", plural(d.Units, "change"))
	}
	if p.Label == "" {
		p.Label = redact.Text(string(e.Kind))
	}
	return p, true
}

// shortTarget is a target as the picture names it: its last path element,
// with the tag or container (checkout:prod for
// registry.example.com/shop/checkout:prod, web for docker://web).
func shortTarget(target string) string {
	if _, rest, ok := strings.Cut(target, "://"); ok {
		target = rest
	}
	if image, dg, ok := strings.Cut(target, "@"); ok {
		target = image + "@" + digest.Short(dg)
	}
	if i := strings.LastIndex(target, "/"); i >= 0 && i < len(target)-1 {
		target = target[i+1:]
	}
	return clip(target, 40)
}

// clip shortens s to at most n runes, ending it with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
