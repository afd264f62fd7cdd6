package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/kubetest"
	"github.com/lkg-dev/lkg/journal"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A crash-looping Deployment, captured before a move: each pod's phase,
// restarts and last termination, the kubelet's BackOff events and one
// made on the Deployment, and one line saying the logs could not be read
// (no kubelet here answers for them). The pods' environment is not in it.
func TestEvidence(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.Restarts(imgA, 4)
	const secret = "s3cr3t-in-the-env"
	d := ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA}, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DB_PASSWORD", Value: secret}}
	})
	ctx := context.Background()
	now := metav1.Now()
	if _, err := c.Client.CoreV1().Events(ns.Name).Create(ctx, &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "shop."},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Deployment", APIVersion: "apps/v1", Namespace: ns.Name, Name: "shop", UID: d.UID,
		},
		Type: corev1.EventTypeWarning, Reason: "ImagePolicy", Message: "image not signed by the release key",
		Source: corev1.EventSource{Component: "policy-controller"}, FirstTimestamp: now, LastTimestamp: now, Count: 2,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tg, err := NewTarget("k8s://"+ns.Name+"/deployment/shop", Config{Options: Options{Kubeconfig: c.Kubeconfig}})
	if err != nil {
		t.Fatal(err)
	}
	// The harness reports the restarts in the pods' status, then posts
	// the kubelet's events for them: both are there before a capture.
	var ev journal.Evidence
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		ev, err = tg.Evidence(cctx, 1<<20)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if countPrefix(ev.Events, "Pod ") == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Logf("events %q, notes %q", ev.Events, ev.Notes)
	if len(ev.Units) != 2 {
		t.Fatalf("%d units, want the 2 pods: %+v", len(ev.Units), ev.Units)
	}
	for _, u := range ev.Units {
		if !strings.HasPrefix(u.Name, "shop-") || u.State != "Running" || u.Restarts != 4 || u.ExitCode != 1 ||
			u.Reason != "Error" || u.Health != "ready" || u.Image != imgA {
			t.Errorf("unit %+v; want a Running pod with 4 restarts, last exit 1 (Error), ready, at %s", u, imgA)
		}
	}
	if countPrefix(ev.Events, "Pod ") != 2 || !strings.Contains(strings.Join(ev.Events, "\n"), "BackOff: Back-off restarting failed container app") {
		t.Errorf("events %q: want each pod's BackOff", ev.Events)
	}
	want := "Deployment shop: ImagePolicy: image not signed by the release key (×2)"
	if countPrefix(ev.Events, want) != 1 {
		t.Errorf("events %q: want %q", ev.Events, want)
	}
	if len(ev.Notes) != 1 || !strings.HasPrefix(ev.Notes[0], "logs unavailable: pod shop-") || !strings.Contains(ev.Notes[0], "no preferred addresses found") || strings.Contains(ev.Notes[0], "\n") {
		t.Errorf("notes %q: want one line saying the logs are unavailable", ev.Notes)
	}
	data, _ := json.Marshal(ev)
	if strings.Contains(string(data), secret) || strings.Contains(string(data), "DB_PASSWORD") {
		t.Errorf("the capture holds the pods' environment: %s", data)
	}

	// A capture out of time says so, with what it had.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tg.Evidence(cctx, 1<<20); err == nil {
		t.Error("a capture with its context ended returned no error")
	}
}

// Logs are read first from the pods that restarted most, then from those
// not ready.
func TestLogOrder(t *testing.T) {
	units := []journal.EvidenceUnit{
		{Name: "a", Restarts: 0, Health: "ready"},
		{Name: "b", Restarts: 0, Health: "not ready"},
		{Name: "c", Restarts: 7, Health: "ready"},
		{Name: "d", Restarts: 2, Health: "not ready"},
		{Name: "e", Restarts: 7, Health: "not ready"},
	}
	if got, want := logOrder(units), []int{4, 2, 3, 1, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("logOrder = %v, want %v", got, want)
	}
}

func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// With a kubelet answering (the harness's, on LogsNode), the capture reads
// the logs of at most 5 pods, the crashing ones first, the previous
// container's beside the current one's, each cut to its end at perUnit
// bytes. A stuck rollout: 5 old pods at A (healthy) and 3 new ones at B
// crash-looping.
func TestEvidenceLogs(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	var crash strings.Builder
	for i := range 40 {
		fmt.Fprintf(&crash, "request %d ok\n", i)
	}
	crash.WriteString("panic: runtime error: invalid memory address or nil pointer dereference\n")
	ns.Logs(imgA, "listening on :8080\nGET / 200\n", "")
	ns.Logs(imgB, "starting v1.1.0\n", crash.String())
	ns.Restarts(imgB, 5)
	ns.NeverReady(imgB, true)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA, Replicas: 6})
	tg, err := NewTarget("k8s://"+ns.Name+"/deployment/shop", Config{Options: Options{Kubeconfig: c.Kubeconfig}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := tg.w.SetImage(ctx, imgB, imgA, "lkg test"); err != nil {
		t.Fatal(err)
	}
	// The controller surges to 8 pods, 3 at B, keeps 5 at A, then waits.
	var s *State
	deadline := time.Now().Add(30 * time.Second)
	for {
		s = read(t, tg.w)
		cur, old := digests(s)
		if cur[digestOf(imgB)] == 3 && old[digestOf(imgA)] == 5 && len(s.Pods) == 8 { // none terminating
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pods: current %v, old %v; want 3 at B and 5 at A", cur, old)
		}
		time.Sleep(50 * time.Millisecond)
	}

	const perUnit = 200
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ev, err := tg.Evidence(cctx, perUnit)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("notes %q", ev.Notes)
	if len(ev.Units) != 8 {
		t.Fatalf("%d units, want 8", len(ev.Units))
	}
	if want := []string{"logs of 5 pod(s) of 8 read, those that restarted most"}; !reflect.DeepEqual(ev.Notes, want) {
		t.Errorf("notes %q, want %q", ev.Notes, want)
	}
	withLogs, crashing := 0, 0
	for _, u := range ev.Units {
		if u.Logs != "" {
			withLogs++
		}
		if u.Restarts != 5 {
			if u.Logs != "" && u.Logs != "listening on :8080\nGET / 200\n" {
				t.Errorf("healthy pod %s logs %q", u.Name, u.Logs)
			}
			continue
		}
		crashing++
		if u.Image != imgB || u.ExitCode != 1 || u.Health != "not ready" {
			t.Errorf("crashing unit %+v", u)
		}
		// The previous container's end (its panic), then the current one.
		if !u.LogsTruncated || int64(len(u.Logs)) > perUnit+200 ||
			!strings.Contains(u.Logs, "previous container") ||
			!strings.Contains(u.Logs, "panic: runtime error: invalid memory address or nil pointer dereference\n--- "+u.Name+", current container ---\nstarting v1.1.0\n") ||
			strings.Contains(u.Logs, "request 0 ok") {
			t.Errorf("crashing pod %s logs (truncated %v, %d bytes):\n%s", u.Name, u.LogsTruncated, len(u.Logs), u.Logs)
		}
	}
	if crashing != 3 || withLogs != 5 {
		t.Errorf("%d crashing pods, %d with logs; want 3, and 5 with logs (the crashing ones among them)", crashing, withLogs)
	}
	// The summary the journal keeps counts the panic once per pod.
	sum := journal.Summarize(ev, "x")
	if len(sum.ErrorLines) != 1 || sum.ErrorLines[0].Count != 3 || !strings.HasPrefix(sum.ErrorLines[0].Line, "panic: runtime error") {
		t.Errorf("error lines %+v, want the panic once per crashing pod", sum.ErrorLines)
	}
}

// Without the right to read pods/log the capture keeps the pods and
// events and says why in one note.
func TestEvidenceNoLogRights(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.Logs(imgA, "hello\n", "")
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA})
	ns.Grant(t,
		rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets"}, Verbs: []string{"get", "list"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods", "events"}, Verbs: []string{"get", "list"}},
	)
	tg, err := NewTarget("k8s://"+ns.Name+"/deployment/shop", Config{Options: Options{Kubeconfig: c.LimitedKubeconfig}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tg.Evidence(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Units) != 2 || len(ev.Notes) != 1 || !strings.HasPrefix(ev.Notes[0], "logs unavailable: pod shop-") ||
		!strings.Contains(ev.Notes[0], `cannot get resource "pods/log"`) {
		t.Errorf("units %d, notes %q; want 2 units and one note naming pods/log", len(ev.Units), ev.Notes)
	}
}

// A kubelet that does not answer for logs: the capture ends with its
// budget, and the deploy core keeps the pods and events it had, notes the
// capture incomplete, and moves the workload all the same.
func TestEvidenceBudget(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.Logs(imgA, "hello\n", "")
	ns.LogsHang(true)
	ns.Restarts(imgA, 2)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA})
	tg, err := NewTarget("k8s://"+ns.Name+"/deployment/shop", Config{Options: Options{Kubeconfig: c.Kubeconfig}})
	if err != nil {
		t.Fatal(err)
	}
	var saved []journal.Evidence
	out, err := deploy.DeployDigest(context.Background(), tg, deploy.RecorderFunc(func(journal.Event) error { return nil }), imgB, deploy.Options{
		Yes: true,
		Evidence: deploy.EvidenceOptions{Timeout: time.Second, PerUnit: 1 << 20, Save: func(ev journal.Evidence) (string, error) {
			saved = append(saved, ev)
			return "evidence/x.json", nil
		}},
	})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if out.Move.Status != journal.StatusDone || out.Move.Now != digestOf(imgB) {
		t.Errorf("move %s at %s, want done at B", out.Move.Status, out.Move.Now)
	}
	if len(saved) != 1 {
		t.Fatalf("%d captures saved, want 1", len(saved))
	}
	ev := saved[0]
	if len(ev.Units) != 2 || ev.Units[0].Restarts != 2 || ev.Units[0].Logs != "" {
		t.Errorf("units %+v: want the 2 pods, 2 restarts each, no logs", ev.Units)
	}
	if len(ev.Notes) != 1 || !strings.HasPrefix(ev.Notes[0], "capture incomplete: ") {
		t.Errorf("notes %q, want the capture said incomplete", ev.Notes)
	}
}
