package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/provenance"
	"github.com/lkg-dev/lkg/types"
)

// How BuildKit marks an attestation manifest in an image index.
const (
	annotationRefType   = "vnd.docker.reference.type"
	annotationRefDigest = "vnd.docker.reference.digest"
	refTypeAttestation  = "attestation-manifest"
	annotationPredicate = "in-toto.io/predicate-type"
)

// mediaTypeEmpty is the OCI 1.1 empty config of an artifact manifest.
const mediaTypeEmpty = "application/vnd.oci.empty.v1+json"

// maxAttestations bounds the signatures and attestations read for one
// build: a registry could attach thousands.
const maxAttestations = 16

// attState is what a Repository learnt about attachments while it ran.
type attState struct {
	mu sync.Mutex
	// tags is the last tag list, to know without a request whether a
	// build has a cosign signature tag or a referrers fallback tag; nil
	// until listed.
	tags map[string]bool
	// noAPI is set once the registry answered that it has no referrers
	// API: its fallback tags, in the tag list, are all there is.
	noAPI bool
}

// listed remembers a tag list.
func (r *Repository) listed(tags []string) {
	m := make(map[string]bool, len(tags)/8)
	for _, t := range tags {
		if strings.HasPrefix(t, "sha256-") {
			m[t] = true
		}
	}
	r.att.mu.Lock()
	r.att.tags = m
	r.att.mu.Unlock()
}

// hasTag says whether the last listing held tag; known is false when the
// repository was not listed.
func (r *Repository) hasTag(tag string) (has, known bool) {
	r.att.mu.Lock()
	defer r.att.mu.Unlock()
	if r.att.tags == nil {
		return false, false
	}
	return r.att.tags[tag], true
}

// readProvenance reads the attestation manifests an index lists for its
// image child (BuildKit's: platform unknown/unknown, annotated with the
// child's digest) and records the revisions their SLSA statements name.
// Manifests and statements are read by digest and cached. A statement that
// does not parse or names another image is a note on the build, not a
// failure: labels and tag names still count.
func (r *Repository) readProvenance(ctx context.Context, img *types.Artifact, descs []v1.Descriptor, child string) error {
	var problems []string
	for _, d := range descs {
		if d.Annotations[annotationRefType] != refTypeAttestation || d.Annotations[annotationRefDigest] != child {
			continue
		}
		b, err := r.manifestByDigest(ctx, d.Digest.String())
		if err != nil {
			if errors.Is(r.classify(ctx, err, false), ErrMalformed) {
				problems = append(problems, fmt.Sprintf("attestation manifest %s: %s", d.Digest, text.OneLine(err)))
				continue
			}
			return fmt.Errorf("reading attestation manifest %s: %w", d.Digest, err)
		}
		var m struct {
			Layers []v1.Descriptor `json:"layers"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			problems = append(problems, fmt.Sprintf("attestation manifest %s: %v", d.Digest, err))
			continue
		}
		for _, l := range m.Layers {
			pt := l.Annotations[annotationPredicate]
			if string(l.MediaType) != provenance.MediaTypeInToto || pt != provenance.SLSAProvenanceV02 && pt != provenance.SLSAProvenanceV1 {
				continue // SBOMs and other statements name no revision
			}
			body, err := r.cachedBlob(ctx, "attestation", l.Digest.String(), func(b []byte) error {
				_, err := provenance.ParseStatement(b)
				return err
			})
			if err != nil {
				if errors.Is(err, provenance.ErrStatement) || errors.Is(r.classify(ctx, err, false), ErrMalformed) {
					problems = append(problems, fmt.Sprintf("provenance %s: %s", l.Digest, text.OneLine(err)))
					continue
				}
				return fmt.Errorf("reading provenance %s: %w", l.Digest, err)
			}
			st, _ := provenance.ParseStatement(body)
			if !st.Names(child) {
				problems = append(problems, fmt.Sprintf("provenance %s is about %s, not the image %s; ignored", l.Digest, strings.Join(st.SubjectDigests(), ", "), child))
				continue
			}
			img.Provenance = append(img.Provenance, st.Revisions()...)
		}
	}
	// Strongest first: a checked source before a hint, whichever layer
	// came first.
	var checked, hints []types.Provenance
	for _, p := range img.Provenance {
		if p.From == types.FromProvenance {
			checked = append(checked, p)
		} else {
			hints = append(hints, p)
		}
	}
	if len(img.Provenance) > 0 {
		img.Provenance = append(checked, hints...)
	}
	img.ProvenanceErr = strings.Join(problems, "; ")
	return nil
}

// cachedBlob is a small blob by digest, from the cache or the registry,
// cached once check accepts it.
func (r *Repository) cachedBlob(ctx context.Context, what, digest string, check func([]byte) error) ([]byte, error) {
	if b, ok := r.cache.Blob(digest); ok {
		if check(b) == nil {
			return b, nil
		}
		r.cache.Drop(digest)
	}
	b, err := r.fetchBlob(ctx, what, digest)
	if err != nil {
		return nil, err
	}
	if err := check(b); err != nil {
		return nil, err
	}
	_ = r.cache.PutBlob(digest, b)
	return b, nil
}

// Attestations reads the signatures and signed attestations attached to
// the build at digest: Sigstore bundles among its OCI referrers (the
// referrers API, or the sha256-<hex> tag a registry without one keeps) and
// legacy cosign signatures and attestations (the sha256-<hex>.sig and
// .att tags). Nothing is verified here; provenance does that.
//
// It costs at most one request for a build with nothing attached: the tag
// list already says whether the signature, attestation and fallback tags
// exist, and a registry that answered once that it has no referrers API is
// not asked again. What is attached is read by digest, and cached.
func (r *Repository) Attestations(ctx context.Context, digest string) ([]types.Attestation, error) {
	if !validDigest(digest) {
		return nil, nil // a local image ID, or junk: nothing can refer to it
	}
	tagBase := strings.Replace(digest, ":", "-", 1)
	var out []types.Attestation
	refs, err := r.referrers(ctx, digest, tagBase)
	if err != nil {
		return nil, fmt.Errorf("listing what refers to %s@%s: %w", r.name, digest, r.classify(ctx, err, false))
	}
	for _, d := range refs {
		if len(out) >= maxAttestations {
			break
		}
		// The artifact type is the manifest's, or its config's media
		// type (some registries give only that): an SBOM or a scan
		// report is skipped unread, an empty config is read to see.
		if at := d.ArtifactType; at != "" && at != mediaTypeEmpty && !strings.HasPrefix(at, provenance.MediaTypeBundle) {
			continue
		}
		atts, err := r.bundles(ctx, d.Digest.String())
		if err != nil {
			return nil, fmt.Errorf("reading referrer %s of %s@%s: %w", d.Digest, r.name, digest, r.classify(ctx, err, false))
		}
		out = append(out, atts...)
	}
	for _, c := range []struct{ suffix, mediaType string }{
		{".sig", provenance.MediaTypeSimpleSigning},
		{".att", provenance.MediaTypeDSSE},
	} {
		tag := tagBase + c.suffix
		if has, known := r.hasTag(tag); has || !known {
			atts, err := r.cosignTag(ctx, tag, c.mediaType)
			if err != nil && !errors.Is(err, ErrTagNotFound) {
				return nil, fmt.Errorf("reading %s:%s: %w", r.name, tag, err)
			}
			out = append(out, atts...)
		}
	}
	return out, nil
}

// referrers lists the descriptors referring to digest.
func (r *Repository) referrers(ctx context.Context, digest, fallback string) ([]v1.Descriptor, error) {
	has, known := r.hasTag(fallback)
	r.att.mu.Lock()
	noAPI := r.att.noAPI
	r.att.mu.Unlock()
	if !has && (noAPI && known) {
		return nil, nil
	}
	if !has {
		descs, ok, err := r.referrersAPI(ctx, digest)
		if err != nil || ok {
			return descs, err
		}
		if known {
			return nil, nil // no API, and no fallback tag in the list
		}
	}
	ref, err := name.NewTag(r.name+":"+fallback, r.nopts...)
	if err != nil {
		return nil, err
	}
	desc, err := r.puller.Get(ctx, ref)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		return nil, err
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &idx); err != nil {
		return nil, fmt.Errorf("%w: referrers tag %s: %w", ErrMalformed, fallback, err)
	}
	return idx.Manifests, nil
}

// referrersAPI asks the registry's referrers API; ok is false when the
// registry has none (404 or 400, per the distribution spec), which is
// remembered.
func (r *Repository) referrersAPI(ctx context.Context, digest string) (_ []v1.Descriptor, ok bool, _ error) {
	// Asked directly, through the repository's authorised transport:
	// go-containerregistry would fall back to the tag on its own, a
	// second request for every build on a registry without the API.
	client, err := r.puller.Client(ctx)
	if err != nil {
		return nil, false, err
	}
	u := url.URL{Scheme: r.repo.Scheme(), Host: r.repo.RegistryStr(), Path: "/v2/" + r.repo.RepositoryStr() + "/referrers/" + digest}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", string(ggcrtypes.OCIImageIndex))
	resp, err := client.RoundTrip(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotAcceptable ||
		resp.StatusCode == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), string(ggcrtypes.OCIImageIndex)) {
		r.att.mu.Lock()
		r.att.noAPI = true
		r.att.mu.Unlock()
		return nil, false, nil
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, false, err
	}
	var idx v1.IndexManifest
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxConfigSize)).Decode(&idx); err != nil {
		return nil, false, fmt.Errorf("%w: referrers of %s: %w", ErrMalformed, digest, err)
	}
	return idx.Manifests, true, nil
}

// layered is the part of a manifest attachments are read from.
type layered struct {
	ArtifactType string          `json:"artifactType"`
	Layers       []v1.Descriptor `json:"layers"`
}

// bundles reads the Sigstore bundles in one referrer manifest.
func (r *Repository) bundles(ctx context.Context, digest string) ([]types.Attestation, error) {
	b, err := r.manifestByDigest(ctx, digest)
	if err != nil {
		return nil, err
	}
	var m layered
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var out []types.Attestation
	for _, l := range m.Layers {
		if !strings.HasPrefix(string(l.MediaType), provenance.MediaTypeBundle) {
			continue
		}
		body, err := r.cachedBlob(ctx, "bundle", l.Digest.String(), func([]byte) error { return nil })
		if err != nil {
			return nil, err
		}
		out = append(out, types.Attestation{Where: "referrer " + digest, MediaType: string(l.MediaType), Bundle: body})
	}
	return out, nil
}

// cosignTag reads cosign's signature (.sig) or attestation (.att) tag:
// one layer of mediaType per signature, the signed payload (or DSSE
// envelope) its blob, the signature, certificate and Rekor entry its
// annotations. The tag moves as signatures are added, so its manifest is
// read each time; the payloads are cached by digest.
func (r *Repository) cosignTag(ctx context.Context, tag, mediaType string) ([]types.Attestation, error) {
	ref, err := name.NewTag(r.name+":"+tag, r.nopts...)
	if err != nil {
		return nil, err
	}
	desc, err := r.puller.Get(ctx, ref)
	if err != nil {
		return nil, r.classify(ctx, err, false)
	}
	var m layered
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var out []types.Attestation
	for _, l := range m.Layers {
		// An attestation larger than a config is an SBOM or a scan
		// report, not what says where the build came from: left unread.
		if string(l.MediaType) != mediaType || l.Size > maxConfigSize || len(out) >= maxAttestations {
			continue
		}
		payload, err := r.cachedBlob(ctx, "signature payload", l.Digest.String(), func([]byte) error { return nil })
		if err != nil {
			return nil, r.classify(ctx, err, false)
		}
		out = append(out, types.Attestation{Where: "tag " + tag, MediaType: string(l.MediaType), Payload: payload, Annotations: l.Annotations})
	}
	return out, nil
}
