package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/journal"
)

// ErrNoEntry: undo --to-entry named an entry the target's history does
// not have, or one that did not move the target.
var ErrNoEntry = errors.New("no such history entry")

// Entry is one deploy or undo of a target, as `lkg history` lists it: the
// outcome of one move (or its planned line, when lkg was killed before it
// could record one), numbered from 1, oldest first, like helm's revisions.
// The move itself is the journal's record: Revision in it is the commit
// the build records, never this number.
type Entry struct {
	Number   int          `json:"entry"`
	Time     time.Time    `json:"time"`
	Kind     journal.Kind `json:"kind"` // deploy or undo
	Incident string       `json:"incident"`
	journal.Move
}

// Moved says the entry left the target at its digest: done, or read back
// there.
func (e Entry) Moved() bool {
	return e.Digest != "" && (e.Status == journal.StatusDone || e.Now == e.Digest)
}

// History is every deploy and undo of target in events (a journal, oldest
// first, across incidents), numbered oldest first and returned newest
// first. A move's planned line is folded into its outcome; a planned line
// with no outcome (lkg was killed) is an entry of its own, status planned.
// Dry runs are not entries.
func History(events []journal.Event, target string) []Entry {
	var moves []Entry
	for _, e := range events {
		if e.Kind != journal.KindDeploy && e.Kind != journal.KindUndo {
			continue
		}
		var m journal.Move
		if e.DecodeData(&m) != nil || m.Target != target || m.Status == journal.StatusDryRun {
			continue
		}
		moves = append(moves, Entry{Time: e.Time, Kind: e.Kind, Incident: e.Incident, Move: m})
	}
	var kept []Entry
	for i, m := range moves {
		if m.Status == journal.StatusPlanned && i+1 < len(moves) {
			next := moves[i+1]
			if next.Kind == m.Kind && next.Status.Outcome() && next.Previous == m.Previous {
				continue // its outcome follows
			}
		}
		kept = append(kept, m)
	}
	out := make([]Entry, len(kept))
	for i, m := range kept {
		m.Number = i + 1
		out[len(kept)-1-i] = m
	}
	return out
}

// UndoTo puts t back to what entry n of its history (History(events,
// t.String())) put there, like `helm rollback N`: a move like any other,
// with the plan, dry run, confirmation, lock, compare-and-swap against what
// was read at plan time, read-back and journal. The entry must have moved
// the target (status done, or read back at its digest).
func UndoTo(ctx context.Context, t Target, rec Recorder, events []journal.Event, n int, o Options) (*Outcome, error) {
	o.defaults()
	target := t.String()
	entries := History(events, target)
	var entry *Entry
	for i := range entries {
		if entries[i].Number == n {
			entry = &entries[i]
		}
	}
	if entry == nil {
		span := "none"
		if len(entries) > 0 {
			span = fmt.Sprintf("entries 1 to %d", len(entries))
		}
		return nil, errs.Coded(2, fmt.Errorf("no entry %d in the history of %s: it has %s: %w", n, target, span, ErrNoEntry),
			"List them with 'lkg history --to "+target+"'")
	}
	if !entry.Moved() {
		return nil, errs.Hinted(fmt.Errorf("entry %d of %s did not move the target (status %s): %w", n, target, entry.Status, ErrNoEntry),
			"Nothing was changed. Pick an entry whose status is done, from 'lkg history --to "+target+"'")
	}
	what := string(entry.Kind)
	if entry.GoodTag != "" {
		what += " of " + entry.GoodTag
	}
	state := State{Image: entry.Image, Digest: entry.Digest}
	d := &deployment{t: t, kind: journal.KindUndo, rec: rec, o: o}
	d.build = Build{Image: entry.Image, Digest: entry.Digest, Local: isImageID(entry.Image), Restores: &state}
	d.rec0 = move{Method: journal.MethodCopy, Build: orDigest(entry.Image, entry.Digest), GoodTag: entry.GoodTag, Revision: entry.Revision, ToEntry: n}
	d.what = fmt.Sprintf("put %s back to %s, what entry %d (%s) put there", target, digest.Short(entry.Digest), n, what)
	return d.run(ctx)
}
