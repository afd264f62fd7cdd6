package gitops

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// remoteInfo is one remote lkg consults: a configured one or a URL given
// with --remote, and what it advertised.
type remoteInfo struct {
	name   string // configured name, or the URL itself for an ad-hoc remote
	url    string
	ns     string // segment under refs/lkg/: the name, or url-<hash>
	listed bool   // ls-remote succeeded
	refs   []*plumbing.Reference
	auth   transport.AuthMethod
	// pullsFetched: every pull and merge request ref was fetched already.
	pullsFetched bool
}

// discovery is the once-per-Repo result of consulting the remotes.
type discovery struct {
	once     sync.Once
	remotes  []*remoteInfo
	warnings []string
}

var nsUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// remotesToConsult lists configured remotes plus WithRemotes extras; an
// extra that names a configured remote adds nothing.
func (r *Repo) remotesToConsult() ([]*remoteInfo, []string) {
	var out []*remoteInfo
	var warnings []string
	seen := map[string]bool{}
	cfgs, err := r.repo.Remotes()
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("reading configured remotes: %v", err))
	}
	sort.Slice(cfgs, func(i, j int) bool { return cfgs[i].Config().Name < cfgs[j].Config().Name })
	byName := map[string]bool{}
	for _, rm := range cfgs {
		c := rm.Config()
		byName[c.Name] = true
		if len(c.URLs) == 0 {
			continue
		}
		seen[c.URLs[0]] = true
		out = append(out, &remoteInfo{name: c.Name, url: c.URLs[0], ns: nsUnsafe.ReplaceAllString(c.Name, "_")})
	}
	for _, x := range r.opts.remotes {
		if byName[x] || seen[x] {
			continue
		}
		if !strings.ContainsAny(x, ":/\\") {
			warnings = append(warnings, fmt.Sprintf("remote %q is neither a configured remote nor a URL; skipped (git remote -v lists them)", x))
			continue
		}
		seen[x] = true
		sum := sha256.Sum256([]byte(x))
		out = append(out, &remoteInfo{name: x, url: x, ns: "url-" + hex.EncodeToString(sum[:])[:12]})
	}
	return out, warnings
}

// discover lists every remote's advertised refs (like git ls-remote) and
// fetches the branch tips the repository lacks into refs/lkg/<remote>/heads/.
// It runs once per Repo; with WithNoFetch it contacts nothing.
func (r *Repo) discover(ctx context.Context) *discovery {
	d := &r.disc
	d.once.Do(func() {
		d.remotes, d.warnings = r.remotesToConsult()
		if r.opts.noFetch {
			return
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		// Listing runs in parallel; fetching does not: go-git's object
		// store and refs take one writer at a time, and two fetches at once
		// lost refs now and then. After discover, fetchRevisions is the only
		// writer, serialized by fetchMu.
		var fetching sync.Mutex
		sem := make(chan struct{}, 4)
		for _, rm := range d.remotes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				if err := r.listRemote(ctx, rm); err != nil {
					mu.Lock()
					d.warnings = append(d.warnings, err.Error())
					mu.Unlock()
					return
				}
				fetching.Lock()
				defer fetching.Unlock()
				var specs []config.RefSpec
				missing := 0
				for _, ref := range rm.refs {
					if !strings.HasPrefix(ref.Name().String(), "refs/heads/") {
						continue
					}
					if r.store.HasEncodedObject(ref.Hash()) != nil {
						missing++
						specs = append(specs, r.lkgSpec(rm, ref.Name().String()))
					}
				}
				if missing > 50 {
					specs = []config.RefSpec{config.RefSpec("+refs/heads/*:refs/lkg/" + rm.ns + "/heads/*")}
				}
				if len(specs) == 0 {
					return
				}
				if err := r.fetchSpecs(ctx, rm, specs); err != nil {
					mu.Lock()
					d.warnings = append(d.warnings, err.Error())
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		sort.Strings(d.warnings)
	})
	return d
}

// lkgSpec maps a remote ref to lkg's private namespace: refs/heads/x of
// remote origin lands on refs/lkg/origin/heads/x, never on a user ref.
func (r *Repo) lkgSpec(rm *remoteInfo, name string) config.RefSpec {
	return config.RefSpec("+" + name + ":refs/lkg/" + rm.ns + "/" + strings.TrimPrefix(name, "refs/"))
}

// listRemote runs ls-remote, retrying once with credentials from git's
// credential helper when an https remote asks for them.
func (r *Repo) listRemote(ctx context.Context, rm *remoteInfo) error {
	list := func(auth transport.AuthMethod) ([]*plumbing.Reference, error) {
		ctx, cancel := context.WithTimeout(ctx, r.opts.timeout)
		defer cancel()
		remote := git.NewRemote(r.store, &config.RemoteConfig{Name: "lkg", URLs: []string{rm.url}})
		return remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	}
	refs, err := list(nil)
	if isAuthError(err) {
		if auth := credentialFill(ctx, r.gitDir, rm.url); auth != nil {
			rm.auth = auth
			refs, err = list(auth)
		}
	}
	if err != nil {
		return remoteError(rm, "listing refs of", err)
	}
	rm.refs = refs
	rm.listed = true
	return nil
}

func isAuthError(err error) bool {
	return errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)
}

// remoteError turns a transport failure into one warning line naming the
// remote and what to do.
func remoteError(rm *remoteInfo, what string, err error) error {
	why := strings.Join(strings.Fields(err.Error()), " ") // one line
	label := fmt.Sprintf("remote %q", rm.name)
	if rm.name != rm.url {
		label = fmt.Sprintf("remote %q (%s)", rm.name, rm.url)
	}
	switch {
	case isAuthError(err):
		hint := "log in once with `git ls-remote " + rm.url + "` so your credential helper stores a token"
		if strings.HasPrefix(rm.url, "ssh://") || strings.Contains(rm.url, "@") && !strings.Contains(rm.url, "://") {
			hint = "add your key to ssh-agent (ssh-add) and check ~/.ssh/known_hosts"
		}
		return fmt.Errorf("%s %s: authentication failed (%s); %s; skipped", what, label, why, hint)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%s %s: repository not found; skipped", what, label)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s %s: timed out; skipped", what, label)
	}
	return fmt.Errorf("%s %s: %s; skipped", what, label, why)
}

// fetchSpecs fetches into refs/lkg only: no tags (go-git would otherwise
// create refs/tags/... for tags it follows), no other ref touched.
func (r *Repo) fetchSpecs(ctx context.Context, rm *remoteInfo, specs []config.RefSpec) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.timeout)
	defer cancel()
	remote := git.NewRemote(r.store, &config.RemoteConfig{Name: "lkg", URLs: []string{rm.url}, Fetch: specs})
	err := remote.FetchContext(ctx, &git.FetchOptions{RefSpecs: specs, Tags: git.NoTags, Auth: rm.auth, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return remoteError(rm, "fetching from", err)
	}
	r.invalidateTable()
	return nil
}

// fetchRevisions looks for build revisions the repository lacks on every
// remote: refs whose tip is such a revision (pull-request heads and merge
// commits first among them), then, for what is still missing, all
// pull-request and merge-request refs. It reports whether anything was
// fetched.
func (r *Repo) fetchRevisions(ctx context.Context, revs []string) bool {
	// Concurrent lookups must not fetch into the same refs at once.
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	d := r.discover(ctx)
	fetched := false
	for _, rm := range d.remotes {
		if !rm.listed {
			continue
		}
		var specs []config.RefSpec
		unmatched := map[string]bool{}
		for _, rev := range revs {
			unmatched[strings.ToLower(rev)] = true
		}
		var hasPulls []string
		for _, ref := range rm.refs {
			name := ref.Name().String()
			if ref.Type() != plumbing.HashReference {
				continue
			}
			if isPullRef(name) && !contains(hasPulls, pullNamespace(name)) {
				hasPulls = append(hasPulls, pullNamespace(name))
			}
			h := ref.Hash().String()
			for rev := range unmatched {
				if strings.HasPrefix(h, rev) {
					if r.store.HasEncodedObject(ref.Hash()) != nil {
						specs = append(specs, r.lkgSpec(rm, name))
					}
					delete(unmatched, rev)
				}
			}
		}
		if len(unmatched) > 0 && !rm.pullsFetched {
			// Once per run: after it every pull ref's history is here.
			for _, ns := range hasPulls {
				specs = append(specs, config.RefSpec("+refs/"+ns+"/*:refs/lkg/"+rm.ns+"/"+ns+"/*"))
			}
			rm.pullsFetched = len(hasPulls) > 0
		}
		if len(specs) == 0 {
			continue
		}
		if err := r.fetchSpecs(ctx, rm, specs); err != nil {
			r.warnf("%v", err)
			continue
		}
		fetched = true
	}
	return fetched
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isPullRef matches refs/pull/*/head, refs/pull/*/merge and
// refs/merge-requests/*/head: where GitHub and GitLab keep what CI built.
func isPullRef(name string) bool {
	switch {
	case strings.HasPrefix(name, "refs/pull/"):
		return strings.HasSuffix(name, "/head") || strings.HasSuffix(name, "/merge")
	case strings.HasPrefix(name, "refs/merge-requests/"):
		return strings.HasSuffix(name, "/head")
	}
	return false
}

func pullNamespace(name string) string {
	if strings.HasPrefix(name, "refs/pull/") {
		return "pull"
	}
	return "merge-requests"
}

// credentialFill asks git's configured credential helper for a username
// and password, the way git itself does for https; go-git does not call
// helpers. Prompts are disabled: lkg must not hang at 3 a.m. on a
// terminal question from a background helper.
func credentialFill(ctx context.Context, gitDir, url string) transport.AuthMethod {
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return nil
	}
	if _, err := exec.LookPath("git"); err != nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, "git", "credential", "fill")
	cmd.Dir = gitDir // the repository's own credential config applies
	cmd.Stdin = strings.NewReader("url=" + url + "\n\n")
	cmd.Env = append(cmd.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=")
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	auth := &githttp.BasicAuth{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "username":
			auth.Username = v
		case "password":
			auth.Password = v
		}
	}
	if auth.Password == "" {
		return nil
	}
	return auth
}
