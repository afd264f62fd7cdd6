package gitops

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRevision(t *testing.T) {
	t.Parallel()
	hex40 := strings.Repeat("ab", 20)
	hex64 := strings.Repeat("cd", 32)
	tests := []struct {
		rev     string
		base    string
		kind    revKind
		ops     []revOp
		wantErr error
	}{
		{rev: "v1", base: "v1", kind: revName},
		{rev: "HEAD~2", base: "HEAD", kind: revName, ops: []revOp{{'~', 2}}},
		{rev: "main^", base: "main", kind: revName, ops: []revOp{{'^', 1}}},
		{rev: "main^2~3", base: "main", kind: revName, ops: []revOp{{'^', 2}, {'~', 3}}},
		{rev: "v2^{commit}", base: "v2", kind: revName},
		{rev: "v2^{}~", base: "v2", kind: revName, ops: []revOp{{'~', 1}}},
		{rev: "abc", base: "abc", kind: revName},
		{rev: "abcd", base: "abcd", kind: revShort},
		{rev: "ABCDEF1", base: "ABCDEF1", kind: revShort},
		{rev: hex40, base: hex40, kind: revFull},
		{rev: hex40 + "~1", base: hex40, kind: revFull, ops: []revOp{{'~', 1}}},
		{rev: hex40 + "0", base: hex40 + "0", kind: revTooLong},
		{rev: hex64, base: hex64, kind: revDigest},
		{rev: hex64 + "0", base: hex64 + "0", kind: revTooLong},
		{rev: "sha256:" + hex64, base: "sha256:" + hex64, kind: revDigest},
		{rev: "sha512:" + hex64 + hex64, base: "sha512:" + hex64 + hex64, kind: revDigest},
		{rev: "sha256:" + hex40, base: "sha256:" + hex40, kind: revName},
		{rev: "", wantErr: ErrUnknownRef},
		{rev: "~1", wantErr: ErrUnknownRef},
		{rev: "v1^{tree}", wantErr: ErrUnknownRef},
		{rev: "v1^{commit", wantErr: ErrUnknownRef},
		{rev: "v1~1x", wantErr: ErrUnknownRef},
		{rev: "v1^{}0", wantErr: ErrUnknownRef},
		{rev: "v1~99999999999999999999", wantErr: ErrUnknownRef},
	}
	for _, tc := range tests {
		got, err := parseRevision(tc.rev)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("parseRevision(%q) error = %v, want %v", tc.rev, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseRevision(%q): %v", tc.rev, err)
			continue
		}
		if got.base != tc.base || got.kind != tc.kind || !equalOps(got.ops, tc.ops) {
			t.Errorf("parseRevision(%q) = %+v, want base %q kind %d ops %v", tc.rev, got, tc.base, tc.kind, tc.ops)
		}
	}
}

func equalOps(a, b []revOp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestResolveLongHex: hex longer than a hash used to index past the end of
// a 20-byte hash in the commit table's prefix search.
func TestResolveLongHex(t *testing.T) {
	t.Parallel()
	s := newSmallRepo(t)
	r, err := Open(s.dir, WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rev     string
		wantErr error
	}{
		{s.c2 + "0", ErrUnknownRef},
		{s.c2 + s.c2, ErrUnknownRef},
		{s.c2 + s.c2[:24], ErrImageDigest},
		{"sha256:" + s.c2 + s.c2[:24], ErrImageDigest},
	} {
		if _, err := r.Resolve(tc.rev); !errors.Is(err, tc.wantErr) {
			t.Errorf("Resolve(%q) error = %v, want %v", tc.rev, err, tc.wantErr)
		}
	}
	// The commit table itself refuses a prefix it cannot hold.
	tab, err := r.commitTableFor()
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.FindPrefix(s.c2+"0", 2); got != nil {
		t.Errorf("FindPrefix(41 hex) = %v, want nil", got)
	}
}

// FuzzParseRevision checks that no revision text panics the parser or
// Resolve, that the parse agrees with the text, and that Resolve fails only
// with the revision errors the CLI knows how to explain.
//
//	go test ./gitops -run '^$' -fuzz FuzzParseRevision -fuzztime 30s
func FuzzParseRevision(f *testing.F) {
	s := newSmallRepo(f)
	r, err := Open(s.dir, WithCacheDir(f.TempDir()), WithNoFetch(true))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"v1", "HEAD~2", "main^2", "v2^{commit}", "dup", s.c1, s.c1[:7], s.c1 + "0",
		s.c1 + s.c1[:24], "sha256:" + s.c1 + s.c1[:24], "v1~99999999999999999999", "^{", "@~1^0",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rev string) {
		p, err := parseRevision(rev)
		if err == nil {
			if p.base == "" || strings.ContainsAny(p.base, "~^") || !strings.HasPrefix(rev, p.base) {
				t.Fatalf("parseRevision(%q) base = %q", rev, p.base)
			}
			if p.kind != baseKind(p.base) {
				t.Fatalf("parseRevision(%q) kind = %d, want %d", rev, p.kind, baseKind(p.base))
			}
			for _, op := range p.ops {
				if op.n < 0 || op.n > maxRevOp || op.op != '~' && op.op != '^' {
					t.Fatalf("parseRevision(%q) op = %+v", rev, op)
				}
			}
		}
		_, err = r.Resolve(rev)
		if err != nil && !errors.Is(err, ErrUnknownRef) && !errors.Is(err, ErrAmbiguousRef) && !errors.Is(err, ErrImageDigest) {
			t.Fatalf("Resolve(%q) error = %v, not a revision error", rev, err)
		}
	})
}
