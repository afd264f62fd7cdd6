package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Record appends e like Append, and makes sure an event that cannot be
// written is not lost: it is printed on w as the journal line it would
// have been (the user can paste it into the journal later), and the error
// says "writing the incident journal". The caller decides whether that
// fails the command: a deploy that already moved the tag must not pretend
// it did not.
//
// Events the journal refuses (an incident-start while one is open, an
// incident-close with none open) return ErrIncidentOpen or ErrNoIncident
// as they are, printing nothing: nothing was lost.
func (j *Journal) Record(e Event, w io.Writer) (Event, bool, error) {
	written, started, err := j.Append(e)
	if err == nil {
		return written, started, nil
	}
	if errors.Is(err, ErrIncidentOpen) || errors.Is(err, ErrNoIncident) {
		return e, false, err
	}
	if e.Time.IsZero() {
		e.Time = j.now(time.Time{})
	}
	PrintLost(w, e)
	return e, false, fmt.Errorf("writing the incident journal: %w", err)
}

// PrintLost prints e on w as its journal line, after a line saying the
// journal could not be written: the fallback of Record, for callers that
// could not even open the journal. A zero Time is printed as it is.
func PrintLost(w io.Writer, e Event) {
	if line, err := json.Marshal(e); err == nil {
		fmt.Fprintf(w, "lkg: could not write the incident journal; the event was:\n%s\n", line)
	}
}
