package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/journal"
)

// fakeNowEnv makes the journal's clock deterministic for tests and demos:
// LKG_FAKE_NOW=2026-11-20T14:00:00Z stamps the first event of an empty
// journal with that time and every later event one minute after the newest
// event already in the journal. The clock reads the journal, not the wall,
// so separate lkg processes agree and golden reports stay stable.
const fakeNowEnv = "LKG_FAKE_NOW"

// openJournal opens the journal of the repository whose git dir is gitDir,
// with the clock LKG_FAKE_NOW asks for.
func openJournal(gitDir string) (*journal.Journal, error) {
	var opts []journal.Option
	if v := os.Getenv(fakeNowEnv); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, usagef("reading %s=%q: %v. Use RFC 3339, like 2026-11-20T14:00:00Z", fakeNowEnv, v, err)
		}
		opts = append(opts, journal.WithSteppedClock(t, time.Minute))
	}
	j, err := journal.Open(gitDir, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening the incident journal: %w", err)
	}
	return j, nil
}

// appendEvent is the one way commands write the journal. It fills the
// event's time and incident, and says on errOut when the event started a new
// incident. When the journal cannot be written the event is printed on errOut
// as its JSON line, so it is not lost (the user can paste it into the
// journal later), and the error is returned; the caller decides whether a
// failed journal write fails the command (a deploy that already moved the
// tag must not pretend it did not).
func appendEvent(gitDir string, errOut io.Writer, e journal.Event) (journal.Event, error) {
	j, err := openJournal(gitDir)
	if err == nil {
		var started bool
		e, started, err = j.Append(e)
		if err == nil {
			if started && e.Kind != journal.KindIncidentStart {
				fmt.Fprintf(errOut, "lkg: started incident %s (close it with 'lkg incident close')\n", e.Incident)
			}
			return e, nil
		}
	}
	if errors.Is(err, journal.ErrIncidentOpen) || errors.Is(err, journal.ErrNoIncident) {
		return e, err
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
		if t, err := time.Parse(time.RFC3339, os.Getenv(fakeNowEnv)); err == nil {
			e.Time = t.UTC()
		}
	}
	if line, merr := json.Marshal(e); merr == nil {
		fmt.Fprintf(errOut, "lkg: could not write the incident journal; the event was:\n%s\n", line)
	}
	return e, fmt.Errorf("writing the incident journal: %w", err)
}

// journalOf opens the journal of the repository -C names.
func journalOf(g *Globals) (*journal.Journal, string, error) {
	repo, err := g.openRepo(gitops.WithNoFetch(true))
	if err != nil {
		return nil, "", err
	}
	j, err := openJournal(repo.GitDir())
	if err != nil {
		return nil, "", err
	}
	return j, repo.GitDir(), nil
}

// readJournal reads every event, printing torn-line warnings on errOut.
func readJournal(j *journal.Journal, errOut io.Writer) ([]journal.Event, []string, error) {
	events, warnings, err := j.Events()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the incident journal: %w", err)
	}
	for _, w := range warnings {
		fmt.Fprintf(errOut, "lkg: warning: %s\n", w)
	}
	return events, warnings, nil
}

// pickIncident is the incident a command shows: the one named, else the
// open one, else the newest.
func pickIncident(events []journal.Event, id string) (journal.Incident, error) {
	incidents := journal.Incidents(events)
	if len(incidents) == 0 {
		return journal.Incident{}, errNoIncidents
	}
	if id != "" {
		for _, in := range incidents {
			if in.ID == id {
				return in, nil
			}
		}
		var ids []string
		for _, in := range incidents {
			ids = append(ids, in.ID)
		}
		return journal.Incident{}, usagef("no incident %q in the journal; it has %s", id, strings.Join(ids, ", "))
	}
	for i := len(incidents) - 1; i >= 0; i-- {
		if incidents[i].Open {
			return incidents[i], nil
		}
	}
	return incidents[len(incidents)-1], nil
}

// errNoIncidents: the journal is empty.
var errNoIncidents = errors.New("the incident journal is empty. Start an incident with 'lkg incident start TITLE' (lkg find, deploy and note start one too)")

// summarize is an event in one line, for the journal listing and the
// report's timeline.
func summarize(e journal.Event) string {
	switch e.Kind {
	case journal.KindIncidentStart:
		if e.Message == "" {
			return "incident started"
		}
		return "incident started: " + e.Message
	case journal.KindIncidentClose:
		if e.Message == "" {
			return "incident closed"
		}
		return "incident closed: " + e.Message
	case journal.KindNote:
		return e.Message
	case journal.KindFind:
		var d journal.FindData
		if e.DecodeData(&d) != nil {
			break
		}
		good := ""
		if d.GoodTag != "" {
			good = " of " + d.GoodTag
		}
		if d.Best != "" {
			best := d.Best
			if image, d, ok := strings.Cut(best, "@"); ok {
				best = image + "@" + digest.Short(d)
			}
			return fmt.Sprintf("found %s%s (%s, %s)", best, good, plural(d.Builds, "build"), plural(d.Sources, "source"))
		}
		return fmt.Sprintf("no build%s found (%s to rebuild from)", good, plural(d.Sources, "source"))
	case journal.KindDeploy, journal.KindUndo:
		var d journal.DeployData
		if e.DecodeData(&d) != nil {
			break
		}
		s := fmt.Sprintf("%s %s: %s -> %s", e.Kind, d.Status, d.Target, orNone(digest.Short(d.Digest)))
		if d.Previous != "" {
			s += " (was " + digest.Short(d.Previous) + ")"
		}
		if d.Method != "" {
			s += " by " + d.Method
		}
		if d.Error != "" {
			s += ": " + d.Error
		}
		return s
	case journal.KindVerify:
		var d journal.VerifyData
		if e.DecodeData(&d) != nil {
			break
		}
		verdict := "FAILED"
		if d.OK {
			verdict = "ok"
		}
		return fmt.Sprintf("verify %s: %s answered %d in %d ms", verdict, d.URL, d.Status, d.ElapsedMS)
	case journal.KindSuspects:
		var d journal.SuspectsData
		if e.DecodeData(&d) != nil {
			break
		}
		return fmt.Sprintf("suspects %s..%s: %s, %s, +%d -%d", d.Good, d.Bad, plural(d.Units, "change"), plural(d.Files, "file"), d.Added, d.Deleted)
	}
	if e.Message != "" {
		return e.Kind + ": " + e.Message
	}
	return e.Kind
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
