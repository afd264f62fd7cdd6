package artifacts

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/lkg-dev/lkg/provenance"
	"github.com/lkg-dev/lkg/types"
)

const (
	testCommit = "0123456789abcdef0123456789abcdef01234567"
	testRepo   = "https://github.com/shop/api.git"
)

// pushAttested pushes a buildx-style index with no revision label under
// app:tag and returns its digest and its image's.
func pushAttested(tb testing.TB, reg *fixture.Registry, tag string, provs ...fixture.Provenance) (index, image string) {
	tb.Helper()
	index, image, err := fixture.PushAttested(context.Background(), reg.Addr+"/app:"+tag, fixture.ImageSpec{Seed: tag}, provs)
	if err != nil {
		tb.Fatal(err)
	}
	return index, image
}

func TestInspectReadsBuildKitProvenance(t *testing.T) {
	for _, tc := range []struct {
		name string
		prov fixture.Provenance
		from types.RevisionFrom
	}{
		{"v0.2 git context", fixture.Provenance{PredicateType: fixture.SLSAProvenanceV02, Repo: testRepo, Commit: testCommit, Checked: true}, types.FromProvenance},
		{"v0.2 local .git", fixture.Provenance{PredicateType: fixture.SLSAProvenanceV02, Repo: testRepo, Commit: testCommit}, types.FromProvenanceHint},
		{"v1 git context", fixture.Provenance{PredicateType: fixture.SLSAProvenanceV1, Repo: testRepo, Commit: testCommit, Checked: true}, types.FromProvenance},
		{"v1 local .git", fixture.Provenance{PredicateType: fixture.SLSAProvenanceV1, Repo: testRepo, Commit: testCommit}, types.FromProvenanceHint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := startRegistry(t)
			index, _ := pushAttested(t, reg, "latest", tc.prov)
			cache := t.TempDir()
			a, err := newRepo(t, reg, cache).Inspect(context.Background(), "latest", false)
			if err != nil {
				t.Fatal(err)
			}
			if a.Digest != index || len(a.Labels) != 0 {
				t.Errorf("Inspect = digest %s labels %v, want %s and no labels", a.Digest, a.Labels, index)
			}
			if len(a.Platforms) != 1 || a.Platforms[0] != "linux/amd64" {
				t.Errorf("platforms = %v, want linux/amd64 only (the attestation manifest is no platform)", a.Platforms)
			}
			if len(a.Provenance) != 1 || a.Provenance[0].Revision != testCommit || a.Provenance[0].From != tc.from || a.ProvenanceErr != "" {
				t.Fatalf("provenance = %+v (%s), want %s from %s", a.Provenance, a.ProvenanceErr, testCommit, tc.from)
			}

			// Cached by digest: a pinned second look asks nothing.
			reg.ResetRequests()
			a2, err := newRepo(t, reg, cache).Inspect(context.Background(), "latest", true)
			if err != nil {
				t.Fatal(err)
			}
			if got := reg.Requests(); len(got) != 0 || len(a2.Provenance) != 1 {
				t.Errorf("warm Inspect sent %q and read %+v; want nothing sent, the same provenance", got, a2.Provenance)
			}
			// Off: the attestation manifest is not read.
			reg.ResetRequests()
			a3, err := newRepo(t, reg, "", WithProvenance(false)).Inspect(context.Background(), "latest", false)
			if err != nil {
				t.Fatal(err)
			}
			if len(a3.Provenance) != 0 || len(sent(reg)) != 3 {
				t.Errorf("WithProvenance(false) read %+v with requests %q; want none, index+manifest+config", a3.Provenance, reg.Requests())
			}
		})
	}
}

func TestInspectProvenanceForAnotherImage(t *testing.T) {
	reg := startRegistry(t)
	other := "sha256:" + strings.Repeat("b", 64)
	pushAttested(t, reg, "latest", fixture.Provenance{Repo: testRepo, Commit: testCommit, Checked: true, Subject: other})
	a, err := newRepo(t, reg, "").Inspect(context.Background(), "latest", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Provenance) != 0 || !strings.Contains(a.ProvenanceErr, "is about "+other) {
		t.Errorf("provenance = %+v, %q; want none and a note that it names another image", a.Provenance, a.ProvenanceErr)
	}
}

// TestAttestationsSkipLarge: cosign's .att tag also holds SBOMs; one
// larger than a config is left unread, and the provenance beside it read.
func TestAttestationsSkipLarge(t *testing.T) {
	reg := startRegistry(t)
	ctx := context.Background()
	signed, _ := pushAttested(t, reg, "signed")
	sbom := fixture.LegacySignature{Payload: append([]byte(`{"payload":"`), bytes.Repeat([]byte("A"), maxConfigSize)...)}
	prov := fixture.LegacySignature{Payload: []byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"c2ln"}]}`)}
	if err := fixture.PushLegacyAttestations(ctx, reg.Addr+"/app", signed, []fixture.LegacySignature{sbom, prov}); err != nil {
		t.Fatal(err)
	}
	r := newRepo(t, reg, t.TempDir())
	if _, err := r.Tags(ctx); err != nil {
		t.Fatal(err)
	}
	atts, err := r.Attestations(ctx, signed)
	if err != nil {
		t.Fatalf("Attestations: %v, want the large layer skipped", err)
	}
	if len(atts) != 1 || !bytes.Equal(atts[0].Payload, prov.Payload) {
		t.Errorf("Attestations = %d, want only the small one", len(atts))
	}
}

func TestAttestations(t *testing.T) {
	for _, api := range []bool{true, false} {
		name := "fallback tag"
		var opts []fixture.Option
		if api {
			name = "referrers API"
			opts = append(opts, fixture.WithReferrers())
		}
		t.Run(name, func(t *testing.T) {
			reg := startRegistry(t, opts...)
			ctx := context.Background()
			signed, _ := pushAttested(t, reg, "signed")
			unsigned, _ := pushAttested(t, reg, "unsigned")
			bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","note":"bytes only"}`)
			if _, err := fixture.PushReferrer(ctx, reg.Addr+"/app", signed, ggcrtypes.OCIImageIndex, 0, fixture.SLSAProvenanceV1, bundle); err != nil {
				t.Fatal(err)
			}
			sig := fixture.LegacySignature{Payload: fixture.SimpleSigningPayload(reg.Addr+"/app", signed), Annotations: map[string]string{"dev.cosignproject.cosign/signature": "c2ln"}}
			if err := fixture.PushLegacySignatures(ctx, reg.Addr+"/app", signed, []fixture.LegacySignature{sig}); err != nil {
				t.Fatal(err)
			}
			att := fixture.LegacySignature{Payload: []byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"c2ln"}]}`), Annotations: map[string]string{"predicateType": fixture.SLSAProvenanceV02}}
			if err := fixture.PushLegacyAttestations(ctx, reg.Addr+"/app", signed, []fixture.LegacySignature{att}); err != nil {
				t.Fatal(err)
			}
			r := newRepo(t, reg, t.TempDir())
			tags, err := r.Tags(ctx)
			if err != nil {
				t.Fatal(err)
			}
			atts, err := r.Attestations(ctx, signed)
			if err != nil {
				t.Fatal(err)
			}
			if len(atts) != 3 {
				t.Fatalf("Attestations = %+v, want the bundle, the legacy signature and attestation (tags %v)", atts, tags)
			}
			if !bytes.Equal(atts[2].Payload, att.Payload) || atts[2].MediaType != provenance.MediaTypeDSSE || atts[2].Where != "tag "+strings.Replace(signed, ":", "-", 1)+".att" {
				t.Errorf("attestation 2 = %+v, want the legacy attestation", atts[2])
			}
			if !bytes.Equal(atts[0].Bundle, bundle) || !strings.HasPrefix(atts[0].Where, "referrer sha256:") {
				t.Errorf("attestation 0 = %+v, want the bundle as pushed", atts[0])
			}
			if !bytes.Equal(atts[1].Payload, sig.Payload) || atts[1].Annotations["dev.cosignproject.cosign/signature"] != "c2ln" || atts[1].Where != "tag "+strings.Replace(signed, ":", "-", 1)+".sig" {
				t.Errorf("attestation 1 = %+v, want the legacy signature", atts[1])
			}

			// An unsigned build costs at most one request; on a
			// registry without the API, none once it said so.
			for i := range 2 {
				reg.ResetRequests()
				atts, err = r.Attestations(ctx, unsigned)
				if err != nil || len(atts) != 0 {
					t.Fatalf("Attestations(unsigned) = %+v, %v", atts, err)
				}
				want := 1
				if !api && i > 0 {
					want = 0
				}
				if got := sent(reg); len(got) != want {
					t.Errorf("round %d: Attestations(unsigned) sent %q, want %d request(s)", i, got, want)
				}
			}
		})
	}
}

// sent is what the registry was asked since the last reset, less the
// version checks (GET /v2/) a new client makes once.
func sent(reg *fixture.Registry) []string {
	var out []string
	for _, r := range reg.Requests() {
		if r != "GET /v2/" {
			out = append(out, r)
		}
	}
	return out
}

// basicKeychain hands every registry the same user and password.
type basicKeychain struct{ user, pass string }

func (k basicKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.pass}, nil
}

// TestVersionCheckedOnce: the requests lkg makes itself (the tag list's
// pages asked for at once, the referrers API) go through the transport the
// repository authorised for go-containerregistry's: the registry's version
// check (GET /v2/) is made once per repository, whoever asks first, and
// checking an unsigned build for signatures costs one request, no more.
func TestVersionCheckedOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []fixture.Option
	}{
		{"referrers API", []fixture.Option{fixture.WithReferrers()}},
		{"fallback tag", nil},
		{"basic auth", []fixture.Option{fixture.WithReferrers(), fixture.WithBasicAuth("u", "p")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := startRegistry(t, append([]fixture.Option{fixture.WithPageSize(2)}, tc.opts...)...)
			ctx := context.Background()
			keys := WithKeychain(basicKeychain{"u", "p"})
			creds := remote.WithAuth(&authn.Basic{Username: "u", Password: "p"})
			// Four tags, two a page: the tag list has pages.
			for _, tag := range []string{"a", "b", "c"} {
				if _, err := fixture.Push(ctx, reg.Addr+"/app:"+tag, fixture.ImageSpec{Seed: tag}, creds); err != nil {
					t.Fatal(err)
				}
			}
			unsigned, _, err := fixture.PushAttested(ctx, reg.Addr+"/app:unsigned", fixture.ImageSpec{Seed: "unsigned"}, nil, creds)
			if err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			// A first run remembers where the tag list's pages begin,
			// so that the next asks for them at once (listClient).
			if _, err := newRepo(t, reg, cache, keys).Tags(ctx); err != nil {
				t.Fatal(err)
			}

			reg.ResetRequests()
			r := newRepo(t, reg, cache, keys)
			if _, err := r.Tags(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Inspect(ctx, "unsigned", false); err != nil {
				t.Fatal(err)
			}
			before := len(reg.Requests())
			if atts, err := r.Attestations(ctx, unsigned); err != nil || len(atts) != 0 {
				t.Fatalf("Attestations(unsigned) = %+v, %v", atts, err)
			}
			all := reg.Requests()
			if got := all[before:]; len(got) != 1 || !strings.Contains(got[0], "/referrers/") {
				t.Errorf("Attestations(unsigned) sent %q, want the referrers request alone", got)
			}
			var checks int
			for _, req := range all {
				if req == "GET /v2/" {
					checks++
				}
			}
			if checks != 1 {
				t.Errorf("%d version checks (GET /v2/) for one repository, want 1; requests:\n%s", checks, strings.Join(all, "\n"))
			}
		})
	}
}
