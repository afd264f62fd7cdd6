// Package imageref is lkg's one image reference: "host/repo", "host/repo:tag",
// "host/repo@sha256:<hex>" or both, parsed once where a string comes in (a
// flag, a setting, a label, an engine's answer) so that nothing downstream
// splits strings again. It follows the distribution reference grammar that
// go-containerregistry's name package parses (a test holds the two
// together), but imports only the standard library, so that finder, which
// may not import registry code, speaks it too.
package imageref

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid: the string is not an image reference of the form asked for.
// The errors Parse, ParseTag and ParseRepo return match it with errors.Is;
// their text says what is wrong and the form to write, without naming the
// flag (the caller does: "--to " + err).
var ErrInvalid = errors.New("not an image reference")

type invalid struct{ msg string }

func (e *invalid) Error() string        { return e.msg }
func (e *invalid) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalid{fmt.Sprintf(format, args...)}
}

// Ref is a parsed image reference.
type Ref struct {
	repo   string // "host/path", as given (lower case is the grammar's)
	tag    string // "" when none
	digest string // "sha256:<hex>", "" when none
}

// Parse parses "host/repo[:tag][@digest]" loosely: the host may be
// missing (a local engine image name), and so may tag and digest.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, invalidf("empty image reference")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return Ref{}, invalidf("%q has white space", s)
	}
	var r Ref
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		rest, r.digest = rest[:i], rest[i+1:]
		if algo, hex, ok := strings.Cut(r.digest, ":"); !ok || algo == "" || hex == "" {
			return Ref{}, invalidf("%q: the digest is not ALGORITHM:HEX", s)
		}
	}
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		rest, r.tag = rest[:i], rest[i+1:]
		if !validTag(r.tag) {
			return Ref{}, invalidf("%q: bad tag %q", s, r.tag)
		}
	}
	if rest == "" || strings.HasPrefix(rest, "/") || strings.HasSuffix(rest, "/") || strings.Contains(rest, "//") {
		return Ref{}, invalidf("%q: bad repository", s)
	}
	r.repo = rest
	return r, nil
}

// String is the reference as "repo[:tag][@digest]".
func (r Ref) String() string {
	s := r.repo
	if r.tag != "" {
		s += ":" + r.tag
	}
	if r.digest != "" {
		s += "@" + r.digest
	}
	return s
}

// Repo is "host/repo", without tag or digest.
func (r Ref) Repo() string { return r.repo }

// Tag is the tag, "" when none.
func (r Ref) Tag() string { return r.tag }

// Digest is "sha256:<hex>", "" when none.
func (r Ref) Digest() string { return r.digest }

// Host is the registry host ("registry.example.com", "127.0.0.1:5000"),
// "" when the first path component is not one (a local image name, or
// Docker Hub's short form).
func (r Ref) Host() string {
	first, _, ok := strings.Cut(r.repo, "/")
	if !ok {
		return ""
	}
	if strings.ContainsAny(first, ".:") || first == "localhost" || strings.HasPrefix(first, "[") {
		return first
	}
	return ""
}

// At is the build with digest dg in r's repository: "host/repo@dg".
func (r Ref) At(dg string) string { return r.repo + "@" + dg }

// Tag is a registry tag lkg can move: "host/repo:tag", with a host and a
// tag and no digest.
type Tag struct{ Ref }

// ParseTag parses a deploy target's tag, with one line that says what is
// wrong and how it should look.
func ParseTag(s string) (Tag, error) {
	if scheme, rest, ok := strings.Cut(s, "://"); ok && scheme != "" && !strings.ContainsAny(scheme, "/.:") {
		return Tag{}, invalidf("%q is a URL: name the tag without a scheme; write %s", s, rest)
	}
	r, err := Parse(s)
	if err != nil {
		return Tag{}, err
	}
	switch {
	case r.digest != "":
		return Tag{}, invalidf("%q has a digest: lkg moves a tag; want HOST/REPO:TAG, like %s:prod", s, r.repo)
	case strings.HasSuffix(s, ":"):
		return Tag{}, invalidf("%q has an empty tag: want HOST/REPO:TAG, like %sprod", s, s)
	case r.Host() == "":
		return Tag{}, invalidf("%q names no registry host: want HOST/REPO:TAG, like registry.example.com/%s", s, withTag(r))
	case r.tag == "":
		return Tag{}, invalidf("%q has no tag: want HOST/REPO:TAG, like %s:prod", s, s)
	}
	return Tag{r}, nil
}

func withTag(r Ref) string {
	if r.tag == "" {
		return r.repo + ":prod"
	}
	return r.repo + ":" + r.tag
}

// ParseRepo parses an image repository to scan: "host/repo", with a host
// and neither tag nor digest.
func ParseRepo(s string) (Ref, error) {
	if scheme, rest, ok := strings.Cut(s, "://"); ok && scheme != "" && !strings.ContainsAny(scheme, "/.:") {
		r, _ := Parse(rest)
		return Ref{}, invalidf("%q is a URL: name the repository without a scheme; write %s", s, orString(r.repo, rest))
	}
	r, err := Parse(s)
	if err != nil {
		return Ref{}, err
	}
	switch {
	case r.digest != "":
		return Ref{}, invalidf("%q has a digest: --image takes a repository (find reads every tag); write %s", s, r.repo)
	case r.tag != "":
		return Ref{}, invalidf("%q has a tag: --image takes a repository (find reads every tag); write %s", s, r.repo)
	case r.Host() == "":
		return Ref{}, invalidf("%q names no registry host: write HOST/REPO, like registry.example.com/%s (for Docker Hub: docker.io/%s)", s, r.repo, r.repo)
	}
	return r, nil
}

func orString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ValidDigest says d is a sha256 digest as registries and lkg print
// them: "sha256:" and 64 lowercase hex digits.
func ValidDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	return ok && len(hex) == 64 && strings.Trim(hex, "0123456789abcdef") == ""
}

// validTag is the grammar's tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
func validTag(t string) bool {
	if t == "" || len(t) > 128 {
		return t == "" // an empty tag is said by the caller, with the form to use
	}
	for i, c := range t {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}
