package artifacts

import (
	"context"
	"errors"
	"net/http"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/lkg-dev/lkg/internal/fixture"
)

// deleteBlob deletes a blob through the registry API, as retention does.
func deleteBlob(t *testing.T, addr, repo string, d v1.Hash) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, "http://"+addr+"/v2/"+repo+"/blobs/"+d.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE blob: HTTP %d", resp.StatusCode)
	}
}

func TestRestorable(t *testing.T) {
	ctx := context.Background()
	reg := copyRegistry(t)
	c := mustCopier(t)
	img := reg.Addr + "/shop/api"
	one := copyPush(t, img+":one", fixture.ImageSpec{Seed: "one", Layers: 2})
	multi := copyPush(t, img+":multi", fixture.ImageSpec{Seed: "multi", Platforms: []string{"linux/amd64", "linux/arm64"}})

	for _, tc := range []struct {
		ref       string
		platforms []string
		checked   int
		missing   []string // kinds
	}{
		{img + "@" + one, nil, 4, nil},
		{img + ":multi", nil, 7, nil},
		{img + ":multi", []string{"linux/arm64"}, 4, nil},
		{img + ":multi", []string{"linux/s390x"}, 1, []string{string(MissingPlatform)}},
		{img + "@" + one, []string{"linux/amd64", "linux/arm64"}, 4, []string{string(MissingPlatform)}},
		{img + ":gone", nil, 0, []string{string(MissingManifest)}},
	} {
		r, err := c.Restorable(ctx, tc.ref, tc.platforms)
		if err != nil {
			t.Fatalf("Restorable(%s, %q): %v", tc.ref, tc.platforms, err)
		}
		var kinds []string
		for _, m := range r.Missing {
			kinds = append(kinds, string(m.Kind))
		}
		if r.Checked != tc.checked || len(kinds) != len(tc.missing) || (len(kinds) > 0 && kinds[0] != tc.missing[0]) {
			t.Errorf("Restorable(%s, %q) = checked %d, missing %q; want %d, %q", tc.ref, tc.platforms, r.Checked, kinds, tc.checked, tc.missing)
		}
	}

	// A layer of the arm64 child is deleted: the index is not restorable
	// for arm64, and Err names the blob; amd64 alone still is.
	ref, err := fixture.ParseRef(img + "@" + multi)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var arm v1.Hash
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.Architecture == "arm64" {
			child, err := idx.Image(m.Digest)
			if err != nil {
				t.Fatal(err)
			}
			layers, err := child.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if arm, err = layers[0].Digest(); err != nil {
				t.Fatal(err)
			}
		}
	}
	deleteBlob(t, reg.Addr, "shop/api", arm)
	r, err := c.Restorable(ctx, img+"@"+multi, []string{"linux/amd64", "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Missing) != 1 || r.Missing[0] != (Missing{Kind: MissingLayer, Digest: arm.String(), Platform: "linux/arm64"}) {
		t.Errorf("Missing = %+v, want the arm64 layer %s", r.Missing, arm)
	}
	if err := r.Err(); !errors.Is(err, ErrNotRestorable) {
		t.Errorf("Err() = %v, want ErrNotRestorable", err)
	}
	if r, err := c.Restorable(ctx, img+"@"+multi, []string{"linux/amd64"}); err != nil || !r.OK() {
		t.Errorf("Restorable(amd64 only) = %+v, %v; want OK", r, err)
	}
}
