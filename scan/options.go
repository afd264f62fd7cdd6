package scan

import (
	"context"

	"github.com/lkg-dev/lkg/provenance"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/finder"
)

// DefaultDepth is how many known-good tags Find falls back through when
// WithDepth is not given.
const DefaultDepth = 5

// Option configures Find.
type Option func(*options)

type options struct {
	good        string
	goodTags    []string
	bad         string
	depth       int
	images      []string
	docker      bool
	target      string
	running     string // the image a runtime target runs (WithRunning); "" for a registry tag
	deployed    string
	verifyAll   bool
	incomplete  bool
	tagPatterns []string
	cacheDir    string
	progress    func(done, total int)
	pinTag      func(goodTag string) string
	warn        func(err error)
	engine      func(ctx context.Context) (Engine, error)
	repository  func(repo string) (finder.Registry, error)
	registry    []artifacts.Option
	engineOpts  []artifacts.EngineOption
	trust       provenance.PolicyFiles
	noProv      bool
}

func newOptions(opts []Option) options {
	o := options{depth: DefaultDepth, warn: func(error) {}}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithPinTag names the tag lkg pin gives a good tag's best build
// (finder.Options.PinTag): a pinned build ranks first among builds of equal
// match. The default is none.
func WithPinTag(pinTag func(goodTag string) string) Option {
	return func(o *options) { o.pinTag = pinTag }
}

// WithGood names the known-good commit-ish directly (a tag, branch, sha or
// short sha), like lkg's --good; it wins over WithGoodTags. The default is
// none: the known-good candidates are the tags WithGoodTags matches.
func WithGood(ref string) Option { return func(o *options) { o.good = ref } }

// WithGoodTags makes the tags matching any of globs the known-good
// candidates, newest first, like --good-tags. The default is every tag.
func WithGoodTags(globs ...string) Option {
	return func(o *options) { o.goodTags = append(o.goodTags, globs...) }
}

// WithBad names the broken deploy, like --bad: candidates at it or after it
// are skipped. The default is none; with WithTarget, the bad deploy is the
// build the production tag points at now.
func WithBad(ref string) Option { return func(o *options) { o.bad = ref } }

// WithDepth bounds how many known-good tags Find falls back through, like
// --depth. The default is DefaultDepth (5); less than 1 is an error.
func WithDepth(n int) Option { return func(o *options) { o.depth = n } }

// WithImages adds image repositories ("host/repo") to scan, like --image.
// The default is none.
func WithImages(repos ...string) Option {
	return func(o *options) { o.images = append(o.images, repos...) }
}

// WithDocker also scans the local Docker engine's images, like --docker.
// The default is false.
func WithDocker(docker bool) Option { return func(o *options) { o.docker = docker } }

// WithTarget names the production tag ("host/repo:tag"), like --to. When
// no WithBad is given, the build it points at now is the bad deploy. The
// default is none.
func WithTarget(ref string) Option { return func(o *options) { o.target, o.running = ref, "" } }

// WithRunning names a runtime target (like --to docker://api) and the image
// it runs now (image, "host/repo@sha256:..." or "host/repo:tag", as its
// Read says): when no WithBad is given, that build is the bad deploy. It
// replaces WithTarget. The default is none.
func WithRunning(target, image string) Option {
	return func(o *options) { o.target, o.running = target, image }
}

// WithDeployed is the digest lkg's own last deploy put under the production
// tag (WithTarget), from the incident journal. While the tag still holds
// it, production runs the build lkg restored, not the bad deploy: that build
// is taken as known good and only the tags after it are skipped, so running
// find or deploy again does not roll back further. The default is none.
func WithDeployed(digest string) Option { return func(o *options) { o.deployed = digest } }

// WithVerifyAll reads every tag's image config instead of trusting the
// revisions tag names record, like --verify-all. The default is false.
func WithVerifyAll(all bool) Option { return func(o *options) { o.verifyAll = all } }

// WithAllowIncomplete answers even when a build that could be the answer
// could not be read (Result.Incomplete), like --allow-incomplete. The
// default is false: Find returns an *IncompleteError instead of an answer
// that could quietly be an older build.
func WithAllowIncomplete(allow bool) Option { return func(o *options) { o.incomplete = allow } }

// WithTagPatterns sets the regular expressions (each with a named group
// rev) that read a revision from an image tag, like --tag-pattern. The
// default is finder.DefaultTagPatterns.
func WithTagPatterns(pats ...string) Option {
	return func(o *options) { o.tagPatterns = append(o.tagPatterns, pats...) }
}

// WithCacheDir is where registry metadata is cached. The default is "":
// no cache.
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithProgress is called as images are inspected (see finder.Options). The
// default is none.
func WithProgress(progress func(done, total int)) Option {
	return func(o *options) { o.progress = progress }
}

// WithWarn is called with the error of each place that could not be
// scanned (a registry, the engine) while another answered: Find goes on,
// and the failure is also in Result.Warnings. The default ignores it.
func WithWarn(warn func(err error)) Option { return func(o *options) { o.warn = warn } }

// WithEngine sets how Find connects to the Docker engine when WithDocker
// is set. The default is artifacts.NewEngine (DOCKER_HOST and friends).
func WithEngine(connect func(ctx context.Context) (Engine, error)) Option {
	return func(o *options) { o.engine = connect }
}

// WithRegistryOptions are given to artifacts.NewRepository, after
// WithCacheDir's, when Find opens an image repository itself (no
// WithRepository): a timeout, TLS settings, a trace. The default is none.
func WithRegistryOptions(opts ...artifacts.Option) Option {
	return func(o *options) { o.registry = append(o.registry, opts...) }
}

// WithEngineOptions are given to artifacts.NewEngine when Find connects to
// the engine itself (no WithEngine): a timeout, a trace. The default is
// none.
func WithEngineOptions(opts ...artifacts.EngineOption) Option {
	return func(o *options) { o.engineOpts = append(o.engineOpts, opts...) }
}

// WithRepository sets how Find opens an image repository, for WithImages
// and WithTarget. The default is artifacts.NewRepository with WithCacheDir.
func WithRepository(open func(repo string) (finder.Registry, error)) Option {
	return func(o *options) { o.repository = open }
}

// WithTrust checks the signatures of the builds that could be the answer
// under the policy files name (see finder.Options.Trust): each gets a
// verdict, verified builds rank first. Find loads the files before any
// network call; one that cannot be used is an *InputError. The default,
// like a policy that trusts nothing, reads no signatures.
func WithTrust(files provenance.PolicyFiles) Option { return func(o *options) { o.trust = files } }

// WithProvenance says whether registry builds' BuildKit provenance is
// read for their revision (artifacts.WithProvenance), like
// --no-provenance's opposite. The default is true.
func WithProvenance(read bool) Option { return func(o *options) { o.noProv = !read } }
