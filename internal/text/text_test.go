package text

import (
	"errors"
	"testing"
)

func TestShortHash(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0123456789abcdef0123456789abcdef01234567", "0123456789ab"},
		{"0123456789ab", "0123456789ab"},
		{"abc", "abc"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ShortHash(tt.in); got != tt.want {
			t.Errorf("ShortHash(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlural(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{{0, "0 builds"}, {1, "1 build"}, {2, "2 builds"}}
	for _, tt := range tests {
		if got := Plural(tt.n, "build"); got != tt.want {
			t.Errorf("Plural(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	got := OneLine(errors.New("listing tags:\n  401   Unauthorized\n"))
	if want := "listing tags: 401 Unauthorized"; got != want {
		t.Errorf("OneLine = %q, want %q", got, want)
	}
}
