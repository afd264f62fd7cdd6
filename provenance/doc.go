// Package provenance owns what attestations say about a build and whether
// to believe them: it reads in-toto statements (SLSA provenance v0.2 and
// v1, as BuildKit and GitHub write them) for the git revision a build was
// made from, and verifies Sigstore bundles and legacy cosign signatures
// offline with sigstore-go under a trust policy (public keys, keyless
// certificate identities, a trusted root file).
//
// It knows nothing of registries or git: artifacts hands it the bytes a
// registry held, finder asks it for a verdict through finder.Verifier.
package provenance
