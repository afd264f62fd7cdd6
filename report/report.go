package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/internal/termsafe"
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
func restoredWith(d journal.Move) string {
	var parts []string
	if d.GoodTag != "" {
		v := "`" + d.GoodTag + "`"
		if d.Revision != "" {
			v += " (commit " + short(d.Revision) + ")"
		}
		parts = append(parts, v+":")
	}
	switch {
	case d.Build != "" && (d.Digest == "" || strings.Contains(d.Build, d.Digest)):
		parts = append(parts, "`"+d.Build+"`")
	case d.Digest != "" && (d.Build == "" || d.Method == journal.MethodRebuild):
		parts = append(parts, "`"+d.Digest+"`")
	case d.Digest != "":
		parts = append(parts, "`"+d.Build+"` at `"+d.Digest+"`")
	}
	if d.Method != "" {
		parts = append(parts, "("+string(d.Method)+")")
	}
	return strings.Join(parts, " ")
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
// the timeline, what was found, deployed and verified, the suspects and
// the notes.
func WriteMarkdown(w io.Writer, in journal.Incident) {
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
		fmt.Fprintf(w, "- **Closed:** %s (%s after the start)\n", in.End.UTC().Format(day), RoundDuration(in.End.Sub(in.Start)))
	}
	r, restored := RestoreOf(in)
	switch {
	case restored && r.Verified:
		fmt.Fprintf(w, "- **Time to restore:** %s (from the start at %s to %s, when the deploy of `%s` at %s was verified)\n",
			RoundDuration(r.At.Sub(in.Start)), clock(in.Start), clock(r.At), r.Deploy.Target, clock(r.DeployAt))
	case restored:
		fmt.Fprintf(w, "- **Time to restore:** %s (from the start at %s to the deploy of `%s` at %s; no verification was recorded)\n",
			RoundDuration(r.At.Sub(in.Start)), clock(in.Start), r.Deploy.Target, clock(r.At))
	case r.FailedVerify:
		fmt.Fprintf(w, "- **Time to restore:** not restored: the deploy of `%s` at %s failed verification\n", r.Deploy.Target, clock(r.DeployAt))
	case r.AllUndone:
		fmt.Fprintf(w, "- **Time to restore:** not restored: every finished deploy was undone\n")
	default:
		fmt.Fprintf(w, "- **Time to restore:** not restored: no deploy finished\n")
	}
	for _, er := range RestoreByEnv(in) {
		r := er.Restore
		switch {
		case er.Restored && r.Verified:
			fmt.Fprintf(w, "  - `%s`: %s (verified at %s)\n", er.Env, RoundDuration(r.At.Sub(in.Start)), clock(r.At))
		case er.Restored:
			fmt.Fprintf(w, "  - `%s`: %s (deployed at %s; no verification was recorded)\n", er.Env, RoundDuration(r.At.Sub(in.Start)), clock(r.At))
		case r.FailedVerify:
			fmt.Fprintf(w, "  - `%s`: not restored: the deploy at %s failed verification\n", er.Env, clock(r.DeployAt))
		default:
			fmt.Fprintf(w, "  - `%s`: not restored: no deploy finished\n", er.Env)
		}
	}
	if restored {
		if with := restoredWith(r.Deploy); with != "" {
			fmt.Fprintf(w, "- **Restored with:** %s\n", with)
		}
	}

	fmt.Fprintf(w, "\n## Timeline\n\n| Time (UTC) | Event | What happened |\n| --- | --- | --- |\n")
	for _, e := range in.Events {
		fmt.Fprintf(w, "| %s | %s | %s |\n", e.Time.UTC().Format("15:04:05"), e.Kind, mdCell(e.Summary()))
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
		var d journal.Move
		if e.DecodeData(&d) != nil || !d.Status.Outcome() {
			continue // the planned line precedes the outcome line
		}
		if !deployed {
			fmt.Fprintf(w, "| Time (UTC) | Step | Target | Now at | Was at | Build | Method | Status |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
			deployed = true
		}
		status := string(d.Status)
		if d.Error != "" {
			status += ": " + d.Error
		}
		fmt.Fprintf(w, "| %s | %s | `%s` | %s | %s | %s | %s | %s |\n", e.Time.UTC().Format("15:04:05"), e.Kind,
			d.Target, mdCode(d.Digest), mdCode(d.Previous), mdCode(d.Build), mdCell(string(d.Method)), mdCell(status))
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
		fmt.Fprintf(w, "- %s: %s: `%s` %s\n", clock(e.Time), v.Verdict(), v.URL, v.Result())
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
	return termsafe.String(strings.Join(strings.Fields(s), " "))
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
