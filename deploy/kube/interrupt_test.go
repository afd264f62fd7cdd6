package kube

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/kubetest"
	"github.com/lkg-dev/lkg/journal"
)

// Ctrl-C at each step of a Kubernetes move, through the deploy core:
// before the patch is sent nothing changes; once the API server took it
// (and while the rollout is under way, new pods never Ready) the move
// stands, the journal says so with what the spec and the pods hold, and
// undo puts the previous image back.
func TestInterrupt(t *testing.T) {
	c := kubetest.Start(t)
	for _, step := range []string{"patching", "patched", "rolling"} {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			ns.NeverReady(imgB, true) // the rollout to B never completes
			ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA, Replicas: 3})
			tg, err := NewTarget("k8s://"+ns.Name+"/deployment/shop", Config{Options: Options{Kubeconfig: c.Kubeconfig}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var once sync.Once
			tg.step = func(_ context.Context, at string) {
				if at == step {
					once.Do(cancel)
				}
			}
			var mu sync.Mutex
			var events []journal.Event
			rec := deploy.RecorderFunc(func(e journal.Event) error {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, e)
				return nil
			})
			_, err = deploy.DeployDigest(ctx, tg, rec, imgB, deploy.Options{Yes: true})
			if !errors.Is(err, deploy.ErrInterrupted) || errs.Code(err) != 130 {
				t.Fatalf("deploy = %v (exit %d), want interrupted, exit 130", err, errs.Code(err))
			}
			var last journal.Move
			if err := events[len(events)-1].DecodeData(&last); err != nil {
				t.Fatal(err)
			}
			spec := read(t, tg.w)
			t.Logf("journaled %s, now %s: %s", last.Status, last.Now, last.Error)
			if step == "patching" {
				if spec.Image != imgA || last.Status != journal.StatusFailed || last.Now != digestOf(imgA) {
					t.Errorf("spec %s, journaled %s at %s; want nothing changed: A, failed at A", spec.Image, last.Status, last.Now)
				}
				return
			}
			if spec.Image != imgB || last.Status != journal.StatusDone || last.Now != digestOf(imgB) || last.Previous != digestOf(imgA) {
				t.Errorf("spec %s, journaled %s at %s (previous %s); want the move to B journaled done", spec.Image, last.Status, last.Now, last.Previous)
			}
			if step == "rolling" && (!strings.Contains(last.Error, "pods: ") || !strings.Contains(last.Error, " of the old template at sha256:aaaaaaaaaaaa")) {
				t.Errorf("journaled error %q: want what the pods hold, old and new", last.Error)
			}

			// Undo, from what the journal says: A back, every pod on it.
			tg.step = func(context.Context, string) {}
			if _, err := deploy.Undo(context.Background(), tg, rec, events, deploy.Options{Yes: true}); err != nil {
				t.Fatalf("undo: %v", err)
			}
			after := read(t, tg.w)
			cur, old := digests(after)
			if after.Image != imgA || cur[digestOf(imgA)] != 3 || len(old) != 0 {
				t.Errorf("after undo: spec %s, pods current %v, old %v; want 3 at A", after.Image, cur, old)
			}
		})
	}
}
