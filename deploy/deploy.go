package deploy

import (
	"context"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/types"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/redact"
	"github.com/lkg-dev/lkg/journal"
)

// ErrNothingGood: a rebuild was asked for but find named no known-good
// commit to rebuild.
var ErrNothingGood = errors.New("no known-good candidate")

// ErrNoBuild: find found no build of the known-good code and no rebuild
// was asked for (WithRebuild). Its exit code is 3, as find's is for "no
// build, but sources to rebuild from".
var ErrNoBuild = errors.New("nothing was deployed")

// ErrInterrupted: the context was cancelled (Ctrl-C) during a move. The
// error that wraps it says where the target is, as read back.
var ErrInterrupted = errors.New("interrupted")

// ErrOverwritten: another writer moved the target right after this move
// wrote it (read back, or re-read after the settle). Registries have no
// conditional write, so this is detected, not prevented.
var ErrOverwritten = errors.New("another writer won the race for the target")

// Recorder appends events to the incident journal. Deploy and undo record
// the target's digest before it moves, so a Recorder that fails stops them
// before anything changes.
type Recorder interface {
	Record(journal.Event) error
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(journal.Event) error

// Record calls f(e).
func (f RecorderFunc) Record(e journal.Event) error { return f(e) }

// Option configures Deploy and Undo.
type Option func(*options)

type options struct {
	dryRun        bool
	yes           bool
	confirm       func(question string) (bool, error)
	out           io.Writer
	log           io.Writer
	verifyURL     string
	verifyTimeout time.Duration
	rebuild       bool
	context       string
	dockerfile    string
	buildArgs     map[string]string
	repo          *gitops.Repo
	searched      []string
	user, clone   string
	hook          func(ctx context.Context, step string)
	readBack      time.Duration
	settle        time.Duration
	lock          Locker
	env           string
	warnings      []string
	engine        []artifacts.EngineOption
}

// Locker takes the lock on moving target and returns how to release it
// (journal.Journal.LockTarget: an flock in the clone's journal directory).
type Locker func(target string) (unlock func(), err error)

// WithDryRun plans and changes nothing (the report's status is
// "dry-run"). The default is false.
func WithDryRun(dryRun bool) Option { return func(o *options) { o.dryRun = dryRun } }

// WithYes moves the tag without asking. The default is false: the
// confirm function decides.
func WithYes(yes bool) Option { return func(o *options) { o.yes = yes } }

// WithConfirm sets how the user is asked before the tag moves (when
// WithYes is false). The default refuses: nothing moves unconfirmed.
func WithConfirm(confirm func(question string) (bool, error)) Option {
	return func(o *options) { o.confirm = confirm }
}

// WithPlanOutput sets where the plan is printed, before anything moves.
// The default is io.Discard (for --json, nothing but the report is
// printed).
func WithPlanOutput(w io.Writer) Option { return func(o *options) { o.out = w } }

// WithLog sets where progress and warnings go. The default is io.Discard.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithVerify polls url after the move until it answers 2xx, for at most
// timeout, and journals the result. The default is no verification.
func WithVerify(url string, timeout time.Duration) Option {
	return func(o *options) { o.verifyURL, o.verifyTimeout = url, timeout }
}

// WithRebuild builds from the known-good commit (like `lkg deploy
// --rebuild`), also when a build exists. The default is false: a build
// found is deployed as it is, and with none found Deploy fails with
// ErrNoBuild: a rebuild is never chosen silently.
func WithRebuild(rebuild bool) Option { return func(o *options) { o.rebuild = rebuild } }

// WithBuild sets a rebuild's context directory and Dockerfile (both
// relative to the repository root) and build arguments. The default is
// context ".", the Dockerfile in the context, and no arguments.
func WithBuild(contextDir, dockerfile string, args map[string]string) Option {
	return func(o *options) { o.context, o.dockerfile, o.buildArgs = contextDir, dockerfile, args }
}

// WithWho records who runs the move ("user@host") and from which clone (a
// path) on its journal events, for `lkg history`. The default records
// neither.
func WithWho(user, clone string) Option { return func(o *options) { o.user, o.clone = user, clone } }

// WithSearched names where find looked for builds (image repositories,
// "the local Docker engine"), for the message when it found none. The
// default names none.
func WithSearched(places ...string) Option { return func(o *options) { o.searched = places } }

// WithRepo is the repository a rebuild exports the good commit from. The
// default is none: a deploy that needs a rebuild fails.
func WithRepo(repo *gitops.Repo) Option { return func(o *options) { o.repo = repo } }

// WithStepHook calls hook with the move's context at each step of a move:
// "planned" (the plan is printed and confirmed), "journaled" (the planned
// line is written) and "moved" (the tag was written and read back). Tests
// interrupt a deploy at every step with it. The default does nothing.
func WithStepHook(hook func(ctx context.Context, step string)) Option {
	return func(o *options) { o.hook = hook }
}

// WithReadBack bounds how long a move that did not finish cleanly keeps
// reading the target back, until it can say which digest it holds. The
// reads have their own context, so Ctrl-C does not stop them. The default
// is 30 seconds.
func WithReadBack(d time.Duration) Option { return func(o *options) { o.readBack = d } }

// WithSettle sets how long after a move, read back at its digest, the
// target is read once more: registries have no conditional write, so a
// writer that moved the tag right after lkg is caught by this second read.
// The default is 500 milliseconds; 0 skips the second read.
func WithSettle(d time.Duration) Option { return func(o *options) { o.settle = d } }

// WithLock makes a move hold lock(target) from the plan to the last
// read-back, so two moves of one target (from one clone) never overlap;
// one that finds it taken changes nothing. The default takes no lock.
func WithLock(lock Locker) Option { return func(o *options) { o.lock = lock } }

// WithEnvironment names the environment the target belongs to: the
// journal's deploy and verify events and the report carry it. The default
// is "" (a target given by itself).
func WithEnvironment(name string) Option { return func(o *options) { o.env = name } }

// WithWarnings are warnings found before the move (automation that would
// undo it): the report and the journal's deploy events carry them. The
// default is none.
func WithWarnings(warnings []string) Option {
	return func(o *options) { o.warnings = warnings }
}

// WithEngine sets how the Docker engine client is built for a rebuild or an
// engine push (its timeout, its trace). The default is artifacts.NewEngine's.
func WithEngine(opts ...artifacts.EngineOption) Option {
	return func(o *options) { o.engine = opts }
}

func newOptions(opts []Option) options {
	o := options{
		confirm:  func(string) (bool, error) { return false, nil },
		out:      io.Discard,
		log:      io.Discard,
		context:  ".",
		hook:     func(context.Context, string) {},
		readBack: 30 * time.Second,
		settle:   500 * time.Millisecond,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Report is what moved, from which digest to which: what --json prints for
// deploy and undo.
type Report struct {
	Target     string              `json:"target"`
	Previous   string              `json:"previous"`
	Digest     string              `json:"digest"`
	Build      string              `json:"build"`
	Method     journal.Method      `json:"method"`
	Status     journal.Status      `json:"status"`
	GoodTag    string              `json:"good_tag,omitempty"`
	Revision   string              `json:"revision,omitempty"`
	Referrers  []string            `json:"referrers"`
	CosignTags []string            `json:"cosign_tags"`
	Verify     *journal.VerifyData `json:"verify,omitempty"`
	Env        string              `json:"env,omitempty"`
	Warnings   []string            `json:"warnings,omitempty"`
}

// Outcome is how a deploy or undo ended: the report, and the same in
// words for people.
type Outcome struct {
	Report  Report
	Message string
}

// Error is a failure with what to do next.
type Error struct {
	Err  error
	Hint string
	// Code is the process exit code: 0 means 1; 130 after an interrupt.
	Code int
}

func (e *Error) Error() string {
	if e.Hint == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ". " + e.Hint
}

// Unwrap returns the failure.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the process exit code for the failure.
func (e *Error) ExitCode() int {
	if e.Code != 0 {
		return e.Code
	}
	return 1
}

// explain adds the next step to the errors of the engine and the copy.
func explain(err error, target string) error {
	var de *Error
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
			return &Error{Err: err, Hint: h.hint}
		}
	}
	return err
}

// Deploy puts the best build of res under target ("host/repo:tag"): a
// registry build is copied by digest, a local engine image is pushed
// through the engine, and with WithRebuild the known-good commit is
// rebuilt. With no build and no WithRebuild it fails with ErrNoBuild. The target's digest is recorded before it moves, the
// move is a compare-and-swap against it, and the target is read back
// afterwards.
//
// The outcome is returned whenever there is one to show, also alongside an
// error (a verification that failed after the tag moved).
func Deploy(ctx context.Context, copier *artifacts.Copier, rec Recorder, res finder.Result, target string, opts ...Option) (*Outcome, error) {
	o := newOptions(opts)
	d := &deployment{target: target, kind: journal.KindDeploy, copier: copier, rec: rec, o: o}
	switch best := res.Best; {
	case best != nil && !o.rebuild && best.Source == types.SourceRegistry:
		d.report = Report{Method: journal.MethodCopy, Build: best.Repo + "@" + best.Digest, GoodTag: best.GoodTag, Revision: best.Revision}
		d.source = best.Repo + "@" + best.Digest
		d.what = fmt.Sprintf("registry build %s (%s match to %s)", best.Image, best.Match, best.GoodTag)
	case best != nil && !o.rebuild:
		d.report = Report{Method: journal.MethodEnginePush, Build: best.Image, GoodTag: best.GoodTag, Revision: best.Revision}
		d.localImage = best.Image
		d.what = fmt.Sprintf("local Docker image %s (%s match to %s)", best.Image, best.Match, best.GoodTag)
	default:
		good, err := rebuildGood(res)
		if err != nil {
			return nil, err
		}
		if !o.rebuild {
			where := ""
			if len(o.searched) > 0 {
				where = " in " + strings.Join(o.searched, ", ")
			}
			return nil, &Error{
				Err:  fmt.Errorf("no build of %s was found%s: %w", good.Tag, where, ErrNoBuild),
				Hint: fmt.Sprintf("Pass --rebuild to build it from source (commit %s) with the Docker engine", short(good.Commit)),
				Code: 3,
			}
		}
		d.report = Report{Method: journal.MethodRebuild, Build: string(journal.MethodRebuild), GoodTag: good.Tag, Revision: good.Commit}
		d.rebuild = &good
		d.what = fmt.Sprintf("a rebuild of %s (commit %s) with the Docker engine, since --rebuild", good.Tag, short(good.Commit))
	}
	return d.run(ctx)
}

// DeployDigest puts the registry build source ("host/repo@sha256:<hex>")
// under target with Deploy's plan, confirmation, journal, compare-and-swap
// and read-back, but without find: for a build known by its digest (lkg
// deploy --digest), also from a repository find cannot read.
func DeployDigest(ctx context.Context, copier *artifacts.Copier, rec Recorder, source, target string, opts ...Option) (*Outcome, error) {
	d := &deployment{target: target, kind: journal.KindDeploy, copier: copier, rec: rec, o: newOptions(opts), source: source}
	d.report = Report{Method: journal.MethodCopy, Build: source}
	d.what = fmt.Sprintf("registry build %s, given by digest", source)
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
		return finder.Good{}, fmt.Errorf("nothing to rebuild: no known-good commit: %w", ErrNothingGood)
	}
	return res.Good[0], nil
}

// deployment is one move of the target tag, for deploy and undo alike.
type deployment struct {
	target string
	kind   string // journal.KindDeploy or journal.KindUndo
	copier *artifacts.Copier
	rec    Recorder
	o      options

	what       string       // the plan, in words
	source     string       // copy: "host/repo@digest"
	localImage string       // engine-push: the local image name
	rebuild    *finder.Good // rebuild: the commit to build
	expect     *string      // undo: the digest the target must have now, instead of the one read at plan time
	toRevision int          // undo --to-revision: the history entry put back

	report  Report
	now     string // the digest the target was read back at
	started bool   // the move began: a tag write may have been sent
	warning string // what went wrong with a write that took effect anyway
}

func (d *deployment) run(ctx context.Context) (*Outcome, error) {
	d.report.Target = d.target
	if d.o.lock != nil && !d.o.dryRun {
		unlock, err := d.o.lock(d.target)
		if err != nil {
			return nil, &Error{Err: err, Hint: "Nothing was changed by this run. Let the other one finish, then check with 'lkg journal'"}
		}
		defer unlock()
	}
	d.report.Env, d.report.Warnings = d.o.env, d.o.warnings
	var plan *artifacts.CopyPlan
	var err error
	if d.source != "" {
		plan, err = d.copier.Plan(ctx, d.source, d.target)
		if err != nil {
			return nil, explain(err, d.target)
		}
		d.report.Previous, d.report.Digest = plan.Previous, plan.Digest
		d.report.Referrers, d.report.CosignTags = plan.Referrers, plan.CosignTags
	} else {
		if d.report.Previous, err = d.copier.TargetDigest(ctx, d.target); err != nil {
			return nil, explain(err, d.target)
		}
	}
	if d.expect != nil && d.report.Previous != *d.expect {
		return nil, &Error{
			Err:  fmt.Errorf("%s is at %s, not at %s where the last deploy put it: %w", d.target, orAbsent(d.report.Previous), *d.expect, artifacts.ErrTargetMoved),
			Hint: "Someone moved it since; nothing was changed. Deploy the build you want explicitly",
		}
	}
	d.printPlan(plan)
	if plan != nil && plan.Previous == plan.Digest {
		d.report.Status = journal.StatusUnchanged
		return d.outcome(fmt.Sprintf("%s is already at %s; nothing to do.", d.target, digest.Short(plan.Digest))), nil
	}
	if plan != nil {
		// Retention may have deleted a blob since find saw the build: say
		// which, before anything moves.
		rest, err := d.copier.Restorable(ctx, plan.Source, nil)
		if err != nil {
			return nil, explain(err, d.target)
		}
		if err := rest.Err(); err != nil {
			return nil, &Error{Err: err, Hint: fmt.Sprintf("Nothing was changed; %s is still at %s. Deploy another build (lkg find lists them), or rebuild with --rebuild", d.target, orAbsent(d.report.Previous))}
		}
	}
	if d.o.dryRun {
		d.report.Status = journal.StatusDryRun
		return d.outcome("Dry run: nothing changed. Run again with --yes to do it."), nil
	}
	if !d.o.yes {
		ok, err := d.o.confirm(fmt.Sprintf("Move %s? [y/N] ", d.target))
		if err != nil || !ok {
			return nil, &Error{Err: errors.New("not confirmed"), Hint: "Nothing was changed"}
		}
	}
	d.o.hook(ctx, "planned")
	if ctx.Err() != nil {
		return nil, d.unclean(ctx, ctx.Err(), false)
	}

	// The digest the target has now is journaled before anything moves:
	// undo depends on it, so a journal that cannot be written stops here.
	d.report.Status = journal.StatusPlanned
	if err := d.journal(""); err != nil {
		return nil, &Error{Err: err, Hint: fmt.Sprintf("Nothing was changed; %s is still at %s. Make the repository's .git writable, or run from a writable clone with -C", d.target, orAbsent(d.report.Previous))}
	}
	d.o.hook(ctx, "journaled")
	moveErr := ctx.Err()
	if moveErr == nil {
		d.started = true
		moveErr = d.move(ctx, plan)
		if moveErr == nil {
			d.o.hook(ctx, "moved")
		}
	}
	var warning string
	if moveErr != nil || ctx.Err() != nil {
		// Whatever happened, the registry is read until it says where the
		// target is; a write that took effect counts, however it ended.
		if err := d.unclean(ctx, moveErr, true); err != nil {
			return nil, err
		}
		warning = d.warning
	}
	if err := d.settleCheck(ctx, warning); err != nil {
		return nil, err
	}
	d.report.Status = journal.StatusDone
	d.now = d.report.Digest
	if err := d.journal(warning); err != nil {
		// The tag did move: say so, and fail so nobody believes the
		// journal is complete.
		return nil, &Error{Err: err, Hint: fmt.Sprintf("%s DID move to %s (it was %s); record that by hand", d.target, d.report.Digest, orAbsent(d.report.Previous))}
	}
	if warning != "" {
		fmt.Fprintf(d.o.log, "lkg: warning: %s; the tag reads back at %s: the write took effect\n", warning, d.report.Digest)
	}
	msg := fmt.Sprintf("Done: %s is now at %s (was %s).", d.target, d.report.Digest, orAbsent(d.report.Previous))
	switch {
	case d.undoHint() != "":
		msg += "\n" + strings.TrimSpace(d.undoHint())
	case d.kind == journal.KindDeploy:
		msg += "\nThe tag did not exist before: undo cannot remove it; deploy another build to move it."
	}
	if d.o.verifyURL != "" {
		v := verify(ctx, d.o.verifyURL, d.o.verifyTimeout)
		v.Env = d.o.env
		d.report.Verify = &v
		if e, err := journal.NewEvent(journal.KindVerify, "", v); err == nil {
			if err := d.rec.Record(e); err != nil {
				fmt.Fprintf(d.o.log, "lkg: warning: %s\n", oneLine(err))
			}
		}
		if v.Interrupted() {
			return d.outcome(msg), &Error{
				Err:  fmt.Errorf("%w while verifying %s", ErrInterrupted, redact.URL(d.o.verifyURL)),
				Hint: fmt.Sprintf("%s is at %s (was %s).%s", d.target, d.report.Digest, orAbsent(d.report.Previous), d.undoHint()),
				Code: 130,
			}
		}
		if !v.OK {
			why := fmt.Sprintf("no 2xx answer within %s (last status %d)", d.o.verifyTimeout, v.Status)
			switch {
			case v.Status != 0:
			case v.Error == journal.VerifyRefused:
				why = fmt.Sprintf("connection refused for %s", d.o.verifyTimeout)
			case v.Error == journal.VerifyTimedOut:
				why = fmt.Sprintf("no answer (timed out) within %s", d.o.verifyTimeout)
			case v.Error != "":
				why = fmt.Sprintf("no answer within %s: %s", d.o.verifyTimeout, v.Error)
			}
			hint := "The tag moved; it did not exist before, so undo cannot remove it: deploy another build"
			if d.undoHint() != "" {
				hint = "The tag moved; if the service is still broken, run: lkg undo --to " + d.target
			}
			return d.outcome(msg), &Error{Err: fmt.Errorf("verifying %s: %s", redact.URL(d.o.verifyURL), why), Hint: hint}
		}
		msg += fmt.Sprintf("\nVerified: %s answered %d after %dms.", redact.URL(d.o.verifyURL), v.Status, v.ElapsedMS)
	}
	return d.outcome(msg), nil
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
	engine, err := artifacts.NewEngine(ctx, d.o.engine...)
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
	fmt.Fprintf(d.o.log, "lkg: pushing %s through the engine\n", staging)
	return engine.Push(ctx, staging, nil)
}

// build exports the good commit's tree and builds it; it returns the
// image ID.
func (d *deployment) build(ctx context.Context, engine *artifacts.Engine) (string, error) {
	good := d.rebuild
	if d.o.repo == nil {
		return "", fmt.Errorf("rebuilding %s: no repository to export commit %s from", good.Tag, short(good.Commit))
	}
	tmp, err := os.MkdirTemp("", "lkg-rebuild-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ex, err := d.o.repo.Export(ctx, good.Commit, filepath.Join(tmp, "src"))
	if err != nil {
		return "", err
	}
	for _, s := range ex.Submodules {
		fmt.Fprintf(d.o.log, "lkg: warning: submodule %s is not part of the rebuild (left empty)\n", s)
	}
	contextDir := filepath.Join(ex.Dir, filepath.FromSlash(d.o.context))
	dockerfile := filepath.Join(contextDir, "Dockerfile")
	shown := filepath.ToSlash(filepath.Join(d.o.context, "Dockerfile"))
	if d.o.dockerfile != "" {
		dockerfile = filepath.Join(ex.Dir, filepath.FromSlash(d.o.dockerfile))
		shown = d.o.dockerfile
	}
	if fi, err := os.Stat(dockerfile); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("rebuilding %s: %w: no %s at commit %s", good.Tag, artifacts.ErrNoDockerfile, shown, short(good.Commit))
	}
	args := map[string]string{"SOURCE_DATE_EPOCH": strconv.FormatInt(ex.Time.Unix(), 10)}
	for k, v := range d.o.buildArgs {
		args[k] = v
	}
	labels := map[string]string{artifacts.LabelRevision: good.Commit}
	if src := sourceURL(d.o.repo); src != "" {
		labels[artifacts.LabelSource] = src
	}
	fmt.Fprintf(d.o.log, "lkg: building %s (commit %s)\n", good.Tag, short(good.Commit))
	id, err := engine.Build(ctx, artifacts.BuildRequest{
		ContextDir: contextDir,
		Dockerfile: dockerfile,
		BuildArgs:  args,
		Labels:     labels,
		Output:     d.o.log,
	})
	if err != nil {
		return "", fmt.Errorf("rebuilding %s (commit %s): %w", good.Tag, short(good.Commit), err)
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
		return redact.URL(u.String()) // and token query parameters
	}
	if strings.Contains(raw, "://") {
		return "" // unparsable URL with a scheme: it may hide credentials
	}
	return raw // scp-like git@host:path or a local path
}

// unclean settles a move that did not finish cleanly (cause is its error,
// or nil when only the context was cancelled): it reads the target back
// until it can say which digest it holds, journals that, and returns the
// error to show. It returns nil when the write took effect and the move
// was not interrupted (a registry that applied the write and answered
// 5xx, say): the caller then finishes the move as done, with
// d.warning as the warning. journaled says a planned line was written
// (else nothing is journaled: nothing was about to move).
func (d *deployment) unclean(ctx context.Context, cause error, journaled bool) error {
	interrupted := ctx.Err() != nil || errors.Is(cause, context.Canceled) || errors.Is(cause, ErrInterrupted)
	if cause == nil || (interrupted && errors.Is(cause, context.Canceled)) {
		cause = ErrInterrupted
	}
	now, rerr := d.readBack()
	if rerr == nil && now == d.report.Previous && d.started && d.report.Digest != "" && now != d.report.Digest {
		// A write cut off in flight may still land (a proxy or load
		// balancer forwarding it after the client gave up): the old
		// digest is believed only when a second read, a settle later,
		// agrees.
		time.Sleep(max(d.o.settle, 200*time.Millisecond))
		if again, err := d.readBack(); err == nil {
			now = again
		}
	}
	code := 0
	if interrupted {
		code = 130
	}
	record := func(status journal.Status, now, where string) {
		d.report.Status, d.now = status, now
		if !journaled {
			return
		}
		if jerr := d.journal(oneLine(cause) + "; " + where); jerr != nil {
			fmt.Fprintf(d.o.log, "lkg: warning: %s\n", oneLine(jerr))
		}
	}
	switch {
	case rerr != nil:
		where := fmt.Sprintf("could not read %s back within %s: it holds %s (before) or %s (this move)", d.target, d.o.readBack, orAbsent(d.report.Previous), orAbsent(d.report.Digest))
		record(journal.StatusUnknown, "", where)
		return &Error{Err: fmt.Errorf("%w: %s", cause, oneLine(rerr)), Hint: upper(where) + ". Check it; 'lkg undo --to " + d.target + "' puts it back if it moved", Code: code}
	case d.report.Digest != "" && now == d.report.Digest:
		if !interrupted {
			d.warning = oneLine(cause)
			return nil
		}
		where := fmt.Sprintf("%s DID move to %s (was %s)", d.target, now, orAbsent(d.report.Previous))
		d.report.Status, d.now = journal.StatusDone, now
		if journaled {
			if jerr := d.journal(oneLine(cause) + " after the tag was written; read back at " + now); jerr != nil {
				fmt.Fprintf(d.o.log, "lkg: warning: %s\n", oneLine(jerr))
			}
		}
		return &Error{Err: fmt.Errorf("%w after the tag was written", ErrInterrupted), Hint: where + "." + d.undoHint(), Code: code}
	case now == d.report.Previous:
		where := fmt.Sprintf("%s is still at %s (read back); nothing was changed", d.target, orAbsent(now))
		record(journal.StatusFailed, now, where)
		if interrupted {
			return &Error{Err: ErrInterrupted, Hint: upper(where), Code: code}
		}
		return d.withWhere(cause, upper(where))
	default:
		where := d.overwritten(now)
		record(journal.StatusOverwritten, now, where)
		if interrupted {
			return &Error{Err: ErrInterrupted, Hint: upper(where), Code: code}
		}
		return &Error{Err: fmt.Errorf("%w: %s", ErrOverwritten, oneLine(cause)), Hint: upper(where) + ". Check with your team before moving it again"}
	}
}

// settleCheck waits the settle time after a write that read back at its
// digest, then reads the target again: a writer that moved it meanwhile
// won, and that is journaled (both digests) and returned. Ctrl-C during
// the wait ends it early; the write stands and is said to.
func (d *deployment) settleCheck(ctx context.Context, warning string) error {
	if d.o.settle <= 0 {
		return nil
	}
	t := time.NewTimer(d.o.settle)
	select {
	case <-ctx.Done():
		t.Stop()
		return d.unclean(ctx, nil, true)
	case <-t.C:
	}
	now, err := d.readBack()
	if err != nil || now == d.report.Digest {
		return nil // the write was read back already; a failed re-read adds nothing
	}
	where := d.overwritten(now)
	d.report.Status, d.now = journal.StatusOverwritten, now
	msg := "after the settle: " + where
	if warning != "" {
		msg = warning + "; " + msg
	}
	if jerr := d.journal(msg); jerr != nil {
		fmt.Fprintf(d.o.log, "lkg: warning: %s\n", oneLine(jerr))
	}
	return &Error{Err: fmt.Errorf("%w within %s of this move", ErrOverwritten, d.o.settle), Hint: upper(where) + ". Check with your team before moving it again"}
}

// overwritten says the target holds now, another writer's digest.
func (d *deployment) overwritten(now string) string {
	return fmt.Sprintf("%s is now at %s, neither where it was (%s) nor this move's %s: another writer moved it", d.target, orAbsent(now), orAbsent(d.report.Previous), orAbsent(d.report.Digest))
}

// withWhere is cause explained, with where the target is (as read back)
// in place of the generic "was not changed".
func (d *deployment) withWhere(cause error, where string) error {
	err := explain(cause, d.target)
	var de *Error
	if errors.As(err, &de) {
		hint := strings.TrimSuffix(de.Hint, fmt.Sprintf("%s was not changed", d.target))
		hint = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(hint), "."), "; nothing was changed")
		hint = strings.TrimSuffix(hint, ".")
		if hint != "" {
			hint += ". "
		}
		de.Hint = hint + where
		return de
	}
	return &Error{Err: err, Hint: where}
}

// readBack reads the target until the registry answers, for at most the
// read-back budget, each read with its own deadline. It does not use the
// move's context: after Ctrl-C the journal must still say where the target
// is.
func (d *deployment) readBack() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.o.readBack)
	defer cancel()
	wait := 200 * time.Millisecond
	for {
		actx, acancel := context.WithTimeout(ctx, min(5*time.Second, d.o.readBack))
		now, err := d.copier.TargetDigest(actx, d.target)
		acancel()
		if err == nil {
			return now, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", err
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// undoHint is the way back after a deploy moved the target, or "" when
// undo would refuse (an undo, or a deploy that created the tag).
func (d *deployment) undoHint() string {
	if d.kind != journal.KindDeploy || d.report.Previous == "" {
		return ""
	}
	return fmt.Sprintf(" Undo with: lkg undo --to %s", d.target)
}

// upper starts s with a capital letter.
func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// journal appends the deploy or undo event in its current state.
func (d *deployment) journal(errMsg string) error {
	data := journal.DeployData{
		Target:     d.report.Target,
		Previous:   d.report.Previous,
		Digest:     d.report.Digest,
		Build:      d.report.Build,
		Method:     d.report.Method,
		Status:     d.report.Status,
		Error:      errMsg,
		Now:        d.now,
		GoodTag:    d.report.GoodTag,
		Revision:   d.report.Revision,
		User:       d.o.user,
		Clone:      d.o.clone,
		ToRevision: d.toRevision,
		Env:        d.report.Env,
		Warnings:   d.report.Warnings,
	}
	msg := ""
	if d.report.GoodTag != "" {
		msg = fmt.Sprintf("%s of %s (commit %s)", d.report.Method, d.report.GoodTag, short(d.report.Revision))
	}
	e, err := journal.NewEvent(d.kind, msg, data)
	if err != nil {
		return err
	}
	return d.rec.Record(e)
}

func (d *deployment) printPlan(plan *artifacts.CopyPlan) {
	w := d.o.out
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

// outcome is the report as it stands, with msg for people.
func (d *deployment) outcome(msg string) *Outcome {
	r := d.report
	if r.Referrers == nil {
		r.Referrers = []string{}
	}
	if r.CosignTags == nil {
		r.CosignTags = []string{}
	}
	return &Outcome{Report: r, Message: msg}
}

// verify polls u until it answers 2xx or timeout passes. A poll with no
// HTTP answer records why (refused, timed out); Ctrl-C (ctx) ends it as
// interrupted, which is no verdict on the service.
func verify(ctx context.Context, u string, timeout time.Duration) journal.VerifyData {
	start := time.Now()
	v := journal.VerifyData{URL: redact.URL(u)}
	vctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		req, err := http.NewRequestWithContext(vctx, http.MethodGet, u, nil)
		if err == nil {
			var resp *http.Response
			resp, err = client.Do(req)
			if err == nil {
				_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
				resp.Body.Close()
				v.Status, v.Error = resp.StatusCode, ""
				if resp.StatusCode >= 200 && resp.StatusCode < 300 {
					v.OK = true
					break
				}
			}
		}
		// An attempt cut short by the deadline says less than the one
		// before it (a refusal, a status): keep that one.
		if err != nil && (vctx.Err() == nil || (v.Status == 0 && v.Error == "")) {
			v.Error = noAnswer(err)
		}
		t := time.NewTimer(time.Second)
		select {
		case <-vctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				v.Error = journal.VerifyInterrupted
			}
			v.ElapsedMS = time.Since(start).Milliseconds()
			return v
		case <-t.C:
		}
	}
	v.ElapsedMS = time.Since(start).Milliseconds()
	return v
}

// noAnswer says why a request got no HTTP answer, in the words the journal
// keeps.
func noAnswer(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return journal.VerifyRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return journal.VerifyTimedOut
	case errors.Is(err, context.Canceled):
		return journal.VerifyInterrupted
	}
	return redact.Text(oneLine(err)) // url.Error quotes the URL, credentials and all
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

// short is a commit hash as people read it.
var short = text.ShortHash

// oneLine folds an error message onto one line.
var oneLine = text.OneLine
