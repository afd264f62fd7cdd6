package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/internal/errs"
	"slices"
	"strings"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/journal"
)

// Target is one place production runs a build: a registry tag, a
// container, a compose or Swarm service, a Kubernetes workload, a GitOps
// config file. The core (Deploy, Undo, the rollout) does everything else
// once for every kind: the plan, confirmation, the lock, the journal, the
// read-back after a move that did not finish cleanly, verification,
// auto-revert, history. A new kind of target is one implementation of this
// interface, in a package of its own.
//
// A Target is asked in this order: Read, Prepare, Apply, Wait. Read may be
// called again at any time after Apply, with its own deadline, to learn
// what the target holds after a failure or an interrupt: it must not
// depend on the move's context.
type Target interface {
	// String names the target as the user writes it with --to:
	// "host/repo:tag", "docker://NAME", "swarm://SERVICE"...
	String() string

	// Read says what the target runs now. A registry tag that does not
	// exist yet reads as the zero State; a container, service or workload
	// that does not exist is an error wrapping ErrNoTarget.
	Read(ctx context.Context) (State, error)

	// Prepare checks that b can be put on the target, which runs cur now
	// (as Read said), and says how. It changes nothing. An error is a
	// refusal: a paused workload, a build whose blobs are gone.
	Prepare(ctx context.Context, cur State, b Build) (*Plan, error)

	// Apply puts the planned build on the target, provided the target
	// still runs p.From: a compare-and-swap where the runtime has one,
	// else a re-read right before the write. It fails with an error
	// wrapping ErrTargetMoved, having changed nothing, when it does not.
	// It returns once the runtime has accepted the change, not when the
	// change is healthy: that is Wait's.
	Apply(ctx context.Context, p *Plan) error

	// Wait waits until the runtime says the move is done and healthy (a
	// rollout complete, a container healthy, a tag read back after a
	// settle) and returns what runs then. It fails with an error wrapping
	// ErrOverwritten when another writer moved the target meanwhile, and
	// with ErrUnhealthy when the runtime says the build does not come up.
	Wait(ctx context.Context, p *Plan) (State, error)
}

// State is what a target runs, as Read says it: journaled before a move
// (undo puts it back) and read back after it.
type State struct {
	// Image is the image reference the target names, as written there: a
	// tag, or "host/repo@sha256:...". For a registry tag it is the tag's
	// repository at Digest. "" when the target holds nothing.
	Image string `json:"image,omitempty"`
	// Digest is the manifest (or index) digest the target runs: for a
	// registry tag what it resolves to; for a runtime what its containers,
	// tasks or pods run. "" when it holds nothing, or when a runtime runs
	// an image with no registry digest (a local build).
	Digest string `json:"digest,omitempty"`
	// Detail is what else the target needs to put this state back exactly
	// (a service's spec version, a config file's commit). The core keeps
	// it in the journal and hands it back through Build.Restores.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Build is what a move puts on a target.
type Build struct {
	// Image is the reference to run: "host/repo@sha256:..." for a registry
	// build, the local engine image's name or ID when Local. "" means the
	// build with Digest in the target's own repository (an undo of a
	// registry tag).
	Image  string
	Digest string
	// Local says Image is only in the local Docker engine (an engine image
	// find found, or a rebuild): a target that cannot run it from there
	// gets it pushed to a registry first, by the core.
	Local bool
	// Restores is, for an undo, the journaled state this build puts back;
	// nil for a deploy.
	Restores *State
	// GoodTag is the known-good tag find found the build for ("" when it
	// was given by digest, and for an undo): a target that writes a
	// record of its own (a config repository's commit) names it.
	GoodTag string
}

// Plan is how a target will take a build: what Prepare returns and Apply
// and Wait carry out.
type Plan struct {
	From State // what the target runs now (the compare-and-swap's old value)
	To   Build
	// How says, in a few words, how the move is done, for the plan's
	// "method" line: "same repository: one manifest PUT",
	// "recreate the container; the old one is kept until the new one is healthy".
	How string
	// Referrers and CosignTags are signatures and attestations the move
	// carries along (registry copies).
	Referrers  []string
	CosignTags []string
	// Own is the target's own plan, opaque to the core.
	Own any
}

// Unchanged says the target already runs the build.
func (p *Plan) Unchanged() bool {
	return p.To.Digest != "" && p.From.Digest == p.To.Digest
}

// Errors a Target returns, matched with errors.Is.
var (
	// ErrNoTarget: the container, service or workload does not exist.
	ErrNoTarget = errors.New("no such target")
	// ErrTargetMoved: the target no longer runs what the plan was made
	// against; Apply changed nothing. (The registry's compare-and-swap
	// says it first: one sentinel for both.)
	ErrTargetMoved = artifacts.ErrTargetMoved
	// ErrUnhealthy: the runtime says the new build does not come up (a
	// container that exits, a rollout past its deadline).
	ErrUnhealthy = errors.New("the new build did not become healthy")
)

// EvidenceTaker is a runtime Target that can say what the build it runs
// now is doing (states, exit codes, restarts, health, the last log lines,
// warning events), for the core to keep before the move replaces it. It
// must never capture environment variables or mounted secrets, cap each
// unit's logs at perUnit bytes (keeping the end), and return what it has
// when ctx ends.
type EvidenceTaker interface {
	Evidence(ctx context.Context, perUnit int64) (journal.Evidence, error)
}

// LocalRunner is a Target that runs local engine images as they are (a
// container on the same engine): a Local build is not pushed for it.
type LocalRunner interface {
	RunsLocal() bool
}

// Stager is a Target that says which registry repository a local build
// is pushed to before it moves there. A Target without it gets local
// builds pushed to the repository of the image it runs now.
type Stager interface {
	StagingRepo(cur State) (string, error)
}

// move is journal.Move, the one record of a move.
type move = journal.Move

// isImageID says a state's image is a local engine image's ID
// ("sha256:<hex>", no repository): a build only that engine has, which
// undo puts back from there.
func isImageID(image string) bool { return strings.HasPrefix(image, "sha256:") }

// NoSuch is err (wrapping ErrNoTarget) as the usage error the user sees,
// exit 2: it names the nearest of names to name ("Did you mean
// SCHEME<nearest>?"), else lists what there is (after listing, "It has:"),
// or says none (when names is empty).
func NoSuch(err error, scheme, name string, names []string, none, listing string) error {
	names = slices.Sorted(slices.Values(names))
	switch near := config.Nearest(name, names); {
	case near != "":
		return errs.Coded(2, err, fmt.Sprintf("Did you mean %s%s?", scheme, near))
	case len(names) == 0:
		return errs.Coded(2, err, none)
	case len(names) > 8:
		names = append(names[:8], "…")
	}
	return errs.Coded(2, err, listing+" "+strings.Join(names, ", "))
}
