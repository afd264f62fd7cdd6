package termsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// String neutralises what a terminal would act on in text that comes
// from git or a registry (a commit subject, a file or ref name, a tag):
// control characters (ESC, BEL, CR...), C1 controls (U+0080-U+009F, a
// UTF-8 CSI among them), bidirectional overrides and bytes that are not
// UTF-8 are written as Go escapes (\x1b, \u009b, \u202e, \xff), so a
// subject cannot retitle the window, clear the screen or reorder a line.
// Human output only: --json carries the data exact, escaped by JSON.
func String(s string) string {
	clean := true
	for _, r := range s {
		if !printableRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case printableRune(r):
			b.WriteString(s[i : i+size])
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

func printableRune(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return false // also a real U+FFFD: rare, and escaping it is harmless
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return false
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return false // bidirectional controls
	}
	return true
}
