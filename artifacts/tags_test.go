package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// pagingRegistry serves only /v2/ and app's tag list, in pages of at most
// size tags after the last parameter, with a Link header to the next.
type pagingRegistry struct {
	mu   sync.Mutex
	tags []string
	size int
	// cursorOnly pages by an opaque cursor in the Link header, as some
	// hosted registries do, and ignores last.
	cursorOnly bool
	rejectLast bool // answer 400 to a page asked for by last
	loop       bool // every page's Link leads back to the second page
	// delay is added to every tag-list answer: a registry across a
	// network, for the benchmark.
	delay time.Duration
	asked []string // the query of each tag-list request
	// barrier, when above 1, holds each tag-list request until that many
	// are in flight together (or a guard passes): met says they were.
	// waiting counts the requests held now.
	barrier int
	waiting int
	release chan struct{}
	met     bool
}

func (p *pagingRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/" {
		return
	}
	if r.URL.Path != "/v2/app/tags/list" {
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	p.asked = append(p.asked, r.URL.RawQuery)
	if p.barrier > 1 {
		p.waiting++
		if p.waiting == p.barrier && !p.met {
			p.met = true
			close(p.release)
		}
		release := p.release
		p.mu.Unlock()
		select {
		case <-release:
		case <-time.After(5 * time.Second): // guards against a hang, not a duration
		}
		p.mu.Lock()
		p.waiting--
	}
	tags := slices.Sorted(slices.Values(p.tags))
	size := p.size
	if n, err := strconv.Atoi(r.URL.Query().Get("n")); err == nil && n < size {
		size = n
	}
	cursorOnly, delay, rejectLast, loop := p.cursorOnly, p.delay, p.rejectLast, p.loop
	p.mu.Unlock()
	time.Sleep(delay)
	if rejectLast && r.URL.Query().Has("last") {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"errors":[{"code":"PAGINATION_NUMBER_INVALID","message":"invalid last"}]}`)
		return
	}
	start := 0
	switch last := r.URL.Query().Get("last"); {
	case cursorOnly:
		start, _ = strconv.Atoi(r.URL.Query().Get("cursor"))
	case last != "":
		i, found := slices.BinarySearch(tags, last)
		if found {
			i++
		}
		start = i
	}
	tags = tags[min(start, len(tags)):]
	if len(tags) > size {
		tags = tags[:size]
		next := url.Values{"n": {strconv.Itoa(size)}, "last": {tags[size-1]}}
		if cursorOnly {
			next = url.Values{"n": {strconv.Itoa(size)}, "cursor": {strconv.Itoa(start + size)}}
		}
		if loop {
			next = url.Values{"n": {strconv.Itoa(size)}, "cursor": {strconv.Itoa(size)}}
		}
		w.Header().Set("Link", `</v2/app/tags/list?`+next.Encode()+`>; rel="next"`)
	}
	json.NewEncoder(w).Encode(map[string]any{"name": "app", "tags": tags})
}

// setTags replaces the registry's tags and clears the request log.
func (p *pagingRegistry) setTags(tags []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tags, p.asked = slices.Clone(tags), nil
}

// set changes the registry's behaviour between listings.
func (p *pagingRegistry) set(f func(*pagingRegistry)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *pagingRegistry) setBarrier(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.barrier, p.waiting, p.met, p.release = n, 0, false, make(chan struct{})
}

func (p *pagingRegistry) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.asked)
}

func tagRange(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%04d", prefix, i))
	}
	return out
}

// TestTagsAtOnce: the first listing follows the Link headers page by
// page; later ones ask for every page at once, starting after the tags
// the last listing's pages began after, and fill the gaps tags added
// since open. Each listing is the registry's whole list.
func TestTagsAtOnce(t *testing.T) {
	reg := &pagingRegistry{size: 40}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	cache := t.TempDir()
	list := func(t *testing.T) []string {
		t.Helper()
		r, err := NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/app", WithKeychain(authn.NewMultiKeychain()), WithCacheDir(cache), WithRetry(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Tags(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	check := func(t *testing.T, want []string) {
		t.Helper()
		if got := list(t); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Fatalf("Tags: %d tags, want %d (%v)", len(got), len(want), reg.requests())
		}
	}

	all := tagRange("v", 0, 250)
	reg.setTags(all)
	check(t, all)
	if got := len(reg.requests()); got != 7 {
		t.Errorf("first listing: %d requests, want 7 pages one by one: %q", got, reg.requests())
	}

	// Nothing changed: the seven pages, asked for together.
	reg.setTags(all)
	reg.setBarrier(7)
	check(t, all)
	if !reg.met {
		t.Errorf("second listing: the pages were not asked for at once: %q", reg.requests())
	}
	if got := len(reg.requests()); got != 7 {
		t.Errorf("second listing: %d requests, want 7: %q", got, reg.requests())
	}
	reg.setBarrier(0)

	// 100 tags within the third page's range, 30 after the end, 20 gone:
	// the pages before each gap lead on through their next links.
	changed := slices.Concat(all[:20], all[40:], tagRange("v0085-", 0, 100), tagRange("w", 0, 30))
	reg.setTags(changed)
	check(t, changed)
	// And that listing's pages are the next one's.
	reg.setTags(changed)
	check(t, changed)
	if got, want := len(reg.requests()), (len(changed)+39)/40; got != want {
		t.Errorf("listing after the change: %d requests, want %d: %q", got, want, reg.requests())
	}

	// The registry now serves 20 tags a page: the pages asked for by 40
	// fall short and lead on through their links; the next listing asks
	// for 20-tag pages.
	reg.set(func(p *pagingRegistry) { p.size = 20 })
	reg.setTags(changed)
	check(t, changed)
	reg.setTags(changed)
	check(t, changed)
	asked := reg.requests()
	if got, want := len(asked), (len(changed)+19)/20; got != want || slices.ContainsFunc(asked, func(q string) bool { return !strings.HasSuffix(q, "n=20") }) {
		t.Errorf("listing after the page size changed: %d requests, want %d asking for 20 tags: %q", got, want, asked)
	}
	reg.set(func(p *pagingRegistry) { p.size = 40 })
	check(t, changed) // and back

	// A registry that pages by its own cursor and ignores last answers
	// every page asked for at once with its first: lkg sees the pages do
	// not fit and reads it page by page.
	reg.set(func(p *pagingRegistry) { p.cursorOnly = true })
	reg.setTags(all)
	check(t, all)
	asked = reg.requests()
	want := []string{"n=1000"} // go-containerregistry's first page, then the links
	for k := 40; k < 250; k += 40 {
		want = append(want, fmt.Sprintf("cursor=%d&n=40", k))
	}
	if len(asked) < len(want) || !slices.Equal(asked[len(asked)-len(want):], want) {
		t.Errorf("registry ignoring last: requests %q, want them to end page by page: %q", asked, want)
	}

	// One that refuses pages asked for by last: the same.
	reg.setTags(all)
	reg.set(func(p *pagingRegistry) { p.rejectLast = true })
	check(t, all)
	if asked := reg.requests(); len(asked) < len(want) || !slices.Equal(asked[len(asked)-len(want):], want) {
		t.Errorf("registry refusing last: requests %q, want them to end page by page: %q", asked, want)
	}
}

// BenchmarkTagsPaged lists 10,000 tags served 100 a page, each answer 20
// ms late (a registry across a network): page by page (the first listing,
// or no cache) against all pages at once (every later listing).
func BenchmarkTagsPaged(b *testing.B) {
	reg := &pagingRegistry{size: 100, delay: 20 * time.Millisecond}
	reg.setTags(tagRange("v", 0, 10000))
	srv := httptest.NewServer(reg)
	defer srv.Close()
	for _, bc := range []struct {
		name  string
		cache bool
	}{{"page-by-page", false}, {"at-once", true}} {
		b.Run(bc.name, func(b *testing.B) {
			cache := ""
			if bc.cache {
				cache = b.TempDir()
			}
			open := func() *Repository {
				r, err := NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/app", WithKeychain(authn.NewMultiKeychain()), WithCacheDir(cache))
				if err != nil {
					b.Fatal(err)
				}
				return r
			}
			if _, err := open().Tags(context.Background()); err != nil { // fills the cache
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				tags, err := open().Tags(context.Background())
				if err != nil || len(tags) != 10000 {
					b.Fatalf("%d tags, %v", len(tags), err)
				}
			}
		})
	}
}

// TestTagsLoop: a registry whose Link headers lead back to a page already
// read is an error, not a listing that never ends.
func TestTagsLoop(t *testing.T) {
	reg := &pagingRegistry{size: 40, cursorOnly: true, loop: true}
	reg.setTags(tagRange("v", 0, 250))
	srv := httptest.NewServer(reg)
	defer srv.Close()
	r, err := NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/app", WithKeychain(authn.NewMultiKeychain()), WithCacheDir(""), WithRetry(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Tags(context.Background())
	if !errors.Is(err, errPagesLoop) || !strings.Contains(err.Error(), "cursor=40") {
		t.Errorf("Tags = %v, want errPagesLoop naming the page", err)
	}
	if n := len(reg.requests()); n > 3 {
		t.Errorf("%d requests before giving up, want 3", n)
	}
}
