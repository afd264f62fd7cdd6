package report

import (
	"testing"
	"time"

	"github.com/lkg-dev/lkg/journal"
)

var incidentStart = time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)

// mustEvent is an event of kind at min minutes after incidentStart.
func mustEvent(tb testing.TB, min int, kind journal.Kind, message string, data any) journal.Event {
	tb.Helper()
	e, err := journal.NewEvent(kind, message, data)
	if err != nil {
		tb.Fatal(err)
	}
	e.Time = incidentStart.Add(time.Duration(min) * time.Minute)
	e.Incident = "20261120-1400"
	return e
}

// sampleIncident is a closed incident with every kind of step: a find, a
// deploy whose verify fails, an undo, a deploy that is verified, a note,
// suspects. Its note and target carry what could break a picture.
func sampleIncident(tb testing.TB) journal.Incident {
	tb.Helper()
	const target = "registry.example.com/shop/checkout:prod"
	events := []journal.Event{
		mustEvent(tb, 0, journal.KindIncidentStart, "checkout returns 500 after v3.14.0", nil),
		mustEvent(tb, 1, journal.KindFind, "", journal.FindData{GoodTag: "v3.13.1", Best: "registry.example.com/shop/checkout:v3.13.1@sha256:1111", Builds: 3, Sources: 2}),
		mustEvent(tb, 2, journal.KindDeploy, "", journal.Move{Target: target, Previous: "sha256:2222", Digest: "sha256:1111", Status: journal.StatusPlanned}),
		mustEvent(tb, 2, journal.KindDeploy, "", journal.Move{Target: target, Previous: "sha256:2222", Digest: "sha256:1111", Status: journal.StatusDone, Method: journal.MethodCopy}),
		mustEvent(tb, 3, journal.KindVerify, "", journal.VerifyData{URL: "https://checkout.example.com/healthz", Status: 503, ElapsedMS: 30012}),
		mustEvent(tb, 4, journal.KindUndo, "", journal.Move{Target: target, Previous: "sha256:1111", Digest: "sha256:2222", Status: journal.StatusDone, Method: journal.MethodCopy}),
		mustEvent(tb, 5, journal.KindIncidentTitle, "checkout 500s", nil),
		mustEvent(tb, 6, journal.KindDeploy, "", journal.Move{Target: target, Previous: "sha256:2222", Digest: "sha256:3333", Status: journal.StatusOverwritten, Now: "sha256:4444"}),
		mustEvent(tb, 8, journal.KindDeploy, "", journal.Move{Target: target, Previous: "sha256:4444", Digest: "sha256:1111", Status: journal.StatusDone, Method: journal.MethodCopy}),
		mustEvent(tb, 9, journal.KindVerify, "", journal.VerifyData{URL: "https://ci:s3cret@checkout.example.com/healthz", OK: true, Status: 200, ElapsedMS: 84}),
		mustEvent(tb, 10, journal.KindNote, "rolled back; %%{init: {\"theme\":\"dark\"}}%% section x # ; : <b>bold</b>\nsecond line", nil),
		mustEvent(tb, 11, journal.KindSuspects, "", journal.SuspectsData{Good: "v3.13.1", Bad: "main", Units: 2, Files: 2}),
		mustEvent(tb, 12, journal.KindIncidentClose, "", nil),
	}
	in := journal.Incidents(events)
	if len(in) != 1 {
		tb.Fatalf("Incidents = %d incidents, want 1", len(in))
	}
	return in[0]
}

func TestTimelineOf(t *testing.T) {
	tl := TimelineOf(sampleIncident(t))
	type want struct {
		min     int
		kind    journal.Kind
		status  string
		outcome Outcome
		label   string
	}
	wants := []want{
		{0, "incident-start", "", OutcomeInfo, "incident started"},
		{1, "find", "found", OutcomeOK, "found a build of v3.13.1"},
		{2, "deploy", "done", OutcomeOK, "deploy checkout:prod done"}, // the planned line is left out
		{3, "verify", "failed", OutcomeFailed, "verify FAILED (503)"},
		{4, "undo", "done", OutcomeOK, "undo checkout:prod done"},
		// the retitle is left out
		{6, "deploy", "overwritten", OutcomeWarning, "deploy checkout:prod overwritten"},
		{8, "deploy", "done", OutcomeOK, "deploy checkout:prod done"},
		{9, "verify", "ok", OutcomeOK, "verify ok (200)"},
		{10, "note", "", OutcomeInfo, "note: rolled back; %%{init: {\"theme\":\"dark\"}}…"},
		{11, "suspects", "", OutcomeInfo, "suspects: 2 changes"},
		{12, "incident-close", "", OutcomeInfo, "incident closed"},
	}
	if len(tl.Points) != len(wants) {
		t.Fatalf("TimelineOf: %d points, want %d: %+v", len(tl.Points), len(wants), tl.Points)
	}
	for i, w := range wants {
		p := tl.Points[i]
		got := want{int(p.Time.Sub(incidentStart) / time.Minute), p.Kind, p.Status, p.Outcome, p.Label}
		if got != w {
			t.Errorf("point %d = %+v, want %+v", i, got, w)
		}
	}
	if got := tl.Points[7].Target; got != "https://***@checkout.example.com/healthz" {
		t.Errorf("verify target = %q, want its credentials masked", got)
	}
	if tl.Title != "checkout 500s" || tl.ID != "20261120-1400" {
		t.Errorf("TimelineOf ID, Title = %q, %q", tl.ID, tl.Title)
	}

	// The time to restore is RestoreOf's, not computed again.
	r, restored := RestoreOf(sampleIncident(t))
	d, ok := tl.TimeToRestore()
	if !ok || !restored || d != r.At.Sub(incidentStart) || d != 9*time.Minute {
		t.Errorf("TimeToRestore = %s, %v; want 9m as RestoreOf says (%s)", d, ok, r.At.Sub(incidentStart))
	}
	if got, want := tl.Last(), incidentStart.Add(12*time.Minute); !got.Equal(want) {
		t.Errorf("Last = %s, want the close %s", got, want)
	}
}

func TestTimelineOpenNotRestored(t *testing.T) {
	events := []journal.Event{
		mustEvent(t, 0, journal.KindIncidentStart, "", nil),
		mustEvent(t, 3, journal.KindDeploy, "", journal.Move{Target: "docker://web", Status: journal.StatusFailed, Error: "boom"}),
		mustEvent(t, 5, journal.KindVerify, "", journal.VerifyData{URL: "http://svc/h", Error: journal.VerifyInterrupted}),
		mustEvent(t, 7, "chaos", "a newer lkg's kind", nil),
	}
	tl := TimelineOf(journal.Incidents(events)[0])
	if _, ok := tl.TimeToRestore(); ok || !tl.End.IsZero() {
		t.Fatalf("TimeToRestore ok = %v, End = %s; want not restored, open", ok, tl.End)
	}
	got := []Outcome{}
	for _, p := range tl.Points {
		got = append(got, p.Outcome)
	}
	want := []Outcome{OutcomeInfo, OutcomeFailed, OutcomeWarning, OutcomeInfo}
	if len(got) != len(want) {
		t.Fatalf("outcomes = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("outcomes = %v, want %v", got, want)
			break
		}
	}
	if p := tl.Points[1]; p.Label != "deploy web failed" || p.Target != "docker://web" {
		t.Errorf("failed deploy = %+v", p)
	}
	if p := tl.Points[3]; p.Label != "chaos" {
		t.Errorf("unknown kind label = %q, want the kind", p.Label)
	}
	if got, want := tl.Last(), incidentStart.Add(7*time.Minute); !got.Equal(want) {
		t.Errorf("Last = %s, want the last point %s", got, want)
	}
}

func TestShortTarget(t *testing.T) {
	tests := []struct{ in, want string }{
		{"registry.example.com/shop/checkout:prod", "checkout:prod"},
		{"docker://web", "web"},
		{"k8s://shop/deployment/api#app", "api#app"},
		{"compose://shop/api", "api"},
		{"r.example/app@sha256:0123456789abcdef0123", "app@sha256:0123456789ab"},
	}
	for _, tt := range tests {
		if got := shortTarget(tt.in); got != tt.want {
			t.Errorf("shortTarget(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
