package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/redact"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/journal"
	"github.com/lkg-dev/lkg/types"
)

// ErrNoBuild: find found no build of the known-good code and no rebuild
// was asked for. Its exit code is 3, as find's is for "no build, but
// sources to rebuild from".
var ErrNoBuild = errors.New("nothing was deployed")

// ErrInterrupted: the context was cancelled (Ctrl-C) during a move. The
// error that wraps it says where the target is, as read back.
var ErrInterrupted = errors.New("interrupted")

// ErrOverwritten: another writer moved the target right after this move
// wrote it (read back, or re-read after the settle). A registry has no
// conditional write, so this is detected, not prevented.
var ErrOverwritten = errors.New("another writer won the race for the target")

// Outcome is how a deploy or undo ended: the record, and the same in words
// for people.
type Outcome struct {
	Move    journal.Move
	Message string
}

// Deploy puts the best build of res on t: a registry build by digest, a
// local engine image (pushed to a registry first when t cannot run it from
// the engine), or with o.Rebuild the known-good commit rebuilt. With no
// build and no rebuild it fails with ErrNoBuild.
//
// What t runs is journaled before it moves, the move is a compare-and-swap
// against it, and t is read back afterwards. The outcome is returned
// whenever there is one to show, also alongside an error (a verification
// that failed after the move).
func Deploy(ctx context.Context, t Target, rec Recorder, res finder.Result, o Options) (*Outcome, error) {
	o.defaults()
	d := &deployment{t: t, kind: journal.KindDeploy, rec: rec, o: o}
	if o.RequireSigned && res.Best != nil && !o.Rebuild {
		if err := finder.RequireVerified(res.Best); err != nil {
			return nil, errs.Hinted(err, fmt.Sprintf("Nothing was changed; %s was not read. Deploy a verified build (lkg find shows TRUST), or rebuild from source with --rebuild", t))
		}
	}
	switch best := res.Best; {
	case best != nil && !o.Rebuild && best.Source == types.SourceRegistry:
		d.rec0 = move{Method: journal.MethodCopy, Build: best.Repo + "@" + best.Digest, GoodTag: best.GoodTag, Revision: best.Revision}
		d.build = Build{Image: best.Repo + "@" + best.Digest, Digest: best.Digest, GoodTag: best.GoodTag}
		d.what = fmt.Sprintf("registry build %s (%s match to %s)", best.Image, best.Match, best.GoodTag)
	case best != nil && !o.Rebuild:
		d.rec0 = move{Method: journal.MethodEnginePush, Build: best.Image, GoodTag: best.GoodTag, Revision: best.Revision}
		d.build = Build{Image: best.Image, Local: true, GoodTag: best.GoodTag}
		d.what = fmt.Sprintf("local Docker image %s (%s match to %s)", best.Image, best.Match, best.GoodTag)
	default:
		good, err := rebuildGood(res)
		if err != nil {
			return nil, err
		}
		if !o.Rebuild {
			where := ""
			if len(o.Searched) > 0 {
				where = " in " + strings.Join(o.Searched, ", ")
			}
			return nil, errs.Coded(3, fmt.Errorf("no build of %s was found%s: %w", good.Tag, where, ErrNoBuild),
				fmt.Sprintf("Pass --rebuild to build it from source (commit %s) with the Docker engine", short(good.Commit)))
		}
		d.rec0 = move{Method: journal.MethodRebuild, Build: string(journal.MethodRebuild), GoodTag: good.Tag, Revision: good.Commit}
		d.rebuild = &good
		d.build = Build{Local: true, GoodTag: good.Tag}
		d.what = fmt.Sprintf("a rebuild of %s (commit %s) with the Docker engine, since --rebuild", good.Tag, short(good.Commit))
	}
	return d.run(ctx)
}

// DeployDigest puts the registry build image ("host/repo@sha256:<hex>") on
// t with Deploy's plan, confirmation, journal, compare-and-swap and
// read-back, but without find: for a build known by its digest (lkg deploy
// --digest), also from a repository find cannot read.
func DeployDigest(ctx context.Context, t Target, rec Recorder, image string, o Options) (*Outcome, error) {
	o.defaults()
	if o.RequireSigned {
		return nil, errs.Coded(2, fmt.Errorf("--digest %s skips find, so its signatures are not checked, and signed builds are required", image),
			"Deploy it through find (--good REF), which verifies it, or drop --require-signed")
	}
	_, dg, _ := strings.Cut(image, "@")
	d := &deployment{t: t, kind: journal.KindDeploy, rec: rec, o: o}
	d.rec0 = move{Method: journal.MethodCopy, Build: image}
	d.build = Build{Image: image, Digest: dg}
	d.what = fmt.Sprintf("registry build %s, given by digest", image)
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
		return finder.Good{}, fmt.Errorf("nothing to rebuild: no known-good commit: %w", errs.ErrNothingGood)
	}
	return res.Good[0], nil
}

// deployment is one move of one target, for deploy and undo alike.
type deployment struct {
	t    Target
	kind journal.Kind // journal.KindDeploy or journal.KindUndo
	rec  Recorder
	o    Options

	what    string       // the plan, in words
	build   Build        // what goes on the target
	rebuild *finder.Good // rebuild: the commit to build (build.Local, no Image yet)
	expect  *string      // undo: the digest the target must run now, instead of the one read at plan time

	rec0    move   // the record as it stands
	from    State  // what the target ran when read for the plan
	plan    *Plan  // Prepare's plan
	started bool   // Apply began: a write may have been sent
	warning string // what went wrong with a write that took effect anyway
}

func (d *deployment) name() string { return d.t.String() }

func (d *deployment) run(ctx context.Context) (*Outcome, error) {
	d.rec0.Target = d.name()
	if d.o.Lock != nil && !d.o.DryRun {
		unlock, err := d.o.Lock(d.name())
		if err != nil {
			return nil, errs.Hinted(err, "Nothing was changed by this run. Let the other one finish, then check with 'lkg journal'")
		}
		defer unlock()
	}
	d.rec0.Env, d.rec0.Warnings = d.o.Env, d.o.Warnings
	d.rec0.User, d.rec0.Clone = d.o.User, d.o.Clone
	cur, err := d.t.Read(ctx)
	if err != nil {
		return nil, err
	}
	d.from = cur
	d.rec0.Previous, d.rec0.PreviousImage, d.rec0.PreviousDetail = cur.Digest, cur.Image, cur.Detail
	if d.expect != nil && cur.Digest != *d.expect {
		return nil, errs.Hinted(fmt.Errorf("%s is at %s, not at %s where the last deploy put it: %w", d.name(), d.orNone(cur.Digest), *d.expect, ErrTargetMoved),
			"Someone moved it since; nothing was changed. Deploy the build you want explicitly")
	}
	if d.plan, err = d.prepare(ctx); err != nil {
		return nil, err
	}
	d.rec0.Digest, d.rec0.Image = d.plan.To.Digest, d.plan.To.Image
	d.rec0.Referrers, d.rec0.CosignTags = nonNil(d.plan.Referrers), nonNil(d.plan.CosignTags)
	d.printPlan()
	if d.plan.Unchanged() {
		d.rec0.Status = journal.StatusUnchanged
		return d.outcome(fmt.Sprintf("%s is already at %s; nothing to do.", d.name(), digest.Short(d.plan.To.Digest))), nil
	}
	if d.o.DryRun {
		d.rec0.Status = journal.StatusDryRun
		return d.outcome("Dry run: nothing changed. Run again with --yes to do it."), nil
	}
	if !d.o.Yes {
		ok, err := d.o.Confirm(fmt.Sprintf("Move %s? [y/N] ", d.name()))
		if err != nil || !ok {
			return nil, errs.Hinted(errors.New("not confirmed"), "Nothing was changed")
		}
	}
	d.o.Step(ctx, "planned")
	if ctx.Err() != nil {
		return nil, d.unclean(ctx, ctx.Err(), false)
	}
	d.keepEvidence(ctx)

	// What the target runs now is journaled before anything moves: undo
	// depends on it, so a journal that cannot be written stops here.
	d.rec0.Status = journal.StatusPlanned
	if err := d.journal(""); err != nil {
		return nil, errs.Hinted(err, fmt.Sprintf("Nothing was changed; %s is still at %s. Make the repository's .git writable, or run from a writable clone with -C", d.name(), d.orNone(cur.Digest)))
	}
	d.o.Step(ctx, "journaled")
	moveErr := ctx.Err()
	if moveErr == nil {
		d.started = true
		moveErr = d.apply(ctx)
		if moveErr == nil {
			d.o.Step(ctx, "moved")
		}
	}
	var warning string
	if moveErr != nil || ctx.Err() != nil {
		// Whatever happened, the target is read until it says what it
		// runs; a write that took effect counts, however it ended.
		if err := d.unclean(ctx, moveErr, true); err != nil {
			return nil, err
		}
		warning = d.warning
	}
	if err := d.wait(ctx, warning); err != nil {
		return d.revertAfter(ctx, err)
	}
	d.rec0.Status = journal.StatusDone
	d.rec0.Now = d.rec0.Digest
	if err := d.journal(warning); err != nil {
		// The target did move: say so, and fail so nobody believes the
		// journal is complete.
		return nil, errs.Hinted(err, fmt.Sprintf("%s DID move to %s (it was %s); record that by hand", d.name(), d.orNone(d.rec0.Digest), d.orNone(d.rec0.Previous)))
	}
	if warning != "" {
		fmt.Fprintf(d.o.Log, "lkg: warning: %s; %s reads back at %s: the write took effect\n", warning, d.name(), d.rec0.Digest)
	}
	msg := fmt.Sprintf("Done: %s is now at %s (was %s).", d.name(), d.orNone(d.rec0.Digest), d.orNone(d.rec0.Previous))
	switch {
	case d.undoHint() != "":
		msg += "\n" + strings.TrimSpace(d.undoHint())
	case d.kind == journal.KindDeploy:
		msg += "\nThe tag did not exist before: undo cannot remove it; deploy another build to move it."
	}
	if d.o.VerifyURL == "" {
		return d.outcome(msg), nil
	}
	v := verify(ctx, d.o.VerifyURL, d.o.VerifyTimeout)
	v.Env = d.o.Env
	d.rec0.Verify = &v
	if e, err := journal.NewEvent(journal.KindVerify, "", v); err == nil {
		if err := d.rec.Record(e); err != nil {
			fmt.Fprintf(d.o.Log, "lkg: warning: %s\n", oneLine(err))
		}
	}
	if v.Interrupted() {
		return d.outcome(msg), errs.Coded(130, fmt.Errorf("%w while verifying %s", ErrInterrupted, redact.URL(d.o.VerifyURL)),
			fmt.Sprintf("%s is at %s (was %s).%s", d.name(), d.orNone(d.rec0.Digest), d.orNone(d.rec0.Previous), d.undoHint()))
	}
	if v.OK {
		msg += fmt.Sprintf("\nVerified: %s answered %d after %dms.", redact.URL(d.o.VerifyURL), v.Status, v.ElapsedMS)
		return d.outcome(msg), nil
	}
	why := fmt.Sprintf("no 2xx answer within %s (last status %d)", d.o.VerifyTimeout, v.Status)
	switch {
	case v.Status != 0:
	case v.Error == journal.VerifyRefused:
		why = fmt.Sprintf("connection refused for %s", d.o.VerifyTimeout)
	case v.Error == journal.VerifyTimedOut:
		why = fmt.Sprintf("no answer (timed out) within %s", d.o.VerifyTimeout)
	case v.Error != "":
		why = fmt.Sprintf("no answer within %s: %s", d.o.VerifyTimeout, v.Error)
	}
	verr := fmt.Errorf("verifying %s: %s", redact.URL(d.o.VerifyURL), why)
	if d.o.AutoRevert && d.kind == journal.KindDeploy && d.rec0.HadPrevious() {
		out, err := d.autoRevert(ctx, verr)
		return out, err
	}
	hint := "The tag moved; it did not exist before, so undo cannot remove it: deploy another build"
	if d.undoHint() != "" {
		hint = fmt.Sprintf("%s moved; if the service is still broken, run: lkg undo %s (or deploy with --auto-revert)", d.name(), d.undoFlag())
	}
	return d.outcome(msg), errs.Hinted(verr, hint)
}

// prepare asks the target for its plan. A local build the target cannot
// run from the engine is planned as pushed first: its digest is known only
// then, so Apply's plan is made again after the push.
func (d *deployment) prepare(ctx context.Context) (*Plan, error) {
	p, err := d.t.Prepare(ctx, d.from, d.build)
	if err != nil {
		return nil, explain(err, d.name())
	}
	return p, nil
}

// apply stages a local build when the target needs it in a registry, then
// applies the plan.
func (d *deployment) apply(ctx context.Context) error {
	if d.build.Local && !runsLocal(d.t) {
		staged, err := d.stage(ctx)
		if err != nil {
			return err
		}
		d.build = staged
		d.rec0.Digest, d.rec0.Image = staged.Digest, staged.Image
		// The swap is against what was journaled, not what is there now.
		p, err := d.t.Prepare(ctx, d.from, staged)
		if err != nil {
			return err
		}
		d.plan = p
	} else if d.rebuild != nil {
		image, err := d.buildLocal(ctx)
		if err != nil {
			return err
		}
		d.build.Image = image
		p, err := d.t.Prepare(ctx, d.from, d.build)
		if err != nil {
			return err
		}
		d.plan = p
	}
	return d.t.Apply(ctx, d.plan)
}

func runsLocal(t Target) bool {
	l, ok := t.(LocalRunner)
	return ok && l.RunsLocal()
}

// wait lets the target say the move is done and healthy. Another writer
// that moved it meanwhile is journaled (both digests) and returned, as is
// a build that does not come up. Ctrl-C during the wait ends it early;
// the write stands and is said to.
func (d *deployment) wait(ctx context.Context, warning string) error {
	now, err := d.t.Wait(ctx, d.plan)
	switch {
	case err == nil:
		if now.Digest != "" {
			d.rec0.Digest = now.Digest
		}
		d.rec0.Detail = now.Detail
		return nil
	case ctx.Err() != nil:
		// A target that says where its wait was cut off (an
		// ErrInterrupted of its own: a rollout's pods) has that
		// journaled; any other error is the interruption itself.
		if !errors.Is(err, ErrInterrupted) {
			err = nil
		}
		return d.unclean(ctx, err, true)
	case errors.Is(err, ErrOverwritten):
		where := d.overwritten(now.Digest)
		d.rec0.Status, d.rec0.Now = journal.StatusOverwritten, now.Digest
		msg := "after the settle: " + where
		if warning != "" {
			msg = warning + "; " + msg
		}
		d.journalQuietly(msg)
		return errs.Hinted(err, upper(where)+". Check with your team before moving it again")
	}
	d.rec0.Status, d.rec0.Now = journal.StatusFailed, now.Digest
	d.journalQuietly(oneLine(err))
	where := fmt.Sprintf("%s runs %s now (it ran %s before)", d.name(), d.orNone(now.Digest), d.orNone(d.rec0.Previous))
	return errs.Hinted(err, upper(where))
}

// revertAfter ends a move whose wait failed: with --auto-revert (and a
// build that did not come up) the previous state is put back once, unless
// the target put it back itself (a container recreate does).
func (d *deployment) revertAfter(ctx context.Context, err error) (*Outcome, error) {
	if d.o.AutoRevert && errors.Is(err, ErrUnhealthy) && d.kind == journal.KindDeploy && d.rec0.HadPrevious() && d.rec0.Now != d.rec0.Previous && ctx.Err() == nil {
		return d.autoRevert(ctx, err)
	}
	return nil, err
}

// autoRevert puts the state journaled before this deploy back, as an undo
// of its own (journaled, auto_revert true), after cause.
func (d *deployment) autoRevert(ctx context.Context, cause error) (*Outcome, error) {
	fmt.Fprintf(d.o.Log, "lkg: %s; --auto-revert puts %s back to %s\n", oneLine(cause), d.name(), d.orNone(d.rec0.Previous))
	deployed := d.rec0
	u := d.undoOf(deployed, d.rec0.Digest)
	u.rec0.Reverted = true
	u.o.Yes, u.o.Out = true, d.o.Log
	u.o.Lock = nil // this deploy holds the target's lock
	u.what = fmt.Sprintf("put %s back to %s, what it ran before this deploy (--auto-revert)", d.name(), digest.Short(deployed.Previous))
	out, err := u.run(ctx)
	if err != nil {
		return d.outcome(""), errs.Hinted(fmt.Errorf("%w; --auto-revert failed too: %w", cause, err), "Check the target with 'lkg status', then run: lkg undo "+d.undoFlag())
	}
	msg := fmt.Sprintf("Reverted: %s is back at %s after %s.", d.name(), out.Move.Digest, oneLine(cause))
	res := d.outcome(msg)
	return res, errs.Hinted(cause, fmt.Sprintf("%s was put back to %s (--auto-revert); the journal has both moves", d.name(), d.orNone(out.Move.Digest)))
}

// undoOf is the undo of the deploy recorded in last, expected to leave the
// target at expect.
func (d *deployment) undoOf(last move, expect string) *deployment {
	u := &deployment{t: d.t, kind: journal.KindUndo, rec: d.rec, o: d.o, expect: &expect}
	prev := State{Image: last.PreviousImage, Digest: last.Previous, Detail: last.PreviousDetail}
	u.build = Build{Image: last.PreviousImage, Digest: last.Previous, Local: isImageID(last.PreviousImage), Restores: &prev}
	u.rec0 = move{Method: journal.MethodCopy, Build: orDigest(last.PreviousImage, last.Previous)}
	return u
}

// unclean settles a move that did not finish cleanly (cause is its error,
// or nil when only the context was cancelled): it reads the target back
// until it can say what it runs, journals that, and returns the error to
// show. It returns nil when the write took effect and the move was not
// interrupted (a registry that applied the write and answered 5xx, say):
// the caller then finishes the move as done, with d.warning as the
// warning. journaled says a planned line was written (else nothing is
// journaled: nothing was about to move).
func (d *deployment) unclean(ctx context.Context, cause error, journaled bool) error {
	interrupted := ctx.Err() != nil || errors.Is(cause, context.Canceled) || errors.Is(cause, ErrInterrupted)
	if cause == nil || (interrupted && errors.Is(cause, context.Canceled)) {
		cause = ErrInterrupted
	}
	now, rerr := d.readBack()
	if rerr == nil && now == d.rec0.Previous && d.started && d.rec0.Digest != "" && now != d.rec0.Digest {
		// A write cut off in flight may still land (a proxy or load
		// balancer forwarding it after the client gave up): the old
		// digest is believed only when a second read, a moment later,
		// agrees.
		time.Sleep(200 * time.Millisecond)
		if again, err := d.readBack(); err == nil {
			now = again
		}
	}
	code := 0
	if interrupted {
		code = 130
	}
	record := func(status journal.Status, now, where string) {
		d.rec0.Status, d.rec0.Now = status, now
		if journaled {
			d.journalQuietly(oneLine(cause) + "; " + where)
		}
	}
	switch {
	case rerr != nil:
		where := fmt.Sprintf("could not read %s back within %s: it holds %s (before) or %s (this move)", d.name(), d.o.ReadBack, d.orNone(d.rec0.Previous), d.orNone(d.rec0.Digest))
		record(journal.StatusUnknown, "", where)
		return errs.Coded(code, fmt.Errorf("%w: %s", cause, oneLine(rerr)), upper(where)+". Check it; 'lkg undo "+d.undoFlag()+"' puts it back if it moved")
	case d.rec0.Digest != "" && now == d.rec0.Digest:
		if !interrupted {
			d.warning = oneLine(cause)
			return nil
		}
		where := fmt.Sprintf("%s DID move to %s (was %s)", d.name(), d.orNone(now), d.orNone(d.rec0.Previous))
		d.rec0.Status, d.rec0.Now = journal.StatusDone, now
		if journaled {
			d.journalQuietly(oneLine(cause) + " after the move was written; read back at " + now)
		}
		return errs.Coded(code, fmt.Errorf("%w after the move was written", ErrInterrupted), where+"."+d.undoHint())
	case now == d.rec0.Previous:
		where := fmt.Sprintf("%s is still at %s (read back); nothing was changed", d.name(), d.orNone(now))
		record(journal.StatusFailed, now, where)
		if interrupted {
			return errs.Coded(code, ErrInterrupted, upper(where))
		}
		return d.withWhere(cause, upper(where))
	default:
		where := d.overwritten(now)
		record(journal.StatusOverwritten, now, where)
		if interrupted {
			return errs.Coded(code, ErrInterrupted, upper(where))
		}
		return errs.Hinted(fmt.Errorf("%w: %s", ErrOverwritten, oneLine(cause)), upper(where)+". Check with your team before moving it again")
	}
}

// overwritten says the target holds now, another writer's digest.
func (d *deployment) overwritten(now string) string {
	return fmt.Sprintf("%s is now at %s, neither where it was (%s) nor this move's %s: another writer moved it", d.name(), d.orNone(now), d.orNone(d.rec0.Previous), d.orNone(d.rec0.Digest))
}

// withWhere is cause explained, with where the target is (as read back)
// in place of the generic "was not changed".
func (d *deployment) withWhere(cause error, where string) error {
	err := explain(cause, d.name())
	if e, ok := errors.AsType[*errs.Error](err); ok {
		hint := strings.TrimSuffix(e.Hint, fmt.Sprintf("%s was not changed", d.name()))
		hint = strings.TrimSuffix(strings.TrimSpace(hint), ".")
		hint = strings.TrimSuffix(strings.TrimSuffix(hint, "; nothing was changed"), ".")
		if hint != "" {
			hint += ". "
		}
		e.Hint = hint + where
		return e
	}
	return errs.Hinted(err, where)
}

// readBack reads the target until it answers, for at most the read-back
// budget, each read with its own deadline. It does not use the move's
// context: after Ctrl-C the journal must still say where the target is.
func (d *deployment) readBack() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d.o.ReadBack)
	defer cancel()
	wait := 200 * time.Millisecond
	for {
		actx, acancel := context.WithTimeout(ctx, min(5*time.Second, d.o.ReadBack))
		now, err := d.t.Read(actx)
		acancel()
		if err == nil {
			return now.Digest, nil
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
	if d.kind != journal.KindDeploy || !d.rec0.HadPrevious() {
		return ""
	}
	return fmt.Sprintf(" Undo with: lkg undo %s", d.undoFlag())
}

// undoFlag names the target for lkg undo: the environment when the move
// was one (a config file's target has no --to form), else --to.
func (d *deployment) undoFlag() string {
	if d.o.Env != "" && d.o.Review != "" {
		return "--env " + d.o.Env + " --gitops-branch " + d.o.Review
	}
	if d.o.Env != "" {
		return "--env " + d.o.Env
	}
	return "--to " + d.name()
}

// journal appends the deploy or undo event in its current state.
func (d *deployment) journal(errMsg string) error {
	data := d.rec0
	data.Error = errMsg
	data.Verify = nil // a verify event of its own
	msg := ""
	if data.GoodTag != "" {
		msg = fmt.Sprintf("%s of %s (commit %s)", data.Method, data.GoodTag, short(data.Revision))
	}
	e, err := journal.NewEvent(d.kind, msg, data)
	if err != nil {
		return err
	}
	return d.rec.Record(e)
}

// journalQuietly journals, and says on the log when it could not: the
// error being returned matters more.
func (d *deployment) journalQuietly(errMsg string) {
	if err := d.journal(errMsg); err != nil {
		fmt.Fprintf(d.o.Log, "lkg: warning: %s\n", oneLine(err))
	}
}

func (d *deployment) printPlan() {
	w := d.o.Out
	verb := "Deploy"
	if d.kind == journal.KindUndo {
		verb = "Undo"
	}
	fmt.Fprintf(w, "%s: %s\n", verb, d.what)
	fmt.Fprintf(w, "  target    %s\n", d.name())
	fmt.Fprintf(w, "  now at    %s\n", d.orNone(d.rec0.Previous))
	if d.plan.To.Digest != "" {
		fmt.Fprintf(w, "  moves to  %s\n", d.plan.To.Digest)
	} else {
		fmt.Fprintf(w, "  moves to  the digest of the pushed image\n")
	}
	fmt.Fprintf(w, "  method    %s (%s)\n", d.method(), d.plan.How)
}

// method is the plan's method in words. For a registry tag it is the
// journal's (copy, engine-push, rebuild: how the build gets into the
// tag's repository). A runtime target (a container, a service, a
// workload, a config file) runs the build by its digest, and one on the
// engine runs a local image as it is: "copy" would say a registry copy
// that does not happen. The registry tag is the one target that is a
// Stager.
func (d *deployment) method() string {
	if _, tag := d.t.(Stager); tag {
		return string(d.rec0.Method)
	}
	switch d.rec0.Method {
	case journal.MethodCopy:
		return "by digest"
	case journal.MethodEnginePush:
		if runsLocal(d.t) {
			return "local image"
		}
		return "pushed, then by digest"
	}
	return string(d.rec0.Method)
}

// outcome is the record as it stands, with msg for people.
func (d *deployment) outcome(msg string) *Outcome {
	r := d.rec0
	r.Referrers, r.CosignTags = nonNil(r.Referrers), nonNil(r.CosignTags)
	return &Outcome{Move: r, Message: msg}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// upper starts s with a capital letter, unless s starts with a target's
// name ("docker://NAME", "registry.example.com/shop/api:prod"): that is
// written as given.
func upper(s string) string {
	if first, _, _ := strings.Cut(s, " "); s == "" || strings.ContainsAny(first, ":/") {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// orNone is a digest the target holds, as the user reads it: "" is a
// registry tag (the one Stager) that holds nothing, or a runtime whose
// units run different builds (a compose service half moved).
func (d *deployment) orNone(dg string) string {
	if dg != "" {
		return dg
	}
	if _, tag := d.t.(Stager); tag {
		return "(no such tag)"
	}
	return "(no single build)"
}

func orDigest(image, dg string) string {
	if image != "" {
		return image
	}
	return dg
}

// short is a commit hash as people read it.
var short = text.ShortHash

// oneLine folds an error message onto one line.
var oneLine = text.OneLine
