// Command pushimages fills a registry repository for the find benchmark:
// N distinct labelled images, nine in ten tagged sha-<short rev> after the
// commits listed in -revs (one 40-hex commit per line, optionally followed
// by its Unix commit time), the rest with names that carry no revision.
//
//	go run ./bench/pushimages -repo 127.0.0.1:5099/app -revs revs.txt -n 2000
//
// -extra FILE pushes more images, one per line `TAG REV UNIXTIME`: an image
// tagged TAG recording revision REV ("-": no revision label), created at
// UNIXTIME. bench/outage.sh uses it for the images that decide its answer.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lkg-dev/lkg/internal/fixture"
)

func main() {
	repo := flag.String("repo", "", "repository to push to, HOST/REPO")
	revsFile := flag.String("revs", "", "file of commits: `HASH [UNIXTIME]` per line")
	n := flag.Int("n", 2000, "images to push")
	workers := flag.Int("workers", 16, "concurrent pushes")
	extra := flag.String("extra", "", "file of extra images: `TAG REV|- UNIXTIME` per line")
	flag.Parse()
	if *repo == "" || *revsFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*repo, *revsFile, *extra, *n, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "pushimages:", err)
		os.Exit(1)
	}
}

type rev struct {
	hash string
	at   time.Time
}

func readRevs(path string) ([]rev, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var revs []rev
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		r := rev{hash: fields[0], at: time.Unix(1767225600, 0).UTC()}
		if len(fields) > 1 {
			if s, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				r.at = time.Unix(s, 0).UTC()
			}
		}
		revs = append(revs, r)
	}
	return revs, sc.Err()
}

// job is one image to push.
type job struct {
	tag      string
	spec     fixture.ImageSpec
	attested string // the revision the provenance records; "": a plain image
}

// plan names the images: every tenth has a name without a revision (a few
// moving names, then build numbers too short to read as hex revisions).
func plan(revs []rev, n int) []job {
	moving := []string{"latest", "prod", "staging", "canary"}
	var jobs []job
	next := 0
	for i := range n {
		r := revs[next%len(revs)]
		spec := fixture.ImageSpec{
			Labels: map[string]string{
				"org.opencontainers.image.revision": r.hash,
				"org.opencontainers.image.source":   "https://example.com/bench/app",
			},
			Created: r.at.Add(5 * time.Minute),
			Seed:    strconv.Itoa(i),
		}
		var tag string
		if i%10 == 9 {
			if k := i / 10; k < len(moving) {
				tag = moving[k]
			} else {
				tag = fmt.Sprintf("build-%d", i)
			}
		} else {
			tag = "sha-" + r.hash[:7]
			next++
		}
		jobs = append(jobs, job{tag: tag, spec: spec})
	}
	return jobs
}

// readExtra reads -extra: `TAG REV|- UNIXTIME` per line.
func readExtra(path string) ([]job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var jobs []job
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 && (len(f) != 4 || f[3] != "attested") {
			return nil, fmt.Errorf("%s:%d: want TAG REV|- UNIXTIME [attested]", path, i+1)
		}
		s, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		labels := map[string]string{"org.opencontainers.image.source": "https://example.com/bench/app"}
		j := job{tag: f[0]}
		switch {
		case len(f) == 4:
			j.attested = f[1]
		case f[1] != "-":
			labels["org.opencontainers.image.revision"] = f[1]
		}
		j.spec = fixture.ImageSpec{Labels: labels, Created: time.Unix(s, 0).UTC(), Seed: "extra-" + f[0]}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

func run(repo, revsFile, extraFile string, n, workers int) error {
	revs, err := readRevs(revsFile)
	if err != nil {
		return err
	}
	if len(revs) == 0 {
		return fmt.Errorf("%s lists no commits", revsFile)
	}
	jobs := plan(revs, n)
	if extraFile != "" {
		extra, err := readExtra(extraFile)
		if err != nil {
			return err
		}
		jobs = append(jobs, extra...)
	}
	ctx := context.Background()
	// One pusher: one token exchange, shared connections.
	pusher, err := remote.NewPusher(remote.WithContext(ctx))
	if err != nil {
		return err
	}
	start := time.Now()
	ch := make(chan job)
	var wg sync.WaitGroup
	var done atomic.Int64
	var firstErr error
	var mu sync.Mutex
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				var err error
				if j.attested != "" {
					prov := fixture.Provenance{Repo: "https://example.com/bench/app.git", Commit: j.attested, Checked: true}
					_, _, err = fixture.PushAttested(ctx, repo+":"+j.tag, j.spec, []fixture.Provenance{prov}, remote.Reuse(pusher))
				} else {
					_, err = fixture.Push(ctx, repo+":"+j.tag, j.spec, remote.Reuse(pusher))
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				if c := done.Add(1); c%500 == 0 {
					fmt.Fprintf(os.Stderr, "pushed %d/%d\n", c, len(jobs))
				}
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Fprintf(os.Stderr, "pushed %d images to %s in %.1fs\n", len(jobs), repo, time.Since(start).Seconds())
	return nil
}
