package journal_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/journal"
)

func Example() {
	gitDir, _ := os.MkdirTemp("", "journal-example")
	defer os.RemoveAll(gitDir)

	// A fixed clock, as LKG_FAKE_NOW gives lkg: each event a minute later.
	start := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	j, err := journal.Open(gitDir, journal.WithSteppedClock(start, time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	find, _ := journal.NewEvent(journal.KindFind, "", journal.FindData{GoodTag: "v3.13.1", Builds: 2})
	e, started, _ := j.Append(find) // no open incident: this starts one
	fmt.Println(e.Incident, started)
	j.Append(journal.Event{Kind: journal.KindNote, Message: "errors stopped at 14:02"})
	j.Append(journal.Event{Kind: journal.KindIncidentClose})

	events, _, _ := j.Events()
	for _, in := range journal.Incidents(events) {
		fmt.Println(in.ID, in.Title, in.End.Sub(in.Start))
	}
	for _, e := range events {
		fmt.Println(strings.TrimSpace(e.Time.Format("15:04") + " " + string(e.Kind) + " " + e.Message))
	}
	// Output:
	// 20261120-1400 true
	// 20261120-1400 opened by lkg find 2m0s
	// 14:00 incident-start opened by lkg find
	// 14:00 find
	// 14:01 note errors stopped at 14:02
	// 14:02 incident-close
}
