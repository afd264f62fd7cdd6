package artifacts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors of a copy, matched with errors.Is.
var (
	// ErrTargetMoved: the target tag no longer points where it did when
	// the copy was planned: someone else deployed meanwhile, before lkg's
	// write or while a write of lkg's that failed was in flight. The tag
	// is left where they put it; the error names their digest.
	ErrTargetMoved = errors.New("target tag moved since the plan")
	// ErrDigestMismatch: after the move, the target tag does not resolve to
	// the digest that was put there (a registry rewriting manifests, or a
	// concurrent push that won the race).
	ErrDigestMismatch = errors.New("target does not resolve to the expected digest")
)

// CopyPlan is what Copy will do, as Plan found it. Nothing has changed
// when a plan exists; Copy carries it out.
type CopyPlan struct {
	// Source is "host/repo@sha256:..." (a tag given to Plan is pinned to
	// its digest, so the copy cannot pick up a later push).
	Source string
	// Target is "host/repo:tag".
	Target string
	// Digest is the manifest or index digest the target will resolve to.
	Digest string
	// MediaType is the source manifest's media type.
	MediaType string
	// Previous is the target's digest when planned; "" when the tag did not
	// exist. Copy aborts with ErrTargetMoved if it changed.
	Previous string
	// SameRepo says source and target are one repository: the move is a
	// single manifest PUT and everything else is already there.
	SameRepo bool
	// Referrers are the digests of manifests that refer to Digest (OCI
	// referrers API, or its fallback tag), copied along to another
	// repository.
	Referrers []string
	// CosignTags are cosign's "sha256-<hex>.sig", ".att" and ".sbom" tags
	// for Digest found in the source repository, copied along.
	CosignTags []string
}

// Copier copies images by digest between repositories and registries.
// It is safe for concurrent use.
type Copier struct {
	puller   *remote.Puller
	pusher   *remote.Pusher
	ropts    []remote.Option
	insecure hostSet

	// keychain and rt authenticate the blob HEADs of Restorable and the
	// tag's own PUT, which go-containerregistry has no call for; rt also
	// waits between two writes of the tag.
	keychain authn.Keychain
	rt       *retryTransport
}

// NewCopier returns a Copier using the same keychain, transport, timeout
// and retry options as NewRepository (WithKeychain, WithTransport,
// WithTimeout, WithRetry, WithJobs, WithUserAgent). Only the default
// timeout differs: 10 minutes per request, because one request here may
// carry a whole layer.
func NewCopier(opts ...Option) (*Copier, error) {
	o := newOptions(opts, 10*time.Minute, 4)
	if o.err != nil {
		return nil, fmt.Errorf("preparing registry client: %w", o.err)
	}
	rt, ropts := o.remote()
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, fmt.Errorf("preparing registry client: %w", err)
	}
	pusher, err := remote.NewPusher(append(ropts, remote.Reuse(puller))...)
	if err != nil {
		return nil, fmt.Errorf("preparing registry client: %w", err)
	}
	return &Copier{puller: puller, pusher: pusher, ropts: ropts, insecure: o.insecure, keychain: o.keychain, rt: rt}, nil
}

// parseRef parses an image reference, over plain HTTP for a registry on
// this machine or named insecure, as NewRepository does.
func (c *Copier) parseRef(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref, c.insecure.nameOptions(ref)...)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", ref, err)
	}
	return r, nil
}

// parseTarget parses "host/repo:tag"; a digest or a missing tag is refused,
// since only a tag can be moved.
func (c *Copier) parseTarget(target string) (name.Tag, error) {
	r, err := c.parseRef(target)
	if err != nil {
		return name.Tag{}, err
	}
	t, ok := r.(name.Tag)
	if !ok || !strings.HasSuffix(target, ":"+t.TagStr()) {
		return name.Tag{}, fmt.Errorf("parsing target %q: want host/repo:tag", target)
	}
	return t, nil
}

// TargetDigest is the digest the tag target ("host/repo:tag") resolves to,
// or "" when the tag does not exist. It costs one HEAD.
func (c *Copier) TargetDigest(ctx context.Context, target string) (string, error) {
	t, err := c.parseTarget(target)
	if err != nil {
		return "", err
	}
	return c.headDigest(ctx, t)
}

func (c *Copier) headDigest(ctx context.Context, ref name.Reference) (string, error) {
	desc, err := c.puller.Head(ctx, ref)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return "", nil
		}
		return "", fmt.Errorf("reading %q: %w", ref, classifyErr(ctx, ref, err))
	}
	return desc.Digest.String(), nil
}

// cosignSuffixes are the tag suffixes cosign stores signatures,
// attestations and SBOMs under, next to the image.
var cosignSuffixes = []string{".sig", ".att", ".sbom"}

var hexDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Plan resolves source ("host/repo:tag" or "host/repo@sha256:...") to its
// digest, reads where target ("host/repo:tag") points now, and finds the
// signatures and attestations that must come along. It changes nothing.
func (c *Copier) Plan(ctx context.Context, source, target string) (*CopyPlan, error) {
	src, err := c.parseRef(source)
	if err != nil {
		return nil, err
	}
	dst, err := c.parseTarget(target)
	if err != nil {
		return nil, err
	}
	desc, err := c.puller.Head(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("reading source %q: %w", source, classifyErr(ctx, src, err))
	}
	digest := desc.Digest.String()
	if !hexDigest.MatchString(digest) {
		return nil, fmt.Errorf("reading source %q: unsupported digest %s", source, digest)
	}
	prev, err := c.headDigest(ctx, dst)
	if err != nil {
		return nil, err
	}
	p := &CopyPlan{
		Source:    src.Context().Name() + "@" + digest,
		Target:    dst.Name(),
		Digest:    digest,
		MediaType: string(desc.MediaType),
		Previous:  prev,
		SameRepo:  src.Context().Name() == dst.Context().Name(),
	}
	if p.SameRepo {
		return p, nil
	}
	srcDigest := src.Context().Digest(digest)
	idx, err := remote.Referrers(srcDigest, append(c.ropts, remote.WithContext(ctx))...)
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %q: %w", p.Source, classifyErr(ctx, src, err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %q: %w: %w", p.Source, ErrMalformed, err)
	}
	for _, d := range im.Manifests {
		p.Referrers = append(p.Referrers, d.Digest.String())
	}
	sort.Strings(p.Referrers)
	tags, err := c.puller.List(ctx, src.Context())
	if err != nil {
		return nil, fmt.Errorf("listing tags of %q: %w", src.Context().Name(), classifyErr(ctx, src, err))
	}
	base := strings.Replace(digest, ":", "-", 1)
	for _, t := range tags {
		for _, s := range cosignSuffixes {
			if t == base+s {
				p.CosignTags = append(p.CosignTags, t)
			}
		}
	}
	sort.Strings(p.CosignTags)
	return p, nil
}

// Copy carries out plan: it writes the image (or the whole index, every
// platform), its referrers and its cosign tags into the target repository
// by digest, then moves the target tag with a compare-and-swap (moveTag),
// then reads it back and requires plan.Digest. Until the tag's PUT the
// target tag is untouched, so a failure or a cancel before it leaves the
// target where it was; after it, an error may come with a tag that did
// move (a write whose answer was lost), so a caller reads the target back.
func (c *Copier) Copy(ctx context.Context, plan *CopyPlan) error {
	src, err := c.parseRef(plan.Source)
	if err != nil {
		return err
	}
	dst, err := c.parseTarget(plan.Target)
	if err != nil {
		return err
	}
	desc, err := c.puller.Get(ctx, src)
	if err != nil {
		return fmt.Errorf("reading source %q: %w", plan.Source, classifyErr(ctx, src, err))
	}
	if got := desc.Digest.String(); got != plan.Digest {
		return fmt.Errorf("reading source %q: %w: got %s, planned %s", plan.Source, ErrDigestMismatch, got, plan.Digest)
	}
	if !plan.SameRepo {
		// Blobs are mounted from the source repository when both live on
		// one registry, streamed across otherwise.
		if err := c.pusher.Push(ctx, dst.Context().Digest(plan.Digest), desc); err != nil {
			return fmt.Errorf("copying %q to %q: %w", plan.Source, dst.Context().Name(), classifyErr(ctx, dst, err))
		}
		for _, r := range plan.Referrers {
			if err := c.copyManifest(ctx, src.Context().Digest(r), dst.Context().Digest(r)); err != nil {
				return err
			}
		}
		for _, t := range plan.CosignTags {
			if err := c.copyManifest(ctx, src.Context().Tag(t), dst.Context().Tag(t)); err != nil {
				return err
			}
		}
	}
	if err := c.moveTag(ctx, dst, desc, plan.Previous); err != nil {
		return err
	}
	// The read-back must not be cancelled half-way: the caller records
	// its answer, and Ctrl-C after the PUT should not hide where the tag is.
	got, err := c.headDigest(context.WithoutCancel(ctx), dst)
	if err != nil {
		return fmt.Errorf("reading back %q: %w", plan.Target, err)
	}
	if got != plan.Digest {
		return fmt.Errorf("reading back %q: %w: want %s, got %s", plan.Target, ErrDigestMismatch, plan.Digest, orNone(got))
	}
	return nil
}

// copyManifest copies one manifest (and what it refers to) from src to dst.
// A tag (cosign's, which cosign rewrites in place to add a signature) is
// written as the target tag is: the manifest by digest first, then the tag
// under a compare-and-swap against where it is right before (moveTag).
func (c *Copier) copyManifest(ctx context.Context, src, dst name.Reference) error {
	d, err := c.puller.Get(ctx, src)
	if err != nil {
		return fmt.Errorf("reading %q: %w", src, classifyErr(ctx, src, err))
	}
	t, isTag := dst.(name.Tag)
	if isTag {
		dst = t.Context().Digest(d.Digest.String())
	}
	if err := c.pusher.Push(ctx, dst, d); err != nil {
		return fmt.Errorf("copying %q to %q: %w", src, dst, classifyErr(ctx, dst, err))
	}
	if !isTag {
		return nil
	}
	prev, err := c.headDigest(ctx, t)
	if err != nil || prev == d.Digest.String() {
		return err
	}
	var lost *answerLostError
	if err := c.moveTag(ctx, t, d, prev); err != nil && !errors.As(err, &lost) {
		return err
	}
	return nil
}

// maxTagWrites bounds the PUTs of one tag in one Copy: the write, and one
// more when the first failed in a way a second try may cure and the tag
// was read still where it was before.
const maxTagWrites = 2

// moveTag points the tag dst at desc under a compare-and-swap: the tag is
// read right before each PUT and must hold prev ("" for no tag).
// Registries have no conditional write, and a PUT that failed may have
// landed, or another writer may have moved the tag while lkg waited out a
// Retry-After; so a failed PUT is never sent again blindly (the transport
// does not retry it either). The tag is read first: at desc's digest, the
// write landed, and moveTag returns its failure all the same (the caller
// reads the tag back and records both, as deploy does); at prev, after a
// throttle, a 5xx or a reset, it is written once more after the
// registry's Retry-After (capped by WithRetry's longest wait) and another
// read; anywhere else, another writer moved it and moveTag fails with
// ErrTargetMoved, naming their digest. WithRetry(1, …) allows no second
// write.
func (c *Copier) moveTag(ctx context.Context, dst name.Tag, desc *remote.Descriptor, prev string) error {
	target, digest := dst.Name(), desc.Digest.String()
	cur, err := c.headDigest(ctx, dst)
	if err != nil {
		return err
	}
	if cur != prev {
		return fmt.Errorf("moving %q: %w: it was %s when planned, now %s", target, ErrTargetMoved, orNone(prev), orNone(cur))
	}
	put, err := c.tagPutter(ctx, dst)
	if err != nil {
		return fmt.Errorf("moving %q to %s: %w", target, digest, classifyErr(ctx, dst, err))
	}
	for n := 1; ; n++ {
		failed := c.putTag(ctx, put, dst, desc)
		if failed == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("moving %q to %s: %w", target, digest, classifyErr(ctx, dst, failed))
		}
		failed.again = failed.again && n < maxTagWrites && c.rt.attempts > 1
		// Read where the tag is now, and again after the wait: another
		// writer may move it during either.
		for _, wait := range []bool{false, true} {
			if wait {
				if !failed.again {
					again := ""
					if n > 1 {
						again = ", on the second write too"
					}
					return fmt.Errorf("moving %q to %s: %w%s", target, digest, classifyErr(ctx, dst, failed), again)
				}
				if err := c.rt.sleep(ctx, failed.wait); err != nil {
					return fmt.Errorf("moving %q to %s: %w", target, digest, err)
				}
			}
			cur, err := c.headDigest(ctx, dst)
			switch {
			case err != nil:
				return fmt.Errorf("moving %q to %s: %w; then %w", target, digest, failed, err)
			case cur == digest:
				return &answerLostError{fmt.Errorf("moving %q to %s: %w", target, digest, classifyErr(ctx, dst, failed))}
			case cur != prev:
				return fmt.Errorf("moving %q: %w: it now holds %s (%s when planned), so lkg did not write again after %s",
					target, ErrTargetMoved, orNone(cur), orNone(prev), failed)
			}
		}
	}
}

// answerLostError is a tag's write that failed but landed: a read found
// the tag at the digest written. The failure is still the caller's to
// record (deploy journals it and warns).
type answerLostError struct{ err error }

func (e *answerLostError) Error() string { return e.err.Error() }
func (e *answerLostError) Unwrap() error { return e.err }

// tagPutter is an authenticated transport allowed to push to dst's
// repository, for the tag's PUT that lkg sends itself: it needs the
// registry's whole answer (status and Retry-After), which
// go-containerregistry's Put does not return.
func (c *Copier) tagPutter(ctx context.Context, dst name.Tag) (*http.Client, error) {
	repo := dst.Context()
	auth, err := authn.Resolve(ctx, c.keychain, repo.Registry)
	if err != nil {
		return nil, err
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, c.rt, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: rt}, nil
}

// tagWriteError is a PUT of the target tag that failed: how, and whether
// and when a second write may be tried.
type tagWriteError struct {
	err    error
	status int           // the registry's answer; 0 when there was none
	again  bool          // a second try may cure it: 429, 5xx, a reset
	wait   time.Duration // before that try: Retry-After, else a backoff
}

func (e *tagWriteError) Error() string {
	if e.status != 0 {
		return fmt.Sprintf("its write was answered %d %s: %v", e.status, http.StatusText(e.status), e.err)
	}
	return fmt.Sprintf("its write failed: %v", e.err)
}

func (e *tagWriteError) Unwrap() error { return e.err }

// putTag sends one PUT of desc's manifest under the tag dst, through put.
func (c *Copier) putTag(ctx context.Context, put *http.Client, dst name.Tag, desc *remote.Descriptor) *tagWriteError {
	u := fmt.Sprintf("%s://%s/v2/%s/manifests/%s", dst.Registry.Scheme(), dst.RegistryStr(), dst.RepositoryStr(), dst.TagStr())
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(desc.Manifest))
	if err != nil {
		return &tagWriteError{err: err}
	}
	req.Header.Set("Content-Type", string(desc.MediaType))
	resp, err := put.Do(req)
	if err != nil {
		return &tagWriteError{err: err, again: transientNetError(err), wait: c.rt.backoff(1)}
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK, http.StatusCreated, http.StatusAccepted); err != nil {
		e := &tagWriteError{err: err, status: resp.StatusCode, again: retryStatus(resp.StatusCode), wait: c.rt.backoff(1)}
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			e.wait = ra
		}
		e.wait = min(e.wait, c.rt.maxWait)
		return e
	}
	return nil
}

func orNone(d string) string {
	if d == "" {
		return "absent"
	}
	return d
}

// classifyErr wraps a registry error with the package's sentinels, as
// Repository does for reads.
func classifyErr(ctx context.Context, ref name.Reference, err error) error {
	r := &Repository{name: ref.Context().Name(), repo: ref.Context()}
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		// A 404 on a manifest or blob during a copy is never "no such
		// repository" for the target: the target may simply be new.
		return fmt.Errorf("%w: %w", ErrTagNotFound, err)
	}
	return r.classify(ctx, err, false)
}
