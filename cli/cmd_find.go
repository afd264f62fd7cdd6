package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/redact"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/internal/warn"
	"github.com/lkg-dev/lkg/journal"
	"github.com/lkg-dev/lkg/provenance"
	"github.com/lkg-dev/lkg/scan"
)

// FindFlags select the known-good code and where to look for builds of it.
// deploy embeds them: it deploys what find finds.
type FindFlags struct {
	Good            string        `placeholder:"REF" predictor:"tag" help:"The known-good commit-ish (tag, branch, sha, short sha). Wins over --good-tags." env:"LKG_GOOD" config:"good"`
	GoodTags        []string      `name:"good-tags" placeholder:"GLOB" help:"Known-good tags are those matching GLOB, newest first (default: every tag)." env:"LKG_GOOD_TAGS" config:"good_tags"`
	Bad             string        `placeholder:"REF" predictor:"tag" help:"The broken deploy: tags at it, or after it, are skipped (default: what --to runs now)." env:"LKG_BAD"`
	To              string        `placeholder:"HOST/REPO:TAG" predictor:"target" help:"The image tag production runs. Without --bad, the build it points at now is the bad deploy; deploy puts the known-good build under it." env:"LKG_TO" config:"to"`
	Depth           int           `default:"5" placeholder:"N" help:"Fall back through at most N known-good tags (default: ${default})." env:"LKG_DEPTH" config:"depth"`
	Images          []string      `name:"image" placeholder:"REPO" predictor:"image" help:"Image repository to scan, as HOST/REPO (repeatable)." env:"LKG_IMAGES" config:"images"`
	Docker          bool          `help:"Also look at images in the local Docker engine." env:"LKG_DOCKER" config:"docker"`
	Remotes         []string      `name:"remote" placeholder:"NAME|URL" help:"Extra git remote or fork URL to look for branches on (repeatable)." env:"LKG_REMOTES" config:"remotes"`
	NoFetch         bool          `name:"no-fetch" help:"Contact no git remote: use only what the repository already has." env:"LKG_NO_FETCH"`
	FetchTimeout    time.Duration `name:"fetch-timeout" default:"20s" placeholder:"DURATION" help:"How long each git remote may take in all, listing and fetching; a remote still silent then is a warning and the others' answers stand (default: ${default})." env:"LKG_FETCH_TIMEOUT"`
	AllowIncomplete bool          `name:"allow-incomplete" help:"When a build that could be the answer cannot be read, answer with the builds that were read, marked incomplete, instead of exiting 5." env:"LKG_ALLOW_INCOMPLETE"`
	VerifyAll       bool          `name:"verify-all" help:"Read every tag's image config instead of trusting revisions in tag names." env:"LKG_VERIFY_ALL" config:"verify_all"`
	TagPatterns     []string      `name:"tag-pattern" sep:"none" placeholder:"REGEX" help:"Regular expression with a named group (?P<rev>...) that reads a revision from an image tag (repeatable, not comma-separated; replaces the defaults)." env:"LKG_TAG_PATTERNS" config:"tag_patterns"`
	TrustKeys       []string      `name:"trust-key" placeholder:"FILE" help:"Trust signatures made with the public key in FILE (cosign.pub; repeatable, added to trust: keys in .lkg.yaml)." env:"LKG_TRUST_KEYS"`
	TrustedRoot     string        `name:"trusted-root" placeholder:"FILE" help:"The Sigstore trusted root keyless signatures are checked against (what 'cosign trusted-root' or 'gh attestation trusted-root' writes; wins over trust: trusted_root)." env:"LKG_TRUSTED_ROOT"`
	RequireSigned   bool          `name:"require-signed" help:"Refuse to deploy a build whose signatures did not verify under the trust policy (like trust: require: true)." env:"LKG_REQUIRE_SIGNED"`
	NoProvenance    bool          `name:"no-provenance" help:"Read no provenance attestations: revisions come from labels, annotations and tag names only." env:"LKG_NO_PROVENANCE"`
}

// trustFiles is the trust policy the flags and .lkg.yaml's trust: block
// name together: keys from both, the flag's trusted root over the file's,
// required when either says so.
func (f *FindFlags) trustFiles(g *Globals) provenance.PolicyFiles {
	files := provenance.PolicyFiles{Keys: slices.Clone(f.TrustKeys), TrustedRoot: f.TrustedRoot, Require: f.RequireSigned}
	if g.config == nil || g.config.Trust == nil {
		return files
	}
	t := g.config.Trust
	files.Keys = append(slices.Clone(t.Keys), files.Keys...)
	for _, id := range t.Identities {
		files.Identities = append(files.Identities, provenance.Identity{Issuer: id.Issuer, SubjectRegex: id.SubjectRegex})
	}
	if files.TrustedRoot == "" {
		files.TrustedRoot = t.TrustedRoot
	}
	files.Require = files.Require || t.Require != nil && *t.Require
	return files
}

// RequireSigned says whether the flags or .lkg.yaml require a verified
// build; a deploy then refuses what finder.RequireVerified refuses.
func (f *FindFlags) requireSigned(g *Globals) bool { return f.trustFiles(g).Require }

// FindCmd is `lkg find`.
type FindCmd struct {
	FindFlags
	JSON bool `name:"json" help:"Print exactly one JSON object (its fields are in docs/json.md) instead of the table."`
}

// Help is the long text of `lkg find --help`.
func (c *FindCmd) Help() string {
	return `Finds builds of the known-good code in the image registries given with --image and,
with --docker, in the local Docker engine; and the git refs (local and remote
branches, teammates' refs, forks) the code could be rebuilt from.

A build matches "exact" when it records the known-good commit, "tree" when it records
another commit with identical source (a rebase or squash), "tag" when it records no
revision but its tag equals the git tag's name (weak evidence). The revision is read,
strongest first, from a signed attestation verified under the trust policy, BuildKit's
provenance attestation (the git source it checked out, then the build context's .git),
image labels (org.opencontainers.image.revision, org.label-schema.vcs-ref, vcs-ref),
the manifest annotation, or the tag name (sha-<hex>, <name>-<hex>, 40 hex).

With a trust policy (trust: in .lkg.yaml, --trust-key, --trusted-root) the signatures
of the builds that could be the answer are verified offline: cosign bundles and GitHub
attestations among the OCI referrers, and cosign's sha256-<hex>.sig tags. A verified
build ranks before an unverified one of the same good tag and match; the TRUST column
says verified, unsigned or failed. A label contradicting the signed provenance is
flagged and ranked after every build without a conflict.

The bad deploy (--bad) skips the known-good tags at it or after it. Without --bad,
when the production tag is known (--to, LKG_TO or to: in .lkg.yaml), the bad deploy
is the build that tag points at now, by the revision it records. With neither, the
newest tag is assumed good, with a warning.

A build that could be the answer but could not be read (the registry kept failing,
reset the connection, or sent a manifest that does not match its digest) makes the
result incomplete: find exits 5 rather than answer with an older build, unless
--allow-incomplete is given.

Exit codes: 0 a build was found, 3 no build but a ref to rebuild from, 4 nothing
found, 5 incomplete (a build that could be the answer could not be read), 2 usage
or configuration error, 1 any other failure, 130 interrupted. The JSON fields and
exit codes are documented in docs/json.md.`
}

// Run prints the ranked builds and sources, and exits by what was found.
func (c *FindCmd) Run(ctx context.Context, g *Globals, repo *gitops.Repo, std *IO) error {
	res, err := runFind(ctx, g, std, repo, c.FindFlags, nil)
	if err != nil {
		return err
	}
	recordFind(repo, std, res)
	if c.JSON {
		if err := writeJSON(std.Out, res); err != nil {
			return err
		}
	} else {
		printFind(std, res, c.FindFlags, g)
	}
	if c.requireSigned(g) && res.Best != nil {
		if err := finder.RequireVerified(res.Best); err != nil {
			std.warnf("lkg deploy --require-signed would refuse the best build: %s", text.OneLine(err))
		}
	}
	return findStatus(res)
}

// runFind is the one find pipeline of find, deploy, check and pin:
// credentials refused in image references, the scan with progress on a
// terminal, credentials taken out of what it found, warnings capped.
// running is the runtime target f.To names when the caller has it open
// already (deploy, in its environment's kube context); nil opens it.
func runFind(ctx context.Context, g *Globals, std *IO, repo *gitops.Repo, f FindFlags, running deploy.Target) (finder.Result, error) {
	if err := refuseCredentials("--image", f.Images...); err != nil {
		return finder.Result{}, err
	}
	opts, done := f.options(g, std, repo)
	if f.To != "" && !isRegistryTag(f.To) {
		// A runtime target: the bad deploy is what it runs now.
		if running == nil {
			var err error
			if running, err = g.openTarget(std, f.To, 0); err != nil {
				done()
				return finder.Result{}, err
			}
		}
		now, err := running.Read(ctx)
		switch {
		case err != nil:
			std.warnf("reading what %s runs, to name the bad deploy: %s", f.To, text.OneLine(err))
			opts = append(opts, scan.WithTarget(""))
		default:
			opts = append(opts, scan.WithRunning(f.To, now.Image))
		}
	}
	res, err := scan.Find(ctx, repo, opts...)
	done()
	if err != nil {
		return res, err
	}
	redactResult(&res)
	res.Warnings = warn.Cap(res.Warnings, maxWarnings)
	return res, nil
}

// findStatus is the exit code a find result carries.
func findStatus(res finder.Result) error {
	switch {
	case res.Best != nil:
		return nil
	case len(res.Sources) > 0:
		return status(exitSources)
	default:
		return status(exitNotFound)
	}
}

// ProvideRepo opens -C's repository, with the git remotes these flags
// allow: kong hands it to the Run of find and deploy.
func (f *FindFlags) ProvideRepo(g *Globals, std *IO) (*gitops.Repo, error) {
	if _, err := g.Config(); err != nil {
		return nil, err
	}
	opts := []gitops.Option{gitops.WithRemotes(f.Remotes...), gitops.WithNoFetch(f.NoFetch)}
	if f.FetchTimeout > 0 {
		opts = append(opts, gitops.WithFetchBudget(f.FetchTimeout))
	}
	if std.ErrTerminal {
		opts = append(opts, gitops.WithProgress(std.Err))
	}
	return g.openRepo(opts...)
}

// redactResult takes credentials out of the remote URLs and warnings of a
// result before anything prints or journals it: a fork given as
// https://ci:TOKEN@host/repo.git is shown as https://***@host/repo.git.
func redactResult(res *finder.Result) {
	for i := range res.Sources {
		res.Sources[i].Remote = redact.URL(res.Sources[i].Remote)
	}
	for i, w := range res.Warnings {
		res.Warnings[i] = redact.Text(w)
	}
}

// refuseCredentials rejects image references that carry credentials
// (user:pass@host/repo) before any network call, naming them masked:
// credentials belong in the Docker credential store, where lkg reads them.
func refuseCredentials(flag string, refs ...string) error {
	for _, ref := range refs {
		masked, creds := redact.ImageReference(ref)
		if !creds {
			continue
		}
		_, rest, _ := strings.Cut(masked, redact.Mask+"@")
		host, _, _ := strings.Cut(rest, "/")
		return usagef("%s %q: credentials do not belong in an image reference. Run 'docker login %s' once (lkg reads the Docker credential store) and give the reference without them", flag, masked, host)
	}
	return nil
}

// lastDeployed is the digest lkg's last move of target put there when that
// move was a deploy (it restored a known-good build); "" otherwise, or
// when the journal cannot be read.
func lastDeployed(repo *gitops.Repo, target string) string {
	if target == "" {
		return ""
	}
	j, err := openJournal(repo.GitDir())
	if err != nil {
		return ""
	}
	events, _, err := j.Events()
	if err != nil {
		return ""
	}
	for _, r := range deploy.History(events, target) {
		if r.Moved() {
			if r.Kind == journal.KindDeploy {
				return r.Digest
			}
			return ""
		}
	}
	return ""
}

// options are the flags as scan.Find takes them, with progress drawn on a
// terminal (done clears it) and each place that could not be scanned said
// on stderr.
func (f *FindFlags) options(g *Globals, std *IO, repo *gitops.Repo) (opts []scan.Option, done func()) {
	opts = []scan.Option{
		scan.WithDeployed(lastDeployed(repo, f.To)),
		scan.WithGood(f.Good),
		scan.WithGoodTags(f.GoodTags...),
		scan.WithBad(f.Bad),
		scan.WithTarget(f.To),
		scan.WithDepth(f.Depth),
		scan.WithImages(f.Images...),
		scan.WithDocker(f.Docker),
		scan.WithVerifyAll(f.VerifyAll),
		scan.WithAllowIncomplete(f.AllowIncomplete),
		scan.WithTagPatterns(f.TagPatterns...),
		scan.WithCacheDir(g.cacheDir()),
		scan.WithPinTag(pinTagOf(g.config)),
		scan.WithTrust(f.trustFiles(g)),
		scan.WithProvenance(!f.NoProvenance),
		scan.WithRegistryOptions(g.registryOptions(std)...),
		scan.WithEngineOptions(g.engineOptions(std)...),
		scan.WithWarn(func(err error) {
			line, _ := describe(err, false)
			std.warnf("%s", line)
		}),
	}
	if std.showProgress() {
		p := newProgress(std.Err, "inspecting images")
		return append(opts, scan.WithProgress(p.Update)), p.Done
	}
	return opts, func() {}
}

// age says how long ago t was, roughly, for a table read under stress.
func age(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

// recordFind journals what find answered. A find must still answer when the
// journal cannot be written (a read-only checkout): appendEvent has printed
// the event, and the failure is a warning on stderr.
func recordFind(repo *gitops.Repo, std *IO, res finder.Result) {
	data := journal.FindData{Builds: len(res.Builds), Sources: len(res.Sources)}
	if len(res.Good) > 0 {
		data.GoodTag = res.Good[0].Tag
	}
	if res.Best != nil {
		data.GoodTag = res.Best.GoodTag
		data.Best = res.Best.Image + "@" + res.Best.Digest
	}
	e, err := journal.NewEvent(journal.KindFind, "", data)
	if err == nil {
		_, err = appendEvent(repo.GitDir(), std, e)
	}
	if err != nil {
		std.warnf("%s", text.OneLine(err))
	}
}
