package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/lkg-dev/lkg/internal/journaltest"
	"github.com/lkg-dev/lkg/internal/testenv"
	"github.com/lkg-dev/lkg/journal"
)

func TestMain(m *testing.M) {
	testenv.WaitingTests() // the tests wait on the engine
	os.Exit(m.Run())
}

// world is a swarm manager and a real registry holding three server
// builds: v1, v2, and one that exits at once.
type world struct {
	cli            *client.Client
	repo           string
	v1, v2, broken string // "host/repo@sha256:..."
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	eng, err := artifacts.NewEngine(ctx)
	if err != nil {
		if os.Getenv("LKG_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("LKG_REQUIRE_INTEGRATION=1 but: %v", err)
		}
		t.Skipf("no docker engine: %v", err)
	}
	t.Cleanup(func() { eng.Close() })
	if !fixture.RealAvailable() && os.Getenv("LKG_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("LKG_REQUIRE_INTEGRATION=1 but %s is not on PATH", fixture.RealRegistryBinary)
	}
	release, err := fixture.Swarm(ctx, eng.Client())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	reg, err := fixture.StartRegistry(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	w := &world{cli: eng.Client(), repo: reg.Addr + "/shop/api"}
	for _, b := range []struct {
		out  *string
		spec fixture.ServerSpec
	}{
		{&w.v1, fixture.ServerSpec{Version: "v1"}},
		{&w.v2, fixture.ServerSpec{Version: "v2"}},
		{&w.broken, fixture.ServerSpec{Version: "broken", Cmd: []string{"-exit=1"}}},
	} {
		dg, err := fixture.PushServer(ctx, w.repo+":"+b.spec.Version, b.spec)
		if err != nil {
			t.Fatal(err)
		}
		*b.out = w.repo + "@" + dg
	}
	return w
}

// service creates a service running image, removed when the test ends;
// it returns the service's name and the port its server answers on.
func (w *world) service(t *testing.T, image, failureAction string) (string, int) {
	t.Helper()
	return w.serviceWith(t, fixture.ServiceSpec{Image: image, FailureAction: failureAction})
}

// serviceWith is service for a spec of the test's own (its name and port
// are set here).
func (w *world) serviceWith(t *testing.T, spec fixture.ServiceSpec) (string, int) {
	t.Helper()
	port := freePort(t)
	name := fmt.Sprintf("lkg-test-%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spec.Name, spec.Port = name, port
	id, err := fixture.CreateService(ctx, w.cli, spec)
	if id != "" {
		t.Cleanup(func() { _ = w.cli.ServiceRemove(context.Background(), id) })
	}
	if err != nil {
		t.Fatal(err)
	}
	return name, port
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// answer is what the service's server answers now.
func answer(t *testing.T, port int) string {
	t.Helper()
	var last error
	for range 300 {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return strings.TrimSpace(string(b))
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing answers on port %d: %v", port, last)
	return ""
}

func digestOf(image string) string {
	_, dg, _ := strings.Cut(image, "@")
	return dg
}

func TestDeployAndUndo(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	name, port := w.service(t, w.v1, "")
	s := New(name, WithPoll(100*time.Millisecond))
	defer s.Close()
	ctx := context.Background()
	var j journaltest.Recorder

	out, err := deploy.DeployDigest(ctx, s, &j, w.v2, deploy.Options{Yes: true})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if got, want := out.Move.Previous, digestOf(w.v1); got != want {
		t.Errorf("previous = %s, want %s", got, want)
	}
	if got, want := answer(t, port), "v2"; got != want {
		t.Errorf("after the deploy the service answers %q, want %q", got, want)
	}
	now, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if now.Digest != digestOf(w.v2) || now.Image != w.v2 {
		t.Errorf("read back %+v, want %s", now, w.v2)
	}
	out, err = deploy.Undo(ctx, s, &j, j.Events(), deploy.Options{Yes: true})
	if err != nil {
		t.Fatalf("undo: %v", err)
	}
	if got, want := out.Move.Digest, digestOf(w.v1); got != want || out.Move.Status != journal.StatusDone {
		t.Errorf("undo moved to %s (%s), want %s done", got, out.Move.Status, want)
	}
	if got, want := answer(t, port), "v1"; got != want {
		t.Errorf("after the undo the service answers %q, want %q", got, want)
	}
}

func TestBrokenBuildRolledBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// The engine rolls back a service whose failure action is rollback;
	// one with none (the engine stores it as pause) is paused half-way,
	// and lkg rolls it back.
	for _, action := range []string{swarm.UpdateFailureActionRollback, ""} {
		t.Run("failure action "+action, func(t *testing.T) {
			t.Parallel()
			// Watched ten seconds: on a loaded engine the broken task may
			// take more than a second to start and die.
			name, port := w.serviceWith(t, fixture.ServiceSpec{Image: w.v1, FailureAction: action, Monitor: 10 * time.Second})
			s := New(name, WithPoll(100*time.Millisecond))
			defer s.Close()
			var j journaltest.Recorder
			_, err := deploy.DeployDigest(context.Background(), s, &j, w.broken, deploy.Options{Yes: true})
			if !errors.Is(err, deploy.ErrUnhealthy) {
				t.Fatalf("err = %v, want ErrUnhealthy", err)
			}
			m := j.Last(t)
			if m.Status != journal.StatusFailed || m.Now != digestOf(w.v1) {
				t.Errorf("journaled %s now at %s, want failed at %s", m.Status, m.Now, digestOf(w.v1))
			}
			now, err := s.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if now.Image != w.v1 {
				t.Errorf("the spec names %s after the failed update, want %s back", now.Image, w.v1)
			}
			if got, want := answer(t, port), "v1"; got != want {
				t.Errorf("the service answers %q, want %q", got, want)
			}
			// What the broken build did is there to keep: the task that
			// exited, its exit code and its last words.
			ev, err := s.Evidence(context.Background(), 4096)
			if err != nil {
				t.Fatal(err)
			}
			var sawBroken, sawRunning bool
			for _, u := range ev.Units {
				switch {
				case u.Image == w.broken && u.ExitCode == 1 && strings.Contains(u.Logs, "exiting with 1"):
					sawBroken = true
				case u.Image == w.v1 && u.State == "running" && strings.Contains(u.Logs, "versionserver v1 listening"):
					sawRunning = true
				}
			}
			if !sawBroken || !sawRunning {
				t.Errorf("evidence %+v lacks the broken task (exit 1, its log) or the running v1 task", ev.Units)
			}
		})
	}
}

func TestApplyIsACompareAndSwap(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	name, _ := w.service(t, w.v1, "")
	s := New(name)
	defer s.Close()
	ctx := context.Background()
	cur, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Prepare(ctx, cur, deploy.Build{Image: w.v2, Digest: digestOf(w.v2)})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else updates the service between the plan and the move.
	svc, _, err := w.cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Labels = map[string]string{"someone": "else"}
	if _, err := w.cli.ServiceUpdate(ctx, svc.ID, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, p); !errors.Is(err, deploy.ErrTargetMoved) {
		t.Fatalf("apply after another update: err = %v, want ErrTargetMoved", err)
	}
	now, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if now.Image != w.v1 {
		t.Errorf("the spec names %s, want %s unchanged", now.Image, w.v1)
	}
	// Prepare, asked again against the old read, refuses as well.
	if _, err := s.Prepare(ctx, cur, deploy.Build{Image: w.v2, Digest: digestOf(w.v2)}); !errors.Is(err, deploy.ErrTargetMoved) {
		t.Errorf("prepare against an old read: err = %v, want ErrTargetMoved", err)
	}
}

func TestNoMoveOverAnUpdateInProgress(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	name, _ := w.service(t, w.v1, "")
	ctx := context.Background()
	// Another writer's update, whose monitor keeps it "updating" a while.
	svc, _, err := w.cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.TaskTemplate.ContainerSpec.Image = w.v2
	svc.Spec.UpdateConfig.Monitor = time.Minute
	if _, err := w.cli.ServiceUpdate(ctx, svc.ID, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if i == 1200 {
			t.Fatal("the other update never showed as updating")
		}
		svc, _, err = w.cli.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if svc.UpdateStatus != nil && svc.UpdateStatus.State == swarm.UpdateStateUpdating {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	s := New(name)
	defer s.Close()
	cur, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prepare(ctx, cur, deploy.Build{Image: w.v1, Digest: digestOf(w.v1)}); !errors.Is(err, ErrUpdating) {
		t.Fatalf("prepare during another update: err = %v, want ErrUpdating", err)
	}
}

func TestNoSuchServiceNamesTheNearest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	name, _ := w.service(t, w.v1, "")
	s := New(name[:len(name)-1])
	defer s.Close()
	_, err := s.Read(context.Background())
	if !errors.Is(err, deploy.ErrNoTarget) || errs.Code(err) != 2 {
		t.Fatalf("err = %v (exit %d), want ErrNoTarget, exit 2", err, errs.Code(err))
	}
	if hints := strings.Join(errs.Hints(err), " "); !strings.Contains(hints, Scheme+name) {
		t.Errorf("hints %q do not name %s", hints, Scheme+name)
	}
	// The engine finds a service by an ID prefix too; lkg does not.
	svc, _, err := w.cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byPrefix := New(svc.ID[:6])
	defer byPrefix.Close()
	if _, err := byPrefix.Read(context.Background()); !errors.Is(err, deploy.ErrNoTarget) {
		t.Errorf("read by the ID prefix %s: err = %v, want ErrNoTarget", svc.ID[:6], err)
	}
	byID := New(svc.ID)
	defer byID.Close()
	if _, err := byID.Read(context.Background()); err != nil {
		t.Errorf("read by the full ID: %v", err)
	}
}

func TestNotAManager(t *testing.T) {
	ctx := context.Background()
	eng, err := artifacts.NewEngine(ctx)
	if err != nil {
		if os.Getenv("LKG_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("LKG_REQUIRE_INTEGRATION=1 but: %v", err)
		}
		t.Skipf("no docker engine: %v", err)
	}
	defer eng.Close()
	release, ok, err := fixture.NoSwarm(ctx, eng.Client())
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skip("the engine is a swarm manager already")
	}
	defer release()
	s := New("api")
	defer s.Close()
	if _, err := s.Read(ctx); !errors.Is(err, ErrNotManager) {
		t.Fatalf("err = %v, want ErrNotManager", err)
	}
}

func TestParseTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
	}{
		{"swarm://api", "api"},
		{"swarm://shop_api.v2-x", "shop_api.v2-x"},
		{"swarm://", ""},
		{"swarm://a/b", ""},
		{"swarm://-api", ""},
		{"docker://api", ""},
	} {
		got, err := ParseTarget(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseTarget(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// completed waits until the service's update (the one lkg started) has
// completed.
func (w *world) completed(t *testing.T, name string) {
	t.Helper()
	for range 1200 {
		svc, _, err := w.cli.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st := svc.UpdateStatus; st != nil && st.State == swarm.UpdateStateCompleted {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the update of %s never completed", name)
}

// TestInterruptEveryStep interrupts a deploy once its plan is printed,
// once the planned line is journaled (before the service update), right
// after the engine accepted the update, and while it rolls out: the
// journal says what the spec names then, the service ends on that build,
// and undo puts the old one back (or has nothing to do).
func TestInterruptEveryStep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, tc := range []struct {
		step    string
		updated bool
	}{
		{"planned", false},
		{"journaled", false},
		{"moved", true},
		{"updating", true},
	} {
		t.Run(tc.step, func(t *testing.T) {
			t.Parallel()
			name, port := w.service(t, w.v1, "")
			s := New(name, WithPoll(100*time.Millisecond))
			defer s.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			interrupt := func(_ context.Context, at string) {
				if at == tc.step {
					cancel()
				}
			}
			s.step = interrupt
			var j journaltest.Recorder
			_, err := deploy.DeployDigest(ctx, s, &j, w.v2, deploy.Options{Yes: true, Step: interrupt})
			if !errors.Is(err, deploy.ErrInterrupted) || errs.Code(err) != 130 {
				t.Fatalf("deploy: %v (exit %d), want interrupted, exit 130", err, errs.Code(err))
			}
			want, status := w.v1, journal.StatusFailed
			if tc.updated {
				want, status = w.v2, journal.StatusDone
			}
			if len(j.Events()) > 0 {
				if m := j.Last(t); m.Status != status || m.Now != digestOf(want) {
					t.Errorf("journaled %s now at %s, want %s at %s", m.Status, m.Now, status, digestOf(want))
				}
			} else if tc.step != "planned" {
				t.Fatal("nothing journaled")
			}
			if tc.updated {
				w.completed(t, name)
			}
			if got := answer(t, port); got != versionOf(w, want) {
				t.Errorf("the service answers %q, want %s's", got, want)
			}
			s.step = func(context.Context, string) {}
			_, err = deploy.Undo(context.Background(), s, &j, j.Events(), deploy.Options{Yes: true})
			if !tc.updated {
				if !errors.Is(err, deploy.ErrNoDeploy) {
					t.Errorf("undo: %v, want nothing to undo", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("undo: %v", err)
			}
			if got := answer(t, port); got != "v1" {
				t.Errorf("after the undo the service answers %q, want v1", got)
			}
		})
	}
}

func versionOf(w *world, image string) string {
	switch image {
	case w.v1:
		return "v1"
	case w.v2:
		return "v2"
	}
	return ""
}
