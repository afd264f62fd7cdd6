package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecordPrintsWhatCannotBeWritten(t *testing.T) {
	gitDir := t.TempDir()
	// A file where the journal's directory belongs: no Append can succeed,
	// whoever runs the test (root ignores permissions).
	if err := os.WriteFile(filepath.Join(gitDir, "lkg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	j, err := Open(gitDir, WithSteppedClock(start, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEvent(KindDeploy, "", Move{Target: "r.example/app:prod", Status: StatusPlanned})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	got, _, err := j.Record(e, &out)
	if err == nil || !strings.HasPrefix(err.Error(), "writing the incident journal: ") {
		t.Fatalf("Record error = %v, want one that starts %q", err, "writing the incident journal: ")
	}
	if !got.Time.Equal(start) {
		t.Errorf("Record time = %v, want the clock's %v", got.Time, start)
	}
	want := "lkg: could not write the incident journal; the event was:\n" +
		`{"time":"2026-11-20T14:00:00Z","kind":"deploy","incident":"","data":{"target":"r.example/app:prod","previous":"","digest":"","build":"","method":"","status":"planned"}}` + "\n"
	if out.String() != want {
		t.Errorf("Record printed\n%s\nwant\n%s", out.String(), want)
	}
}

func TestRecordRefusalIsNotLost(t *testing.T) {
	j, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, _, err = j.Record(Event{Kind: KindIncidentClose}, &out)
	if !errors.Is(err, ErrNoIncident) {
		t.Errorf("Record error = %v, want ErrNoIncident", err)
	}
	if out.Len() != 0 {
		t.Errorf("Record printed %q for a refused event, want nothing", out.String())
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		s                 Status
		finished, outcome bool
	}{
		{StatusPlanned, false, false},
		{StatusDone, true, true},
		{StatusUnchanged, true, true},
		{StatusFailed, false, true},
		{StatusDryRun, false, true},
		{"rolled-back", false, true}, // a newer lkg's status
	}
	for _, tt := range tests {
		if got := tt.s.Finished(); got != tt.finished {
			t.Errorf("%q.Finished() = %v, want %v", tt.s, got, tt.finished)
		}
		if got := tt.s.Outcome(); got != tt.outcome {
			t.Errorf("%q.Outcome() = %v, want %v", tt.s, got, tt.outcome)
		}
	}
}

func TestVerifyResult(t *testing.T) {
	tests := []struct {
		v             VerifyData
		verdict, want string
	}{
		{VerifyData{OK: true, Status: 200, ElapsedMS: 84}, "ok", "answered 200 in 84 ms"},
		{VerifyData{Status: 503, ElapsedMS: 30012}, "FAILED", "answered 503 in 30012 ms"},
		{VerifyData{Error: VerifyRefused, ElapsedMS: 2000}, "FAILED", "refused the connection (for 2000 ms)"},
		{VerifyData{Error: VerifyTimedOut, ElapsedMS: 2000}, "FAILED", "timed out after 2000 ms"},
		{VerifyData{Error: VerifyInterrupted, ElapsedMS: 800}, "interrupted", "was interrupted after 800 ms"},
		{VerifyData{Error: "lookup svc: no such host", ElapsedMS: 5}, "FAILED", "got no answer: lookup svc: no such host (after 5 ms)"},
	}
	for _, tt := range tests {
		if got := tt.v.Verdict(); got != tt.verdict {
			t.Errorf("%+v Verdict() = %q, want %q", tt.v, got, tt.verdict)
		}
		if got := tt.v.Result(); got != tt.want {
			t.Errorf("%+v Result() = %q, want %q", tt.v, got, tt.want)
		}
	}
}
