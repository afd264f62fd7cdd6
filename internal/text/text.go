// Package text owns the small ways lkg words things for people: a commit
// hash cut to the length people read, a counted noun, an error folded onto
// one line. It is a leaf (standard library only), so the CLI, deploy,
// report, journal and gitops share one spelling of each.
package text

import (
	"fmt"
	"strings"
)

// ShortHash is a commit hash as people read it: its first 12 hex digits.
// Anything 12 characters or shorter is returned as it is.
func ShortHash(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// Plural is "1 build", "3 builds": n and word, with an s unless n is 1.
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// OneLine folds an error message onto one line, its runs of white space
// (newlines included) made single spaces: stderr gets one line per error.
func OneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}

// IsHex reports whether s is a non-empty string of hexadecimal digits, in
// either case: how a commit hash, an abbreviation of one or a digest is
// told from a name.
func IsHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}
