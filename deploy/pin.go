package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/types"
)

// ErrPinElsewhere: a pin tag already exists and points at another build;
// Pin leaves it alone unless forced.
var ErrPinElsewhere = errors.New("pin tag points elsewhere")

// PinStatus is what Pin did for one good tag.
type PinStatus string

// What Pin did for one good tag: PinResult.Status.
const (
	PinCreated    PinStatus = "pinned"         // the pin tag did not exist and now holds the build
	PinUnchanged  PinStatus = "unchanged"      // it already held the build
	PinMoved      PinStatus = "moved"          // it held another build and was moved (forced)
	PinRefused    PinStatus = "refused"        // it holds another build; left alone
	PinNoBuild    PinStatus = "no-build"       // find found no registry build of the tag
	PinNotRestore PinStatus = "not-restorable" // the build's blobs are gone: pinning it would keep nothing
	PinDryRun     PinStatus = "dry-run"        // would be pinned or moved; nothing changed
)

// PinResult is one good tag's pin.
type PinResult struct {
	GoodTag  string    `json:"good_tag"`
	Pin      string    `json:"pin"`      // "host/repo:lkg-keep-<tag>"; "" without a build
	Build    string    `json:"build"`    // the build's image
	Digest   string    `json:"digest"`   // the build's digest
	Previous string    `json:"previous"` // what the pin tag held before; "" when it did not exist
	Status   PinStatus `json:"status"`
	Error    string    `json:"error,omitempty"`
}

// PinOption configures Pin.
type PinOption func(*pinOptions)

type pinOptions struct {
	force  bool
	dryRun bool
}

// WithForce moves a pin tag that points at another build. The default is
// false: such a tag is refused, with both digests named.
func WithForce(force bool) PinOption { return func(o *pinOptions) { o.force = force } }

// WithPinDryRun decides and changes nothing. The default is false.
func WithPinDryRun(dryRun bool) PinOption { return func(o *pinOptions) { o.dryRun = dryRun } }

// Pin tags the best registry build of each known-good tag in res under
// pinTag(good tag) in the build's own repository, by digest (one manifest
// PUT; nothing is pulled), so a retention rule that keeps that prefix keeps
// the way back. It is idempotent. A pin tag that exists and points at
// another build is left alone (status PinRefused, and the returned error
// wraps ErrPinElsewhere naming both digests) unless WithForce.
//
// Every good tag is tried; the error joins the refusals and failures.
func Pin(ctx context.Context, copier *artifacts.Copier, res finder.Result, pinTag func(goodTag string) string, opts ...PinOption) ([]PinResult, error) {
	var o pinOptions
	for _, opt := range opts {
		opt(&o)
	}
	out := []PinResult{}
	var errs []error
	for _, g := range res.Good {
		r := PinResult{GoodTag: g.Tag, Status: PinNoBuild}
		i := slices.IndexFunc(res.Builds, func(b finder.Build) bool {
			return b.GoodTag == g.Tag && b.Source == types.SourceRegistry
		})
		if i < 0 {
			out = append(out, r)
			continue
		}
		b := res.Builds[i]
		r.Pin, r.Build, r.Digest = b.Repo+":"+pinTag(g.Tag), b.Image, b.Digest
		err := pinOne(ctx, copier, &r, b, o)
		if err != nil {
			r.Error = oneLine(err)
			errs = append(errs, err)
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

func pinOne(ctx context.Context, copier *artifacts.Copier, r *PinResult, b finder.Build, o pinOptions) error {
	plan, err := copier.Plan(ctx, b.Repo+"@"+b.Digest, r.Pin)
	if err != nil {
		r.Status = PinRefused
		return fmt.Errorf("pinning %s: %w", r.GoodTag, err)
	}
	r.Previous = plan.Previous
	switch {
	case plan.Previous == plan.Digest:
		r.Status = PinUnchanged
		return nil
	case plan.Previous != "" && !o.force:
		r.Status = PinRefused
		return fmt.Errorf("%s points at %s, not at %s (the best build of %s); left alone: %w. Run again with --force to move it",
			r.Pin, plan.Previous, plan.Digest, r.GoodTag, ErrPinElsewhere)
	}
	rest, err := copier.Restorable(ctx, plan.Source, nil)
	if err != nil {
		r.Status = PinRefused
		return fmt.Errorf("pinning %s: %w", r.GoodTag, err)
	}
	if err := rest.Err(); err != nil {
		r.Status = PinNotRestore
		return fmt.Errorf("pinning %s: %w", r.GoodTag, err)
	}
	if o.dryRun {
		r.Status = PinDryRun
		return nil
	}
	if err := copier.Copy(ctx, plan); err != nil {
		r.Status = PinRefused
		return fmt.Errorf("pinning %s: %w", r.GoodTag, err)
	}
	r.Status = PinCreated
	if plan.Previous != "" {
		r.Status = PinMoved
	}
	return nil
}

// Pinned is one pin tag found by ListPins.
type Pinned struct {
	Pin     string `json:"pin"`      // "host/repo:lkg-keep-<tag>"
	GoodTag string `json:"good_tag"` // the tag the pin names (as the pin spells it)
	Digest  string `json:"digest"`
}

// ListPins lists the tags of repos that pinTag's pattern could have made:
// pattern is the pin pattern, "{tag}" standing for the good tag.
func ListPins(ctx context.Context, copier *artifacts.Copier, repos []string, pattern string) ([]Pinned, error) {
	prefix, suffix, _ := strings.Cut(pattern, "{tag}")
	out := []Pinned{}
	for _, repo := range repos {
		tags, err := copier.Tags(ctx, repo)
		if err != nil {
			return nil, err
		}
		slices.Sort(tags)
		for _, t := range tags {
			if len(t) <= len(prefix)+len(suffix) || !strings.HasPrefix(t, prefix) || !strings.HasSuffix(t, suffix) {
				continue
			}
			d, err := copier.TargetDigest(ctx, repo+":"+t)
			if err != nil {
				return nil, err
			}
			out = append(out, Pinned{Pin: repo + ":" + t, GoodTag: strings.TrimSuffix(strings.TrimPrefix(t, prefix), suffix), Digest: d})
		}
	}
	return out, nil
}
