package artifacts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/lkg-dev/lkg/internal/fixture"
)

// copyRegistry starts an in-process registry that logs its requests.
func copyRegistry(t *testing.T) *fixture.Registry {
	t.Helper()
	r, err := fixture.StartRegistry(context.Background(), fixture.WithInProcess())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func copyPush(t *testing.T, ref string, spec fixture.ImageSpec) string {
	t.Helper()
	d, err := fixture.Push(context.Background(), ref, spec)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustCopier(t *testing.T) *Copier {
	t.Helper()
	c, err := NewCopier(WithRetry(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// headDigest is the target's digest as a plain client sees it.
func headDigest(t *testing.T, ref string) string {
	t.Helper()
	r, err := fixture.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest.String()
}

// count is how many logged requests start with method and contain sub.
func count(reqs []string, method, sub string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, method+" ") && strings.Contains(r, sub) {
			n++
		}
	}
	return n
}

func TestCopy(t *testing.T) {
	ctx := context.Background()
	reg := copyRegistry(t)
	other := copyRegistry(t)
	at := func(r *fixture.Registry, s string) string { return r.Addr + "/" + s }

	good := fixture.ImageSpec{Seed: "good", Layers: 3, Labels: map[string]string{LabelRevision: "aaaa"}}
	multi := fixture.ImageSpec{Seed: "multi", Platforms: []string{"linux/amd64", "linux/arm64"}}
	bad := fixture.ImageSpec{Seed: "bad"}

	tests := []struct {
		name   string
		setup  func(t *testing.T) (source, target string) // pushes, returns refs
		check  func(t *testing.T, plan *CopyPlan, reqs []string)
		moveTo string // when set, the target is moved to this seed between plan and copy
	}{
		{
			name: "same repository is one manifest PUT",
			setup: func(t *testing.T) (string, string) {
				copyPush(t, at(reg, "same/app:v1"), good)
				copyPush(t, at(reg, "same/app:prod"), bad)
				return at(reg, "same/app:v1"), at(reg, "same/app:prod")
			},
			check: func(t *testing.T, plan *CopyPlan, reqs []string) {
				if !plan.SameRepo {
					t.Error("SameRepo = false")
				}
				if got := count(reqs, "PUT", "/manifests/"); got != 1 {
					t.Errorf("manifest PUTs = %d, want 1 (%q)", got, reqs)
				}
				if got := count(reqs, "PUT", "/blobs/") + count(reqs, "POST", "/blobs/"); got != 0 {
					t.Errorf("blob writes = %d, want 0", got)
				}
			},
		},
		{
			name: "other repository mounts blobs",
			setup: func(t *testing.T) (string, string) {
				copyPush(t, at(reg, "staging/app:v1"), good)
				return at(reg, "staging/app:v1"), at(reg, "prod/app:live")
			},
			check: func(t *testing.T, plan *CopyPlan, reqs []string) {
				if plan.Previous != "" {
					t.Errorf("Previous = %q, want absent", plan.Previous)
				}
				// Nothing is uploaded again: the in-process registry shares
				// blobs across repositories (a HEAD finds them), the real
				// one is asked to mount them (POST ...?mount=).
				if got := count(reqs, "PATCH", "/blobs/") + count(reqs, "PUT", "/blobs/"); got != 0 {
					t.Errorf("blob uploads = %d, want 0 (%q)", got, reqs)
				}
				if got := count(reqs, "PUT", "/manifests/"); got != 2 {
					t.Errorf("manifest PUTs = %d, want 2: by digest, then the tag (%q)", got, reqs)
				}
			},
		},
		{
			name: "other registry copies blobs",
			setup: func(t *testing.T) (string, string) {
				copyPush(t, at(reg, "far/app:v1"), good)
				return at(reg, "far/app:v1"), at(other, "far/app:prod")
			},
		},
		{
			name: "index copied whole",
			setup: func(t *testing.T) (string, string) {
				copyPush(t, at(reg, "multi/app:v2"), multi)
				return at(reg, "multi/app:v2"), at(reg, "multiprod/app:prod")
			},
			check: func(t *testing.T, plan *CopyPlan, reqs []string) {
				idx, err := fixture.Index(multi)
				if err != nil {
					t.Fatal(err)
				}
				im, err := idx.IndexManifest()
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range im.Manifests {
					headDigest(t, at(reg, "multiprod/app@"+m.Digest.String()))
				}
			},
		},
		{
			name: "cosign tags and referrers come along",
			setup: func(t *testing.T) (string, string) {
				d := copyPush(t, at(reg, "signed/app:v3"), good)
				tag := strings.Replace(d, ":", "-", 1)
				copyPush(t, at(reg, "signed/app:"+tag+".sig"), fixture.ImageSpec{Seed: "sig"})
				copyPush(t, at(reg, "signed/app:"+tag+".att"), fixture.ImageSpec{Seed: "att"})
				copyPush(t, at(reg, "signed/app:sha256-0000.sig"), fixture.ImageSpec{Seed: "other sig"})
				pushReferrer(t, at(reg, "signed/app"), d)
				return at(reg, "signed/app:v3"), at(reg, "signedprod/app:prod")
			},
			check: func(t *testing.T, plan *CopyPlan, reqs []string) {
				tag := strings.Replace(plan.Digest, ":", "-", 1)
				if got, want := plan.CosignTags, []string{tag + ".att", tag + ".sig"}; !slices.Equal(got, want) {
					t.Errorf("CosignTags = %q, want %q", got, want)
				}
				for _, ct := range plan.CosignTags {
					if got, want := headDigest(t, at(reg, "signedprod/app:"+ct)), headDigest(t, at(reg, "signed/app:"+ct)); got != want {
						t.Errorf("%s: target %s, source %s", ct, got, want)
					}
				}
				if len(plan.Referrers) != 1 {
					t.Fatalf("Referrers = %q, want one", plan.Referrers)
				}
				d, err := name.NewDigest(at(reg, "signedprod/app@"+plan.Digest), name.Insecure)
				if err != nil {
					t.Fatal(err)
				}
				idx, err := remote.Referrers(d)
				if err != nil {
					t.Fatal(err)
				}
				im, _ := idx.IndexManifest()
				if len(im.Manifests) != 1 || im.Manifests[0].Digest.String() != plan.Referrers[0] {
					t.Errorf("target referrers = %+v, want %s", im.Manifests, plan.Referrers[0])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			source, target := tt.setup(t)
			c := mustCopier(t)
			plan, err := c.Plan(ctx, source, target)
			if err != nil {
				t.Fatal(err)
			}
			if want := headDigest(t, source); plan.Digest != want {
				t.Errorf("plan.Digest = %s, want %s", plan.Digest, want)
			}
			reg.ResetRequests()
			if err := c.Copy(ctx, plan); err != nil {
				t.Fatal(err)
			}
			if got := headDigest(t, target); got != plan.Digest {
				t.Errorf("target at %s, want %s", got, plan.Digest)
			}
			if tt.check != nil {
				tt.check(t, plan, reg.Requests())
			}
		})
	}
}

// pushReferrer pushes a small artifact whose subject is digest into repo.
func pushReferrer(t *testing.T, repo, digest string) {
	t.Helper()
	img, err := fixture.Image(fixture.ImageSpec{Seed: "sbom"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(digest)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := fixture.ParseRef(repo + ":unused")
	if err != nil {
		t.Fatal(err)
	}
	subj := mutate.Subject(img, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: 1}).(v1.Image)
	d, err := subj.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref.Context().Digest(d.String()), subj); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTargetMoved(t *testing.T) {
	ctx := context.Background()
	reg := copyRegistry(t)
	src, dst := reg.Addr+"/cas/app:v1", reg.Addr+"/cas/app:prod"
	copyPush(t, src, fixture.ImageSpec{Seed: "good"})
	before := copyPush(t, dst, fixture.ImageSpec{Seed: "bad"})
	c := mustCopier(t)
	plan, err := c.Plan(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Previous != before {
		t.Errorf("Previous = %s, want %s", plan.Previous, before)
	}
	// Someone else deploys between our plan and our move.
	theirs := copyPush(t, dst, fixture.ImageSpec{Seed: "theirs", Created: time.Unix(1, 0)})
	err = c.Copy(ctx, plan)
	if !errors.Is(err, ErrTargetMoved) {
		t.Fatalf("err = %v, want ErrTargetMoved", err)
	}
	if got := headDigest(t, dst); got != theirs {
		t.Errorf("target at %s, want theirs %s untouched", got, theirs)
	}
}

func TestCopyErrors(t *testing.T) {
	ctx := context.Background()
	reg := copyRegistry(t)
	copyPush(t, reg.Addr+"/e/app:v1", fixture.ImageSpec{Seed: "x"})
	denied, err := fixture.StartRegistry(ctx, fixture.WithInProcess(), fixture.WithBasicAuth("u", "p"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { denied.Close() })
	c := mustCopier(t)
	tests := []struct {
		name           string
		source, target string
		want           error // nil: any error
	}{
		{"target without tag", reg.Addr + "/e/app:v1", reg.Addr + "/e/app", nil},
		{"target by digest", reg.Addr + "/e/app:v1", reg.Addr + "/e/app@sha256:" + strings.Repeat("0", 64), nil},
		{"source missing", reg.Addr + "/e/app:nope", reg.Addr + "/e/app:prod", ErrTagNotFound},
		{"target unauthorized", reg.Addr + "/e/app:v1", denied.Addr + "/e/app:prod", ErrUnauthorized},
		{"target unreachable", reg.Addr + "/e/app:v1", "127.0.0.1:1/e/app:prod", ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Plan(ctx, tt.source, tt.target)
			if err == nil {
				t.Fatal("Plan succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// An interrupted copy (Ctrl-C) leaves the target where it was.
func TestCopyCancelled(t *testing.T) {
	reg := copyRegistry(t)
	src, dst := reg.Addr+"/cancel/app:v1", reg.Addr+"/cancelprod/app:prod"
	copyPush(t, src, fixture.ImageSpec{Seed: "good", Layers: 2})
	before := copyPush(t, dst, fixture.ImageSpec{Seed: "bad"})
	c := mustCopier(t)
	plan, err := c.Plan(context.Background(), src, dst)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Copy(ctx, plan); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := headDigest(t, dst); got != before {
		t.Errorf("target at %s, want %s untouched", got, before)
	}
}

// BenchmarkCopy times a redeploy of a 5-layer image (1 MB a layer) on the
// in-process registry: within one repository (one manifest PUT) and into
// another repository (every blob found or mounted, nothing re-uploaded).
//
//	go test -run '^$' -bench Copy ./artifacts/
func BenchmarkCopy(b *testing.B) {
	ctx := context.Background()
	reg, err := fixture.StartRegistry(ctx, fixture.WithInProcess())
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	src := reg.Addr + "/bench/app:v1"
	if _, err := fixture.Push(ctx, src, fixture.ImageSpec{Seed: "bench", Layers: 5, LayerSize: 1 << 20}); err != nil {
		b.Fatal(err)
	}
	if _, err := fixture.Push(ctx, reg.Addr+"/bench/app:prod", fixture.ImageSpec{Seed: "old"}); err != nil {
		b.Fatal(err)
	}
	c, err := NewCopier()
	if err != nil {
		b.Fatal(err)
	}
	for _, bm := range []struct{ name, target string }{
		{"same-repo", reg.Addr + "/bench/app:prod"},
		{"other-repo", reg.Addr + "/benchprod/app:prod"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				// A fresh tag each time, so every iteration really moves one.
				plan, err := c.Plan(ctx, src, fmt.Sprintf("%s-%d", bm.target, i))
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Copy(ctx, plan); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// tagFault is what the registry in TestCopyTagWriteNotRetriedBlind does to
// one PUT of the target tag.
type tagFault struct {
	apply  bool   // the registry applies the PUT before the fault acts
	move   bool   // another writer moves the tag before the answer
	status int    // answered with this status (and Retry-After); 0: the registry's own answer
	after  string // the Retry-After sent with status
	reset  bool   // no answer: the connection is reset once the body is read
}

// racyTag wraps the in-process registry: the PUTs of one tag meet faults,
// and "another writer" can point that tag at their manifest at any time.
type racyTag struct {
	inner  http.Handler
	path   string               // "/v2/REPO/manifests/TAG"
	faults func(n int) tagFault // for the nth PUT of the tag, from 1

	theirs, theirsType string // the other writer's manifest

	mu    sync.Mutex
	armed bool // faults act and PUTs count from now on
	puts  int
}

func (r *racyTag) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPut || req.URL.Path != r.path {
		r.inner.ServeHTTP(w, req)
		return
	}
	r.mu.Lock()
	if !r.armed {
		r.mu.Unlock()
		r.inner.ServeHTTP(w, req)
		return
	}
	r.puts++
	f := r.faults(r.puts)
	r.mu.Unlock()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	if f.apply {
		r.put(httptest.NewRecorder(), body, req.Header.Get("Content-Type"))
	}
	if f.move {
		r.moveTag()
	}
	switch {
	case f.reset:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_ = conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	case f.status != 0:
		if f.after != "" {
			w.Header().Set("Retry-After", f.after)
		}
		w.WriteHeader(f.status)
	case f.apply:
		w.WriteHeader(http.StatusCreated)
	default:
		r.put(w, body, req.Header.Get("Content-Type"))
	}
}

// put writes a manifest under the tag, straight to the registry.
func (r *racyTag) put(w http.ResponseWriter, body []byte, mediaType string) {
	req := httptest.NewRequest(http.MethodPut, r.path, bytes.NewReader(body))
	req.Header.Set("Content-Type", mediaType)
	r.inner.ServeHTTP(w, req)
}

// moveTag is the other writer: it points the tag at their manifest.
func (r *racyTag) moveTag() {
	r.put(httptest.NewRecorder(), []byte(r.theirs), r.theirsType)
}

func (r *racyTag) arm() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed = true
}

func (r *racyTag) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.puts
}

// TestCopyTagWriteNotRetriedBlind: a PUT of the target tag that fails or is
// throttled is never sent again blindly. The copier reads the tag first:
// its own digest means the write landed, the planned one allows one more
// write (after the Retry-After), anything else is another writer's, and
// the copy fails with ErrTargetMoved naming it: never a lost update.
func TestCopyTagWriteNotRetriedBlind(t *testing.T) {
	ctx := context.Background()
	first := func(f tagFault) func(int) tagFault {
		return func(n int) tagFault {
			if n == 1 {
				return f
			}
			return tagFault{}
		}
	}
	always := func(f tagFault) func(int) tagFault { return func(int) tagFault { return f } }
	const (
		ours   = "ours"
		theirs = "theirs"
		before = "before"
	)
	const backoff = -1 // in wantWaits: a backoff wait, of any length
	tests := []struct {
		name       string
		faults     func(n int) tagFault
		moveInWait bool // the other writer moves the tag while lkg waits
		wantErr    error
		wantText   string // in the error, with "theirs" standing for their digest
		wantTag    string // ours, theirs or before
		wantPuts   int
		wantWaits  []time.Duration
	}{
		{"503, moved meanwhile", first(tagFault{move: true, status: 503, after: "3"}), false,
			ErrTargetMoved, "it now holds theirs", theirs, 1, nil},
		{"503, moved during the Retry-After wait", first(tagFault{status: 503, after: "3"}), true,
			ErrTargetMoved, "it now holds theirs", theirs, 1, []time.Duration{3 * time.Second}},
		{"503, nobody else writes: written again once", first(tagFault{status: 503, after: "3"}), false,
			nil, "", ours, 2, []time.Duration{3 * time.Second}},
		{"429, Retry-After capped", first(tagFault{status: 429, after: "3600"}), false,
			nil, "", ours, 2, []time.Duration{30 * time.Second}},
		{"applied, answer lost in a 503: the failure is returned, the tag moved", first(tagFault{apply: true, status: 503, after: "3"}), false,
			nil, "answered 503", ours, 1, nil},
		{"applied, then moved, then a 503", first(tagFault{apply: true, move: true, status: 503, after: "3"}), false,
			ErrTargetMoved, "it now holds theirs", theirs, 1, nil},
		{"reset after the body, moved meanwhile", first(tagFault{move: true, reset: true}), false,
			ErrTargetMoved, "it now holds theirs", theirs, 1, nil},
		{"reset after the body, nobody else writes", first(tagFault{reset: true}), false,
			nil, "", ours, 2, []time.Duration{backoff}},
		{"503 every time: two writes, then the error", always(tagFault{status: 503, after: "3"}), false,
			nil, "503", before, 2, []time.Duration{3 * time.Second}},
		{"400 is not written again", always(tagFault{status: 400}), false,
			nil, "400", before, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &racyTag{
				inner:  registry.New(registry.Logger(log.New(io.Discard, "", 0))),
				path:   "/v2/race/app/manifests/prod",
				faults: tt.faults,
			}
			srv := httptest.NewServer(rt)
			t.Cleanup(srv.Close)
			repo := strings.TrimPrefix(srv.URL, "http://") + "/race/app"
			want := map[string]string{
				ours:   copyPush(t, repo+":v1", fixture.ImageSpec{Seed: "good"}),
				theirs: copyPush(t, repo+":theirs", fixture.ImageSpec{Seed: "theirs"}),
				before: copyPush(t, repo+":prod", fixture.ImageSpec{Seed: "bad"}),
			}
			ref, err := fixture.ParseRef(repo + ":theirs")
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Get(ref)
			if err != nil {
				t.Fatal(err)
			}
			rt.theirs, rt.theirsType = string(desc.Manifest), string(desc.MediaType)

			c, err := NewCopier(WithKeychain(authn.NewMultiKeychain()), WithRetry(5, 100*time.Millisecond, 30*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			var waits []time.Duration
			c.rt.sleep = func(ctx context.Context, d time.Duration) error {
				waits = append(waits, d)
				if tt.moveInWait {
					rt.moveTag()
				}
				return ctx.Err()
			}
			plan, err := c.Plan(ctx, repo+":v1", repo+":prod")
			if err != nil {
				t.Fatal(err)
			}
			rt.arm()
			err = c.Copy(ctx, plan)
			switch {
			case tt.wantErr == nil && tt.wantText == "":
				if err != nil {
					t.Fatalf("Copy: %v", err)
				}
			case err == nil:
				t.Fatalf("Copy succeeded, want an error saying %q", tt.wantText)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("Copy error %v, want %v", err, tt.wantErr)
			}
			if text := strings.ReplaceAll(tt.wantText, theirs, want[theirs]); err != nil && !strings.Contains(err.Error(), text) {
				t.Errorf("Copy error %q does not say %q", err, text)
			}
			if got := headDigest(t, repo+":prod"); got != want[tt.wantTag] {
				t.Errorf("the tag holds %s, want %s (%s)", got, tt.wantTag, want[tt.wantTag])
			}
			if got := rt.count(); got != tt.wantPuts {
				t.Errorf("%d PUTs of the tag, want %d", got, tt.wantPuts)
			}
			if !slices.EqualFunc(waits, tt.wantWaits, func(got, want time.Duration) bool { return got == want || want == backoff && got > 0 }) {
				t.Errorf("waits %v, want %v", waits, tt.wantWaits)
			}
		})
	}
}

// TestCopyCosignTagWrite: a cosign tag (cosign adds signatures to it in
// place) is written under the same compare-and-swap as the target tag.
func TestCopyCosignTagWrite(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		rule     string
		wantPuts int
	}{
		{"applied, answered 503: not sent again", "method=PUT,path=*/manifests/sha256-*.sig,times=1,apply=1,status=503,retry-after=0", 1},
		{"answered 503: read, then written again", "method=PUT,path=*/manifests/sha256-*.sig,times=1,status=503,retry-after=0", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := copyRegistry(t)
			r, err := fixture.ParseRule(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			p, err := fixture.StartProxy(reg.Addr, r)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			d := copyPush(t, p.Addr+"/signed/app:v1", fixture.ImageSpec{Seed: "good"})
			sig := strings.Replace(d, ":", "-", 1) + ".sig"
			copyPush(t, reg.Addr+"/signed/app:"+sig, fixture.ImageSpec{Seed: "sig"})
			before := copyPush(t, reg.Addr+"/signedprod/app:prod", fixture.ImageSpec{Seed: "bad"})
			c, err := NewCopier(WithKeychain(authn.NewMultiKeychain()), WithRetry(5, time.Millisecond, 10*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			plan, err := c.Plan(ctx, p.Addr+"/signed/app:v1", p.Addr+"/signedprod/app:prod")
			if err != nil {
				t.Fatal(err)
			}
			if plan.Previous != before {
				t.Fatalf("plan.Previous = %s, want %s", plan.Previous, before)
			}
			if err := c.Copy(ctx, plan); err != nil {
				t.Fatal(err)
			}
			if got := headDigest(t, reg.Addr+"/signedprod/app:prod"); got != plan.Digest {
				t.Errorf("target at %s, want %s", got, plan.Digest)
			}
			if got, want := headDigest(t, reg.Addr+"/signedprod/app:"+sig), headDigest(t, reg.Addr+"/signed/app:"+sig); got != want {
				t.Errorf("%s at %s, want %s", sig, got, want)
			}
			if got := p.Count("PUT", "*/manifests/"+sig); got != tt.wantPuts {
				t.Errorf("%d PUTs of %s, want %d: %q", got, sig, tt.wantPuts, p.Requests())
			}
		})
	}
}
