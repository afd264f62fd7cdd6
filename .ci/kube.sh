#!/usr/bin/env bash
# The Kubernetes control plane that the k8s target's tests run against: etcd
# (Debian's etcd-server), kube-apiserver and kube-controller-manager built from
# the Go module proxy by the tools module in .ci/kube. There is no kubelet: the
# tests play the node (internal/kubetest).
#
#   .ci/kube.sh build   build both binaries into $LKG_KUBE_BIN (idempotent; the
#                       Go build cache makes a rebuild quick, a cold one takes
#                       about 25 minutes on 2 cores)
#   .ci/kube.sh env     print the exports the tests read (LKG_KUBE_BIN)
#
# The tests start their own control plane from these binaries, once per test
# binary, on free loopback ports.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${LKG_KUBE_BIN:-/tmp/lkg-kube/bin}"

build() {
	mkdir -p "$bin"
	# The stamp names the tools module's exact requirements: a changed go.sum
	# rebuilds, an unchanged one with both binaries present does nothing.
	stamp="$(sha256sum "$here/kube/go.mod" "$here/kube/go.sum" | sha256sum | cut -c1-16)"
	if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] &&
		[ "$(cat "$bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	(cd "$here/kube" && go build -trimpath -ldflags="-s -X k8s.io/component-base/version.gitVersion=v1.37.2" -o "$bin/" \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager)
	echo "$stamp" >"$bin/.stamp"
}

case "${1:-}" in
build) build ;;
env) echo "export LKG_KUBE_BIN=$bin" ;;
*)
	echo "usage: $0 build|env" >&2
	exit 2
	;;
esac
