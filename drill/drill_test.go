package drill

import (
	"context"
	"github.com/lkg-dev/lkg/deploy/registry"
	"github.com/lkg-dev/lkg/internal/imageref"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/lkg-dev/lkg/types"
)

func TestCheck(t *testing.T) {
	ctx := context.Background()
	reg, err := fixture.StartRegistry(ctx, fixture.WithInProcess())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	repo := reg.Addr + "/shop/api"
	push := func(tag, seed string) string {
		t.Helper()
		d, err := fixture.Push(ctx, repo+":"+tag, fixture.ImageSpec{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	prod := push("prod", "v3")
	d2 := push("sha-2", "v2")
	d1 := push("sha-1", "v1")
	d1b := push("sha-1b", "v1-rebuilt")

	// v2's only layer is deleted: not restorable. v1's best build lost its
	// config, its second one is whole.
	deleteFirst := func(digest string, config bool) {
		t.Helper()
		ref, err := fixture.ParseRef(repo + "@" + digest)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		blob := m.Layers[0].Digest
		if config {
			blob = m.Config.Digest
		}
		req, _ := http.NewRequest(http.MethodDelete, "http://"+reg.Addr+"/v2/shop/api/blobs/"+blob.String(), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	deleteFirst(d2, false)
	deleteFirst(d1, true)

	build := func(tag, digest, good string) finder.Build {
		return finder.Build{Source: types.SourceRegistry, Repo: repo, Image: repo + ":" + tag, Digest: digest, GoodTag: good, Match: finder.MatchExact}
	}
	res := finder.Result{
		Good:   []finder.Good{{Tag: "v3", Commit: "c3"}, {Tag: "v2", Commit: "c2"}, {Tag: "v1", Commit: "c1"}, {Tag: "v0", Commit: "c0"}},
		Builds: []finder.Build{build("prod", prod, "v3"), build("sha-2", d2, "v2"), build("sha-1", d1, "v1"), build("sha-1b", d1b, "v1")},
	}
	copier, err := artifacts.NewCopier(artifacts.WithRetry(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	prodTag, err := imageref.ParseTag(repo + ":prod")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Check(ctx, copier, res, registry.New(copier, prodTag, 0))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Current != prod || len(rep.Tags) != 4 {
		t.Fatalf("Check = current %s, %d tags; want %s, 4", rep.Current, len(rep.Tags), prod)
	}
	type row struct {
		inProd, restorable bool
		plan               PlanStatus
		digest             string
	}
	want := []row{
		{true, true, PlanUnchanged, prod},
		{false, false, PlanSkipped, d2},
		{false, true, PlanOK, d1b},
		{false, false, PlanSkipped, ""},
	}
	for i, w := range want {
		got := rep.Tags[i]
		digest := ""
		if got.Build != nil {
			digest = got.Build.Digest
		}
		if got.InProduction != w.inProd || got.Restorable != w.restorable || got.Plan.Status != w.plan || digest != w.digest {
			t.Errorf("tag %s = in production %v, restorable %v, plan %s, build %s; want %+v (note %q)",
				got.GoodTag, got.InProduction, got.Restorable, got.Plan.Status, digest, w, got.Note)
		}
	}
	if got := rep.Tags[1].Missing; len(got) != 1 || got[0].Kind != artifacts.MissingLayer {
		t.Errorf("v2 missing = %+v, want its layer", got)
	}
	if rep.Fallback != "v2" || rep.Restorable {
		t.Errorf("fallback %s restorable %v, want v2 not restorable", rep.Fallback, rep.Restorable)
	}
	if rep.Tags[2].Note == "" {
		t.Error("v1 has no note saying its best build was not restorable")
	}
}
