package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Progress is where a rollout stands.
type Progress struct {
	Desired   int32 // pods the workload wants
	Updated   int32 // pods of the new template
	Ready     int32 // pods Ready, old and new
	Available int32 // pods available (Ready for minReadySeconds)
	Old       int32 // pods of an older template still there
	// Observed says the controller has seen the workload's current
	// template; until then the counts are of the one before.
	Observed bool
	// Message is kubectl rollout status's line for the same state.
	Message string
	// Unreachable is set while the API server does not answer: the
	// wait goes on, and says so.
	Unreachable error
}

// String is the progress line for a terminal.
func (p Progress) String() string {
	if p.Unreachable != nil {
		return "API server not answering, retrying: " + p.Unreachable.Error()
	}
	if !p.Observed {
		return p.Message
	}
	return fmt.Sprintf("%d/%d updated, %d ready, %d old", p.Updated, p.Desired, p.Ready, p.Old)
}

// rollout is kubectl rollout status's rule for obj (kubectl's
// polymorphichelpers status viewers, for the same fields): where it
// stands, whether it is complete, and an error when it cannot complete.
func rollout(obj runtime.Object) (Progress, bool, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return deploymentRollout(o)
	case *appsv1.StatefulSet:
		return statefulSetRollout(o)
	case *appsv1.DaemonSet:
		return daemonSetRollout(o)
	}
	return Progress{}, false, fmt.Errorf("kube: no rollout rule for %T", obj)
}

// ProgressDeadlineExceeded is the reason of a Deployment's Progressing
// condition once its progressDeadlineSeconds passed without progress.
const ProgressDeadlineExceeded = "ProgressDeadlineExceeded"

func deploymentRollout(d *appsv1.Deployment) (Progress, bool, error) {
	s := d.Status
	want := s.Replicas
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	p := Progress{Desired: want, Updated: s.UpdatedReplicas, Ready: s.ReadyReplicas, Available: s.AvailableReplicas, Old: max(0, s.Replicas-s.UpdatedReplicas)}
	if d.Generation > s.ObservedGeneration {
		p.Message = "waiting for the deployment controller to observe the new template"
		return p, false, nil
	}
	p.Observed = true
	for _, c := range s.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == ProgressDeadlineExceeded {
			return p, false, fmt.Errorf("%w: deployment %q exceeded its progress deadline (%ds): %s", ErrRolloutFailed, d.Name, deadline(d), strings.TrimSuffix(c.Message, "."))
		}
	}
	switch {
	case s.UpdatedReplicas < want:
		p.Message = fmt.Sprintf("%d out of %d new replicas have been updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		p.Message = fmt.Sprintf("%d old replicas are pending termination", s.Replicas-s.UpdatedReplicas)
	case s.AvailableReplicas < s.UpdatedReplicas:
		p.Message = fmt.Sprintf("%d of %d updated replicas are available", s.AvailableReplicas, s.UpdatedReplicas)
	default:
		p.Message = fmt.Sprintf("deployment %q successfully rolled out", d.Name)
		return p, true, nil
	}
	return p, false, nil
}

func deadline(d *appsv1.Deployment) int32 {
	if d.Spec.ProgressDeadlineSeconds != nil {
		return *d.Spec.ProgressDeadlineSeconds
	}
	return 600
}

func statefulSetRollout(s *appsv1.StatefulSet) (Progress, bool, error) {
	st := s.Status
	want := st.Replicas
	if s.Spec.Replicas != nil {
		want = *s.Spec.Replicas
	}
	p := Progress{Desired: want, Updated: st.UpdatedReplicas, Ready: st.ReadyReplicas, Available: st.AvailableReplicas, Old: max(0, st.Replicas-st.UpdatedReplicas)}
	if s.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		return p, false, fmt.Errorf("%w: statefulset %q updates %s: its pods take the new image only when deleted, so there is no rollout to wait for. Set spec.updateStrategy.type: RollingUpdate", ErrRolloutFailed, s.Name, s.Spec.UpdateStrategy.Type)
	}
	if st.ObservedGeneration == 0 || s.Generation > st.ObservedGeneration {
		p.Message = "waiting for the statefulset controller to observe the new template"
		return p, false, nil
	}
	p.Observed = true
	if st.ReadyReplicas < want {
		p.Message = fmt.Sprintf("waiting for %d pods to be ready", want-st.ReadyReplicas)
		return p, false, nil
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if ru.Partition != nil && st.UpdatedReplicas < want-*ru.Partition {
			p.Message = fmt.Sprintf("waiting for partitioned roll out to finish: %d out of %d new pods have been updated", st.UpdatedReplicas, want-*ru.Partition)
			return p, false, nil
		}
		p.Message = fmt.Sprintf("partitioned roll out complete: %d new pods have been updated", st.UpdatedReplicas)
		return p, true, nil
	}
	if st.UpdateRevision != st.CurrentRevision {
		p.Message = fmt.Sprintf("waiting for statefulset rolling update to complete %d pods at revision %s", st.UpdatedReplicas, st.UpdateRevision)
		return p, false, nil
	}
	p.Message = fmt.Sprintf("statefulset rolling update complete %d pods at revision %s", st.CurrentReplicas, st.CurrentRevision)
	return p, true, nil
}

func daemonSetRollout(d *appsv1.DaemonSet) (Progress, bool, error) {
	st := d.Status
	p := Progress{Desired: st.DesiredNumberScheduled, Updated: st.UpdatedNumberScheduled, Ready: st.NumberReady, Available: st.NumberAvailable,
		Old: max(0, st.CurrentNumberScheduled-st.UpdatedNumberScheduled)}
	if d.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		return p, false, fmt.Errorf("%w: daemonset %q updates %s: its pods take the new image only when deleted, so there is no rollout to wait for. Set spec.updateStrategy.type: RollingUpdate", ErrRolloutFailed, d.Name, d.Spec.UpdateStrategy.Type)
	}
	if d.Generation > st.ObservedGeneration {
		p.Message = "waiting for the daemon set controller to observe the new template"
		return p, false, nil
	}
	p.Observed = true
	switch {
	case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		p.Message = fmt.Sprintf("%d out of %d new pods have been updated", st.UpdatedNumberScheduled, st.DesiredNumberScheduled)
	case st.NumberAvailable < st.DesiredNumberScheduled:
		p.Message = fmt.Sprintf("%d of %d updated pods are available", st.NumberAvailable, st.DesiredNumberScheduled)
	default:
		p.Message = fmt.Sprintf("daemon set %q successfully rolled out", d.Name)
		return p, true, nil
	}
	return p, false, nil
}

// Wait follows the rollout until kubectl's rule says it is complete, for
// at most timeout. report, when not nil, is called with each new state.
// A Deployment past its progress deadline, or a rollout still going at
// the timeout, is ErrRolloutFailed with where it stood and why the pods
// are not ready. While the API server does not answer, Wait keeps trying
// until the timeout. Cancelling ctx (Ctrl-C) returns ctx's error.
func (w *Workload) Wait(ctx context.Context, timeout time.Duration, report func(Progress)) (Progress, error) {
	wctx, cancel := context.WithTimeoutCause(ctx, timeout, errWaitTimeout)
	defer cancel()
	var last Progress
	show := func(p Progress) {
		if report != nil && p.String() != last.String() {
			report(p)
		}
		last = p
	}
	check := func(obj runtime.Object) (bool, error) {
		p, done, err := rollout(obj)
		show(p)
		return done, err
	}
	backoff := 100 * time.Millisecond
	for {
		v, err := w.get(wctx)
		if err == nil {
			backoff = 100 * time.Millisecond
			var done bool
			if done, err = check(v.obj); done || err != nil {
				return last, w.failed(ctx, err)
			}
			err = w.follow(wctx, v.meta.ResourceVersion, check)
			switch {
			case err == nil:
				return last, nil
			case wctx.Err() != nil:
			case !errors.Is(err, errWatchEnded):
				return last, w.failed(ctx, err)
			default:
				continue
			}
		}
		if wctx.Err() != nil {
			break
		}
		if !errors.Is(err, ErrUnreachable) {
			return last, err
		}
		show(Progress{Unreachable: err})
		select {
		case <-wctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	if ctx.Err() != nil {
		return last, fmt.Errorf("%s: waiting for the rollout: %w", w.Ref, ctx.Err())
	}
	why := last.Message
	if last.Unreachable != nil {
		why = last.Unreachable.Error()
	}
	return last, w.failed(ctx, fmt.Errorf("%w: %s not rolled out after %s: %s", ErrRolloutFailed, w.Ref, timeout, why))
}

var (
	errWatchEnded  = errors.New("watch ended")
	errWaitTimeout = errors.New("rollout timeout")
)

// follow watches the workload from resourceVersion, checking each change.
// It returns nil when check says done, check's error, the context's, or
// errWatchEnded when the watch closed (the server restarted, the
// resourceVersion is too old): then the caller reads and watches again.
func (w *Workload) follow(ctx context.Context, resourceVersion string, check func(runtime.Object) (bool, error)) error {
	wi, err := w.watch(ctx, resourceVersion)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errWatchEnded
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return errWatchEnded
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				done, err := check(ev.Object)
				if done || err != nil {
					return err
				}
			case watch.Deleted:
				return fmt.Errorf("%w: %s was deleted during the rollout", ErrRolloutFailed, w.Ref)
			case watch.Error:
				// An expired resourceVersion, a server going away: read
				// the workload again and watch from there.
				return errWatchEnded
			}
		}
	}
}

// failed adds to a failed rollout's error why its pods are not ready.
func (w *Workload) failed(ctx context.Context, err error) error {
	if err == nil || !errors.Is(err, ErrRolloutFailed) {
		return err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s, rerr := w.Read(rctx)
	if rerr != nil {
		return err
	}
	if why := s.Problems(); len(why) > 0 {
		return fmt.Errorf("%w; %s", err, strings.Join(why, "; "))
	}
	return err
}
