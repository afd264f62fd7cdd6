// Command fullscan is the benchmark's baseline: what a plain
// go-containerregistry program does to read every build's revision. It
// lists the tags, then with 16 workers GETs each tag's manifest and config
// (no cache, one shared puller), and prints how many carried a revision
// label.
//
//	go run ./bench/fullscan -repo 127.0.0.1:5099/app
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lkg-dev/lkg/internal/fixture"
)

func main() {
	repo := flag.String("repo", "", "repository to scan, HOST/REPO")
	workers := flag.Int("workers", 16, "concurrent tag reads")
	flag.Parse()
	if *repo == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*repo, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "fullscan:", err)
		os.Exit(1)
	}
}

func run(repo string, workers int) error {
	ctx := context.Background()
	start := time.Now()
	probe, err := fixture.ParseRef(repo + ":x")
	if err != nil {
		return err
	}
	puller, err := remote.NewPuller(remote.WithContext(ctx), remote.WithJobs(workers))
	if err != nil {
		return err
	}
	tags, err := puller.List(ctx, probe.Context())
	if err != nil {
		return err
	}
	ch := make(chan string)
	var wg sync.WaitGroup
	var labelled, failed atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tag := range ch {
				ref := probe.Context().Tag(tag)
				desc, err := puller.Get(ctx, ref)
				if err != nil {
					failed.Add(1)
					continue
				}
				img, err := desc.Image()
				if err != nil {
					failed.Add(1)
					continue
				}
				cf, err := img.ConfigFile()
				if err != nil {
					failed.Add(1)
					continue
				}
				if cf.Config.Labels["org.opencontainers.image.revision"] != "" {
					labelled.Add(1)
				}
			}
		}()
	}
	for _, t := range tags {
		ch <- t
	}
	close(ch)
	wg.Wait()
	fmt.Printf("fullscan: %d tags, %d labelled, %d failed, %.2fs\n", len(tags), labelled.Load(), failed.Load(), time.Since(start).Seconds())
	return nil
}
