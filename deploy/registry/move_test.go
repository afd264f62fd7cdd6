package registry_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/deploy/registry"
	"github.com/lkg-dev/lkg/internal/imageref"
	"github.com/lkg-dev/lkg/types"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/lkg-dev/lkg/journal"
)

// journalLog is a Recorder that keeps the events, or fails every write
// while err is set.
type journalLog struct {
	events []journal.Event
	err    error
}

func (l *journalLog) Record(e journal.Event) error {
	if l.err != nil {
		return l.err
	}
	l.events = append(l.events, e)
	return nil
}

// statuses is the kind and status of every deploy and undo event.
func (l *journalLog) statuses(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, e := range l.events {
		if e.Kind != journal.KindDeploy && e.Kind != journal.KindUndo {
			out = append(out, string(e.Kind))
			continue
		}
		var d journal.Move
		if err := e.DecodeData(&d); err != nil {
			tb.Fatal(err)
		}
		out = append(out, string(e.Kind)+" "+string(d.Status))
	}
	return out
}

// testSettle keeps the settle's second read in every move, short.
const testSettle = 20 * time.Millisecond

// withOut is o printing its plan to w.
func withOut(o deploy.Options, w io.Writer) deploy.Options {
	o.Out = w
	return o
}

// tagAt is the registry tag target as a deploy target, with settle.
func (s *stage) tagAt(target string, settle time.Duration) deploy.Target {
	ref, err := imageref.ParseTag(target)
	if err != nil {
		panic(err)
	}
	return registry.New(s.copier, ref, settle)
}

// stage is an in-process registry holding a bad build under app:prod and
// the good one under app:good; result is what find would answer.
type stage struct {
	ctx       context.Context
	copier    *artifacts.Copier
	target    string
	good, bad string // digests
	result    finder.Result
}

func mustStage(tb testing.TB) *stage {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	reg, err := fixture.StartRegistry(ctx, fixture.WithInProcess())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { reg.Close() })
	s := &stage{ctx: ctx, target: reg.Addr + "/app:prod"}
	if s.bad, err = fixture.Push(ctx, s.target, fixture.ImageSpec{Seed: "bad"}); err != nil {
		tb.Fatal(err)
	}
	if s.good, err = fixture.Push(ctx, reg.Addr+"/app:good", fixture.ImageSpec{Seed: "good"}); err != nil {
		tb.Fatal(err)
	}
	if s.copier, err = artifacts.NewCopier(); err != nil {
		tb.Fatal(err)
	}
	s.result = finder.Result{Best: &finder.Build{
		Source: types.SourceRegistry, Image: reg.Addr + "/app:good", Repo: reg.Addr + "/app",
		Digest: s.good, Match: finder.MatchExact, GoodTag: "v1", Revision: strings.Repeat("a", 40),
	}}
	return s
}

// at is the digest the target holds now.
func (s *stage) at(tb testing.TB) string {
	tb.Helper()
	d, err := s.copier.TargetDigest(s.ctx, s.target)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func TestDeployTransitions(t *testing.T) {
	refuse := func(string) (bool, error) { return false, nil }
	accept := func(string) (bool, error) { return true, nil }
	tests := []struct {
		name       string
		opts       deploy.Options
		journalErr error
		wantStatus journal.Status // "" when Deploy fails
		wantErr    string
		wantAt     string // "good" or "bad"
		wantEvents []string
	}{
		{"dry run changes nothing", deploy.Options{DryRun: true}, nil, journal.StatusDryRun, "", "bad", nil},
		{"unconfirmed changes nothing", deploy.Options{Confirm: refuse}, nil, "", "not confirmed. Nothing was changed", "bad", nil},
		{"the default refuses", deploy.Options{}, nil, "", "not confirmed", "bad", nil},
		{"confirmed moves", deploy.Options{Confirm: accept}, nil, journal.StatusDone, "", "good", []string{"deploy planned", "deploy done"}},
		{"--yes moves", deploy.Options{Yes: true}, nil, journal.StatusDone, "", "good", []string{"deploy planned", "deploy done"}},
		{"no journal, no move", deploy.Options{Yes: true}, errors.New("read-only"), "", "read-only. Nothing was changed", "bad", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustStage(t)
			rec := &journalLog{err: tt.journalErr}
			var plan bytes.Buffer
			out, err := deploy.Deploy(s.ctx, s.tagAt(s.target, testSettle), rec, s.result, withOut(tt.opts, &plan))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Deploy error = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if tt.wantStatus != "" {
				if out == nil {
					t.Fatal("Deploy returned no outcome")
				}
				r := out.Move
				if r.Status != tt.wantStatus || r.Previous != s.bad || r.Digest != s.good || r.Method != journal.MethodCopy {
					t.Errorf("report = %+v, want status %s from %s to %s by copy", r, tt.wantStatus, s.bad, s.good)
				}
			}
			want := map[string]string{"good": s.good, "bad": s.bad}[tt.wantAt]
			if got := s.at(t); got != want {
				t.Errorf("target at %s, want %s (%s)", got, want, tt.wantAt)
			}
			if got := rec.statuses(t); !equal(got, tt.wantEvents) {
				t.Errorf("journal = %q, want %q", got, tt.wantEvents)
			}
			if !strings.HasPrefix(plan.String(), "Deploy: registry build ") {
				t.Errorf("plan = %q, want it printed before the move", plan.String())
			}
		})
	}
}

func TestDeployThenUndo(t *testing.T) {
	s := mustStage(t)
	rec := &journalLog{}
	if _, err := deploy.Deploy(s.ctx, s.tagAt(s.target, testSettle), rec, s.result, deploy.Options{Yes: true}); err != nil {
		t.Fatal(err)
	}

	// Deploying again finds the target there already.
	out, err := deploy.Deploy(s.ctx, s.tagAt(s.target, testSettle), rec, s.result, deploy.Options{Yes: true})
	if err != nil || out.Move.Status != journal.StatusUnchanged {
		t.Fatalf("second Deploy = %+v, %v; want unchanged", out, err)
	}

	out, err = deploy.Undo(s.ctx, s.tagAt(s.target, testSettle), rec, rec.events, deploy.Options{Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.Move; r.Status != journal.StatusDone || r.Previous != s.good || r.Digest != s.bad {
		t.Errorf("undo report = %+v, want done from %s to %s", r, s.good, s.bad)
	}
	if got := s.at(t); got != s.bad {
		t.Errorf("after undo the target is at %s, want %s", got, s.bad)
	}
	// Undoing twice is a no-op.
	out, err = deploy.Undo(s.ctx, s.tagAt(s.target, testSettle), rec, rec.events, deploy.Options{Yes: true})
	if err != nil || out.Move.Status != journal.StatusUnchanged {
		t.Errorf("second Undo = %+v, %v; want unchanged", out, err)
	}
	want := []string{"deploy planned", "deploy done", "undo planned", "undo done"}
	if got := rec.statuses(t); !equal(got, want) {
		t.Errorf("journal = %q, want %q", got, want)
	}
}

func TestUndoRefusesWhenMovedSince(t *testing.T) {
	s := mustStage(t)
	rec := &journalLog{}
	if _, err := deploy.Deploy(s.ctx, s.tagAt(s.target, testSettle), rec, s.result, deploy.Options{Yes: true}); err != nil {
		t.Fatal(err)
	}
	other, err := fixture.Push(s.ctx, s.target, fixture.ImageSpec{Seed: "someone else"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = deploy.Undo(s.ctx, s.tagAt(s.target, testSettle), rec, rec.events, deploy.Options{Yes: true})
	if !errors.Is(err, deploy.ErrTargetMoved) {
		t.Fatalf("Undo error = %v, want ErrTargetMoved", err)
	}
	if got := s.at(t); got != other {
		t.Errorf("target at %s, want it left at %s", got, other)
	}
}

func TestUndoWithoutDeploy(t *testing.T) {
	s := mustStage(t)
	_, err := deploy.Undo(s.ctx, s.tagAt(s.target, testSettle), &journalLog{}, nil, deploy.Options{Yes: true})
	if !errors.Is(err, deploy.ErrNoDeploy) {
		t.Fatalf("Undo error = %v, want deploy.ErrNoDeploy", err)
	}
}

func TestDeployVerifyFails(t *testing.T) {
	s := mustStage(t)
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer svc.Close()
	rec := &journalLog{}
	out, err := deploy.Deploy(s.ctx, s.tagAt(s.target, testSettle), rec, s.result, deploy.Options{Yes: true, VerifyURL: svc.URL, VerifyTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no 2xx answer") {
		t.Fatalf("Deploy error = %v, want a failed verification", err)
	}
	// The tag moved: the outcome is still there to show.
	if out == nil || out.Move.Status != journal.StatusDone || out.Move.Verify == nil || out.Move.Verify.Status != 503 {
		t.Fatalf("Deploy outcome = %+v, want done with a 503 verify", out)
	}
	want := []string{"deploy planned", "deploy done", "verify"}
	if got := rec.statuses(t); !equal(got, want) {
		t.Errorf("journal = %q, want %q", got, want)
	}
}
