package finder

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/lkg-dev/lkg/types"
)

// attestedRegistry is a fakeRegistry that also holds attestations, by
// digest, and counts who asked for them.
type attestedRegistry struct {
	*fakeRegistry
	atts map[string][]types.Attestation
	err  error

	mu    sync.Mutex
	asked []string
}

func (r *attestedRegistry) Attestations(ctx context.Context, digest string) ([]types.Attestation, error) {
	r.mu.Lock()
	r.asked = append(r.asked, digest)
	r.mu.Unlock()
	return r.atts[digest], r.err
}

// fakeVerifier trusts an attestation whose Where is "good" and says it
// names the commit in its MediaType field; anything else fails.
type fakeVerifier struct{}

func (fakeVerifier) Verify(digest string, atts []types.Attestation) types.Trust {
	t := types.Trust{State: types.TrustUnsigned, Checked: "key ci.pub"}
	for _, a := range atts {
		if a.Where == "good" {
			return types.Trust{State: types.TrustVerified, By: "key ci.pub", Revision: a.MediaType, Checked: t.Checked}
		}
		t.State, t.Reason = types.TrustFailed, "signature does not verify with key ci.pub"
	}
	return t
}

func signedBy(rev string) []types.Attestation {
	return []types.Attestation{{Where: "good", MediaType: rev}}
}

func withProvenance(a types.Artifact, rev string, from types.RevisionFrom) types.Artifact {
	a.Provenance = append(a.Provenance, types.Provenance{Revision: rev, From: from, Where: "SLSA v0.2 invocation.configSource"})
	return a
}

func TestFindByProvenance(t *testing.T) {
	checked := withProvenance(art(reg, "latest", "bk", "", day(21)), cV2.Hash, types.FromProvenance)
	hint := withProvenance(art(reg, "main", "bk-hint", "", day(12)), cV1.Hash, types.FromProvenanceHint)
	res := mustFind(t, goods, commits(), []Registry{registryOf(checked, hint)}, nil, Options{})
	if len(res.Builds) != 2 {
		t.Fatalf("builds = %+v, want 2", briefs(res.Builds))
	}
	for i, want := range []struct {
		tag  string
		rev  string
		from types.RevisionFrom
	}{{"latest", cV2.Hash, types.FromProvenance}, {"main", cV1.Hash, types.FromProvenanceHint}} {
		b := res.Builds[i]
		if b.Image != reg+":"+want.tag || b.Revision != want.rev || b.Match != MatchExact || b.RevisionFrom != want.from {
			t.Errorf("builds[%d] = %s %s %s from %s, want %s exact %s from %s", i, b.Image, b.Revision, b.Match, b.RevisionFrom, want.tag, want.rev, want.from)
		}
		if b.Trust != nil {
			t.Errorf("builds[%d].Trust = %+v without a trust policy", i, b.Trust)
		}
	}
}

func TestFindProvenanceBeatsLabel(t *testing.T) {
	a := withProvenance(art(reg, "latest", "bk", cOther.Hash, day(21)), cV2.Hash, types.FromProvenance)
	res := mustFind(t, goods, commits(), []Registry{registryOf(a)}, nil, Options{})
	if res.Best == nil || res.Best.Revision != cV2.Hash || res.Best.RevisionFrom != types.FromProvenance {
		t.Fatalf("best = %+v, want %s from provenance", res.Best, cV2.Hash)
	}
	if !containsWarning(res.Warnings, "the provenance wins") {
		t.Errorf("warnings = %q, want the label's disagreement", res.Warnings)
	}
}

func TestFindTrust(t *testing.T) {
	// Two exact builds of v2: the newer unsigned, the older verified.
	unsigned := art(reg, "sha-"+cV2.Hash[:7], "unsigned", cV2.Hash, day(25))
	verified := art(reg, "build-2", "verified", cV2.Hash, day(21))
	// A GitHub-style build: no label, no provenance, a tag saying nothing;
	// only its signed attestation names v1.
	github := art(reg, "latest", "github", "", day(15))
	// A label naming v2, but its signed provenance says another commit.
	liar := art(reg, "build-3", "liar", cV2.Hash, day(26))
	// Not a candidate: its label names a commit no good has.
	other := art(reg, "build-4", "other", cOther.Hash, day(27))
	r := &attestedRegistry{fakeRegistry: registryOf(unsigned, verified, github, liar, other), atts: map[string][]types.Attestation{
		verified.Digest: signedBy(cV2.Hash),
		github.Digest:   signedBy(cV1.Hash),
		liar.Digest:     signedBy(cOther.Hash),
		other.Digest:    signedBy(cOther.Hash),
	}}
	res := mustFind(t, goods, commits(), []Registry{r}, nil, Options{Trust: fakeVerifier{}})

	var got []string
	for _, b := range res.Builds {
		state := "-"
		if b.Trust != nil {
			state = string(b.Trust.State)
		}
		got = append(got, strings.Join([]string{strings.TrimPrefix(b.Image, reg+":"), b.GoodTag, string(b.Match), string(b.RevisionFrom), state}, " "))
	}
	want := []string{
		"build-2 v2 exact signed-attestation verified",
		"sha-" + cV2.Hash[:7] + " v2 exact label unsigned",
		"latest v1 exact signed-attestation verified",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("builds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The liar's signed provenance names cOther, which no good has: it
	// is not a build of the good code, whatever its label says.
	for _, b := range res.Builds {
		if b.Digest == liar.Digest {
			t.Errorf("the build whose signed provenance names another commit matched: %+v", b)
		}
	}
	if !containsWarning(res.Warnings, "image "+reg+":build-3: label org.opencontainers.image.revision names revision "+cV2.Hash+", but its signed attestation names "+cOther.Hash+"; not matched") {
		t.Errorf("warnings = %q, want the liar flagged", res.Warnings)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.asked {
		if d == other.Digest {
			t.Errorf("asked for the attestations of a build that cannot be the answer")
		}
	}
	if len(r.asked) != 4 {
		t.Errorf("asked for %d builds' attestations, want 4 (every candidate once)", len(r.asked))
	}
}

func TestFindConflict(t *testing.T) {
	// The label says v1; the signed provenance says the rebased v2 (v2's
	// tree): a tree match of the newest good by its strongest record, but
	// flagged, and ranked after an unsigned build of the older good.
	liar := art(reg, "build-1", "liar", cV1.Hash, day(26))
	plain := art(reg, "build-2", "plain", cV1.Hash, day(20))
	r := &attestedRegistry{fakeRegistry: registryOf(liar, plain), atts: map[string][]types.Attestation{liar.Digest: signedBy(cRebase.Hash)}}
	res := mustFind(t, goods, commits(), []Registry{r}, nil, Options{Trust: fakeVerifier{}})
	if len(res.Builds) != 2 || res.Builds[0].Digest != plain.Digest {
		t.Fatalf("builds = %+v, want the unsigned exact build first", briefs(res.Builds))
	}
	b := res.Builds[1]
	if b.Conflict == "" || !strings.Contains(b.Conflict, "label org.opencontainers.image.revision names revision "+cV1.Hash) || b.Match != MatchTree || b.GoodTag != "v2" {
		t.Errorf("conflicting build = %+v, want flagged, matched on the signed revision", b)
	}
	if err := RequireVerified(&b); !errors.Is(err, ErrNotVerified) {
		t.Errorf("RequireVerified(conflict) = %v, want ErrNotVerified", err)
	}
}

func TestFindTrustUnreadable(t *testing.T) {
	a := art(reg, "build-1", "b", cV2.Hash, day(20))
	r := &attestedRegistry{fakeRegistry: registryOf(a), err: errors.New("registry on fire")}
	res := mustFind(t, goods, commits(), []Registry{r}, nil, Options{Trust: fakeVerifier{}})
	if res.Best == nil || res.Best.Trust == nil || res.Best.Trust.State != types.TrustFailed || !strings.Contains(res.Best.Trust.Reason, "registry on fire") {
		t.Fatalf("best = %+v, want a failed verdict naming the read error", res.Best)
	}
}

func TestRequireVerified(t *testing.T) {
	b := Build{Image: reg + ":v1", Digest: "sha256:x"}
	if err := RequireVerified(&b); !errors.Is(err, ErrNotVerified) || !strings.Contains(err.Error(), "no trust policy") {
		t.Errorf("no policy: %v", err)
	}
	b.Trust = &types.Trust{State: types.TrustFailed, Reason: "certificate identity is not trusted", Checked: "identities ^https://github.com/shop/"}
	if err := RequireVerified(&b); err == nil || !strings.Contains(err.Error(), "failed: certificate identity is not trusted); checked identities ^https://github.com/shop/") {
		t.Errorf("failed: %v", err)
	}
	b.Trust = &types.Trust{State: types.TrustVerified, By: "key ci.pub"}
	if err := RequireVerified(&b); err != nil {
		t.Errorf("verified: %v", err)
	}
}

func containsWarning(ws []string, sub string) bool {
	for _, w := range ws {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}
