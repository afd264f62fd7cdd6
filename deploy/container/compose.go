package container

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	ctypes "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/journal"
)

// ComposeScheme prefixes a compose service target:
// "compose://PROJECT/SERVICE".
const ComposeScheme = "compose://"

// The labels docker compose (v1 and v2 alike) puts on the containers it
// manages: a service's containers are found by them, as `docker compose
// ps` finds them.
const (
	projectLabel = composeLabel + "project"
	serviceLabel = composeLabel + "service"
	numberLabel  = composeLabel + "container-number"
	oneoffLabel  = composeLabel + "oneoff"
)

// compose's rules: a project name is lower case (compose normalizes it),
// a service name is what a container name may be.
var (
	validProject = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	validService = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
)

// ParseCompose is the project and service in "compose://PROJECT/SERVICE",
// with one line saying what is wrong.
func ParseCompose(s string) (project, service string, err error) {
	rest, ok := strings.CutPrefix(s, ComposeScheme)
	if !ok {
		return "", "", fmt.Errorf("%q is not %sPROJECT/SERVICE", s, ComposeScheme)
	}
	project, service, ok = strings.Cut(rest, "/")
	switch {
	case !ok || project == "" || service == "" || strings.Contains(service, "/"):
		return "", "", fmt.Errorf("%q: want %sPROJECT/SERVICE", s, ComposeScheme)
	case !validProject.MatchString(project):
		return "", "", fmt.Errorf("%q: a compose project name is lower-case letters, digits, _ and - (starting with a letter or digit)", s)
	case !validService.MatchString(service):
		return "", "", fmt.Errorf("%q: a compose service name is letters, digits and _.- (starting with a letter or digit)", s)
	}
	return project, service, nil
}

// Service is a compose service as a deploy target: every container the
// engine runs for it (compose's project and service labels), each
// recreated as a Container is, one at a time, a container only once the
// one before it is healthy. The old containers are all kept, stopped,
// until every new one is healthy: when one fails, or the move is
// interrupted, every container already moved is put back too, so the
// service never ends half on each build.
type Service struct {
	project, service string
	engine
	o options
	// step is called after each step of Apply, "N/STEP" for the Nth
	// container's (the Container steps, and "healthy"): tests interrupt
	// there.
	step func(ctx context.Context, at string)
}

var (
	_ deploy.Target        = (*Service)(nil)
	_ deploy.LocalRunner   = (*Service)(nil)
	_ deploy.EvidenceTaker = (*Service)(nil)
)

// NewService is the compose service on eng's engine.
func NewService(eng *artifacts.Engine, project, service string, opts ...Option) *Service {
	s := newService(project, service, opts)
	s.eng, s.cli = eng, eng.Client()
	return s
}

// DialService is the compose service on the engine artifacts.NewEngine
// connects to with engine, connected on first use, as Dial's container.
func DialService(project, service string, engine []artifacts.EngineOption, opts ...Option) *Service {
	s := newService(project, service, opts)
	s.dial = func(ctx context.Context) (*artifacts.Engine, error) { return artifacts.NewEngine(ctx, engine...) }
	return s
}

func newService(project, service string, opts []Option) *Service {
	c := newContainer("", opts)
	return &Service{project: project, service: service, o: c.o, step: func(context.Context, string) {}}
}

// String is the target as given: "compose://PROJECT/SERVICE".
func (s *Service) String() string { return ComposeScheme + s.project + "/" + s.service }

// RunsLocal is true, as for a container.
func (s *Service) RunsLocal() bool { return true }

// replicas are the service's containers, in compose's order (container
// number, then name), as Containers of this engine: not the old ones a
// move keeps stopped, nor one-off containers (`docker compose run`).
func (s *Service) replicas(ctx context.Context) ([]*Container, error) {
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	f := filters.NewArgs(filters.Arg("label", projectLabel+"="+s.project), filters.Arg("label", serviceLabel+"="+s.service))
	list, err := s.cli.ContainerList(ctx, ctypes.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, s.engineErr("listing the containers of "+s.String(), err)
	}
	type found struct {
		name   string
		number int
	}
	var all []found
	for _, c := range list {
		if len(c.Names) == 0 || strings.EqualFold(c.Labels[oneoffLabel], "true") {
			continue
		}
		name := strings.TrimPrefix(c.Names[0], "/")
		if leftover.MatchString(name) {
			continue
		}
		n, _ := strconv.Atoi(c.Labels[numberLabel])
		all = append(all, found{name, n})
	}
	if len(all) == 0 {
		return nil, s.noTarget(ctx)
	}
	slices.SortFunc(all, func(a, b found) int { return cmp.Or(cmp.Compare(a.number, b.number), strings.Compare(a.name, b.name)) })
	out := make([]*Container, len(all))
	for i, f := range all {
		out[i] = &Container{name: f.name, engine: s.engine, o: s.o, step: func(context.Context, string) {}}
	}
	return out, nil
}

// noTarget is the error for a service with no containers, exit 2,
// naming the nearest PROJECT/SERVICE the engine runs.
func (s *Service) noTarget(ctx context.Context) error {
	err := fmt.Errorf("no containers of compose service %q in project %q on the engine at %s: %w", s.service, s.project, s.eng.Host(), deploy.ErrNoTarget)
	list, lerr := s.cli.ContainerList(ctx, ctypes.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", projectLabel))})
	if lerr != nil {
		return errs.Coded(2, err, "List them with: docker ps -a --filter label="+projectLabel)
	}
	seen := map[string]bool{}
	var names []string
	for _, c := range list {
		n := c.Labels[projectLabel] + "/" + c.Labels[serviceLabel]
		if c.Labels[serviceLabel] != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return deploy.NoSuch(err, ComposeScheme, s.project+"/"+s.service, names, "The engine runs no compose services", "It has:")
}

// composeDetail is a service's State.Detail: what each container runs,
// in compose's order. The journal keeps it, so that it says which build
// each container ran, also when they did not agree.
type composeDetail struct {
	Containers []replicaState `json:"containers"`
}

type replicaState struct {
	Name   string `json:"name"`
	Image  string `json:"image"`
	Digest string `json:"digest,omitempty"`
}

// Read is what the service's containers run: their digest when they all
// run one build, else Digest "" (and Image "") with Detail saying what
// each runs. Detail lists the containers either way.
func (s *Service) Read(ctx context.Context) (deploy.State, error) {
	cs, err := s.replicas(ctx)
	if err != nil {
		return deploy.State{}, err
	}
	_, st, err := s.read(ctx, cs)
	return st, err
}

// read is what each of cs runs, and the service's state from that.
func (s *Service) read(ctx context.Context, cs []*Container) ([]deploy.State, deploy.State, error) {
	var d composeDetail
	states := make([]deploy.State, len(cs))
	for i, c := range cs {
		st, err := c.Read(ctx)
		if err != nil {
			return nil, deploy.State{}, err
		}
		states[i] = st
		d.Containers = append(d.Containers, replicaState{Name: c.name, Image: st.Image, Digest: st.Digest})
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, deploy.State{}, err
	}
	out := deploy.State{Image: states[0].Image, Digest: states[0].Digest, Detail: raw}
	for _, st := range states[1:] {
		if st.Digest != out.Digest {
			out.Image, out.Digest = "", ""
			break
		}
	}
	return states, out, nil
}

// serviceMove is a Service's own plan: each container's.
type serviceMove struct {
	names    []string // the containers planned for, in order: Apply's compare-and-swap
	replicas []*replica
}

type replica struct {
	c    *Container
	plan *deploy.Plan
	up   ctypes.InspectResponse // the new container, once up
}

// Prepare plans each container's move as Container.Prepare does; the
// ones that run the build already are left alone. It changes nothing.
func (s *Service) Prepare(ctx context.Context, cur deploy.State, b deploy.Build) (*deploy.Plan, error) {
	cs, err := s.replicas(ctx)
	if err != nil {
		return nil, err
	}
	states, now, err := s.read(ctx, cs)
	if err != nil {
		return nil, err
	}
	sm := &serviceMove{}
	p := &deploy.Plan{From: cur, Own: sm}
	var moving, already []string
	how := ""
	restores := restoring(b)
	for i, c := range cs {
		// An undo restores the service's state: each container from the
		// state it ran by digest (or image ID), as the journal had it.
		cb := b
		if r, ok := restores[c.name]; ok {
			cb = deploy.Build{Image: r.Image, Digest: r.Digest, Local: r.Digest == "" && strings.HasPrefix(r.Image, "sha256:"), Restores: b.Restores}
		}
		cp, err := c.Prepare(ctx, states[i], cb)
		if err != nil {
			return nil, err
		}
		sm.names = append(sm.names, c.name)
		sm.replicas = append(sm.replicas, &replica{c: c, plan: cp})
		p.To = cp.To // the same build for each, but in an undo of containers that disagreed
		if b.Digest == "" && !b.Local {
			p.To = b
		}
		if cp.Unchanged() {
			already = append(already, c.name)
			continue
		}
		moving = append(moving, c.name)
		if how == "" {
			how, _, _ = strings.Cut(cp.How, ";")
		}
	}
	if len(moving) == 0 {
		return p, nil
	}
	var w strings.Builder
	if now.Digest == "" {
		w.WriteString("the containers run different builds now: ")
		for i, st := range states {
			if i > 0 {
				w.WriteString(", ")
			}
			fmt.Fprintf(&w, "%s %s", cs[i].name, shortState(st))
		}
		w.WriteString("; ")
	}
	fmt.Fprintf(&w, "%d container(s) in turn (%s), each %s", len(moving), strings.Join(moving, ", "), strings.Replace(how, "the container ", "", 1))
	if len(already) > 0 {
		fmt.Fprintf(&w, "; %s run(s) it already", strings.Join(already, ", "))
	}
	w.WriteString("; the old containers are kept, stopped, until every new one is healthy")
	p.How = w.String()
	return p, nil
}

// restoring is, for an undo, what each container ran in the state it
// puts back, by name; nil for a deploy.
func restoring(b deploy.Build) map[string]replicaState {
	if b.Restores == nil || len(b.Restores.Detail) == 0 {
		return nil
	}
	var d composeDetail
	if json.Unmarshal(b.Restores.Detail, &d) != nil {
		return nil
	}
	m := make(map[string]replicaState, len(d.Containers))
	for _, r := range d.Containers {
		m[r.Name] = r
	}
	return m
}

func shortState(st deploy.State) string {
	if st.Digest == "" {
		return st.Image
	}
	return digest.Short(st.Digest)
}

// Apply moves the containers one at a time: each recreated as
// Container.Apply does, then waited for until it is up (as Container.Wait
// does, the old one kept), before the next is touched. The service must
// still have the containers planned for, each running what it ran then
// (else deploy.ErrTargetMoved, nothing changed). When a container does
// not come up, a step fails, or the move is interrupted, that container
// and every one moved before it are put back on their old containers:
// Apply leaves the service all on the new build or all as it was. It
// returns once every new container is up, Wait removing the old ones.
func (s *Service) Apply(ctx context.Context, p *deploy.Plan) error {
	sm, ok := p.Own.(*serviceMove)
	if !ok {
		return fmt.Errorf("recreating %s: no plan for its containers", s)
	}
	cs, err := s.replicas(ctx)
	if err != nil {
		return err
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	if !slices.Equal(names, sm.names) {
		return fmt.Errorf("%s has containers %s now, not %s as planned: %w", s, strings.Join(names, ", "), strings.Join(sm.names, ", "), deploy.ErrTargetMoved)
	}
	var moved []*replica
	for i, r := range sm.replicas {
		if r.plan.Unchanged() {
			continue
		}
		n := i + 1
		r.c.step = func(ctx context.Context, at string) { s.step(ctx, fmt.Sprintf("%d/%s", n, at)) }
		if err := r.c.Apply(ctx, r.plan); err != nil {
			// It put its own old container back.
			return s.putBack(ctx, moved, err)
		}
		// From here on its old container is only stopped: putting it
		// back twice (after its own failed wait) is harmless.
		moved = append(moved, r)
		m := r.plan.Own.(*move)
		up, _, err := r.c.waitUp(ctx, m, r.plan)
		if err != nil {
			return s.putBack(ctx, moved, err)
		}
		r.up = up
		s.step(ctx, fmt.Sprintf("%d/healthy", n))
		if err := ctx.Err(); err != nil {
			return s.putBack(ctx, moved, err)
		}
	}
	return nil
}

// putBack puts the old container of each of moved back, the last moved
// first, after cause, and returns cause with what was put back, or what
// could not be.
func (s *Service) putBack(ctx context.Context, moved []*replica, cause error) error {
	if len(moved) == 0 {
		return cause
	}
	var names []string
	var failed []error
	for i := len(moved) - 1; i >= 0; i-- {
		r := moved[i]
		m := r.plan.Own.(*move)
		names = append(names, r.c.name)
		if err := r.c.rollback(ctx, m, r.plan.To.Image, cause); err != cause {
			failed = append(failed, err)
		}
	}
	slices.Reverse(names)
	if len(failed) > 0 {
		return errs.Hinted(fmt.Errorf("%w; putting the old containers of %s back failed: %w", cause, s, errors.Join(failed...)),
			fmt.Sprintf("Check with: docker ps -a --filter label=%s=%s", projectLabel, s.project))
	}
	return fmt.Errorf("%w; the old container(s) of %s put back", cause, strings.Join(names, ", "))
}

// Wait removes the old containers, now that every new one is up (Apply
// waited for each), and says what the service runs. Ctrl-C before that
// leaves the old ones stopped, as a Container does: the next move
// removes them.
func (s *Service) Wait(ctx context.Context, p *deploy.Plan) (deploy.State, error) {
	sm, ok := p.Own.(*serviceMove)
	if !ok || s.cli == nil {
		return s.Read(ctx)
	}
	if err := ctx.Err(); err != nil {
		return s.readQuietly(ctx), err
	}
	for _, r := range sm.replicas {
		if m, ok := r.plan.Own.(*move); ok && m.new != "" {
			if _, err := r.c.finish(ctx, m, r.up); err != nil {
				fmt.Fprintf(s.o.log, "lkg: warning: %v\n", err)
			}
		}
	}
	return s.Read(ctx)
}

// readQuietly is what the service runs, read with a context of its own;
// the zero State when that cannot be said.
func (s *Service) readQuietly(ctx context.Context) deploy.State {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	st, _ := s.Read(rctx)
	return st
}

// Evidence is each container's, as Container.Evidence takes it.
func (s *Service) Evidence(ctx context.Context, perUnit int64) (journal.Evidence, error) {
	cs, err := s.replicas(ctx)
	if err != nil {
		return journal.Evidence{}, err
	}
	var ev journal.Evidence
	for _, c := range cs {
		one, err := c.Evidence(ctx, perUnit)
		if err != nil {
			ev.Notes = append(ev.Notes, c.name+": "+err.Error())
			continue
		}
		ev.Units = append(ev.Units, one.Units...)
		ev.Notes = append(ev.Notes, one.Notes...)
	}
	return ev, nil
}
