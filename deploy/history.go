package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/journal"
)

// ErrNoRevision: undo --to-revision named a revision the target's history
// does not have.
var ErrNoRevision = errors.New("no such revision")

// Revision is one deploy or undo of a target, as `lkg history` lists it:
// the outcome of one move (or its planned line, when lkg was killed before
// it could record one). Revisions are numbered from 1, oldest first, like
// helm's.
type Revision struct {
	Number     int            `json:"revision"`
	Time       time.Time      `json:"time"`
	Kind       string         `json:"kind"` // "deploy" or "undo"
	Incident   string         `json:"incident"`
	Previous   string         `json:"previous"` // the target's digest before
	Digest     string         `json:"digest"`   // the digest the move put there
	Now        string         `json:"now,omitempty"`
	Status     journal.Status `json:"status"`
	GoodTag    string         `json:"good_tag,omitempty"`
	Commit     string         `json:"commit,omitempty"`
	Build      string         `json:"build,omitempty"`
	Method     journal.Method `json:"method,omitempty"`
	ToRevision int            `json:"to_revision,omitempty"`
	User       string         `json:"user,omitempty"` // user@host
	Clone      string         `json:"clone,omitempty"`
	Error      string         `json:"error,omitempty"`
}

// Moved says the revision left the target at its digest: done, or read
// back there.
func (r Revision) Moved() bool {
	return r.Digest != "" && (r.Status == journal.StatusDone || r.Now == r.Digest)
}

// History is every deploy and undo of target in events (a journal, oldest
// first, across incidents), numbered oldest first and returned newest
// first. A move's planned line is folded into its outcome; a planned line
// with no outcome (lkg was killed) is a revision of its own, status
// planned. Dry runs are not revisions.
func History(events []journal.Event, target string) []Revision {
	type entry struct {
		e journal.Event
		d journal.DeployData
	}
	var moves []entry
	for _, e := range events {
		if e.Kind != journal.KindDeploy && e.Kind != journal.KindUndo {
			continue
		}
		var d journal.DeployData
		if e.DecodeData(&d) != nil || d.Target != target || d.Status == journal.StatusDryRun {
			continue
		}
		moves = append(moves, entry{e, d})
	}
	var revs []Revision
	for i, m := range moves {
		if m.d.Status == journal.StatusPlanned && i+1 < len(moves) {
			next := moves[i+1]
			if next.e.Kind == m.e.Kind && next.d.Status.Outcome() && next.d.Previous == m.d.Previous {
				continue // its outcome follows
			}
		}
		revs = append(revs, Revision{
			Time: m.e.Time, Kind: m.e.Kind, Incident: m.e.Incident,
			Previous: m.d.Previous, Digest: m.d.Digest, Now: m.d.Now, Status: m.d.Status,
			GoodTag: m.d.GoodTag, Commit: m.d.Revision, Build: m.d.Build, Method: m.d.Method,
			ToRevision: m.d.ToRevision, User: m.d.User, Clone: m.d.Clone, Error: m.d.Error,
		})
	}
	out := make([]Revision, len(revs))
	for i, r := range revs {
		r.Number = i + 1
		out[len(revs)-1-i] = r
	}
	return out
}

// UndoToRevision puts target back to the digest revision n of its history
// (History(events, target)) put there, like `helm rollback REV`: a move
// like any other, with the plan, dry run, confirmation, lock,
// compare-and-swap against the digest read at plan time, read-back and
// journal. The revision must have moved the tag (status done, or read back
// at its digest).
func UndoToRevision(ctx context.Context, copier *artifacts.Copier, rec Recorder, events []journal.Event, target string, n int, opts ...Option) (*Outcome, error) {
	revs := History(events, target)
	var rev *Revision
	for i := range revs {
		if revs[i].Number == n {
			rev = &revs[i]
		}
	}
	if rev == nil {
		span := "none"
		if len(revs) > 0 {
			span = fmt.Sprintf("revisions 1 to %d", len(revs))
		}
		return nil, &Error{
			Err:  fmt.Errorf("no revision %d of %s: its history has %s: %w", n, target, span, ErrNoRevision),
			Hint: "List them with 'lkg history --to " + target + "'",
			Code: 2,
		}
	}
	if !rev.Moved() {
		return nil, &Error{
			Err:  fmt.Errorf("revision %d of %s did not move the tag (status %s): %w", n, target, rev.Status, ErrNoRevision),
			Hint: "Nothing was changed. Pick a revision whose status is done, from 'lkg history --to " + target + "'",
		}
	}
	what := rev.Kind
	if rev.GoodTag != "" {
		what += " of " + rev.GoodTag
	}
	d := &deployment{
		target: target, kind: journal.KindUndo, copier: copier, rec: rec, o: newOptions(opts),
		source:     repoOf(target) + "@" + rev.Digest,
		toRevision: n,
		what:       fmt.Sprintf("put %s back to %s, what revision %d (%s) put there", target, digest.Short(rev.Digest), n, what),
		report:     Report{Method: journal.MethodCopy, Build: repoOf(target) + "@" + rev.Digest, GoodTag: rev.GoodTag, Revision: rev.Commit},
	}
	return d.run(ctx)
}
