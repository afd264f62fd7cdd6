package deploy

import (
	"context"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/digest"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/journal"
)

// ErrNoDeploy: the journal has no successful deploy to the target.
var ErrNoDeploy = errors.New("no deploy to undo")

// Undo moves target back to the digest it had before the last deploy that
// events (the incident journal, oldest first) record. The move is a
// compare-and-swap against the digest that deploy left: if the tag moved
// since, nothing is changed (artifacts.ErrTargetMoved). Undoing twice is
// not an error: the second finds the tag already back.
func Undo(ctx context.Context, copier *artifacts.Copier, rec Recorder, events []journal.Event, target string, opts ...Option) (*Outcome, error) {
	now, err := copier.TargetDigest(ctx, target)
	if err != nil {
		return nil, explain(err, target)
	}
	last, err := LastDeploy(events, target, now)
	if err != nil {
		return nil, err
	}
	if last.Previous == "" {
		return nil, &Error{
			Err:  fmt.Errorf("the last deploy created %s (it did not exist before): %w", target, ErrNoDeploy),
			Hint: "A registry cannot drop a tag without its manifest; deploy the build you want with 'lkg deploy --good REF'",
		}
	}
	expect := last.Digest
	d := &deployment{
		target: target, kind: journal.KindUndo, copier: copier, rec: rec, o: newOptions(opts),
		source: repoOf(target) + "@" + last.Previous,
		expect: &expect,
		what:   fmt.Sprintf("put %s back to %s, where it was before the last deploy", target, digest.Short(last.Previous)),
		report: Report{Method: journal.MethodCopy, Build: repoOf(target) + "@" + last.Previous},
	}
	// Undoing twice is a no-op, not an error: the tag is where undo puts it.
	if now == last.Previous {
		d.report.Target, d.report.Previous, d.report.Digest, d.report.Status = target, now, now, journal.StatusUnchanged
		return d.outcome(fmt.Sprintf("%s is already at %s, where it was before the last deploy; nothing to do.", target, now)), nil
	}
	return d.run(ctx)
}

// LastDeploy is the newest deploy event to target that moved it: one whose
// status is done, or, whatever its status says, one whose digest the
// target holds now (a deploy killed, interrupted or failed after its write
// took effect: the tag is where lkg put it). A planned line of a deploy
// killed after the tag left where it was planned from also counts when it
// is the newest: its previous digest is on record, and the compare and
// swap against its planned digest refuses if something else moved the
// tag. now is the target's digest now.
func LastDeploy(events []journal.Event, target, now string) (journal.DeployData, error) {
	newest := true
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Kind != journal.KindDeploy {
			continue
		}
		var d journal.DeployData
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
	return journal.DeployData{}, &Error{
		Err:  fmt.Errorf("the incident journal records no successful deploy to %s: %w", target, ErrNoDeploy),
		Hint: "Check the target with 'lkg journal', or run undo in the repository deploy ran in (-C DIR)",
	}
}
