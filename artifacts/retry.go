package artifacts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// retryTransport is the bottom of every registry request: it gives each
// attempt its own deadline, shared by the redirects it leads to, caps those
// redirects, retries 429 and 5xx answers (but never a write that moves a
// tag: movesTag) with exponential backoff while honouring Retry-After (go-containerregistry's own retry ignores that header
// and sleeps without watching the context), reads small bodies whole so that
// a reset mid-body is retried and a manifest is checked against its digest,
// and refuses plain HTTP to anything but a loopback registry or one named
// insecure.
type retryTransport struct {
	inner    http.RoundTripper
	insecure hostSet       // registries besides loopback that may get plain HTTP
	attempts int           // total tries, at least 1
	initial  time.Duration // first backoff; doubles each retry
	maxWait  time.Duration // cap on one wait, Retry-After included
	timeout  time.Duration // one attempt, body included; 0 means none
	// sleep waits d or until ctx ends; tests replace it to record waits.
	sleep func(ctx context.Context, d time.Duration) error
}

// retryStatus reports whether an answer is worth asking again: rate limits
// and server-side failures, which registries behind load balancers produce
// transiently.
func retryStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusRequestTimeout,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.insecure.plainOK(req.URL.Host) {
		// go-containerregistry falls back to plain HTTP for private
		// (RFC 1918) addresses too; lkg promises TLS to every registry
		// that is not on this machine or named insecure.
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errPlainHTTP}
	}
	hop := hopOf(req)
	if hop.n > maxRedirects {
		return nil, errTooManyRedirects
	}
	// Only requests without a body (or with a rewindable one) can be
	// sent twice; everything lkg reads is a GET or a HEAD. A write that
	// moves a tag is never sent twice from here: it may have landed, or
	// another writer may move the tag during the wait, and a blind second
	// write would overwrite theirs. Its caller reads the tag first.
	canRetry := (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil) && !movesTag(req)
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(ctx)
			req.Body = body
		}
		resp, err := t.once(req, hop)
		if err == nil && req.Method == http.MethodGet && resp.StatusCode == http.StatusOK {
			resp, err = settle(req, resp)
		}
		last := attempt >= t.attempts || !canRetry
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil || last || !transientNetError(err) {
				return nil, err
			}
			wait = t.backoff(attempt)
		case retryStatus(resp.StatusCode) && !last:
			wait = t.backoff(attempt)
			if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				wait = ra
			}
			// Drain a little so the connection can be reused.
			_, _ = io.CopyN(io.Discard, resp.Body, 4096)
			resp.Body.Close()
		default:
			return resp, nil
		}
		wait = min(wait, t.maxWait)
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// movesTag reports whether req writes a manifest under a tag (a PUT or
// DELETE of /v2/<name>/manifests/<tag>): a tag that other writers move
// too. Writes named by digest (blobs, manifests by digest) put the same
// bytes in place however often they are sent, and keep their retries.
func movesTag(req *http.Request) bool {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return false
	}
	rest, ok := strings.CutPrefix(req.URL.Path, "/v2/")
	i := strings.LastIndex(rest, "/manifests/")
	if !ok || i < 0 {
		return false
	}
	// A tag has no colon; a digest always has one.
	return !strings.Contains(rest[i+len("/manifests/"):], ":")
}

// maxRedirects is net/http's own cap on the redirects one request follows.
// go-containerregistry's clients replace net/http's redirect policy with one
// that checks only where a redirect goes, with no cap: a registry answering
// with a redirect loop would be followed for ever.
const maxRedirects = 10

// hopKey keys the hop of a request in the context retryTransport sends it
// with. http.Client gives a redirect's next request the response that caused
// it (Request.Response), whose Request is the one sent before: so each hop
// finds the count and the deadline of the request it continues.
type hopKey struct{}

// hop is where one request stands in its chain of redirects.
type hop struct {
	n        int       // redirects followed so far
	deadline time.Time // the whole request's deadline; zero before the first attempt, or with no timeout
}

// hopOf is the hop req is at: the first (n 0, no deadline yet) unless it
// follows a redirect of a request sent here.
func hopOf(req *http.Request) hop {
	if req.Response == nil || req.Response.Request == nil {
		return hop{}
	}
	prev, ok := req.Response.Request.Context().Value(hopKey{}).(hop)
	if !ok {
		// Redirected, but not from a request sent here: count the chain.
		n := 0
		for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
			n++
		}
		return hop{n: n}
	}
	prev.n++
	return prev
}

// once sends one attempt under its deadline: its own for a new request, the
// first hop's for a redirect, so that a chain of redirects cannot outlast
// the timeout one hop at a time. The deadline must outlive RoundTrip (the
// caller still reads the body), so it is released when the body is closed
// or fully read.
func (t *retryTransport) once(req *http.Request, h hop) (*http.Response, error) {
	if h.deadline.IsZero() && t.timeout > 0 {
		h.deadline = time.Now().Add(t.timeout)
	}
	ctx := context.WithValue(req.Context(), hopKey{}, h)
	cancel := context.CancelFunc(func() {})
	if !h.deadline.IsZero() {
		ctx, cancel = context.WithDeadlineCause(ctx, h.deadline, errRequestTimeout)
	}
	resp, err := t.inner.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		// net/http reports the context's cause, so look for either.
		if (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errRequestTimeout)) && req.Context().Err() == nil {
			err = &timeoutError{err: err, timeout: t.timeout}
		}
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel, timeout: t.timeout}
	return resp, nil
}

// maxSettled bounds the bodies RoundTrip reads whole before returning:
// manifests, configs, tag lists and tokens, all small. Reading them here
// lets a reset in the middle of one be retried like any other reset, and a
// manifest be checked against its digest before anyone uses it. A larger
// body (a layer) streams, and go-containerregistry verifies it as it goes.
const maxSettled = 16 << 20

// settle reads a 200 answer's body whole when it is small, and checks a
// manifest or blob against the digest that names it: the one in the URL,
// or for a manifest read by tag, the registry's Docker-Content-Digest. A
// body that fails is an error the retry loop retries (errUnverified), never
// an answer.
func settle(req *http.Request, resp *http.Response) (*http.Response, error) {
	if resp.ContentLength > maxSettled {
		return resp, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSettled+1))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if len(b) > maxSettled {
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	if want := namedDigest(req.URL.Path, resp.Header); want != "" {
		if got := digestOf(b); got != want {
			return nil, &unverifiedError{path: req.URL.Path, want: want, got: got}
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// namedDigest is the sha256 digest a registry response body must have, or
// "" when nothing names one: the reference of /v2/<name>/manifests/<ref>
// or /v2/<name>/blobs/<ref> when it is a digest, else for a manifest the
// Docker-Content-Digest header.
func namedDigest(path string, h http.Header) string {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return ""
	}
	for _, kind := range []string{"/manifests/", "/blobs/"} {
		i := strings.LastIndex(rest, kind)
		if i < 0 {
			continue
		}
		ref := rest[i+len(kind):]
		switch {
		case validDigest(ref):
			return ref
		case kind == "/manifests/" && validDigest(h.Get("Docker-Content-Digest")):
			return h.Get("Docker-Content-Digest")
		}
	}
	return ""
}

// readCloser joins a reader with the closer of what it reads.
type readCloser struct {
	io.Reader
	io.Closer
}

// unverifiedError is a body that does not hash to the digest naming it: an
// altered or truncated answer, from the registry or something in between.
type unverifiedError struct {
	path, want, got string
}

func (e *unverifiedError) Error() string {
	return fmt.Sprintf("%s: %s is named %s but hashes to %s", ErrUnverified, e.path, e.want, e.got)
}

func (e *unverifiedError) Unwrap() error { return ErrUnverified }

// backoff is the wait before retry number attempt (1-based): initial,
// doubled each time, with up to 25 % jitter so that many workers hitting
// the same rate limit do not come back in lockstep.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.initial << (attempt - 1)
	if d <= 0 || d > t.maxWait {
		d = t.maxWait
	}
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}

// sleepCtx waits d, returning early with the context's error on cancel.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date (RFC 9110 section 10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(24*time.Hour/time.Second) {
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second, true
	}
	when, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(when.Sub(now), 0), true
}

// transientNetError reports failures that a second try may cure (a reset,
// a dropped keep-alive connection, a body that failed its digest), as
// opposed to a
// refused connection, a DNS failure or a timeout, which fail fast: a
// registry that did not answer within the timeout will not be retried for
// minutes while someone waits at 3 a.m.
func transientNetError(err error) bool {
	return errors.Is(err, ErrUnverified) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF)
}

// isLoopback reports whether host (no port) is this machine: the only
// registries lkg speaks plain HTTP to.
func isLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var (
	errPlainHTTP        = errors.New("refusing plain HTTP to a registry that is not on this machine")
	errRequestTimeout   = errors.New("registry request timed out")
	errTooManyRedirects = fmt.Errorf("stopped after %d redirects", maxRedirects)
)

// timeoutError marks a request that ran out of its own time (not the
// caller's), so classification can call the registry unreachable.
type timeoutError struct {
	err     error
	timeout time.Duration // the budget it ran out of
}

func (e *timeoutError) Error() string { return errRequestTimeout.Error() + ": " + e.err.Error() }
func (e *timeoutError) Unwrap() error { return e.err }
func (e *timeoutError) Timeout() bool { return true }

// cancelBody releases a request's deadline once its body is done with.
type cancelBody struct {
	io.ReadCloser
	cancel  context.CancelFunc
	timeout time.Duration
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errRequestTimeout)) {
		err = &timeoutError{err: err, timeout: b.timeout}
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
