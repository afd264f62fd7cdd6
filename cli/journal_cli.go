package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/redact"
	"github.com/lkg-dev/lkg/journal"
)

// fakeNow, when set, makes the journal's clock deterministic: the first
// event of an empty journal is stamped fakeNow and every later event one
// minute after the newest event already in the journal. The clock reads
// the journal, not the wall, so separate lkg processes agree and golden
// reports stay stable. Only the test binary sets it (LKG_FAKE_NOW, in
// main_test.go); the shipped binary always stamps the wall clock.
var fakeNow time.Time

// openJournal opens the journal of the repository whose git dir is gitDir.
func openJournal(gitDir string) (*journal.Journal, error) {
	var opts []journal.Option
	if !fakeNow.IsZero() {
		opts = append(opts, journal.WithSteppedClock(fakeNow, time.Minute))
	}
	j, err := journal.Open(gitDir, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening the incident journal: %w", err)
	}
	return j, nil
}

// maxEvidence caps what one incident's evidence captures take on disk.
const maxEvidence = 64 << 20

// saveEvidence keeps a capture beside the clone's journal, under the open
// incident.
func saveEvidence(gitDir string) func(journal.Evidence) (string, error) {
	return func(ev journal.Evidence) (string, error) {
		j, err := openJournal(gitDir)
		if err != nil {
			return "", err
		}
		return j.SaveEvidence(ev, maxEvidence)
	}
}

// appendEvent is the one way commands write the journal. It fills the
// event's time and incident, and says on stderr when the event started a new
// incident (not with -q). When the journal cannot be written the event is
// printed on stderr (see journal.Record), even with -q: it is the only copy.
// The error is then returned.
func appendEvent(gitDir string, std *IO, e journal.Event) (journal.Event, error) {
	e.Message = redact.Text(e.Message) // a note may quote a URL with its token
	j, err := openJournal(gitDir)
	if err != nil {
		if !fakeNow.IsZero() && e.Time.IsZero() {
			e.Time = fakeNow.UTC()
		} else if e.Time.IsZero() {
			e.Time = time.Now().UTC()
		}
		journal.PrintLost(std.Err, e)
		return e, fmt.Errorf("writing the incident journal: %w", err)
	}
	e, started, err := j.Record(e, std.Err)
	if err != nil {
		return e, err
	}
	if started && e.Kind != journal.KindIncidentStart {
		std.notef("started incident %s (close it with 'lkg incident close')", e.Incident)
	}
	return e, nil
}

// journalOf opens the journal of the repository -C names. It needs only
// the git directory, so it works in repositories lkg's git library cannot
// open (sha256 objects, reftable refs).
func journalOf(g *Globals) (*journal.Journal, string, error) {
	gitDir, err := gitops.FindGitDir(g.Dir)
	if err != nil {
		return nil, "", err
	}
	j, err := openJournal(gitDir)
	if err != nil {
		return nil, "", err
	}
	return j, gitDir, nil
}

// journalEvents reads every event of the journal of the repository -C
// names, printing torn-line warnings.
func journalEvents(g *Globals, std *IO) ([]journal.Event, error) {
	j, _, err := journalOf(g)
	if err != nil {
		return nil, err
	}
	events, _, err := readJournal(j, std)
	return events, err
}

// readJournal reads every event, printing torn-line warnings.
func readJournal(j *journal.Journal, std *IO) ([]journal.Event, []string, error) {
	events, warnings, err := j.Events()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the incident journal: %w", err)
	}
	for _, w := range warnings {
		std.warnf("%s", w)
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
