package config

import (
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Trust is the trust: block, the policy signatures are verified under:
//
//	trust:
//	  keys: [ci/cosign.pub]
//	  identities:
//	    - issuer: https://token.actions.githubusercontent.com
//	      subject_regex: ^https://github.com/shop/api/
//	  trusted_root: ci/trusted_root.json
//	  require: true
//
// File names are relative to the settings file's directory (the
// repository root).
type Trust struct {
	Keys        []string        // keys: PEM public keys (--trust-key)
	Identities  []TrustIdentity // identities: keyless signers
	TrustedRoot string          // trusted_root: the trusted root file (--trusted-root)
	Require     *bool           // require: refuse to deploy an unverified build (--require-signed)
}

// TrustIdentity is one keyless signer: the Fulcio certificate's OIDC
// issuer, exactly, and a regular expression for its subject.
type TrustIdentity struct {
	Issuer       string
	SubjectRegex string
}

var trustKeys = []string{"identities", "keys", "require", "trusted_root"}

const trustLike = "Write it like: trust: {keys: [ci/cosign.pub], identities: [{issuer: https://token.actions.githubusercontent.com, subject_regex: ^https://github.com/shop/api/}], trusted_root: ci/trusted_root.json, require: true}"

func decodeTrust(dst **Trust, n *yaml.Node, base string) error {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return wrongValue(n, "want a map with keys, identities, trusted_root and require. %s", trustLike)
	}
	t := &Trust{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if seen[kn.Value] {
			return wrongValue(kn, "%s is set twice. Keep one", kn.Value)
		}
		seen[kn.Value] = true
		var err error
		switch kn.Value {
		case "keys":
			err = decodeList(&t.Keys, v)
			for j, k := range t.Keys {
				t.Keys[j] = relativeTo(base, k)
			}
		case "identities":
			err = decodeIdentities(&t.Identities, v)
		case "trusted_root":
			if v.Kind != yaml.ScalarNode {
				return wrongValue(v, "trusted_root: want a file name. %s", trustLike)
			}
			t.TrustedRoot = relativeTo(base, v.Value)
		case "require":
			err = decodeBool(&t.Require, v)
		default:
			return wrongValue(kn, "unknown key %q. Valid keys: %s", kn.Value, strings.Join(trustKeys, ", "))
		}
		if err != nil {
			if ve, ok := err.(*valueError); ok {
				ve.msg = kn.Value + ": " + ve.msg
			}
			return err
		}
	}
	*dst = t
	return nil
}

func decodeIdentities(dst *[]TrustIdentity, n *yaml.Node) error {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return wrongValue(n, "want a list of {issuer, subject_regex}. %s", trustLike)
	}
	if len(n.Content) > MaxListLen {
		return wrongValue(n, "more than %d identities", MaxListLen)
	}
	var ids []TrustIdentity
	for _, e := range n.Content {
		e = resolve(e)
		if e.Kind != yaml.MappingNode {
			return wrongValue(e, "want {issuer: URL, subject_regex: REGEX}. %s", trustLike)
		}
		var id TrustIdentity
		for j := 0; j+1 < len(e.Content); j += 2 {
			fk, fv := resolve(e.Content[j]), resolve(e.Content[j+1])
			if fv.Kind != yaml.ScalarNode {
				return wrongValue(fv, "%s: want a string", fk.Value)
			}
			switch fk.Value {
			case "issuer":
				id.Issuer = fv.Value
			case "subject_regex":
				id.SubjectRegex = fv.Value
			default:
				return wrongValue(fk, "unknown key %q. Valid keys: issuer, subject_regex", fk.Value)
			}
		}
		if id.Issuer == "" || id.SubjectRegex == "" {
			return wrongValue(e, "both issuer and subject_regex are needed. %s", trustLike)
		}
		ids = append(ids, id)
	}
	*dst = ids
	return nil
}

// relativeTo resolves a file name written in the settings file against
// its directory.
func relativeTo(base, name string) string {
	if name == "" || filepath.IsAbs(name) || base == "" {
		return name
	}
	return filepath.Join(base, name)
}
