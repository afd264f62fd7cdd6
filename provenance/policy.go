package provenance

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// ErrPolicy: a trust policy that cannot be used (a key or trusted root
// that does not load, an identity without issuer or subject). The CLI
// reports it as a configuration error.
var ErrPolicy = errors.New("bad trust policy")

// maxPolicyFile bounds a key or trusted root file: real ones are a few KiB.
const maxPolicyFile = 1 << 20

// Identity is a keyless signer lkg trusts: the OIDC issuer in the Fulcio
// certificate, exactly, and a regular expression its subject (the SAN: a
// workflow URL, an e-mail address) must match.
type Identity struct {
	Issuer       string `json:"issuer"`
	SubjectRegex string `json:"subject_regex"`
}

func (i Identity) String() string {
	return fmt.Sprintf("%s (issuer %s)", i.SubjectRegex, i.Issuer)
}

// Key is a public key lkg trusts, named by the file it came from.
type Key struct {
	Name     string
	verifier signature.Verifier
}

// Policy says which signatures lkg believes. The zero Policy believes
// none: every build is unsigned or failed.
type Policy struct {
	Keys       []Key
	Identities []Identity
	// Root is the trusted root (Fulcio, Rekor, timestamp authorities) that
	// keyless signatures and transparency log entries are checked against.
	Root root.TrustedMaterial
	// RootName names the root's file, for messages.
	RootName string
	// Require says an unverified build must not be deployed.
	Require bool

	identities []verify.CertificateIdentity
}

// PolicyFiles are a trust policy as a user writes it: file names and
// identities, as in .lkg.yaml's trust: block or the --trust-key and
// --trusted-root flags.
type PolicyFiles struct {
	Keys        []string   // PEM public keys (cosign.pub)
	Identities  []Identity // keyless identities
	TrustedRoot string     // what `cosign trusted-root` or `gh attestation trusted-root` writes
	Require     bool
}

// Empty reports whether the files name nothing to trust.
func (f PolicyFiles) Empty() bool {
	return len(f.Keys) == 0 && len(f.Identities) == 0 && f.TrustedRoot == ""
}

// LoadPolicy reads the keys and the trusted root f names. Every failure
// wraps ErrPolicy and names the file or identity.
func LoadPolicy(f PolicyFiles) (*Policy, error) {
	p := &Policy{Require: f.Require, Identities: f.Identities, RootName: f.TrustedRoot}
	for _, name := range f.Keys {
		b, err := readSmall(name)
		if err != nil {
			return nil, fmt.Errorf("%w: reading key %s: %w", ErrPolicy, name, err)
		}
		k, err := ParseKey(name, b)
		if err != nil {
			return nil, err
		}
		p.Keys = append(p.Keys, k)
	}
	if f.TrustedRoot != "" {
		b, err := readSmall(f.TrustedRoot)
		if err != nil {
			return nil, fmt.Errorf("%w: reading trusted root %s: %w", ErrPolicy, f.TrustedRoot, err)
		}
		tr, err := root.NewTrustedRootFromJSON(b)
		if err != nil {
			return nil, fmt.Errorf("%w: trusted root %s: %w", ErrPolicy, f.TrustedRoot, err)
		}
		p.Root = tr
	}
	if err := p.compile(); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseKey reads a PEM public key (what `cosign generate-key-pair` writes
// as cosign.pub), named name in verdicts.
func ParseKey(name string, pem []byte) (Key, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem)
	if err != nil {
		return Key{}, fmt.Errorf("%w: key %s is not a PEM public key: %w", ErrPolicy, name, err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return Key{}, fmt.Errorf("%w: key %s: %w", ErrPolicy, name, err)
	}
	return Key{Name: name, verifier: v}, nil
}

// compile checks the identities and builds their matchers.
func (p *Policy) compile() error {
	p.identities = nil
	for _, id := range p.Identities {
		if id.Issuer == "" || id.SubjectRegex == "" {
			return fmt.Errorf("%w: identity %+v: both issuer and subject_regex are needed", ErrPolicy, id)
		}
		if _, err := regexp.Compile(id.SubjectRegex); err != nil {
			return fmt.Errorf("%w: identity subject_regex %q: %w", ErrPolicy, id.SubjectRegex, err)
		}
		ci, err := verify.NewShortCertificateIdentity(id.Issuer, "", "", id.SubjectRegex)
		if err != nil {
			return fmt.Errorf("%w: identity %s: %w", ErrPolicy, id, err)
		}
		p.identities = append(p.identities, ci)
	}
	if len(p.Identities) > 0 && p.Root == nil {
		return fmt.Errorf("%w: keyless identities need a trusted root to check certificates against: set trusted_root (--trusted-root), the file `cosign trusted-root` or `gh attestation trusted-root` writes", ErrPolicy)
	}
	return nil
}

// Enabled reports whether the policy trusts anything: a nil or empty
// Policy reads no signatures at all.
func (p *Policy) Enabled() bool {
	return p != nil && (len(p.Keys) > 0 || len(p.Identities) > 0)
}

// Checked says what the policy accepts, for a message about a build it
// did not verify.
func (p *Policy) Checked() string {
	if !p.Enabled() {
		return "no trust policy (no keys, no identities)"
	}
	var parts []string
	if len(p.Keys) > 0 {
		names := make([]string, len(p.Keys))
		for i, k := range p.Keys {
			names[i] = k.Name
		}
		parts = append(parts, "keys "+strings.Join(names, ", "))
	}
	if len(p.Identities) > 0 {
		ids := make([]string, len(p.Identities))
		for i, id := range p.Identities {
			ids[i] = id.String()
		}
		parts = append(parts, "identities "+strings.Join(ids, ", "))
	}
	if p.RootName != "" {
		parts = append(parts, "trusted root "+p.RootName)
	}
	return strings.Join(parts, "; ")
}

// readSmall reads a regular file of at most maxPolicyFile bytes.
func readSmall(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > maxPolicyFile {
		return nil, fmt.Errorf("larger than %d KiB", maxPolicyFile>>10)
	}
	return os.ReadFile(name)
}
