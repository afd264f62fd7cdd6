package finder

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lkg-dev/lkg/types"
)

// ErrNotVerified: a build's signatures did not verify under the trust
// policy (or none was given) while one was required. RequireVerified wraps
// it.
var ErrNotVerified = errors.New("not verified")

// RequireVerified returns nil when b's signatures verified under the trust
// policy and nothing it records contradicts them; otherwise an error
// wrapping ErrNotVerified whose text is the one line to show: the build,
// its trust state and why, and what the policy accepts. lkg deploy
// --require-signed (and trust: require: true) refuses a build with it.
func RequireVerified(b *Build) error {
	if b == nil {
		return nil
	}
	at := b.Image + "@" + b.Digest
	t := b.Trust
	switch {
	case t == nil:
		return fmt.Errorf("%s is %w: no trust policy was given, so no signature was checked; name the keys or identities to trust (trust: in .lkg.yaml, --trust-key, --trusted-root)", at, ErrNotVerified)
	case t.State == types.TrustVerified && b.Conflict != "":
		return fmt.Errorf("%s is %w: %s", at, ErrNotVerified, b.Conflict)
	case t.State == types.TrustVerified:
		return nil
	}
	why := t.Reason
	if why == "" {
		why = string(t.State)
	}
	return fmt.Errorf("%s is %w (%s: %s); checked %s", at, ErrNotVerified, t.State, why, t.Checked)
}

// checkTrust reads and verifies the signatures of every registry build
// that could be the answer (see couldBeAnswer), at most workers at once,
// then looks up the revisions verified attestations name.
func (s *scan) checkTrust(ctx context.Context, regs []Registry, evs []*evidence, workers int) error {
	type job struct {
		e   *evidence
		reg Attested
	}
	var jobs []job
	for _, e := range evs {
		if e.reg < 0 || e.art.Digest == "" {
			continue
		}
		a, ok := regs[e.reg].(Attested)
		if ok && s.couldBeAnswer(e) {
			jobs = append(jobs, job{e, a})
		}
	}
	verdicts := make([]types.Trust, len(jobs))
	slots := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-slots }()
			atts, err := j.reg.Attestations(ctx, j.e.art.Digest)
			if err != nil {
				// Unread is not unsigned: say so, and never let it pass
				// a requirement.
				t := s.trust.Verify(j.e.art.Digest, nil)
				t.State, t.Reason = types.TrustFailed, "signatures could not be read: "+oneLine(err)
				verdicts[i] = t
				return
			}
			verdicts[i] = s.trust.Verify(j.e.art.Digest, atts)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, j := range jobs {
		t := verdicts[i]
		j.e.trust = &t
		if t.State == types.TrustVerified && t.Revision != "" {
			s.wantBuilt(t.Revision, j.e.art.Created)
		}
	}
	return s.lookup(ctx)
}

// couldBeAnswer says whether a build could match a good: something it
// records (provenance, a label, the annotation, a tag name) resolves to a
// good commit or tree, or nothing it records resolves at all (a signed
// attestation may be the only place its revision is, or its tag name may
// match). Only such builds have their signatures read.
func (s *scan) couldBeAnswer(e *evidence) bool {
	resolved := false
	check := func(rev string) bool {
		c, st := s.resolve(rev)
		if st != revResolved {
			return false
		}
		resolved = true
		return s.fits(c)
	}
	for _, r := range artifactRevisions(e.art) {
		if hex, _ := StripDirty(r.value); !r.junk && check(hex) {
			return true
		}
	}
	for _, t := range e.tags {
		if n := s.parseTag(localTag(t)); n.rev != "" && check(n.rev) {
			return true
		}
	}
	return !resolved
}

// disagreement compares the revision a build records first (rev, from
// recs[0]) with the others when the first is provenance: a label or
// annotation naming another commit than unsigned provenance is a warning
// (the provenance wins); anything naming another commit than a verified
// signed attestation is a conflict, returned to flag the build. Labels
// disagreeing among themselves are not compared, as before provenance.
func (s *scan) disagreement(label, rev string, c types.Commit, st revState, recs []recorded) string {
	if len(recs) < 2 {
		return ""
	}
	first := recs[0]
	switch first.from {
	case types.FromSigned, types.FromProvenance, types.FromProvenanceHint:
	default:
		return ""
	}
	for _, r := range recs[1:] {
		if r.from == first.from {
			continue
		}
		hex, _ := StripDirty(r.value)
		rc, rst := s.resolve(hex)
		if sameRevision(rev, c, st, hex, rc, rst) {
			continue
		}
		if first.from == types.FromSigned {
			return fmt.Sprintf("%s names revision %s, but its signed attestation names %s", r.where, hex, rev)
		}
		s.warnf("image %s: %s records revision %s but %s names %s; the provenance wins", label, first.where, rev, r.where, hex)
		return ""
	}
	return ""
}

// oneLine is err's text on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
