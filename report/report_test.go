package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/journal"
)

func TestRestoreOf(t *testing.T) {
	start := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return start.Add(time.Duration(min) * time.Minute) }
	event := func(min int, kind journal.Kind, data any) journal.Event {
		t.Helper()
		e, err := journal.NewEvent(kind, "", data)
		if err != nil {
			t.Fatal(err)
		}
		e.Time = at(min)
		return e
	}
	deploy := func(min int, status journal.Status) journal.Event {
		return event(min, journal.KindDeploy, journal.Move{Target: "r.example/app:prod", Status: status, Digest: "sha256:" + string(status)})
	}
	verify := func(min int, ok bool) journal.Event {
		return event(min, journal.KindVerify, journal.VerifyData{URL: "http://svc/healthz", OK: ok})
	}
	undo := event(3, journal.KindUndo, journal.Move{Target: "r.example/app:prod", Status: journal.StatusDone})

	type want struct {
		restored     bool
		at, deployAt int // minutes after the start
		verified     bool
		failedVerify bool
	}
	tests := []struct {
		name   string
		events []journal.Event
		want   want
	}{
		{"nothing deployed", nil, want{}},
		{"only planned, failed and dry runs", []journal.Event{
			deploy(1, journal.StatusPlanned), deploy(1, journal.StatusFailed), deploy(2, journal.StatusDryRun),
		}, want{}},
		{"first finished deploy, nothing verified", []journal.Event{
			deploy(1, journal.StatusPlanned), deploy(2, journal.StatusDone), deploy(4, journal.StatusDone),
		}, want{restored: true, at: 2, deployAt: 2}},
		{"unchanged counts as finished", []journal.Event{deploy(3, journal.StatusUnchanged)},
			want{restored: true, at: 3, deployAt: 3}},
		{"an undo does not restore", []journal.Event{undo}, want{}},
		{"verified: to the verify", []journal.Event{deploy(2, journal.StatusDone), verify(3, true)},
			want{restored: true, at: 3, deployAt: 2, verified: true}},
		{"a verify before any deploy does not count", []journal.Event{verify(1, true), deploy(2, journal.StatusDone)},
			want{failedVerify: true, deployAt: 2}},
		{"failed verify, then a verified deploy", []journal.Event{
			deploy(2, journal.StatusDone), verify(3, false), deploy(5, journal.StatusUnchanged), verify(6, true),
		}, want{restored: true, at: 6, deployAt: 5, verified: true}},
		{"every verify failed", []journal.Event{deploy(2, journal.StatusDone), verify(3, false), deploy(5, journal.StatusDone)},
			want{failedVerify: true, deployAt: 2}},
		{"a verified deploy undone later does not count", []journal.Event{
			deploy(2, journal.StatusDone), verify(3, true),
			event(4, journal.KindUndo, journal.Move{Target: "r.example/app:prod", Status: journal.StatusDone, Previous: "sha256:done", Digest: "sha256:old"}),
		}, want{}},
		{"an undo of another digest leaves the deploy counted", []journal.Event{
			deploy(2, journal.StatusDone), verify(3, true),
			event(4, journal.KindUndo, journal.Move{Target: "r.example/app:prod", Status: journal.StatusDone, Previous: "sha256:other", Digest: "sha256:old"}),
		}, want{restored: true, at: 3, deployAt: 2, verified: true}},
		{"an interrupted verify is no verdict", []journal.Event{deploy(2, journal.StatusDone),
			event(3, journal.KindVerify, journal.VerifyData{URL: "http://svc/healthz", Error: journal.VerifyInterrupted})},
			want{restored: true, at: 2, deployAt: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := journal.Incident{ID: "20261120-1400", Start: start, Open: true, Events: tt.events}
			got, restored := RestoreOf(in)
			if restored != tt.want.restored {
				t.Fatalf("RestoreOf restored = %v, want %v (%+v)", restored, tt.want.restored, got)
			}
			if got.Verified != tt.want.verified || got.FailedVerify != tt.want.failedVerify {
				t.Errorf("RestoreOf verified, failedVerify = %v, %v; want %v, %v", got.Verified, got.FailedVerify, tt.want.verified, tt.want.failedVerify)
			}
			if tt.want.restored && !got.At.Equal(at(tt.want.at)) {
				t.Errorf("RestoreOf at = %s, want %s", got.At.Format("15:04"), at(tt.want.at).Format("15:04"))
			}
			if (tt.want.restored || tt.want.failedVerify) && !got.DeployAt.Equal(at(tt.want.deployAt)) {
				t.Errorf("RestoreOf deployAt = %s, want %s", got.DeployAt.Format("15:04"), at(tt.want.deployAt).Format("15:04"))
			}
		})
	}
}

func TestRoundDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{42*time.Second + 300*time.Millisecond, "42s"},
		{7 * time.Minute, "7m"},
		{7*time.Minute + 5*time.Second, "7m5s"},
		{83*time.Minute + 20*time.Second, "1h23m"},
	}
	for _, tt := range tests {
		if got := RoundDuration(tt.d); got != tt.want {
			t.Errorf("RoundDuration(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestRestoredWith(t *testing.T) {
	const dg = "sha256:1111"
	tests := []struct {
		d    journal.Move
		want string
	}{
		{journal.Move{GoodTag: "v3.13.1", Revision: "4f2a9c1b7d3e0000", Build: "r.example/app@" + dg, Digest: dg, Method: journal.MethodCopy},
			"`v3.13.1` (commit 4f2a9c1b7d3e): `r.example/app@" + dg + "` (copy)"},
		{journal.Move{GoodTag: "v1", Build: "rebuild", Digest: dg, Method: journal.MethodRebuild}, "`v1`: `" + dg + "` (rebuild)"},
		{journal.Move{Build: "shop/api:local", Digest: dg, Method: journal.MethodEnginePush}, "`shop/api:local` at `" + dg + "` (engine-push)"},
	}
	for _, tt := range tests {
		if got := mdInline(restoredWith(tt.d), false); got != tt.want {
			t.Errorf("restoredWith(%+v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestMarkdownNoRawHTML: journal text cannot put HTML into the Markdown
// that GitHub or GitLab would render.
func TestMarkdownNoRawHTML(t *testing.T) {
	var md bytes.Buffer
	WriteMarkdown(&md, sampleIncident(t))
	if !strings.Contains(md.String(), "- 14:10: rolled back; %%{init: {\"theme\":\"dark\"}}%% section x # ; : \\<b>bold\\</b> second line\n") {
		t.Errorf("the note is not escaped as text:\n%s", md.String())
	}
	if regexp.MustCompile(`(^|[^\\])<b>`).MatchString(md.String()) {
		t.Errorf("raw <b> in the Markdown")
	}
}
