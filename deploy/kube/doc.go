// Package kube is the Kubernetes target: a Deployment, StatefulSet or
// DaemonSet written k8s://NAMESPACE/KIND/NAME[#CONTAINER], on the cluster
// chosen the kubectl way (KUBECONFIG, ~/.kube/config, a context).
//
// It reads what the workload holds (the container's image, its
// generation and revision, and the imageIDs the pods' containerStatuses
// report, old ReplicaSets' pods included), sets the image by a
// strategic-merge patch conditional on that read, and follows the rollout
// with kubectl rollout status's rule. Undo is the same patch with the
// image read before. It refuses what would not roll out (a paused
// Deployment), warns about Argo CD and Flux, which would put the image
// back, and turns the API server's refusals into one line each: RBAC
// (which verb on which resource), admission (its message).
package kube
