package artifacts

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Tracer writes one line per HTTP request lkg sends to a registry or the
// Docker engine: method, URL, status (or error) and the time to the answer's
// headers. URLs are redacted (redactURL); headers and bodies, where
// credentials and tokens travel, are never written. It is safe for
// concurrent use; a nil *Tracer traces nothing.
type Tracer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewTracer traces to w.
func NewTracer(w io.Writer) *Tracer { return &Tracer{w: w} }

// transport wraps rt so that each request it sends is traced as client
// ("registry" or "engine").
func (t *Tracer) transport(client string, rt http.RoundTripper) http.RoundTripper {
	if t == nil {
		return rt
	}
	return &traceTransport{inner: rt, tracer: t, client: client}
}

func (t *Tracer) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format, args...)
}

type traceTransport struct {
	inner  http.RoundTripper
	tracer *Tracer
	client string
}

// RoundTrip implements http.RoundTripper.
func (t *traceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.inner.RoundTrip(req)
	d := time.Since(start).Round(time.Microsecond)
	u := redactURL(req.URL)
	if err != nil {
		// Transport errors may quote the URL; print the redacted one.
		msg := strings.ReplaceAll(err.Error(), req.URL.String(), u)
		t.tracer.printf("lkg: debug: %s: %s %s -> error: %s (%s)\n", t.client, req.Method, u, msg, d)
		return nil, err
	}
	t.tracer.printf("lkg: debug: %s: %s %s -> %d (%s)\n", t.client, req.Method, u, resp.StatusCode, d)
	return resp, nil
}

// redactURL is u as lkg may print it: any userinfo replaced, and the
// values of query parameters that carry credentials (tokens, signatures,
// passwords, keys: a CDN's pre-signed blob URL has several) replaced, other
// parameters kept as they were, in order.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	if c.RawQuery != "" {
		parts := strings.Split(c.RawQuery, "&")
		for i, p := range parts {
			k, _, hasValue := strings.Cut(p, "=")
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			if hasValue && secretParam(name) {
				parts[i] = k + "=REDACTED"
			}
		}
		c.RawQuery = strings.Join(parts, "&")
	}
	return c.String()
}

// secretParam reports whether a query parameter's name says it carries a
// credential.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "sig", "code", "auth", "key", "policy", "jwt":
		return true
	}
	for _, s := range []string{"token", "secret", "signature", "password", "passwd", "credential", "apikey", "api_key", "session", "authorization"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
