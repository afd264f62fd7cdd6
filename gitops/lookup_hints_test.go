package gitops

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/types"
)

func TestWorthAsking(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	pinned := time.Date(1980, 1, 1, 0, 0, 1, 0, time.UTC)
	tests := []struct {
		name     string
		missing  []string
		hints    types.LookupHints
		limit    int
		want     []string
		skipped  []string
		warnPart string
	}{
		{
			name:    "no hints: every revision, in order",
			missing: []string{"bbbbbbb", "aaaaaaa"},
			limit:   16,
			want:    []string{"aaaaaaa", "bbbbbbb"},
		},
		{
			name:     "built before the oldest good commit: skipped",
			missing:  []string{"aaaaaaa", "bbbbbbb", "ccccccc"},
			hints:    types.LookupHints{Since: day(10), Created: map[string]time.Time{"aaaaaaa": day(2), "bbbbbbb": day(12), "ccccccc": pinned}},
			limit:    16,
			want:     []string{"bbbbbbb", "ccccccc"},
			skipped:  []string{"aaaaaaa"},
			warnPart: "1 built before the oldest good commit",
		},
		{
			name:     "newest builds first, unknown age last, capped",
			missing:  []string{"aaaaaaa", "bbbbbbb", "ccccccc", "ddddddd"},
			hints:    types.LookupHints{Since: day(1), Created: map[string]time.Time{"aaaaaaa": day(3), "bbbbbbb": day(5), "ddddddd": day(4)}},
			limit:    2,
			want:     []string{"bbbbbbb", "ddddddd"},
			skipped:  []string{"aaaaaaa", "ccccccc"},
			warnPart: "2 over the limit of 2",
		},
		{
			name:    "within the clock skew of the good commit: asked",
			missing: []string{"aaaaaaa"},
			hints:   types.LookupHints{Since: day(10), Created: map[string]time.Time{"aaaaaaa": day(10).Add(-30 * time.Minute)}},
			limit:   16,
			want:    []string{"aaaaaaa"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Repo{opts: options{limit: tc.limit}}
			skipped := map[string]string{}
			got := r.worthAsking(tc.missing, tc.hints, skipped)
			if !slices.Equal(got, tc.want) {
				t.Errorf("asked %v, want %v", got, tc.want)
			}
			var gotSkipped []string
			for rev := range skipped {
				gotSkipped = append(gotSkipped, rev)
			}
			slices.Sort(gotSkipped)
			if !slices.Equal(gotSkipped, tc.skipped) {
				t.Errorf("skipped %v, want %v", gotSkipped, tc.skipped)
			}
			w := strings.Join(r.takeWarnings(), "\n")
			if tc.warnPart == "" && w != "" || !strings.Contains(w, tc.warnPart) {
				t.Errorf("warnings %q, want one with %q", w, tc.warnPart)
			}
		})
	}
}
