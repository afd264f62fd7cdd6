package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/errs"
)

// Config is a Kubernetes target's cluster and how it moves.
type Config struct {
	// Options choose the cluster (kubeconfig, context).
	Options
	// Timeout bounds the wait for the rollout (--verify-timeout). The
	// default is 5 minutes; a Deployment's own progress deadline may end
	// it sooner.
	Timeout time.Duration
	// Progress, when set (on a terminal), gets the rollout's progress as
	// one line rewritten in place: updated, ready and old pods.
	Progress io.Writer
	// Cause is the kubernetes.io/change-cause of a deploy ("lkg deploy:
	// incident 7, good tag v1.2.0"); an undo's says "lkg undo" and the
	// image it puts back. The default is "lkg deploy".
	Cause string
}

// Target is a workload as a deploy target (deploy.Target).
type Target struct {
	w   *Workload
	cfg Config

	// step, when set, is called with the move's context at each step:
	// "patching" (the patch is about to be sent), "patched" (the API
	// server took it), "rolling" (each progress report of the wait).
	// Tests interrupt the move there.
	step func(ctx context.Context, at string)
}

var _ deploy.Target = (*Target)(nil)

// NewTarget is the target to names (k8s://NAMESPACE/KIND/NAME[#CONTAINER])
// on the cluster cfg chooses. A target that does not parse is a usage
// error (exit 2) naming the nearest kind. Nothing is asked of the cluster
// yet.
func NewTarget(to string, cfg Config) (*Target, error) {
	ref, err := ParseRef(to)
	if err != nil {
		return nil, err
	}
	w, err := Open(ref, cfg.Options)
	if err != nil {
		return nil, errs.Coded(2, err, "Check KUBECONFIG and the context (--kube-context, or context: in the environment)")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Cause == "" {
		cfg.Cause = "lkg deploy"
	}
	return &Target{w: w, cfg: cfg, step: func(context.Context, string) {}}, nil
}

// Workload is the target's workload, for what the deploy core does not ask
// (status, the GitOps warnings).
func (t *Target) Workload() *Workload { return t.w }

// String is the target as written.
func (t *Target) String() string { return t.w.Ref.String() }

// Detail is what a Kubernetes target's journaled state holds beside the
// image and digest: the container, the workload's generation and
// revision, and what its pods ran, digest by digest.
type Detail struct {
	Container  string `json:"container"`
	Generation int64  `json:"generation"`
	Revision   string `json:"revision,omitempty"`
	// Pods counts the pods by the digest their container runs ("" for a
	// pod whose container has not started).
	Pods map[string]int `json:"pods,omitempty"`
}

// Read says what the workload runs: the container's image in the spec,
// and the digest its pods run. While a rollout is under way (the pods
// disagree) the digest is the spec's when it names one: what the
// workload is set to run; the pods are in the detail.
func (t *Target) Read(ctx context.Context) (deploy.State, error) {
	s, err := t.w.Read(ctx)
	if err != nil {
		return deploy.State{}, err
	}
	return t.state(s), nil
}

func (t *Target) state(s *State) deploy.State {
	d := Detail{Container: s.Container, Generation: s.Generation, Revision: s.Revision, Pods: map[string]int{}}
	for _, p := range s.Pods {
		if !p.Terminating {
			d.Pods[p.Digest]++
		}
	}
	dg := s.Digest()
	if dg == "" {
		dg = digestOf(s.Image)
	}
	detail, _ := json.Marshal(d)
	return deploy.State{Image: s.Image, Digest: dg, Detail: detail}
}

// Warnings are the GitOps tools that will put the workload back after a
// move, each with the command that pauses it (deploy.Options.Warnings).
func (t *Target) Warnings(ctx context.Context) ([]string, error) {
	v, err := t.w.get(ctx)
	if err != nil {
		return nil, err
	}
	return gitopsOwners(t.w.Ref, v.meta), nil
}

// Prepare plans the patch of b's image into the container, against cur.
// A paused Deployment is refused. The patch is sent as a server-side dry
// run, so RBAC, admission webhooks and image policies answer now (during
// lkg check's drill too), not halfway through the move.
func (t *Target) Prepare(ctx context.Context, cur deploy.State, b deploy.Build) (*deploy.Plan, error) {
	if b.Local && b.Digest == "" {
		return &deploy.Plan{From: cur, To: b, How: "pushed to a registry first, then the container's image is patched to its digest"}, nil
	}
	image := b.Image
	switch {
	case b.Restores != nil && b.Restores.Image != "":
		// An undo puts back the image as the spec named it, a tag too.
		image = b.Restores.Image
	case image == "":
		repo, _, _ := strings.Cut(cur.Image, "@")
		image = repo + "@" + b.Digest
	}
	p := &deploy.Plan{
		From: cur,
		To:   deploy.Build{Image: image, Digest: b.Digest, Restores: b.Restores},
		How:  "strategic-merge patch of the container's image, then the rollout followed as kubectl rollout status does",
	}
	if p.Unchanged() && cur.Image == image {
		return p, nil
	}
	if err := t.w.DryRun(ctx, image, t.cause(p)); err != nil {
		return nil, err
	}
	return p, nil
}

func (t *Target) cause(p *deploy.Plan) string {
	if p.To.Restores != nil {
		return "lkg undo: back to " + p.To.Image
	}
	return t.cfg.Cause
}

// Apply patches the container's image, provided the spec still names
// p.From's image: a change by another writer in between fails with
// deploy.ErrTargetMoved, having changed nothing.
func (t *Target) Apply(ctx context.Context, p *deploy.Plan) error {
	t.step(ctx, "patching")
	if _, err := t.w.SetImage(ctx, p.To.Image, p.From.Image, t.cause(p)); err != nil {
		return err
	}
	t.step(ctx, "patched")
	return nil
}

// Wait follows the rollout with kubectl's rule, then reads back what the
// pods run. A rollout that does not complete (its progress deadline, or
// the timeout) is deploy.ErrUnhealthy; a spec that names another image by
// then is deploy.ErrOverwritten.
func (t *Target) Wait(ctx context.Context, p *deploy.Plan) (deploy.State, error) {
	_, werr := t.w.Wait(ctx, t.cfg.Timeout, func(p Progress) {
		t.report(p)
		t.step(ctx, "rolling")
	})
	if t.cfg.Progress != nil {
		fmt.Fprintln(t.cfg.Progress)
	}
	// What runs is read whatever the wait said, with its own deadline:
	// after Ctrl-C the journal must still say what the pods hold.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s, err := t.w.Read(rctx)
	if err != nil {
		if werr != nil {
			return deploy.State{}, werr
		}
		return deploy.State{}, err
	}
	now := t.state(s)
	if werr != nil && ctx.Err() != nil {
		// Ctrl-C mid-rollout: the patch stands and the controller goes
		// on. What the spec and each pod hold goes to the journal.
		return now, fmt.Errorf("%w while rolling out (%s)", deploy.ErrInterrupted, s.Holds())
	}
	if werr != nil {
		return now, werr
	}
	if s.Image != p.To.Image {
		return now, fmt.Errorf("%w: %s names %s now, not %s", deploy.ErrOverwritten, t, s.Image, p.To.Image)
	}
	// An image by digest runs that digest in every pod; an undo to a tag
	// runs whatever the tag resolves to now.
	for _, pod := range s.Pods {
		if digestOf(p.To.Image) != "" && !pod.Terminating && pod.Digest != "" && pod.Digest != digestOf(p.To.Image) {
			return now, fmt.Errorf("%w: %s rolled out, but pod %s runs %s, not %s", ErrRolloutFailed, t, pod.Name, pod.Digest, digestOf(p.To.Image))
		}
	}
	return now, nil
}

func (t *Target) report(p Progress) {
	if t.cfg.Progress != nil {
		fmt.Fprintf(t.cfg.Progress, "\r\033[K%s: %s", t, p)
	}
}
