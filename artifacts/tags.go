package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/lkg-dev/lkg/internal/redact"
)

// errPagesDisagree: pages asked for at once do not fit together as the
// distribution spec says they must (lexical order, each page after its
// last parameter); the list is read page by page instead.
var errPagesDisagree = errors.New("tag list pages do not fit together")

// errPagesLoop: the tag list's Link headers lead back to a page already
// read.
var errPagesLoop = errors.New("the registry's tag list goes round in circles")

// pagesAtOnce bounds the tag-list pages asked for at the same time.
const pagesAtOnce = 8

// Tags lists every tag of the repository, sorted. A registry that pages its
// list (hosted ones serve a hundred or a thousand tags a page) is read page
// by page, following its Link headers, the first time; lkg remembers after
// which tags the pages began, and later runs ask for all pages at once,
// each starting after its tag (the distribution spec's last parameter).
// The pages are checked to meet: tags added since leave a gap, filled by
// following the next links of the page before it; a registry that ignores
// last, lists out of order or refuses a page asked for that way is read
// page by page again.
func (r *Repository) Tags(ctx context.Context) ([]string, error) {
	if p, ok := r.cache.TagPages(); ok {
		tags, size, err := r.tagsAtOnce(ctx, p)
		if err == nil {
			r.rememberPages(tags, size)
			r.listed(tags)
			return tags, nil
		}
		// A failure page by page would share: said now, not after
		// another round of retries.
		if err := r.classify(ctx, err, true); ctx.Err() != nil || errors.Is(err, ErrUnreachable) || errors.Is(err, ErrUnauthorized) {
			return nil, fmt.Errorf("listing tags of %q: %w", r.name, err)
		}
	}
	tags, err := r.tagsPageByPage(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing tags of %q: %w", r.name, r.classify(ctx, err, true))
	}
	r.listed(tags)
	return tags, nil
}

// tagsPageByPage follows the registry's Link headers through every page,
// and remembers where the pages began when there was more than one.
func (r *Repository) tagsPageByPage(ctx context.Context) ([]string, error) {
	lister, err := r.puller.Lister(ctx, r.repo)
	if err != nil {
		return nil, err
	}
	var tags []string
	size := 0
	seen := map[string]bool{}
	for first := true; lister.HasNext(); first = false {
		page, err := lister.Next(ctx)
		if err != nil {
			return nil, err
		}
		if first && page.Next != "" {
			size = len(page.Tags) // what the registry serves, whatever was asked
		}
		tags = append(tags, page.Tags...)
		// A Link header that leads back to a page already read would be
		// followed for ever.
		if seen[page.Next] {
			return nil, fmt.Errorf("%w: its pages lead back to %s", errPagesLoop, redact.URL(page.Next))
		}
		seen[page.Next] = true
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if size > 0 {
		r.rememberPages(tags, size)
	}
	return tags, nil
}

// rememberPages records, for the next listing, the tags after which pages
// of size tags begin in the sorted list tags.
func (r *Repository) rememberPages(tags []string, size int) {
	var after []string
	for k := size; k < len(tags); k += size {
		after = append(after, tags[k-1])
	}
	r.cache.PutTagPages(tagPages{size: size, after: after})
}

// tagsAtOnce asks for every page p says began last time, at once, and
// fills the gaps new tags opened between them. size is how many tags the
// registry serves a page now.
func (r *Repository) tagsAtOnce(ctx context.Context, p tagPages) (tags []string, size int, _ error) {
	client, err := r.listClient(ctx)
	if err != nil {
		return nil, 0, err
	}
	starts := append([]string{""}, p.after...)
	type page struct {
		tags []string
		next string
		err  error
	}
	pages := make([]page, len(starts))
	slots := make(chan struct{}, pagesAtOnce)
	var wg sync.WaitGroup
	for i, after := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			pg := &pages[i]
			pg.tags, pg.next, pg.err = r.tagPage(ctx, client, r.tagsURL(p.size, after))
		}()
	}
	wg.Wait()
	size = p.size
	if pages[0].next != "" && len(pages[0].tags) > 0 {
		size = len(pages[0].tags) // a registry may serve fewer than asked
	}
	for i, pg := range pages {
		if pg.err != nil {
			return nil, 0, pg.err
		}
		if !ascendingAfter(pg.tags, starts[i]) {
			return nil, 0, errPagesDisagree
		}
		tags = append(tags, pg.tags...)
		// This page must reach the next one's start; tags added in
		// between push it short, and its next links lead on.
		until := ""
		if i+1 < len(starts) {
			until = starts[i+1]
		}
		last, next := starts[i], pg.next
		if len(pg.tags) > 0 {
			last = pg.tags[len(pg.tags)-1]
		}
		for next != "" && (until == "" || last < until) {
			more, nx, err := r.tagPage(ctx, client, next)
			if err != nil {
				return nil, 0, err
			}
			if len(more) == 0 || !ascendingAfter(more, last) {
				return nil, 0, errPagesDisagree
			}
			tags = append(tags, more...)
			last, next = more[len(more)-1], nx
		}
	}
	slices.Sort(tags)
	return slices.Compact(tags), size, nil
}

// ascendingAfter says whether tags are in strictly ascending (lexical)
// order and all after after ("" for the first page).
func ascendingAfter(tags []string, after string) bool {
	for i, t := range tags {
		if i == 0 && after != "" && t <= after || i > 0 && t <= tags[i-1] {
			return false
		}
	}
	return true
}

// listClient is the repository's authorised transport, for the tag-list
// requests lkg makes itself (go-containerregistry has no way to ask for a
// page by its last parameter).
func (r *Repository) listClient(ctx context.Context) (http.RoundTripper, error) {
	return r.puller.Client(ctx)
}

// tagsURL is the tag list's page of n tags after after ("": the first).
func (r *Repository) tagsURL(n int, after string) string {
	q := url.Values{"n": {strconv.Itoa(n)}}
	if after != "" {
		q.Set("last", after)
	}
	u := url.URL{Scheme: r.repo.Scheme(), Host: r.repo.RegistryStr(), Path: "/v2/" + r.repo.RepositoryStr() + "/tags/list", RawQuery: q.Encode()}
	return u.String()
}

// tagPage reads one page of the tag list, and the next page's URL from its
// Link header ("" on the last page).
func (r *Repository) tagPage(ctx context.Context, client http.RoundTripper, u string) (tags []string, next string, _ error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := client.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, "", err
	}
	var body struct {
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		return nil, "", fmt.Errorf("reading the tag list: %w", err)
	}
	next, err = r.nextPage(resp)
	return body.Tags, next, err
}

// nextPage is the URL a tag-list response's Link header names, resolved
// against the request; one on another host or scheme is refused (a
// registry must not send lkg, with its credentials, elsewhere).
func (r *Repository) nextPage(resp *http.Response) (string, error) {
	link := resp.Header.Get("Link")
	if link == "" {
		return "", nil
	}
	start, end := strings.IndexByte(link, '<'), strings.IndexByte(link, '>')
	if start != 0 || end < 0 {
		return "", fmt.Errorf("reading the tag list: bad Link header %q", link)
	}
	u, err := url.Parse(link[1:end])
	if err != nil {
		return "", fmt.Errorf("reading the tag list: bad Link header %q", link)
	}
	u = resp.Request.URL.ResolveReference(u)
	if u.Scheme != resp.Request.URL.Scheme || u.Host != resp.Request.URL.Host {
		return "", fmt.Errorf("reading the tag list: the next page is on %s://%s, not this registry", u.Scheme, u.Host)
	}
	return u.String(), nil
}
