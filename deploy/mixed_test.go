package deploy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lkg-dev/lkg/internal/journaltest"
	"github.com/lkg-dev/lkg/journal"
)

// pairTarget is a service of two replicas in memory, which need not run
// one build: then it reads as no digest, and its Detail says what each
// runs (as a compose service does).
type pairTarget struct{ runs [2]string }

func (p *pairTarget) String() string { return "pair://api" }

func (p *pairTarget) Read(context.Context) (State, error) {
	detail, _ := json.Marshal(p.runs)
	st := State{Detail: detail}
	if p.runs[0] == p.runs[1] {
		st.Image, st.Digest = "reg.example/api@"+p.runs[0], p.runs[0]
	}
	return st, nil
}

func (p *pairTarget) Prepare(_ context.Context, cur State, b Build) (*Plan, error) {
	return &Plan{From: cur, To: b, How: "each replica in turn"}, nil
}

func (p *pairTarget) Apply(ctx context.Context, pl *Plan) error {
	now, _ := p.Read(ctx)
	if string(now.Detail) != string(pl.From.Detail) {
		return ErrTargetMoved
	}
	if r := pl.To.Restores; r != nil {
		return json.Unmarshal(r.Detail, &p.runs)
	}
	p.runs = [2]string{pl.To.Digest, pl.To.Digest}
	return nil
}

func (p *pairTarget) Wait(ctx context.Context, _ *Plan) (State, error) { return p.Read(ctx) }

// TestMixedStateDeployAndUndo: a service whose replicas ran different
// builds is not a tag that did not exist. The deploy says what it was,
// and undo puts each replica back on its own build.
func TestMixedStateDeployAndUndo(t *testing.T) {
	p := &pairTarget{runs: [2]string{"sha256:bad", "sha256:older"}}
	rec := &journaltest.Recorder{}
	var log strings.Builder
	out, err := Deploy(context.Background(), p, rec, goodResult(), Options{Yes: true, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if p.runs != [2]string{"sha256:good", "sha256:good"} {
		t.Fatalf("the replicas run %v after the deploy", p.runs)
	}
	if strings.Contains(out.Message, "no such tag") || strings.Contains(out.Message, "did not exist") {
		t.Errorf("the deploy speaks of a tag:\n%s", out.Message)
	}
	if !strings.Contains(out.Message, "lkg undo") {
		t.Errorf("the deploy offers no undo:\n%s", out.Message)
	}
	if _, err := Undo(context.Background(), p, rec, rec.Events(), Options{Yes: true, Log: &log}); err != nil {
		t.Fatalf("undo: %v", err)
	}
	if p.runs != [2]string{"sha256:bad", "sha256:older"} {
		t.Errorf("after undo the replicas run %v, want each back on its own build", p.runs)
	}
	if last := rec.Last(t); last.Status != journal.StatusDone {
		t.Errorf("undo journaled %+v, want done", last)
	}
}

// TestMixedStateStatus: status of a service on two builds says so, not
// that nothing is deployed.
func TestMixedStateStatus(t *testing.T) {
	p := &pairTarget{runs: [2]string{"sha256:bad", "sha256:older"}}
	st := EnvStatus(context.Background(), "prod", p, nil, nil, nil)
	if !strings.Contains(st.Error, "no single build") {
		t.Errorf("status = %+v, want it to say the units run different builds", st)
	}
}
