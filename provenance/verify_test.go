package provenance_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/lkg-dev/lkg/internal/fixture/signing"
	"github.com/lkg-dev/lkg/provenance"
	"github.com/lkg-dev/lkg/types"
)

const (
	issuer   = "https://token.actions.githubusercontent.com"
	identity = "https://github.com/shop/api/.github/workflows/release.yml@refs/heads/main"
	other    = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// env is a virtual Sigstore, a generated key, and a policy trusting both.
type env struct {
	ss     *signing.Sigstore
	key    *signing.Key
	policy *provenance.Policy
}

func newEnv(t *testing.T, ids ...provenance.Identity) env {
	t.Helper()
	ss, err := signing.New()
	if err != nil {
		t.Fatal(err)
	}
	key, err := signing.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rootJSON, err := ss.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "trusted_root.json"), rootJSON, 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "cosign.pub"), pub, 0o644))
	if ids == nil {
		ids = []provenance.Identity{{Issuer: issuer, SubjectRegex: `^https://github\.com/shop/api/`}}
	}
	p, err := provenance.LoadPolicy(provenance.PolicyFiles{
		Keys:        []string{filepath.Join(dir, "cosign.pub")},
		Identities:  ids,
		TrustedRoot: filepath.Join(dir, "trusted_root.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return env{ss: ss, key: key, policy: p}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func bundleOf(b []byte) types.Attestation {
	return types.Attestation{Where: "referrer", MediaType: fixture.MediaTypeBundleV03, Bundle: b}
}

// attOf is a layer of cosign's sha256-<hex>.att tag.
func attOf(l fixture.LegacySignature) types.Attestation {
	return types.Attestation{Where: "tag", MediaType: provenance.MediaTypeDSSE, Payload: l.Payload, Annotations: l.Annotations}
}

func TestVerify(t *testing.T) {
	e := newEnv(t)
	stmt := fixture.GitHubStatement(digest, repo, commit)
	keyless, err := e.ss.Attest(identity, issuer, stmt)
	must(t, err)
	keyed, err := e.key.Attest(stmt)
	must(t, err)
	withSource, err := e.ss.AttestWithSource(identity, issuer, repo, commit,
		fixture.Provenance{Repo: repo, Commit: strings.Repeat("f", 40), Checked: true}.Statement(digest))
	must(t, err)
	// With no revision in the statement, the certificate says it.
	plain, err := e.ss.AttestWithSource(identity, issuer, repo, commit, []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://sigstore.dev/cosign/sign/v1","subject":[{"digest":{"sha256":"`+strings.TrimPrefix(digest, "sha256:")+`"}}],"predicate":{}}`))
	must(t, err)
	legacy, err := e.key.SignLegacy(fixture.SimpleSigningPayload("127.0.0.1/shop/api", digest))
	must(t, err)
	attKeyless, err := e.ss.AttestLegacy(identity, issuer, stmt)
	must(t, err)
	attKeyed, err := e.key.AttestLegacy(stmt)
	must(t, err)

	for _, tc := range []struct {
		name     string
		att      types.Attestation
		wantBy   string
		wantRev  string
		wantRepo string
	}{
		{"keyless GitHub attestation", bundleOf(keyless), "identity " + identity, commit, repo + "@refs/heads/main"},
		{"key bundle", bundleOf(keyed), "key ", commit, repo + "@refs/heads/main"},
		{"statement revision wins over certificate's", bundleOf(withSource), "identity " + identity, strings.Repeat("f", 40), repo + "#refs/heads/main"},
		{"certificate source digest", bundleOf(plain), "identity " + identity, commit, repo},
		{"legacy .sig rebuilt into a bundle", types.Attestation{Where: "tag", Payload: legacy.Payload, Annotations: legacy.Annotations}, "key ", "", ""},
		{"keyless legacy .att, logged", attOf(attKeyless), "identity " + identity, commit, repo + "@refs/heads/main"},
		{"legacy .att with a key", attOf(attKeyed), "key ", commit, repo + "@refs/heads/main"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.policy.Verify(digest, []types.Attestation{tc.att})
			if got.State != types.TrustVerified {
				t.Fatalf("Verify = %+v, want verified", got)
			}
			if !strings.HasPrefix(got.By, tc.wantBy) || got.Revision != tc.wantRev || got.Repo != tc.wantRepo {
				t.Errorf("Verify = %+v, want by %q..., revision %q, repo %q", got, tc.wantBy, tc.wantRev, tc.wantRepo)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	e := newEnv(t)
	stmt := fixture.GitHubStatement(digest, repo, commit)
	good, err := e.ss.Attest(identity, issuer, stmt)
	must(t, err)
	tampered, err := signing.Tamper(good, fixture.GitHubStatement(digest, repo, strings.Repeat("e", 40)))
	must(t, err)
	forOther, err := e.ss.Attest(identity, issuer, fixture.GitHubStatement(other, repo, commit))
	must(t, err)
	expired, err := e.ss.AttestExpired(identity, issuer, stmt)
	must(t, err)
	stranger, err := e.ss.Attest("https://github.com/evil/fork/.github/workflows/x.yml@refs/heads/main", issuer, stmt)
	must(t, err)
	otherKey, err := signing.NewKey()
	must(t, err)
	unknownKey, err := otherKey.Attest(stmt)
	must(t, err)
	legacyOther, err := e.key.SignLegacy(fixture.SimpleSigningPayload("127.0.0.1/shop/api", other))
	must(t, err)
	legacyTampered, err := e.key.SignLegacy(fixture.SimpleSigningPayload("127.0.0.1/shop/api", digest))
	must(t, err)
	legacyTampered.Payload = fixture.SimpleSigningPayload("127.0.0.1/shop/apx", digest)
	attOther, err := e.ss.AttestLegacy(identity, issuer, fixture.GitHubStatement(other, repo, commit))
	must(t, err)
	attTampered, err := e.ss.AttestLegacy(identity, issuer, stmt)
	must(t, err)
	attTampered.Payload = []byte(strings.Replace(string(attTampered.Payload), `"payload":"`, `"payload":"`+base64.StdEncoding.EncodeToString(fixture.GitHubStatement(digest, repo, strings.Repeat("e", 40)))+`","was":"`, 1))
	noSCT, err := e.ss.AttestWithoutSCT(identity, issuer, stmt)
	must(t, err)
	attStranger, err := e.ss.AttestLegacy("https://github.com/evil/fork/.github/workflows/x.yml@refs/heads/main", issuer, stmt)
	must(t, err)

	for _, tc := range []struct {
		name string
		att  types.Attestation
		want string
	}{
		{"tampered payload", bundleOf(tampered), "signature does not match"},
		{"attestation for another digest", bundleOf(forOther), "attestation is for " + other + ", not this build"},
		{"expired certificate", bundleOf(expired), "certificate was not valid when it signed"},
		{"wrong identity", bundleOf(stranger), "certificate identity is not trusted"},
		{"unknown key", bundleOf(unknownKey), "signature does not verify with key"},
		{"legacy signature for another digest", types.Attestation{Where: "tag", Payload: legacyOther.Payload, Annotations: legacyOther.Annotations}, "signed payload names " + other + ", not this build"},
		{"legacy tampered payload", types.Attestation{Where: "tag", Payload: legacyTampered.Payload, Annotations: legacyTampered.Annotations}, "signature does not verify with key"},
		{"not a bundle", bundleOf([]byte(`{"mediaType":"x"}`)), "not a Sigstore bundle"},
		{"certificate without an SCT", bundleOf(noSCT), "certificate carries no SCT"},
		{"legacy .att for another digest", attOf(attOther), "attestation is for " + other + ", not this build"},
		{"legacy .att tampered payload", attOf(attTampered), "signature does not match"},
		{"legacy .att wrong identity", attOf(attStranger), "certificate identity is not trusted"},
		{"legacy .att not an envelope", attOf(fixture.LegacySignature{Payload: []byte(`{"payload":"x"}`)}), "not a signed DSSE envelope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.policy.Verify(digest, []types.Attestation{tc.att})
			if got.State != types.TrustFailed || !strings.Contains(got.Reason, tc.want) {
				t.Errorf("Verify = %+v, want failed with %q", got, tc.want)
			}
			if got.Revision != "" {
				t.Errorf("a failed verdict names revision %s", got.Revision)
			}
		})
	}
}

// TestVerifyWithoutCTLogs: a trusted root naming no CT log (GitHub's own
// Sigstore instance) asks no SCT of a certificate.
func TestVerifyWithoutCTLogs(t *testing.T) {
	e := newEnv(t)
	rootJSON, err := e.ss.TrustedRootWithoutCT()
	must(t, err)
	file := filepath.Join(t.TempDir(), "trusted_root.json")
	must(t, os.WriteFile(file, rootJSON, 0o644))
	p, err := provenance.LoadPolicy(provenance.PolicyFiles{
		Identities:  []provenance.Identity{{Issuer: issuer, SubjectRegex: `^https://github\.com/shop/api/`}},
		TrustedRoot: file,
	})
	must(t, err)
	noSCT, err := e.ss.AttestWithoutSCT(identity, issuer, fixture.GitHubStatement(digest, repo, commit))
	must(t, err)
	if got := p.Verify(digest, []types.Attestation{bundleOf(noSCT)}); got.State != types.TrustVerified || got.Revision != commit {
		t.Errorf("Verify = %+v, want verified at %s", got, commit)
	}
}

func TestVerifyVerdicts(t *testing.T) {
	e := newEnv(t)
	if got := e.policy.Verify(digest, nil); got.State != types.TrustUnsigned {
		t.Errorf("Verify(nothing) = %+v, want unsigned", got)
	}
	stmt := fixture.GitHubStatement(digest, repo, commit)
	good, err := e.ss.Attest(identity, issuer, stmt)
	must(t, err)
	stale, err := e.ss.AttestExpired(identity, issuer, stmt)
	must(t, err)
	// One good signature among bad ones verifies the build.
	got := e.policy.Verify(digest, []types.Attestation{bundleOf(stale), bundleOf(good)})
	if got.State != types.TrustVerified {
		t.Errorf("Verify(stale, good) = %+v, want verified", got)
	}
	if !strings.Contains(got.Checked, "cosign.pub") || !strings.Contains(got.Checked, issuer) {
		t.Errorf("Checked = %q, want the key and the identity", got.Checked)
	}
}

func TestLoadPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pub")
	must(t, os.WriteFile(junk, []byte("not a key"), 0o644))
	for _, tc := range []struct {
		name string
		f    provenance.PolicyFiles
		want string
	}{
		{"missing key", provenance.PolicyFiles{Keys: []string{filepath.Join(dir, "none.pub")}}, "reading key"},
		{"junk key", provenance.PolicyFiles{Keys: []string{junk}}, "not a PEM public key"},
		{"junk root", provenance.PolicyFiles{TrustedRoot: junk}, "trusted root"},
		{"identity without root", provenance.PolicyFiles{Identities: []provenance.Identity{{Issuer: issuer, SubjectRegex: "x"}}}, "need a trusted root"},
		{"identity without issuer", provenance.PolicyFiles{Identities: []provenance.Identity{{SubjectRegex: "x"}}}, "both issuer and subject_regex"},
		{"bad regex", provenance.PolicyFiles{Identities: []provenance.Identity{{Issuer: issuer, SubjectRegex: "("}}}, "subject_regex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := provenance.LoadPolicy(tc.f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadPolicy = %v, want %q", err, tc.want)
			}
		})
	}
}
