package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/journal"
	"github.com/lkg-dev/lkg/types"
)

// Deploy methods, as the journal records them.
const (
	methodCopy       = "copy"        // a registry build copied by digest
	methodEnginePush = "engine-push" // a local engine image tagged and pushed
	methodRebuild    = "rebuild"     // built from the good commit's tree, then pushed
)

// Deploy statuses, as the journal and --json record them.
const (
	statusPlanned   = "planned"
	statusDone      = "done"
	statusFailed    = "failed"
	statusDryRun    = "dry-run"
	statusUnchanged = "unchanged" // the target was already at the digest
)

// DeployCmd is `lkg deploy`.
type DeployCmd struct {
	FindFlags
	To            string        `required:"" placeholder:"HOST/REPO:TAG" help:"The image tag production runs, to put the known-good build under." env:"LKG_TO" config:"to"`
	Rebuild       bool          `help:"Build from the known-good commit even when a build exists."`
	DryRun        bool          `name:"dry-run" help:"Print the plan and change nothing."`
	Yes           bool          `short:"y" help:"Do not ask for confirmation (required when stdin is not a terminal)."`
	Context       string        `name:"context" default:"." placeholder:"PATH" help:"Build context for a rebuild, relative to the repository root."`
	Dockerfile    string        `name:"dockerfile" placeholder:"PATH" help:"Dockerfile for a rebuild, relative to the repository root (default: Dockerfile in the context)."`
	BuildArgs     []string      `name:"build-arg" sep:"none" placeholder:"K=V" help:"Build argument for a rebuild (repeatable)."`
	VerifyURL     string        `name:"verify-url" placeholder:"URL" help:"After the move, poll URL until it answers 2xx, and journal the result."`
	VerifyTimeout time.Duration `name:"verify-timeout" default:"2m" placeholder:"D" help:"How long --verify-url may take."`
	JSON          bool          `name:"json" help:"Print exactly one JSON object: what moved, from which digest to which."`
}

// Help is the long text of `lkg deploy --help`.
func (c *DeployCmd) Help() string {
	return `Runs find, then puts the best build under --to:

  a registry build is copied by digest (same repository: one manifest PUT;
  another repository or registry: blobs mounted or copied, a multi-platform
  index copied whole, referrers and cosign signature tags brought along);
  a local Docker image is tagged and pushed through the engine;
  with no build, or --rebuild, the known-good commit's tree is exported from
  git (your work tree is not touched), built with the Docker engine, labelled
  with its revision, and pushed.

The digest --to had before is written to the incident journal before it moves,
so 'lkg undo --to' can put it back. Right before the move the target is read
again: if someone else moved it since the plan, nothing is changed. After the
move the target is read back and must resolve to the expected digest.

Without --yes, deploy asks on the terminal; with no terminal it refuses (exit 2).`
}

// Validate checks the flags that need no network.
func (c *DeployCmd) Validate() error {
	if err := checkTarget(c.To); err != nil {
		return err
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
			return usagef("--verify-url %q is not an http(s) URL", c.VerifyURL)
		}
	}
	return nil
}

// checkTarget accepts "host/repo:tag" only: a tag is what production
// pulls, and what lkg moves.
func checkTarget(to string) error {
	host, rest, ok := strings.Cut(to, "/")
	i := strings.LastIndex(rest, ":")
	if !ok || host == "" || i <= 0 || i == len(rest)-1 || strings.Contains(to, "@") {
		return usagef("--to %q: want HOST/REPO:TAG, like registry.example.com/team/app:prod", to)
	}
	return nil
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

// deployReport is what --json prints for deploy and undo.
type deployReport struct {
	Target     string              `json:"target"`
	Previous   string              `json:"previous"`
	Digest     string              `json:"digest"`
	Build      string              `json:"build"`
	Method     string              `json:"method"`
	Status     string              `json:"status"`
	GoodTag    string              `json:"good_tag,omitempty"`
	Revision   string              `json:"revision,omitempty"`
	Referrers  []string            `json:"referrers"`
	CosignTags []string            `json:"cosign_tags"`
	Verify     *journal.VerifyData `json:"verify,omitempty"`
}

// deployError is a failure with what to do next and its exit code.
type deployError struct {
	err  error
	hint string
	code int
}

func (e *deployError) Error() string {
	if e.hint == "" {
		return e.err.Error()
	}
	return e.err.Error() + ". " + e.hint
}
func (e *deployError) Unwrap() error { return e.err }
func (e *deployError) ExitCode() int { return e.code }

// explain adds the next step to the errors of the engine and the copy.
func explain(err error, target string) error {
	var de *deployError
	if err == nil || errors.As(err, &de) || errors.Is(err, context.Canceled) {
		return err
	}
	hints := []struct {
		err  error
		hint string
	}{
		{artifacts.ErrTargetMoved, "Someone else deployed meanwhile; nothing was changed. Check with 'lkg journal' and your team, then run deploy again"},
		{artifacts.ErrDigestMismatch, "Check the registry: the tag does not hold what was just written"},
		{artifacts.ErrEngineUnavailable, ""},
		{artifacts.ErrNoDockerfile, "Name it with --dockerfile PATH (relative to the repository root), or set --context"},
		{artifacts.ErrBuildFailed, fmt.Sprintf("%s was not changed", target)},
		{artifacts.ErrPushFailed, fmt.Sprintf("%s was not changed", target)},
	}
	for _, h := range hints {
		if errors.Is(err, h.err) {
			return &deployError{err: err, hint: h.hint, code: exitFailure}
		}
	}
	return err
}

// Run plans the deploy from find, confirms, moves the tag and checks it.
func (c *DeployCmd) Run(ctx context.Context, g *Globals, std *IO) error {
	if !c.DryRun && !c.Yes && !std.InTerminal {
		return usagef("refusing to deploy to %s without --yes: no terminal to confirm on. See the plan with --dry-run, then run again with --yes", c.To)
	}
	buildArgs, err := parseBuildArgs(c.BuildArgs)
	if err != nil {
		return err
	}
	res, repo, err := c.FindFlags.find(ctx, g, std)
	if err != nil {
		return err
	}
	recordFind(repo, std, res)
	for _, w := range res.Warnings {
		fmt.Fprintf(std.Err, "lkg: warning: %s\n", w)
	}

	copier, err := artifacts.NewCopier()
	if err != nil {
		return err
	}
	d := &deployment{
		target: c.To, dryRun: c.DryRun, yes: c.Yes, json: c.JSON,
		verifyURL: c.VerifyURL, verifyTimeout: c.VerifyTimeout,
		copier: copier, repo: repo, std: std,
	}
	switch best := res.Best; {
	case best != nil && !c.Rebuild && best.Source == types.SourceRegistry:
		d.report = deployReport{Method: methodCopy, Build: best.Repo + "@" + best.Digest, GoodTag: best.GoodTag, Revision: best.Revision}
		d.source = best.Repo + "@" + best.Digest
		d.what = fmt.Sprintf("registry build %s (%s match to %s)", best.Image, best.Match, best.GoodTag)
	case best != nil && !c.Rebuild:
		d.report = deployReport{Method: methodEnginePush, Build: best.Image, GoodTag: best.GoodTag, Revision: best.Revision}
		d.localImage = best.Image
		d.what = fmt.Sprintf("local Docker image %s (%s match to %s)", best.Image, best.Match, best.GoodTag)
	default:
		good, err := rebuildGood(res)
		if err != nil {
			return err
		}
		d.report = deployReport{Method: methodRebuild, Build: methodRebuild, GoodTag: good.Tag, Revision: good.Commit}
		d.rebuild = &rebuildSpec{good: good, context: c.Context, dockerfile: c.Dockerfile, args: buildArgs}
		why := "no build of the known-good code exists"
		if c.Rebuild {
			why = "--rebuild"
		}
		d.what = fmt.Sprintf("a rebuild of %s (commit %s) with the Docker engine, since %s", good.Tag, short(good.Commit), why)
	}
	return d.run(ctx)
}

// rebuildGood is the commit to rebuild: the best build's good tag when
// there is a best build (--rebuild), else the newest known-good candidate.
func rebuildGood(res finder.Result) (finder.Good, error) {
	if res.Best != nil {
		for _, g := range res.Good {
			if g.Tag == res.Best.GoodTag {
				return g, nil
			}
		}
	}
	if len(res.Good) == 0 {
		return finder.Good{}, fmt.Errorf("nothing to rebuild: no known-good commit: %w", errNothingGood)
	}
	return res.Good[0], nil
}

// deployment is one move of the target tag, for deploy and undo alike.
type deployment struct {
	target        string
	dryRun, yes   bool
	json          bool
	verifyURL     string
	verifyTimeout time.Duration
	kind          string // journal.KindDeploy (default) or journal.KindUndo
	copier        *artifacts.Copier
	repo          *gitops.Repo
	std           *IO

	what       string // the plan, in words
	source     string // copy: "host/repo@digest"
	localImage string // engine-push: the local image name
	rebuild    *rebuildSpec
	expect     *string // undo: the digest the target must have now, instead of the one read at plan time

	report deployReport
}

type rebuildSpec struct {
	good       finder.Good
	context    string
	dockerfile string
	args       map[string]string
}

func (d *deployment) run(ctx context.Context) error {
	d.report.Target = d.target
	if d.kind == "" {
		d.kind = journal.KindDeploy
	}
	var plan *artifacts.CopyPlan
	var err error
	if d.source != "" {
		plan, err = d.copier.Plan(ctx, d.source, d.target)
		if err != nil {
			return explain(err, d.target)
		}
		d.report.Previous, d.report.Digest = plan.Previous, plan.Digest
		d.report.Referrers, d.report.CosignTags = plan.Referrers, plan.CosignTags
	} else {
		if d.report.Previous, err = d.copier.TargetDigest(ctx, d.target); err != nil {
			return explain(err, d.target)
		}
	}
	if d.expect != nil && d.report.Previous != *d.expect {
		return &deployError{
			err:  fmt.Errorf("%s is at %s, not at %s where the last deploy put it: %w", d.target, orAbsent(d.report.Previous), *d.expect, artifacts.ErrTargetMoved),
			hint: "Someone moved it since; nothing was changed. Deploy the build you want explicitly",
			code: exitFailure,
		}
	}
	d.printPlan(plan)
	if plan != nil && plan.Previous == plan.Digest {
		d.report.Status = statusUnchanged
		return d.finish(fmt.Sprintf("%s is already at %s; nothing to do.", d.target, shortDigest(plan.Digest)))
	}
	if d.dryRun {
		d.report.Status = statusDryRun
		return d.finish("Dry run: nothing changed. Run again with --yes to do it.")
	}
	if !d.yes {
		ok, err := confirm(d.std, fmt.Sprintf("Move %s? [y/N] ", d.target))
		if err != nil || !ok {
			return &deployError{err: errors.New("not confirmed"), hint: "Nothing was changed", code: exitFailure}
		}
	}

	// The digest the target has now is journaled before anything moves:
	// undo depends on it, so a journal that cannot be written stops here.
	d.report.Status = statusPlanned
	if err := d.journal(""); err != nil {
		return &deployError{err: err, hint: fmt.Sprintf("Nothing was changed; %s is still at %s. Make the repository's .git writable, or run from a writable clone with -C", d.target, orAbsent(d.report.Previous)), code: exitFailure}
	}
	if err := d.move(ctx, plan); err != nil {
		return d.failed(err)
	}
	d.report.Status = statusDone
	if err := d.journal(""); err != nil {
		// The tag did move: say so, and fail so nobody believes the
		// journal is complete.
		return &deployError{err: err, hint: fmt.Sprintf("%s DID move to %s (it was %s); record that by hand", d.target, d.report.Digest, orAbsent(d.report.Previous)), code: exitFailure}
	}
	msg := fmt.Sprintf("Done: %s is now at %s (was %s).", d.target, d.report.Digest, orAbsent(d.report.Previous))
	if d.kind == journal.KindDeploy {
		msg += fmt.Sprintf("\nUndo with: lkg undo --to %s", d.target)
	}
	if d.verifyURL != "" {
		v := verify(ctx, d.verifyURL, d.verifyTimeout)
		d.report.Verify = &v
		if e, err := journal.NewEvent(journal.KindVerify, "", v); err == nil {
			if _, err := appendEvent(d.repo.GitDir(), d.std.Err, e); err != nil {
				fmt.Fprintf(d.std.Err, "lkg: warning: %s\n", oneLine(err))
			}
		}
		if !v.OK {
			_ = d.finish(msg)
			return &deployError{
				err:  fmt.Errorf("verifying %s: no 2xx answer within %s (last status %d)", d.verifyURL, d.verifyTimeout, v.Status),
				hint: fmt.Sprintf("The tag moved; if the service is still broken, run: lkg undo --to %s", d.target),
				code: exitFailure,
			}
		}
		msg += fmt.Sprintf("\nVerified: %s answered %d after %dms.", d.verifyURL, v.Status, v.ElapsedMS)
	}
	return d.finish(msg)
}

// move does the work of each method and ends with the compare-and-swap
// move of the tag.
func (d *deployment) move(ctx context.Context, plan *artifacts.CopyPlan) error {
	if plan == nil {
		digest, err := d.pushStaged(ctx)
		if err != nil {
			return err
		}
		d.report.Digest = digest
		if plan, err = d.copier.Plan(ctx, repoOf(d.target)+"@"+digest, d.target); err != nil {
			return err
		}
		// The swap is against what was journaled, not what is there now.
		plan.Previous = d.report.Previous
	}
	if d.expect != nil {
		plan.Previous = *d.expect
	}
	return d.copier.Copy(ctx, plan)
}

// pushStaged builds (rebuild) or takes (engine-push) a local image, pushes
// it through the engine under a staging tag "lkg-<image id>" in the target
// repository, and returns its digest. The target tag itself is moved by
// the copier afterwards, with compare-and-swap, so a failed or interrupted
// push never touches it.
func (d *deployment) pushStaged(ctx context.Context) (string, error) {
	engine, err := artifacts.NewEngine(ctx)
	if err != nil {
		return "", err
	}
	defer engine.Close()
	image := d.localImage
	if d.rebuild != nil {
		if image, err = d.build(ctx, engine); err != nil {
			return "", err
		}
	}
	id, err := engine.ImageID(ctx, image)
	if err != nil {
		return "", err
	}
	staging := repoOf(d.target) + ":lkg-" + strings.TrimPrefix(id, "sha256:")[:12]
	if err := engine.Tag(ctx, image, staging); err != nil {
		return "", err
	}
	fmt.Fprintf(d.std.Err, "lkg: pushing %s through the engine\n", staging)
	return engine.Push(ctx, staging, nil)
}

// build exports the good commit's tree and builds it; it returns the
// image ID.
func (d *deployment) build(ctx context.Context, engine *artifacts.Engine) (string, error) {
	r := d.rebuild
	tmp, err := os.MkdirTemp("", "lkg-rebuild-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ex, err := d.repo.Export(ctx, r.good.Commit, filepath.Join(tmp, "src"))
	if err != nil {
		return "", err
	}
	for _, s := range ex.Submodules {
		fmt.Fprintf(d.std.Err, "lkg: warning: submodule %s is not part of the rebuild (left empty)\n", s)
	}
	contextDir := filepath.Join(ex.Dir, filepath.FromSlash(r.context))
	dockerfile := filepath.Join(contextDir, "Dockerfile")
	shown := filepath.ToSlash(filepath.Join(r.context, "Dockerfile"))
	if r.dockerfile != "" {
		dockerfile = filepath.Join(ex.Dir, filepath.FromSlash(r.dockerfile))
		shown = r.dockerfile
	}
	if fi, err := os.Stat(dockerfile); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("rebuilding %s: %w: no %s at commit %s", r.good.Tag, artifacts.ErrNoDockerfile, shown, short(r.good.Commit))
	}
	args := map[string]string{"SOURCE_DATE_EPOCH": strconv.FormatInt(ex.Time.Unix(), 10)}
	for k, v := range r.args {
		args[k] = v
	}
	labels := map[string]string{artifacts.LabelRevision: r.good.Commit}
	if src := sourceURL(d.repo); src != "" {
		labels[artifacts.LabelSource] = src
	}
	fmt.Fprintf(d.std.Err, "lkg: building %s (commit %s)\n", r.good.Tag, short(r.good.Commit))
	id, err := engine.Build(ctx, artifacts.BuildRequest{
		ContextDir: contextDir,
		Dockerfile: dockerfile,
		BuildArgs:  args,
		Labels:     labels,
		Output:     d.std.Err,
	})
	if err != nil {
		return "", fmt.Errorf("rebuilding %s (commit %s): %w", r.good.Tag, short(r.good.Commit), err)
	}
	return id, nil
}

// sourceURL is the origin remote's URL without credentials, for the
// org.opencontainers.image.source label; "" when there is none.
func sourceURL(repo *gitops.Repo) string {
	rm, err := repo.Git().Remote("origin")
	if err != nil || len(rm.Config().URLs) == 0 {
		return ""
	}
	raw := rm.Config().URLs[0]
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		u.User = nil
		return u.String()
	}
	if strings.Contains(raw, "://") {
		return "" // unparsable URL with a scheme: it may hide credentials
	}
	return raw // scp-like git@host:path or a local path
}

// failed journals a failed move, with where the target is now, and
// returns the error to show.
func (d *deployment) failed(err error) error {
	d.report.Status = statusFailed
	// A short, uncancelled read: after Ctrl-C the journal must still say
	// where the target is.
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now, rerr := d.copier.TargetDigest(rctx, d.target)
	where := ""
	switch {
	case rerr != nil:
		where = "; could not read the target back: " + oneLine(rerr)
	case now == d.report.Previous:
		where = fmt.Sprintf("; %s is still at %s", d.target, orAbsent(now))
	default:
		where = fmt.Sprintf("; %s is now at %s", d.target, orAbsent(now))
	}
	if jerr := d.journal(oneLine(err) + where); jerr != nil {
		fmt.Fprintf(d.std.Err, "lkg: warning: %s\n", oneLine(jerr))
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(d.std.Err, "lkg: interrupted%s\n", where)
		return err
	}
	err = explain(err, d.target)
	var de *deployError
	if errors.As(err, &de) {
		// Where the target is now replaces the generic "was not changed".
		hint := strings.TrimSuffix(de.hint, fmt.Sprintf("%s was not changed", d.target))
		hint = strings.TrimSuffix(strings.TrimSpace(hint), ".")
		if hint != "" {
			hint += ". "
		}
		de.hint = hint + strings.TrimPrefix(where, "; ")
		return de
	}
	return fmt.Errorf("%w%s", err, where)
}

// journal appends the deploy or undo event in its current state.
func (d *deployment) journal(errMsg string) error {
	data := journal.DeployData{
		Target:   d.report.Target,
		Previous: d.report.Previous,
		Digest:   d.report.Digest,
		Build:    d.report.Build,
		Method:   d.report.Method,
		Status:   d.report.Status,
		Error:    errMsg,
	}
	msg := ""
	if d.report.GoodTag != "" {
		msg = fmt.Sprintf("%s of %s (commit %s)", d.report.Method, d.report.GoodTag, short(d.report.Revision))
	}
	e, err := journal.NewEvent(d.kind, msg, data)
	if err != nil {
		return err
	}
	_, err = appendEvent(d.repo.GitDir(), d.std.Err, e)
	return err
}

func (d *deployment) printPlan(plan *artifacts.CopyPlan) {
	if d.json {
		return
	}
	w := d.std.Out
	verb := "Deploy"
	if d.kind == journal.KindUndo {
		verb = "Undo"
	}
	fmt.Fprintf(w, "%s: %s\n", verb, d.what)
	fmt.Fprintf(w, "  target    %s\n", d.target)
	fmt.Fprintf(w, "  now at    %s\n", orAbsent(d.report.Previous))
	if d.report.Digest != "" {
		fmt.Fprintf(w, "  moves to  %s\n", d.report.Digest)
	} else {
		fmt.Fprintf(w, "  moves to  the digest of the pushed image\n")
	}
	switch {
	case plan != nil && plan.SameRepo:
		fmt.Fprintf(w, "  method    %s (same repository: one manifest PUT)\n", d.report.Method)
	case plan != nil:
		fmt.Fprintf(w, "  method    %s (blobs mounted or copied; %d referrer(s), %d signature tag(s) along)\n", d.report.Method, len(plan.Referrers), len(plan.CosignTags))
	default:
		fmt.Fprintf(w, "  method    %s (pushed under %s:lkg-<image id>, then the tag is moved)\n", d.report.Method, repoOf(d.target))
	}
}

// finish prints the outcome: the human line, or the one JSON object.
func (d *deployment) finish(msg string) error {
	if d.json {
		if d.report.Referrers == nil {
			d.report.Referrers = []string{}
		}
		if d.report.CosignTags == nil {
			d.report.CosignTags = []string{}
		}
		return writeJSON(d.std.Out, d.report)
	}
	fmt.Fprintln(d.std.Out, msg)
	return nil
}

// confirm asks question on stderr and reads yes or no from stdin.
func confirm(std *IO, question string) (bool, error) {
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

// verify polls u until it answers 2xx or timeout passes.
func verify(ctx context.Context, u string, timeout time.Duration) journal.VerifyData {
	start := time.Now()
	v := journal.VerifyData{URL: u}
	vctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		req, err := http.NewRequestWithContext(vctx, http.MethodGet, u, nil)
		if err == nil {
			resp, err := client.Do(req)
			if err == nil {
				_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
				resp.Body.Close()
				v.Status = resp.StatusCode
				if resp.StatusCode >= 200 && resp.StatusCode < 300 {
					v.OK = true
					break
				}
			}
		}
		t := time.NewTimer(time.Second)
		select {
		case <-vctx.Done():
			t.Stop()
			v.ElapsedMS = time.Since(start).Milliseconds()
			return v
		case <-t.C:
		}
	}
	v.ElapsedMS = time.Since(start).Milliseconds()
	return v
}

// repoOf is "host/repo" of "host/repo:tag".
func repoOf(target string) string {
	if i := strings.LastIndex(target, ":"); i > strings.LastIndex(target, "/") {
		return target[:i]
	}
	return target
}

func orAbsent(d string) string {
	if d == "" {
		return "(no such tag)"
	}
	return d
}
