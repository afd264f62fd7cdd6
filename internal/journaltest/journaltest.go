// Package journaltest is an incident journal in memory, for the tests of
// the code that records moves (the deploy core and its targets).
package journaltest

import (
	"sync"
	"testing"

	"github.com/lkg-dev/lkg/journal"
)

// Recorder keeps the events recorded, in order; safe for concurrent use.
// Its zero value is ready.
type Recorder struct {
	mu     sync.Mutex
	events []journal.Event
}

// Record keeps e.
func (r *Recorder) Record(e journal.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

// Events is what was recorded so far, oldest first.
func (r *Recorder) Events() []journal.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]journal.Event(nil), r.events...)
}

// Last is the move the newest event records; it fails tb when there is
// none.
func (r *Recorder) Last(tb testing.TB) journal.Move {
	tb.Helper()
	events := r.Events()
	if len(events) == 0 {
		tb.Fatal("nothing was journaled")
	}
	var m journal.Move
	if err := events[len(events)-1].DecodeData(&m); err != nil {
		tb.Fatal(err)
	}
	return m
}
