package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	ctypes "github.com/docker/docker/api/types/container"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/journaltest"
)

func TestParseCompose(t *testing.T) {
	for _, tc := range []struct {
		in, project, service, err string
	}{
		{"compose://shop/api", "shop", "api", ""},
		{"compose://my_shop-2/api.v2", "my_shop-2", "api.v2", ""},
		{"compose://shop", "", "", "want compose://PROJECT/SERVICE"},
		{"compose://shop/", "", "", "want compose://PROJECT/SERVICE"},
		{"compose://shop/api/x", "", "", "want compose://PROJECT/SERVICE"},
		{"compose://Shop/api", "", "", "project name is lower-case"},
		{"compose://shop/-api", "", "", "service name is letters"},
		{"docker://shop", "", "", "is not compose://"},
	} {
		project, service, err := ParseCompose(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseCompose(%q) = %v, want an error saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || project != tc.project || service != tc.service {
			t.Errorf("ParseCompose(%q) = %q, %q, %v; want %q, %q", tc.in, project, service, err, tc.project, tc.service)
		}
	}
}

// composed is a compose service the tests move: its replicas, as
// `docker run --label com.docker.compose.project=P --label
// com.docker.compose.service=api --label com.docker.compose.container-number=N
// --network host ...` made them.
type composed struct {
	project  string
	replicas []*running
}

// runService runs images as the replicas of service api in a project of
// the test's own, the Nth container numbered N.
func (w *world) runService(t *testing.T, images ...string) *composed {
	t.Helper()
	project := fmt.Sprintf("lkgct-%s-%d", strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), time.Now().UnixNano()%100000)
	s := &composed{project: project}
	for i, image := range images {
		n := strconv.Itoa(i + 1)
		r := w.runLabelled(t, project+"-api-"+n, freePort(t), image, map[string]string{
			projectLabel: project,
			serviceLabel: "api",
			numberLabel:  n,
		})
		s.replicas = append(s.replicas, r)
	}
	return s
}

func (w *world) service(project string) *Service {
	return NewService(w.eng, project, "api", WithGrace(500*time.Millisecond), WithHealthTimeout(30*time.Second))
}

// answer checks that each replica is the only container running under
// its name, and answers want.
func (s *composed) answer(t *testing.T, w *world, want string) []string {
	t.Helper()
	var ids []string
	for _, r := range s.replicas {
		r.waitAnswer(t, want)
		ids = append(ids, w.only(t, r.name).ID)
		if got := w.all(t, r.name); !slices.Equal(got, []string{r.name}) {
			t.Errorf("containers named after %s: %v, want it alone", r.name, got)
		}
	}
	return ids
}

func (s *composed) ids() []string {
	var ids []string
	for _, r := range s.replicas {
		ids = append(ids, r.id)
	}
	return ids
}

func detailOf(t *testing.T, st deploy.State) composeDetail {
	t.Helper()
	var d composeDetail
	if err := json.Unmarshal(st.Detail, &d); err != nil {
		t.Fatalf("Detail %s: %v", st.Detail, err)
	}
	return d
}

func TestComposeMoveAndBack(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	svc := w.runService(t, w.good1.ref, w.good1.ref)
	s := w.service(svc.project)

	cur, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Image != w.good1.ref || cur.Digest != w.good1.digest {
		t.Fatalf("Read = %+v, want %s at %s", cur, w.good1.ref, w.good1.digest)
	}
	if d := detailOf(t, cur); len(d.Containers) != 2 || d.Containers[0].Name != svc.replicas[0].name || d.Containers[1].Digest != w.good1.digest {
		t.Errorf("Detail = %+v, want both containers, in order", d)
	}
	p, err := s.Prepare(ctx, cur, registryBuild(w, w.good2))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("2 container(s) in turn (%s, %s), each recreated from %s, in the engine already; the old containers are kept, stopped, until every new one is healthy",
		svc.replicas[0].name, svc.replicas[1].name, w.good2.pinned(w))
	if p.How != want {
		t.Errorf("How = %q\nwant %q", p.How, want)
	}
	if err := s.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	now, err := s.Wait(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if now.Digest != w.good2.digest {
		t.Fatalf("after the move: %+v, want %s", now, w.good2.digest)
	}
	ids := svc.answer(t, w, "v2")
	for i, id := range ids {
		if id == svc.replicas[i].id {
			t.Errorf("%s was not recreated", svc.replicas[i].name)
		}
		// compose still owns it: its labels stay.
		ins := w.only(t, svc.replicas[i].name)
		if ins.Config.Labels[projectLabel] != svc.project || ins.Config.Labels[numberLabel] != strconv.Itoa(i+1) {
			t.Errorf("labels of the new %s: %v", svc.replicas[i].name, ins.Config.Labels)
		}
	}

	// And back, as undo does: the state journaled before, restored.
	back, err := moveToService(ctx, t, s, deploy.Build{Image: cur.Image, Digest: cur.Digest, Restores: &cur})
	if err != nil {
		t.Fatal(err)
	}
	if back.Digest != w.good1.digest {
		t.Fatalf("back: %+v, want %s", back, w.good1.digest)
	}
	svc.answer(t, w, "v1")
}

// moveToService is Read, Prepare, Apply and Wait, as the core calls them.
func moveToService(ctx context.Context, t *testing.T, s *Service, b deploy.Build) (deploy.State, error) {
	t.Helper()
	cur, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Prepare(ctx, cur, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, p); err != nil {
		return deploy.State{}, err
	}
	return s.Wait(ctx, p)
}

// TestComposeFailurePutsAllBack: the first container comes up on the new
// build, the second does not (killed as it starts, as a build that
// crashes on one host would be): both old containers run again.
func TestComposeFailurePutsAllBack(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	svc := w.runService(t, w.good1.ref, w.good1.ref)
	s := w.service(svc.project)
	s.step = func(_ context.Context, at string) {
		if at == "2/started" {
			if err := w.eng.Client().ContainerStop(ctx, svc.replicas[1].name, ctypes.StopOptions{Signal: "KILL"}); err != nil {
				t.Error(err)
			}
		}
	}
	_, err := moveToService(ctx, t, s, registryBuild(w, w.good2))
	if !errors.Is(err, deploy.ErrUnhealthy) || !strings.Contains(err.Error(), "did not come up: it exited") {
		t.Fatalf("err = %v, want ErrUnhealthy, exited", err)
	}
	if want := "the old container(s) of " + svc.replicas[0].name + ", " + svc.replicas[1].name + " put back"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
	if ids := svc.answer(t, w, "v1"); !slices.Equal(ids, svc.ids()) {
		t.Errorf("running: %v, want the old containers %v", ids, svc.ids())
	}
	if now, err := s.Read(ctx); err != nil || now.Digest != w.good1.digest {
		t.Errorf("Read = %+v, %v; want %s", now, err, w.good1.digest)
	}
}

// TestComposeInterruptEveryStep cancels the move's context after each
// step of each container: the service is left all on its old containers,
// exactly one running per replica, or, once Apply returned (Ctrl-C in
// Wait), all on the new; the next move starts from there and leaves no
// old container behind.
func TestComposeInterruptEveryStep(t *testing.T) {
	t.Parallel()
	w := setup(t)
	var steps []string
	for _, n := range []string{"1", "2"} {
		for _, at := range []string{"pulled", "renamed", "stopped", "created", "started", "healthy"} {
			steps = append(steps, n+"/"+at)
		}
	}
	steps = append(steps, "wait")
	for _, step := range steps {
		t.Run(strings.ReplaceAll(step, "/", "-"), func(t *testing.T) {
			t.Parallel()
			svc := w.runService(t, w.good1.ref, w.good1.ref)
			s := w.service(svc.project)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s.step = func(_ context.Context, at string) {
				if at == step {
					cancel()
				}
			}
			cur, err := s.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.Prepare(ctx, cur, registryBuild(w, w.good2))
			if err != nil {
				t.Fatal(err)
			}
			err = s.Apply(ctx, p)
			next := w.good2
			if step == "wait" {
				if err != nil {
					t.Fatalf("Apply = %v, want the move done", err)
				}
				cancel()
				if _, err := s.Wait(ctx, p); !errors.Is(err, context.Canceled) {
					t.Fatalf("Wait = %v, want context.Canceled", err)
				}
				for _, r := range svc.replicas {
					r.waitAnswer(t, "v2")
					w.only(t, r.name)
				}
				next = w.good1
			} else {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Apply = %v, want context.Canceled", err)
				}
				if ids := svc.answer(t, w, "v1"); !slices.Equal(ids, svc.ids()) {
					t.Fatalf("running: %v, want the old containers %v", ids, svc.ids())
				}
			}
			now, err := s.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := w.good1.digest; step == "wait" && now.Digest != w.good2.digest || step != "wait" && now.Digest != want {
				t.Errorf("read back after %s: %+v", step, now)
			}
			s.step = func(context.Context, string) {}
			if _, err := moveToService(context.Background(), t, s, registryBuild(w, next)); err != nil {
				t.Fatal(err)
			}
			svc.answer(t, w, strings.TrimPrefix(next.ref, w.repo+":"))
		})
	}
}

// TestComposeMixed: containers on different builds read as no one
// digest, each named in Detail and in the plan; a move leaves the one on
// the build alone.
func TestComposeMixed(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	svc := w.runService(t, w.good1.ref, w.good2.ref)
	s := w.service(svc.project)
	cur, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Digest != "" || cur.Image != "" {
		t.Errorf("Read = %+v, want no one digest", cur)
	}
	d := detailOf(t, cur)
	if len(d.Containers) != 2 || d.Containers[0].Digest != w.good1.digest || d.Containers[1].Digest != w.good2.digest {
		t.Errorf("Detail = %+v, want each container's digest", d)
	}
	p, err := s.Prepare(ctx, cur, registryBuild(w, w.good2))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"the containers run different builds now: ", svc.replicas[0].name + " sha256:", "1 container(s) in turn (" + svc.replicas[0].name + ")", svc.replicas[1].name + " run(s) it already"} {
		if !strings.Contains(p.How, want) {
			t.Errorf("How = %q, want %q in it", p.How, want)
		}
	}
	if err := s.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	now, err := s.Wait(ctx, p)
	if err != nil || now.Digest != w.good2.digest {
		t.Fatalf("Wait = %+v, %v; want %s", now, err, w.good2.digest)
	}
	ids := svc.answer(t, w, "v2")
	if ids[0] == svc.replicas[0].id || ids[1] != svc.replicas[1].id {
		t.Errorf("running %v (was %v): want the first recreated, the second left alone", ids, svc.ids())
	}
}

func TestComposeApplyRefusesWhenScaled(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	svc := w.runService(t, w.good1.ref)
	s := w.service(svc.project)
	cur, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Prepare(ctx, cur, registryBuild(w, w.good2))
	if err != nil {
		t.Fatal(err)
	}
	// Someone scales the service up meanwhile.
	w.runLabelled(t, svc.project+"-api-2", freePort(t), w.good1.ref, map[string]string{projectLabel: svc.project, serviceLabel: "api", numberLabel: "2"})
	if err := s.Apply(ctx, p); !errors.Is(err, deploy.ErrTargetMoved) {
		t.Fatalf("Apply = %v, want ErrTargetMoved", err)
	}
	if ins := w.only(t, svc.replicas[0].name); ins.ID != svc.replicas[0].id {
		t.Errorf("%s was recreated", svc.replicas[0].name)
	}
}

func TestComposeNoTarget(t *testing.T) {
	t.Parallel()
	w := setup(t)
	svc := w.runService(t, w.good1.ref)
	s := NewService(w.eng, svc.project, "apj")
	_, err := s.Read(context.Background())
	if !errors.Is(err, deploy.ErrNoTarget) || errs.Code(err) != 2 {
		t.Fatalf("Read = %v (exit %d), want ErrNoTarget, exit 2", err, errs.Code(err))
	}
	if want := "Did you mean compose://" + svc.project + "/api?"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestComposeEvidence(t *testing.T) {
	t.Parallel()
	w := setup(t)
	svc := w.runService(t, w.good1.ref, w.good1.ref)
	ev, err := w.service(svc.project).Evidence(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Units) != 2 || len(ev.Notes) != 0 {
		t.Fatalf("Evidence = %+v, want two units and no notes", ev)
	}
	for i, u := range ev.Units {
		r := svc.replicas[i]
		if u.Name != r.name || u.State != "running" || !strings.Contains(u.Logs, "listening on "+r.addr) {
			t.Errorf("unit %d = %+v", i, u)
		}
	}
}

// TestComposeMixedUndo: a service whose containers ran different builds
// is deployed through the core and undone: each container goes back to
// the build it ran, not to one digest for all.
func TestComposeMixedUndo(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	svc := w.runService(t, w.good1.ref, w.good2.ref)
	s := w.service(svc.project)
	rec := &journaltest.Recorder{}
	out, err := deploy.DeployDigest(ctx, s, rec, w.good2.pinned(w), deploy.Options{Yes: true, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Message, "(was (no single build))") || !strings.Contains(out.Message, "lkg undo") {
		t.Errorf("the deploy says:\n%s\nwant the mixed state named and undo offered", out.Message)
	}
	svc.answer(t, w, "v2")
	if u, err := deploy.Undo(ctx, s, rec, rec.Events(), deploy.Options{Yes: true, Log: io.Discard}); err != nil {
		t.Fatalf("undo: %v", err)
	} else if !strings.Contains(u.Message, "is now at (no single build) (was "+w.good2.digest+")") {
		t.Errorf("the undo says:\n%s\nwant the containers named as on no single build", u.Message)
	}
	now, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := detailOf(t, now); len(d.Containers) != 2 || d.Containers[0].Digest != w.good1.digest || d.Containers[1].Digest != w.good2.digest {
		t.Errorf("after undo the containers run %+v, want %s then %s", d.Containers, w.good1.digest, w.good2.digest)
	}
}
