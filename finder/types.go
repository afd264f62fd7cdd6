package finder

import (
	"context"
	"time"

	"github.com/lkg-dev/lkg/types"
)

// Match says how sure we are that a build or a ref holds the known-good code.
type Match string

// The match kinds, strongest first. Builds use exact, tree and tag; sources
// use exact, tree and contains.
const (
	MatchExact    Match = "exact"    // the revision is the known-good commit
	MatchTree     Match = "tree"     // another commit with the known-good root tree
	MatchTag      Match = "tag"      // no revision recorded; image tag equals the git tag name
	MatchContains Match = "contains" // the known-good commit is an ancestor of the ref's tip
)

// Good is one known-good candidate: a git tag (or the ref named with --good)
// and the commit it points at.
type Good struct {
	Tag    string    `json:"tag"`
	Commit string    `json:"commit"`
	Tree   string    `json:"tree"`
	Time   time.Time `json:"time"` // tagger date, else commit date
	// CommitTime is the good commit's committer date: no build of its code
	// can be older. Zero when unknown. Not part of the JSON contract.
	CommitTime time.Time `json:"-"`
}

// Build is one ranked build, in the JSON shape `lkg find --json` prints.
type Build struct {
	Source    types.Source `json:"source"`
	Image     string       `json:"image"`
	Digest    string       `json:"digest"`
	Tags      []string     `json:"tags"`
	Revision  string       `json:"revision"`
	Match     Match        `json:"match"`
	GoodTag   string       `json:"good_tag"`
	Created   time.Time    `json:"created"`
	Platforms []string     `json:"platforms"`
	// Locations are every place the build (its digest) was found, registries
	// first; Source and Image are the first of them.
	Locations []Location `json:"locations"`
	// Pinned says the build carries its good tag's pin (lkg pin's
	// lkg-keep-<tag>): lkg chose it for that tag before.
	Pinned bool `json:"pinned,omitempty"`
	// RevisionFrom says where Revision was read: a verified signed
	// attestation, BuildKit provenance (checked, or the .git hint), a
	// label, an annotation or the tag name. Empty for a tag match.
	RevisionFrom types.RevisionFrom `json:"revision_from,omitempty"`
	// Trust is what the build's signatures say under the trust policy;
	// nil when no policy was given (nothing was checked).
	Trust *types.Trust `json:"trust,omitempty"`
	// Conflict says a label, annotation or unsigned provenance names
	// another commit than the build's verified signed provenance: the
	// build ranks after every build without a conflict, never as exact.
	Conflict string `json:"conflict,omitempty"`

	// Repo is the registry repository ("host/repo") the build lives in; empty
	// for a local image. Not part of the JSON contract.
	Repo string `json:"-"`
	// RankTime is the time the build ranks by: Created, or the revision's
	// commit time when Created is before 2000 (reproducible builds pin it).
	RankTime time.Time `json:"-"`
	// Dirty is set when the recorded revision ended in "-dirty".
	Dirty bool `json:"-"`
	// Staged is set when the build carries a staging tag lkg pushed itself
	// (StagingTagPrefix, by a rebuild or an engine push): it is lkg's copy,
	// not the build CI made and production ran.
	Staged bool `json:"-"`
}

// Location is one place a build was found: a registry repository's tag, or
// a local image in the Docker engine.
type Location struct {
	Source types.Source `json:"source"` // types.SourceRegistry or types.SourceDocker
	Image  string       `json:"image"`  // "host/repo:tag", or the local image name
}

// Source is one git ref the known-good code can be rebuilt from, in the JSON
// shape `lkg find --json` prints.
type Source struct {
	Ref     string `json:"ref"`    // full ref name
	Remote  string `json:"remote"` // remote name or URL; empty for a local ref
	Commit  string `json:"commit"` // tip, 40 hex
	Match   Match  `json:"match"`
	Ahead   int    `json:"ahead"` // commits on the ref after the good commit
	GoodTag string `json:"good_tag"`
}

// Bad is the broken deploy: the known-good candidates at it or after it
// were skipped.
type Bad struct {
	Ref    string `json:"ref"`    // a tag at the commit (or the name given with --bad); else the short hash
	Commit string `json:"commit"` // 40 hex
	From   string `json:"from"`   // "--bad", or "production tag HOST/REPO:TAG": where lkg learnt it
}

// Result is the answer of a find: the JSON object `lkg find --json` prints.
type Result struct {
	Good     []Good   `json:"good"`
	Bad      *Bad     `json:"bad"` // nil when no bad deploy is known
	Best     *Build   `json:"best"`
	Builds   []Build  `json:"builds"`
	Sources  []Source `json:"sources"`
	Warnings []string `json:"warnings"`
	// Incomplete says a build that could be the answer (it might outrank
	// Best) could not be read; Unread names them.
	Incomplete bool     `json:"incomplete"`
	Unread     []Unread `json:"-"`

	// Assumed says the newest known-good tag was only assumed good: no
	// bad deploy was named or could be read from production, and none
	// was ruled out. Not part of the JSON contract (the warnings say it).
	Assumed bool `json:"-"`
}

// Unread is a registry build that could be the answer but could not be
// read.
type Unread struct {
	Image string // "host/repo:tag"
	Err   error  // wraps types.ErrUnread
}

// Commits resolves build revisions to commits. gitops implements it, looking
// on the remotes (pull-request refs included) for what the repository lacks.
type Commits interface {
	// Lookup resolves full or abbreviated hex revisions (no "-dirty"
	// suffix). A revision absent from the answer is unknown or ambiguous;
	// the error in the second map says which, wrapping ErrUnknownRevision
	// or ErrAmbiguousRevision. hints say how old the builds recording each
	// revision are, so that revisions that cannot change the answer are
	// not looked for on the remotes.
	Lookup(ctx context.Context, revs []string, hints types.LookupHints) (map[string]types.Commit, map[string]error)
}

// Attested is a Registry that can also read the signatures and signed
// attestations attached to a build (OCI referrers, cosign's signature
// tag). Find asks it only for builds that could be the answer, and only
// with a Verifier.
type Attested interface {
	Attestations(ctx context.Context, digest string) ([]types.Attestation, error)
}

// Verifier checks a build's attestations under the trust policy.
// provenance.Policy implements it.
type Verifier interface {
	Verify(digest string, atts []types.Attestation) types.Trust
}

// Registry is one image repository the finder can scan.
type Registry interface {
	// Name is "host/repo".
	Name() string
	// Tags lists every tag of the repository (all pages).
	Tags(ctx context.Context) ([]string, error)
	// Inspect reads one tag's manifest (or index) and config. pinned says the
	// tag's name carries a revision, so the tag may be treated as immutable
	// and served from a cache without asking the registry; a moving name
	// (latest, prod) is re-read with at least a HEAD.
	Inspect(ctx context.Context, tag string, pinned bool) (types.Artifact, error)
}
