package warn

import (
	"fmt"
	"hash/maphash"
	"slices"
)

// PerKind is how many warnings of one kind a Set keeps by default.
const PerKind = 5

// Set collects distinct warnings by kind. The zero value is not usable;
// call New. It is not safe for concurrent use.
type Set struct {
	perKind int
	seed    maphash.Seed
	kinds   map[string]*kind
}

type kind struct {
	kept []string            // the smallest messages, sorted, at most perKind
	seen map[uint64]struct{} // every distinct message, by hash: the count without the text
}

// New returns an empty Set keeping at most perKind warnings of each kind
// (PerKind when perKind < 1).
func New(perKind int) *Set {
	if perKind < 1 {
		perKind = PerKind
	}
	return &Set{perKind: perKind, seed: maphash.MakeSeed(), kinds: map[string]*kind{}}
}

// Add records msg under kind; a message already recorded is ignored. Which
// messages are kept does not depend on the order they come in: the first
// few in sorted order are.
func (s *Set) Add(kindName, msg string) {
	k := s.kinds[kindName]
	if k == nil {
		k = &kind{seen: map[uint64]struct{}{}}
		s.kinds[kindName] = k
	}
	h := maphash.String(s.seed, msg)
	if _, dup := k.seen[h]; dup {
		return
	}
	k.seen[h] = struct{}{}
	i, found := slices.BinarySearch(k.kept, msg)
	if found || i >= s.perKind {
		return
	}
	k.kept = slices.Insert(k.kept, i, msg)
	if len(k.kept) > s.perKind {
		k.kept = k.kept[:s.perKind]
	}
}

// Addf records a formatted message whose kind is its format: every
// warning one call site makes is of one kind.
func (s *Set) Addf(format string, args ...any) {
	s.Add(format, fmt.Sprintf(format, args...))
}

// Len is how many distinct warnings were added.
func (s *Set) Len() int {
	n := 0
	for _, k := range s.kinds {
		n += len(k.seen)
	}
	return n
}

// List returns the kept warnings sorted, each kind that had more followed,
// right after its last kept warning, by "… and N more like the one above".
// It is never nil.
func (s *Set) List() []string {
	type line struct {
		msg  string
		kind *kind
	}
	var lines []line
	for _, k := range s.kinds {
		for _, m := range k.kept {
			lines = append(lines, line{m, k})
		}
	}
	slices.SortFunc(lines, func(a, b line) int {
		switch {
		case a.msg < b.msg:
			return -1
		case a.msg > b.msg:
			return 1
		}
		return 0
	})
	out := make([]string, 0, len(lines)+len(s.kinds))
	for i, l := range lines {
		out = append(out, l.msg)
		last := true
		for _, later := range lines[i+1:] {
			if later.kind == l.kind {
				last = false
				break
			}
		}
		if more := len(l.kind.seen) - len(l.kind.kept); last && more > 0 {
			out = append(out, More(more))
		}
	}
	return out
}

// More is the line that stands for n warnings left out after the one
// above it.
func More(n int) string {
	return fmt.Sprintf("… and %d more like the one above", n)
}

// Cap bounds a plain list of warnings to max lines: the first max-1, then
// a line counting the rest. A list within max comes back as it is.
func Cap(warnings []string, max int) []string {
	if max < 2 || len(warnings) <= max {
		return warnings
	}
	out := slices.Clone(warnings[:max-1])
	return append(out, fmt.Sprintf("… and %d more warnings", len(warnings)-(max-1)))
}
