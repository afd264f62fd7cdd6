package report

import (
	"time"

	"github.com/lkg-dev/lkg/journal"
)

// JSON is what lkg report --json prints: the incident as incident tools
// import a timeline. docs/json.md is its contract.
type JSON struct {
	ID            string           `json:"id"`
	Title         string           `json:"title"`
	Start         time.Time        `json:"start"`
	Close         *time.Time       `json:"close"` // null while the incident is open
	TimeToRestore RestoreJSON      `json:"time_to_restore"`
	Environments  []EnvRestoreJSON `json:"environments"` // [] when no step named an environment
	Events        []EventJSON      `json:"events"`
}

// RestoreJSON is the time to restore, RestoreOf's answer.
type RestoreJSON struct {
	Restored bool   `json:"restored"`
	Seconds  int64  `json:"seconds"`  // from the start to At; 0 when not restored
	Duration string `json:"duration"` // Seconds as people say it ("6m"); "" when not restored
	// At is when service counts as restored (the verify, or the deploy when
	// nothing was verified); null when not restored.
	At       *time.Time `json:"at"`
	Verified bool       `json:"verified"`
	// Target and DeployedAt name the deploy that restored service, or the
	// one whose verification failed; "" and null when there is none.
	Target     string     `json:"target"`
	DeployedAt *time.Time `json:"deployed_at"`
	// Reason says why service was not restored: "failed-verification",
	// "undone", "no-deploy"; "" when restored.
	Reason string `json:"reason"`
}

// EnvRestoreJSON is one environment's time to restore.
type EnvRestoreJSON struct {
	Env string `json:"env"`
	RestoreJSON
}

// EventJSON is one step of the timeline (a Point).
type EventJSON struct {
	Time    time.Time    `json:"time"`
	Kind    journal.Kind `json:"kind"`
	Target  string       `json:"target"`
	Status  string       `json:"status"`
	Outcome Outcome      `json:"outcome"`
	Env     string       `json:"env,omitempty"`
	Text    string       `json:"text"`
}

// JSONOf is the incident as lkg report --json prints it.
func JSONOf(in journal.Incident) JSON {
	t := TimelineOf(in)
	out := JSON{ID: t.ID, Title: t.Title, Start: t.Start, TimeToRestore: restoreJSON(t.Start, t.Restore, t.Restored),
		Environments: []EnvRestoreJSON{}, Events: []EventJSON{}}
	if !t.End.IsZero() {
		end := t.End
		out.Close = &end
	}
	for _, er := range RestoreByEnv(in) {
		out.Environments = append(out.Environments, EnvRestoreJSON{Env: er.Env, RestoreJSON: restoreJSON(t.Start, er.Restore, er.Restored)})
	}
	for _, p := range t.Points {
		out.Events = append(out.Events, EventJSON{Time: p.Time, Kind: p.Kind, Target: p.Target, Status: p.Status, Outcome: p.Outcome, Env: p.Env, Text: p.Text})
	}
	return out
}

func restoreJSON(start time.Time, r Restore, restored bool) RestoreJSON {
	utc := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	out := RestoreJSON{Restored: restored, Verified: r.Verified, Target: r.Deploy.Target, DeployedAt: utc(r.DeployAt)}
	switch {
	case restored:
		d := r.At.Sub(start)
		out.Seconds, out.Duration, out.At = int64(d.Round(time.Second)/time.Second), RoundDuration(d), utc(r.At)
	case r.FailedVerify:
		out.Reason = "failed-verification"
	case r.AllUndone:
		out.Reason = "undone"
	default:
		out.Reason = "no-deploy"
	}
	return out
}
