package report

import (
	"testing"
	"time"

	"github.com/lkg-dev/lkg/journal"
)

func TestRestoreByEnv(t *testing.T) {
	start := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	event := func(min int, kind journal.Kind, data any) journal.Event {
		t.Helper()
		e, err := journal.NewEvent(kind, "", data)
		if err != nil {
			t.Fatal(err)
		}
		e.Time = start.Add(time.Duration(min) * time.Minute)
		return e
	}
	in := journal.Incident{Start: start, Events: []journal.Event{
		event(1, journal.KindDeploy, journal.Move{Target: "r/app:staging", Status: journal.StatusDone, Env: "staging"}),
		event(2, journal.KindVerify, journal.VerifyData{OK: true, Env: "staging"}),
		event(3, journal.KindDeploy, journal.Move{Target: "r/app:prod", Status: journal.StatusDone, Env: "prod"}),
		event(4, journal.KindVerify, journal.VerifyData{OK: false, Env: "prod"}),
		event(5, journal.KindDeploy, journal.Move{Target: "r/app:other", Status: journal.StatusDone}),
	}}
	got := RestoreByEnv(in)
	if len(got) != 2 {
		t.Fatalf("RestoreByEnv = %+v, want staging and prod", got)
	}
	if g := got[0]; g.Env != "staging" || !g.Restored || !g.Restore.Verified || g.Restore.At.Sub(start) != 2*time.Minute {
		t.Errorf("staging = %+v, want restored and verified at +2m", g)
	}
	if g := got[1]; g.Env != "prod" || g.Restored || !g.Restore.FailedVerify {
		t.Errorf("prod = %+v, want not restored: failed verification", g)
	}
	if got := RestoreByEnv(journal.Incident{Events: in.Events[4:]}); len(got) != 0 {
		t.Errorf("RestoreByEnv without environments = %+v, want none", got)
	}
}
