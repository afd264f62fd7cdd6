package artifacts_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/internal/fixture"
)

// A scan lists the tags, then inspects the ones worth reading. A tag whose
// name carries a revision is pinned: once cached it costs no request.
func ExampleRepository_Inspect() {
	ctx := context.Background()
	reg, err := fixture.StartRegistry(ctx, fixture.WithInProcess())
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	spec := fixture.ImageSpec{
		Labels:    map[string]string{"org.opencontainers.image.revision": "4a1c9e0d2b7f8a6c5e3d1b0a9f8e7d6c5b4a3f2e"},
		Platforms: []string{"linux/amd64", "linux/arm64"},
	}
	if _, err := fixture.Push(ctx, reg.Addr+"/shop/api:sha-4a1c9e0", spec); err != nil {
		log.Fatal(err)
	}

	cache, err := os.MkdirTemp("", "lkg-cache-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(cache)
	repo, err := artifacts.NewRepository(reg.Addr+"/shop/api", artifacts.WithCacheDir(cache))
	if err != nil {
		log.Fatal(err)
	}
	tags, err := repo.Tags(ctx)
	if err != nil {
		log.Fatal(err)
	}
	img, err := repo.Inspect(ctx, tags[0], true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tags)
	fmt.Println(img.Labels["org.opencontainers.image.revision"])
	fmt.Println(img.Platforms)
	// Output:
	// [sha-4a1c9e0]
	// 4a1c9e0d2b7f8a6c5e3d1b0a9f8e7d6c5b4a3f2e
	// [linux/amd64 linux/arm64]
}
