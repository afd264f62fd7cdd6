package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestTrust(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	c, err := Parse(path, []byte(`
trust:
  keys: [ci/cosign.pub, /etc/lkg/other.pub]
  identities:
    - issuer: https://token.actions.githubusercontent.com
      subject_regex: ^https://github.com/shop/api/
  trusted_root: ci/trusted_root.json
  require: true
`))
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Trust
	if tr == nil {
		t.Fatal("no trust block")
	}
	if got, want := strings.Join(tr.Keys, ","), filepath.Join(dir, "ci/cosign.pub")+",/etc/lkg/other.pub"; got != want {
		t.Errorf("keys = %s, want %s", got, want)
	}
	if len(tr.Identities) != 1 || tr.Identities[0].Issuer != "https://token.actions.githubusercontent.com" || tr.Identities[0].SubjectRegex != "^https://github.com/shop/api/" {
		t.Errorf("identities = %+v", tr.Identities)
	}
	if tr.TrustedRoot != filepath.Join(dir, "ci/trusted_root.json") || tr.Require == nil || !*tr.Require {
		t.Errorf("trusted_root = %q, require = %v", tr.TrustedRoot, tr.Require)
	}
}

func TestTrustErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"trust: [a]", "line 1: trust: want a map with keys"},
		{"trust:\n  key: [a]", `line 2: trust: unknown key "key". Valid keys: identities, keys, require, trusted_root`},
		{"trust:\n  identities:\n    - issuer: x", "line 3: trust: identities: both issuer and subject_regex are needed"},
		{"trust:\n  identities:\n    - subject: x", `unknown key "subject". Valid keys: issuer, subject_regex`},
		{"trust:\n  require: maybe", `require: want true or false, not "maybe"`},
	} {
		_, err := Parse(".lkg.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
