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
  k8s:
    to: k8s://shop/deployment/api
    context: prod-eu
  argo:
    gitops:
      repo: git@example.com:ops/config.git   # URL or local path
      branch: main
      file: apps/api/kustomization.yaml
      image: reg.example.com/app
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
			{Name: "k8s", To: "k8s://shop/deployment/api", Context: "prod-eu"},
			{Name: "argo", GitOps: &GitOps{Repo: "git@example.com:ops/config.git", Branch: "main", File: "apps/api/kustomization.yaml", Image: "reg.example.com/app"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v,\nwant %+v", got, want)
	}
	if got, want := got.EnvNames(), []string{"staging", "prod", "k8s", "argo"}; !reflect.DeepEqual(got, want) {
		t.Errorf("EnvNames = %q, want %q", got, want)
	}
}

func TestParseDrillKeyErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"pin_pattern: keep", `want a tag holding {tag} once, not "keep"`},
		{"keep: 0", "want at least 1"},
		{"environments: [prod]", "want a map of environment names"},
		{"environments: {prod: {url: x}}", `environment prod: unknown key "url". Valid keys: context, gitops, to, verify_url`},
		{"environments: {prod: {to: a/b:c, context: x}}", `environment prod: context is for a k8s:// target, and to is "a/b:c"`},
		{"environments: {prod: {to: k8s://a/deployment/b, context: [x]}}", "environment prod: context: want a string"},
		{"environments: {prod: {gitops: {repo: r, branch: main, file: f}}}", "environment prod: gitops: image is missing"},
		{"environments: {prod: {gitops: {repo: r, branch: main, file: f, image: i, tag: x}}}", `gitops: unknown key "tag". Valid keys: repo, branch, file, image`},
		{"environments: {prod: {to: a/b:c, gitops: {repo: r, branch: main, file: f, image: i}}}", "to and gitops both set"},
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
	names := []string{"staging", "prod", "k8s", "argo"}
	for _, tc := range []struct{ in, want string }{{"prd", "prod"}, {"stagin", "staging"}, {"qa", ""}} {
		if got := Nearest(tc.in, names); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
