package kube

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/kubetest"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

// image is a build by digest; each n a different one.
func image(n string) string {
	return "127.0.0.1:5000/shop@sha256:" + strings.Repeat(n, 64)
}

var (
	imgA, imgB, imgC = image("a"), image("b"), image("c")
)

func open(t *testing.T, kubeconfig string, ns *kubetest.Namespace, target string) *Workload {
	t.Helper()
	ref, err := ParseRef("k8s://" + ns.Name + "/" + target)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Open(ref, Options{Kubeconfig: kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func read(t *testing.T, w *Workload) *State {
	t.Helper()
	s, err := w.Read(context.Background())
	if err != nil {
		t.Fatalf("reading %s: %v", w.Ref, err)
	}
	return s
}

// digests are the digests the pods report, by whether they are current;
// terminating pods are gone for a rollout, and left out.
func digests(s *State) (current, old map[string]int) {
	current, old = map[string]int{}, map[string]int{}
	for _, p := range s.Pods {
		switch {
		case p.Terminating:
		case p.Current:
			current[p.Digest]++
		default:
			old[p.Digest]++
		}
	}
	return current, old
}

// Each kind deploys, waits with kubectl's rule, reads back what the pods
// run, and undoes to the image read before.
func TestDeployWaitReadBackUndo(t *testing.T) {
	c := kubetest.Start(t)
	for _, kind := range []string{Deployment, StatefulSet, DaemonSet} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			w := kubetest.Workload{Name: "shop", Image: imgA}
			switch kind {
			case Deployment:
				ns.Deployment(t, w)
			case StatefulSet:
				ns.StatefulSet(t, w)
			case DaemonSet:
				ns.DaemonSet(t, w)
			}
			wl := open(t, c.Kubeconfig, ns, kind+"/shop")
			ctx := context.Background()

			before := read(t, wl)
			if before.Image != imgA || before.Container != "app" || before.Digest() != "sha256:"+strings.Repeat("a", 64) {
				t.Fatalf("before: image %s container %s digest %s", before.Image, before.Container, before.Digest())
			}
			if len(before.Pods) != 2 {
				t.Fatalf("before: %d pods, want 2", len(before.Pods))
			}
			cause := "lkg deploy: incident 7, good tag v1.2.0"
			gen, err := wl.SetImage(ctx, imgB, before.Image, cause)
			if err != nil {
				t.Fatal(err)
			}
			if gen <= before.Generation {
				t.Errorf("generation %d after the patch, was %d", gen, before.Generation)
			}
			var seen []Progress
			p, err := wl.Wait(ctx, time.Minute, func(p Progress) { seen = append(seen, p) })
			if err != nil {
				t.Fatalf("wait: %v (progress %v)", err, seen)
			}
			if len(seen) == 0 || p.Updated != 2 || p.Old != 0 {
				t.Errorf("final progress %+v after %d reports", p, len(seen))
			}
			after := read(t, wl)
			cur, old := digests(after)
			if after.Image != imgB || cur[digestOf(imgB)] != 2 || len(old) != 0 {
				t.Errorf("after: image %s, current pods %v, old pods %v", after.Image, cur, old)
			}
			v, err := wl.get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.meta.Annotations[ChangeCause]; got != cause {
				t.Errorf("change-cause %q, want %q", got, cause)
			}

			if _, err := wl.SetImage(ctx, before.Image, after.Image, "lkg undo: incident 7"); err != nil {
				t.Fatal(err)
			}
			if _, err := wl.Wait(ctx, time.Minute, nil); err != nil {
				t.Fatal(err)
			}
			undone := read(t, wl)
			if cur, _ := digests(undone); undone.Image != imgA || cur[digestOf(imgA)] != 2 {
				t.Errorf("after undo: image %s, pods %v", undone.Image, cur)
			}
		})
	}
}

// A Deployment whose new pods never become Ready fails at its progress
// deadline; the read-back shows the old ReplicaSet's pods still running
// the old digest beside the new one.
func TestRolloutNeverReady(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.NeverReady(imgB, true)
	ns.Restarts(imgB, 3)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA, Replicas: 3}, func(d *appsv1.Deployment) {
		// Long enough for the new pods, and their restarts, to exist
		// when it passes, however loaded the machine.
		d.Spec.ProgressDeadlineSeconds = new(int32(5))
	})
	wl := open(t, c.Kubeconfig, ns, "deployment/shop")
	ctx := context.Background()
	if _, err := wl.SetImage(ctx, imgB, imgA, "lkg deploy"); err != nil {
		t.Fatal(err)
	}
	_, err := wl.Wait(ctx, time.Minute, nil)
	if !errors.Is(err, ErrRolloutFailed) || !strings.Contains(err.Error(), "exceeded its progress deadline") {
		t.Fatalf("wait: %v, want the progress deadline", err)
	}
	if !strings.Contains(err.Error(), "restarted 3 times") || !strings.Contains(err.Error(), "BackOff") {
		t.Errorf("the error does not say why the pods are not ready: %v", err)
	}
	// The old pods may still be going away, the new ones coming up:
	// wait until some run B.
	var s *State
	var cur, old map[string]int
	for range 300 {
		s = read(t, wl)
		if cur, old = digests(s); cur[digestOf(imgB)] > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cur[digestOf(imgB)] == 0 || old[digestOf(imgA)] == 0 {
		t.Errorf("pods: current %v, old %v; want new pods at B and old ones at A", cur, old)
	}
	if s.Digest() != "" {
		t.Errorf("Digest() = %q while the pods disagree, want \"\"", s.Digest())
	}
}

// A StatefulSet and a DaemonSet have no progress deadline: the wait's
// timeout is the failure. Cancelling the wait (Ctrl-C) returns at once.
func TestRolloutTimeoutAndCancel(t *testing.T) {
	c := kubetest.Start(t)
	for _, kind := range []string{StatefulSet, DaemonSet} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			ns.NeverReady(imgB, true)
			w := kubetest.Workload{Name: "shop", Image: imgA}
			if kind == StatefulSet {
				ns.StatefulSet(t, w)
			} else {
				ns.DaemonSet(t, w)
			}
			wl := open(t, c.Kubeconfig, ns, kind+"/shop")
			ctx := context.Background()
			if _, err := wl.SetImage(ctx, imgB, imgA, ""); err != nil {
				t.Fatal(err)
			}
			_, err := wl.Wait(ctx, 2*time.Second, nil)
			if !errors.Is(err, ErrRolloutFailed) || !strings.Contains(err.Error(), "not rolled out after 2s") || !strings.Contains(err.Error(), "not ready") {
				t.Fatalf("wait: %v, want a timeout that names the unready pod", err)
			}

			cctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(200*time.Millisecond, cancel)
			_, err = wl.Wait(cctx, time.Minute, nil)
			if !errors.Is(err, context.Canceled) || errors.Is(err, ErrRolloutFailed) {
				t.Fatalf("cancelled wait: %v", err)
			}
			// What the spec and the pods hold, for the journal; undo
			// works from there.
			s := read(t, wl)
			if s.Image != imgB {
				t.Errorf("spec image %s after the interrupted wait", s.Image)
			}
			ns.NeverReady(imgB, false)
			if _, err := wl.SetImage(ctx, imgA, imgB, "lkg undo"); err != nil {
				t.Fatal(err)
			}
			if _, err := wl.Wait(ctx, time.Minute, nil); err != nil {
				t.Fatal(err)
			}
			if cur, old := digests(read(t, wl)); cur[digestOf(imgA)] != 2 || len(old) != 0 {
				t.Errorf("after undo: current %v old %v", cur, old)
			}
		})
	}
}

// A paused Deployment is refused, with the command that resumes it, and
// nothing is written.
func TestPausedRefused(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA})
	pause(t, c, ns)
	wl := open(t, c.Kubeconfig, ns, "deployment/shop")
	_, err := wl.SetImage(context.Background(), imgB, imgA, "")
	want := "kubectl -n " + ns.Name + " rollout resume deployment/shop"
	if !errors.Is(err, ErrPaused) || !strings.Contains(err.Error(), want) {
		t.Fatalf("SetImage on a paused deployment: %v; want ErrPaused naming %q", err, want)
	}
	if err := wl.DryRun(context.Background(), imgB, ""); !errors.Is(err, ErrPaused) {
		t.Errorf("DryRun on a paused deployment: %v", err)
	}
	if s := read(t, wl); s.Image != imgA || !s.Paused {
		t.Errorf("image %s paused %v after the refusal", s.Image, s.Paused)
	}
}

// pause pauses the Deployment "shop", as kubectl rollout pause does. (A
// Deployment created paused would never create its pods.)
func pause(t *testing.T, c *kubetest.Cluster, ns *kubetest.Namespace) {
	t.Helper()
	_, err := c.Client.AppsV1().Deployments(ns.Name).Patch(context.Background(), "shop", types.StrategicMergePatchType,
		[]byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// RBAC refusals are one line naming the verb and the resource.
func TestMissingRBAC(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA})
	wl := open(t, c.LimitedKubeconfig, ns, "deployment/shop")
	ctx := context.Background()

	_, err := wl.Read(ctx)
	want := `user "` + kubetest.LimitedUser + `" may not get deployments.apps in namespace "` + ns.Name + `"`
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), want) {
		t.Fatalf("read without rights: %v; want %q", err, want)
	}
	ns.Grant(t,
		rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets"}, Verbs: []string{"get", "list", "watch"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "events"}, Verbs: []string{"list"}},
	)
	if s := read(t, wl); len(s.Pods) != 2 {
		t.Fatalf("read with get and list: %d pods", len(s.Pods))
	}
	_, err = wl.SetImage(ctx, imgB, imgA, "")
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "may not patch deployments.apps") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("patch without the right: %v", err)
	}
	if err := wl.DryRun(ctx, imgB, ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("dry run without the right: %v", err)
	}
}

// A conflict on the patch is re-read, then patched once more; an image
// changed by another writer stops the move; two conflicts stop it too.
func TestPatchConflict(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA})
	wl := open(t, c.Kubeconfig, ns, "deployment/shop")
	ctx := context.Background()
	deployments := c.Client.AppsV1().Deployments(ns.Name)
	other := func(patch string) {
		if _, err := deployments.Patch(ctx, "shop", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Error(err)
		}
	}
	// Another writer of the pod template between the read and the
	// patch: re-read, patched once more (and again for the controllers'
	// status writes that follow, which change nothing the patch does).
	template := func(n int) string {
		return `{"spec":{"template":{"metadata":{"annotations":{"team":"` + string(rune('0'+n)) + `"}}}}}`
	}
	var attempts int
	wl.beforePatch = func(attempt int) {
		attempts = attempt
		if attempt == 1 {
			other(template(1))
		}
	}
	if _, err := wl.SetImage(ctx, imgB, imgA, ""); err != nil || attempts < 2 {
		t.Fatalf("after one conflict: %v, %d attempts; want success after it", err, attempts)
	}
	if s := read(t, wl); s.Image != imgB {
		t.Fatalf("image %s after the second attempt", s.Image)
	}

	// Writers of what the patch does not change (the replicas, the
	// workload's annotations) are not writers of the template: patched
	// again, as often as it takes (up to maxAttempts).
	wl.beforePatch = func(attempt int) {
		attempts = attempt
		switch attempt {
		case 1, 2:
			other(`{"metadata":{"annotations":{"team":"` + string(rune('0'+attempt)) + `"}}}`)
		case 3:
			other(`{"spec":{"replicas":3}}`)
		}
	}
	if _, err := wl.SetImage(ctx, imgC, imgB, ""); err != nil || attempts < 4 {
		t.Fatalf("after three conflicts outside the template: %v, %d attempts; want success after them", err, attempts)
	}
	wl.beforePatch = func(attempt int) { other(template(2 + attempt)) }
	if _, err := wl.SetImage(ctx, imgB, imgC, ""); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "pod template") {
		t.Fatalf("after two writers of the template: %v, want ErrConflict", err)
	}

	wl.beforePatch = func(attempt int) {
		if attempt == 1 {
			other(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"` + imgA + `"}]}}}}`)
		}
	}
	_, err := wl.SetImage(ctx, imgB, imgC, "")
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "now runs "+imgA) {
		t.Fatalf("image changed by another writer: %v, want ErrChanged", err)
	}
	if s := read(t, wl); s.Image != imgA {
		t.Errorf("image %s: lkg wrote over the other writer", s.Image)
	}
}

// A pod with two containers needs #CONTAINER; a wrong name gets the
// nearest one; only the named container's image changes.
func TestContainers(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA, Containers: []string{"app", "proxy"}, Images: map[string]string{"proxy": imgC}})
	ctx := context.Background()

	_, err := open(t, c.Kubeconfig, ns, "deployment/shop").Read(ctx)
	if !errors.Is(err, ErrBadTarget) || !strings.Contains(err.Error(), "2 containers (app, proxy)") || !strings.Contains(err.Error(), "#app") {
		t.Fatalf("no container named: %v", err)
	}
	_, err = open(t, c.Kubeconfig, ns, "deployment/shop#prxy").Read(ctx)
	if !errors.Is(err, ErrBadTarget) || !strings.Contains(err.Error(), "Did you mean k8s://"+ns.Name+"/deployment/shop#proxy?") {
		t.Fatalf("wrong container: %v", err)
	}
	wl := open(t, c.Kubeconfig, ns, "deployment/shop#app")
	if _, err := wl.SetImage(ctx, imgB, imgA, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := wl.Wait(ctx, time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	d, err := c.Client.AppsV1().Deployments(ns.Name).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Spec.Containers; got[0].Image != imgB || got[1].Image != imgC {
		t.Errorf("containers after the patch: %s, %s", got[0].Image, got[1].Image)
	}
}

func TestNotFoundAndOwners(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	_, err := open(t, c.Kubeconfig, ns, "statefulset/nope").Read(context.Background())
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `statefulset "nope" is not in namespace "`+ns.Name+`"`) {
		t.Fatalf("missing workload: %v", err)
	}
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA, Annotations: map[string]string{
		"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:" + ns.Name + "/shop",
	}})
	// A name one letter off: exit 2, naming the workload there is.
	_, err = open(t, c.Kubeconfig, ns, "deployment/shp").Read(context.Background())
	if !errors.Is(err, ErrNotFound) || errs.Code(err) != 2 ||
		!strings.HasSuffix(err.Error(), "Did you mean k8s://"+ns.Name+"/deployment/shop?") {
		t.Errorf("a near miss: %v (exit %d), want exit 2 naming deployment/shop", err, errs.Code(err))
	}
	s := read(t, open(t, c.Kubeconfig, ns, "deployment/shop"))
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "argocd app set shop --sync-policy none") {
		t.Errorf("warnings %q", s.Warnings)
	}
}

// The API server going away mid-rollout: the wait says so and keeps
// trying, and completes once it is back. It restarts the shared API
// server, so it does not run in parallel with the others.
func TestAPIServerGoesAway(t *testing.T) {
	c := kubetest.Start(t)
	ns := c.Namespace(t)
	ns.NeverReady(imgB, true)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA})
	wl := open(t, c.Kubeconfig, ns, "deployment/shop")
	ctx := context.Background()
	if _, err := wl.SetImage(ctx, imgB, imgA, ""); err != nil {
		t.Fatal(err)
	}
	type result struct {
		seen []Progress
		err  error
	}
	done := make(chan result, 1)
	started := make(chan struct{})
	go func() {
		var r result
		_, r.err = wl.Wait(ctx, 2*time.Minute, func(p Progress) {
			r.seen = append(r.seen, p)
			if len(r.seen) == 1 {
				close(started)
			}
		})
		done <- r
	}()
	<-started
	c.RestartAPIServer(t, time.Second)
	ns.NeverReady(imgB, false)
	r := <-done
	if r.err != nil {
		t.Fatalf("wait across the restart: %v", r.err)
	}
	var unreachable bool
	for _, p := range r.seen {
		unreachable = unreachable || p.Unreachable != nil
	}
	if !unreachable {
		t.Errorf("the wait never said the API server was away: %v", r.seen)
	}
	if cur, old := digests(read(t, wl)); cur[digestOf(imgB)] != 2 || len(old) != 0 {
		t.Errorf("after the rollout: current %v old %v", cur, old)
	}
}
