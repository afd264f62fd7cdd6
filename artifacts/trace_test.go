package artifacts

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTraceRegistry: one line per attempt and per hop, in the documented
// shape, and no credential anywhere.
func TestTraceRegistry(t *testing.T) {
	var buf bytes.Buffer
	r, _, _ := proxied(t, []string{
		"path=*/tags/list,times=1,status=503,retry-after=0",
		"method=GET,path=*/manifests/*,times=1,redirect=/v2/app/manifests/sha-abcdef0?token=planted",
	}, WithTrace(NewTracer(&buf)))
	ctx := context.Background()
	if _, err := r.Tags(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Inspect(ctx, "sha-abcdef0", true); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`(?m)^lkg: debug: registry: GET http://127\.0\.0\.1:\d+/v2/app/tags/list\?n=1000 -> 503 \(\S+\)$`,
		`(?m)^lkg: debug: registry: GET http://127\.0\.0\.1:\d+/v2/app/tags/list\?n=1000 -> 200 \(\S+\)$`,
		`(?m)^lkg: debug: registry: GET http://127\.0\.0\.1:\d+/v2/app/manifests/sha-abcdef0 -> 307 `,
		`(?m)^lkg: debug: registry: GET http://127\.0\.0\.1:\d+/v2/app/manifests/sha-abcdef0\?token=\*\*\* -> 200 `,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("trace has no line matching %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "planted") {
		t.Errorf("the token is in the trace:\n%s", out)
	}
}

// fakeEngine serves a Docker engine API on a unix socket: a ping, and an
// image list that answers after delay.
func fakeEngine(t *testing.T, delay time.Duration) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/images/json"):
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("[]"))
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

func TestEngineTraceAndTimeout(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		delay   time.Duration
		timeout time.Duration
		wantErr bool
	}{
		{"answers in time", 0, time.Second, false},
		{"too slow", 2 * time.Second, 200 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			e, err := NewEngine(ctx, WithEngineHost(fakeEngine(t, tt.delay)), WithEngineTimeout(tt.timeout), WithEngineTrace(NewTracer(&buf)))
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			start := time.Now()
			_, err = e.Images(ctx)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Images error = %v, want error: %v", err, tt.wantErr)
			}
			if d := time.Since(start); d > tt.timeout+time.Second {
				t.Errorf("Images took %s with a %s timeout", d, tt.timeout)
			}
			want := `(?m)^lkg: debug: engine: GET http://\S+/images/json -> 200 \(\S+\)$`
			if tt.wantErr {
				want = `(?m)^lkg: debug: engine: GET http://\S+/images/json -> error: .*timeout`
			}
			if !regexp.MustCompile(`(?m)^lkg: debug: engine: (GET|HEAD) http://\S+/_ping -> 200 `).MatchString(buf.String()) ||
				!regexp.MustCompile(want).MatchString(buf.String()) {
				t.Errorf("trace:\n%s\nwant a ping and a line matching %s", buf.String(), want)
			}
		})
	}
}
