// Package registry is the registry tag as a deploy target
// ("host/repo:tag"): what most teams' production pulls. A build is copied
// to the tag by digest (artifacts.Copier: one manifest PUT in the same
// repository, blobs mounted or copied otherwise, referrers and signature
// tags along), as a compare-and-swap against the digest the tag had when
// read; after the move the tag is read once more after a settle, since a
// registry has no conditional write and another writer may follow lkg's.
package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/imageref"
)

// Tag is a registry tag as a deploy target.
type Tag struct {
	ref    imageref.Tag
	copier *artifacts.Copier
	settle time.Duration
}

var _ deploy.Target = (*Tag)(nil)

// DefaultSettle is how long after a move the tag is read once more, when
// New is given no settle of its own.
const DefaultSettle = 500 * time.Millisecond

// New is the tag ref, moved with copier. settle is how long after a move,
// read back at its digest, the tag is read once more to catch another
// writer; 0 skips that read.
func New(copier *artifacts.Copier, ref imageref.Tag, settle time.Duration) *Tag {
	return &Tag{ref: ref, copier: copier, settle: settle}
}

// String is the tag as given: "host/repo:tag".
func (t *Tag) String() string { return t.ref.String() }

// Read is the digest the tag resolves to; the zero State when the tag
// does not exist.
func (t *Tag) Read(ctx context.Context) (deploy.State, error) {
	dg, err := t.copier.TargetDigest(ctx, t.ref.String())
	if err != nil || dg == "" {
		return deploy.State{}, err
	}
	return deploy.State{Image: t.ref.Repo() + "@" + dg, Digest: dg}, nil
}

// StagingRepo is the tag's own repository: a local build is pushed there
// under a staging tag, then the tag is moved to it.
func (t *Tag) StagingRepo(deploy.State) (string, error) { return t.ref.Repo(), nil }

// Prepare plans the copy of b to the tag, against cur: what is copied, and
// that every blob of b is still there (retention may have deleted one
// since find saw the build).
func (t *Tag) Prepare(ctx context.Context, cur deploy.State, b deploy.Build) (*deploy.Plan, error) {
	if b.Local && b.Digest == "" {
		return &deploy.Plan{From: cur, To: b, How: fmt.Sprintf("pushed under %s:lkg-<image id>, then the tag is moved", t.ref.Repo())}, nil
	}
	src := b.Image
	if src == "" {
		src = t.ref.Repo() + "@" + b.Digest
	}
	cp, err := t.copier.Plan(ctx, src, t.ref.String())
	if err != nil {
		return nil, err
	}
	// The swap is against what was read for the plan (and journaled), not
	// what is there by now.
	cp.Previous = cur.Digest
	p := &deploy.Plan{
		From:       cur,
		To:         deploy.Build{Image: t.ref.Repo() + "@" + cp.Digest, Digest: cp.Digest, Restores: b.Restores},
		Referrers:  cp.Referrers,
		CosignTags: cp.CosignTags,
		Own:        cp,
	}
	switch {
	case cp.SameRepo:
		p.How = "same repository: one manifest PUT"
	default:
		p.How = fmt.Sprintf("blobs mounted or copied; %d referrer(s), %d signature tag(s) along", len(cp.Referrers), len(cp.CosignTags))
	}
	if p.Unchanged() {
		return p, nil
	}
	rest, err := t.copier.Restorable(ctx, cp.Source, nil)
	if err != nil {
		return nil, err
	}
	if err := rest.Err(); err != nil {
		return nil, errs.Hinted(err, fmt.Sprintf("Nothing was changed; %s is still at %s. Deploy another build (lkg find lists them), or rebuild with --rebuild", t, orAbsent(cur.Digest)))
	}
	return p, nil
}

// Apply copies the build and moves the tag, if it still holds p.From.
func (t *Tag) Apply(ctx context.Context, p *deploy.Plan) error {
	cp, ok := p.Own.(*artifacts.CopyPlan)
	if !ok {
		return fmt.Errorf("moving %s: the plan is not a registry copy", t)
	}
	return t.copier.Copy(ctx, cp)
}

// Wait reads the tag again after the settle: a writer that moved it
// meanwhile won, and that is said (deploy.ErrOverwritten). Ctrl-C during
// the wait ends it with the context's error; the write stands.
func (t *Tag) Wait(ctx context.Context, p *deploy.Plan) (deploy.State, error) {
	moved := deploy.State{Image: p.To.Image, Digest: p.To.Digest}
	if t.settle <= 0 {
		return moved, nil
	}
	timer := time.NewTimer(t.settle)
	select {
	case <-ctx.Done():
		timer.Stop()
		return moved, ctx.Err()
	case <-timer.C:
	}
	now, err := t.Read(context.WithoutCancel(ctx))
	if err != nil || now.Digest == p.To.Digest {
		return moved, nil // the write was read back already; a failed re-read adds nothing
	}
	return now, fmt.Errorf("%w within %s of this move", deploy.ErrOverwritten, t.settle)
}

func orAbsent(d string) string {
	if d == "" {
		return "(no such tag)"
	}
	return d
}
