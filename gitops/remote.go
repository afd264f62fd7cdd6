package gitops

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/redact"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
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
	// byID: the server takes wants of object ids no ref advertises
	// (allow-tip-sha1-in-want or allow-reachable-sha1-in-want).
	byID bool
	// spent is the time used so far on this remote: listing and every
	// fetch from it share one budget, so a slow remote costs at most that
	// long, and waiting for another remote costs it nothing.
	spent   time.Duration
	spentMu sync.Mutex
	// failure says why the remote could not be consulted (or stopped
	// answering), for the revisions it might have held; "" when it answered.
	failure string
}

// label names the remote in warnings: its name, and the URL when the name
// is not the URL. URLs are redacted.
func (rm *remoteInfo) label() string {
	if rm.name != rm.url {
		return fmt.Sprintf("remote %q (%s)", rm.name, redact.URL(rm.url))
	}
	return fmt.Sprintf("remote %q", redact.URL(rm.url))
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
// fetches the branch tips the repository lacks, each by its own ref, into
// refs/lkg/<remote>/heads/. All remotes are listed at once, each within
// its own time budget; a remote that fails or hangs is a warning and costs
// the others nothing. It runs once per Repo; with WithNoFetch it contacts
// nothing.
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
		for _, rm := range d.remotes {
			wg.Go(func() {
				if err := r.listRemote(ctx, rm); err != nil {
					rm.failure = failureOf(err)
					mu.Lock()
					d.warnings = append(d.warnings, err.Error())
					mu.Unlock()
					return
				}
				fetching.Lock()
				defer fetching.Unlock()
				var specs []config.RefSpec
				for _, ref := range rm.refs {
					if ref.Type() != plumbing.HashReference || !strings.HasPrefix(ref.Name().String(), "refs/heads/") {
						continue
					}
					if r.store.HasEncodedObject(ref.Hash()) != nil {
						specs = append(specs, r.lkgSpec(rm, ref.Name().String()))
					}
				}
				if len(specs) == 0 {
					return
				}
				if err := r.fetchSpecs(ctx, rm, specs); err != nil {
					mu.Lock()
					d.warnings = append(d.warnings, err.Error())
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		r.progressDone()
		if err := packLKGRefs(r.gitDir); err != nil {
			d.warnings = append(d.warnings, err.Error())
		}
		sort.Strings(d.warnings)
	})
	return d
}

// lkgSpec maps a remote ref to lkg's private namespace: refs/heads/x of
// remote origin lands on refs/lkg/origin/heads/x, never on a user ref.
func (r *Repo) lkgSpec(rm *remoteInfo, name string) config.RefSpec {
	return config.RefSpec("+" + name + ":" + lkgRefs + rm.ns + "/" + strings.TrimPrefix(name, "refs/"))
}

// budgetCtx bounds one operation on rm by the network timeout and what is
// left of the remote's time budget; the returned func ends the operation
// and charges its time to the remote.
func (r *Repo) budgetCtx(ctx context.Context, rm *remoteInfo) (context.Context, context.CancelFunc) {
	start := time.Now()
	rm.spentMu.Lock()
	left := max(r.opts.budget-rm.spent, 0)
	rm.spentMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, min(left, r.opts.timeout))
	return ctx, func() {
		cancel()
		rm.spentMu.Lock()
		rm.spent += time.Since(start)
		rm.spentMu.Unlock()
	}
}

// outOfTime says whether rm has used up its time budget.
func (r *Repo) outOfTime(rm *remoteInfo) bool {
	rm.spentMu.Lock()
	defer rm.spentMu.Unlock()
	return rm.spent >= r.opts.budget
}

// withCtx runs f and returns its error, or ctx's as soon as ctx is done:
// some transports block in a read that no context reaches (a server that
// accepts and never answers), and lkg must not hang with them. f keeps
// running until its own connection gives up; fetchSpecs fences off a
// fetch's writes (fencedStore) once it stops waiting.
func withCtx(ctx context.Context, f func() error) error {
	return withCtxStopped(ctx, 0, f)
}

// fetchStopWait is how long a fetch whose context is done may take to stop
// writing before its partial pack is removed anyway.
const fetchStopWait = 2 * time.Second

// withCtxStopped is withCtx, except that when ctx is done first it waits up
// to wait for f to return (a fetch that is still writing its pack would
// otherwise recreate what the caller removes); withCtx waits not at all.
func withCtxStopped(ctx context.Context, wait time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	case <-ctx.Done():
		if wait > 0 {
			select {
			case <-done:
			case <-time.After(wait):
			}
		}
		return ctx.Err()
	}
}

// listRemote runs ls-remote, retrying once with credentials from git's
// credential helper when an https remote asks for them. It keeps the
// advertised capabilities: whether the server serves wants by object id.
func (r *Repo) listRemote(ctx context.Context, rm *remoteInfo) error {
	list := func(auth transport.AuthMethod) (*packp.AdvRefs, error) {
		ctx, cancel := r.budgetCtx(ctx, rm)
		defer cancel()
		var ar *packp.AdvRefs
		err := withCtx(ctx, func() error {
			ep, err := transport.NewEndpoint(rm.url)
			if err != nil {
				return err
			}
			c, err := client.NewClient(ep)
			if err != nil {
				return err
			}
			s, err := c.NewUploadPackSession(ep, auth)
			if err != nil {
				return err
			}
			defer s.Close()
			ar, err = s.AdvertisedReferencesContext(ctx)
			return err
		})
		return ar, err
	}
	r.progressf("%s: listing refs", rm.name)
	ar, err := list(nil)
	if isAuthError(err) {
		if auth := credentialFill(ctx, r.gitDir, rm.url); auth != nil {
			rm.auth = auth
			ar, err = list(auth)
		}
	}
	if err == nil && ar == nil {
		err = transport.ErrEmptyRemoteRepository
	}
	var refs memory.ReferenceStorage
	if err == nil {
		refs, err = ar.AllReferences()
	}
	if err != nil {
		return r.remoteError(rm, "listing refs of", err)
	}
	for _, ref := range refs {
		rm.refs = append(rm.refs, ref)
	}
	sort.Slice(rm.refs, func(i, j int) bool { return rm.refs[i].Name() < rm.refs[j].Name() })
	r.progressf("%s: %d refs listed", rm.name, len(rm.refs))
	rm.byID = ar.Capabilities.Supports(capability.AllowReachableSHA1InWant) || ar.Capabilities.Supports(capability.AllowTipSHA1InWant)
	rm.listed = true
	return nil
}

func isAuthError(err error) bool {
	return errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)
}

// remoteFailure is a transport failure turned into one warning line; why
// is the short reason kept for the revisions the remote might have held.
type remoteFailure struct {
	msg string
	why string
}

func (e *remoteFailure) Error() string { return e.msg }

func failureOf(err error) string {
	var rf *remoteFailure
	if errors.As(err, &rf) {
		return rf.why
	}
	return err.Error()
}

// remoteError turns a transport failure into one warning line naming the
// remote and what to do.
func (r *Repo) remoteError(rm *remoteInfo, what string, err error) error {
	why := strings.Join(strings.Fields(err.Error()), " ") // one line
	label := rm.label()
	switch {
	case isAuthError(err):
		hint := "log in once with `git ls-remote " + redact.URL(rm.url) + "` so your credential helper stores a token"
		if strings.HasPrefix(rm.url, "ssh://") || strings.Contains(rm.url, "@") && !strings.Contains(rm.url, "://") {
			hint = "add your key to ssh-agent (ssh-add) and check ~/.ssh/known_hosts"
		}
		return &remoteFailure{fmt.Sprintf("%s %s: authentication failed (%s); %s; skipped", what, label, why, hint), "authentication failed"}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &remoteFailure{fmt.Sprintf("%s %s: repository not found; skipped", what, label), "repository not found"}
	case errors.Is(err, context.DeadlineExceeded):
		w := fmt.Sprintf("did not answer within %s", r.opts.budget.Round(time.Millisecond))
		if r.opts.timeout < r.opts.budget {
			w = fmt.Sprintf("did not answer within %s", r.opts.timeout.Round(time.Millisecond))
		}
		return &remoteFailure{fmt.Sprintf("%s %s: %s (raise --fetch-timeout to wait longer); skipped", what, label, w), w}
	}
	return &remoteFailure{fmt.Sprintf("%s %s: %s; skipped", what, label, why), why}
}

// fetchSpecs fetches into refs/lkg only: no tags (go-git would otherwise
// create refs/tags/... for tags it follows), no other ref touched. The
// refs it writes are packed afterwards (packLKGRefs).
func (r *Repo) fetchSpecs(ctx context.Context, rm *remoteInfo, specs []config.RefSpec) error {
	ctx, cancel := r.budgetCtx(ctx, rm)
	defer cancel()
	// When withCtxStopped stops waiting, the fetch may still be running: it
	// works on a storage of its own over the same directory (go-git's is
	// not safe for a reader and a writer at once, and the next fetch
	// writes), and the fence makes sure it writes nothing from then on.
	// It keeps the pack files open: choosing what to tell the server the
	// repository has reads hundreds of commits, and opening the pack
	// (through billy's path checks) for each was half a fetch's CPU.
	st := newFencedStore(filesystem.NewStorageWithOptions(r.store.Filesystem(), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true}))
	remote := git.NewRemote(st, &config.RemoteConfig{Name: "lkg", URLs: []string{rm.url}, Fetch: specs})
	r.progressf("%s: fetching %d ref(s)", rm.name, len(specs))
	var before packStats
	if r.opts.progress != nil {
		before = readPackStats(r.gitDir)
	}
	tmpBefore := tmpPacks(r.gitDir)
	finished := make(chan struct{})
	err := withCtxStopped(ctx, fetchStopWait, func() error {
		defer close(finished)
		return remote.FetchContext(ctx, &git.FetchOptions{RefSpecs: specs, Tags: git.NoTags, Auth: rm.auth, Force: true, Progress: r.progressWriter(rm)})
	})
	st.close()
	select {
	case <-finished:
		st.Storage.Close() // its open packs
	default:
		// Abandoned, and maybe still reading: its storage is left to it
		// (closing it now would race with those reads).
	}
	if err != nil {
		// go-git leaves the partial pack of a failed or stopped fetch
		// (tens of MB) in objects/pack; with the fence closed, nothing
		// writes to it any more.
		removeNewTmpPacks(r.gitDir, tmpBefore)
	}
	if r.opts.progress != nil && err == nil {
		objects, size := readPackStats(r.gitDir).since(before)
		r.progressf("%s: fetched %d ref(s), %d objects, %s", rm.name, len(specs), objects, humanBytes(size))
	}
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		err = r.remoteError(rm, "fetching from", err)
		if rm.failure == "" && r.outOfTime(rm) {
			rm.failure = failureOf(err)
		}
		return err
	}
	r.store.Reindex() // the new pack was written through another storage
	r.invalidateTable()
	return nil
}

// fetchRevisions looks for build revisions the repository lacks on the
// remotes, by targeted fetches only: a revision that is the tip of an
// advertised ref (pull-request heads and merge commits included) is
// fetched by that one ref; a full revision that is no tip is asked for by
// object id, shallow and without trees or blobs, from a server that
// allows it. It never fetches a ref namespace. It reports whether any ref
// was fetched into the repository, and for each revision still missing
// (lower-cased) why each remote could not say.
func (r *Repo) fetchRevisions(ctx context.Context, revs []string) (bool, map[string][]string) {
	// Concurrent lookups must not fetch into the same refs at once.
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	d := r.discover(ctx)
	why := map[string][]string{}
	unmatched := map[string]bool{}
	for _, rev := range revs {
		unmatched[strings.ToLower(rev)] = true
	}
	fetched := false
	// 1. Advertised tips, one ref per revision, one fetch per remote.
	for _, rm := range d.remotes {
		if !rm.listed {
			continue
		}
		var specs []config.RefSpec
		for _, ref := range rm.refs {
			if ref.Type() != plumbing.HashReference || strings.HasSuffix(ref.Name().String(), "^{}") {
				continue
			}
			h := ref.Hash().String()
			for rev := range unmatched {
				if !strings.HasPrefix(h, rev) {
					continue
				}
				delete(unmatched, rev)
				if r.store.HasEncodedObject(ref.Hash()) == nil {
					fetched = true // here already: fetched while listing branches
					continue
				}
				specs = append(specs, r.lkgSpec(rm, ref.Name().String()))
			}
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
	if fetched {
		r.invalidateTable()
		if err := packLKGRefs(r.gitDir); err != nil {
			r.warnf("%v", err)
		}
	}
	defer r.progressDone()
	// 2. Full revisions no remote advertises: by object id.
	left := make([]string, 0, len(unmatched))
	for rev := range unmatched {
		left = append(left, rev)
	}
	slices.Sort(left)
	for _, rev := range left {
		for _, rm := range d.remotes {
			if rm.failure != "" {
				why[rev] = append(why[rev], rm.label()+" "+rm.failure)
			}
		}
		if len(rev) != 40 {
			why[rev] = append(why[rev], "no remote that answered advertises it as a ref tip, and an abbreviated revision cannot be asked for by object id")
			continue
		}
		for _, rm := range d.remotes {
			switch {
			case rm.failure != "" || !rm.listed:
				continue
			case !rm.byID:
				why[rev] = append(why[rev], rm.label()+" does not allow fetching by object id and advertises no ref at it")
				continue
			}
			c, err := r.fetchByID(ctx, rm, rev)
			if err != nil {
				why[rev] = append(why[rev], failureOf(err))
				if r.outOfTime(rm) && rm.failure == "" {
					rm.failure = failureOf(err)
				}
				continue
			}
			r.setFetchedCommit(c)
			delete(why, rev)
			break
		}
	}
	return fetched, why
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
