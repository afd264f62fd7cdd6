package cli

import (
	"context"
	"flag"
	"os"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/lkg-dev/lkg/internal/fixture/signing"
)

func init() {
	scriptCmds["push-attested"] = cmdPushAttested
	scriptCmds["sigstore"] = cmdSigstore
	scriptCmds["keygen"] = cmdKeygen
	scriptCmds["attest"] = cmdAttest
	scriptCmds["sign-legacy"] = cmdSignLegacy
}

// signers are each script's virtual Sigstore and generated keys: the
// private halves never leave the test process.
var signers = struct {
	sync.Mutex
	sigstore map[*testscript.TestScript]*signing.Sigstore
	keys     map[*testscript.TestScript]map[string]*signing.Key
}{sigstore: map[*testscript.TestScript]*signing.Sigstore{}, keys: map[*testscript.TestScript]map[string]*signing.Key{}}

const pushAttestedUsage = "push-attested [-v1] [-hint] [-label K=V]... [-created RFC3339] [-seed S] [-subject DIGEST] HOST/REPO:TAG COMMIT REPO_URL"

// cmdPushAttested pushes a build as buildx does with provenance on: an
// index of a linux/amd64 image (labels as given, by default none) and its
// attestation manifest (unknown/unknown) whose SLSA provenance (v0.2, or
// v1 with -v1) names COMMIT of REPO_URL as the git source BuildKit checked
// out, or with -hint as the build context's .git. $DIGEST is the index's
// digest, $IMAGE_DIGEST the image's.
func cmdPushAttested(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! push-attested")
	}
	fs := flag.NewFlagSet("push-attested", flag.ContinueOnError)
	v1 := fs.Bool("v1", false, "")
	hint := fs.Bool("hint", false, "")
	var labels listFlag
	fs.Var(&labels, "label", "")
	created := fs.String("created", "", "")
	seed := fs.String("seed", "", "")
	subject := fs.String("subject", "", "")
	rest := scriptFlags(ts, pushAttestedUsage, fs, args)
	if len(rest) != 3 {
		ts.Fatalf("usage: %s", pushAttestedUsage)
	}
	spec := fixture.ImageSpec{Labels: keyValues(ts, labels), Seed: *seed}
	if *created != "" {
		t, err := time.Parse(time.RFC3339, *created)
		if err != nil {
			ts.Fatalf("-created: %v\nusage: %s", err, pushAttestedUsage)
		}
		spec.Created = t
	}
	p := fixture.Provenance{PredicateType: fixture.SLSAProvenanceV02, Commit: rest[1], Repo: rest[2], Checked: !*hint, Subject: *subject}
	if *v1 {
		p.PredicateType = fixture.SLSAProvenanceV1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	index, image, err := fixture.PushAttested(ctx, rest[0], spec, []fixture.Provenance{p})
	ts.Check(err)
	ts.Setenv("DIGEST", index)
	ts.Setenv("IMAGE_DIGEST", image)
}

const sigstoreUsage = "sigstore FILE"

// cmdSigstore starts the script's virtual Sigstore (Fulcio, Rekor, a
// timestamp authority) and writes its trusted root to FILE, as `cosign
// trusted-root` would.
func cmdSigstore(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: %s", sigstoreUsage)
	}
	ss, err := signing.New()
	ts.Check(err)
	b, err := ss.TrustedRoot()
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
	signers.Lock()
	signers.sigstore[ts] = ss
	signers.Unlock()
	ts.Defer(func() {
		signers.Lock()
		delete(signers.sigstore, ts)
		delete(signers.keys, ts)
		signers.Unlock()
	})
}

const keygenUsage = "keygen NAME"

// cmdKeygen generates a signing key and writes its public half to
// NAME.pub, as `cosign generate-key-pair` would.
func cmdKeygen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: %s", keygenUsage)
	}
	k, err := signing.NewKey()
	ts.Check(err)
	pub, err := k.PublicPEM()
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]+".pub"), pub, 0o644))
	signers.Lock()
	if signers.keys[ts] == nil {
		signers.keys[ts] = map[string]*signing.Key{}
	}
	signers.keys[ts][args[0]] = k
	signers.Unlock()
}

const attestUsage = "attest (-key NAME | -identity SUBJECT -issuer ISSUER) [-legacy] [-expired | -no-sct] [-tamper COMMIT] [-for DIGEST] HOST/REPO DIGEST COMMIT REPO_URL"

// cmdAttest signs GitHub's SLSA provenance for DIGEST (built from COMMIT
// of REPO_URL) with a generated key or keyless from the virtual Sigstore,
// and pushes the bundle as an OCI referrer of DIGEST, or with -legacy as
// `cosign attest` without the bundle format does: a DSSE envelope in the
// tag sha256-<hex>.att (logged when keyless). -no-sct gives the keyless
// certificate no SCT from the CT log; -expired logs it
// after its certificate expired; -tamper swaps in a statement naming
// another commit after signing; -for signs a statement about another
// digest.
func cmdAttest(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! attest")
	}
	fs := flag.NewFlagSet("attest", flag.ContinueOnError)
	key := fs.String("key", "", "")
	identity := fs.String("identity", "", "")
	issuer := fs.String("issuer", "", "")
	expired := fs.Bool("expired", false, "")
	tamper := fs.String("tamper", "", "")
	forDigest := fs.String("for", "", "")
	legacy := fs.Bool("legacy", false, "")
	noSCT := fs.Bool("no-sct", false, "")
	rest := scriptFlags(ts, attestUsage, fs, args)
	if len(rest) != 4 || (*key == "") == (*identity == "") || *legacy && (*expired || *noSCT || *tamper != "") || *expired && *noSCT {
		ts.Fatalf("usage: %s", attestUsage)
	}
	repo, digest, commit, url := rest[0], rest[1], rest[2], rest[3]
	subject := digest
	if *forDigest != "" {
		subject = *forDigest
	}
	stmt := fixture.GitHubStatement(subject, url, commit)
	signers.Lock()
	ss, k := signers.sigstore[ts], signers.keys[ts][*key]
	signers.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var bundle []byte
	var err error
	switch {
	case *key != "" && k == nil:
		ts.Fatalf("no key %s: run keygen %s first", *key, *key)
	case *key == "" && ss == nil:
		ts.Fatalf("no virtual Sigstore: run sigstore FILE first")
	case *legacy:
		var att fixture.LegacySignature
		if *key != "" {
			att, err = k.AttestLegacy(stmt)
		} else {
			att, err = ss.AttestLegacy(*identity, *issuer, stmt)
		}
		ts.Check(err)
		ts.Check(fixture.PushLegacyAttestations(ctx, repo, digest, []fixture.LegacySignature{att}))
		return
	case *key != "":
		bundle, err = k.Attest(stmt)
	case *expired:
		bundle, err = ss.AttestExpired(*identity, *issuer, stmt)
	case *noSCT:
		bundle, err = ss.AttestWithoutSCT(*identity, *issuer, stmt)
	default:
		bundle, err = ss.Attest(*identity, *issuer, stmt)
	}
	ts.Check(err)
	if *tamper != "" {
		bundle, err = signing.Tamper(bundle, fixture.GitHubStatement(subject, url, *tamper))
		ts.Check(err)
	}
	_, err = fixture.PushReferrer(ctx, repo, digest, types.OCIImageIndex, 0, fixture.SLSAProvenanceV1, bundle)
	ts.Check(err)
}

const signLegacyUsage = "sign-legacy -key NAME [-for DIGEST] HOST/REPO DIGEST"

// cmdSignLegacy signs DIGEST as `cosign sign --key` does (a simple-signing
// payload naming the digest, or -for's) and pushes it as the tag
// sha256-<hex>.sig.
func cmdSignLegacy(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! sign-legacy")
	}
	fs := flag.NewFlagSet("sign-legacy", flag.ContinueOnError)
	key := fs.String("key", "", "")
	forDigest := fs.String("for", "", "")
	rest := scriptFlags(ts, signLegacyUsage, fs, args)
	if len(rest) != 2 || *key == "" {
		ts.Fatalf("usage: %s", signLegacyUsage)
	}
	signers.Lock()
	k := signers.keys[ts][*key]
	signers.Unlock()
	if k == nil {
		ts.Fatalf("no key %s: run keygen %s first", *key, *key)
	}
	named := rest[1]
	if *forDigest != "" {
		named = *forDigest
	}
	sig, err := k.SignLegacy(fixture.SimpleSigningPayload(rest[0], named))
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ts.Check(fixture.PushLegacySignatures(ctx, rest[0], rest[1], []fixture.LegacySignature{sig}))
}
