package provenance

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/lkg-dev/lkg/types"
)

// Predicate types lkg reads a revision from.
const (
	SLSAProvenanceV02 = "https://slsa.dev/provenance/v0.2"
	SLSAProvenanceV1  = "https://slsa.dev/provenance/v1"
)

// MediaTypeInToto is the media type of an in-toto statement, as BuildKit
// stores it in an attestation manifest's layers.
const MediaTypeInToto = "application/vnd.in-toto+json"

// ErrStatement: an attestation is not an in-toto statement lkg can read.
var ErrStatement = errors.New("not a readable in-toto statement")

// buildkitMetadataV02 is the key under which BuildKit's SLSA v0.2
// provenance keeps its own metadata, the .git hint among it.
const buildkitMetadataV02 = "https://mobyproject.org/buildkit@v1#metadata"

// Statement is an in-toto statement, read leniently: only what lkg uses.
type Statement struct {
	Type          string    `json:"_type"`
	PredicateType string    `json:"predicateType"`
	Subject       []Subject `json:"subject"`
	Predicate     predicate `json:"predicate"`
}

// Subject is one artifact a statement speaks of.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// gitSource is a git source as SLSA names it: a URI and its digests.
type gitSource struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

// vcs is BuildKit's record of the build context's .git.
type vcs struct {
	Revision string `json:"revision"`
	Source   string `json:"source"`
}

// predicate is the union of the SLSA v0.2 and v1 fields lkg reads.
type predicate struct {
	// v0.2
	Invocation struct {
		ConfigSource gitSource `json:"configSource"`
	} `json:"invocation"`
	Metadata map[string]json.RawMessage `json:"metadata"`
	// v1
	BuildDefinition struct {
		ExternalParameters struct {
			ConfigSource gitSource `json:"configSource"`
		} `json:"externalParameters"`
		ResolvedDependencies []gitSource `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Metadata struct {
			BuildKit struct {
				VCS vcs `json:"vcs"`
			} `json:"buildkit_metadata"`
		} `json:"metadata"`
	} `json:"runDetails"`
}

// ParseStatement reads an in-toto statement (not a DSSE envelope: the
// statement itself, as BuildKit stores it or a verified envelope carries
// it). Any predicate type parses; Revisions says what it names.
func ParseStatement(b []byte) (*Statement, error) {
	var s Statement
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStatement, err)
	}
	if !strings.HasPrefix(s.Type, "https://in-toto.io/Statement/") {
		return nil, fmt.Errorf("%w: _type %q", ErrStatement, s.Type)
	}
	return &s, nil
}

// Names reports whether the statement's subjects include digest
// ("sha256:<hex>").
func (s *Statement) Names(digest string) bool {
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok {
		return false
	}
	for _, sub := range s.Subject {
		if strings.EqualFold(sub.Digest[alg], hex) {
			return true
		}
	}
	return false
}

// SubjectDigests lists the sha256 digests the statement speaks of, as
// "sha256:<hex>", for a message naming what it is about.
func (s *Statement) SubjectDigests() []string {
	var out []string
	for _, sub := range s.Subject {
		if h := sub.Digest["sha256"]; h != "" {
			out = append(out, "sha256:"+strings.ToLower(h))
		}
	}
	return out
}

// Revisions lists the git revisions the statement's provenance names,
// strongest first: the git source the builder checked out itself
// (FromProvenance), then what the build context's .git said
// (FromProvenanceHint). A statement of another predicate type names none.
func (s *Statement) Revisions() []types.Provenance {
	var out []types.Provenance
	add := func(rev, repo string, from types.RevisionFrom, where string) {
		rev = strings.ToLower(strings.TrimSpace(rev))
		if !isHexRevision(rev) {
			return
		}
		out = append(out, types.Provenance{Revision: rev, Repo: repo, From: from, Where: where})
	}
	p := s.Predicate
	switch s.PredicateType {
	case SLSAProvenanceV02:
		cs := p.Invocation.ConfigSource
		add(cs.Digest["sha1"], cs.URI, types.FromProvenance, "SLSA v0.2 invocation.configSource")
		if raw, ok := p.Metadata[buildkitMetadataV02]; ok {
			var m struct {
				VCS vcs `json:"vcs"`
			}
			if json.Unmarshal(raw, &m) == nil {
				add(m.VCS.Revision, m.VCS.Source, types.FromProvenanceHint, "SLSA v0.2 BuildKit metadata vcs.revision")
			}
		}
	case SLSAProvenanceV1:
		cs := p.BuildDefinition.ExternalParameters.ConfigSource
		add(cs.Digest["sha1"], cs.URI, types.FromProvenance, "SLSA v1 externalParameters.configSource")
		for _, d := range p.BuildDefinition.ResolvedDependencies {
			// GitHub's workflow provenance names the commit it ran at
			// as a resolved dependency, git+https://github.com/o/r@ref.
			if strings.HasPrefix(d.URI, "git+") {
				add(d.Digest["gitCommit"], strings.TrimPrefix(d.URI, "git+"), types.FromProvenance, "SLSA v1 resolvedDependencies gitCommit")
			}
		}
		v := p.RunDetails.Metadata.BuildKit.VCS
		add(v.Revision, v.Source, types.FromProvenanceHint, "SLSA v1 BuildKit metadata vcs.revision")
	}
	return out
}

// isHexRevision reports whether s is a full git object id: 40 hex digits
// (SHA-1) or 64 (SHA-256). Provenance records whole ids; anything shorter
// is not one.
func isHexRevision(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
