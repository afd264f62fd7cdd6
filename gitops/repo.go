package gitops

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/lkg-dev/lkg/gitops/commitindex"
	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/internal/packfile"
	"github.com/lkg-dev/lkg/types"
)

// Sentinel errors of gitops, matched with errors.Is.
var (
	// ErrNotRepository: the path is neither a git work tree (or a directory
	// inside one) nor a bare repository.
	ErrNotRepository = errors.New("not a git repository")
	// ErrUnknownRef: a ref, tag, branch or sha names no commit.
	ErrUnknownRef = errors.New("unknown revision")
	// ErrAmbiguousRef: a name or short sha could mean more than one commit.
	ErrAmbiguousRef = errors.New("ambiguous revision")
	// ErrBadGlob: a tag glob is malformed (path.Match syntax).
	ErrBadGlob = errors.New("bad tag glob")
	// ErrImageDigest: a revision is an image digest (sha256:<64 hex>, or
	// 64 bare hex digits), pasted where a git revision belongs.
	ErrImageDigest = errors.New("an image digest, not a git revision")
)

// Tag is one git tag peeled to its commit.
type Tag struct {
	Name   string // short name, without refs/tags/
	Commit types.Commit
	Time   time.Time // tagger date of an annotated tag, else the commit's date
}

// Repo is an opened repository. It is safe for concurrent use; the commit
// table behind Lookup and reachability is built once, on first need.
type Repo struct {
	repo   *git.Repository
	store  *filesystem.Storage
	gitDir string
	opts   options

	tableMu sync.Mutex
	table   *commitindex.Table // nil until first needed; rebuilt after a fetch
	// storeTable is the complete table when table came from a graph and a
	// lookup missed.
	storeTable *commitindex.Table

	packsMu    sync.Mutex
	packs      *packfile.Packs // mapped on first need; dropped after a fetch
	packsErr   error           // a pack that could not be mapped
	packReader *packfile.Reader

	refsMu sync.Mutex
	refs   *refSnapshot // nil until first needed; dropped after a fetch

	disc    discovery  // remotes consulted, once
	fetchMu sync.Mutex // serializes fetches of build revisions

	fetchedMu sync.Mutex
	fetched   map[string]types.Commit // commits fetched by id into the scratch repository
	asked     int                     // revisions looked for on the remotes so far (WithFetchLimit)

	progressMu    sync.Mutex
	progressDrawn bool

	warnMu   sync.Mutex
	warnings []string
}

type options struct {
	noFetch  bool
	cacheDir string
	remotes  []string
	timeout  time.Duration
	noGraph  bool
	noCache  bool
	budget   time.Duration
	limit    int
	progress io.Writer
}

// Option configures Open.
type Option func(*options)

// WithNoFetch stops every network access: no ls-remote, no fetch (like
// lkg's --no-fetch). The default is false: remotes are consulted.
func WithNoFetch(noFetch bool) Option {
	return func(o *options) { o.noFetch = noFetch }
}

// WithCacheDir sets the directory for lkg's on-disk commit table cache. The
// default is config.DefaultCacheDir(), the user cache dir's lkg/.
func WithCacheDir(dir string) Option {
	return func(o *options) { o.cacheDir = dir }
}

// WithRemotes adds remotes to consult beside the configured ones: each is a
// configured remote's name or a URL (a fork given with --remote). The
// default is none: only the configured remotes.
func WithRemotes(remotes ...string) Option {
	return func(o *options) { o.remotes = append(o.remotes, remotes...) }
}

// WithNetworkTimeout bounds each remote operation (ls-remote or fetch of one
// remote). The default is 60 seconds.
func WithNetworkTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithFetchBudget bounds the time one remote may take in all, listing
// and every fetch from it together; a remote that has not answered by then
// is a warning, and the others' answers stand. The default is 20 seconds.
func WithFetchBudget(d time.Duration) Option {
	return func(o *options) { o.budget = d }
}

// WithFetchLimit caps how many unknown build revisions one Repo looks for
// on the remotes, newest builds first; the rest are counted in one
// warning. The default is 16.
func WithFetchLimit(n int) Option {
	return func(o *options) { o.limit = n }
}

// WithProgress draws what the remotes are doing (listing, fetching, the
// server's object counts) on w, one rewritten line; meant for a terminal.
// The default is nil: no progress.
func WithProgress(w io.Writer) Option {
	return func(o *options) { o.progress = w }
}

// WithCommitGraph says whether git's commit-graph file may be used to build
// the commit table. The default is true; false forces the object-store
// path (benchmarks and tests use it).
func WithCommitGraph(use bool) Option {
	return func(o *options) { o.noGraph = !use }
}

// WithTableCache says whether the commit table built from the object store
// is cached on disk. The default is true.
func WithTableCache(use bool) Option {
	return func(o *options) { o.noCache = !use }
}

// Open opens the repository at path: a work tree, any directory inside one,
// or a bare repository. A path that is none of these gives ErrNotRepository.
func Open(path string, opts ...Option) (*Repo, error) {
	o := options{timeout: 60 * time.Second, budget: 20 * time.Second, limit: 16}
	for _, opt := range opts {
		opt(&o)
	}
	if o.cacheDir == "" {
		o.cacheDir = config.DefaultCacheDir()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening %q: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("opening %q: %w: %w", path, ErrNotRepository, err)
	}
	// A bare repository first: go-git's .git detection walks up and would
	// miss it, or find an enclosing work tree instead.
	g, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		g, err = git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	}
	if isExtensionError(err) {
		g, st, loc, err := openWithExtensions(path)
		if err != nil {
			return nil, err
		}
		removeStale(loc.common, o.cacheDir, time.Now())
		return &Repo{repo: g, store: st, gitDir: loc.common, opts: o}, nil
	}
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, fmt.Errorf("opening %q: %w", path, ErrNotRepository)
		}
		return nil, fmt.Errorf("opening %q: %w", path, err)
	}
	st, ok := g.Storer.(*filesystem.Storage)
	if !ok {
		return nil, fmt.Errorf("opening %q: %w: storage is not on disk", path, ErrNotRepository)
	}
	gitDir := st.Filesystem().Root()
	if !filepath.IsAbs(gitDir) {
		gitDir = filepath.Join(abs, gitDir)
	}
	// A linked work tree keeps its objects in the common dir; the journal
	// and the commit table belong with the objects.
	gitDir = commonDir(gitDir)
	removeStale(gitDir, o.cacheDir, time.Now())
	return &Repo{repo: g, store: st, gitDir: gitDir, opts: o}, nil
}

// GitDir is the absolute path of the repository's git directory (".git" of
// a work tree, the repository itself when bare).
func (r *Repo) GitDir() string { return r.gitDir }

// Git is the underlying go-git repository, for the other parts of gitops.
func (r *Repo) Git() *git.Repository { return r.repo }
