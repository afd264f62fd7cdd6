package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrNotRestorable: a build's manifest, config or a layer (of a platform
// that is wanted) is gone from the registry, so copying it by digest would
// fail or leave a tag nobody can pull. Retention rules and garbage
// collection do this to old builds.
var ErrNotRestorable = errors.New("build is not restorable")

// MissingKind is what part of a build is missing.
type MissingKind string

// The kinds of Missing.
const (
	MissingManifest MissingKind = "manifest" // the manifest or index itself, or a platform's child manifest
	MissingConfig   MissingKind = "config"   // an image config blob
	MissingLayer    MissingKind = "layer"    // a layer blob
	MissingPlatform MissingKind = "platform" // the index has no child for a platform production runs
)

// Missing is one part of a build the registry no longer serves.
type Missing struct {
	Kind     MissingKind `json:"kind"`               // MissingManifest, MissingConfig, MissingLayer or MissingPlatform
	Digest   string      `json:"digest,omitempty"`   // "" for MissingPlatform
	Platform string      `json:"platform,omitempty"` // the child's platform, for an index
}

// String names the missing part as a sentence fragment: "layer
// sha256:… of linux/arm64".
func (m Missing) String() string {
	switch {
	case m.Kind == MissingPlatform:
		return fmt.Sprintf("no %s image in the index", m.Platform)
	case m.Platform != "":
		return fmt.Sprintf("%s %s of %s", m.Kind, m.Digest, m.Platform)
	}
	return fmt.Sprintf("%s %s", m.Kind, m.Digest)
}

// Sentence says what is missing as a clause: "layer sha256:… of
// linux/arm64 is gone from the registry", "it has no linux/arm64 image".
func (m Missing) Sentence() string {
	if m.Kind == MissingPlatform {
		return fmt.Sprintf("it has no %s image", m.Platform)
	}
	return m.String() + " is gone from the registry"
}

// Restorability is what Restorable found about one build.
type Restorability struct {
	// Ref is the build, "host/repo@sha256:…".
	Ref string `json:"ref"`
	// Platforms are the platforms checked (every child's, for an index
	// when none were asked for; the image's own, for a single image when
	// some were asked for).
	Platforms []string `json:"platforms"`
	// Checked counts the manifests and blobs that answered.
	Checked int `json:"checked"`
	// Missing is what did not; empty when the build is restorable.
	Missing []Missing `json:"missing"`
}

// OK says every part answered: the build can be copied by digest.
func (r *Restorability) OK() bool { return len(r.Missing) == 0 }

// Err is nil for a restorable build, else an error wrapping
// ErrNotRestorable that names the first missing part.
func (r *Restorability) Err() error {
	if r.OK() {
		return nil
	}
	more := ""
	if len(r.Missing) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(r.Missing)-1)
	}
	return fmt.Errorf("%s: %w: %s%s", r.Ref, ErrNotRestorable, r.Missing[0].Sentence(), more)
}

// Restorable checks that the build ref ("host/repo@sha256:…" or
// "host/repo:tag") could be copied by digest right now: its manifest and,
// for every image in it, the config and every layer answer. Manifests are
// read (GET, verified against their digest by go-containerregistry);
// blobs cost one HEAD each and are never downloaded.
//
// For an index, platforms (like "linux/amd64") are the children that
// matter: a wanted platform without a child is missing, children of other
// platforms are not checked. With no platforms every child is checked. An
// index whose children are gone is not restorable. A single image covers
// its own platform only: any other wanted platform is missing.
//
// A part the registry answers 404 for is Missing; any other failure (an
// unreachable registry, a refused login) is returned as an error, since
// it says nothing about the build.
func (c *Copier) Restorable(ctx context.Context, ref string, platforms []string) (*Restorability, error) {
	r, err := c.parseRef(ref)
	if err != nil {
		return nil, err
	}
	res := &Restorability{Ref: ref, Platforms: []string{}, Missing: []Missing{}}
	desc, err := c.puller.Get(ctx, r)
	if err != nil {
		if isNotFound(err) {
			res.Missing = append(res.Missing, Missing{Kind: MissingManifest, Digest: r.Identifier()})
			return res, nil
		}
		return nil, fmt.Errorf("checking %q: %w", ref, classifyErr(ctx, r, err))
	}
	res.Ref = r.Context().Name() + "@" + desc.Digest.String()
	res.Checked++
	heads, err := c.blobHeader(ctx, r.Context())
	if err != nil {
		return nil, fmt.Errorf("checking %q: %w", ref, classifyErr(ctx, r, err))
	}
	if !desc.MediaType.IsIndex() {
		if err := c.checkImage(ctx, heads, r.Context(), desc.Manifest, "", res); err != nil {
			return nil, err
		}
		if len(platforms) > 0 && res.OK() {
			// One image runs one platform: the others production runs
			// are missing.
			img, err := desc.Image()
			if err != nil {
				return nil, fmt.Errorf("checking %q: %w: %w", ref, ErrMalformed, err)
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				return nil, fmt.Errorf("checking the config of %q: %w", ref, classifyErr(ctx, r, err))
			}
			p := platformString(cfg.Platform())
			res.Platforms = appendUnique(res.Platforms, p)
			for _, want := range platforms {
				if want != p {
					res.Missing = append(res.Missing, Missing{Kind: MissingPlatform, Platform: want})
				}
			}
		}
		return res, nil
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &idx); err != nil {
		return nil, fmt.Errorf("checking %q: %w: index: %w", ref, ErrMalformed, err)
	}
	seen := map[string]bool{}
	for _, child := range idx.Manifests {
		p := platformString(child.Platform)
		if p == "" || p == "unknown/unknown" {
			continue // an attestation or an artifact, not something that runs
		}
		if len(platforms) > 0 && !slices.Contains(platforms, p) {
			continue
		}
		seen[p] = true
		res.Platforms = appendUnique(res.Platforms, p)
		cref := r.Context().Digest(child.Digest.String())
		cdesc, err := c.puller.Get(ctx, cref)
		if err != nil {
			if isNotFound(err) {
				res.Missing = append(res.Missing, Missing{Kind: MissingManifest, Digest: child.Digest.String(), Platform: p})
				continue
			}
			return nil, fmt.Errorf("checking %q: %w", cref, classifyErr(ctx, cref, err))
		}
		res.Checked++
		if err := c.checkImage(ctx, heads, r.Context(), cdesc.Manifest, p, res); err != nil {
			return nil, err
		}
	}
	for _, p := range platforms {
		if !seen[p] {
			res.Missing = append(res.Missing, Missing{Kind: MissingPlatform, Platform: p})
		}
	}
	return res, nil
}

// checkImage HEADs the config and layers of one image manifest.
func (c *Copier) checkImage(ctx context.Context, heads http.RoundTripper, repo name.Repository, manifest []byte, platform string, res *Restorability) error {
	var m v1.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return fmt.Errorf("checking %s: %w: manifest: %w", res.Ref, ErrMalformed, err)
	}
	type blob struct {
		kind MissingKind
		desc v1.Descriptor
	}
	blobs := []blob{{MissingConfig, m.Config}}
	for _, l := range m.Layers {
		if len(l.URLs) > 0 {
			continue // a foreign layer lives elsewhere and is never copied
		}
		blobs = append(blobs, blob{MissingLayer, l})
	}
	for _, b := range blobs {
		ok, err := headBlob(ctx, heads, repo, b.desc.Digest.String())
		if err != nil {
			return fmt.Errorf("checking %s %s of %s: %w", b.kind, b.desc.Digest, res.Ref, classifyErr(ctx, repo.Digest(b.desc.Digest.String()), err))
		}
		if !ok {
			res.Missing = append(res.Missing, Missing{Kind: b.kind, Digest: b.desc.Digest.String(), Platform: platform})
			continue
		}
		res.Checked++
	}
	return nil
}

// blobHeader is an authenticated transport for HEADs on repo's blobs.
func (c *Copier) blobHeader(ctx context.Context, repo name.Repository) (http.RoundTripper, error) {
	auth, err := authn.Resolve(ctx, c.keychain, repo.Registry)
	if err != nil {
		return nil, err
	}
	return transport.NewWithContext(ctx, repo.Registry, auth, c.rt, []string{repo.Scope(transport.PullScope)})
}

// headBlob says whether the registry serves the blob in repo (one HEAD).
func headBlob(ctx context.Context, rt http.RoundTripper, repo name.Repository, digest string) (bool, error) {
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", repo.Registry.Scheme(), repo.RegistryStr(), repo.RepositoryStr(), digest)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return false, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return true, nil
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	}
	return false, transport.CheckError(resp, http.StatusOK)
}

// isNotFound says a registry answered 404 (for a manifest: gone, or never
// there).
func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

// Platforms are the platforms the image at ref runs on: every child's, for
// an index (attestations left out), else the config's os/arch. A tag that
// does not exist has none.
func (c *Copier) Platforms(ctx context.Context, ref string) ([]string, error) {
	r, err := c.parseRef(ref)
	if err != nil {
		return nil, err
	}
	desc, err := c.puller.Get(ctx, r)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %q: %w", ref, classifyErr(ctx, r, err))
	}
	var out []string
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w: %w", ref, ErrMalformed, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w: %w", ref, ErrMalformed, err)
		}
		for _, m := range im.Manifests {
			if p := platformString(m.Platform); p != "" && p != "unknown/unknown" {
				out = appendUnique(out, p)
			}
		}
		return out, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w: %w", ref, ErrMalformed, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config of %q: %w", ref, classifyErr(ctx, r, err))
	}
	if p := platformString(cfg.Platform()); p != "" {
		return []string{p}, nil
	}
	return nil, nil
}

// Tags lists the tags of repo ("host/repo"), for lkg pin --list.
func (c *Copier) Tags(ctx context.Context, repo string) ([]string, error) {
	r, err := c.parseRef(repo + ":latest")
	if err != nil {
		return nil, err
	}
	tags, err := c.puller.List(ctx, r.Context())
	if err != nil {
		return nil, fmt.Errorf("listing tags of %q: %w", repo, classifyErr(ctx, r, err))
	}
	return tags, nil
}
