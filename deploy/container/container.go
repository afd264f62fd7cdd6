package container

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	ctypes "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/imageref"
)

// Scheme prefixes a container target: "docker://NAME".
const Scheme = "docker://"

// Container is a Docker container as a deploy target.
type Container struct {
	name string
	engine
	o options
	// step is called after each step of Apply (tests interrupt there).
	step func(ctx context.Context, at string)
}

var (
	_ deploy.Target      = (*Container)(nil)
	_ deploy.LocalRunner = (*Container)(nil)
)

// Option configures New.
type Option func(*options)

type options struct {
	grace   time.Duration
	timeout time.Duration
	poll    time.Duration
	log     io.Writer
}

// WithGrace sets how long a new container without a HEALTHCHECK must run,
// neither exited nor restarted, to count as up. The default is half a
// second: long enough for a build that exits at once to be seen exited
// (or restarted by its policy); --verify-url checks the rest.
func WithGrace(d time.Duration) Option { return func(o *options) { o.grace = d } }

// WithHealthTimeout sets how long Wait waits for the new container to be
// healthy before putting the old one back. The default is 2 minutes.
func WithHealthTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithLog sets where progress (a pull) and warnings go. The default is
// nowhere.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// rollbackTimeout bounds putting the old container back: it runs with a
// context of its own (the move's may be cancelled: that is often why it
// runs), so it needs a deadline of its own.
const rollbackTimeout = 30 * time.Second

// stopTimeout bounds stopping the old container: the engine's own
// timeout (the container's --stop-timeout, 10 seconds by default) and
// then some.
const stopTimeout = 2 * time.Minute

// validName is the engine's rule for container names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// ParseTarget is the container name in "docker://NAME", checked against
// the engine's rule for names, with one line saying what is wrong.
func ParseTarget(s string) (string, error) {
	name, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return "", fmt.Errorf("%q is not %sNAME", s, Scheme)
	}
	if !validName.MatchString(name) {
		return "", fmt.Errorf("%q: a container name is letters, digits and _.- (not starting with one of _.-), at least two characters", s)
	}
	return name, nil
}

// New is the container called name on eng's engine.
func New(eng *artifacts.Engine, name string, opts ...Option) *Container {
	c := newContainer(name, opts)
	c.eng, c.cli = eng, eng.Client()
	return c
}

// Dial is the container called name on the engine artifacts.NewEngine
// connects to with engine, connected on first use: a command that only
// names the target (its usage checked, a dry run refused) never reaches
// the engine, and the connection heeds the move's context.
func Dial(name string, engine []artifacts.EngineOption, opts ...Option) *Container {
	c := newContainer(name, opts)
	c.dial = func(ctx context.Context) (*artifacts.Engine, error) { return artifacts.NewEngine(ctx, engine...) }
	return c
}

func newContainer(name string, opts []Option) *Container {
	o := options{grace: 500 * time.Millisecond, timeout: 2 * time.Minute, poll: 100 * time.Millisecond, log: io.Discard}
	for _, opt := range opts {
		opt(&o)
	}
	return &Container{name: name, o: o, step: func(context.Context, string) {}}
}

// engine is the connection a container or compose target moves through.
type engine struct {
	eng *artifacts.Engine
	cli *client.Client
	// dial connects to the engine on first use (Dial), when eng is nil.
	dial func(context.Context) (*artifacts.Engine, error)
}

// connect connects to the engine if Dial left that for now.
func (e *engine) connect(ctx context.Context) error {
	if e.cli != nil {
		return nil
	}
	eng, err := e.dial(ctx)
	if err != nil {
		return err
	}
	e.eng, e.cli = eng, eng.Client()
	return nil
}

// String is the target as given: "docker://NAME".
func (c *Container) String() string { return Scheme + c.name }

// RunsLocal is true: the container runs an image of the same engine as
// it is, so a local build is not pushed anywhere first.
func (c *Container) RunsLocal() bool { return true }

// Read is the container's image as configured (Config.Image) and the
// digest it runs: its image's repository digest for that repository.
// An image with none (a local build) reads as its image ID, digest "".
func (c *Container) Read(ctx context.Context) (deploy.State, error) {
	ins, err := c.inspect(ctx)
	if err != nil {
		return deploy.State{}, err
	}
	return c.state(ctx, ins)
}

// inspect is the container under the target's name, or an error wrapping
// deploy.ErrNoTarget (exit 2) naming the nearest container there is.
func (c *Container) inspect(ctx context.Context) (ctypes.InspectResponse, error) {
	if err := c.connect(ctx); err != nil {
		return ctypes.InspectResponse{}, err
	}
	ins, err := c.cli.ContainerInspect(ctx, c.name)
	switch {
	case err == nil && strings.TrimPrefix(ins.Name, "/") == c.name:
		return ins, nil
	case err != nil && !cerrdefs.IsNotFound(err):
		return ins, c.engineErr("inspecting container "+c.name, err)
	}
	// Not found, or found by an ID prefix that the name happens to be.
	return ctypes.InspectResponse{}, c.noTarget(ctx)
}

func (c *Container) noTarget(ctx context.Context) error {
	err := fmt.Errorf("no container named %q on the engine at %s: %w", c.name, c.eng.Host(), deploy.ErrNoTarget)
	list, lerr := c.cli.ContainerList(ctx, ctypes.ListOptions{All: true})
	if lerr != nil {
		return errs.Coded(2, err, "List them with: docker ps -a")
	}
	var names []string
	for _, s := range list {
		for _, n := range s.Names {
			n = strings.TrimPrefix(n, "/")
			if !strings.Contains(n, "/") && !leftover.MatchString(n) {
				names = append(names, n)
			}
		}
	}
	return deploy.NoSuch(err, Scheme, c.name, names, "The engine has no containers", "It has:")
}

// state is what ins runs.
func (c *Container) state(ctx context.Context, ins ctypes.InspectResponse) (deploy.State, error) {
	configured := ""
	if ins.Config != nil {
		configured = ins.Config.Image
	}
	var digests []string
	img, err := c.cli.ImageInspect(ctx, ins.Image)
	switch {
	case err == nil:
		digests = img.RepoDigests
	case !cerrdefs.IsNotFound(err): // an image forced away keeps running: it has no digests left
		return deploy.State{}, c.engineErr("inspecting the image of container "+c.name, err)
	}
	dg := repoDigest(configured, digests)
	if dg == "" {
		// A local build: its image ID is its digest, as find reports
		// such a build; undo puts it back from the engine.
		return deploy.State{Image: ins.Image, Digest: ins.Image}, nil
	}
	return deploy.State{Image: configured, Digest: dg}, nil
}

// repoDigest is the digest the image configured as ref runs by: ref's own
// digest, else the repository digest the engine records for ref's
// repository; "" when it has none (a local build, or one pulled from
// elsewhere).
func repoDigest(ref string, repoDigests []string) string {
	r, err := imageref.Parse(ref)
	if err != nil {
		return ""
	}
	if r.Digest() != "" {
		return r.Digest()
	}
	for _, rd := range repoDigests {
		repo, dg, ok := strings.Cut(rd, "@")
		if ok && familiar(repo) == familiar(r.Repo()) {
			return dg
		}
	}
	return ""
}

// familiar is a repository as the engine prints Docker Hub's: "nginx",
// not "docker.io/library/nginx".
func familiar(repo string) string {
	for _, p := range []string{"docker.io/", "index.docker.io/"} {
		repo = strings.TrimPrefix(repo, p)
	}
	return strings.TrimPrefix(repo, "library/")
}

// move is the target's own plan: what Apply did, for Wait and for a
// rollback.
type move struct {
	present bool // the build is in the engine already: no pull

	old        string // the old container's ID
	oldName    string // its name while the new one comes up
	wasRunning bool   // start it again when it goes back
	created    bool   // a create was sent: a container of ours may hold the name
	createdAt  time.Time
	new        string // the new container's ID, once the engine said
	seenUp     time.Time
}

// Prepare checks the container is there and that the engine can have the
// build: a local image it holds, or a registry build it can reach (pulled
// by digest in Apply). It changes nothing.
func (c *Container) Prepare(ctx context.Context, cur deploy.State, b deploy.Build) (*deploy.Plan, error) {
	if _, err := c.inspect(ctx); err != nil {
		return nil, err
	}
	m := &move{}
	p := &deploy.Plan{From: cur, Own: m}
	const kept = "; the old container is kept, stopped, until the new one is healthy"
	if b.Local {
		p.To = deploy.Build{Image: b.Image, Local: true, Restores: b.Restores}
		if b.Image == "" {
			p.How = "built with the engine, then the container recreated from it" + kept
			return p, nil
		}
		id, err := c.eng.ImageID(ctx, b.Image)
		if err != nil {
			return nil, errs.Hinted(fmt.Errorf("the local image %s: %w", b.Image, err), fmt.Sprintf("Nothing was changed; %s still runs %s", c, show(cur)))
		}
		p.To.Digest = id
		if p.Unchanged() {
			return p, nil
		}
		m.present = true
		p.How = "the container recreated from the engine's image " + b.Image + kept
		return p, nil
	}
	ref, dg, err := byDigest(b, cur)
	if err != nil {
		return nil, err
	}
	p.To = deploy.Build{Image: ref, Digest: dg, Restores: b.Restores}
	if p.Unchanged() {
		return p, nil
	}
	if _, err := c.eng.ImageID(ctx, ref); err == nil {
		m.present = true
		p.How = "the container recreated from " + ref + ", in the engine already" + kept
		return p, nil
	}
	if _, err := c.eng.Resolve(ctx, ref); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errs.Hinted(fmt.Errorf("the engine cannot get the build: %w", err), fmt.Sprintf("Nothing was changed; %s still runs %s. Check that the engine can reach the registry (docker pull %s)", c, show(cur), ref))
	}
	p.How = "pulled by digest, the container recreated from it" + kept
	return p, nil
}

// byDigest is the reference a registry build runs by: its repository at
// its digest. An undo's build names the image as the container had it
// (a tag, say), with the digest it ran by beside it.
func byDigest(b deploy.Build, cur deploy.State) (ref, dg string, err error) {
	src := cmp.Or(b.Image, cur.Image)
	r, err := imageref.Parse(src)
	if err != nil {
		return "", "", fmt.Errorf("the build to run: %w", err)
	}
	dg = cmp.Or(b.Digest, r.Digest())
	if dg == "" {
		return "", "", fmt.Errorf("the build %s has no digest to run it by", src)
	}
	return r.At(dg), dg, nil
}

// show is a state for a message.
func show(s deploy.State) string {
	if s.Digest != "" {
		return s.Image
	}
	return "the local image " + s.Image
}

// Apply recreates the container from the build: the build pulled, the
// container re-read (it must still run p.From: else deploy.ErrTargetMoved,
// nothing changed), the old one renamed NAME-lkg-old-<short id> and
// stopped, the new one created under NAME with the old one's
// configuration and started. Any step that fails, or Ctrl-C at any step,
// puts the old one back as it was.
func (c *Container) Apply(ctx context.Context, p *deploy.Plan) error {
	m, ok := p.Own.(*move)
	if !ok || p.To.Image == "" {
		return fmt.Errorf("recreating %s: the plan names no image", c)
	}
	if err := c.connect(ctx); err != nil {
		return err
	}
	if !m.present {
		if _, err := c.eng.ImageID(ctx, p.To.Image); err != nil {
			fmt.Fprintf(c.o.log, "lkg: pulling %s through the engine\n", p.To.Image)
			if err := c.eng.Pull(ctx, p.To.Image, nil); err != nil {
				return err
			}
		}
	}
	c.step(ctx, "pulled")
	if err := ctx.Err(); err != nil {
		return err
	}
	old, err := c.inspect(ctx)
	if err != nil {
		return err
	}
	now, err := c.state(ctx, old)
	if err != nil {
		return err
	}
	if now.Image != p.From.Image || now.Digest != p.From.Digest {
		return fmt.Errorf("%s runs %s now, not %s as planned: %w", c, show(now), show(p.From), deploy.ErrTargetMoved)
	}
	img, err := c.cli.ImageInspect(ctx, old.Image)
	if err != nil && !cerrdefs.IsNotFound(err) {
		return c.engineErr("inspecting the image of container "+c.name, err)
	}
	s := recreate(old, img.Config, p.To.Image)
	m.old, m.oldName = old.ID, c.name+"-lkg-old-"+shortID(old.ID)
	m.wasRunning = old.State != nil && (old.State.Running || old.State.Restarting)

	// Each write runs to its end with a context of its own, so that its
	// outcome is known (a stop cut off in flight may still stop the
	// container after a rollback started it); Ctrl-C is heeded between
	// writes, by the rollback.
	err = c.write(ctx, rollbackTimeout, func(w context.Context) error { return c.cli.ContainerRename(w, m.old, m.oldName) })
	if err != nil {
		return c.rollback(ctx, m, p.To.Image, c.engineErr("renaming "+c.name+" to "+m.oldName, err))
	}
	c.step(ctx, "renamed")
	if err := ctx.Err(); err != nil {
		return c.rollback(ctx, m, p.To.Image, err)
	}
	err = c.write(ctx, stopTimeout, func(w context.Context) error { return c.cli.ContainerStop(w, m.old, ctypes.StopOptions{}) })
	if err != nil {
		return c.rollback(ctx, m, p.To.Image, c.engineErr("stopping "+m.oldName, err))
	}
	c.step(ctx, "stopped")
	if err := ctx.Err(); err != nil {
		return c.rollback(ctx, m, p.To.Image, err)
	}
	m.created, m.createdAt = true, time.Now()
	err = c.write(ctx, rollbackTimeout, func(w context.Context) error {
		resp, err := c.cli.ContainerCreate(w, s.config, s.host, s.network, nil, c.name)
		m.new = resp.ID
		return err
	})
	if err != nil {
		return c.rollback(ctx, m, p.To.Image, c.engineErr("creating the new "+c.name, err))
	}
	for _, name := range slices.Sorted(maps.Keys(s.more)) {
		err := c.write(ctx, rollbackTimeout, func(w context.Context) error { return c.cli.NetworkConnect(w, name, m.new, s.more[name]) })
		if err != nil {
			return c.rollback(ctx, m, p.To.Image, c.engineErr("connecting the new "+c.name+" to network "+name, err))
		}
	}
	c.step(ctx, "created")
	if err := ctx.Err(); err != nil {
		return c.rollback(ctx, m, p.To.Image, err)
	}
	err = c.write(ctx, rollbackTimeout, func(w context.Context) error { return c.cli.ContainerStart(w, m.new, ctypes.StartOptions{}) })
	if err != nil {
		return c.rollback(ctx, m, p.To.Image, c.engineErr("starting the new "+c.name, err))
	}
	c.step(ctx, "started")
	return nil
}

// write runs one write to the engine with a context of its own: not
// cancelled with ctx, bounded by d.
func (c *Container) write(ctx context.Context, d time.Duration, f func(context.Context) error) error {
	w, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	return f(w)
}

// rollback puts the old container back under the name, as it was, after
// cause: the new one (if the engine made it) removed, the old one renamed
// back and started if it ran. It has a context of its own, since the
// move's may be what was cancelled. It returns cause, with what could
// not be put back if anything.
func (c *Container) rollback(ctx context.Context, m *move, image string, cause error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	var failed []error
	if m.created {
		// A create cut off in flight may have landed without its ID: a
		// container under the name, of this image, made since, is ours.
		id := m.new
		if ins, err := c.cli.ContainerInspect(rctx, c.name); err == nil && ins.ID != m.old && id == "" && ins.Config != nil && ins.Config.Image == image && createdSince(ins.Created, m.createdAt) {
			id = ins.ID
		}
		if id != "" {
			if err := c.cli.ContainerRemove(rctx, id, ctypes.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				failed = append(failed, fmt.Errorf("removing the new container: %w", err))
			}
		}
	}
	if m.old != "" {
		old, err := c.cli.ContainerInspect(rctx, m.old)
		switch {
		case err != nil:
			failed = append(failed, fmt.Errorf("inspecting the old container: %w", err))
		default:
			if strings.TrimPrefix(old.Name, "/") != c.name {
				if err := c.cli.ContainerRename(rctx, m.old, c.name); err != nil {
					failed = append(failed, fmt.Errorf("renaming %s back to %s: %w", m.oldName, c.name, err))
				}
			}
			if m.wasRunning && (old.State == nil || !old.State.Running) {
				if err := c.cli.ContainerStart(rctx, m.old, ctypes.StartOptions{}); err != nil {
					failed = append(failed, fmt.Errorf("starting the old container again: %w", err))
				}
			}
		}
	}
	if len(failed) > 0 {
		return errs.Hinted(fmt.Errorf("%w; putting the old container back failed too: %w", cause, errors.Join(failed...)),
			fmt.Sprintf("Check with: docker ps -a --filter name=%s (the old one may be %s)", c.name, m.oldName))
	}
	return cause
}

func createdSince(created string, t time.Time) bool {
	at, err := time.Parse(time.RFC3339Nano, created)
	return err == nil && !at.Before(t.Add(-5*time.Second))
}

// Wait waits for the new container to be healthy: its HEALTHCHECK says
// healthy, or, without one, it has run for the grace period without
// exiting or restarting. Then the old one is removed (with any an earlier,
// interrupted move left stopped). A new one that exits, restarts, is
// unhealthy or is not up within the timeout is removed and the old one
// put back: the error wraps deploy.ErrUnhealthy, the state is what runs
// then. Ctrl-C ends the wait with the new one running.
func (c *Container) Wait(ctx context.Context, p *deploy.Plan) (deploy.State, error) {
	m, ok := p.Own.(*move)
	if !ok || m.new == "" || c.cli == nil {
		return c.Read(ctx)
	}
	ins, now, err := c.waitUp(ctx, m, p)
	if err != nil {
		return now, err
	}
	return c.finish(ctx, m, ins)
}

// waitUp is Wait less the old container's removal: it returns the new
// container once it is up, leaving the old one stopped, so that a compose
// service can still put every replica back when a later one fails. On
// failure it returns what runs then, as Wait does.
func (c *Container) waitUp(ctx context.Context, m *move, p *deploy.Plan) (ctypes.InspectResponse, deploy.State, error) {
	deadline := time.Now().Add(c.o.timeout)
	last := "not started yet"
	for {
		ins, err := c.cli.ContainerInspect(ctx, m.new)
		switch {
		case ctx.Err() != nil:
			return ins, c.readQuietly(ctx), ctx.Err()
		case cerrdefs.IsNotFound(err):
			now, err := c.fail(ctx, m, p, "the new container was removed while it came up")
			return ins, now, err
		case err != nil:
			last = err.Error() // the engine may answer again before the deadline
		default:
			up, down, why := c.health(m, ins)
			if up {
				return ins, deploy.State{}, nil
			}
			if down {
				now, err := c.fail(ctx, m, p, why)
				return ins, now, err
			}
			last = why
		}
		if time.Now().After(deadline) {
			now, err := c.fail(ctx, m, p, fmt.Sprintf("not healthy within %s (%s)", c.o.timeout, last))
			return ctypes.InspectResponse{}, now, err
		}
		t := time.NewTimer(c.o.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ins, c.readQuietly(ctx), ctx.Err()
		case <-t.C:
		}
	}
}

// health says whether ins is up, or down for good, or neither yet, and
// why in words.
func (c *Container) health(m *move, ins ctypes.InspectResponse) (up, down bool, why string) {
	s := ins.State
	switch {
	case s == nil:
		return false, false, "no state yet"
	case ins.RestartCount > 0 || s.Restarting:
		// Once restarted, the state no longer has the exit code.
		if s.Running || s.ExitCode == 0 {
			return false, true, fmt.Sprintf("it exited and its restart policy restarted it (%d restarts)", ins.RestartCount)
		}
		return false, true, fmt.Sprintf("it exited with code %d and its restart policy restarts it (%d restarts)", s.ExitCode, ins.RestartCount)
	case s.Status == "exited" || s.Status == "dead":
		return false, true, exited(s)
	case s.Health != nil:
		switch s.Health.Status {
		case "healthy":
			return true, false, ""
		case "unhealthy":
			return false, true, "its HEALTHCHECK says unhealthy" + lastCheck(s.Health)
		}
		return false, false, "its HEALTHCHECK says " + s.Health.Status
	case s.Running:
		if m.seenUp.IsZero() {
			m.seenUp = time.Now()
		}
		if time.Since(m.seenUp) >= c.o.grace {
			return true, false, ""
		}
		return false, false, "running for less than " + c.o.grace.String()
	}
	return false, false, s.Status
}

func exited(s *ctypes.State) string {
	msg := fmt.Sprintf("it exited with code %d", s.ExitCode)
	if s.Error != "" {
		msg += ": " + s.Error
	}
	return msg
}

func lastCheck(h *ctypes.Health) string {
	if len(h.Log) == 0 {
		return ""
	}
	out := strings.TrimSpace(h.Log[len(h.Log)-1].Output)
	if out == "" {
		return ""
	}
	if i := strings.IndexByte(out, '\n'); i >= 0 {
		out = out[:i]
	}
	return " (" + out + ")"
}

// finish removes the old container, now that the new one is up, and
// what earlier interrupted moves left stopped.
func (c *Container) finish(ctx context.Context, m *move, ins ctypes.InspectResponse) (deploy.State, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if err := c.cli.ContainerRemove(cctx, m.old, ctypes.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		fmt.Fprintf(c.o.log, "lkg: warning: removing the old container %s: %v\n", m.oldName, err)
	}
	c.removeLeftovers(cctx)
	return c.state(cctx, ins)
}

// leftover is the name of an old container lkg kept during a move.
var leftover = regexp.MustCompile(`-lkg-old-[0-9a-f]{12}$`)

// removeLeftovers removes the stopped NAME-lkg-old-<id> containers that
// moves interrupted after the new container started left behind.
func (c *Container) removeLeftovers(ctx context.Context) {
	f := filters.NewArgs(filters.Arg("name", "^/"+regexp.QuoteMeta(c.name)+"-lkg-old-"))
	list, err := c.cli.ContainerList(ctx, ctypes.ListOptions{All: true, Filters: f})
	if err != nil {
		return
	}
	for _, s := range list {
		if s.State == "running" || s.State == "restarting" || len(s.Names) != 1 || strings.TrimPrefix(s.Names[0], "/") != c.name+"-lkg-old-"+shortID(s.ID) {
			continue
		}
		if err := c.cli.ContainerRemove(ctx, s.ID, ctypes.RemoveOptions{}); err == nil {
			fmt.Fprintf(c.o.log, "lkg: removed %s, left stopped by an earlier interrupted move\n", s.Names[0][1:])
		}
	}
}

// fail puts the old container back after the new one did not come up.
func (c *Container) fail(ctx context.Context, m *move, p *deploy.Plan, why string) (deploy.State, error) {
	err := c.rollback(ctx, m, p.To.Image, fmt.Errorf("the new %s did not come up: %s: %w", c, why, deploy.ErrUnhealthy))
	return c.readQuietly(ctx), err
}

// readQuietly is what the container runs, read with a context of its
// own; the zero State when that cannot be said.
func (c *Container) readQuietly(ctx context.Context) deploy.State {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s, _ := c.Read(rctx)
	return s
}

// engineErr is err, from the engine, for what: an engine that does not
// answer says so in one line.
func (e *engine) engineErr(what string, err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%s: %w at %s", what, artifacts.ErrEngineUnavailable, e.eng.Host())
	}
	return fmt.Errorf("%s: %w", what, err)
}
