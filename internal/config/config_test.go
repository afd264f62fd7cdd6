package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	two, yes := 2, true
	got, err := Parse("/r/.lkg.yaml", []byte(`# settings
good: v1.2.0
good_tags: ["prod-*", "v*"]
images: registry.example.com/app
remotes: []
depth: 2
docker: true
to: registry.example.com/app:prod
verify_all:
tag_patterns: ["^(?P<rev>[0-9a-f]{7,40})_release$"]
insecure_registries: [registry.lab:5000]
risk:
  payments: ["services/payments/**"]
  build: []
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Path:               "/r/.lkg.yaml",
		Good:               "v1.2.0",
		GoodTags:           []string{"prod-*", "v*"},
		Images:             []string{"registry.example.com/app"},
		Remotes:            []string{},
		Depth:              &two,
		Docker:             &yes,
		To:                 "registry.example.com/app:prod",
		TagPatterns:        []string{"^(?P<rev>[0-9a-f]{7,40})_release$"},
		InsecureRegistries: []string{"registry.lab:5000"},
		Risk:               []RiskCategory{{"payments", []string{"services/payments/**"}}, {"build", []string{}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v,\nwant %+v", got, want)
	}
	if _, ok := got.Lookup("verify_all"); ok {
		t.Error(`Lookup("verify_all") set by "verify_all:" with no value`)
	}
	if v, ok := got.Lookup("depth"); !ok || v != 2 {
		t.Errorf(`Lookup("depth") = %v, %v; want 2, true`, v, ok)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{"images: [unclosed", "reading /r/.lkg.yaml: "},
		{"- a\n- b\n", "line 1: want a mapping"},
		{"good: v1\ndepth: x\n", `line 2: depth: want a whole number, not "x"`},
		{"docker: maybe", `line 1: docker: want true or false, not "maybe"`},
		{"images: {a: b}", "line 1: images: want a list of strings"},
		{"images: [[a]]", "line 1: images: want a list of strings, not a nested list"},
		{"risk: x", "reading risk categories: want a map of category to patterns, got string in line 1 of /r/.lkg.yaml. Give each category"},
		{"risk:\n  a: [\"[\"]\n", `reading risk category "a": pattern "[": syntax error in pattern in line 2 of /r/.lkg.yaml. Give`},
		{"risk:\n  a: 3\n", `reading risk category "a": want a list of patterns, got int in line 2 of /r/.lkg.yaml`},
		{"risk:\n  a: [3]\n", `reading risk category "a": pattern 3 is not a string in line 2`},
		{"risk:\n  a: \"*.sql\"\n", ""},
		{"depth: 1\ndepth: 2\n", "line 2: depth is set twice"},
		{"depth: 0", "line 1: depth: want at least 1, not 0"},
		{"good: v1\nimage: [r/app]\n", `line 2: unknown key "image". Did you mean images?`},
		{"Images: [r/app]", `line 1: unknown key "Images". Did you mean images?`},
		{"good_tag: [v*]", `unknown key "good_tag". Did you mean good_tags?`},
		{"verifyall: true", `unknown key "verifyall". Did you mean verify_all?`},
		{"colour: blue", `unknown key "colour". Valid keys: depth, docker, environments, good, good_tags, images, insecure_registries, keep, pin_pattern, remotes, risk, tag_patterns, to, trust, verify_all.`},
	}
	for _, tt := range tests {
		_, err := Parse("/r/.lkg.yaml", []byte(tt.yaml))
		var cerr *Error
		if tt.want == "" {
			if err != nil {
				t.Errorf("Parse(%q) = %v, want no error", tt.yaml, err)
			}
			continue
		}
		if !errors.As(err, &cerr) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an *Error containing %q", tt.yaml, err, tt.want)
		}
	}
}
