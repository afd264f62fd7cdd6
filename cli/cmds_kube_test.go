package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lkg-dev/lkg/internal/kubetest"
	"github.com/rogpeppe/go-internal/testscript"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// Kubernetes commands for the testscript suites, on the test binary's one
// control plane (internal/kubetest: kube-apiserver and
// kube-controller-manager on etcd, the harness playing the node), each
// script in its own namespace.
func init() {
	scriptCmds["kube-cluster"] = cmdKubeCluster
	scriptCmds["kube-deployment"] = cmdKubeDeployment
	scriptCmds["kube-restarts"] = cmdKubeRestarts
	scriptCmds["kube-logs"] = cmdKubeLogs
	scriptCmds["kube-runs"] = cmdKubeRuns
	scriptCmds["kube-contexts"] = cmdKubeContexts
}

// kubeNamespaces are the scripts' namespaces, by name ($NS).
var kubeNamespaces sync.Map

// kubeCondition answers [kube]: the control plane's binaries are here
// (.ci/kube.sh build). Under LKG_REQUIRE_INTEGRATION=1 their absence fails
// the script instead.
func kubeCondition() (bool, error) {
	err := kubetest.Available()
	if err != nil && requireIntegration {
		return false, fmt.Errorf("LKG_REQUIRE_INTEGRATION=1 but %w", err)
	}
	return err == nil, nil
}

// cmdKubeCluster starts the test binary's control plane (once, for every
// script), makes the script a namespace, sets $NS to it and $KUBECONFIG to
// an administrator's kubeconfig for the cluster, as kubectl reads it.
//
//	kube-cluster
func cmdKubeCluster(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: kube-cluster")
	}
	c, err := kubetest.Shared()
	if err != nil {
		ts.Fatalf("kube-cluster: %v", err)
	}
	ns, err := c.NewNamespace("script-" + ts.Name())
	if err != nil {
		ts.Fatalf("kube-cluster: %v", err)
	}
	kubeNamespaces.Store(ns.Name, ns)
	ts.Setenv("NS", ns.Name)
	ts.Setenv("KUBECONFIG", c.Kubeconfig)
}

func scriptNamespace(ts *testscript.TestScript) *kubetest.Namespace {
	v, ok := kubeNamespaces.Load(ts.Getenv("NS"))
	if !ok {
		ts.Fatalf("no namespace: run kube-cluster first")
	}
	return v.(*kubetest.Namespace)
}

// cmdKubeDeployment creates the Deployment NAME in $NS, two replicas of
// one container "app" running IMAGE, and waits until its pods are Ready.
//
//	kube-deployment NAME IMAGE
func cmdKubeDeployment(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: kube-deployment NAME IMAGE")
	}
	if _, err := scriptNamespace(ts).NewDeployment(kubetest.Workload{Name: args[0], Image: args[1]}); err != nil {
		ts.Fatalf("kube-deployment: %v", err)
	}
}

// cmdKubeRestarts makes the containers running IMAGE in $NS report COUNT
// restarts, their last exit 1 (Error), with the kubelet's BackOff event
// for each pod: a build that crashes and is restarted.
//
//	kube-restarts IMAGE COUNT
func cmdKubeRestarts(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: kube-restarts IMAGE COUNT")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("usage: kube-restarts IMAGE COUNT: %v", err)
	}
	scriptNamespace(ts).Restarts(args[0], int32(n))
}

// cmdKubeLogs makes the containers running IMAGE in $NS log the text of
// file CURRENT, and the one before their last restart the text of
// PREVIOUS: the harness's kubelet answers the API server's log requests
// for the namespace's pods. Run it before kube-deployment.
//
//	kube-logs IMAGE CURRENT [PREVIOUS]
func cmdKubeLogs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: kube-logs IMAGE CURRENT [PREVIOUS]")
	}
	previous := ""
	if len(args) == 3 {
		previous = ts.ReadFile(args[2])
	}
	scriptNamespace(ts).Logs(args[0], ts.ReadFile(args[1]), previous)
}

// cmdKubeRuns waits (up to a minute) until the Deployment NAME in $NS
// names IMAGE and every pod of it that is not terminating runs IMAGE's
// digest, as the pods' containerStatuses report it.
//
//	kube-runs NAME IMAGE
func cmdKubeRuns(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: kube-runs NAME IMAGE")
	}
	c, err := kubetest.Shared()
	ts.Check(err)
	ns, name, image := ts.Getenv("NS"), args[0], args[1]
	_, digest, _ := strings.Cut(image, "@")
	last := ""
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		last = kubeRunsNot(ctx, c, ns, name, image, digest)
		cancel()
		if last == "" {
			return
		}
	}
	ts.Fatalf("kube-runs: deployment %s: %s", name, last)
}

// kubeRunsNot says why the Deployment does not run image yet, or "".
func kubeRunsNot(ctx context.Context, c *kubetest.Cluster, ns, name, image, digest string) string {
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
		return "its spec names " + got
	}
	if !kubetest.Settled(d) {
		return "its rollout is under way"
	}
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		return err.Error()
	}
	n := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if !strings.HasSuffix(cs.ImageID, "@"+digest) {
				return fmt.Sprintf("pod %s runs %q", p.Name, cs.ImageID)
			}
		}
		n++
	}
	if n != int(*d.Spec.Replicas) {
		return fmt.Sprintf("%d pods, want %d", n, *d.Spec.Replicas)
	}
	return ""
}

// cmdKubeContexts writes FILE, a kubeconfig with two contexts: "broken",
// the current one, at a server no one answers on, and "lkg-test", the
// control plane of $KUBECONFIG.
//
//	kube-contexts FILE
func cmdKubeContexts(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: kube-contexts FILE")
	}
	cfg, err := clientcmd.LoadFromFile(ts.Getenv("KUBECONFIG"))
	ts.Check(err)
	broken := *cfg.Clusters["lkg-test"]
	broken.Server = "https://127.0.0.1:1"
	cfg.Clusters["broken"] = &broken
	ctx := *cfg.Contexts["lkg-test"]
	ctx.Cluster = "broken"
	cfg.Contexts["broken"] = &ctx
	cfg.CurrentContext = "broken"
	path := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(path), 0o755))
	ts.Check(clientcmd.WriteToFile(*cfg, path))
}
