package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sync/errgroup"

	"github.com/lkg-dev/lkg/internal/fixture"
)

func init() {
	scriptCmds["tag-many"] = cmdTagMany
}

const tagManyUsage = "tag-many HOST/REPO:TAG N FORMAT"

// cmdTagMany puts the manifest of HOST/REPO:TAG under N more tags of the
// same repository, named by FORMAT with the numbers 1..N (a Go format with
// one integer verb, like sha-%040x): how a suite makes a registry with
// thousands of tags in a second.
func cmdTagMany(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: %s", tagManyUsage)
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 {
		ts.Fatalf("usage: %s: N must be a positive number", tagManyUsage)
	}
	if strings.Count(args[2], "%") != 1 {
		ts.Fatalf("usage: %s: FORMAT needs exactly one integer verb", tagManyUsage)
	}
	src, err := fixture.ParseRef(args[0])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	desc, err := remote.Get(src, remote.WithContext(ctx))
	ts.Check(err)
	pusher, err := remote.NewPusher(remote.WithContext(ctx))
	ts.Check(err)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := 1; i <= n; i++ {
		g.Go(func() error {
			tag := src.Context().Tag(fmt.Sprintf(args[2], i))
			return pusher.Push(gctx, tag, desc)
		})
	}
	ts.Check(g.Wait())
}
