package artifacts

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/lkg-dev/lkg/types"
)

// startRegistry starts an in-process registry for one test.
func startRegistry(tb testing.TB, opts ...fixture.Option) *fixture.Registry {
	tb.Helper()
	reg, err := fixture.StartRegistry(context.Background(), append([]fixture.Option{fixture.WithInProcess()}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { reg.Close() })
	return reg
}

// mustPush pushes spec to reg's repository "app" and returns the digest.
func mustPush(tb testing.TB, reg *fixture.Registry, tag string, spec fixture.ImageSpec) string {
	tb.Helper()
	d, err := fixture.Push(context.Background(), reg.Addr+"/app:"+tag, spec)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// newRepo opens reg's "app" with an anonymous keychain (the machine's
// Docker config must not leak into tests) and fast retries.
func newRepo(tb testing.TB, reg *fixture.Registry, cacheDir string, opts ...Option) *Repository {
	tb.Helper()
	opts = append([]Option{
		WithKeychain(authn.NewMultiKeychain()),
		WithCacheDir(cacheDir),
		WithRetry(3, time.Millisecond, 10*time.Millisecond),
	}, opts...)
	r, err := NewRepository(reg.Addr+"/app", opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// recordSleeps replaces r's waits with a recorder, so Retry-After is
// checked without sleeping.
func recordSleeps(r *Repository) *[]time.Duration {
	var mu sync.Mutex
	waits := &[]time.Duration{}
	r.rt.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		*waits = append(*waits, d)
		return ctx.Err()
	}
	return waits
}

var created = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

func TestInspect(t *testing.T) {
	reg := startRegistry(t)
	tests := []struct {
		tag  string
		spec fixture.ImageSpec
		want types.Artifact
	}{
		{
			tag: "sha-1111111",
			spec: fixture.ImageSpec{
				Labels:      map[string]string{"org.opencontainers.image.revision": "1111111111111111111111111111111111111111"},
				Annotations: map[string]string{"org.opencontainers.image.revision": "2222222222222222222222222222222222222222"},
				Created:     created,
				Seed:        "single",
			},
			want: types.Artifact{
				Labels:      map[string]string{"org.opencontainers.image.revision": "1111111111111111111111111111111111111111"},
				Annotations: map[string]string{"org.opencontainers.image.revision": "2222222222222222222222222222222222222222"},
				Created:     created,
				Platforms:   []string{"linux/amd64"},
			},
		},
		{
			tag: "multi",
			spec: fixture.ImageSpec{
				Labels:      map[string]string{"vcs-ref": "abc"},
				Annotations: map[string]string{"org.opencontainers.image.revision": "3333333333333333333333333333333333333333"},
				Created:     created,
				Platforms:   []string{"linux/arm64", "linux/amd64", "linux/arm/v7"},
				Seed:        "index",
			},
			want: types.Artifact{
				Labels:      map[string]string{"vcs-ref": "abc"},
				Annotations: map[string]string{"org.opencontainers.image.revision": "3333333333333333333333333333333333333333"},
				Created:     created,
				Platforms:   []string{"linux/arm64", "linux/amd64", "linux/arm/v7"},
			},
		},
		{
			tag:  "bare",
			spec: fixture.ImageSpec{Platforms: []string{"linux/s390x"}, Seed: "bare"},
			want: types.Artifact{Created: time.Time{}, Platforms: []string{"linux/s390x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			digest := mustPush(t, reg, tt.tag, tt.spec)
			for _, pinned := range []bool{true, false} {
				r := newRepo(t, reg, t.TempDir())
				got, err := r.Inspect(context.Background(), tt.tag, pinned)
				if err != nil {
					t.Fatal(err)
				}
				want := tt.want
				want.Source, want.Repo, want.Image, want.Digest, want.Tags = types.SourceRegistry, reg.Addr+"/app", reg.Addr+"/app:"+tt.tag, digest, []string{tt.tag}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("pinned=%v:\n got %+v\nwant %+v", pinned, got, want)
				}
			}
		})
	}
}

func TestTagsPaginated(t *testing.T) {
	reg := startRegistry(t, fixture.WithPageSize(3))
	var want []string
	for _, tag := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		mustPush(t, reg, tag, fixture.ImageSpec{Seed: tag})
		want = append(want, tag)
	}
	reg.ResetRequests()
	got, err := newRepo(t, reg, "").Tags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Tags = %v, want %v", got, want)
	}
	var pages int
	for _, l := range reg.Requests() {
		if strings.Contains(l, "/tags/list") {
			pages++
		}
	}
	if got, want := pages, 3; got != want {
		t.Errorf("tag list requests = %d, want %d", got, want)
	}
}

func TestInspectCache(t *testing.T) {
	reg := startRegistry(t)
	ctx := context.Background()
	mustPush(t, reg, "sha-abcdef0", fixture.ImageSpec{Labels: map[string]string{"l": "1"}, Seed: "pinned"})
	mustPush(t, reg, "latest", fixture.ImageSpec{Labels: map[string]string{"l": "2"}, Seed: "moving"})
	mustPush(t, reg, "multi", fixture.ImageSpec{Platforms: []string{"linux/amd64", "linux/arm64"}, Seed: "multi"})
	cache := t.TempDir()

	tests := []struct {
		name   string
		tag    string
		pinned bool
		want   []string // requests of a warm run, with a fresh Repository
	}{
		{"pinned tag asks nothing", "sha-abcdef0", true, nil},
		{"moving tag costs one HEAD", "latest", false, []string{"GET /v2/", "HEAD /v2/app/manifests/latest"}},
		{"moving index costs one HEAD", "multi", false, []string{"GET /v2/", "HEAD /v2/app/manifests/multi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg.ResetRequests()
			cold, err := newRepo(t, reg, cache).Inspect(ctx, tt.tag, tt.pinned)
			if err != nil {
				t.Fatal(err)
			}
			for _, req := range reg.Requests() {
				if strings.HasPrefix(req, "HEAD ") {
					t.Errorf("cold run sent %q: a tag never seen needs no HEAD", req)
				}
			}
			reg.ResetRequests()
			warm, err := newRepo(t, reg, cache).Inspect(ctx, tt.tag, tt.pinned)
			if err != nil {
				t.Fatal(err)
			}
			if got := reg.Requests(); !slices.Equal(got, tt.want) {
				t.Errorf("warm requests = %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(warm, cold) {
				t.Errorf("warm = %+v, cold = %+v", warm, cold)
			}
		})
	}
}

func TestInspectCorruptCache(t *testing.T) {
	reg := startRegistry(t)
	ctx := context.Background()
	mustPush(t, reg, "sha-abcdef0", fixture.ImageSpec{Labels: map[string]string{"l": "1"}, Seed: "c"})
	cache := t.TempDir()
	want, err := newRepo(t, reg, cache).Inspect(ctx, "sha-abcdef0", true)
	if err != nil {
		t.Fatal(err)
	}
	// Forge the cached label: same length, so the framing survives and
	// the record's checks (CRC, then digest) must catch it.
	packs, err := filepath.Glob(filepath.Join(cache, "registry-v2", "*.pack"))
	if err != nil || len(packs) != 1 {
		t.Fatalf("packs = %v (%v), want 1", packs, err)
	}
	b, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(b, []byte(`"l":"1"`), []byte(`"l":"9"`), 1)
	if bytes.Equal(forged, b) {
		t.Fatal("label not found in the pack")
	}
	if err := os.WriteFile(packs[0], forged, 0o644); err != nil {
		t.Fatal(err)
	}
	reg.ResetRequests()
	got, err := newRepo(t, reg, cache).Inspect(ctx, "sha-abcdef0", true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after corruption = %+v, want %+v", got, want)
	}
	if len(reg.Requests()) == 0 {
		t.Errorf("corrupt entries were served from the cache")
	}
	// The refetched copies replaced the corrupt ones.
	reg.ResetRequests()
	if _, err := newRepo(t, reg, cache).Inspect(ctx, "sha-abcdef0", true); err != nil {
		t.Fatal(err)
	}
	if got := reg.Requests(); len(got) != 0 {
		t.Errorf("requests after repair = %q, want none", got)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	ok := startRegistry(t)
	mustPush(t, ok, "good", fixture.ImageSpec{Seed: "good"})
	mustPush(t, ok, "badconfig", fixture.ImageSpec{MalformedConfig: true, Seed: "bc"})
	if _, err := fixture.PushRaw(ctx, ok.Addr+"/app:junk", "application/vnd.oci.image.manifest.v1+json", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := fixture.PushRaw(ctx, ok.Addr+"/app:schema1", "application/vnd.docker.distribution.manifest.v1+json", []byte(`{"schemaVersion":1}`)); err != nil {
		t.Fatal(err)
	}
	auth := startRegistry(t, fixture.WithBasicAuth("u", "p"))
	forbidden := startRegistry(t, fixture.WithFault(fixture.Fault{Status: 403, Path: "/app/"}))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	type op func(*Repository) error
	list := func(r *Repository) error { _, err := r.Tags(ctx); return err }
	inspect := func(tag string) op {
		return func(r *Repository) error { _, err := r.Inspect(ctx, tag, false); return err }
	}
	tests := []struct {
		name string
		repo string
		do   op
		want error
		text string // must appear in the message
	}{
		{"401 on list", auth.Addr + "/app", list, ErrUnauthorized, "docker login " + auth.Addr},
		{"403 on list", forbidden.Addr + "/app", list, ErrUnauthorized, "HTTP 403"},
		{"404 repo", ok.Addr + "/nope", list, ErrRepoNotFound, `"` + ok.Addr + `/nope"`},
		{"unreachable", closedAddr + "/app", list, ErrUnreachable, closedAddr},
		{"missing tag", ok.Addr + "/app", inspect("gone"), ErrTagNotFound, ":gone"},
		{"junk manifest", ok.Addr + "/app", inspect("junk"), ErrMalformed, ":junk"},
		{"schema1 manifest", ok.Addr + "/app", inspect("schema1"), ErrMalformed, "unsupported"},
		{"junk config", ok.Addr + "/app", inspect("badconfig"), ErrMalformed, "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRepository(tt.repo, WithKeychain(authn.NewMultiKeychain()), WithCacheDir(""), WithRetry(1, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			err = tt.do(r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not mention %q", err, tt.text)
			}
		})
	}
	// A good tag beside the broken ones still reads.
	if _, err := newRepo(t, ok, "").Inspect(ctx, "good", false); err != nil {
		t.Errorf("good tag: %v", err)
	}
}

func TestNewRepositoryBadRef(t *testing.T) {
	for _, ref := range []string{"127.0.0.1:5000/app:tag", "HOST/UPPER", "", "a/b@sha256:00"} {
		if _, err := NewRepository(ref, WithCacheDir("")); err == nil {
			t.Errorf("NewRepository(%q) succeeded, want an error", ref)
		}
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		fault     fixture.Fault
		attempts  int
		wantWaits []time.Duration // nil: backoff waits, only counted
		wantCount int
		wantErr   bool
	}{
		{"429 with Retry-After seconds", fixture.Fault{Status: 429, Times: 1, RetryAfter: "7", Path: "/tags/list"}, 5, []time.Duration{7 * time.Second}, 1, false},
		{"Retry-After capped", fixture.Fault{Status: 503, Times: 1, RetryAfter: "3600", Path: "/tags/list"}, 5, []time.Duration{30 * time.Second}, 1, false},
		{"500 twice then success", fixture.Fault{Status: 500, Times: 2, Path: "/tags/list"}, 5, nil, 2, false},
		{"500 beyond the attempts", fixture.Fault{Status: 500, Path: "/tags/list"}, 3, nil, 2, true},
		{"404 is not retried", fixture.Fault{Status: 404, Path: "/tags/list"}, 5, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startRegistry(t, fixture.WithFault(tt.fault))
			mustPush(t, reg, "v1", fixture.ImageSpec{Seed: "r"})
			r := newRepo(t, reg, "", WithRetry(tt.attempts, 100*time.Millisecond, 30*time.Second))
			waits := recordSleeps(r)
			tags, err := r.Tags(ctx)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Tags error = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(tags, []string{"v1"}) {
				t.Errorf("tags = %v", tags)
			}
			if got := len(*waits); got != tt.wantCount {
				t.Errorf("waits = %v, want %d of them", *waits, tt.wantCount)
			}
			if tt.wantWaits != nil && !slices.Equal(*waits, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", *waits, tt.wantWaits)
			}
			for i, w := range *waits {
				if tt.wantWaits == nil && i > 0 && w <= (*waits)[i-1]*5/4 {
					t.Errorf("backoff did not grow: %v", *waits)
				}
			}
		})
	}
}

func TestRetryCancel(t *testing.T) {
	reg := startRegistry(t, fixture.WithFault(fixture.Fault{Status: 429, RetryAfter: "30", Path: "/tags/list"}))
	r := newRepo(t, reg, "", WithRetry(5, time.Second, time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the first 429 has been answered: the 30 s wait must end
	// at once (without a working cancel this test takes two minutes).
	r.rt.sleep = func(c context.Context, d time.Duration) error {
		cancel()
		return sleepCtx(c, d)
	}
	_, err := r.Tags(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	addr := strings.TrimPrefix(srv.URL, "http://")
	r, err := NewRepository(addr+"/app", WithKeychain(authn.NewMultiKeychain()), WithCacheDir(""),
		WithTimeout(50*time.Millisecond), WithRetry(2, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	waits := recordSleeps(r)
	_, err = r.Tags(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("error = %v, want ErrUnreachable", err)
	}
	if len(*waits) != 0 {
		t.Errorf("a timeout was retried (waits %v); it should fail fast", *waits)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"5", 5 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true}, {"127.0.0.1", true}, {"[::1]", true}, {"::1", true},
		{"10.0.0.5", false}, {"192.168.1.2", false}, {"registry.example", false},
	}
	for _, tt := range tests {
		if got := isLoopback(tt.host); got != tt.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
	rt := &retryTransport{inner: http.DefaultTransport, attempts: 1, sleep: sleepCtx}
	req, _ := http.NewRequest("GET", "http://10.0.0.5:5000/v2/", nil)
	if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "plain HTTP") {
		t.Errorf("plain HTTP to 10.0.0.5: err = %v, want a refusal", err)
	}
}

func BenchmarkInspect(b *testing.B) {
	reg := startRegistry(b)
	mustPush(b, reg, "sha-0123456", fixture.ImageSpec{Labels: map[string]string{"l": "v"}, Seed: "bench"})
	mustPush(b, reg, "multi", fixture.ImageSpec{Platforms: []string{"linux/amd64", "linux/arm64"}, Seed: "bench"})
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		tag    string
		pinned bool
		cache  bool
	}{
		{"cold/image", "sha-0123456", true, false},
		{"cold/index", "multi", false, false},
		{"warm/pinned", "sha-0123456", true, true},
		{"warm/moving", "multi", false, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := ""
			if bc.cache {
				dir = b.TempDir()
			}
			r := newRepo(b, reg, dir)
			if _, err := r.Inspect(ctx, bc.tag, bc.pinned); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := r.Inspect(ctx, bc.tag, bc.pinned); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
