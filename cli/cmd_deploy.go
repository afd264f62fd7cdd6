package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/imageref"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/automation"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/internal/redact"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/journal"
)

// DeployCmd is `lkg deploy`.
type DeployCmd struct {
	FindFlags
	Env             []string      `name:"env" placeholder:"NAME" help:"Deploy to these environments of .lkg.yaml, in order (staging,prod), each verified at its verify_url; stops at the first that fails. Instead of --to."`
	Digest          string        `name:"digest" placeholder:"sha256:HEX" help:"Deploy this build, by digest, without find or git: it is copied from --image (the one given, else --to's repository). For a build you know, or a repository lkg's git library cannot read."`
	Rebuild         bool          `help:"Build the known-good commit from source with the Docker engine (the only way deploy rebuilds; also when a build exists)."`
	DryRun          bool          `name:"dry-run" help:"Print the plan and change nothing."`
	Yes             bool          `short:"y" help:"Do not ask for confirmation (required when stdin is not a terminal)."`
	Context         string        `name:"context" default:"." placeholder:"PATH" help:"Build context for a rebuild, relative to the repository root."`
	Dockerfile      string        `name:"dockerfile" placeholder:"PATH" help:"Dockerfile for a rebuild, relative to the repository root (default: Dockerfile in the context)."`
	BuildArgs       []string      `name:"build-arg" sep:"none" placeholder:"K=V" help:"Build argument for a rebuild (repeatable)."`
	VerifyURL       string        `name:"verify-url" placeholder:"URL" help:"After the move, poll URL until it answers 2xx, and journal the result."`
	VerifyTimeout   time.Duration `name:"verify-timeout" default:"2m" placeholder:"D" help:"How long --verify-url may take."`
	NoEvidence      bool          `name:"no-evidence" help:"Do not keep what the broken build was doing (states, exit codes, restarts, health, the last log lines, warning events) before a container, service or workload is replaced."`
	EvidenceTimeout time.Duration `name:"evidence-timeout" default:"3s" placeholder:"D" help:"How long keeping the broken build's evidence may delay the move."`
	AutoRevert      bool          `name:"auto-revert" help:"When verification fails after the move (or the runtime says the build does not come up), put the previous build back once; journaled as an undo."`
	Settle          time.Duration `name:"settle" default:"500ms" placeholder:"D" help:"After the move, read a registry tag again after D to catch another writer; a new container without a HEALTHCHECK must run D without exiting to count as up." env:"LKG_SETTLE"`
	JSON            bool          `name:"json" help:"Print exactly one JSON object: what moved, from which digest to which."`
	GitopsBranch    string        `name:"gitops-branch" placeholder:"NAME" help:"For an --env with a gitops: config repository: push the commit to a new branch NAME (from the environment's branch) for review, instead of to the branch itself. A NAME that exists with other commits is refused."`
}

// Help is the long text of `lkg deploy --help`.
func (c *DeployCmd) Help() string {
	return `Runs find, then puts the best build under --to:

  a registry build is copied by digest (same repository: one manifest PUT;
  another repository or registry: blobs mounted or copied, a multi-platform
  index copied whole, referrers and cosign signature tags brought along);
  a local Docker image is tagged and pushed through the engine;
  with --rebuild, the known-good commit's tree is exported from git (your work
  tree is not touched), built with the Docker engine, labelled with its
  revision, and pushed.

deploy never rebuilds unless asked: with no build found it exits 3 and says to
pass --rebuild; with nowhere to look for one (no --image, no images: in
.lkg.yaml, no --docker) and no --rebuild it is a usage error (exit 2).

The digest --to had before is written to the incident journal before it moves,
so 'lkg undo --to' can put it back. Right before the move the target is read
again: if someone else moved it since the plan, nothing is changed. After the
move the target is read back and must resolve to the expected digest, and once
more after --settle: another writer that moved it meanwhile is reported (exit 1)
and journaled. Two deploys or undos of one target from one clone never overlap:
the second is refused. After Ctrl-C, a 5xx or a timeout once the tag write was
sent, the target is read back until it says which digest it holds; the journal
and the message say that (exit 130 after Ctrl-C).

With --digest sha256:HEX, find and git are skipped: the build with that digest
is copied from the repository --image names (--to's own repository without
--image) with the same plan, confirmation, journal and checks. It works in
repositories lkg's git library cannot read (sha256 objects, reftable refs):
only the journal in .git is needed.

Without --yes, deploy asks on the terminal; with no terminal it refuses (exit 2).`
}

// Validate checks the flags that need no network.
func (c *DeployCmd) Validate() error {
	if len(c.Env) == 0 {
		if c.To == "" {
			return usagef("missing flags: --to=HOST/REPO:TAG (or LKG_TO, or to: in .lkg.yaml)")
		}
		if err := checkTarget(c.To); err != nil {
			return err
		}
	}
	if c.GitopsBranch != "" && len(c.Env) != 1 {
		return usagef("--gitops-branch %s goes with one --env, whose gitops: config repository gets the branch", c.GitopsBranch)
	}
	if _, err := parseBuildArgs(c.BuildArgs); err != nil {
		return err
	}
	if c.Context != "." && !filepath.IsLocal(c.Context) {
		return usagef("--context %q must be a path inside the repository", c.Context)
	}
	if c.Dockerfile != "" && !filepath.IsLocal(c.Dockerfile) {
		return usagef("--dockerfile %q must be a path inside the repository", c.Dockerfile)
	}
	if c.VerifyURL != "" {
		u, err := url.Parse(c.VerifyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--verify-url %q is not an http(s) URL", redact.URL(c.VerifyURL))
		}
	}
	if c.Digest != "" {
		return c.validateDigest()
	}
	// Checked last: the flags above say more about what is wrong.
	if !c.Rebuild && len(c.Images) == 0 && !c.Docker {
		good := "the known-good code"
		if c.Good != "" {
			good = c.Good
		}
		return usagef("nothing to deploy from: no --image (or images: in %s, or LKG_IMAGES) and no --docker. Name the image repository with --image HOST/REPO, or pass --rebuild to build %s from source", config.FileName, good)
	}
	return nil
}

// validateDigest checks --digest and the flags it cannot go with.
func (c *DeployCmd) validateDigest() error {
	hex, ok := strings.CutPrefix(c.Digest, "sha256:")
	if !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return usagef("--digest %q is not an image digest: want sha256: and 64 lowercase hex digits, as 'lkg find' or 'crane digest' prints them", c.Digest)
	}
	if c.Rebuild {
		return usagef("--digest and --rebuild cannot go together: --digest deploys a build that exists")
	}
	return nil
}

// digestSource is where --digest's build is copied from to target:
// "host/repo@sha256:...", the repository being the one --image names, else
// target's own.
func (c *DeployCmd) digestSource(target string) (string, error) {
	if !isRegistryTag(target) {
		if len(c.Images) != 1 {
			return "", usagef("--digest: which repository holds %s? Name it with --image HOST/REPO (%s is not a registry tag)", c.Digest, target)
		}
		return c.Images[0] + "@" + c.Digest, nil
	}
	ref, err := imageref.ParseTag(target)
	if err != nil {
		return "", usagef("--to %v", err)
	}
	repo := ref.Repo()
	switch {
	case len(c.Images) == 1:
		repo = c.Images[0]
	case len(c.Images) > 1 && !slices.Contains(c.Images, repo):
		return "", usagef("--digest: which repository holds %s? Name one with --image HOST/REPO (%d are configured)", c.Digest, len(c.Images))
	}
	return repo + "@" + c.Digest, nil
}

// searched names where find looked for builds, for deploy's message when
// it found none.
func (c *DeployCmd) searched() []string {
	places := append([]string(nil), c.Images...)
	if c.Docker {
		places = append(places, "the local Docker engine")
	}
	return places
}

// parseBuildArgs turns K=V flags into a map.
func parseBuildArgs(args []string) (map[string]string, error) {
	out := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, usagef("--build-arg %q: want KEY=VALUE", a)
		}
		out[k] = v
	}
	return out, nil
}

// Run plans the deploy (from find, or --digest), confirms, moves the
// target and checks it: one target (--to), or the --env environments in
// order.
func (c *DeployCmd) Run(ctx context.Context, g *Globals, std *IO) error {
	envs, err := c.targets(g)
	if err != nil {
		return err
	}
	if !c.DryRun && !c.Yes && !std.InTerminal {
		return usagef("refusing to deploy to %s without --yes: no terminal to confirm on. See the plan with --dry-run, then run again with --yes", targetNames(envs))
	}
	stages := make([]deploy.Stage, len(envs))
	for i, e := range envs {
		t, err := g.openEnvTarget(std, e, c.Settle)
		if err != nil {
			return err
		}
		if c.GitopsBranch != "" {
			if t, err = forReview(t, e.Name, c.GitopsBranch); err != nil {
				return err
			}
		}
		stages[i] = deploy.Stage{Name: e.Name, Target: t, VerifyURL: cmp.Or(e.VerifyURL, c.VerifyURL)}
	}
	// find reads the bad deploy from the last target: the one closest to
	// production.
	c.To = envs[len(envs)-1].To
	var move mover
	if c.Digest != "" {
		move, err = c.digestMover(ctx, g, std, envs)
	} else {
		move, err = c.findMover(ctx, g, std, envs, stages[len(stages)-1].Target)
	}
	if err != nil {
		return err
	}
	if len(c.Env) == 0 {
		out, err := move(stages[0])
		return printOutcome(std, c.JSON, out, err)
	}
	var moves []journal.Move
	untouched, failure := deploy.Rollout(stages,
		func(s deploy.Stage) (*deploy.Outcome, error) {
			if !c.JSON {
				fmt.Fprintf(std.Out, "== %s: %s\n", s.Name, s.Target)
			}
			return move(s)
		},
		func(_ deploy.Stage, out *deploy.Outcome) {
			moves = append(moves, out.Move)
			if !c.JSON {
				fmt.Fprintln(std.Out, out.Message)
			}
		})
	if len(untouched) > 0 {
		rest := make([]string, len(untouched))
		for i, s := range untouched {
			rest[i] = s.Name
		}
		failed := stages[len(stages)-len(untouched)-1] // the stage before the untouched ones
		fmt.Fprintf(std.Err, "lkg: stopped at %s: %s not touched\n", failed.Name, strings.Join(rest, ", "))
	}
	if c.JSON {
		if moves == nil {
			moves = []journal.Move{}
		}
		if err := writeJSON(std.Out, map[string]any{"environments": moves}); err != nil && failure == nil {
			failure = err
		}
	}
	return failure
}

// mover moves one stage's target, and verifies it at the stage's URL.
type mover func(s deploy.Stage) (*deploy.Outcome, error)

// moveOptions are the options of one move of this deploy.
func (c *DeployCmd) moveOptions(g *Globals, std *IO, gitDir string, s deploy.Stage, auto []string) deploy.Options {
	o := moveOptions(std, gitDir, c.DryRun, c.Yes, c.JSON)
	o.User, o.Clone = who(), clonePath(g)
	o.Env, o.Warnings = s.Name, auto
	o.Review = c.GitopsBranch
	o.VerifyURL, o.VerifyTimeout = s.VerifyURL, c.VerifyTimeout
	o.AutoRevert = c.AutoRevert
	o.RequireSigned = c.requireSigned(g)
	o.Evidence = deploy.EvidenceOptions{Off: c.NoEvidence, Timeout: c.EvidenceTimeout, Save: saveEvidence(gitDir)}
	return o
}

// findMover runs find, reading the bad deploy from last (the target
// closest to production), and moves its best build (or a rebuild).
func (c *DeployCmd) findMover(ctx context.Context, g *Globals, std *IO, envs []config.Environment, last deploy.Target) (mover, error) {
	repo, err := c.ProvideRepo(g, std)
	if err != nil {
		return nil, err
	}
	buildArgs, err := parseBuildArgs(c.BuildArgs)
	if err != nil {
		return nil, err
	}
	res, err := runFind(ctx, g, std, repo, c.FindFlags, last)
	if err != nil {
		return nil, err
	}
	recordFind(repo, std, res)
	for _, w := range res.Warnings {
		std.warnf("%s", w)
	}
	auto := automationWarnings(g, std, envs)
	return func(s deploy.Stage) (*deploy.Outcome, error) {
		o := c.moveOptions(g, std, repo.GitDir(), s, auto)
		o.Rebuild, o.Repo, o.Engine = c.Rebuild, repo, g.engineOptions(std)
		o.Searched = c.searched()
		o.Build = deploy.BuildSpec{Context: c.Context, Dockerfile: c.Dockerfile, Args: buildArgs}
		return deploy.Deploy(ctx, s.Target, recorder(repo.GitDir(), std), res, o)
	}, nil
}

// digestMover moves --digest's build, with no find and no git library:
// only the git directory, for the journal.
func (c *DeployCmd) digestMover(ctx context.Context, g *Globals, std *IO, envs []config.Environment) (mover, error) {
	if err := refuseCredentials("--image", c.Images...); err != nil {
		return nil, err
	}
	sources := make(map[string]string, len(envs))
	for _, e := range envs {
		src, err := c.digestSource(e.To)
		if err != nil {
			return nil, err
		}
		sources[e.Name] = src
	}
	gitDir, err := gitops.FindGitDir(g.Dir)
	if err != nil {
		return nil, err
	}
	auto := automationWarnings(g, std, envs)
	return func(s deploy.Stage) (*deploy.Outcome, error) {
		o := c.moveOptions(g, std, gitDir, s, auto)
		return deploy.DeployDigest(ctx, s.Target, recorder(gitDir, std), sources[s.Name], o)
	}, nil
}

// automationWarnings looks in the work tree for automation that would
// re-point the targets' repositories after the move (Flux, Argo CD Image
// Updater, Renovate, Dependabot, kustomize images:), says each on stderr,
// and returns them for the report and the journal. A bare repository has
// no work tree to look in.
func automationWarnings(g *Globals, std *IO, targets []config.Environment) []string {
	root := config.RepoRoot(g.Dir)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		return nil
	}
	repos := make([]string, 0, len(targets))
	for _, t := range targets {
		if ref, err := imageref.ParseTag(t.To); err == nil {
			repos = append(repos, ref.Repo())
		}
	}
	found, err := automation.Scan(root, repos)
	if err != nil {
		std.warnf("looking for image automation: %s", text.OneLine(err))
		return nil
	}
	var out []string
	for _, f := range found {
		std.warnf("%s", f)
		out = append(out, f.String())
	}
	return out
}

// targets are the tags to move: --to, or the --env environments in the
// order given.
func (c *DeployCmd) targets(g *Globals) ([]config.Environment, error) {
	if len(c.Env) == 0 {
		return []config.Environment{{To: c.To}}, nil
	}
	cfg, err := g.Config()
	if err != nil {
		return nil, err
	}
	var out []config.Environment
	for _, name := range c.Env {
		e, ok := cfg.Env(name)
		if !ok {
			return nil, unknownEnv(cfg, name)
		}
		if e.GitOps == nil {
			if err := checkTarget(e.To); err != nil {
				return nil, usagef("environment %s in %s: %v", name, configName(cfg), err)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// unknownEnv is the usage error for an environment .lkg.yaml does not
// configure, with the nearest name.
func unknownEnv(cfg *config.Config, name string) error {
	names := cfg.EnvNames()
	if len(names) == 0 {
		return usagef("unknown environment %q: %s configures none. Add them like: environments: {staging: {to: HOST/REPO:staging}}", name, configName(cfg))
	}
	if near := config.Nearest(name, names); near != "" {
		return usagef("unknown environment %q. Did you mean %s? Configured: %s", name, near, strings.Join(names, ", "))
	}
	return usagef("unknown environment %q. Configured: %s", name, strings.Join(names, ", "))
}

// targetNames names targets for a message: environments by name, else
// the tag.
func targetNames(ts []config.Environment) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
		if t.Name == "" {
			names[i] = t.To
		}
	}
	return strings.Join(names, ", ")
}

// moveOptions are the options deploy and undo share.
func moveOptions(std *IO, gitDir string, dryRun, yes, json bool) deploy.Options {
	var plan io.Writer = std.Out
	if json {
		plan = io.Discard
	}
	return deploy.Options{
		DryRun:  dryRun,
		Yes:     yes,
		Confirm: askOn(std),
		Out:     plan,
		Log:     std.chatter(), // notes, warnings and build logs: none with -q
		Lock:    targetLock(gitDir),
		Step:    stepHook,
	}
}

// stepHook is called at each step of a move; the test binary sets it to
// interrupt moves at every step. The shipped binary has none.
var stepHook func(ctx context.Context, step string)

// targetLock locks a target in the clone's journal directory. A journal
// that cannot be opened takes no lock: the planned line will fail to be
// written too, and stop the move before anything changes.
func targetLock(gitDir string) deploy.Locker {
	return func(target string) (func(), error) {
		j, err := openJournal(gitDir)
		if err != nil {
			return func() {}, nil
		}
		unlock, err := j.LockTarget(target)
		if errors.Is(err, journal.ErrNotWritable) {
			return func() {}, nil
		}
		return unlock, err
	}
}

// recorder journals deploy and undo events in the repository's journal.
func recorder(gitDir string, std *IO) deploy.Recorder {
	return deploy.RecorderFunc(func(e journal.Event) error {
		_, err := appendEvent(gitDir, std, e)
		return err
	})
}

// printOutcome prints how a deploy or undo ended (the human line, or the
// one JSON object), when there is an outcome, and returns err.
func printOutcome(std *IO, json bool, out *deploy.Outcome, err error) error {
	if out != nil {
		if json {
			if werr := writeJSON(std.Out, out.Move); werr != nil && err == nil {
				err = werr
			}
		} else {
			fmt.Fprintln(std.Out, out.Message)
		}
	}
	return err
}

// askOn asks a question on stderr and reads yes or no from stdin.
func askOn(std *IO) func(question string) (bool, error) {
	return func(question string) (bool, error) {
		fmt.Fprint(std.Err, question)
		line, err := bufio.NewReader(std.In).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		}
		return false, nil
	}
}
