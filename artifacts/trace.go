package artifacts

import (
	"fmt"
	"github.com/lkg-dev/lkg/internal/redact"
	"io"
	"net/http"

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
	u := redact.URL(req.URL.String())
	if err != nil {
		// Transport errors may quote the URL; print the redacted one.
		msg := strings.ReplaceAll(err.Error(), req.URL.String(), u)
		t.tracer.printf("lkg: debug: %s: %s %s -> error: %s (%s)\n", t.client, req.Method, u, msg, d)
		return nil, err
	}
	t.tracer.printf("lkg: debug: %s: %s %s -> %d (%s)\n", t.client, req.Method, u, resp.StatusCode, d)
	return resp, nil
}
