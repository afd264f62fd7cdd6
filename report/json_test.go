package report

import (
	"testing"
	"time"

	"github.com/lkg-dev/lkg/journal"
)

func TestJSONOf(t *testing.T) {
	j := JSONOf(sampleIncident(t))
	if j.ID != "20261120-1400" || j.Close == nil || !j.Close.Equal(incidentStart.Add(12*time.Minute)) {
		t.Errorf("id, close = %q, %v", j.ID, j.Close)
	}
	r := j.TimeToRestore
	if !r.Restored || r.Seconds != 540 || r.Duration != "9m" || !r.Verified || r.Reason != "" || r.At == nil || r.DeployedAt == nil {
		t.Errorf("time_to_restore = %+v, want 540 s, verified", r)
	}
	if len(j.Events) != 11 || j.Events[3].Status != "failed" || j.Events[3].Outcome != OutcomeFailed {
		t.Errorf("events = %+v", j.Events)
	}

	tests := []struct {
		name   string
		events []journal.Event
		reason string
	}{
		{"no deploy", nil, "no-deploy"},
		{"failed verification", []journal.Event{
			mustEvent(t, 1, journal.KindDeploy, "", journal.Move{Target: "docker://web", Digest: "sha256:1", Status: journal.StatusDone}),
			mustEvent(t, 2, journal.KindVerify, "", journal.VerifyData{URL: "http://svc/h", Status: 503}),
		}, "failed-verification"},
		{"undone", []journal.Event{
			mustEvent(t, 1, journal.KindDeploy, "", journal.Move{Target: "docker://web", Digest: "sha256:1", Status: journal.StatusDone}),
			mustEvent(t, 2, journal.KindUndo, "", journal.Move{Target: "docker://web", Previous: "sha256:1", Digest: "sha256:0", Status: journal.StatusDone}),
		}, "undone"},
	}
	for _, tt := range tests {
		events := append([]journal.Event{mustEvent(t, 0, journal.KindIncidentStart, "", nil)}, tt.events...)
		j := JSONOf(journal.Incidents(events)[0])
		r := j.TimeToRestore
		if r.Restored || r.Reason != tt.reason || r.At != nil || r.Seconds != 0 || j.Close != nil {
			t.Errorf("%s: time_to_restore = %+v, close = %v; want not restored, reason %q, open", tt.name, r, j.Close, tt.reason)
		}
	}
}
