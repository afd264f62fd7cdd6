package registry_test

import (
	"context"
	"errors"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/errs"
	"strings"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/lkg-dev/lkg/journal"
)

// lastData is the Move of the journal's last event.
func (l *journalLog) lastData(tb testing.TB) journal.Move {
	tb.Helper()
	var d journal.Move
	if len(l.events) == 0 {
		tb.Fatal("the journal is empty")
	}
	if err := l.events[len(l.events)-1].DecodeData(&d); err != nil {
		tb.Fatal(err)
	}
	return d
}

// behind puts a fault proxy with rule in front of the stage's registry and
// points the target and the build at it.
func (s *stage) behind(tb testing.TB, rule string) {
	tb.Helper()
	host, _, _ := strings.Cut(s.target, "/")
	r, err := fixture.ParseRule(rule)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := fixture.StartProxy(host, r)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	s.target = p.Addr + "/app:prod"
	best := *s.result.Best
	best.Repo, best.Image = p.Addr+"/app", p.Addr+"/app:good"
	s.result.Best = &best
}

func TestDeployAppliedThen500(t *testing.T) {
	s := mustStage(t)
	s.behind(t, "method=PUT,path=*/manifests/prod,apply=1,status=500,retry-after=0")
	rec := &journalLog{}
	var log strings.Builder
	out, err := deploy.Deploy(s.ctx, s.tagAt(s.target, 0), rec, s.result, deploy.Options{Yes: true, Log: &log})
	if err != nil {
		t.Fatalf("Deploy: %v (the write took effect: want no error)", err)
	}
	if out.Move.Status != journal.StatusDone {
		t.Errorf("status %s, want done", out.Move.Status)
	}
	if d := rec.lastData(t); d.Status != journal.StatusDone || d.Now != s.good || !strings.Contains(d.Error, "injected fault") {
		t.Errorf("journaled %+v, want done, now %s, and the 500 in error", d, s.good)
	}
	if !strings.Contains(log.String(), "the write took effect") {
		t.Errorf("log = %q, want a warning that the write took effect", log.String())
	}
}

func TestDeployInterruptedAfterTheWrite(t *testing.T) {
	s := mustStage(t)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	rec := &journalLog{}
	hook := func(_ context.Context, step string) {
		if step == "moved" {
			cancel()
		}
	}
	_, err := deploy.Deploy(ctx, s.tagAt(s.target, testSettle), rec, s.result, deploy.Options{Yes: true, Step: hook})
	var de *errs.Error
	if !errors.Is(err, deploy.ErrInterrupted) || !errors.As(err, &de) || de.ExitCode() != 130 || !strings.Contains(err.Error(), "DID move to "+s.good) {
		t.Fatalf("Deploy error = %v, want deploy.ErrInterrupted, exit 130, saying it DID move", err)
	}
	if got, want := rec.statuses(t), []string{"deploy planned", "deploy done"}; !equal(got, want) {
		t.Errorf("journal = %q, want %q", got, want)
	}
	// undo finds it.
	if _, err := deploy.Undo(s.ctx, s.tagAt(s.target, 0), rec, rec.events, deploy.Options{Yes: true}); err != nil {
		t.Fatalf("Undo: %v", err)
	}
	if got := s.at(t); got != s.bad {
		t.Errorf("after undo at %s, want %s", got, s.bad)
	}
}

func TestDeployLocked(t *testing.T) {
	s := mustStage(t)
	rec := &journalLog{}
	busy := func(string) (func(), error) { return nil, journal.ErrTargetBusy }
	_, err := deploy.Deploy(s.ctx, s.tagAt(s.target, testSettle), rec, s.result, deploy.Options{Yes: true, Lock: busy})
	if !errors.Is(err, journal.ErrTargetBusy) || !strings.Contains(err.Error(), "Nothing was changed") {
		t.Fatalf("Deploy error = %v, want ErrTargetBusy and nothing changed", err)
	}
	if len(rec.events) != 0 || s.at(t) != s.bad {
		t.Errorf("a refused deploy journaled %d events and left the target at %s", len(rec.events), s.at(t))
	}
	var locked, unlocked []string
	lock := func(target string) (func(), error) {
		locked = append(locked, target)
		return func() { unlocked = append(unlocked, target) }, nil
	}
	if _, err := deploy.Deploy(s.ctx, s.tagAt(s.target, 0), rec, s.result, deploy.Options{Yes: true, Lock: lock}); err != nil {
		t.Fatal(err)
	}
	if !equal(locked, []string{s.target}) || !equal(unlocked, locked) {
		t.Errorf("locked %q, unlocked %q; want the target once each", locked, unlocked)
	}
}

func TestDeploySettleCatchesAnotherWriter(t *testing.T) {
	s := mustStage(t)
	rec := &journalLog{}
	var theirs string
	hook := func(ctx context.Context, step string) {
		if step != "moved" {
			return
		}
		var err error
		if theirs, err = fixture.Push(ctx, s.target, fixture.ImageSpec{Seed: "theirs"}); err != nil {
			t.Error(err)
		}
	}
	_, err := deploy.Deploy(s.ctx, s.tagAt(s.target, 10*time.Millisecond), rec, s.result, deploy.Options{Yes: true, Step: hook})
	if !errors.Is(err, deploy.ErrOverwritten) || !strings.Contains(err.Error(), "another writer moved it") {
		t.Fatalf("Deploy error = %v, want deploy.ErrOverwritten", err)
	}
	if d := rec.lastData(t); d.Status != journal.StatusOverwritten || d.Digest != s.good || d.Now != theirs {
		t.Errorf("journaled %+v, want overwritten with digest %s and now %s", d, s.good, theirs)
	}
}

func TestDeployNoBuild(t *testing.T) {
	s := mustStage(t)
	res := finder.Result{Good: []finder.Good{{Tag: "v1", Commit: strings.Repeat("c", 40)}}}
	_, err := deploy.Deploy(s.ctx, s.tagAt(s.target, testSettle), &journalLog{}, res, deploy.Options{Yes: true, Searched: []string{"r.example/app"}})
	var de *errs.Error
	if !errors.Is(err, deploy.ErrNoBuild) || !errors.As(err, &de) || de.ExitCode() != 3 || !strings.Contains(err.Error(), "--rebuild") {
		t.Fatalf("Deploy error = %v, want deploy.ErrNoBuild, exit 3, naming --rebuild", err)
	}
	if s.at(t) != s.bad {
		t.Error("the target moved")
	}
}

// TestDeployInterruptedAtRandom cancels deploys at random moments (the
// adversarial test's SIGINT at random, in-process) and checks after each
// that the journal's last word on the target, the registry and undo agree.
func TestDeployInterruptedAtRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("20 deploys")
	}
	s := mustStage(t)
	s.behind(t, "method=PUT,path=*/manifests/prod,delay=5ms")
	seen := map[string]int{}
	defer func() { t.Logf("outcomes: %v", seen) }()
	for i := range 20 {
		rec := &journalLog{}
		ctx, cancel := context.WithTimeout(s.ctx, time.Duration(i)*700*time.Microsecond)
		_, err := deploy.Deploy(ctx, s.tagAt(s.target, 0), rec, s.result, deploy.Options{Yes: true})
		cancel()
		at := s.at(t)
		if len(rec.events) == 0 {
			seen["nothing journaled"]++
			if at != s.bad {
				t.Fatalf("run %d: nothing journaled (err %v) but the target moved to %s", i, err, at)
			}
			continue
		}
		d := rec.lastData(t)
		seen[string(d.Status)]++
		switch {
		case d.Status == journal.StatusDone && at == s.good && d.Now == s.good:
		case d.Status == journal.StatusFailed && at == s.bad && d.Now == s.bad:
		default:
			t.Fatalf("run %d: journal says %s (now %s), the target is at %s (err %v)", i, d.Status, d.Now, at, err)
		}
		if at == s.good {
			if _, err := deploy.Undo(s.ctx, s.tagAt(s.target, 0), rec, rec.events, deploy.Options{Yes: true}); err != nil {
				t.Fatalf("run %d: undo after %s: %v", i, d.Status, err)
			}
			if got := s.at(t); got != s.bad {
				t.Fatalf("run %d: undo left the target at %s", i, got)
			}
		}
	}
}
