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
	SourceDocker   Source = "docker"
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
	// Provenance is what the build's unsigned provenance attestations
	// name, strongest first; nil when it has none (or they were not read).
	Provenance []Provenance
	// ProvenanceErr says why an attestation the index lists could not be
	// used; "" when none failed.
	ProvenanceErr string
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

// RevisionFrom says where a build's revision was read, strongest first in
// the order finder trusts them.
type RevisionFrom string

// Where a revision can come from.
const (
	// FromSigned: a signed attestation (a cosign bundle, a GitHub artifact
	// attestation) or its signing certificate, verified under the trust
	// policy.
	FromSigned RevisionFrom = "signed-attestation"
	// FromProvenance: BuildKit provenance naming the git source BuildKit
	// checked out itself.
	FromProvenance RevisionFrom = "provenance"
	// FromProvenanceHint: BuildKit provenance repeating what the build
	// context's .git said; nothing checked it.
	FromProvenanceHint RevisionFrom = "provenance-hint"
	// FromLabel: an image config label.
	FromLabel RevisionFrom = "label"
	// FromAnnotation: a manifest or index annotation.
	FromAnnotation RevisionFrom = "annotation"
	// FromTagName: the image tag's name.
	FromTagName RevisionFrom = "tag-name"
)

// Provenance is one revision an unsigned provenance attestation of a build
// names (BuildKit's attestation manifest beside the image in its index).
type Provenance struct {
	Revision string       // as recorded: hex, lower-cased
	Repo     string       // the git source as recorded ("https://github.com/shop/api.git#v1.2.0"); may be ""
	From     RevisionFrom // FromProvenance or FromProvenanceHint
	Where    string       // the field it was read from, for messages
}

// Attestation is one signature or signed attestation attached to a build,
// as the registry holds it: a Sigstore bundle (an OCI referrer, as cosign
// and GitHub push them) or a legacy cosign signature or attestation (a
// layer of the sha256-<hex>.sig or .att tag). Nothing in it is verified
// yet.
type Attestation struct {
	Where     string // "referrer sha256:...", "tag sha256-<hex>.sig"
	MediaType string // the bundle's or the layer's media type
	// Bundle is a Sigstore bundle in its JSON form; nil for a legacy
	// signature or attestation.
	Bundle []byte
	// Payload and Annotations are a legacy cosign layer: the signed
	// payload (simple signing JSON for a .sig, a DSSE envelope for an
	// .att) and the layer's annotations (signature, certificate, chain,
	// Rekor bundle, timestamp).
	Payload     []byte
	Annotations map[string]string
}

// TrustState is the outcome of checking a build's signatures.
type TrustState string

// Trust states.
const (
	TrustVerified TrustState = "verified" // a signature verified under the trust policy
	TrustUnsigned TrustState = "unsigned" // nothing signed was attached to the build
	TrustFailed   TrustState = "failed"   // something was signed, but nothing verified
)

// Trust is what the signatures attached to a build say under the trust
// policy.
type Trust struct {
	State TrustState `json:"state"`
	// By names what verified it: "key ci/cosign.pub", or "identity
	// https://github.com/... (issuer https://token.actions...)".
	By string `json:"by,omitempty"`
	// Reason says why it failed, or what was looked for when unsigned.
	Reason string `json:"reason,omitempty"`
	// Checked says what the policy accepts, for a refusal's message
	// ("keys ci/cosign.pub; identities ..."). Not part of the JSON contract.
	Checked string `json:"-"`
	// Revision is the commit the verified attestation (or its signing
	// certificate) names, and Repo the source it names; "" when none.
	Revision string `json:"revision,omitempty"`
	Repo     string `json:"repo,omitempty"`
}
