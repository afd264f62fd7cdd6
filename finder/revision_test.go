package finder

import (
	"errors"
	"strings"
	"testing"

	"github.com/lkg-dev/lkg/types"
)

func TestCompileTagPatterns(t *testing.T) {
	tests := []struct {
		name    string
		pats    []string
		wantN   int
		wantErr bool
		wantMsg string // quoted in the error
	}{
		{name: "nil gives defaults", pats: nil, wantN: len(DefaultTagPatterns)},
		{name: "custom", pats: []string{`^build-(?P<rev>[0-9a-f]+)$`}, wantN: 1},
		{name: "does not compile", pats: []string{`^ok-(?P<rev>[0-9a-f]+)$`, `(`}, wantErr: true, wantMsg: `"("`},
		{name: "no rev group", pats: []string{`^v(\d+)$`}, wantErr: true, wantMsg: `"^v(\\d+)$"`},
		{name: "wrong group name", pats: []string{`^(?P<sha>[0-9a-f]+)$`}, wantErr: true, wantMsg: `(?P<sha>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CompileTagPatterns(tt.pats)
			if tt.wantErr {
				if !errors.Is(err, ErrBadTagPattern) {
					t.Fatalf("err = %v, want one wrapping ErrBadTagPattern", err)
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("err = %q, want it to quote %s", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(got) != tt.wantN {
				t.Errorf("got %d patterns, want %d", len(got), tt.wantN)
			}
		})
	}
}

func TestRevisionFromTag(t *testing.T) {
	full := hashOf("x")
	custom, err := CompileTagPatterns([]string{`^build-(?P<rev>[0-9a-f]+)$`, `^(?:ci-(?P<rev>[0-9a-f]+))?$`})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tag    string
		custom bool
		want   string
		wantOK bool
	}{
		{tag: "sha-abc1234", want: "abc1234", wantOK: true},
		{tag: "sha-" + full, want: full, wantOK: true},
		{tag: full, want: full, wantOK: true},
		{tag: full + "-dirty", want: full + "-dirty", wantOK: true},
		{tag: "sha-abc1234-dirty", want: "abc1234-dirty", wantOK: true},
		{tag: "v1.2.3-abc1234", want: "abc1234", wantOK: true},
		{tag: "main-abc1234-dirty", want: "abc1234-dirty", wantOK: true},
		{tag: "release-20261101", want: "20261101", wantOK: true}, // a date is hex; Find copes
		{tag: "latest"},
		{tag: "v1.2.3"},
		{tag: "sha-abc12"},         // too short
		{tag: "abc1234"},           // a bare tag must be a full hash
		{tag: full + "0"},          // 41 hex is no git hash
		{tag: "sha-ABC1234"},       // git writes lower case
		{tag: "x-" + full + "abc"}, // too long for the group
		{tag: "sha256-" + full + full[:24] + ".sig"},
		{tag: "build-abc1234", custom: true, want: "abc1234", wantOK: true},
		{tag: "build-abc12", custom: true},                               // group matched but too short
		{tag: "build-" + full + "00", custom: true},                      // group matched but too long
		{tag: "", custom: true},                                          // optional group did not take part
		{tag: "sha-abc1234", custom: true},                               // defaults not used with custom patterns
		{tag: "ci-abcdef0", custom: true, want: "abcdef0", wantOK: true}, // second pattern
	}
	for _, tt := range tests {
		pats := defaultTagRegexps
		if tt.custom {
			pats = custom
		}
		got, ok := RevisionFromTag(tt.tag, pats)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("RevisionFromTag(%q, custom=%v) = %q, %v; want %q, %v", tt.tag, tt.custom, got, ok, tt.want, tt.wantOK)
		}
	}
	// nil patterns are the defaults.
	if got, ok := RevisionFromTag("sha-abc1234", nil); got != "abc1234" || !ok {
		t.Errorf("RevisionFromTag with nil patterns = %q, %v; want abc1234, true", got, ok)
	}
}

func TestRevisionFromArtifact(t *testing.T) {
	full := hashOf("x")
	other := hashOf("y")
	tests := []struct {
		name      string
		labels    map[string]string
		ann       map[string]string
		want      string
		wantWhere string
		wantOK    bool
	}{
		{name: "nothing"},
		{name: "empty values say nothing", labels: map[string]string{LabelOCIRevision: " "}},
		{name: "oci label", labels: map[string]string{LabelOCIRevision: full}, want: full, wantWhere: "label " + LabelOCIRevision, wantOK: true},
		{name: "label-schema", labels: map[string]string{LabelLabelSchemaVCS: full}, want: full, wantWhere: "label " + LabelLabelSchemaVCS, wantOK: true},
		{name: "vcs-ref", labels: map[string]string{LabelVCSRef: "abc1234"}, want: "abc1234", wantWhere: "label " + LabelVCSRef, wantOK: true},
		{name: "annotation", ann: map[string]string{LabelOCIRevision: full}, want: full, wantWhere: "annotation " + LabelOCIRevision, wantOK: true},
		{
			name:   "oci label beats the others",
			labels: map[string]string{LabelVCSRef: other, LabelLabelSchemaVCS: other, LabelOCIRevision: full},
			ann:    map[string]string{LabelOCIRevision: other},
			want:   full, wantWhere: "label " + LabelOCIRevision, wantOK: true,
		},
		{name: "labels beat the annotation", labels: map[string]string{LabelVCSRef: full}, ann: map[string]string{LabelOCIRevision: other}, want: full, wantWhere: "label " + LabelVCSRef, wantOK: true},
		{name: "dirty kept", labels: map[string]string{LabelOCIRevision: full + "-dirty"}, want: full + "-dirty", wantWhere: "label " + LabelOCIRevision, wantOK: true},
		{name: "upper case normalised", labels: map[string]string{LabelOCIRevision: strings.ToUpper(full)}, want: full, wantWhere: "label " + LabelOCIRevision, wantOK: true},
		{name: "junk only", labels: map[string]string{LabelOCIRevision: "unknown"}, want: "unknown", wantWhere: "label " + LabelOCIRevision},
		{name: "too short is junk", labels: map[string]string{LabelVCSRef: "abc123"}, want: "abc123", wantWhere: "label " + LabelVCSRef},
		{name: "junk does not hide a later good one", labels: map[string]string{LabelOCIRevision: "main", LabelVCSRef: full}, want: full, wantWhere: "label " + LabelVCSRef, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, where, ok := RevisionFromArtifact(types.Artifact{Labels: tt.labels, Annotations: tt.ann})
			if got != tt.want || where != tt.wantWhere || ok != tt.wantOK {
				t.Errorf("got %q, %q, %v; want %q, %q, %v", got, where, ok, tt.want, tt.wantWhere, tt.wantOK)
			}
		})
	}
}

func TestStripDirty(t *testing.T) {
	tests := []struct {
		in, want  string
		wantDirty bool
	}{
		{"abc1234", "abc1234", false},
		{"abc1234-dirty", "abc1234", true},
		{"abc1234-dirty-dirty", "abc1234-dirty", true},
	}
	for _, tt := range tests {
		got, dirty := StripDirty(tt.in)
		if got != tt.want || dirty != tt.wantDirty {
			t.Errorf("StripDirty(%q) = %q, %v; want %q, %v", tt.in, got, dirty, tt.want, tt.wantDirty)
		}
	}
}

func TestIsSignatureTag(t *testing.T) {
	d := hashOf("a") + hashOf("b")[:24]
	tests := []struct {
		tag  string
		want bool
	}{
		{"sha256-" + d + ".sig", true},
		{"sha256-" + d + ".att", true},
		{"sha256-" + d + ".sbom", true},
		{"sha256-" + d, true}, // the referrers fallback tag: an index of signatures, no build
		{"sha256-" + d + ".txt", false},
		{"sha256-" + d[:63] + "x.sig", false},
		{"sha-" + d[:40], false},
	}
	for _, tt := range tests {
		if got := isSignatureTag(tt.tag); got != tt.want {
			t.Errorf("isSignatureTag(%q) = %v, want %v", tt.tag, got, tt.want)
		}
	}
}
