// Command serverimage pushes one runnable test image for the runtime
// benchmarks: FROM scratch around a static HTTP server answering -version
// on 127.0.0.1:$PORT (fixture.ServerSpec), and prints its digest.
//
//	go run ./bench/serverimage -ref 127.0.0.1:5099/bench/api:v1 -version v1
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/lkg-dev/lkg/internal/fixture"
)

func main() {
	ref := flag.String("ref", "", "HOST/REPO:TAG to push to")
	version := flag.String("version", "v1", "what the server answers")
	revision := flag.String("revision", "", "the org.opencontainers.image.revision label, if any")
	flag.Parse()
	if *ref == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: serverimage -ref HOST/REPO:TAG [-version V] [-revision SHA]")
		os.Exit(2)
	}
	spec := fixture.ServerSpec{Version: *version}
	if *revision != "" {
		spec.Labels = map[string]string{"org.opencontainers.image.revision": *revision}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dg, err := fixture.PushServer(ctx, *ref, spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serverimage:", err)
		os.Exit(1)
	}
	fmt.Println(dg)
}
