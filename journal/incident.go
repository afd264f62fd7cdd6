package journal

import (
	"strings"
	"time"
)

// Incident is one incident's slice of the journal.
type Incident struct {
	ID     string
	Title  string    // the incident-start message, or the newest incident-title's; may be empty
	Start  time.Time // the incident-start event's time
	End    time.Time // the incident-close event's time; zero while open
	Open   bool
	Events []Event // oldest first, the start and close events included
}

// Incidents groups events by incident, in the order the incidents started.
// Events naming an incident that has no start line (it was torn) still get
// an incident, started at their first event.
func Incidents(events []Event) []Incident {
	var out []Incident
	index := map[string]int{}
	for _, e := range events {
		i, ok := index[e.Incident]
		if !ok {
			i = len(out)
			index[e.Incident] = i
			out = append(out, Incident{ID: e.Incident, Start: e.Time, Open: true})
		}
		in := &out[i]
		switch e.Kind {
		case KindIncidentStart:
			in.Title, in.Start = e.Message, e.Time
		case KindIncidentTitle:
			in.Title = e.Message
		case KindIncidentClose:
			in.End, in.Open = e.Time, false
		}
		in.Events = append(in.Events, e)
	}
	return out
}

// OpenedByLkg says lkg opened the incident by itself (an event outside any
// incident) and nobody has titled it since: its title is lkg's, like
// "opened by lkg find", and a person's `lkg incident start TITLE` may
// replace it.
func (in Incident) OpenedByLkg() bool {
	if !strings.HasPrefix(in.Title, autoTitle) {
		return false
	}
	for _, e := range in.Events {
		if e.Kind == KindIncidentTitle {
			return false
		}
	}
	return true
}
