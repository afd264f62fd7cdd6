// Package digest owns how lkg shows a content digest to people.
package digest

import "strings"

// Short cuts "sha256:<64 hex>" to 12 hex digits, for tables and one-line
// summaries; JSON and the report's tables keep whole digests. Anything
// else (an image ID without an algorithm, a short or empty string) is
// returned as it is.
func Short(d string) string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return algo + ":" + hex[:12]
}
