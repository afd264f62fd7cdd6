package types

import (
	"errors"
	"fmt"
	"time"
)

// Revision errors, matched with errors.Is. gitops wraps them when it cannot
// resolve a build's revision; finder tells the two apart to decide whether
// an image tag's name still says something.
var (
	// ErrUnknownRevision: a revision is not a commit in the repository, nor
	// on any remote that was consulted.
	ErrUnknownRevision = errors.New("revision not found")
	// ErrAmbiguousRevision: an abbreviated revision names more than one
	// commit.
	ErrAmbiguousRevision = errors.New("abbreviated revision is ambiguous")
)

// ErrUnread: a registry could not give a build's metadata at all (it kept
// failing, timed out, reset the connection, or sent a body that did not
// match its digest), as opposed to giving metadata that is broken. artifacts
// wraps it; finder keeps such builds aside, since one of them could be the
// answer.
var ErrUnread = errors.New("could not be read")

// UnknownRevisionError is ErrUnknownRevision with where the revision was
// looked for and, when remotes were asked and could not answer, why: the
// one message a caller shows about that revision carries the reason.
type UnknownRevisionError struct {
	Rev   string // as asked for
	Where string // "in the repository or on its remotes", ...
	// Why says why the remotes could not say ("remote \"origin\" did not
	// answer within 20s"); "" when they were not asked, or had nothing.
	Why string
}

func (e *UnknownRevisionError) Error() string {
	msg := fmt.Sprintf("looking up %q: %v %s", e.Rev, ErrUnknownRevision, e.Where)
	if e.Why != "" {
		msg += " (" + e.Why + ")"
	}
	return msg
}

func (e *UnknownRevisionError) Unwrap() error { return ErrUnknownRevision }

// Commit is one git commit, as much of it as lkg needs.
type Commit struct {
	Hash string    // 40 hex
	Tree string    // 40 hex, the root tree
	Time time.Time // committer time
}

// RefState is what the repository says of one branch relative to one
// known-good commit: the raw facts finder.ClassifySources ranks.
type RefState struct {
	Ref          string // full ref name where it lives: refs/heads/x locally or on the remote, refs/remotes/origin/x
	Remote       string // remote name, or URL for --remote URL; empty for a local branch
	Commit       string // tip, 40 hex
	Tree         string // tip's root tree
	ContainsGood bool   // the good commit is an ancestor of, or is, the tip
	ContainsBad  bool   // the bad commit is an ancestor of, or is, the tip (false without a bad commit)
	Ahead        int    // commits reachable from the tip but not from the good commit; counted for refs that contain the good commit or share its tree, else 0
}

// Source is where a build was found.
type Source string

// Where a build was found: Artifact.Source.
const (
	SourceRegistry Source = "registry"
	SourceDocker          = "docker"
)

// Artifact is what a registry or the Docker engine says about one image,
// before matching: the raw evidence the finder ranks.
type Artifact struct {
	Source      Source            // SourceRegistry or SourceDocker
	Repo        string            // "host/repo" for a registry; "" for a local image
	Image       string            // "host/repo:tag" or a local image name
	Digest      string            // manifest or index digest; a local image without one: its image ID
	Tags        []string          // every tag seen at this digest
	Labels      map[string]string // image config labels (of the chosen child, for an index)
	Annotations map[string]string // index and manifest annotations; the index wins on conflict
	Created     time.Time         // image config "created"; zero when absent or unreadable
	Platforms   []string          // "os/arch[/variant]"; for an index, every platform
}

// LookupHints say what is known of the builds that record the revisions a
// lookup asks about, so that only revisions that could still change the
// answer are looked for on the remotes.
type LookupHints struct {
	// Since is the commit time of the oldest candidate good commit. A build
	// created before it cannot hold that code; creation times before 2000
	// are placeholders pinned by reproducible builders and prove nothing.
	// Zero: every revision could matter.
	Since time.Time
	// Created is, per revision, the newest creation time of the builds
	// recording it; a revision absent from it has builds of unknown age.
	Created map[string]time.Time
}
