package artifacts

import (
	"context"
	"errors"
	"net/http"
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

func TestMovesTag(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		method, path string
		want         bool
	}{
		{"PUT", "/v2/team/app/manifests/prod", true},
		{"DELETE", "/v2/team/app/manifests/prod", true},
		{"PUT", "/v2/team/app/manifests/sha256-" + strings.Repeat("ab", 32) + ".sig", true},
		{"PUT", "/v2/team/app/manifests/" + d, false},
		{"GET", "/v2/team/app/manifests/prod", false},
		{"HEAD", "/v2/team/app/manifests/prod", false},
		{"PUT", "/v2/team/app/blobs/uploads/abc", false},
		{"POST", "/v2/team/app/blobs/uploads/", false},
		{"PATCH", "/v2/team/app/blobs/uploads/abc", false},
		{"PUT", "/token", false},
		// A repository named like a path segment does not confuse it.
		{"PUT", "/v2/manifests/app/manifests/" + d, false},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, "http://127.0.0.1:5000"+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := movesTag(req); got != tt.want {
			t.Errorf("movesTag(%s %s) = %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestNamedDigest(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	h := func(v string) http.Header { return http.Header{"Docker-Content-Digest": {v}} }
	tests := []struct {
		path   string
		header http.Header
		want   string
	}{
		{"/v2/app/manifests/" + d, nil, d},
		{"/v2/team/app/manifests/v1", h(d), d},
		{"/v2/team/app/manifests/v1", nil, ""},
		{"/v2/team/app/manifests/v1", h("sha512:abc"), ""},
		{"/v2/app/blobs/" + d, nil, d},
		{"/v2/app/blobs/uploads/x", h(d), ""},
		{"/v2/app/tags/list", h(d), ""},
		{"/token", h(d), ""},
		// A repository named like a path segment does not confuse it.
		{"/v2/manifests/blobs/manifests/" + d, nil, d},
	}
	for _, tt := range tests {
		if got := namedDigest(tt.path, tt.header); got != tt.want {
			t.Errorf("namedDigest(%q, %v) = %q, want %q", tt.path, tt.header, got, tt.want)
		}
	}
}

// TestSettle: what a proxy does to one manifest response, and what Inspect
// makes of it, cold and then from the cache.
func TestSettle(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		rule    string
		wantErr error // nil: the image is read, at its true digest
	}{
		{"reset once", "method=GET,path=*/manifests/*,reset=20,times=1", nil},
		{"altered once", `method=GET,path=*/manifests/*,times=1,replace="schemaVersion":2>"schemaVersion": 2`, nil},
		{"malformed once", "method=GET,path=*/manifests/*,times=1,replace={>[", nil},
		{"config altered once", `method=GET,path=*/blobs/*,times=1,replace="created">"Created"`, nil},
		{"altered every time", `method=GET,path=*/manifests/*,replace="schemaVersion":2>"schemaVersion": 2`, ErrUnverified},
		{"reset every time", "method=GET,path=*/manifests/*,reset=20", nil}, // wantErr set below: a network error
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			r, _, digest := proxied(t, []string{tt.rule}, WithCacheDir(cache))
			img, err := r.Inspect(ctx, "sha-abcdef0", true)
			failing := tt.wantErr != nil || strings.HasSuffix(tt.name, "every time")
			if failing {
				if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("Inspect error = %v, want %v", err, tt.wantErr)
				}
				if _, ok := r.cache.TagDigest("sha-abcdef0"); ok {
					t.Errorf("a tag that could not be read was cached")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Digest != digest || !img.Created.Equal(created) {
				t.Errorf("Inspect = %s created %s, want %s created %s", img.Digest, img.Created, digest, created)
			}
			if got, _ := r.cache.TagDigest("sha-abcdef0"); got != digest {
				t.Errorf("cached tag record %q, want %q", got, digest)
			}
		})
	}
}

// TestInspectDropsUnusableCache: a cache entry that hashes right but does
// not parse (written by an lkg that cached before checking) is dropped and
// read again, for this run and the next.
func TestInspectDropsUnusableCache(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t)
	want := mustPush(t, reg, "sha-abcdef0", fixture.ImageSpec{Seed: "d", Created: created})
	dir := t.TempDir()
	junk := []byte(`["not a manifest"]`)
	poisoned := newRepo(t, reg, dir)
	if err := poisoned.cache.PutBlob(digestOf(junk), junk); err != nil {
		t.Fatal(err)
	}
	if err := poisoned.cache.PutTagDigest("sha-abcdef0", digestOf(junk)); err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		reg.ResetRequests()
		img, err := newRepo(t, reg, dir).Inspect(ctx, "sha-abcdef0", true)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if img.Digest != want {
			t.Errorf("run %d: digest %s, want %s", run, img.Digest, want)
		}
		if n := len(reg.Requests()); run == 1 && n != 0 {
			t.Errorf("run %d: %d requests, want none once repaired", run, n)
		}
	}
}
