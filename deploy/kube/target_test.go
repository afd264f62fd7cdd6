package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/journaltest"
	"github.com/lkg-dev/lkg/internal/kubetest"
	"github.com/lkg-dev/lkg/journal"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newTarget(t *testing.T, c *kubetest.Cluster, ns *kubetest.Namespace, target string, cfg Config) *Target {
	t.Helper()
	cfg.Kubeconfig = c.Kubeconfig
	tg, err := NewTarget("k8s://"+ns.Name+"/"+target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// The deploy core moves a workload through this Target: the previous
// image is journaled, the patch carries the change-cause, the rollout is
// followed, and undo puts the journaled image back.
func TestCoreDeployAndUndo(t *testing.T) {
	c := kubetest.Start(t)
	for _, kind := range []string{Deployment, StatefulSet} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			if kind == Deployment {
				ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA})
			} else {
				ns.StatefulSet(t, kubetest.Workload{Name: "shop", Image: imgA})
			}
			var progress bytes.Buffer
			cause := "lkg deploy: incident 7, good tag v1.2.0"
			tg := newTarget(t, c, ns, kind+"/shop", Config{Cause: cause, Progress: &progress})
			rec := &journaltest.Recorder{}
			ctx := context.Background()
			out, err := deploy.DeployDigest(ctx, tg, rec, imgB, deploy.Options{Yes: true})
			if err != nil {
				t.Fatal(err)
			}
			m := out.Move
			if m.Status != journal.StatusDone || m.Previous != digestOf(imgA) || m.PreviousImage != imgA || m.Digest != digestOf(imgB) {
				t.Fatalf("deploy recorded %+v", m)
			}
			if !strings.Contains(progress.String(), "2/2 updated") {
				t.Errorf("progress %q", progress.String())
			}
			var d Detail
			if err := json.Unmarshal(m.PreviousDetail, &d); err != nil || d.Container != "app" || d.Generation < 1 || d.Pods[digestOf(imgA)] != 2 {
				t.Errorf("previous detail %s (%v)", m.PreviousDetail, err)
			}
			if kind == Deployment {
				rs, err := c.Client.AppsV1().ReplicaSets(ns.Name).List(ctx, metav1.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				var causes []string
				for _, r := range rs.Items {
					causes = append(causes, r.Annotations[ChangeCause])
				}
				if !strings.Contains(strings.Join(causes, "|"), cause) {
					t.Errorf("no ReplicaSet carries the change-cause: %q", causes)
				}
			}

			out, err = deploy.Undo(ctx, tg, rec, rec.Events(), deploy.Options{Yes: true})
			if err != nil {
				t.Fatal(err)
			}
			if out.Move.Digest != digestOf(imgA) || out.Move.Status != journal.StatusDone {
				t.Fatalf("undo recorded %+v", out.Move)
			}
			if cur, old := digests(read(t, tg.Workload())); cur[digestOf(imgA)] != 2 || len(old) != 0 {
				t.Errorf("after undo: current %v old %v", cur, old)
			}
		})
	}
}

// A rollout that never becomes ready is journaled failed, and
// --auto-revert puts the previous image back.
func TestCoreAutoRevert(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.NeverReady(imgB, true)
	// The deadline fails B's rollout; the revert's rollout to A must make
	// progress within it too, which one second does not leave a loaded
	// machine's controller (seen in a CI rehearsal).
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA}, func(d *appsv1.Deployment) {
		d.Spec.ProgressDeadlineSeconds = new(int32(5))
	})
	tg := newTarget(t, c, ns, "deployment/shop", Config{})
	rec := &journaltest.Recorder{}
	_, err := deploy.DeployDigest(context.Background(), tg, rec, imgB, deploy.Options{Yes: true, AutoRevert: true})
	if !errors.Is(err, deploy.ErrUnhealthy) || !strings.Contains(err.Error(), "progress deadline") {
		t.Fatalf("deploy of a build that never gets ready: %v", err)
	}
	var statuses []string
	for _, e := range rec.Events() {
		var m journal.Move
		if e.DecodeData(&m) == nil {
			statuses = append(statuses, string(e.Kind)+":"+string(m.Status))
		}
	}
	if got := strings.Join(statuses, " "); !strings.Contains(got, "deploy:failed") || !strings.HasSuffix(got, "undo:done") {
		t.Errorf("journal: %s", got)
	}
	s := read(t, tg.Workload())
	if cur, _ := digests(s); s.Image != imgA || cur[digestOf(imgA)] != 2 {
		t.Errorf("after the revert: image %s pods %v", s.Image, cur)
	}
}

// Ctrl-C while waiting: the journal says what the spec and the pods hold,
// and undo works from there.
func TestCoreInterruptedWait(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.NeverReady(imgB, true)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA})
	tg := newTarget(t, c, ns, "deployment/shop", Config{})
	rec := &journaltest.Recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := deploy.DeployDigest(ctx, tg, rec, imgB, deploy.Options{Yes: true, Step: func(_ context.Context, step string) {
		if step == "moved" {
			time.AfterFunc(300*time.Millisecond, cancel)
		}
	}})
	if !errors.Is(err, deploy.ErrInterrupted) {
		t.Fatalf("interrupted deploy: %v", err)
	}
	last := rec.Events()[len(rec.Events())-1]
	var m journal.Move
	if err := last.DecodeData(&m); err != nil {
		t.Fatal(err)
	}
	if m.Now != digestOf(imgB) || m.Previous != digestOf(imgA) {
		t.Errorf("journaled now %s previous %s", m.Now, m.Previous)
	}
	ns.NeverReady(imgB, false)
	out, err := deploy.Undo(context.Background(), tg, rec, rec.Events(), deploy.Options{Yes: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.Move.Digest != digestOf(imgA) {
		t.Errorf("undo moved to %s", out.Move.Digest)
	}
}

// lkg check's drill plans a dry run through the same Target: a paused
// Deployment is refused there, before the incident.
func TestCoreDryRunRefusal(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA})
	pause(t, c, ns)
	tg := newTarget(t, c, ns, "deployment/shop", Config{})
	_, err := deploy.DeployDigest(context.Background(), tg, &journaltest.Recorder{}, imgB, deploy.Options{DryRun: true})
	if !errors.Is(err, ErrPaused) || !strings.Contains(err.Error(), "rollout resume deployment/shop") {
		t.Fatalf("dry run on a paused deployment: %v", err)
	}
}
