package report_test

import (
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/journal"
	"github.com/lkg-dev/lkg/report"
)

func ExampleRestoreOf() {
	start := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	event := func(min int, kind journal.Kind, data any) journal.Event {
		e, _ := journal.NewEvent(kind, "", data)
		e.Time = start.Add(time.Duration(min) * time.Minute)
		return e
	}
	in := journal.Incident{ID: "20261120-1400", Start: start, Events: []journal.Event{
		event(2, journal.KindDeploy, journal.Move{Target: "r.example/app:prod", Status: journal.StatusDone}),
		event(3, journal.KindVerify, journal.VerifyData{OK: false, Status: 503}),
		event(5, journal.KindDeploy, journal.Move{Target: "r.example/app:prod", Status: journal.StatusUnchanged}),
		event(6, journal.KindVerify, journal.VerifyData{OK: true, Status: 200}),
	}}
	r, restored := report.RestoreOf(in)
	fmt.Println(restored, r.Verified, report.RoundDuration(r.At.Sub(in.Start)), "by the deploy at", r.DeployAt.Format("15:04"))
	// Output:
	// true true 6m by the deploy at 14:05
}
