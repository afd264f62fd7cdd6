package kubetest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

const (
	imgA = "127.0.0.1:5000/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	imgB = "127.0.0.1:5000/app:v2"
	digB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func pods(t *testing.T, n *Namespace, app string) []corev1.Pod {
	t.Helper()
	l, err := n.c.Client.CoreV1().Pods(n.Name).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// The three kinds' controllers really run, and the harness's node makes
// their pods Ready with the image's digest.
func TestWorkloadsBecomeReady(t *testing.T) {
	c := Start(t)
	n := c.Namespace(t)
	n.Deployment(t, Workload{Name: "web", Image: imgA, Replicas: 3})
	n.StatefulSet(t, Workload{Name: "db", Image: imgA})
	n.DaemonSet(t, Workload{Name: "agent", Image: imgA})

	for app, want := range map[string]int{"web": 3, "db": 2, "agent": len(Nodes)} {
		ps := pods(t, n, app)
		if len(ps) != want {
			t.Errorf("%s: %d pods, want %d", app, len(ps), want)
		}
		nodes := map[string]bool{}
		for _, p := range ps {
			nodes[p.Spec.NodeName] = true
			if got := p.Status.ContainerStatuses[0].ImageID; got != imgA {
				t.Errorf("%s: pod %s imageID %q, want %q", app, p.Name, got, imgA)
			}
		}
		if app == "agent" && len(nodes) != len(Nodes) {
			t.Errorf("daemonset pods on nodes %v, want one on each of %v", nodes, Nodes)
		}
	}
}

// A tag's digest comes from the namespace's Digest; NeverReady keeps the
// new pods unready, so the Deployment keeps an old pod, and lifting it
// lets the rollout finish.
func TestNeverReadyHoldsARollout(t *testing.T) {
	c := Start(t)
	n := c.Namespace(t)
	n.Digest(imgB, digB)
	n.NeverReady(imgB, true)
	d := n.Deployment(t, Workload{Name: "web", Image: imgA})
	d.Spec.Template.Spec.Containers[0].Image = imgB
	ctx := context.Background()
	if _, err := c.Client.AppsV1().Deployments(n.Name).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var sawNew bool
	deadline := time.Now().Add(30 * time.Second)
	for !sawNew && time.Now().Before(deadline) {
		for _, p := range pods(t, n, "web") {
			cs := p.Status.ContainerStatuses
			if len(cs) == 1 && cs[0].Image == imgB {
				sawNew = true
				if cs[0].Ready || cs[0].ImageID != "127.0.0.1:5000/app@"+digB {
					t.Errorf("new pod %s: ready %v imageID %q, want unready at %s", p.Name, cs[0].Ready, cs[0].ImageID, digB)
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !sawNew {
		t.Fatal("no pod of the new template was reported")
	}
	n.NeverReady(imgB, false)
	n.waitReady(t, "rollout", func(ctx context.Context) (bool, error) {
		got, err := c.Client.AppsV1().Deployments(n.Name).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := got.Status
		return s.ObservedGeneration >= got.Generation && s.UpdatedReplicas == 2 && s.Replicas == 2 && s.AvailableReplicas == 2, nil
	})
	for _, p := range pods(t, n, "web") {
		if !strings.HasSuffix(p.Status.ContainerStatuses[0].ImageID, digB) {
			t.Errorf("after the rollout pod %s runs %s", p.Name, p.Status.ContainerStatuses[0].ImageID)
		}
	}
}
