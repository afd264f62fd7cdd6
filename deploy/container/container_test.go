package container

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ctypes "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/fixture"
)

// world is what every engine test shares: one engine, one real registry
// and four builds of the version server pushed to it, made once.
type world struct {
	eng  *artifacts.Engine
	reg  *fixture.Registry
	repo string
	// good1 has a HEALTHCHECK; good2 has none, and other defaults (env,
	// labels); crash exits at once; sick answers 500 to its HEALTHCHECK;
	// fresh is like good2 but only in the registry, for one test to pull.
	good1, good2, crash, sick, fresh build
}

type build struct{ id, digest, ref string }

func (b build) pinned(w *world) string { return w.repo + "@" + b.digest }

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theWorld != nil {
		ctx := context.Background()
		for _, b := range []build{theWorld.good1, theWorld.good2, theWorld.crash, theWorld.sick, theWorld.fresh} {
			_ = theWorld.eng.Remove(ctx, b.id)
		}
		theWorld.reg.Close()
		theWorld.eng.Close()
	}
	os.Exit(code)
}

// setup is the shared world, or a skip without an engine (a failure when
// LKG_REQUIRE_INTEGRATION=1).
func setup(t *testing.T) *world {
	t.Helper()
	worldOnce.Do(func() {
		ctx := context.Background()
		eng, err := artifacts.NewEngine(ctx)
		if err != nil {
			worldErr = err
			return
		}
		reg, err := fixture.StartRegistry(ctx)
		if err != nil {
			eng.Close()
			worldErr = err
			return
		}
		w := &world{eng: eng, reg: reg, repo: reg.Addr + "/shop/api"}
		specs := []struct {
			b    *build
			tag  string
			spec fixture.ServerSpec
		}{
			{&w.good1, "v1", fixture.ServerSpec{Version: "v1", Healthcheck: true, Env: []string{"DEFAULT=one"}, Labels: map[string]string{"img": "one", "org.opencontainers.image.revision": "1111111"}}},
			{&w.good2, "v2", fixture.ServerSpec{Version: "v2", Env: []string{"DEFAULT=two"}, Labels: map[string]string{"img": "two"}}},
			{&w.crash, "crash", fixture.ServerSpec{Version: "crash", Cmd: []string{"-exit=3"}}},
			{&w.sick, "sick", fixture.ServerSpec{Version: "sick", Healthcheck: true, Cmd: []string{"-status=500"}}},
			{&w.fresh, "v3", fixture.ServerSpec{Version: "v3", Env: []string{"DEFAULT=three"}, Labels: map[string]string{"img": "three"}}},
		}
		for _, s := range specs {
			s.b.ref = w.repo + ":" + s.tag
			if s.b.id, s.b.digest, err = buildServer(ctx, eng, s.b.ref, s.spec); err != nil {
				worldErr = err
				break
			}
		}
		if worldErr == nil {
			worldErr = eng.Remove(ctx, w.fresh.id)
		}
		theWorld = w
	})
	if worldErr != nil {
		if os.Getenv("LKG_REQUIRE_INTEGRATION") == "1" || !errors.Is(worldErr, artifacts.ErrEngineUnavailable) {
			t.Fatalf("setting up the engine tests: %v", worldErr)
		}
		t.Skipf("no docker engine: %v", worldErr)
	}
	return theWorld
}

// buildServer builds spec in the engine as ref and pushes it there.
func buildServer(ctx context.Context, eng *artifacts.Engine, ref string, spec fixture.ServerSpec) (id, digest string, err error) {
	dir, err := os.MkdirTemp("", "lkg-server-image-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(dir)
	if err := fixture.ServerContext(dir, spec); err != nil {
		return "", "", err
	}
	if id, err = eng.Build(ctx, artifacts.BuildRequest{ContextDir: dir, Tags: []string{ref}}); err != nil {
		return "", "", err
	}
	digest, err = eng.Push(ctx, ref, nil)
	return id, digest, err
}

// freePort is a 127.0.0.1 address nobody listens on (host networking:
// each container needs its own).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// running is a container the tests deploy to, as a user would have
// started it: `docker run -d --name NAME --network host --restart
// unless-stopped -e FOO=bar -e LISTEN=ADDR -v DIR:/data:ro -v /cache
// --label ...`.
type running struct {
	name, addr string
	id         string
}

func (w *world) run(t *testing.T, image string) *running {
	t.Helper()
	name := fmt.Sprintf("lkg-ct-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano()%100000)
	return w.runAs(t, name, freePort(t), image)
}

// runAs runs image as name, listening on addr.
func (w *world) runAs(t *testing.T, name, addr, image string) *running {
	t.Helper()
	return w.runLabelled(t, name, addr, image, map[string]string{
		"com.docker.compose.project": "shop",
		"com.docker.compose.service": "api",
	})
}

// runLabelled runs image as name, listening on addr, with labels (and
// team=payments).
func (w *world) runLabelled(t *testing.T, name, addr, image string, labels map[string]string) *running {
	t.Helper()
	ctx := context.Background()
	r := &running{name: name, addr: addr}
	cfg := &ctypes.Config{
		Image:   image,
		Env:     []string{"FOO=bar", "LISTEN=" + r.addr},
		Volumes: map[string]struct{}{"/cache": {}},
		Labels:  map[string]string{"team": "payments"},
	}
	maps.Copy(cfg.Labels, labels)
	host := &ctypes.HostConfig{
		NetworkMode:   "host",
		RestartPolicy: ctypes.RestartPolicy{Name: ctypes.RestartPolicyUnlessStopped},
		Binds:         []string{t.TempDir() + ":/data:ro"},
	}
	cli := w.eng.Client()
	resp, err := cli.ContainerCreate(ctx, cfg, host, nil, nil, r.name)
	if err != nil {
		t.Fatal(err)
	}
	r.id = resp.ID
	t.Cleanup(func() {
		list, _ := cli.ContainerList(context.Background(), ctypes.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", "^/"+r.name))})
		for _, c := range list {
			_ = cli.ContainerRemove(context.Background(), c.ID, ctypes.RemoveOptions{Force: true, RemoveVolumes: true})
			// A volume a recreate mounted by name is not anonymous to
			// the new container: rm -v leaves it.
			for _, m := range c.Mounts {
				if m.Name != "" {
					_ = cli.VolumeRemove(context.Background(), m.Name, true)
				}
			}
		}
	})
	if err := cli.ContainerStart(ctx, r.id, ctypes.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	r.waitAnswer(t, w.versionOf(image))
	return r
}

// versionOf is the version the build image answers.
func (w *world) versionOf(image string) string {
	for _, b := range []build{w.good1, w.good2, w.crash, w.sick, w.fresh} {
		if image == b.ref || image == b.pinned(w) {
			return strings.TrimPrefix(b.ref, w.repo+":")
		}
	}
	return ""
}

// waitAnswer waits until the container's server answers want.
func (r *running) waitAnswer(t *testing.T, want string) {
	t.Helper()
	var got string
	for range 100 {
		got = fixture.Answer(r.addr)
		if got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s answers %q, want %q", r.addr, got, want)
}

// only checks that exactly one container runs under the name, or with
// it as prefix (an old one kept running would be a second), and returns
// it.
func (w *world) only(t *testing.T, name string) ctypes.InspectResponse {
	t.Helper()
	ctx := context.Background()
	list, err := w.eng.Client().ContainerList(ctx, ctypes.ListOptions{Filters: filters.NewArgs(filters.Arg("name", "^/"+name))})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Names[0] != "/"+name {
		var names []string
		for _, c := range list {
			names = append(names, strings.Join(c.Names, ","))
		}
		t.Fatalf("running under %s: %v, want exactly %s", name, names, name)
	}
	ins, err := w.eng.Client().ContainerInspect(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

// volumeAt is the name of the volume mounted at dest in container name.
func volumeAt(t *testing.T, w *world, name, dest string) string {
	t.Helper()
	ins, err := w.eng.Client().ContainerInspect(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ins.Mounts {
		if m.Destination == dest {
			return m.Name
		}
	}
	t.Fatalf("%s has no mount at %s: %+v", name, dest, ins.Mounts)
	return ""
}

// all are the names of every container, running or not, named name or
// after it.
func (w *world) all(t *testing.T, name string) []string {
	t.Helper()
	list, err := w.eng.Client().ContainerList(context.Background(), ctypes.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", "^/"+name))})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range list {
		out = append(out, strings.TrimPrefix(c.Names[0], "/"))
	}
	slices.Sort(out)
	return out
}

func (w *world) target(name string) *Container {
	return New(w.eng, name, WithGrace(500*time.Millisecond), WithHealthTimeout(30*time.Second))
}

// moveTo is Read, Prepare, Apply and Wait, as the core calls them.
func moveTo(ctx context.Context, t *testing.T, c *Container, b deploy.Build) (deploy.State, error) {
	t.Helper()
	cur, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Prepare(ctx, cur, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(ctx, p); err != nil {
		return deploy.State{}, err
	}
	return c.Wait(ctx, p)
}

func registryBuild(w *world, b build) deploy.Build {
	return deploy.Build{Image: b.pinned(w), Digest: b.digest}
}

func TestRecreateKeepsConfig(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	r := w.run(t, w.good1.ref)
	c := w.target(r.name)

	cur, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (deploy.State{Image: w.good1.ref, Digest: w.good1.digest}); cur.Image != want.Image || cur.Digest != want.Digest {
		t.Fatalf("Read = %+v, want %+v", cur, want)
	}
	cache := volumeAt(t, w, r.name, "/cache")
	// The new build is not in the engine: Apply pulls it by digest.
	p, err := c.Prepare(ctx, cur, registryBuild(w, w.fresh))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.How, "pulled by digest") {
		t.Errorf("How = %q, want a pull by digest", p.How)
	}
	if err := c.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	now, err := c.Wait(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if now.Digest != w.fresh.digest || now.Image != w.fresh.pinned(w) {
		t.Fatalf("after the move: %+v, want %s", now, w.fresh.pinned(w))
	}
	r.waitAnswer(t, "v3")
	ins := w.only(t, r.name)
	if ins.ID == r.id {
		t.Fatal("the container was not recreated")
	}
	if got := w.all(t, r.name); !slices.Equal(got, []string{r.name}) {
		t.Errorf("containers after the move: %v, want the new one only", got)
	}
	// The user's settings stay; the old image's defaults give way to the
	// new image's.
	for _, e := range []string{"FOO=bar", "LISTEN=" + r.addr, "DEFAULT=three"} {
		if !slices.Contains(ins.Config.Env, e) {
			t.Errorf("Env = %v, want %s in it", ins.Config.Env, e)
		}
	}
	if slices.Contains(ins.Config.Env, "DEFAULT=one") {
		t.Errorf("Env = %v: the old image's default stayed", ins.Config.Env)
	}
	for k, v := range map[string]string{"team": "payments", "com.docker.compose.project": "shop", "com.docker.compose.service": "api", "img": "three"} {
		if ins.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, ins.Config.Labels[k], v)
		}
	}
	if _, ok := ins.Config.Labels["org.opencontainers.image.revision"]; ok {
		t.Errorf("the old image's revision label stayed: %v", ins.Config.Labels)
	}
	if ins.Config.Healthcheck != nil {
		t.Errorf("Healthcheck = %+v: the old image's, the new one has none", ins.Config.Healthcheck)
	}
	if ins.HostConfig.RestartPolicy.Name != ctypes.RestartPolicyUnlessStopped || !ins.HostConfig.NetworkMode.IsHost() {
		t.Errorf("HostConfig: restart %q, network %q", ins.HostConfig.RestartPolicy.Name, ins.HostConfig.NetworkMode)
	}
	if len(ins.HostConfig.Binds) != 2 || !strings.HasSuffix(ins.HostConfig.Binds[0], ":/data:ro") {
		t.Errorf("Binds = %v", ins.HostConfig.Binds)
	}
	if got := volumeAt(t, w, r.name, "/cache"); got != cache {
		t.Errorf("the anonymous volume at /cache is %s, want the old container's %s", got, cache)
	}

	// And back, as undo does: the image as the container named it at
	// first (a tag), by the digest it ran.
	back, err := moveTo(ctx, t, c, deploy.Build{Image: w.good1.ref, Digest: w.good1.digest, Restores: &cur})
	if err != nil {
		t.Fatal(err)
	}
	if back.Digest != w.good1.digest {
		t.Fatalf("back: %+v, want %s", back, w.good1.digest)
	}
	r.waitAnswer(t, "v1")
	if ins := w.only(t, r.name); ins.State.Health == nil || ins.State.Health.Status != "healthy" {
		t.Errorf("back at v1: health %+v, want healthy (v1's HEALTHCHECK)", ins.State.Health)
	}
}

func TestFailingBuildPutsOldBack(t *testing.T) {
	t.Parallel()
	w := setup(t)
	for _, tc := range []struct {
		name string
		b    func() build
		why  string
	}{
		{"exits", func() build { return w.crash }, "it exited"},
		{"unhealthy", func() build { return w.sick }, "HEALTHCHECK says unhealthy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			r := w.run(t, w.good1.ref)
			// crash has no HEALTHCHECK: with a grace of a minute it is
			// seen exited first, however loaded the machine.
			c := New(w.eng, r.name, WithGrace(time.Minute), WithHealthTimeout(30*time.Second))
			now, err := moveTo(ctx, t, c, registryBuild(w, tc.b()))
			if !errors.Is(err, deploy.ErrUnhealthy) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("err = %v, want ErrUnhealthy saying %q", err, tc.why)
			}
			if now.Digest != w.good1.digest {
				t.Errorf("state read back = %+v, want the old %s", now, w.good1.digest)
			}
			ins := w.only(t, r.name)
			if ins.ID != r.id {
				t.Errorf("running under %s: %s, want the old container %s", r.name, ins.ID, r.id)
			}
			if got := w.all(t, r.name); !slices.Equal(got, []string{r.name}) {
				t.Errorf("containers: %v, want the old one only", got)
			}
			r.waitAnswer(t, "v1")
		})
	}
}

func TestApplyRefusesWhenMoved(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	r := w.run(t, w.good1.ref)
	c := w.target(r.name)
	cur, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Prepare(ctx, cur, registryBuild(w, w.good2))
	if err != nil {
		t.Fatal(err)
	}
	// Someone else recreates it from another build meanwhile.
	cli := w.eng.Client()
	if err := cli.ContainerRemove(ctx, r.name, ctypes.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
		t.Fatal(err)
	}
	theirs := w.runAs(t, r.name, r.addr, w.sick.ref)
	err = c.Apply(ctx, p)
	if !errors.Is(err, deploy.ErrTargetMoved) {
		t.Fatalf("Apply = %v, want ErrTargetMoved", err)
	}
	if ins := w.only(t, r.name); ins.ID != theirs.id {
		t.Errorf("running under %s: %s, want theirs %s untouched", r.name, ins.ID, theirs.id)
	}
}

// TestInterruptEveryStep cancels the move's context after each step of
// Apply: exactly one container runs under the name afterwards, the old
// one until the new one started, and a later move cleans up.
func TestInterruptEveryStep(t *testing.T) {
	t.Parallel()
	w := setup(t)
	for _, step := range []string{"pulled", "renamed", "stopped", "created", "started"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			r := w.run(t, w.good1.ref)
			c := w.target(r.name)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c.step = func(_ context.Context, at string) {
				if at == step {
					cancel()
				}
			}
			cur, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Prepare(ctx, cur, registryBuild(w, w.good2))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Apply(ctx, p)
			ins := w.only(t, r.name)
			if step == "started" {
				if err != nil {
					t.Fatalf("Apply = %v, want the move done", err)
				}
				if ins.ID == r.id {
					t.Fatal("the old container runs, want the new one")
				}
				// Ctrl-C during the wait keeps the new one running.
				if _, err := c.Wait(ctx, p); !errors.Is(err, context.Canceled) {
					t.Fatalf("Wait = %v, want context.Canceled", err)
				}
				r.waitAnswer(t, "v2")
				w.only(t, r.name)
			} else {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Apply = %v, want context.Canceled", err)
				}
				if ins.ID != r.id {
					t.Fatalf("running under %s: %s, want the old container %s", r.name, ins.ID, r.id)
				}
				if got := w.all(t, r.name); !slices.Equal(got, []string{r.name}) {
					t.Errorf("containers: %v, want the old one only", got)
				}
				r.waitAnswer(t, "v1")
			}
			// The next move starts from where this one left the target,
			// and leaves no stopped old container behind.
			c.step = func(context.Context, string) {}
			next := w.good2
			if step == "started" {
				next = w.good1
			}
			if _, err := moveTo(context.Background(), t, c, registryBuild(w, next)); err != nil {
				t.Fatal(err)
			}
			if got := w.all(t, r.name); !slices.Equal(got, []string{r.name}) {
				t.Errorf("containers after the next move: %v, want one", got)
			}
		})
	}
}

func TestNoTarget(t *testing.T) {
	t.Parallel()
	w := setup(t)
	r := w.run(t, w.good1.ref)
	c := w.target(r.name + "x")
	_, err := c.Read(context.Background())
	if !errors.Is(err, deploy.ErrNoTarget) || errs.Code(err) != 2 {
		t.Fatalf("Read = %v (exit %d), want ErrNoTarget, exit 2", err, errs.Code(err))
	}
	if want := "Did you mean docker://" + r.name + "?"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestEvidence(t *testing.T) {
	t.Parallel()
	w := setup(t)
	r := w.run(t, w.good1.ref)
	c := w.target(r.name)
	ev, err := c.Evidence(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Units) != 1 || len(ev.Notes) != 0 {
		t.Fatalf("Evidence = %+v, want one unit and no notes", ev)
	}
	u := ev.Units[0]
	if u.Name != r.name || u.Image != w.good1.ref || u.State != "running" || u.Restarts != 0 {
		t.Errorf("unit = %+v", u)
	}
	if want := "versionserver v1 listening on " + r.addr; !strings.Contains(u.Logs, want) {
		t.Errorf("logs = %q, want %q in them", u.Logs, want)
	}
	// The environment is never part of it (FOO=bar stands for a secret).
	if s := fmt.Sprintf("%+v", ev); strings.Contains(s, "FOO") {
		t.Errorf("the evidence carries the environment: %s", s)
	}
	// The cap keeps the end of the logs.
	ev, err = c.Evidence(context.Background(), 20)
	if err != nil {
		t.Fatal(err)
	}
	if u := ev.Units[0]; !u.LogsTruncated || len(u.Logs) != 20 || !strings.HasSuffix(u.Logs, r.addr+"\n") {
		t.Errorf("capped at 20 bytes: %q, truncated %v", u.Logs, u.LogsTruncated)
	}
}
