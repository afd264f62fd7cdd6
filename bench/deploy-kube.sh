#!/usr/bin/env bash
# bench/deploy-kube.sh: how long `lkg deploy --to k8s://NS/deployment/NAME`
# takes from start to rollout complete, against `kubectl set image` then
# `kubectl rollout status` on the same control plane, in one run.
#
#   bench/deploy-kube.sh              # 5 rounds (medians of 5 moves each)
#   ROUNDS=9 bench/deploy-kube.sh
#
# Needs the control plane's binaries (.ci/kube.sh build; etcd from Debian's
# etcd-server), kubectl (Debian's kubernetes-client) and git. bench/kubecluster
# runs kube-apiserver, kube-controller-manager and the tests' harness, which
# plays the node (pods are bound, then reported Running and Ready through
# their status, and its kubelet gives the API server their logs), with a
# 3-replica Deployment whose containers report 2 restarts and have 500 log
# lines before and after the last one: the evidence capture reads 6 logs
# through the API server each move. No image is pulled: the builds are
# named by digest. Each round moves the Deployment to the other
# build three times, timed:
#   lkg            lkg deploy --to k8s://NS/deployment/shop --image REPO
#                  --digest D --yes (plan with the server-side dry run,
#                  evidence, journal, patch, kubectl's rollout rule, pods
#                  read back)
#   --no-evidence  the same without keeping what the pods were doing
#   kubectl        kubectl set image deployment/shop app=REPO@D, then
#                  kubectl rollout status deployment/shop
# and prints the medians and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-5}

for tool in kubectl git etcd; do
	command -v "$tool" >/dev/null || { echo "deploy-kube.sh: $tool not found (apt-get install -y kubernetes-client git etcd-server)" >&2; exit 2; }
done
eval "$(.ci/kube.sh env)"
[ -x "$LKG_KUBE_BIN/kube-apiserver" ] || { echo "deploy-kube.sh: no $LKG_KUBE_BIN/kube-apiserver; run .ci/kube.sh build" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lkg-bench-kube.XXXXXX)
CLUSTERPID=
cleanup() {
	if [ -n "$CLUSTERPID" ]; then kill "$CLUSTERPID" 2>/dev/null || true; wait "$CLUSTERPID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

REPO=127.0.0.1:5000/shop/api
A=sha256:$(printf 'a%.0s' $(seq 64))
B=sha256:$(printf 'b%.0s' $(seq 64))

echo "--- building lkg and kubecluster" >&2
go build -o "$WORK/lkg" .
go build -o "$WORK/kubecluster" ./bench/kubecluster

echo "--- starting the control plane" >&2
"$WORK/kubecluster" -name shop -image "$REPO@$A" -replicas 3 -crashing "$REPO@$A,$REPO@$B" >"$WORK/cluster.env" 2>"$WORK/cluster.err" &
CLUSTERPID=$!
until grep -q '^NS=' "$WORK/cluster.env"; do
	kill -0 "$CLUSTERPID" 2>/dev/null || { cat "$WORK/cluster.err" >&2; exit 1; }
	sleep 0.2
done
. "$WORK/cluster.env"
export KUBECONFIG

echo "--- a git repository for the journal" >&2
GIT=$WORK/repo
git init -q -b main "$GIT"
git -C "$GIT" -c user.name=Bench -c user.email=bench@example.com commit -q --allow-empty -m 'release 1'

other() { if [ "$CUR" = "$A" ]; then echo "$B"; else echo "$A"; fi; }
CUR=$A
lkg() {
	"$WORK/lkg" deploy -C "$GIT" --to "k8s://$NS/deployment/shop" --image "$REPO" --digest "$1" --yes "${@:2}" \
		>"$WORK/lkg.out" 2>"$WORK/lkg.err" || { echo "lkg deploy failed:" >&2; cat "$WORK/lkg.out" "$WORK/lkg.err" >&2; exit 1; }
}
declare -a LKG NOEV KUBECTL
for round in $(seq 1 "$ROUNDS"); do
	d=$(other); t0=$(now); lkg "$d"; LKG+=("$(since "$t0")"); CUR=$d
	d=$(other); t0=$(now); lkg "$d" --no-evidence; NOEV+=("$(since "$t0")"); CUR=$d
	d=$(other); t0=$(now)
	kubectl -n "$NS" set image deployment/shop "app=$REPO@$d" >/dev/null
	kubectl -n "$NS" rollout status deployment/shop --timeout=60s >/dev/null
	KUBECTL+=("$(since "$t0")"); CUR=$d
	echo "round $round: lkg ${LKG[*]: -1} s, --no-evidence ${NOEV[*]: -1} s, kubectl ${KUBECTL[*]: -1} s" >&2
done

L=$(median_of "${LKG[@]}")
N=$(median_of "${NOEV[@]}")
K=$(median_of "${KUBECTL[@]}")
echo
echo "rollout of a 3-replica Deployment (2 restarts, 500 log lines per container) to the other build, to complete, $ROUNDS moves each, $(nproc) cores, $("$LKG_KUBE_BIN/kube-apiserver" --version) control plane, the harness playing the node, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-66s %8s\n' "what" "median s"
printf '%-66s %8.2f\n' "lkg deploy --to k8s://NS/deployment/shop --digest D --yes" "$L"
printf '%-66s %8.2f\n' "  the same with --no-evidence" "$N"
printf '%-66s %8.2f\n' "kubectl set image + kubectl rollout status" "$K"
awk -v l="$L" -v k="$K" 'BEGIN { printf "ratio lkg / kubectl: %.2f; lkg adds %.2f s (goal: at most 0.5 s)\n", l / k, l - k }'
awk -v l="$L" -v n="$N" 'BEGIN { printf "keeping the evidence adds %.2f s to the restore\n", l - n }'
