package finder

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/types"
)

// hashOf makes a deterministic 40-hex commit or tree hash from a name.
func hashOf(name string) string {
	return fmt.Sprintf("%x", sha1.Sum([]byte(name)))
}

// fakeCommits resolves revisions from a fixed set of commits, like gitops
// would: full hashes exactly, short ones by unique prefix.
type fakeCommits struct {
	byHash map[string]types.Commit

	mu    sync.Mutex
	calls int
	asked [][]string
	hints []types.LookupHints
}

func newFakeCommits(cs ...types.Commit) *fakeCommits {
	f := &fakeCommits{byHash: map[string]types.Commit{}}
	for _, c := range cs {
		f.byHash[c.Hash] = c
	}
	return f
}

func (f *fakeCommits) Lookup(ctx context.Context, revs []string, hints types.LookupHints) (map[string]types.Commit, map[string]error) {
	f.mu.Lock()
	f.calls++
	f.asked = append(f.asked, append([]string(nil), revs...))
	f.hints = append(f.hints, hints)
	f.mu.Unlock()
	found, failed := map[string]types.Commit{}, map[string]error{}
	for _, r := range revs {
		var hits []types.Commit
		for h, c := range f.byHash {
			if strings.HasPrefix(h, r) {
				hits = append(hits, c)
			}
		}
		switch len(hits) {
		case 1:
			found[r] = hits[0]
		case 0:
			failed[r] = fmt.Errorf("resolving %q: %w", r, types.ErrUnknownRevision)
		default:
			failed[r] = fmt.Errorf("resolving %q: %w", r, types.ErrAmbiguousRevision)
		}
	}
	return found, failed
}

func (f *fakeCommits) lookupCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeRegistry serves canned tags and artifacts, counts requests, injects
// errors and can block until the context is cancelled.
type fakeRegistry struct {
	name       string
	tags       []string
	arts       map[string]types.Artifact // by tag; Inspect of a missing tag fails
	tagsErr    error
	inspectErr map[string]error
	// block makes Inspect wait for ctx; started (if set) gets a value as
	// each blocked Inspect begins.
	block   bool
	started chan struct{}
	// hang makes Inspect ignore ctx and wait for release to be closed.
	hang    bool
	release chan struct{}

	mu        sync.Mutex
	tagsCalls int
	inspected map[string]bool // tag -> pinned
	inspects  int
}

func (r *fakeRegistry) Name() string { return r.name }

func (r *fakeRegistry) Tags(ctx context.Context) ([]string, error) {
	r.mu.Lock()
	r.tagsCalls++
	r.mu.Unlock()
	if r.tagsErr != nil {
		return nil, r.tagsErr
	}
	return r.tags, nil
}

func (r *fakeRegistry) Inspect(ctx context.Context, tag string, pinned bool) (types.Artifact, error) {
	r.mu.Lock()
	r.inspects++
	if r.inspected == nil {
		r.inspected = map[string]bool{}
	}
	r.inspected[tag] = pinned
	r.mu.Unlock()
	if r.block {
		if r.started != nil {
			r.started <- struct{}{}
		}
		<-ctx.Done()
		return types.Artifact{}, ctx.Err()
	}
	if r.hang {
		if r.started != nil {
			r.started <- struct{}{}
		}
		<-r.release
		return types.Artifact{}, errors.New("released")
	}
	if err := r.inspectErr[tag]; err != nil {
		return types.Artifact{}, err
	}
	a, ok := r.arts[tag]
	if !ok {
		return types.Artifact{}, fmt.Errorf("reading %s:%s: manifest unknown", r.name, tag)
	}
	return a, nil
}

func (r *fakeRegistry) inspectCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inspects
}

func (r *fakeRegistry) inspectedTags() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for k, v := range r.inspected {
		out[k] = v
	}
	return out
}

// art is a shorthand for a registry artifact: the revision label (none when
// rev is empty), a digest named after id, and a creation time.
func art(reg, tag, id, rev string, created time.Time) types.Artifact {
	a := types.Artifact{
		Source:    types.SourceRegistry,
		Repo:      reg,
		Image:     reg + ":" + tag,
		Digest:    "sha256:" + hashOf(id) + hashOf(id)[:24],
		Tags:      []string{tag},
		Created:   created,
		Platforms: []string{"linux/amd64"},
	}
	if rev != "" {
		a.Labels = map[string]string{LabelOCIRevision: rev}
	}
	return a
}

// mustFind runs Find and fails the test on an error.
func mustFind(tb testing.TB, goods []Good, commits Commits, regs []Registry, local []types.Artifact, opts Options) Result {
	tb.Helper()
	res, err := Find(context.Background(), goods, commits, regs, local, opts)
	if err != nil {
		tb.Fatalf("Find: %v", err)
	}
	return res
}
