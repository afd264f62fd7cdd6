#!/usr/bin/env bash
# bench/deploy-swarm.sh: how long `lkg deploy --to swarm://SERVICE` takes to
# put a build on a Swarm service and see it answer, side by side in one run
# with `docker service update --image` by hand on the same engine and service.
#
#   bench/deploy-swarm.sh            # 3 rounds each; the median is printed
#   ROUNDS=5 bench/deploy-swarm.sh
#
# Needs a Docker engine at DOCKER_HOST (.ci/dockerd.sh start) and Debian's
# docker-registry. The engine is made a swarm manager (docker swarm init
# --advertise-addr 127.0.0.1) if it is not one, and left again at the end
# if the script made it one. One service (one replica, host network, the
# engine's default update config) runs a FROM scratch HTTP server that
# answers its version; each round moves it between two builds four times:
# lkg, docker back, lkg with --no-evidence (what keeping the tasks' states
# and logs costs), docker back. Each timing ends when the server answers
# the new version (lkg: --verify-url; by hand: curl until it does).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-3}
for tool in docker docker-registry git curl python3; do
	command -v "$tool" >/dev/null || { echo "deploy-swarm.sh: $tool not found" >&2; exit 2; }
done
docker version >/dev/null 2>&1 || { echo "deploy-swarm.sh: no Docker engine; run: eval \"\$(.ci/dockerd.sh start)\"" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lkg-bench-swarm.XXXXXX)
REGPID= MADE_SWARM= SVC=lkg-bench-swarm
cleanup() {
	docker service rm "$SVC" >/dev/null 2>&1 || true
	if [ -n "$MADE_SWARM" ]; then docker swarm leave --force >/dev/null 2>&1 || true; fi
	if [ -n "$REGPID" ]; then kill "$REGPID" 2>/dev/null || true; wait "$REGPID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$WORK/lkg" .
go build -o "$WORK/serverimage" ./bench/serverimage
start_registry "$WORK"
if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ]; then
	docker swarm init --advertise-addr 127.0.0.1 >/dev/null
	MADE_SWARM=1
fi
V1=$("$WORK/serverimage" -ref "$ADDR/bench/api:v1" -version v1)
V2=$("$WORK/serverimage" -ref "$ADDR/bench/api:v2" -version v2)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/
docker service create -q --name "$SVC" --network host --env "LISTEN=127.0.0.1:$PORT" "$ADDR/bench/api@$V1" >/dev/null
git init -q "$WORK/repo"
git -C "$WORK/repo" -c user.name=bench -c user.email=bench@example.com commit -q --allow-empty -m bench

answers() { # answers VERSION: curl until the server answers VERSION
	until [ "$(curl -fsS "$URL" 2>/dev/null)" = "$1" ]; do sleep 0.05; done
}

answers v1
: >"$WORK/lkg.times"
: >"$WORK/noev.times"
: >"$WORK/docker.times"
lkgto() { # lkgto DIGEST [FLAGS...]: lkg deploys DIGEST to the service
	local dg=$1
	shift
	(cd "$WORK/repo" && "$WORK/lkg" deploy --to "swarm://$SVC" --image "$ADDR/bench/api" --digest "$dg" --verify-url "$URL" --yes "$@" >/dev/null)
}
by_hand() { # by_hand DIGEST VERSION: docker service update, timed to VERSION answering
	local t0
	t0=$(now)
	docker service update -q --image "$ADDR/bench/api@$1" "$SVC" >/dev/null
	answers "$2"
	echo "$(since "$t0")" >>"$WORK/docker.times"
}
for round in $(seq "$ROUNDS"); do
	t0=$(now)
	lkgto "$V2"
	answers v2
	echo "$(since "$t0")" >>"$WORK/lkg.times"
	by_hand "$V1" v1
	t0=$(now)
	lkgto "$V2" --no-evidence
	answers v2
	echo "$(since "$t0")" >>"$WORK/noev.times"
	by_hand "$V1" v1
	printf 'round %d: lkg %.2fs  --no-evidence %.2fs  docker service update %.2fs\n' "$round" \
		"$(tail -1 "$WORK/lkg.times")" "$(tail -1 "$WORK/noev.times")" "$(tail -1 "$WORK/docker.times")" >&2
done
L=$(median_of $(cat "$WORK/lkg.times"))
N=$(median_of $(cat "$WORK/noev.times"))
D=$(median_of $(cat "$WORK/docker.times"))
printf 'median of %d: lkg deploy --to swarm:// %.2fs (--no-evidence %.2fs), docker service update --image %.2fs, ratio %.2f, lkg adds %.2fs, the evidence %.2fs\n' \
	"$ROUNDS" "$L" "$N" "$D" "$(echo "$L / $D" | bc -l)" "$(echo "$L - $D" | bc -l)" "$(echo "$L - $N" | bc -l)"
