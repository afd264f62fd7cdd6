package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDrillKeys(t *testing.T) {
	three := 3
	got, err := Parse("/r/.lkg.yaml", []byte(`keep: 3
pin_pattern: keep-{tag}
environments:
  staging: {to: reg.example.com/app:staging, verify_url: "https://staging.example.com/health"}
  prod:
    to: reg.example.com/app:prod
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Path:       "/r/.lkg.yaml",
		Keep:       &three,
		PinPattern: "keep-{tag}",
		Environments: []Environment{
			{Name: "staging", To: "reg.example.com/app:staging", VerifyURL: "https://staging.example.com/health"},
			{Name: "prod", To: "reg.example.com/app:prod"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v,\nwant %+v", got, want)
	}
	if got, want := got.EnvNames(), []string{"staging", "prod"}; !reflect.DeepEqual(got, want) {
		t.Errorf("EnvNames = %q, want %q", got, want)
	}
}

func TestParseDrillKeyErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"pin_pattern: keep", `want a tag holding {tag} once, not "keep"`},
		{"keep: 0", "want at least 1"},
		{"environments: [prod]", "want a map of environment names"},
		{"environments: {prod: {url: x}}", `environment prod: unknown key "url". Valid keys: to, verify_url`},
		{"environments: {prod: {verify_url: x}}", "environment prod: to is missing"},
	} {
		_, err := Parse("/r/.lkg.yaml", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestPinTagAndNearest(t *testing.T) {
	for _, tc := range []struct{ pattern, tag, want string }{
		{"", "v1.2.0", "lkg-keep-v1.2.0"},
		{"keep-{tag}", "release/1.2", "keep-release-1.2"},
	} {
		if got := PinTag(tc.pattern, tc.tag); got != tc.want {
			t.Errorf("PinTag(%q, %q) = %q, want %q", tc.pattern, tc.tag, got, tc.want)
		}
	}
	names := []string{"staging", "prod"}
	for _, tc := range []struct{ in, want string }{{"prd", "prod"}, {"stagin", "staging"}, {"qa", ""}} {
		if got := Nearest(tc.in, names); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
