// Package kubetest runs a real Kubernetes control plane for tests: Debian's
// etcd, and kube-apiserver and kube-controller-manager built by
// `.ci/kube.sh build` (found in $LKG_KUBE_BIN, default /tmp/lkg-kube/bin),
// on free loopback ports in a temporary directory, once per test binary.
//
// There is no kubelet. The package plays the node, as kwok does: it keeps
// two Node objects Ready, binds the pods that the controllers create (a
// DaemonSet's pod to the node its affinity names), marks them Running and
// Ready through the status subresource with containerStatuses whose
// imageID carries the image's digest, and finishes the deletion of pods
// that the controllers delete. A test changes that per namespace: images
// that never become Ready, images that restart, digests for tags.
//
// Without the binaries the tests that call Start skip, unless
// LKG_REQUIRE_INTEGRATION=1, where they fail.
package kubetest
