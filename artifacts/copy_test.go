package artifacts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
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
