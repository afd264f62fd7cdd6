package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/journal"
)

// ErrNoDeploy: the journal has no successful deploy to the target.
var ErrNoDeploy = errors.New("no deploy to undo")

// Undo puts t back to what it ran before the last deploy that events (the
// incident journal, oldest first) record. The move is a compare-and-swap
// against what that deploy left: if the target moved since, nothing is
// changed (ErrTargetMoved). Undoing twice is not an error: the second
// finds the target already back.
func Undo(ctx context.Context, t Target, rec Recorder, events []journal.Event, o Options) (*Outcome, error) {
	o.defaults()
	now, err := t.Read(ctx)
	if err != nil {
		return nil, explain(err, t.String())
	}
	last, err := LastDeploy(events, t.String(), now.Digest)
	if err != nil {
		return nil, err
	}
	if !last.HadPrevious() {
		return nil, errs.Hinted(fmt.Errorf("the last deploy created %s (it did not exist before): %w", t, ErrNoDeploy),
			"A registry cannot drop a tag without its manifest; deploy the build you want with 'lkg deploy --good REF'")
	}
	d := (&deployment{t: t, rec: rec, o: o}).undoOf(last, last.Digest)
	d.what = fmt.Sprintf("put %s back to %s, where it was before the last deploy", t, digest.Short(last.Previous))
	if last.Previous == "" {
		d.what = fmt.Sprintf("put %s back to what each of its units ran before the last deploy", t)
	}
	// Undoing twice is a no-op, not an error: the target is where undo
	// puts it.
	if now.Digest == last.Previous && (now.Digest != "" || string(now.Detail) == string(last.PreviousDetail)) {
		d.rec0.Target, d.rec0.Previous, d.rec0.Digest, d.rec0.Status = t.String(), now.Digest, now.Digest, journal.StatusUnchanged
		return d.outcome(fmt.Sprintf("%s is already at %s, where it was before the last deploy; nothing to do.", t, now.Digest)), nil
	}
	return d.run(ctx)
}

// LastDeploy is the newest deploy event to target that moved it: one whose
// status is done, or, whatever its status says, one whose digest the
// target holds now (a deploy killed, interrupted or failed after its write
// took effect: the target is where lkg put it). A planned line of a deploy
// killed after the target left where it was planned from also counts when
// it is the newest: its previous state is on record, and the compare and
// swap against its planned digest refuses if something else moved the
// target. now is the target's digest now.
func LastDeploy(events []journal.Event, target, now string) (journal.Move, error) {
	newest := true
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Kind != journal.KindDeploy {
			continue
		}
		var d journal.Move
		if err := e.DecodeData(&d); err != nil || d.Target != target {
			continue
		}
		switch {
		case d.Status == journal.StatusDone:
			return d, nil
		case d.Digest != "" && d.Digest != d.Previous && d.Digest == now && d.Status != journal.StatusDryRun:
			return d, nil
		case newest && d.Status == journal.StatusPlanned && d.Digest != "" && now != d.Previous:
			return d, nil
		}
		newest = false
	}
	return journal.Move{}, errs.Hinted(fmt.Errorf("the incident journal records no successful deploy to %s: %w", target, ErrNoDeploy),
		"Check the target with 'lkg journal', or run undo in the repository deploy ran in (-C DIR)")
}
