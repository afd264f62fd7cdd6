package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/journal"
)

// Restore is when and how service came back in an incident.
type Restore struct {
	At       time.Time    // when service counts as restored
	Deploy   journal.Move // the deploy that restored it
	DeployAt time.Time    // when that deploy finished
	Verified bool         // a verify that answered 2xx followed the deploy
	// FailedVerify says deploys finished but every verify after them
	// failed: not restored.
	FailedVerify bool
	// AllUndone says deploys finished but every one was undone later in
	// the incident: not restored.
	AllUndone bool
}

// RestoreOf is the incident's time-to-restore rule: service is restored by
// the first verified deploy (a deploy that finished, followed by a verify
// that answered 2xx), or by the first finished deploy when the incident
// has no verify at all. A deploy undone later in the incident (an undo
// that moved the target away from its digest) does not count, nor do the
// verifies that followed it. An interrupted verify is no verdict. It
// reports false when service was not restored.
func RestoreOf(in journal.Incident) (Restore, bool) {
	var done *Restore
	var firstDone *Restore
	anyVerify, anyUndone := false, false
	for i, e := range in.Events {
		switch e.Kind {
		case journal.KindDeploy:
			var d journal.Move
			if e.DecodeData(&d) != nil || !d.Status.Finished() {
				continue
			}
			if undone(in.Events[i+1:], d) {
				done, anyUndone = nil, true
				continue
			}
			done = &Restore{At: e.Time, Deploy: d, DeployAt: e.Time}
			if firstDone == nil {
				firstDone = done
			}
		case journal.KindVerify:
			var v journal.VerifyData
			if e.DecodeData(&v) != nil || v.Interrupted() {
				continue // an interrupted verify is no verdict
			}
			anyVerify = true
			if !v.OK || done == nil {
				continue
			}
			r := *done
			r.At, r.Verified = e.Time, true
			return r, true
		}
	}
	if firstDone == nil {
		return Restore{AllUndone: anyUndone}, false
	}
	if anyVerify {
		return Restore{FailedVerify: true, Deploy: firstDone.Deploy, DeployAt: firstDone.DeployAt}, false
	}
	return *firstDone, true
}

// undone says a finished undo in later moved d's target away from d's
// digest.
func undone(later []journal.Event, d journal.Move) bool {
	for _, e := range later {
		if e.Kind != journal.KindUndo {
			continue
		}
		var u journal.Move
		if e.DecodeData(&u) == nil && u.Target == d.Target && u.Status == journal.StatusDone && u.Previous == d.Digest && u.Digest != d.Digest {
			return true
		}
	}
	return false
}

// restoredWith names what restored service: the version (good tag and
// commit), then the build with its digest said once, then the method.
func restoredWith(d journal.Move) inline {
	var out inline
	add := func(l inline) {
		if len(out) > 0 {
			out = append(out, span{text: " "})
		}
		out = append(out, l...)
	}
	if d.GoodTag != "" {
		if d.Revision != "" {
			add(f("`%s` (commit %s):", d.GoodTag, short(d.Revision)))
		} else {
			add(f("`%s`:", d.GoodTag))
		}
	}
	switch {
	case d.Build != "" && (d.Digest == "" || strings.Contains(d.Build, d.Digest)):
		add(f("`%s`", d.Build))
	case d.Digest != "" && (d.Build == "" || d.Method == journal.MethodRebuild):
		add(f("`%s`", d.Digest))
	case d.Digest != "":
		add(f("`%s` at `%s`", d.Build, d.Digest))
	}
	if d.Method != "" {
		add(f("(%s)", d.Method))
	}
	return out
}

// EnvRestore is one environment's time to restore (lkg deploy --env).
type EnvRestore struct {
	Env      string
	Restore  Restore
	Restored bool
}

// RestoreByEnv applies RestoreOf's rule to each environment's own deploy
// and verify events, in the order the environments first appear. It is
// empty when no event names an environment.
func RestoreByEnv(in journal.Incident) []EnvRestore {
	var names []string
	byEnv := map[string][]journal.Event{}
	for _, e := range in.Events {
		if e.Kind != journal.KindDeploy && e.Kind != journal.KindVerify {
			continue
		}
		var d struct {
			Env string `json:"env"`
		}
		if e.DecodeData(&d) != nil || d.Env == "" {
			continue
		}
		if _, seen := byEnv[d.Env]; !seen {
			names = append(names, d.Env)
		}
		byEnv[d.Env] = append(byEnv[d.Env], e)
	}
	out := make([]EnvRestore, 0, len(names))
	for _, n := range names {
		sub := in
		sub.Events = byEnv[n]
		r, ok := RestoreOf(sub)
		out = append(out, EnvRestore{Env: n, Restore: r, Restored: ok})
	}
	return out
}

// WriteMarkdown writes the incident up in Markdown: the time to restore,
// the timeline (a Mermaid diagram and a table), what was found, deployed
// and verified, the suspects and the notes.
func WriteMarkdown(w io.Writer, in journal.Incident) {
	build(in).writeMarkdown(w)
}

// build writes the report's sections once, for every format.
func build(in journal.Incident) document {
	const day = "2006-01-02 15:04 MST"
	clock := func(t time.Time) string { return t.UTC().Format("15:04") }
	tl := TimelineOf(in)
	d := document{timeline: tl}
	title := in.Title
	if title == "" {
		title = "untitled"
	}
	d.title = f("Incident %s: %s", in.ID, title)
	d.facts = append(d.facts, item{label: "Started", text: txt(in.Start.UTC().Format(day))})
	if in.Open {
		d.facts = append(d.facts, item{label: "Closed", text: txt("still open")})
	} else {
		d.facts = append(d.facts, item{label: "Closed", text: f("%s (%s after the start)", in.End.UTC().Format(day), RoundDuration(in.End.Sub(in.Start)))})
	}
	r, restored := tl.Restore, tl.Restored
	ttr := item{label: "Time to restore"}
	switch {
	case restored && r.Verified:
		ttr.text = f("%s (from the start at %s to %s, when the deploy of `%s` at %s was verified)",
			RoundDuration(r.At.Sub(in.Start)), clock(in.Start), clock(r.At), r.Deploy.Target, clock(r.DeployAt))
	case restored:
		ttr.text = f("%s (from the start at %s to the deploy of `%s` at %s; no verification was recorded)",
			RoundDuration(r.At.Sub(in.Start)), clock(in.Start), r.Deploy.Target, clock(r.At))
	case r.FailedVerify:
		ttr.text = f("not restored: the deploy of `%s` at %s failed verification", r.Deploy.Target, clock(r.DeployAt))
	case r.AllUndone:
		ttr.text = txt("not restored: every finished deploy was undone")
	default:
		ttr.text = txt("not restored: no deploy finished")
	}
	for _, er := range RestoreByEnv(in) {
		r := er.Restore
		var t inline
		switch {
		case er.Restored && r.Verified:
			t = f("`%s`: %s (verified at %s)", er.Env, RoundDuration(r.At.Sub(in.Start)), clock(r.At))
		case er.Restored:
			t = f("`%s`: %s (deployed at %s; no verification was recorded)", er.Env, RoundDuration(r.At.Sub(in.Start)), clock(r.At))
		case r.FailedVerify:
			t = f("`%s`: not restored: the deploy at %s failed verification", er.Env, clock(r.DeployAt))
		default:
			t = f("`%s`: not restored: no deploy finished", er.Env)
		}
		ttr.sub = append(ttr.sub, item{text: t})
	}
	d.facts = append(d.facts, ttr)
	if restored {
		if with := restoredWith(r.Deploy); len(with) > 0 {
			d.facts = append(d.facts, item{label: "Restored with", text: with})
		}
	}

	events := &table{header: []string{"Time (UTC)", "Event", "What happened"}}
	for _, e := range in.Events {
		events.rows = append(events.rows, []inline{txt(e.Time.UTC().Format("15:04:05")), txt(string(e.Kind)), txt(e.Summary())})
	}
	d.sections = append(d.sections, section{heading: "Timeline", blocks: []block{{picture: true}, {table: events}}})

	var found []item
	for _, e := range in.Events {
		if e.Kind != journal.KindFind {
			continue
		}
		var fd journal.FindData
		if e.DecodeData(&fd) != nil {
			continue
		}
		good := txt("the known-good code")
		if fd.GoodTag != "" {
			good = f("`%s`", fd.GoodTag)
		}
		if fd.Best != "" {
			found = append(found, item{text: concat(f("%s: best build of ", clock(e.Time)), good,
				f(": `%s` (%s found, %s to rebuild from)", fd.Best, plural(fd.Builds, "build"), plural(fd.Sources, "git ref")))})
		} else {
			found = append(found, item{text: concat(f("%s: no build of ", clock(e.Time)), good,
				f("; %s to rebuild from", plural(fd.Sources, "git ref")))})
		}
	}
	d.sections = append(d.sections, section{heading: "What was found", blocks: []block{orPara(found, "No lkg find was recorded.")}})

	moves := &table{header: []string{"Time (UTC)", "Step", "Target", "Now at", "Was at", "Build", "Method", "Status"}}
	for _, e := range in.Events {
		if e.Kind != journal.KindDeploy && e.Kind != journal.KindUndo {
			continue
		}
		var dd journal.Move
		if e.DecodeData(&dd) != nil || !dd.Status.Outcome() {
			continue // the planned line precedes the outcome line
		}
		status := string(dd.Status)
		if dd.Error != "" {
			status += ": " + dd.Error
		}
		moves.rows = append(moves.rows, []inline{txt(e.Time.UTC().Format("15:04:05")), txt(string(e.Kind)),
			f("`%s`", dd.Target), f("`%s`", dd.Digest), f("`%s`", dd.Previous), f("`%s`", dd.Build), txt(string(dd.Method)), txt(status)})
	}
	deployed := block{table: moves}
	if len(moves.rows) == 0 {
		deployed = block{lines: []inline{txt("Nothing was deployed.")}}
	}
	d.sections = append(d.sections, section{heading: "What was deployed", blocks: []block{deployed}})

	var verifies []item
	for _, e := range in.Events {
		if e.Kind != journal.KindVerify {
			continue
		}
		var v journal.VerifyData
		if e.DecodeData(&v) != nil {
			continue
		}
		verifies = append(verifies, item{text: f("%s: %s: `%s` %s", clock(e.Time), v.Verdict(), v.URL, v.Result())})
	}
	d.sections = append(d.sections, section{heading: "Verification", blocks: []block{orPara(verifies, "No verification was recorded (lkg deploy --verify-url URL records one).")}})

	if ev := evidenceBlocks(in); ev != nil {
		d.sections = append(d.sections, section{heading: "What the broken build was doing", blocks: ev})
	}

	d.sections = append(d.sections, section{heading: "Suspects", blocks: suspectsBlocks(in)})

	var notes []item
	for _, e := range in.Events {
		if e.Kind == journal.KindNote {
			notes = append(notes, item{text: f("%s: %s", clock(e.Time), e.Message)})
		}
	}
	d.sections = append(d.sections, section{heading: "Notes", blocks: []block{orPara(notes, "No notes.")}})
	return d
}

// suspectsBlocks sums up the last suspects list of the incident.
func suspectsBlocks(in journal.Incident) []block {
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
		return []block{{lines: []inline{f("No suspects list was recorded. During an incident, `lkg suspects --good GOOD --bad BAD` adds one.")}}}
	}
	summary := block{lines: []inline{f("Changes from `%s` to `%s`: %s, %s, %s, +%d -%d.", sus.Good, sus.Bad,
		plural(sus.Units, "change"), plural(sus.Commits, "commit"), plural(sus.Files, "file"), sus.Added, sus.Deleted)}}
	if sus.Diverged {
		summary.lines = append(summary.lines, f("`%s` is not an ancestor of `%s`: counted from their merge base `%s`.", sus.Good, sus.Bad, short(sus.From)))
	}
	blocks := []block{summary}
	if len(sus.Risky) == 0 {
		return blocks
	}
	blocks = append(blocks, block{lines: []inline{f("Changes touching risky files (%s):", reportRisks(sus.Risks))}})
	var risky []item
	for i, u := range sus.Risky {
		if i == 10 {
			risky = append(risky, item{text: f("... %d more (lkg suspects --good %s --bad %s)", len(sus.Risky)-10, sus.Good, sus.Bad)})
			break
		}
		pr := ""
		if u.PR != 0 {
			pr = fmt.Sprintf("PR #%d ", u.PR)
		}
		risky = append(risky, item{text: f("%s`%s` %s [%s]", pr, short(u.Commit), u.Subject, strings.Join(u.Risks, ", "))})
	}
	return append(blocks, block{list: risky})
}

// orPara is the list, or the paragraph that says there is nothing to list.
func orPara(items []item, none string) block {
	if len(items) == 0 {
		return block{lines: []inline{txt(none)}}
	}
	return block{list: items}
}

// concat joins inlines.
func concat(parts ...inline) inline {
	var out inline
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
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

// RoundDuration prints a duration the way people say it: 1h23m, 7m, 42s.
func RoundDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return strings.TrimSuffix(d.Round(time.Second).String(), "0s")
	default:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
}

// plural is "1 build", "3 builds".
var plural = text.Plural

// short is a commit hash as people read it.
var short = text.ShortHash

// evidenceBlocks sums up what each replaced build was doing, as deploys
// captured it before the move (nil when none did): the units' states, exit
// codes and restarts, the runtime's warning events, the most frequent
// error lines, and where the whole capture is. When a later deploy of the
// same target captured the build the earlier one restored, the two are set
// side by side.
func evidenceBlocks(in journal.Incident) []block {
	type capture struct {
		at     time.Time
		target string
		ev     journal.EvidenceSummary
	}
	var caps []capture
	seen := map[string]bool{}
	for _, e := range in.Events {
		if e.Kind != journal.KindDeploy {
			continue
		}
		var m journal.Move
		if e.DecodeData(&m) != nil || m.Evidence == nil || seen[m.Evidence.Path] {
			continue
		}
		seen[m.Evidence.Path] = true
		caps = append(caps, capture{e.Time, m.Target, *m.Evidence})
	}
	if len(caps) == 0 {
		return nil
	}
	var blocks []block
	for i, c := range caps {
		var units []item
		for _, u := range c.ev.Units {
			t := f("`%s`: %s, exit code %d, %s", u.Name, u.State, u.ExitCode, plural(u.Restarts, "restart"))
			if u.OOMKilled {
				t = concat(t, txt(", killed for memory (OOM)"))
			}
			if u.Health != "" {
				t = concat(t, f(", health %s", u.Health))
			}
			if u.Reason != "" {
				t = concat(t, f(" (%s)", u.Reason))
			}
			units = append(units, item{text: t})
		}
		var events []item
		for _, ev := range c.ev.Events {
			events = append(events, item{text: txt(ev)})
		}
		var lines []item
		for _, l := range c.ev.ErrorLines {
			lines = append(lines, item{text: f("%d× `%s`", l.Count, l.Line)})
		}
		facts := []item{{label: "Units", text: txt(plural(len(units), "unit")), sub: units}}
		if len(events) > 0 {
			facts = append(facts, item{label: "Warning events", text: txt(plural(len(events), "event")), sub: events})
		}
		if len(lines) > 0 {
			facts = append(facts, item{label: "Most frequent error lines", text: txt(""), sub: lines})
		}
		for _, n := range c.ev.Notes {
			facts = append(facts, item{label: "Note", text: txt(n)})
		}
		facts = append(facts, item{label: "Full capture", text: f("`%s` (in the journal's directory, .git/lkg/)", c.ev.Path)})
		blocks = append(blocks, block{lines: []inline{f("Before the deploy of `%s` at %s:", c.target, c.at.UTC().Format("15:04"))}}, block{list: facts})
		// The build this deploy put there, captured by a later deploy of
		// the same target: the bad build and the restored one side by side.
		for _, later := range caps[i+1:] {
			if later.target == c.target {
				blocks = append(blocks, compareBlock(c.ev, later.ev))
				break
			}
		}
	}
	return blocks
}

// compareBlock sets a capture beside the next one of the same target.
func compareBlock(before, after journal.EvidenceSummary) block {
	restarts := func(s journal.EvidenceSummary) int {
		n := 0
		for _, u := range s.Units {
			n += u.Restarts
		}
		return n
	}
	errLines := func(s journal.EvidenceSummary) int {
		n := 0
		for _, l := range s.ErrorLines {
			n += l.Count
		}
		return n
	}
	t := &table{header: []string{"", "Replaced build", "Build replaced next"}}
	t.rows = append(t.rows,
		[]inline{txt("Restarts"), txt(fmt.Sprint(restarts(before))), txt(fmt.Sprint(restarts(after)))},
		[]inline{txt("Error lines (top 5)"), txt(fmt.Sprint(errLines(before))), txt(fmt.Sprint(errLines(after)))},
		[]inline{txt("Warning events"), txt(fmt.Sprint(len(before.Events))), txt(fmt.Sprint(len(after.Events)))},
	)
	return block{table: t}
}
