package gitops

import (
	"fmt"
	"github.com/lkg-dev/lkg/internal/text"
	"strconv"
	"strings"
)

// revKind is what the base of a revision (the part before ~ and ^) looks
// like. It decides where Resolve looks, so that no lookup is ever asked
// for something that cannot be in the repository.
type revKind int

const (
	revName    revKind = iota // a ref name, HEAD or @
	revShort                  // 4 to 39 hex digits: a ref name or an abbreviated hash
	revFull                   // 40 hex digits: a full commit hash
	revTooLong                // more than 40 hex digits, and not an image digest
	revDigest                 // an image digest: sha256:<64 hex>, sha512:<128 hex>, or 64 bare hex digits
)

// Hash lengths in hex digits.
const (
	minShortHash = 4  // git's shortest abbreviation
	fullHash     = 40 // SHA-1, the object format go-git reads
	sha256Hex    = 64 // an image digest (or a SHA-256 repository's hash, which go-git cannot open)
	sha512Hex    = 128
)

// revOp is one ~N (first parent, N times) or ^N (the Nth parent; ^0 the
// commit itself) after the base.
type revOp struct {
	op byte // '~' or '^'
	n  int
}

// revision is a parsed commit-ish: a base and the operators after it.
type revision struct {
	base string
	kind revKind
	ops  []revOp
}

// maxRevOp bounds N in ~N and ^N: no history is deeper, and a larger N is
// a typo that should not walk a long history to find out.
const maxRevOp = 1 << 24

// parseRevision reads a commit-ish as Resolve accepts it: BASE followed by
// any of ~N, ^N and ^{commit} (^{} also). It knows nothing of the
// repository; an error wraps ErrUnknownRef (a malformed revision) or
// ErrImageDigest.
func parseRevision(rev string) (revision, error) {
	if rev == "" {
		return revision{}, fmt.Errorf("%w: empty revision", ErrUnknownRef)
	}
	base, ops := rev, ""
	if i := strings.IndexAny(rev, "^~"); i >= 0 {
		base, ops = rev[:i], rev[i:]
	}
	if base == "" {
		return revision{}, fmt.Errorf("%w: nothing before %q", ErrUnknownRef, ops[:1])
	}
	r := revision{base: base, kind: baseKind(base)}
	for ops != "" {
		op := ops[0]
		ops = ops[1:]
		if op != '~' && op != '^' {
			return revision{}, fmt.Errorf("%w: %q is not ~N, ^N or ^{commit}", ErrUnknownRef, string(op)+ops)
		}
		if op == '^' && strings.HasPrefix(ops, "{") {
			end := strings.IndexByte(ops, '}')
			if end < 0 {
				return revision{}, fmt.Errorf("%w: unclosed ^{", ErrUnknownRef)
			}
			if kind := ops[1:end]; kind != "" && kind != "commit" {
				return revision{}, fmt.Errorf("%w: only ^{commit} is supported", ErrUnknownRef)
			}
			ops = ops[end+1:]
			continue
		}
		j := 0
		for j < len(ops) && ops[j] >= '0' && ops[j] <= '9' {
			j++
		}
		n := 1
		if j > 0 {
			var err error
			if n, err = strconv.Atoi(ops[:j]); err != nil || n > maxRevOp {
				return revision{}, fmt.Errorf("%w: %c%s is more generations than any history has", ErrUnknownRef, op, ops[:j])
			}
		}
		ops = ops[j:]
		r.ops = append(r.ops, revOp{op: op, n: n})
	}
	return r, nil
}

// baseKind classifies a base by its shape alone.
func baseKind(base string) revKind {
	if algo, hex, ok := strings.Cut(base, ":"); ok {
		if (algo == "sha256" && len(hex) == sha256Hex || algo == "sha512" && len(hex) == sha512Hex) && text.IsHex(hex) {
			return revDigest
		}
		return revName
	}
	if !text.IsHex(base) {
		return revName
	}
	switch n := len(base); {
	case n < minShortHash:
		return revName
	case n < fullHash:
		return revShort
	case n == fullHash:
		return revFull
	case n == sha256Hex:
		return revDigest
	default:
		return revTooLong
	}
}

// tooLongError says why a hex base longer than a hash names nothing.
func tooLongError(base string) error {
	return fmt.Errorf("%w: %d hex digits is longer than a commit hash (%d)", ErrUnknownRef, len(base), fullHash)
}
