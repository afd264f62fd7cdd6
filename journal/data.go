package journal

import (
	"encoding/json"
	"fmt"
)

// FindData is the Data of a find event.
type FindData struct {
	GoodTag string `json:"good_tag"`
	Best    string `json:"best"` // "image@digest", or "" when no build was found
	Builds  int    `json:"builds"`
	Sources int    `json:"sources"`
}

// Move is one deploy or undo of one target: the Data of a deploy or undo
// event, and the one record that history, the report and `lkg deploy
// --json` show of it. A word means one thing in it: Revision is the
// commit a build records, never a position in a history.
type Move struct {
	// Target names the target as --to does: "host/repo:tag",
	// "docker://NAME", "swarm://SERVICE", "k8s://NS/KIND/NAME"...
	Target   string `json:"target"`
	Previous string `json:"previous"` // the digest the target ran before, "" if none
	Digest   string `json:"digest"`   // the digest the target was moved to
	Build    string `json:"build"`    // what was deployed, "image@digest" or a commit
	Method   Method `json:"method"`   // how the digest got there
	Status   Status `json:"status"`   // where the move stands
	Error    string `json:"error,omitempty"`
	// Now is the digest the target was read back at after the move, ""
	// when it was not read back (planned lines) or does not exist. For a
	// move that did not finish cleanly it is what the target holds, and
	// Status follows from it.
	Now string `json:"now,omitempty"`
	// GoodTag and Revision name the known-good version a deploy put back
	// (its tag and commit); empty for an undo.
	GoodTag  string `json:"good_tag,omitempty"`
	Revision string `json:"revision,omitempty"`
	// User is who ran the move, "user@host"; Clone is the repository it
	// ran in (its work tree, or a bare repository's directory).
	User  string `json:"user,omitempty"`
	Clone string `json:"clone,omitempty"`
	// ToEntry is, for `lkg undo --to-entry N`, N: the entry of the
	// target's history whose digest the undo put back.
	ToEntry int `json:"to_entry,omitempty"`
	// Env is the environment of .lkg.yaml the target belongs to (lkg
	// deploy --env); "" for a target given with --to.
	Env string `json:"env,omitempty"`
	// Warnings are what deploy warned of before the move, such as
	// automation that would undo it.
	Warnings []string `json:"warnings,omitempty"`
	// Image is the image reference the target names after the move (for a
	// registry tag, "host/repo@digest"); PreviousImage the one it named
	// before, which undo puts back as it was written (a tag stays a tag).
	Image         string `json:"image,omitempty"`
	PreviousImage string `json:"previous_image,omitempty"`
	// PreviousDetail is what else a target needs to put its previous state
	// back (a service's spec version, a config file's commit); the target
	// reads it, the core only keeps it.
	PreviousDetail json.RawMessage `json:"previous_detail,omitempty"`
	// Detail is the same for what the target holds after the move, as
	// it read back (the commit a config repository's branch is at, each
	// container of a compose service).
	Detail json.RawMessage `json:"detail,omitempty"`
	// Referrers and CosignTags are the signatures and attestations a copy
	// brought along (registry tags only).
	Referrers  []string `json:"referrers,omitempty"`
	CosignTags []string `json:"cosign_tags,omitempty"`
	// Verify is how the service answered after the move; the journal has it
	// as a verify event of its own, deploy --json inline.
	Verify *VerifyData `json:"verify,omitempty"`
	// Reverted says this undo is --auto-revert's, after a verification that
	// failed.
	Reverted bool `json:"auto_revert,omitempty"`
	// Evidence sums up what the build the target ran was doing, captured
	// right before this move replaced it (runtime targets); the whole
	// capture is in the file it names.
	Evidence *EvidenceSummary `json:"evidence,omitempty"`
}

// Status is where a deploy or undo stands, as Move records it. A
// move is journaled twice: planned before the tag moves, then with its
// outcome.
type Status string

// The statuses lkg records. A journal may hold others (a newer lkg's); they
// count as outcomes that did not finish.
const (
	StatusPlanned   Status = "planned"   // about to move; Previous is what the target held
	StatusDone      Status = "done"      // moved and read back at Digest (Error says what went wrong on the way, if anything)
	StatusFailed    Status = "failed"    // did not move; Error says why, Now where the target is
	StatusDryRun    Status = "dry-run"   // planned only, on request
	StatusUnchanged Status = "unchanged" // the target was already at Digest
	// StatusOverwritten: another writer won: read back after the move (or
	// after the settle that follows it), the target held Now, neither
	// Previous nor Digest.
	StatusOverwritten Status = "overwritten"
	// StatusUnknown: the move did not finish cleanly and the target could
	// not be read back in time; it holds Previous or Digest.
	StatusUnknown Status = "unknown"
)

// Finished says the target holds the deployed digest: done, or it already
// did (unchanged). Such a deploy can restore service.
func (s Status) Finished() bool { return s == StatusDone || s == StatusUnchanged }

// Outcome says the event records how a move ended, rather than the
// planned line written before it.
func (s Status) Outcome() bool { return s != StatusPlanned }

// HadPrevious says the target held something before the move that undo
// can put back: a digest, an image, or a runtime's own record of what each
// unit ran (replicas on different builds). A registry tag the move created
// held nothing.
func (m Move) HadPrevious() bool {
	return m.Previous != "" || m.PreviousImage != "" || len(m.PreviousDetail) > 0
}

// Method is how a deploy or undo put the digest under the target.
type Method string

// The methods lkg records.
const (
	MethodCopy       Method = "copy"        // a registry build copied by digest
	MethodEnginePush Method = "engine-push" // a local engine image tagged and pushed
	MethodRebuild    Method = "rebuild"     // built from the good commit's tree, then pushed
)

// VerifyData is the Data of a verify event.
type VerifyData struct {
	URL       string `json:"url"`
	OK        bool   `json:"ok"`
	Status    int    `json:"status"` // the last HTTP status; 0 when nothing answered
	ElapsedMS int64  `json:"elapsed_ms"`
	// Error is why the last attempt got no HTTP answer: VerifyRefused,
	// VerifyTimedOut, VerifyInterrupted, or another network error's text.
	// "" when the service answered (Status).
	Error string `json:"error,omitempty"`
	Env   string `json:"env,omitempty"` // as Move.Env
}

// Why a verify got no answer, as VerifyData.Error records it.
const (
	VerifyRefused     = "refused"     // nothing listens: connection refused
	VerifyTimedOut    = "timed out"   // connected, or tried to, and no answer in time
	VerifyInterrupted = "interrupted" // Ctrl-C: no verdict either way
)

// Interrupted says the verify was cut short by the user: it is no verdict
// on the service.
func (v VerifyData) Interrupted() bool { return v.Error == VerifyInterrupted }

// Verdict is "ok", "FAILED" or, for an interrupted verify, "interrupted".
func (v VerifyData) Verdict() string {
	switch {
	case v.OK:
		return "ok"
	case v.Interrupted():
		return "interrupted"
	}
	return "FAILED"
}

// Result says what the URL did, after the URL itself: "answered 503 in
// 30012 ms", "refused the connection (for 2000 ms)", "timed out after
// 2000 ms", "was interrupted after 800 ms".
func (v VerifyData) Result() string {
	switch {
	case v.Error == "" || v.OK:
		return fmt.Sprintf("answered %d in %d ms", v.Status, v.ElapsedMS)
	case v.Error == VerifyRefused:
		return fmt.Sprintf("refused the connection (for %d ms)", v.ElapsedMS)
	case v.Error == VerifyTimedOut:
		return fmt.Sprintf("timed out after %d ms", v.ElapsedMS)
	case v.Interrupted():
		if v.Status != 0 {
			return fmt.Sprintf("was interrupted after %d ms (last status %d)", v.ElapsedMS, v.Status)
		}
		return fmt.Sprintf("was interrupted after %d ms", v.ElapsedMS)
	}
	return fmt.Sprintf("got no answer: %s (after %d ms)", v.Error, v.ElapsedMS)
}

// SuspectsData is the Data of a suspects event: the summary `lkg report`
// shows, not the whole list.
type SuspectsData struct {
	Good     string         `json:"good"`     // as given, e.g. "v3.13.1"
	Bad      string         `json:"bad"`      // as given
	From     string         `json:"from"`     // commit the changes are counted from: good, or the merge base
	To       string         `json:"to"`       // the bad commit
	Diverged bool           `json:"diverged"` // good is not an ancestor of bad
	Commits  int            `json:"commits"`
	Units    int            `json:"units"`
	Files    int            `json:"files"`
	Added    int            `json:"added"`
	Deleted  int            `json:"deleted"`
	Risks    map[string]int `json:"risks,omitempty"` // category → units
	Risky    []SuspectUnit  `json:"risky,omitempty"` // units touching a risk category, newest first
}

// SuspectUnit is one unit in SuspectsData.
type SuspectUnit struct {
	Commit  string   `json:"commit"`
	PR      int      `json:"pr,omitempty"`
	Subject string   `json:"subject"`
	Risks   []string `json:"risks"`
}

// NewEvent builds an event of kind with message and data (any value that
// encodes to a JSON object, typically FindData, Move or VerifyData;
// nil for none).
func NewEvent(kind Kind, message string, data any) (Event, error) {
	e := Event{Kind: kind, Message: message}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return e, fmt.Errorf("encoding %s data: %w", kind, err)
		}
		e.Data = raw
	}
	return e, nil
}

// DecodeData decodes the event's Data into v. An event without Data leaves
// v untouched.
func (e Event) DecodeData(v any) error {
	if len(e.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decoding %s data: %w", e.Kind, err)
	}
	return nil
}
