package artifacts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/lkg-dev/lkg/internal/fixture"
)

// proxied starts an in-process registry with one image behind a fault
// proxy applying rules, and opens its "app" through the proxy.
func proxied(t *testing.T, rules []string, opts ...Option) (*Repository, *fixture.Proxy, string) {
	t.Helper()
	reg := startRegistry(t)
	digest := mustPush(t, reg, "sha-abcdef0", fixture.ImageSpec{Seed: "p", Created: created})
	var rs []fixture.Rule
	for _, spec := range rules {
		r, err := fixture.ParseRule(spec)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	p, err := fixture.StartProxy(reg.Addr, rs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	opts = append([]Option{
		WithKeychain(authn.NewMultiKeychain()),
		WithCacheDir(""),
		WithRetry(3, time.Millisecond, 10*time.Millisecond),
	}, opts...)
	r, err := NewRepository(p.Addr+"/app", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r, p, digest
}

func TestRedirects(t *testing.T) {
	tests := []struct {
		name     string
		rule     string
		timeout  time.Duration
		wantErr  error  // nil: the tags are listed
		wantText string // in the error
		maxReqs  int    // requests to the tag list, at most
	}{
		{"a short chain is followed", "path=*/tags/list,redirect=10", time.Minute, nil, "", 11},
		{"a loop stops after 10", "path=*/tags/list,redirect=loop", time.Minute, ErrUnreachable, "stopped after 10 redirects", 11},
		{"one chain, one deadline", "path=*/tags/list,redirect=6,delay=100ms", 350 * time.Millisecond, ErrUnreachable, "no answer within 350ms", 5},
		{"a slow chain within the deadline", "path=*/tags/list,redirect=2,delay=50ms", time.Second, nil, "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, p, _ := proxied(t, []string{tt.rule}, WithTimeout(tt.timeout))
			start := time.Now()
			tags, err := r.Tags(context.Background())
			if tt.wantErr == nil {
				if err != nil || len(tags) != 1 {
					t.Fatalf("Tags = %v, %v; want the one tag", tags, err)
				}
			} else if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("Tags error = %v, want %v saying %q", err, tt.wantErr, tt.wantText)
			}
			if d := time.Since(start); d > tt.timeout+time.Second {
				t.Errorf("Tags took %s with a %s timeout", d, tt.timeout)
			}
			n := 0
			for _, req := range p.Requests() {
				if strings.Contains(req, "/tags/list") {
					n++
				}
			}
			if n > tt.maxReqs {
				t.Errorf("%d requests to the tag list, want at most %d", n, tt.maxReqs)
			}
		})
	}
}
