package deploy

import (
	"context"
	"io"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/journal"
)

// Recorder appends events to the incident journal. Deploy and undo record
// the target's state before it moves, so a Recorder that fails stops them
// before anything changes.
type Recorder interface {
	Record(journal.Event) error
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(journal.Event) error

// Record calls f(e).
func (f RecorderFunc) Record(e journal.Event) error { return f(e) }

// Locker takes the lock on moving target and returns how to release it
// (journal.Journal.LockTarget: a lock file in the clone's journal
// directory).
type Locker func(target string) (unlock func(), err error)

// Options are how Deploy, DeployDigest, Undo and UndoTo move a target.
// The zero value is a move that asks nobody (and so is refused), prints
// nothing, verifies nothing and takes no lock.
type Options struct {
	// DryRun plans and changes nothing (status "dry-run").
	DryRun bool
	// Yes moves without asking; otherwise Confirm decides.
	Yes bool
	// Confirm asks the user before the move. nil refuses: nothing moves
	// unconfirmed.
	Confirm func(question string) (bool, error)
	// Out is where the plan is printed, before anything moves (nil: nowhere,
	// as for --json). Log is where progress and warnings go (nil: nowhere).
	Out, Log io.Writer

	// VerifyURL is polled after the move until it answers 2xx, for at most
	// VerifyTimeout, and the result journaled. "" verifies nothing.
	VerifyURL     string
	VerifyTimeout time.Duration
	// AutoRevert puts the previous state back, once, when verification
	// (or the runtime's own health) fails after the move; journaled as an
	// undo.
	AutoRevert bool

	// Rebuild builds the known-good commit from source (lkg deploy
	// --rebuild), also when a build exists. Without it a build found is
	// deployed as it is, and with none Deploy fails with ErrNoBuild: a
	// rebuild is never chosen silently.
	Rebuild bool
	// Build is a rebuild's context and Dockerfile (relative to the
	// repository root) and build arguments; Context "" is ".".
	Build BuildSpec
	// Repo is the repository a rebuild exports the good commit from.
	Repo *gitops.Repo
	// Engine is how the Docker engine client is built for a rebuild or a
	// push of a local image.
	Engine []artifacts.EngineOption

	// RequireSigned refuses a build whose signatures did not verify under
	// the trust policy (finder.RequireVerified), and a build given by
	// digest, whose signatures nobody checked. A rebuild from the
	// known-good commit is not a found build and is not refused.
	RequireSigned bool

	// Searched names where find looked for builds, for the message when it
	// found none.
	Searched []string
	// User ("user@host") and Clone (a path) say who moved the target from
	// where, on its journal events, for `lkg history`.
	User, Clone string
	// Env is the environment of .lkg.yaml the target belongs to.
	Env string
	// Warnings are warnings found before the move (automation that would
	// undo it): the report and the journal's deploy events carry them.
	Warnings []string

	// Evidence is how the broken build's evidence is kept before a runtime
	// target moves (EvidenceTaker).
	Evidence EvidenceOptions

	// Review is the branch a config repository's commit goes to for
	// review (--gitops-branch), named in the way back undo is given.
	Review string
	// ReadBack bounds how long a move that did not finish cleanly keeps
	// reading the target back until it can say what it holds. The reads
	// have their own context, so Ctrl-C does not stop them. 0 is 30s.
	ReadBack time.Duration
	// Lock, when set, is held from the plan to the last read-back, so two
	// moves of one target from one clone never overlap.
	Lock Locker
	// Step, when set, is called with the move's context at each step:
	// "planned" (printed and confirmed), "journaled" (the planned line is
	// written), "moved" (applied). Tests interrupt a move at every step
	// with it.
	Step func(ctx context.Context, step string)
}

// EvidenceOptions say how a deploy keeps what the build it replaces was
// doing. The zero value keeps nothing (no Save).
type EvidenceOptions struct {
	Off     bool          // --no-evidence
	Timeout time.Duration // the capture's time budget; 0 is 3s
	PerUnit int64         // log bytes kept per container, task or pod; 0 is 2 MB
	// Save stores a capture and returns where (journal.SaveEvidence); nil
	// keeps nothing.
	Save func(journal.Evidence) (string, error)
}

// BuildSpec is how a rebuild builds.
type BuildSpec struct {
	Context    string            // the build context, relative to the repository root
	Dockerfile string            // relative to the repository root; "" is Dockerfile in the context
	Args       map[string]string // build arguments
}

func (o *Options) defaults() {
	if o.Confirm == nil {
		o.Confirm = func(string) (bool, error) { return false, nil }
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Build.Context == "" {
		o.Build.Context = "."
	}
	if o.Step == nil {
		o.Step = func(context.Context, string) {}
	}
	if o.ReadBack <= 0 {
		o.ReadBack = 30 * time.Second
	}
	if o.VerifyTimeout <= 0 {
		o.VerifyTimeout = 2 * time.Minute
	}
	if o.Evidence.Timeout <= 0 {
		o.Evidence.Timeout = 3 * time.Second
	}
	if o.Evidence.PerUnit <= 0 {
		o.Evidence.PerUnit = 2 << 20
	}
}
