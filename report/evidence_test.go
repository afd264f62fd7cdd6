package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/journal"
)

func TestEvidenceSection(t *testing.T) {
	start := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	event := func(min int, data journal.Move) journal.Event {
		e, err := journal.NewEvent(journal.KindDeploy, "", data)
		if err != nil {
			t.Fatal(err)
		}
		e.Time = start.Add(time.Duration(min) * time.Minute)
		return e
	}
	bad := journal.Summarize(journal.Evidence{
		Units:  []journal.EvidenceUnit{{Name: "api", State: "restarting", ExitCode: 2, Restarts: 7, OOMKilled: true, Logs: "panic: nil map\npanic: nil map\n"}},
		Events: []string{"Back-off restarting failed container"},
	}, "evidence/20261120-1400/a.json")
	good := journal.Summarize(journal.Evidence{Units: []journal.EvidenceUnit{{Name: "api", State: "running"}}}, "evidence/20261120-1400/b.json")
	in := journal.Incident{ID: "20261120-1400", Start: start, Open: true, Events: []journal.Event{
		event(3, journal.Move{Target: "docker://api", Status: journal.StatusPlanned, Evidence: &bad}),
		event(4, journal.Move{Target: "docker://api", Status: journal.StatusDone, Evidence: &bad}),
		event(9, journal.Move{Target: "docker://api", Status: journal.StatusDone, Evidence: &good}),
	}}
	var b bytes.Buffer
	WriteMarkdown(&b, in)
	out := b.String()
	for _, want := range []string{
		"## What the broken build was doing",
		"Before the deploy of `docker://api` at 14:03:",
		"`api`: restarting, exit code 2, 7 restarts, killed for memory (OOM)",
		"Back-off restarting failed container",
		"2× `panic: nil map`",
		"`evidence/20261120-1400/a.json`",
		"| Restarts | 7 | 0 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(line, " ") {
			t.Errorf("a line ends in a space: %q", line)
		}
	}
	_, sec, _ := strings.Cut(out, "## What the broken build was doing")
	sec, _, _ = strings.Cut(sec, "\n## ")
	if n := strings.Count(sec, "a.json"); n != 1 {
		t.Errorf("the capture named by planned and done lines is listed %d times in the section, want once", n)
	}
}
