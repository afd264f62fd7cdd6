// Command kubecluster runs the tests' Kubernetes control plane
// (internal/kubetest: etcd, kube-apiserver and kube-controller-manager from
// .ci/kube.sh build, and the harness playing the node) for
// bench/deploy-kube.sh, with one Deployment in a namespace of its own. It
// prints the shell exports that reach it, then runs until SIGINT or
// SIGTERM, when it stops the control plane.
//
//	go run ./bench/kubecluster -name shop -image 127.0.0.1:5000/shop@sha256:... -replicas 3
//
// prints KUBECONFIG=... and NS=... lines.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lkg-dev/lkg/internal/kubetest"
)

func main() {
	name := flag.String("name", "shop", "the Deployment's name")
	image := flag.String("image", "", "the image its one container \"app\" runs")
	replicas := flag.Int("replicas", 3, "its replicas")
	flag.Parse()
	if *image == "" {
		fmt.Fprintln(os.Stderr, "usage: kubecluster -image IMAGE [-name NAME] [-replicas N]")
		os.Exit(2)
	}
	// Stop before the signal's default action could leave etcd's data
	// behind: the handler is in place before anything starts.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	code := run(*name, *image, int32(*replicas), sig)
	kubetest.StopShared()
	os.Exit(code)
}

func run(name, image string, replicas int32, sig <-chan os.Signal) int {
	c, err := kubetest.Shared()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecluster:", err)
		return 1
	}
	ns, err := c.NewNamespace("bench")
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecluster:", err)
		return 1
	}
	if _, err := ns.NewDeployment(kubetest.Workload{Name: name, Image: image, Replicas: replicas}); err != nil {
		fmt.Fprintln(os.Stderr, "kubecluster:", err)
		return 1
	}
	fmt.Printf("KUBECONFIG=%s\nNS=%s\n", c.Kubeconfig, ns.Name)
	os.Stdout.Sync()
	<-sig
	return 0
}
