package artifacts

import (
	"context"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// session is a Repository's one authorised transport, and
// go-containerregistry's puller over it, made on the first request. The
// registry's version check (GET /v2/; on this machine https and http at
// once), its scheme and its token are settled once per repository,
// whoever asks first: the puller, or the tag pages and referrers lkg asks
// for itself, which a transport of their own would check again.
//
// It has the puller's methods lkg uses, so that a call reads as it would
// on the puller.
type session struct {
	repo     name.Repository
	keychain authn.Keychain
	inner    http.RoundTripper // the user agent over lkg's retries
	jobs     int

	mu     sync.Mutex
	client http.RoundTripper
	puller *remote.Puller
}

func newSession(repo name.Repository, keychain authn.Keychain, rt *retryTransport, userAgent string, jobs int) *session {
	return &session{repo: repo, keychain: keychain, inner: transport.NewUserAgent(rt, userAgent), jobs: jobs}
}

// open authorises the session the first time, or again after a failure
// (nothing is kept of a version check that did not answer).
func (s *session) open(ctx context.Context) (*remote.Puller, http.RoundTripper, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.puller != nil {
		return s.puller, s.client, nil
	}
	auth, err := authn.Resolve(ctx, s.keychain, s.repo)
	if err != nil {
		return nil, nil, err
	}
	// A *transport.Wrapper, which go-containerregistry takes as already
	// authorised: it neither checks the version again nor wraps it in
	// retries of its own (retries are rt's job).
	client, err := transport.NewWithContext(ctx, s.repo.Registry, auth, s.inner, []string{s.repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, nil, err
	}
	p, err := remote.NewPuller(remote.WithTransport(client), remote.WithJobs(s.jobs))
	if err != nil {
		return nil, nil, err
	}
	s.client, s.puller = client, p
	return p, client, nil
}

// Get is remote.Puller's Get over the session.
func (s *session) Get(ctx context.Context, ref name.Reference) (*remote.Descriptor, error) {
	p, _, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	return p.Get(ctx, ref)
}

// Head is remote.Puller's Head over the session.
func (s *session) Head(ctx context.Context, ref name.Reference) (*v1.Descriptor, error) {
	p, _, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	return p.Head(ctx, ref)
}

// Layer is remote.Puller's Layer over the session.
func (s *session) Layer(ctx context.Context, ref name.Digest) (v1.Layer, error) {
	p, _, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	return p.Layer(ctx, ref)
}

// Lister is remote.Puller's Lister over the session.
func (s *session) Lister(ctx context.Context, repo name.Repository) (*remote.Lister, error) {
	p, _, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	return p.Lister(ctx, repo)
}

// Client is the session's authorised transport, for the requests
// go-containerregistry cannot make: a tag page by its last parameter, the
// referrers API without its fallback.
func (s *session) Client(ctx context.Context) (http.RoundTripper, error) {
	_, c, err := s.open(ctx)
	return c, err
}
