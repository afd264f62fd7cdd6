package kube

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/internal/kubetest"
)

// BenchmarkRollout times a rollout of a 3-replica Deployment from the
// patch to complete, lkg's way (open the cluster, read what runs, patch,
// wait with kubectl's rule, read the pods back) against `kubectl set
// image` then `kubectl rollout status`, alternately on the same control
// plane and the same Deployment. It reports the medians and their ratio,
// and for scale the median of one `kubectl get` of the Deployment (a
// kubectl process's start and one request), which kubectl pays twice:
//
//	go test ./deploy/kube -run '^$' -bench Rollout -benchtime 15x
func BenchmarkRollout(b *testing.B) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		b.Skip("no kubectl")
	}
	c := kubetest.Start(b)
	ns := c.Namespace(b)
	ns.Deployment(b, kubetest.Workload{Name: "shop", Image: imgA, Replicas: 3})
	ref, err := ParseRef("k8s://" + ns.Name + "/deployment/shop")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	images := []string{imgB, imgC}
	lkg := func(img string) time.Duration {
		start := time.Now()
		wl, err := Open(ref, Options{Kubeconfig: c.Kubeconfig})
		if err != nil {
			b.Fatal(err)
		}
		s, err := wl.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := wl.SetImage(ctx, img, s.Image, "lkg bench"); err != nil {
			b.Fatal(err)
		}
		if _, err := wl.Wait(ctx, time.Minute, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := wl.Read(ctx); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	kubectlRun := func(argss ...[]string) time.Duration {
		start := time.Now()
		for _, args := range argss {
			cmd := exec.Command(kubectl, append([]string{"--kubeconfig", c.Kubeconfig, "-n", ns.Name}, args...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("kubectl %v: %v\n%s", args, err, out)
			}
		}
		return time.Since(start)
	}
	kube := func(img string) time.Duration {
		return kubectlRun(
			[]string{"set", "image", "deployment/shop", "app=" + img},
			[]string{"rollout", "status", "deployment/shop", "--timeout=60s"})
	}
	var ours, theirs, get []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ours = append(ours, lkg(images[0]))
		theirs = append(theirs, kube(images[1]))
		get = append(get, kubectlRun([]string{"get", "deployment/shop"}))
		images[0], images[1] = images[1], images[0]
	}
	b.StopTimer()
	m1, m2 := median(ours), median(theirs)
	b.ReportMetric(float64(m1.Microseconds())/1000, "lkg-ms")
	b.ReportMetric(float64(m2.Microseconds())/1000, "kubectl-ms")
	b.ReportMetric(float64(m1)/float64(m2), "ratio")
	b.ReportMetric(float64(median(get).Microseconds())/1000, "kubectl-get-ms")
	b.ReportMetric(0, "ns/op")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
