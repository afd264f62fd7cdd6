package artifacts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/imageref"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ggcrtypes "github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/types"
)

// Errors a registry operation wraps, so the CLI can print one line and
// pick an exit code with errors.Is. The wrapping error names the
// repository or tag and, for ErrUnauthorized, the `docker login` to run.
var (
	// ErrUnauthorized: the registry answered 401 or 403.
	ErrUnauthorized = errors.New("registry refused access")
	// ErrRepoNotFound: the repository does not exist (404 on the tag list).
	ErrRepoNotFound = errors.New("repository not found")
	// ErrTagNotFound: the tag (or a manifest it refers to) is gone, for
	// instance deleted between listing and inspecting.
	ErrTagNotFound = errors.New("tag not found")
	// ErrUnreachable: DNS, connection, TLS failure or a request timeout.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrMalformed: a manifest, index or config that cannot be read, or of
	// an unsupported media type. A warning about one build, not a failed scan.
	ErrMalformed = errors.New("malformed image metadata")
	// ErrUnverified: a manifest or blob did not hash to the digest that
	// names it, on every try. It was neither used nor cached.
	ErrUnverified = errors.New("response does not match its digest")
)

// Option configures a Repository.
type Option func(*options)

type options struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	cacheDir  string
	userAgent string
	timeout   time.Duration
	attempts  int
	initial   time.Duration
	maxWait   time.Duration
	jobs      int
	noProv    bool
	tracer    *Tracer
	insecure  hostSet
	caFile    string
	err       error // an option that could not be applied
}

// newOptions applies opts over the defaults NewRepository and NewCopier
// share; only the per-request timeout and the parallelism differ.
func newOptions(opts []Option, timeout time.Duration, jobs int) options {
	o := options{
		keychain:  authn.DefaultKeychain,
		cacheDir:  config.DefaultCacheDir(),
		userAgent: "lkg",
		timeout:   timeout,
		attempts:  5,
		initial:   500 * time.Millisecond,
		maxWait:   30 * time.Second,
		jobs:      jobs,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.transport == nil {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		// Enough idle connections for every worker to keep its own.
		t.MaxIdleConnsPerHost = max(64, o.jobs*2)
		o.transport = t
	}
	o.transport, o.err = o.tlsTransport(o.transport)
	// Under the retries, so that every attempt and every hop is a line.
	o.transport = o.tracer.transport("registry", o.transport)
	return o
}

// remote is lkg's retrying transport over o's, and the go-containerregistry
// options that use it with o's keychain.
func (o options) remote() (*retryTransport, []remote.Option) {
	rt := &retryTransport{
		inner:    o.transport,
		insecure: o.insecure,
		attempts: o.attempts,
		initial:  o.initial,
		maxWait:  o.maxWait,
		timeout:  o.timeout,
		sleep:    sleepCtx,
	}
	return rt, []remote.Option{
		remote.WithTransport(rt),
		remote.WithAuthFromKeychain(o.keychain),
		remote.WithUserAgent(o.userAgent),
		remote.WithJobs(o.jobs),
		// Retries are rt's job: go-containerregistry's own would retry
		// again on top of it and ignores Retry-After and cancellation.
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(func(error) bool { return false }),
	}
}

// WithKeychain sets where credentials come from. The default is
// authn.DefaultKeychain: the Docker config and its credential helpers, the
// same ones `docker login` fills.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) { o.keychain = k }
}

// WithTransport sets the HTTP transport under lkg's retries and timeouts.
// The default is a clone of remote.DefaultTransport.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) { o.transport = t }
}

// WithTrace traces every request (each attempt and each redirect) to t:
// method, redacted URL, status and time. The default is no trace.
func WithTrace(t *Tracer) Option {
	return func(o *options) { o.tracer = t }
}

// WithCacheDir sets the on-disk metadata cache directory; "" disables the
// cache. The default is config.DefaultCacheDir(), the user cache dir's lkg/.
func WithCacheDir(dir string) Option {
	return func(o *options) { o.cacheDir = dir }
}

// WithUserAgent sets the User-Agent sent to the registry. The default is
// "lkg".
func WithUserAgent(ua string) Option {
	return func(o *options) { o.userAgent = ua }
}

// WithTimeout bounds each request, its redirects and its body included; 0
// means no bound. Retries of a request get their own. The default is 30
// seconds.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithRetry sets how 429 and 5xx answers are retried: attempts in total
// (1 disables retries), the first backoff (doubled each time), and the
// longest single wait, which also caps a registry's Retry-After. The
// default is 5 attempts, 500 ms, 30 s.
func WithRetry(attempts int, initial, maxWait time.Duration) Option {
	return func(o *options) {
		o.attempts = max(attempts, 1)
		o.initial = initial
		o.maxWait = maxWait
	}
}

// WithJobs bounds how many config blobs one Repository downloads at once.
// The default is 16, the finder's worker count.
func WithJobs(n int) Option {
	return func(o *options) { o.jobs = max(n, 1) }
}

// WithProvenance says whether Inspect reads the provenance attestations
// BuildKit puts beside an image in its index, for the revision they name
// (two requests for a build never seen, none once cached). The default is
// true.
func WithProvenance(read bool) Option {
	return func(o *options) { o.noProv = !read }
}

// Repository is one image repository. It is safe for concurrent use: all
// goroutines share one session, so the registry's version is checked and
// its token fetched once.
type Repository struct {
	name   string
	repo   name.Repository
	nopts  []name.Option
	puller *session
	cache  *repoCache
	rt     *retryTransport

	// provenance says whether Inspect reads BuildKit's attestation
	// manifests (WithProvenance).
	provenance bool
	att        attState // what attest.go learnt of the repository
}

// NewRepository returns the repository "host/repo" (no tag, no digest).
// Registries on localhost, 127.0.0.1 and [::1] are spoken to over plain
// HTTP, all others over TLS. Nothing is sent until the first call.
func NewRepository(repo string, opts ...Option) (*Repository, error) {
	o := newOptions(opts, 30*time.Second, 16)
	if o.err != nil {
		return nil, fmt.Errorf("preparing registry client for %q: %w", repo, o.err)
	}
	nopts := o.insecure.nameOptions(repo)
	ref, err := name.NewRepository(repo, nopts...)
	if err != nil {
		return nil, fmt.Errorf("parsing repository %q: %w", repo, err)
	}
	rt, _ := o.remote()
	return &Repository{
		name:   ref.Name(),
		repo:   ref,
		nopts:  nopts,
		puller: newSession(ref, o.keychain, rt, o.userAgent, o.jobs),
		cache:  newRepoCache(o.cacheDir, ref.Name()),
		rt:     rt,

		provenance: !o.noProv,
	}, nil
}

// hostOnly strips a port from "host:port" or "[v6]:port".
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// Name is the repository as "host/repo".
func (r *Repository) Name() string { return r.name }

// Inspect reads one tag's manifest (or index) and config. A pinned tag
// (its name carries a revision, so it is treated as immutable) is served
// from the disk cache with no request at all once seen; any other tag seen
// before costs one HEAD to learn its digest, and its manifest and config
// come from the cache by digest when present. A tag never seen costs a GET
// of its manifest (and of one child manifest, for an index) and its config.
//
// An error other than ErrMalformed or ErrTagNotFound (a build read and found
// broken, or gone) also wraps types.ErrUnread: the build could not be read.
//
// tag may be a digest ("sha256:<hex>"): the build is then read by digest,
// as status reads what a target runs.
func (r *Repository) Inspect(ctx context.Context, tag string, pinned bool) (types.Artifact, error) {
	var ref name.Reference
	var err error
	if imageref.ValidDigest(tag) {
		ref, err = name.NewDigest(r.name+"@"+tag, r.nopts...)
	} else {
		ref, err = name.NewTag(r.name+":"+tag, r.nopts...)
	}
	if err != nil {
		return types.Artifact{}, fmt.Errorf("inspecting %q: %w: bad tag: %w", r.name+":"+tag, ErrMalformed, err)
	}
	img, err := r.inspect(ctx, ref, tag, pinned)
	if err != nil {
		err = fmt.Errorf("inspecting %q: %w", ref.String(), r.classify(ctx, err, false))
		// A malformed or vanished build was read and is no answer; any
		// other failure left it unread, and it could be the answer.
		if ctx.Err() == nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTagNotFound) {
			err = unreadError{err}
		}
		return types.Artifact{}, err
	}
	return img, nil
}

// unreadError is an Inspect that could not read its build:
// errors.Is(err, types.ErrUnread) holds, and the message is err's own.
type unreadError struct{ err error }

func (e unreadError) Error() string   { return e.err.Error() }
func (e unreadError) Unwrap() []error { return []error{types.ErrUnread, e.err} }

func (r *Repository) inspect(ctx context.Context, ref name.Reference, tag string, pinned bool) (types.Artifact, error) {
	var digest string
	var manifest []byte
	// The cached tag record is the truth for a pinned tag; for a moving one it
	// only says the tag was seen before, so its manifest is likely cached and a
	// HEAD can confirm the digest. A moving tag never seen goes straight to
	// GET: a HEAD first would only add a request to every cold run.
	seen, ok := r.cache.TagDigest(tag)
	switch {
	case ok && pinned:
		digest = seen
	case ok:
		desc, err := r.puller.Head(ctx, ref)
		if err != nil {
			return types.Artifact{}, err
		}
		digest = desc.Digest.String()
	}
	if digest != "" {
		manifest = r.cachedManifest(digest)
	}
	fetched := manifest == nil
	if fetched {
		// By tag rather than by the HEAD's digest: the tag may have moved
		// since. The transport has checked the body against the digest
		// the registry names it by (Docker-Content-Digest).
		desc, err := r.puller.Get(ctx, ref)
		if err != nil {
			return types.Artifact{}, err
		}
		manifest = desc.Manifest
		digest = digestOf(manifest)
	}
	img := types.Artifact{
		Source: types.SourceRegistry,
		Repo:   r.name,
		Image:  r.name + ":" + tag,
		Digest: digest,
		Tags:   []string{tag},
	}
	if err := r.describe(ctx, &img, manifest); err != nil {
		return types.Artifact{}, err
	}
	// Cached only once it proved usable: a body that failed on the way is
	// read again next time rather than failing every later run.
	if fetched {
		_ = r.cache.PutBlob(digest, manifest)
		if digest != seen {
			_ = r.cache.PutTagDigest(tag, digest)
		}
	}
	return img, nil
}

// cachedManifest is the cached manifest digest when it parses; one that
// does not (cached by an lkg that did not check first) is dropped, to be
// read again.
func (r *Repository) cachedManifest(digest string) []byte {
	m, ok := r.cache.Blob(digest)
	if !ok {
		return nil
	}
	if _, _, err := parseManifest(m); err != nil {
		r.cache.Drop(digest)
		return nil
	}
	return m
}

// rawManifest is the union of an image manifest and an index, read
// leniently: only the fields lkg needs.
type rawManifest struct {
	SchemaVersion int                 `json:"schemaVersion"`
	MediaType     ggcrtypes.MediaType `json:"mediaType"`
	Config        *v1.Descriptor      `json:"config"`
	Manifests     []v1.Descriptor     `json:"manifests"`
	Annotations   map[string]string   `json:"annotations"`
}

// rawConfig is the part of an image config lkg reads. Created stays a
// string so that a junk date costs the date, not the whole build.
type rawConfig struct {
	Created      string `json:"created"`
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant"`
	Config       struct {
		Labels map[string]string `json:"Labels"`
	} `json:"config"`
}

func parseManifest(b []byte) (*rawManifest, bool, error) {
	var m rawManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false, fmt.Errorf("%w: manifest: %w", ErrMalformed, err)
	}
	switch {
	case m.MediaType == ggcrtypes.OCIImageIndex || m.MediaType == ggcrtypes.DockerManifestList:
		return &m, true, nil
	case m.MediaType == ggcrtypes.OCIManifestSchema1 || m.MediaType == ggcrtypes.DockerManifestSchema2:
	case m.MediaType == "" && m.SchemaVersion == 2 && m.Manifests != nil:
		return &m, true, nil // OCI allows an index without mediaType
	case m.MediaType == "" && m.SchemaVersion == 2 && m.Config != nil:
	default:
		return nil, false, fmt.Errorf("%w: unsupported manifest media type %q (schema version %d)", ErrMalformed, m.MediaType, m.SchemaVersion)
	}
	if m.Config == nil {
		return nil, false, fmt.Errorf("%w: image manifest without a config", ErrMalformed)
	}
	return &m, false, nil
}

// describe fills img from the tag's manifest bytes.
func (r *Repository) describe(ctx context.Context, img *types.Artifact, manifest []byte) error {
	m, isIndex, err := parseManifest(manifest)
	if err != nil {
		return err
	}
	if !isIndex {
		img.Annotations = m.Annotations
		cfg, err := r.config(ctx, m.Config.Digest.String())
		if err != nil {
			return err
		}
		fillFromConfig(img, cfg, true)
		return nil
	}

	var child *v1.Descriptor
	for i, d := range m.Manifests {
		if !d.MediaType.IsImage() && d.MediaType != "" {
			continue // nested index, attestation artifact, ...
		}
		p := platformString(d.Platform)
		if p == "" || p == "unknown/unknown" {
			continue // buildx attestation manifests
		}
		img.Platforms = appendUnique(img.Platforms, p)
		if child == nil || p == "linux/amd64" && platformString(child.Platform) != "linux/amd64" {
			child = &m.Manifests[i]
		}
	}
	annotations := map[string]string{}
	if child != nil {
		cm, err := r.manifestByDigest(ctx, child.Digest.String())
		if err != nil {
			return err
		}
		sub, subIndex, err := parseManifest(cm)
		if err != nil {
			return err
		}
		if subIndex {
			return fmt.Errorf("%w: index %s nests another index", ErrMalformed, img.Digest)
		}
		for k, v := range sub.Annotations {
			annotations[k] = v
		}
		cfg, err := r.config(ctx, sub.Config.Digest.String())
		if err != nil {
			return err
		}
		fillFromConfig(img, cfg, false)
		if r.provenance {
			if err := r.readProvenance(ctx, img, m.Manifests, child.Digest.String()); err != nil {
				return err
			}
		}
	}
	for k, v := range m.Annotations {
		annotations[k] = v
	}
	if len(annotations) > 0 {
		img.Annotations = annotations
	}
	return nil
}

func fillFromConfig(img *types.Artifact, cfg *rawConfig, platform bool) {
	img.Labels = cfg.Config.Labels
	if t, err := time.Parse(time.RFC3339Nano, cfg.Created); err == nil {
		img.Created = t
	}
	if platform && cfg.OS != "" {
		img.Platforms = []string{platformString(&v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant})}
	}
}

// platformString is "os/arch[/variant]"; "" when unknown.
func platformString(p *v1.Platform) string {
	if p == nil || p.OS == "" {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// manifestByDigest returns a child manifest of an index, cached by digest
// once it parses.
func (r *Repository) manifestByDigest(ctx context.Context, digest string) ([]byte, error) {
	if b := r.cachedManifest(digest); b != nil {
		return b, nil
	}
	ref, err := name.NewDigest(r.name+"@"+digest, r.nopts...)
	if err != nil {
		return nil, fmt.Errorf("%w: child manifest digest %q: %w", ErrMalformed, digest, err)
	}
	desc, err := r.puller.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if _, _, err := parseManifest(desc.Manifest); err == nil {
		_ = r.cache.PutBlob(digest, desc.Manifest)
	}
	return desc.Manifest, nil
}

// maxConfigSize bounds a config download; real configs are a few KiB.
const maxConfigSize = 8 << 20

// config returns the parsed image config, verified, and cached by digest
// once it parses. A cached config that does not parse is dropped and read
// again.
func (r *Repository) config(ctx context.Context, digest string) (*rawConfig, error) {
	var cfg rawConfig
	if b, ok := r.cache.Blob(digest); ok {
		if err := json.Unmarshal(b, &cfg); err == nil {
			return &cfg, nil
		}
		r.cache.Drop(digest)
	}
	b, err := r.fetchBlob(ctx, "config", digest)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%w: config %s: %w", ErrMalformed, digest, err)
	}
	_ = r.cache.PutBlob(digest, b)
	return &cfg, nil
}

// fetchBlob downloads a small blob (what names what it is: "config") and
// checks it against its digest. The caller caches it once it proved
// usable.
func (r *Repository) fetchBlob(ctx context.Context, what, digest string) ([]byte, error) {
	ref, err := name.NewDigest(r.name+"@"+digest, r.nopts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s digest %q: %w", ErrMalformed, what, digest, err)
	}
	layer, err := r.puller.Layer(ctx, ref)
	if err != nil {
		return nil, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxConfigSize+1))
	rc.Close()
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("%w: %s %s larger than %d bytes", ErrMalformed, what, digest, maxConfigSize)
	}
	if got := digestOf(b); got != digest {
		return nil, fmt.Errorf("%w: %s %s has digest %s", ErrMalformed, what, digest, got)
	}
	return b, nil
}

// classify wraps err with the sentinel that says what went wrong. listing
// tells a 404 on the tag list (no such repository) from one on a manifest.
func (r *Repository) classify(ctx context.Context, err error, listing bool) error {
	if ctx.Err() != nil || errors.Is(err, ErrMalformed) {
		return err // the caller cancelled, or already classified
	}
	host := r.repo.RegistryStr()
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		// Before the status: for a registry on this machine, the plain
		// HTTP attempt's 400 from a TLS server says nothing useful.
		return fmt.Errorf("%w: %w", ErrUnreachable, &CertificateError{Host: host, Err: certErr})
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%w (HTTP %d): run `docker login %s`", ErrUnauthorized, terr.StatusCode, host)
		case http.StatusNotFound:
			if listing || hasCode(terr, transport.NameUnknownErrorCode) {
				return fmt.Errorf("%w (HTTP 404): check the repository name", ErrRepoNotFound)
			}
			if hasCode(terr, transport.BlobUnknownErrorCode) {
				return fmt.Errorf("%w: a blob it refers to is missing: %w", ErrMalformed, err)
			}
			return fmt.Errorf("%w: %w", ErrTagNotFound, err)
		}
		return err
	}
	var (
		opErr    *net.OpError
		dnsErr   *net.DNSError
		tmoErr   *timeoutError
		unvErr   *unverifiedError
		recErr   tls.RecordHeaderError
		authErr  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		validErr x509.CertificateInvalidError
	)
	// Name the network failure itself: the full error repeats the URL,
	// twice for a loopback registry (go-containerregistry tries https,
	// then http), which the caller's message already names.
	switch {
	case errors.As(err, &tmoErr):
		return fmt.Errorf("%w: no answer within %s: %w", ErrUnreachable, tmoErr.timeout, context.DeadlineExceeded)
	case errors.As(err, &unvErr):
		return unvErr
	case errors.Is(err, errTooManyRedirects):
		return fmt.Errorf("%w: %w (a redirect loop)", ErrUnreachable, errTooManyRedirects)
	case errors.As(err, &authErr) || errors.As(err, &hostErr) || errors.As(err, &validErr):
		return fmt.Errorf("%w: %w", ErrUnreachable, &CertificateError{Host: host, Err: err})
	case errors.As(err, &recErr):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("%w: %w", ErrUnreachable, dnsErr)
	case errors.As(err, &opErr):
		return fmt.Errorf("%w: %w", ErrUnreachable, opErr)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

func hasCode(e *transport.Error, code transport.ErrorCode) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}
