package provenance_test

import (
	"testing"

	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/lkg-dev/lkg/provenance"
	"github.com/lkg-dev/lkg/types"
)

const (
	commit = "0123456789abcdef0123456789abcdef01234567"
	digest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	repo   = "https://github.com/shop/api"
)

func TestRevisions(t *testing.T) {
	for _, tc := range []struct {
		name string
		stmt []byte
		want types.RevisionFrom
	}{
		{"v0.2 git context", fixture.Provenance{PredicateType: fixture.SLSAProvenanceV02, Repo: repo, Commit: commit, Checked: true}.Statement(digest), types.FromProvenance},
		{"v0.2 local .git", fixture.Provenance{PredicateType: fixture.SLSAProvenanceV02, Repo: repo, Commit: commit}.Statement(digest), types.FromProvenanceHint},
		{"v1 git context", fixture.Provenance{PredicateType: fixture.SLSAProvenanceV1, Repo: repo, Commit: commit, Checked: true}.Statement(digest), types.FromProvenance},
		{"v1 local .git", fixture.Provenance{PredicateType: fixture.SLSAProvenanceV1, Repo: repo, Commit: commit}.Statement(digest), types.FromProvenanceHint},
		{"GitHub workflow", fixture.GitHubStatement(digest, repo, commit), types.FromProvenance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := provenance.ParseStatement(tc.stmt)
			if err != nil {
				t.Fatal(err)
			}
			if !s.Names(digest) {
				t.Errorf("Names(%s) = false", digest)
			}
			got := s.Revisions()
			if len(got) != 1 {
				t.Fatalf("Revisions() = %+v, want one", got)
			}
			if got[0].Revision != commit || got[0].From != tc.want || got[0].Repo == "" {
				t.Errorf("Revisions()[0] = %+v, want %s from %s", got[0], commit, tc.want)
			}
		})
	}
}

func TestParseStatementRefusesOthers(t *testing.T) {
	for _, b := range []string{`{}`, `not json`, `{"_type":"https://example.com/x"}`} {
		if _, err := provenance.ParseStatement([]byte(b)); err == nil {
			t.Errorf("ParseStatement(%s): no error", b)
		}
	}
	// A revision that is not a full object id is no revision.
	s, err := provenance.ParseStatement(fixture.Provenance{Repo: repo, Commit: "abc1234", Checked: true}.Statement(digest))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Revisions(); len(got) != 0 {
		t.Errorf("Revisions() = %+v for a short revision, want none", got)
	}
}
