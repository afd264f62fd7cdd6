package finder

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/lkg-dev/lkg/types"
)

// ErrBadTagPattern: a tag pattern does not compile or has no named group
// "rev". The CLI reports it as a configuration error (exit 2).
var ErrBadTagPattern = errors.New("bad tag pattern")

// DirtySuffix marks a revision built from a tree with uncommitted changes.
const DirtySuffix = "-dirty"

// DefaultTagPatterns are the tag-name patterns used when none are configured:
// "sha-<7..40 hex>", a bare 40-hex tag and "<anything>-<7..40 hex>", each
// optionally followed by "-dirty". The first pattern that matches a tag wins.
//
// The last one also matches names such as "release-20261101" (a date is
// hex); Find treats a short revision that does not resolve as a name that
// says nothing, so such tags are inspected rather than reported.
var DefaultTagPatterns = []string{
	`^sha-(?P<rev>[0-9a-f]{7,40})(?:-dirty)?$`,
	`^(?P<rev>[0-9a-f]{40})(?:-dirty)?$`,
	`^.+-(?P<rev>[0-9a-f]{7,40})(?:-dirty)?$`,
}

// Label and annotation keys that record a build's revision, in the order
// they are trusted. The annotation uses LabelOCIRevision.
const (
	LabelOCIRevision    = "org.opencontainers.image.revision"
	LabelLabelSchemaVCS = "org.label-schema.vcs-ref"
	LabelVCSRef         = "vcs-ref"
)

const (
	minRevisionLen     = 7
	fullRevisionLen    = 40
	revisionGroupName  = "rev"
	signatureTagPrefix = "sha256-" // cosign names its tags after the digest
	signatureTagHexLen = 64
)

var defaultTagRegexps = mustCompile(DefaultTagPatterns)

func mustCompile(pats []string) []*regexp.Regexp {
	res, err := CompileTagPatterns(pats)
	if err != nil {
		panic(err)
	}
	return res
}

// CompileTagPatterns compiles tag-name patterns. Each must be a valid regular
// expression with a named group "rev" capturing the hex revision; otherwise
// the error wraps ErrBadTagPattern and quotes the pattern. An empty list
// compiles DefaultTagPatterns, so a missing setting means the defaults.
func CompileTagPatterns(pats []string) ([]*regexp.Regexp, error) {
	if len(pats) == 0 {
		pats = DefaultTagPatterns
	}
	res := make([]*regexp.Regexp, 0, len(pats))
	for _, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrBadTagPattern, p, err)
		}
		if re.SubexpIndex(revisionGroupName) < 0 {
			return nil, fmt.Errorf("%w %q: no named group (?P<rev>...) for the revision", ErrBadTagPattern, p)
		}
		res = append(res, re)
	}
	return res, nil
}

// RevisionFromTag extracts the revision a tag name records, using the first
// pattern that matches (nil pats: DefaultTagPatterns). The revision is
// lower-case hex, with DirtySuffix kept when the tag carries it right after
// the revision; see StripDirty. ok is false when no pattern matches or the
// captured text is not a plausible revision.
func RevisionFromTag(tag string, pats []*regexp.Regexp) (rev string, ok bool) {
	if pats == nil {
		pats = defaultTagRegexps
	}
	for _, re := range pats {
		m := re.FindStringSubmatchIndex(tag)
		if m == nil {
			continue
		}
		i := re.SubexpIndex(revisionGroupName)
		start, end := m[2*i], m[2*i+1]
		if start < 0 {
			continue // the group is optional in this pattern and did not take part
		}
		hex, dirty := StripDirty(strings.ToLower(tag[start:end]))
		if !isRevision(hex) {
			continue
		}
		if dirty || strings.HasPrefix(tag[end:], DirtySuffix) {
			return hex + DirtySuffix, true
		}
		return hex, true
	}
	return "", false
}

// StripDirty removes DirtySuffix from a recorded revision and says whether it
// was there: the build matches on the commit, but its tree had changes.
func StripDirty(rev string) (hex string, dirty bool) {
	hex, dirty = strings.CutSuffix(rev, DirtySuffix)
	return hex, dirty
}

// revisionKeys are the label keys checked, in order; the annotation is
// checked after them.
var revisionKeys = []string{LabelOCIRevision, LabelLabelSchemaVCS, LabelVCSRef}

// recorded is one revision an artifact records under one key.
type recorded struct {
	value string // lower-case, trimmed; DirtySuffix kept
	where string // "label K" or "annotation K"
	junk  bool   // not 7..40 hex after stripping DirtySuffix
	from  types.RevisionFrom
}

// artifactRevisions lists every non-empty revision an artifact records, in
// the order they are trusted (unsigned provenance, labels, the
// annotation), junk included so each can be warned about.
func artifactRevisions(a types.Artifact) []recorded {
	var out []recorded
	add := func(where, v string) {
		v = strings.ToLower(strings.TrimSpace(v))
		if v == "" {
			return // an empty label is common in templates and says nothing
		}
		hex, _ := StripDirty(v)
		from := types.FromLabel
		if strings.HasPrefix(where, "annotation") {
			from = types.FromAnnotation
		}
		out = append(out, recorded{value: v, where: where, junk: !isRevision(hex), from: from})
	}
	// Provenance first: BuildKit wrote it from the source it built.
	for _, p := range a.Provenance {
		hex := strings.ToLower(p.Revision)
		out = append(out, recorded{value: hex, where: "provenance (" + p.Where + ")", junk: !isRevision(hex), from: p.From})
	}
	for _, k := range revisionKeys {
		add("label "+k, a.Labels[k])
	}
	add("annotation "+LabelOCIRevision, a.Annotations[LabelOCIRevision])
	return out
}

// RevisionFromArtifact returns the revision an artifact's provenance,
// labels or annotations record, checking BuildKit provenance (the checked
// git source, then the .git hint), labels org.opencontainers.image.revision,
// org.label-schema.vcs-ref and vcs-ref, then the annotation
// org.opencontainers.image.revision. where names the key ("label K" or
// "annotation K"). The revision is lower-case hex, DirtySuffix kept.
//
// Three outcomes: ok with a revision; not ok with where set, when the only
// values recorded are junk (rev is then the first junk value, for a warning
// "label X has junk value Y"); not ok with where empty, when nothing is
// recorded. A junk value under an earlier key does not hide a good one
// under a later key.
func RevisionFromArtifact(a types.Artifact) (rev, where string, ok bool) {
	all := artifactRevisions(a)
	for _, r := range all {
		if !r.junk {
			return r.value, r.where, true
		}
	}
	if len(all) > 0 {
		return all[0].value, all[0].where, false
	}
	return "", "", false
}

// isRevision reports whether s is 7..40 lower-case hex digits.
func isRevision(s string) bool {
	if len(s) < minRevisionLen || len(s) > fullRevisionLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isSignatureTag reports whether a tag is cosign's signature, attestation or
// SBOM tag ("sha256-<64 hex>.sig"), or the referrers fallback tag
// ("sha256-<64 hex>") a registry without the referrers API keeps. Those are
// evidence attached to a build, not builds, so reading them would only
// cost requests.
func isSignatureTag(tag string) bool {
	rest, ok := strings.CutPrefix(tag, signatureTagPrefix)
	if !ok || len(rest) < signatureTagHexLen {
		return false
	}
	hex, suffix := rest[:signatureTagHexLen], rest[signatureTagHexLen:]
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	switch suffix {
	case "", ".sig", ".att", ".sbom":
		return true
	}
	return false
}
