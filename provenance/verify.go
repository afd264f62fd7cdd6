package provenance

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/types"
)

// Media types of what a registry holds beside a build.
const (
	// MediaTypeBundle prefixes a Sigstore bundle's media type (cosign's
	// and GitHub's referrers: "...bundle.v0.3+json").
	MediaTypeBundle = "application/vnd.dev.sigstore.bundle"
	// MediaTypeSimpleSigning is a legacy cosign signature's layer.
	MediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	// MediaTypeDSSE is a legacy cosign attestation's layer (`cosign
	// attest` without the bundle format): one DSSE envelope.
	MediaTypeDSSE = "application/vnd.dsse.envelope.v1+json"
)

// Annotations of a legacy cosign signature layer.
const (
	AnnotationSignature   = "dev.cosignproject.cosign/signature"
	AnnotationCertificate = "dev.sigstore.cosign/certificate"
	AnnotationChain       = "dev.sigstore.cosign/chain"
	AnnotationRekorBundle = "dev.sigstore.cosign/bundle"
	AnnotationTimestamp   = "dev.sigstore.cosign/rfc3161timestamp"
)

// Verify checks every attestation attached to the build digest
// ("sha256:<hex>") under the policy and says what they amount to:
// verified when one of them verified (by the first such), failed when
// something was signed but nothing verified (with the first reason),
// unsigned when nothing was attached. A verified attestation's statement
// (or, for a plain signature, its Fulcio certificate) gives the revision
// the signer vouches for.
func (p *Policy) Verify(digest string, atts []types.Attestation) types.Trust {
	t := types.Trust{State: types.TrustUnsigned, Checked: p.Checked()}
	if len(atts) == 0 {
		t.Reason = "no signature or attestation attached"
		return t
	}
	var reasons []string
	for _, a := range atts {
		v, err := p.verifyOne(digest, a)
		if err != nil {
			reasons = append(reasons, a.Where+": "+err.Error())
			continue
		}
		v.Checked = t.Checked
		return v
	}
	t.State = types.TrustFailed
	t.Reason = reasons[0]
	if len(reasons) > 1 {
		t.Reason += fmt.Sprintf(" (and %d more)", len(reasons)-1)
	}
	return t
}

// verifyOne verifies one attestation.
func (p *Policy) verifyOne(digest string, a types.Attestation) (types.Trust, error) {
	alg, want, ok := strings.Cut(digest, ":")
	sum, err := hex.DecodeString(want)
	if !ok || alg != "sha256" || err != nil {
		return types.Trust{}, fmt.Errorf("build digest %q is not sha256", digest)
	}
	var (
		b        *bundle.Bundle
		artifact verify.ArtifactPolicyOption
		readOnce bool // artifact is a reader: one key can be tried
		stmt     *Statement
	)
	switch {
	case a.Bundle != nil:
		b = &bundle.Bundle{Bundle: new(protobundle.Bundle)}
		if err := b.UnmarshalJSON(a.Bundle); err != nil {
			return types.Trust{}, fmt.Errorf("not a Sigstore bundle: %s", text.OneLine(err))
		}
		env, err := b.Envelope()
		if err != nil {
			return types.Trust{}, errors.New("a bundle with a plain signature and no statement: nothing says which image it signs")
		}
		payload, err := env.RawEnvelope().DecodeB64Payload()
		if err != nil {
			return types.Trust{}, fmt.Errorf("envelope payload: %s", text.OneLine(err))
		}
		if stmt, err = statementFor(payload, digest); err != nil {
			return types.Trust{}, err
		}
		artifact = verify.WithArtifactDigest("sha256", sum)
	case a.MediaType == MediaTypeDSSE:
		env := new(protodsse.Envelope)
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(a.Payload, env); err != nil || len(env.Signatures) == 0 {
			return types.Trust{}, errors.New("attestation layer is not a signed DSSE envelope")
		}
		var err error
		if stmt, err = statementFor(env.Payload, digest); err != nil {
			return types.Trust{}, err
		}
		if b, err = legacyBundle(a, &protobundle.Bundle{Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env}}); err != nil {
			return types.Trust{}, err
		}
		artifact = verify.WithArtifactDigest("sha256", sum)
	default:
		named, err := simpleSigningDigest(a.Payload)
		if err != nil {
			return types.Trust{}, err
		}
		if named != digest {
			return types.Trust{}, fmt.Errorf("signed payload names %s, not this build", named)
		}
		sig, err := base64.StdEncoding.DecodeString(a.Annotations[AnnotationSignature])
		if err != nil || len(sig) == 0 {
			return types.Trust{}, errors.New("signature layer carries no base64 signature annotation")
		}
		hash := sha256.Sum256(a.Payload)
		if b, err = legacyBundle(a, &protobundle.Bundle{Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: hash[:]},
			Signature:     sig,
		}}}); err != nil {
			return types.Trust{}, err
		}
		// The verifier reads the payload itself, once.
		artifact = verify.WithArtifact(bytes.NewReader(a.Payload))
		readOnce = true
	}

	vc, err := b.VerificationContent()
	if err != nil {
		return types.Trust{}, fmt.Errorf("no key or certificate: %s", text.OneLine(err))
	}
	var t types.Trust
	if vc.Certificate() != nil {
		t, err = p.verifyKeyless(b, artifact)
	} else {
		t, err = p.verifyKeyed(b, artifact, readOnce)
	}
	if err != nil {
		return types.Trust{}, err
	}
	if stmt != nil {
		for _, r := range stmt.Revisions() {
			if r.From == types.FromProvenance {
				t.Revision, t.Repo = r.Revision, r.Repo
				break
			}
		}
	}
	return t, nil
}

// statementFor parses a signed statement and checks that it names the
// build digest. It is read before verifying, for a clear reason; the
// verifier checks the subject again on the verified bytes.
func statementFor(payload []byte, digest string) (*Statement, error) {
	stmt, err := ParseStatement(payload)
	if err != nil {
		return nil, err
	}
	if !stmt.Names(digest) {
		return nil, fmt.Errorf("attestation is for %s, not this build", orNone(stmt.SubjectDigests()))
	}
	return stmt, nil
}

// verifyKeyed tries each trusted key in turn.
func (p *Policy) verifyKeyed(b *bundle.Bundle, artifact verify.ArtifactPolicyOption, legacy bool) (types.Trust, error) {
	if len(p.Keys) == 0 {
		return types.Trust{}, errors.New("signed with a key, and no key is trusted (trust: keys, --trust-key)")
	}
	var last error
	for _, k := range p.Keys {
		key := root.NewExpiringKey(k.verifier, time.Time{}, time.Time{})
		material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
		// A key is trusted for as long as the policy names it: no
		// observer timestamp is needed to pin the signing time.
		v, err := verify.NewVerifier(material, verify.WithNoObserverTimestamps())
		if err != nil {
			return types.Trust{}, err
		}
		// artifact may read a payload: each try gets a fresh reader.
		if _, err = v.Verify(b, verify.NewPolicy(artifact, verify.WithKey())); err == nil {
			return types.Trust{State: types.TrustVerified, By: "key " + k.Name}, nil
		}
		last = err
		if legacy {
			break // a reader of the payload cannot be read twice
		}
	}
	if len(p.Keys) == 1 {
		return types.Trust{}, fmt.Errorf("signature does not verify with key %s: %s", p.Keys[0].Name, reason(last))
	}
	return types.Trust{}, fmt.Errorf("signature verifies with none of the %d trusted keys: %s", len(p.Keys), reason(last))
}

// verifyKeyless checks a Fulcio certificate's chain against the trusted
// root at a time an observer vouches for (the transparency log's, when the
// bundle has log entries, else the timestamp authority's), and its
// identity against the policy's.
func (p *Policy) verifyKeyless(b *bundle.Bundle, artifact verify.ArtifactPolicyOption) (types.Trust, error) {
	if len(p.identities) == 0 {
		return types.Trust{}, errors.New("signed keyless, and no identity is trusted (trust: identities)")
	}
	opts := []verify.VerifierOption{verify.WithSignedTimestamps(1)}
	if entries, _ := b.TlogEntries(); len(entries) > 0 {
		opts = []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)}
	}
	// Fulcio logs every certificate it issues: where the trusted root
	// names CT logs (the public-good instance), the certificate must carry
	// an SCT from one of them, as cosign requires. GitHub's own instance
	// names none.
	if len(p.Root.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(p.Root, opts...)
	if err != nil {
		return types.Trust{}, err
	}
	popts := make([]verify.PolicyOption, len(p.identities))
	for i, id := range p.identities {
		popts[i] = verify.WithCertificateIdentity(id)
	}
	res, err := v.Verify(b, verify.NewPolicy(artifact, popts...))
	if err != nil {
		return types.Trust{}, errors.New(reason(err))
	}
	t := types.Trust{State: types.TrustVerified, By: "identity"}
	if c := res.Signature.Certificate; c != nil {
		t.By = fmt.Sprintf("identity %s (issuer %s)", c.SubjectAlternativeName, c.Issuer)
		if isHexRevision(strings.ToLower(c.SourceRepositoryDigest)) {
			t.Revision, t.Repo = strings.ToLower(c.SourceRepositoryDigest), c.SourceRepositoryURI
		}
	}
	return t, nil
}

// reason is sigstore-go's error in the words an on-call engineer reads.
func reason(err error) string {
	msg := text.OneLine(err)
	switch {
	case strings.Contains(msg, "certificate has expired or is not yet valid"), strings.Contains(msg, "outside certificate validity"):
		return "certificate was not valid when it signed (expired or not yet valid): " + msg
	case strings.Contains(msg, "SCT entries"):
		return "certificate carries no SCT from a CT log the trusted root names (not logged as Fulcio logs its certificates): " + msg
	case strings.Contains(msg, "no matching CertificateIdentity"):
		return "certificate identity is not trusted: " + msg
	case strings.Contains(msg, "does not match envelope payload hash") ||
		strings.Contains(msg, "invalid signature") || strings.Contains(msg, "verification error") || strings.Contains(msg, "failed to verify signature"):
		return "signature does not match the signed content (tampered?): " + msg
	}
	return msg
}

func orNone(ds []string) string {
	if len(ds) == 0 {
		return "no sha256 subject"
	}
	return strings.Join(ds, ", ")
}

// simpleSigningDigest is the image digest a cosign simple-signing payload
// names.
func simpleSigningDigest(payload []byte) (string, error) {
	var ss struct {
		Critical struct {
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
			Type string `json:"type"`
		} `json:"critical"`
	}
	if err := json.Unmarshal(payload, &ss); err != nil {
		return "", fmt.Errorf("signed payload is not cosign simple signing JSON: %s", text.OneLine(err))
	}
	if ss.Critical.Image.Digest == "" {
		return "", errors.New("signed payload names no image digest")
	}
	return ss.Critical.Image.Digest, nil
}

// legacyBundle completes pb, which holds the signed content of a legacy
// cosign signature or attestation (a layer of the sha256-<hex>.sig or
// .att tag), into a Sigstore bundle from the layer's annotations, so one
// verifier checks all: the signature, the certificate or key hint, the
// Rekor entry cosign kept as its "bundle" annotation, the RFC 3161
// timestamp.
func legacyBundle(a types.Attestation, pb *protobundle.Bundle) (*bundle.Bundle, error) {
	pb.MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1"
	vm := &protobundle.VerificationMaterial{}
	pb.VerificationMaterial = vm
	if certPEM := a.Annotations[AnnotationCertificate]; certPEM != "" {
		var chain []*protocommon.X509Certificate
		rest := []byte(certPEM + "\n" + a.Annotations[AnnotationChain])
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			chain = append(chain, &protocommon.X509Certificate{RawBytes: blk.Bytes})
		}
		if len(chain) == 0 {
			return nil, errors.New("certificate annotation is not PEM")
		}
		vm.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{Certificates: chain}}
	} else {
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}
	}
	if rb := a.Annotations[AnnotationRekorBundle]; rb != "" {
		e, err := rekorEntry(rb)
		if err != nil {
			return nil, err
		}
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{e}
	}
	if ts := a.Annotations[AnnotationTimestamp]; ts != "" {
		var t struct {
			SignedRFC3161Timestamp []byte `json:"SignedRFC3161Timestamp"`
		}
		if err := json.Unmarshal([]byte(ts), &t); err != nil || len(t.SignedRFC3161Timestamp) == 0 {
			return nil, errors.New("timestamp annotation is not cosign's RFC 3161 JSON")
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: t.SignedRFC3161Timestamp}},
		}
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("rebuilding the signature into a bundle: %s", text.OneLine(err))
	}
	return b, nil
}

// rekorEntry reads cosign's Rekor bundle annotation (the entry's body,
// integrated time, index, log id and signed entry timestamp).
func rekorEntry(annotation string) (*protorekor.TransparencyLogEntry, error) {
	var rb struct {
		SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
		Payload              struct {
			Body           string `json:"body"`
			IntegratedTime int64  `json:"integratedTime"`
			LogIndex       int64  `json:"logIndex"`
			LogID          string `json:"logID"`
		} `json:"Payload"`
	}
	if err := json.Unmarshal([]byte(annotation), &rb); err != nil {
		return nil, fmt.Errorf("rekor bundle annotation: %s", text.OneLine(err))
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, errors.New("rekor bundle annotation: body is not base64")
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, errors.New("rekor bundle annotation: log id is not hex")
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kind); err != nil {
		return nil, errors.New("rekor bundle annotation: body is not a Rekor entry")
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          rb.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		IntegratedTime:    rb.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}, nil
}
