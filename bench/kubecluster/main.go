// Command kubecluster runs the tests' Kubernetes control plane
// (internal/kubetest: etcd, kube-apiserver and kube-controller-manager from
// .ci/kube.sh build, and the harness playing the node) for
// bench/deploy-kube.sh, with one Deployment in a namespace of its own. It
// prints the shell exports that reach it, then runs until SIGINT or
// SIGTERM, when it stops the control plane.
//
//	go run ./bench/kubecluster -name shop -image 127.0.0.1:5000/shop@sha256:... -replicas 3
//
// prints KUBECONFIG=... and NS=... lines. With -crashing, the containers
// running those images report restarts and have logs (500 lines before and
// after the last restart) that the API server gets from the harness's
// kubelet: what a deploy's evidence capture reads.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/lkg-dev/lkg/internal/kubetest"
)

func main() {
	name := flag.String("name", "shop", "the Deployment's name")
	image := flag.String("image", "", "the image its one container \"app\" runs")
	replicas := flag.Int("replicas", 3, "its replicas")
	crashing := flag.String("crashing", "", "images (comma-separated) whose containers report restarts and log 500 lines, before and after the last restart")
	flag.Parse()
	if *image == "" {
		fmt.Fprintln(os.Stderr, "usage: kubecluster -image IMAGE [-name NAME] [-replicas N] [-crashing IMAGE,...]")
		os.Exit(2)
	}
	// Stop before the signal's default action could leave etcd's data
	// behind: the handler is in place before anything starts.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	var crash []string
	if *crashing != "" {
		crash = strings.Split(*crashing, ",")
	}
	code := run(*name, *image, int32(*replicas), crash, sig)
	kubetest.StopShared()
	os.Exit(code)
}

func run(name, image string, replicas int32, crashing []string, sig <-chan os.Signal) int {
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
	// What a crash-looping build leaves for the capture: restarts, a
	// BackOff event per pod, and logs the harness's kubelet serves.
	var logs strings.Builder
	for i := range 500 {
		fmt.Fprintf(&logs, "2026-12-05T12:00:%02d.000Z INFO request %d GET /api/cart 200 12ms\n", i%60, i)
	}
	for _, img := range crashing {
		ns.Restarts(img, 2)
		ns.Logs(img, logs.String(), logs.String()+"panic: runtime error: invalid memory address or nil pointer dereference\n")
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
