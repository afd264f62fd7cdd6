package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/internal/demo"
	"github.com/lkg-dev/lkg/internal/fixture"
)

// TestPushMatchesFixture: the demo's images are byte for byte the ones
// internal/fixture makes from the same spec, so the demo shows what the
// tests exercise.
func TestPushMatchesFixture(t *testing.T) {
	reg, err := demo.StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx := context.Background()
	labels := map[string]string{"org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567"}
	created := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	got, err := demo.Push(ctx, reg.Addr+"/shop/api:demo", demo.Image{Labels: labels, Created: created, Seed: "s"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := fixture.Push(ctx, reg.Addr+"/shop/api:fixture", fixture.ImageSpec{Labels: labels, Created: created, Seed: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("demo.Push digest = %s, fixture.Push digest = %s; want the same image", got, want)
	}
}
