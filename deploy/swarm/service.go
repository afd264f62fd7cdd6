package swarm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/imageref"
	"github.com/lkg-dev/lkg/internal/text"
)

// Scheme is how --to names a Swarm service: "swarm://SERVICE".
const Scheme = "swarm://"

// ErrNotManager: the engine at DOCKER_HOST is not a Swarm manager (no
// swarm, or a worker), so it cannot say or change what a service runs.
var ErrNotManager = errors.New("this engine is not a swarm manager; run on a manager or 'docker swarm init'")

// ErrUpdating: the engine is still rolling out an update of the service
// (or rolling one back); lkg does not start another over it.
var ErrUpdating = errors.New("an update is in progress")

// ParseTarget is the service name in "swarm://SERVICE".
func ParseTarget(to string) (string, error) {
	name, ok := strings.CutPrefix(to, Scheme)
	if !ok {
		return "", fmt.Errorf("%q is not %sSERVICE", to, Scheme)
	}
	// Swarm's own rule for service names: letters, digits, '-', '_' and
	// '.', starting with a letter or digit, at most 63 characters.
	valid := name != "" && len(name) <= 63 && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == "" &&
		!strings.ContainsAny(name[:1], "-_.")
	if !valid {
		return "", fmt.Errorf("%q: want %sSERVICE, where SERVICE is a Swarm service's name", to, Scheme)
	}
	return name, nil
}

// Service is a Swarm service as a deploy target.
type Service struct {
	name string
	o    options

	mu  sync.Mutex
	eng *artifacts.Engine // connected on first use

	// step is called during Wait, with "updating" once the engine shows
	// the update rolling out: tests interrupt there.
	step func(ctx context.Context, at string)
}

var _ deploy.Target = (*Service)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	engine  []artifacts.EngineOption
	timeout time.Duration
	poll    time.Duration
}

// WithEngine sets how the engine client is built. The default is
// artifacts.NewEngine's: DOCKER_HOST, else the default socket.
func WithEngine(opts ...artifacts.EngineOption) Option {
	return func(o *options) { o.engine = opts }
}

// WithTimeout bounds how long Wait waits for the update to complete and
// the tasks to run the build; past it the update is rolled back. The
// default is 5 minutes.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithPoll sets how often Wait reads the service. The default is 200ms.
func WithPoll(d time.Duration) Option {
	return func(o *options) { o.poll = d }
}

// New is the service named name, on the engine at DOCKER_HOST. Nothing
// connects until the first Read.
func New(name string, opts ...Option) *Service {
	o := options{timeout: 5 * time.Minute, poll: 200 * time.Millisecond}
	for _, opt := range opts {
		opt(&o)
	}
	return &Service{name: name, o: o, step: func(context.Context, string) {}}
}

// String is "swarm://SERVICE".
func (s *Service) String() string { return Scheme + s.name }

// Close releases the engine connection.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng == nil {
		return nil
	}
	err := s.eng.Close()
	s.eng = nil
	return err
}

func (s *Service) client(ctx context.Context) (*client.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng == nil {
		e, err := artifacts.NewEngine(ctx, s.o.engine...)
		if err != nil {
			return nil, err
		}
		s.eng = e
	}
	return s.eng.Client(), nil
}

// detail is State.Detail: the spec version the state was read at, the
// compare-and-swap's old value.
type detail struct {
	Version uint64 `json:"version"`
}

// Read is the image the service's spec names and the digest it runs, at
// the spec's version.
func (s *Service) Read(ctx context.Context) (deploy.State, error) {
	cli, err := s.client(ctx)
	if err != nil {
		return deploy.State{}, err
	}
	svc, err := s.inspect(ctx, cli)
	if err != nil {
		return deploy.State{}, err
	}
	return s.state(ctx, cli, svc)
}

// inspect reads the service, saying in one line why it cannot.
func (s *Service) inspect(ctx context.Context, cli *client.Client) (swarm.Service, error) {
	svc, _, err := cli.ServiceInspectWithRaw(ctx, s.name, swarm.ServiceInspectOptions{})
	if err == nil && svc.Spec.Name != s.name && svc.ID != s.name {
		// The engine also takes an ID prefix: swarm://api must not move
		// the service whose ID happens to start with "api".
		return svc, s.noSuchService(ctx, cli)
	}
	if err == nil {
		if svc.Spec.TaskTemplate.ContainerSpec == nil {
			return svc, fmt.Errorf("%s runs a plugin, not a container image: lkg cannot deploy to it", s)
		}
		return svc, nil
	}
	if ctx.Err() != nil {
		return svc, ctx.Err()
	}
	if client.IsErrConnectionFailed(err) {
		return svc, fmt.Errorf("reading %s: %w at %s: start dockerd or set DOCKER_HOST to a running engine", s, artifacts.ErrEngineUnavailable, cli.DaemonHost())
	}
	// The engine answers "not a manager" and "no such service" alike
	// with an error status; which one it is, its own state says.
	if info, ierr := cli.Info(ctx); ierr == nil && !info.Swarm.ControlAvailable {
		return svc, ErrNotManager
	}
	if cerrdefs.IsNotFound(err) {
		return svc, s.noSuchService(ctx, cli)
	}
	return svc, fmt.Errorf("reading %s: %w", s, err)
}

// noSuchService is ErrNoTarget, exit 2, naming the service meant, or
// those there are.
func (s *Service) noSuchService(ctx context.Context, cli *client.Client) error {
	err := fmt.Errorf("%s: no such service on this swarm: %w", s, deploy.ErrNoTarget)
	list, lerr := cli.ServiceList(ctx, swarm.ServiceListOptions{})
	if lerr != nil {
		return errs.Coded(2, err, "List the services with 'docker service ls'")
	}
	names := make([]string, len(list))
	for i, l := range list {
		names[i] = l.Spec.Name
	}
	return deploy.NoSuch(err, Scheme, s.name, names, "The swarm runs no service", "The swarm runs:")
}

// state is what svc runs: its spec's image, and the digest pinned there
// (what `docker service create` writes), else the one its running tasks'
// images were pulled at.
func (s *Service) state(ctx context.Context, cli *client.Client, svc swarm.Service) (deploy.State, error) {
	d, err := json.Marshal(detail{Version: svc.Version.Index})
	if err != nil {
		return deploy.State{}, err
	}
	image := svc.Spec.TaskTemplate.ContainerSpec.Image
	st := deploy.State{Image: image, Detail: d}
	ref, err := imageref.Parse(image)
	if err != nil {
		return st, nil // an image lkg cannot name by digest: it runs no registry build
	}
	if st.Digest = ref.Digest(); st.Digest != "" {
		return st, nil
	}
	st.Digest, err = s.runningDigest(ctx, cli, svc.ID, ref)
	return st, err
}

// runningDigest is the registry digest of the image the service's running
// tasks run, as this engine pulled it ("" when none of its tasks runs on
// this node, or the image has no digest in ref's repository).
func (s *Service) runningDigest(ctx context.Context, cli *client.Client, id string, ref imageref.Ref) (string, error) {
	tasks, err := s.tasks(ctx, cli, id)
	if err != nil {
		return "", err
	}
	for _, t := range tasks {
		if t.Status.State != swarm.TaskStateRunning || t.Status.ContainerStatus == nil {
			continue
		}
		c, err := cli.ContainerInspect(ctx, t.Status.ContainerStatus.ContainerID)
		if err != nil {
			continue // on another node, or gone meanwhile
		}
		img, err := cli.ImageInspect(ctx, c.Image)
		if err != nil {
			continue
		}
		for _, rd := range img.RepoDigests {
			if r, err := imageref.Parse(rd); err == nil && r.Repo() == ref.Repo() {
				return r.Digest(), nil
			}
		}
	}
	return "", nil
}

// tasks are the service's tasks meant to be running.
func (s *Service) tasks(ctx context.Context, cli *client.Client, id string) ([]swarm.Task, error) {
	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id), filters.Arg("desired-state", "running"))})
	if err != nil {
		return nil, fmt.Errorf("listing the tasks of %s: %w", s, err)
	}
	return tasks, nil
}

// plan is the Plan's own part: the service as Prepare read it, the image
// its spec will name, and when its last update started, so that Wait
// reads only the status of the update Apply starts.
type plan struct {
	svc   swarm.Service
	image string
	since *time.Time
}

// Prepare plans the update of the service's spec, as read in cur, to b by
// digest. A job, or a service whose spec changed since cur was read, is
// refused.
func (s *Service) Prepare(ctx context.Context, cur deploy.State, b deploy.Build) (*deploy.Plan, error) {
	from, err := version(cur)
	if err != nil {
		return nil, err
	}
	cli, err := s.client(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := s.inspect(ctx, cli)
	if err != nil {
		return nil, err
	}
	if m := svc.Spec.Mode; m.ReplicatedJob != nil || m.GlobalJob != nil {
		return nil, fmt.Errorf("%s is a job, whose tasks run to completion: lkg deploys services that keep running", s)
	}
	if st := svc.UpdateStatus; st != nil && (st.State == swarm.UpdateStateUpdating || st.State == swarm.UpdateStateRollbackStarted) {
		// A second update over one the engine is still rolling out makes
		// their tasks overlap (on the host network, both on one port):
		// wait for the engine instead.
		return nil, errs.Hinted(fmt.Errorf("%s is in the middle of an update (%s): %w", s, st.State, ErrUpdating),
			fmt.Sprintf("Nothing was changed. Wait until 'docker service ps %s' shows it settled, then run lkg again", s.name))
	}
	if svc.Version.Index != from {
		return nil, fmt.Errorf("%s was updated since it was read (spec version %d, now %d): %w", s, from, svc.Version.Index, deploy.ErrTargetMoved)
	}
	how := fmt.Sprintf("one service update at spec version %d; %s", from, rollout(svc.Spec.UpdateConfig))
	if b.Local && b.Digest == "" {
		return &deploy.Plan{From: cur, To: b, How: "pushed to a registry first, then " + how}, nil
	}
	image, err := s.image(cur, b)
	if err != nil {
		return nil, err
	}
	ref, _ := imageref.Parse(image)
	var since *time.Time
	if svc.UpdateStatus != nil {
		since = svc.UpdateStatus.StartedAt
	}
	return &deploy.Plan{
		From: cur,
		To:   deploy.Build{Image: image, Digest: ref.Digest(), Restores: b.Restores},
		How:  how,
		Own:  &plan{svc: svc, image: image, since: since},
	}, nil
}

// image is what the spec will name for b: "host/repo@sha256:...", or for
// an undo the image the spec named before, as it named it (tag and
// digest).
func (s *Service) image(cur deploy.State, b deploy.Build) (string, error) {
	if r := b.Restores; r != nil && b.Digest != "" {
		if ref, err := imageref.Parse(r.Image); err == nil && ref.Digest() == b.Digest {
			return r.Image, nil
		}
	}
	src := b.Image
	if src == "" {
		src = cur.Image
	}
	ref, err := imageref.Parse(src)
	if err != nil {
		return "", fmt.Errorf("deploying to %s: %w", s, err)
	}
	dg := ref.Digest()
	if dg == "" {
		dg = b.Digest
	}
	if dg == "" || ref.Host() == "" && b.Local {
		return "", fmt.Errorf("deploying %s to %s: a service's nodes pull its image, so it must be a registry build named by digest", src, s)
	}
	return ref.At(dg), nil
}

// rollout says how the engine rolls the update out, as Apply sets it.
func rollout(uc *swarm.UpdateConfig) string {
	c := updateConfig(uc)
	n := "all tasks at once"
	if c.Parallelism > 0 {
		n = fmt.Sprintf("%d task(s) at a time", c.Parallelism)
	}
	order := c.Order
	if order == "" {
		order = swarm.UpdateOrderStopFirst
	}
	return fmt.Sprintf("rolling, %s, %s; a failed update is rolled back", n, order)
}

// updateConfig is the service's update configuration with a failure
// action of rollback when it names none. (The engine stores an action left
// unset as pause, and a service created by `docker service create` names
// pause: that choice is kept, and Wait rolls a paused update back itself.)
func updateConfig(uc *swarm.UpdateConfig) swarm.UpdateConfig {
	c := swarm.UpdateConfig{Parallelism: 1} // the engine's default when there is none
	if uc != nil {
		c = *uc
	}
	if c.FailureAction == "" {
		c.FailureAction = swarm.UpdateFailureActionRollback
	}
	return c
}

func version(cur deploy.State) (uint64, error) {
	var d detail
	if err := json.Unmarshal(cur.Detail, &d); err != nil || d.Version == 0 {
		return 0, fmt.Errorf("the service state has no spec version (detail %q)", cur.Detail)
	}
	return d.Version, nil
}

// Apply updates the service's spec to name the build, at the version
// read: the engine refuses the update when the spec changed since
// (deploy.ErrTargetMoved).
func (s *Service) Apply(ctx context.Context, p *deploy.Plan) error {
	own, ok := p.Own.(*plan)
	if !ok {
		return fmt.Errorf("updating %s: the plan is not a service update", s)
	}
	from, err := version(p.From)
	if err != nil {
		return err
	}
	cli, err := s.client(ctx)
	if err != nil {
		return err
	}
	spec := own.svc.Spec
	cs := *spec.TaskTemplate.ContainerSpec
	cs.Image = own.image
	spec.TaskTemplate.ContainerSpec = &cs
	uc := updateConfig(spec.UpdateConfig)
	spec.UpdateConfig = &uc
	if _, err := cli.ServiceUpdate(ctx, own.svc.ID, swarm.Version{Index: from}, spec, swarm.ServiceUpdateOptions{}); err != nil {
		if outOfSequence(err) {
			return fmt.Errorf("updating %s at spec version %d: %w", s, from, deploy.ErrTargetMoved)
		}
		return fmt.Errorf("updating %s: %w", s, err)
	}
	return nil
}

// outOfSequence says the engine refused an update for its version: the
// spec changed since it was read. The engine gives it no status of its
// own (swarmkit's "update out of sequence" comes back as a 500), so its
// text is all there is to go by.
func outOfSequence(err error) bool {
	return strings.Contains(err.Error(), "update out of sequence")
}

// Wait watches the update Apply started until the engine says it
// completed and every task meant to run runs the build. An update the
// engine rolled back, or paused (then lkg rolls it back), ends with an
// error wrapping deploy.ErrUnhealthy and the state the service is back
// at; another writer's update of the spec meanwhile, with
// deploy.ErrOverwritten.
func (s *Service) Wait(ctx context.Context, p *deploy.Plan) (deploy.State, error) {
	own, ok := p.Own.(*plan)
	if !ok {
		return deploy.State{}, fmt.Errorf("waiting for %s: the plan is not a service update", s)
	}
	cli, err := s.client(ctx)
	if err != nil {
		return deploy.State{}, err
	}
	deadline := time.Now().Add(s.o.timeout)
	var cause string // why the update is being rolled back, once it is
	updating := false
	tick := time.NewTicker(s.o.poll)
	defer tick.Stop()
	for {
		svc, err := s.inspect(ctx, cli)
		if err != nil {
			return deploy.State{}, err
		}
		st := svc.UpdateStatus
		fresh := st != nil && st.StartedAt != nil && (own.since == nil || st.StartedAt.After(*own.since))
		var state swarm.UpdateState
		if fresh {
			state = st.State
		}
		if state == swarm.UpdateStateUpdating && !updating {
			updating = true
			s.step(ctx, "updating")
		}
		rolling := cause != "" || strings.HasPrefix(string(state), "rollback_")
		if state == swarm.UpdateStateRollbackStarted && cause == "" {
			cause = st.Message // why the engine rolls back; its last word is only "rollback completed"
		}
		switch {
		case !rolling && svc.Spec.TaskTemplate.ContainerSpec.Image != own.image:
			now, _ := s.state(ctx, cli, svc)
			return now, fmt.Errorf("%s names %s now, not %s: %w", s, now.Image, own.image, deploy.ErrOverwritten)
		case state == swarm.UpdateStateCompleted:
			done, err := s.runs(ctx, cli, svc, p.To.Digest)
			if err != nil {
				return deploy.State{}, err
			}
			if done {
				return deploy.State{Image: own.image, Digest: p.To.Digest, Detail: p.From.Detail}, nil
			}
		case state == swarm.UpdateStateRollbackCompleted || state == swarm.UpdateStateRollbackPaused:
			now, _ := s.state(ctx, cli, svc)
			if back, err := s.runs(ctx, cli, svc, now.Digest); err == nil && !back && state == swarm.UpdateStateRollbackCompleted && time.Now().Before(deadline) {
				// The engine says the rollback is done once it started
				// the task; what runs is said when it runs.
				break
			}
			why := cmp.Or(cause, st.Message)
			if why2 := s.taskError(ctx, cli, svc.ID, own.image); why2 != "" {
				why += " (" + why2 + ")"
			}
			if state == swarm.UpdateStateRollbackPaused {
				return now, fmt.Errorf("%s: the update failed: %s; its rollback paused too (%s): %w", s, why, st.Message, deploy.ErrUnhealthy)
			}
			return now, fmt.Errorf("%s: the update failed and was rolled back: %s: %w", s, why, deploy.ErrUnhealthy)
		case state == swarm.UpdateStatePaused && cause == "":
			// The service's own failure action is pause: the engine
			// stopped half-way; lkg rolls it back to the previous spec.
			cause = "update paused: " + st.Message
			if err := s.rollback(ctx, cli, svc); err != nil {
				return deploy.State{}, err
			}
		}
		if time.Now().After(deadline) && cause == "" {
			cause = fmt.Sprintf("the update did not complete within %s", s.o.timeout)
			if err := s.rollback(ctx, cli, svc); err != nil {
				return deploy.State{}, err
			}
			deadline = time.Now().Add(s.o.timeout)
		} else if time.Now().After(deadline) {
			now, _ := s.state(ctx, cli, svc)
			return now, fmt.Errorf("%s: %s, and its rollback did not complete within %s either: %w", s, cause, s.o.timeout, deploy.ErrUnhealthy)
		}
		select {
		case <-ctx.Done():
			return deploy.State{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// rollback asks the engine to put the service's previous spec back, as
// `docker service rollback` does.
func (s *Service) rollback(ctx context.Context, cli *client.Client, svc swarm.Service) error {
	_, err := cli.ServiceUpdate(ctx, svc.ID, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{Rollback: "previous"})
	if err != nil {
		return fmt.Errorf("rolling %s back to its previous spec: %w", s, err)
	}
	return nil
}

// runs says every task of svc meant to run is running digest, and there
// are as many as the service asks for.
func (s *Service) runs(ctx context.Context, cli *client.Client, svc swarm.Service, digest string) (bool, error) {
	tasks, err := s.tasks(ctx, cli, svc.ID)
	if err != nil {
		return false, err
	}
	for _, t := range tasks {
		if t.Status.State != swarm.TaskStateRunning || taskDigest(t) != digest {
			return false, nil
		}
	}
	want := 1
	if r := svc.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		want = int(*r.Replicas)
	}
	return len(tasks) >= want, nil
}

// taskDigest is the digest the task's spec names its image at.
func taskDigest(t swarm.Task) string {
	if t.Spec.ContainerSpec == nil {
		return ""
	}
	ref, err := imageref.Parse(t.Spec.ContainerSpec.Image)
	if err != nil {
		return ""
	}
	return ref.Digest()
}

// taskError is why a task of image failed, as the engine says it ("task:
// non-zero exit (1)"), or "".
func (s *Service) taskError(ctx context.Context, cli *client.Client, id, image string) string {
	tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
	if err != nil {
		return ""
	}
	for _, t := range tasks {
		if t.Spec.ContainerSpec != nil && t.Spec.ContainerSpec.Image == image && t.Status.Err != "" {
			return text.OneLine(errors.New(t.Status.Err))
		}
	}
	return ""
}
