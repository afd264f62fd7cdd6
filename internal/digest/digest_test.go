package digest

import "testing"

func TestShort(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "sha256:0123456789ab"},
		{"sha256:0123456789ab", "sha256:0123456789ab"},
		{"0123456789abcdef", "0123456789abcdef"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Short(tt.in); got != tt.want {
			t.Errorf("Short(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
