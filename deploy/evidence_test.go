package deploy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/internal/journaltest"
	"github.com/lkg-dev/lkg/journal"
	"github.com/lkg-dev/lkg/types"
)

// memTarget is a runtime in memory: it runs one digest, moves by
// compare-and-swap, and says what its build is doing through evidence.
type memTarget struct {
	mu       sync.Mutex
	runs     string
	evidence func(ctx context.Context) (journal.Evidence, error)
}

func (m *memTarget) String() string { return "mem://api" }

func (m *memTarget) Read(context.Context) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return State{Image: "reg.example/api@" + m.runs, Digest: m.runs}, nil
}

func (m *memTarget) Prepare(_ context.Context, cur State, b Build) (*Plan, error) {
	return &Plan{From: cur, To: b, How: "in memory"}, nil
}

func (m *memTarget) Apply(_ context.Context, p *Plan) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runs != p.From.Digest {
		return ErrTargetMoved
	}
	m.runs = p.To.Digest
	return nil
}

func (m *memTarget) Wait(ctx context.Context, p *Plan) (State, error) { return m.Read(ctx) }

func (m *memTarget) Evidence(ctx context.Context, _ int64) (journal.Evidence, error) {
	return m.evidence(ctx)
}

func goodResult() finder.Result {
	return finder.Result{Best: &finder.Build{Source: types.SourceRegistry, Repo: "reg.example/api", Image: "reg.example/api:v1", Digest: "sha256:good", GoodTag: "v1", Match: finder.MatchExact}}
}

func TestDeployKeepsEvidence(t *testing.T) {
	crashing := journal.Evidence{Units: []journal.EvidenceUnit{{
		Name: "api", State: "restarting", ExitCode: 2, Restarts: 7,
		Logs: "starting\nerror: connecting to https://ci:s3cret@db.example/x failed\nerror: connecting to https://ci:s3cret@db.example/x failed\n",
	}}}
	m := &memTarget{runs: "sha256:bad", evidence: func(context.Context) (journal.Evidence, error) { return crashing, nil }}
	var saved []journal.Evidence
	var log strings.Builder
	rec := &journaltest.Recorder{}
	out, err := Deploy(context.Background(), m, rec, goodResult(), Options{Yes: true, Log: &log, Evidence: EvidenceOptions{
		Save: func(ev journal.Evidence) (string, error) {
			saved = append(saved, ev)
			return "evidence/x/api.json", nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != 1 || saved[0].Target != "mem://api" || saved[0].Units[0].ExitCode != 2 {
		t.Fatalf("saved %+v, want the crashing unit once", saved)
	}
	if strings.Contains(saved[0].Units[0].Logs, "s3cret") {
		t.Errorf("the saved logs keep a credential: %q", saved[0].Units[0].Logs)
	}
	ev := out.Move.Evidence
	if ev == nil || ev.Path != "evidence/x/api.json" || ev.Units[0].Restarts != 7 || len(ev.ErrorLines) != 1 || ev.ErrorLines[0].Count != 2 {
		t.Fatalf("the move's evidence = %+v, want the path, 7 restarts and one error line seen twice", ev)
	}
	// Both journal lines name the capture: planned, and done.
	for _, e := range rec.Events() {
		var mv journal.Move
		if err := e.DecodeData(&mv); err != nil || mv.Evidence == nil {
			t.Errorf("%s %s: no evidence on the journal line", e.Kind, mv.Status)
		}
	}
	if m.runs != "sha256:good" {
		t.Errorf("the target runs %s", m.runs)
	}
}

// TestEvidenceNeverHoldsTheRestore: a runtime that does not answer within
// the budget, or fails, costs a warning, never the move.
func TestEvidenceNeverHoldsTheRestore(t *testing.T) {
	for name, taker := range map[string]func(ctx context.Context) (journal.Evidence, error){
		"hangs": func(ctx context.Context) (journal.Evidence, error) {
			<-ctx.Done()
			select {} // and never returns: the core must not wait for it
		},
		"fails": func(context.Context) (journal.Evidence, error) {
			return journal.Evidence{}, errors.New("engine said no")
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := &memTarget{runs: "sha256:bad", evidence: taker}
			var log strings.Builder
			out, err := Deploy(context.Background(), m, &journaltest.Recorder{}, goodResult(), Options{Yes: true, Log: &log, Evidence: EvidenceOptions{
				Timeout: 1, // the shortest budget there is
				Save:    func(journal.Evidence) (string, error) { t.Error("saved a capture that failed"); return "", nil },
			}})
			if err != nil || out.Move.Status != journal.StatusDone || m.runs != "sha256:good" {
				t.Fatalf("deploy = %+v, %v; want done", out, err)
			}
			if out.Move.Evidence != nil || !strings.Contains(log.String(), "the restore goes on without it") {
				t.Errorf("evidence %+v, log %q; want none and one warning", out.Move.Evidence, log.String())
			}
		})
	}
}

func TestNoEvidence(t *testing.T) {
	m := &memTarget{runs: "sha256:bad", evidence: func(context.Context) (journal.Evidence, error) {
		t.Error("asked for evidence with --no-evidence")
		return journal.Evidence{}, nil
	}}
	if _, err := Deploy(context.Background(), m, &journaltest.Recorder{}, goodResult(), Options{Yes: true, Evidence: EvidenceOptions{Off: true, Save: func(journal.Evidence) (string, error) { return "", nil }}}); err != nil {
		t.Fatal(err)
	}
}
