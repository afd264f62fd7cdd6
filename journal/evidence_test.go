package journal

import (
	"strings"
	"testing"
	"time"
)

func TestSaveEvidence(t *testing.T) {
	dir := t.TempDir()
	j := MustOpen(t, dir, WithSteppedClock(time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC), time.Minute))
	if _, _, err := j.Append(Event{Kind: KindIncidentStart, Message: "checkout 500"}); err != nil {
		t.Fatal(err)
	}
	ev := Evidence{Target: "docker://api", Taken: time.Date(2026, 11, 20, 14, 3, 0, 0, time.UTC), Units: []EvidenceUnit{{Name: "api", State: "exited", ExitCode: 2, Logs: "panic: nil map\nok\npanic: nil map\n"}}}
	path, err := j.SaveEvidence(ev, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(path, "evidence/20261120-1400/") {
		t.Errorf("path %q, want it under the open incident", path)
	}
	got, err := j.LoadEvidence(path)
	if err != nil || got.Units[0].ExitCode != 2 {
		t.Fatalf("LoadEvidence = %+v, %v", got, err)
	}
	s := Summarize(got, path)
	if len(s.ErrorLines) != 1 || s.ErrorLines[0] != (CountedLine{"panic: nil map", 2}) {
		t.Errorf("error lines %+v, want panic: nil map twice", s.ErrorLines)
	}
	// The incident's cap: a capture that would pass it is not saved.
	if _, err := j.SaveEvidence(ev, 10); err == nil || !strings.Contains(err.Error(), "not saved") {
		t.Errorf("SaveEvidence past the cap = %v, want refused", err)
	}
	if _, err := j.LoadEvidence("../../etc/passwd"); err == nil {
		t.Error("LoadEvidence read outside the journal's directory")
	}
}
