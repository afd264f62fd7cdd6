package imageref

import (
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

const dg = "sha256:4f2a9c1b7d3e4f2a9c1b7d3e4f2a9c1b7d3e4f2a9c1b7d3e4f2a9c1b7d3e4f2a"

// TestParseAgreesWithGGCR holds Parse to go-containerregistry's parser,
// the one the registry code uses, on every form lkg meets with a host.
func TestParseAgreesWithGGCR(t *testing.T) {
	for _, s := range []string{
		"reg.example.com/shop/api",
		"reg.example.com/shop/api:v1.2.3",
		"127.0.0.1:5000/app:prod",
		"127.0.0.1:5000/app",
		"localhost/app:sha-abc1234",
		"[::1]:5000/team/app:live",
		"reg.example.com/shop/api@" + dg,
		"reg.example.com/shop/api:v1@" + dg,
	} {
		got, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		ref, err := name.ParseReference(s)
		if err != nil {
			t.Fatalf("name.ParseReference(%q): %v", s, err)
		}
		if got.Repo() != ref.Context().Name() {
			t.Errorf("Parse(%q).Repo() = %q, ggcr says %q", s, got.Repo(), ref.Context().Name())
		}
		if got.Host() != ref.Context().RegistryStr() {
			t.Errorf("Parse(%q).Host() = %q, ggcr says %q", s, got.Host(), ref.Context().RegistryStr())
		}
		switch r := ref.(type) {
		case name.Tag:
			want := r.TagStr()
			if got.Tag() == "" && want == name.DefaultTag {
				want = "" // ggcr fills in latest; lkg keeps "no tag" apart
			}
			if got.Tag() != want || got.Digest() != "" {
				t.Errorf("Parse(%q) = tag %q digest %q, ggcr says tag %q", s, got.Tag(), got.Digest(), r.TagStr())
			}
		case name.Digest:
			if got.Digest() != r.DigestStr() {
				t.Errorf("Parse(%q).Digest() = %q, ggcr says %q", s, got.Digest(), r.DigestStr())
			}
		}
		if got.String() != s {
			t.Errorf("Parse(%q).String() = %q", s, got.String())
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{"", "reg.example.com/app:v 1", "reg.example.com/app:-x", "/app", "reg.example.com//app", "reg.example.com/app@nohex"} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func TestParseTag(t *testing.T) {
	tag, err := ParseTag("127.0.0.1:5000/shop/api:prod")
	if err != nil {
		t.Fatal(err)
	}
	if tag.Repo() != "127.0.0.1:5000/shop/api" || tag.Tag() != "prod" || tag.At(dg) != "127.0.0.1:5000/shop/api@"+dg {
		t.Errorf("ParseTag = %+v", tag)
	}
	for _, s := range []string{"shop/api:prod", "reg.example.com/api", "reg.example.com/api@" + dg, "https://reg.example.com/api:prod", "reg.example.com/api:"} {
		if _, err := ParseTag(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseTag(%q) = %v, want ErrInvalid", s, err)
		}
	}
}
