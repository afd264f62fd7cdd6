#!/usr/bin/env bash
# bench/deploy-container.sh: how long `lkg deploy --to docker://NAME` takes
# to put a build back into a running container and verify it, side by side
# in one run with doing the same by hand on the same engine.
#
#   bench/deploy-container.sh             # 3 rounds, images without HEALTHCHECK
#   HEALTH=1 bench/deploy-container.sh    # images with a HEALTHCHECK (1 s interval)
#   ROUNDS=5 bench/deploy-container.sh    # more rounds (medians are shown)
#   COMPOSE=2 bench/deploy-container.sh   # a compose service of 2 containers,
#                                         # lkg deploy --to compose://P/api
#
# Needs a Docker engine at DOCKER_HOST (.ci/dockerd.sh start), Debian's
# docker-registry, git and curl. It builds two FROM scratch images around a
# static HTTP server answering its version, pushes both to docker-registry
# on 127.0.0.1, and runs the bad one as NAME (host networking, a restart
# policy, env, a label). Both images stay in the engine: what is timed is
# the recreate, not a pull. Each round moves the container to the other
# build twice, timed:
#   lkg            lkg deploy --to docker://NAME --digest D --image REPO --yes
#                  --verify-url http://ADDR/ (plan, journal, recreate, health
#                  wait, removal of the old container, verification)
#   by hand        docker stop NAME; docker rm NAME; docker run -d ... REPO@D
#                  with the same flags, then curl until the server answers
#                  (and, with HEALTH=1, docker inspect until it is healthy,
#                  as lkg waits for)
# and prints the medians and their ratio. With COMPOSE=N the same for N
# containers labelled as one compose service (each on a port of its own):
# lkg moves them one at a time (compose://PROJECT/api, verified at the
# last one's address), by hand is the stop, rm, run and curl of each in turn.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-3}
HEALTH=${HEALTH:-}
COMPOSE=${COMPOSE:-}

for tool in docker docker-registry git curl python3; do
	command -v "$tool" >/dev/null || { echo "deploy-container.sh: $tool not found (apt-get install -y docker.io docker-registry git curl)" >&2; exit 2; }
done
docker version >/dev/null 2>&1 || { echo "deploy-container.sh: no Docker engine; run: eval \"\$(.ci/dockerd.sh start)\"" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lkg-bench-container.XXXXXX)
NAME=lkg-bench-api-$$
REGPID=
cleanup() {
	docker ps -aq --filter "name=^/$NAME" | xargs -r docker rm -f >/dev/null 2>&1 || true
	if [ -n "${GOOD_IMG:-}" ]; then docker rmi -f "$GOOD_IMG" "$BAD_IMG" >/dev/null 2>&1 || true; fi
	if [ -n "$REGPID" ]; then kill "$REGPID" 2>/dev/null || true; wait "$REGPID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "--- building lkg and the version server" >&2
go build -o "$WORK/lkg" .
CGO_ENABLED=0 go build -trimpath -o "$WORK/server" ./internal/fixture/versionserver

echo "--- starting docker-registry" >&2
start_registry "$WORK"

echo "--- a git repository for the journal" >&2
REPO=$WORK/repo
git init -q -b main "$REPO"
git -C "$REPO" -c user.name=Bench -c user.email=bench@example.com commit -q --allow-empty -m 'release 1'

echo "--- two images, pushed" >&2
image() { # image VERSION: builds, pushes, prints the digest
	local dir=$WORK/ctx-$1
	mkdir "$dir"
	cp "$WORK/server" "$dir/server"
	echo "$1" > "$dir/version"
	{
		echo "FROM scratch"
		echo "COPY server version /"
		echo "ENTRYPOINT [\"/server\"]"
		if [ -n "$HEALTH" ]; then echo 'HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["/server", "-check"]'; fi
	} > "$dir/Dockerfile"
	DOCKER_BUILDKIT=0 docker build -q -t "$ADDR/shop/api:$1" "$dir" >/dev/null 2>"$WORK/build.err"
	docker push "$ADDR/shop/api:$1" | sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p'
}
GOOD=$(image good)
BAD=$(image bad)
GOOD_IMG=$ADDR/shop/api:good
BAD_IMG=$ADDR/shop/api:bad

# The containers moved: NAME, or with COMPOSE=N the N containers of service
# api in project PROJECT, NAME-1..NAME-N; each listens on a port of its own.
FLAGS=(--network host --restart unless-stopped -e FOO=bar --label team=payments)
PROJECT=lkgbench$$
TARGET=docker://$NAME
NAMES=("$NAME")
if [ -n "$COMPOSE" ]; then
	TARGET=compose://$PROJECT/api
	NAMES=()
	for i in $(seq 1 "$COMPOSE"); do NAMES+=("$NAME-$i"); done
fi
declare -A LISTENS RUNFLAGS
for i in "${!NAMES[@]}"; do
	n=${NAMES[$i]}
	LISTENS[$n]=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	RUNFLAGS[$n]="-e LISTEN=${LISTENS[$n]}"
	if [ -n "$COMPOSE" ]; then
		RUNFLAGS[$n]+=" --label com.docker.compose.project=$PROJECT --label com.docker.compose.service=api --label com.docker.compose.container-number=$((i + 1))"
	fi
	# shellcheck disable=SC2086 # RUNFLAGS holds words
	docker run -d --name "$n" "${FLAGS[@]}" ${RUNFLAGS[$n]} "$ADDR/shop/api@$BAD" >/dev/null
	until curl -fsS "http://${LISTENS[$n]}/" >/dev/null 2>&1; do sleep 0.05; done
done
LISTEN=${LISTENS[${NAMES[-1]}]}

declare -a LKG NOEV HAND
for round in $(seq 1 "$ROUNDS"); do
	for dg in "$GOOD" "$BAD"; do
		t0=$(now)
		"$WORK/lkg" deploy -C "$REPO" --to "$TARGET" --digest "$dg" --image "$ADDR/shop/api" \
			--yes --verify-url "http://$LISTEN/" >"$WORK/lkg.out" 2>"$WORK/lkg.err" || {
			echo "lkg deploy failed:" >&2; cat "$WORK/lkg.out" "$WORK/lkg.err" >&2; exit 1; }
		LKG+=("$(since "$t0")")
	done
	# The same moves without keeping the broken build's evidence: what the
	# capture adds to the restore.
	for dg in "$GOOD" "$BAD"; do
		t0=$(now)
		"$WORK/lkg" deploy -C "$REPO" --to "$TARGET" --digest "$dg" --image "$ADDR/shop/api" \
			--yes --no-evidence --verify-url "http://$LISTEN/" >"$WORK/lkg.out" 2>"$WORK/lkg.err" || {
			echo "lkg deploy --no-evidence failed:" >&2; cat "$WORK/lkg.out" "$WORK/lkg.err" >&2; exit 1; }
		NOEV+=("$(since "$t0")")
	done
	for dg in "$GOOD" "$BAD"; do
		t0=$(now)
		for n in "${NAMES[@]}"; do
			docker stop "$n" >/dev/null
			docker rm "$n" >/dev/null
			# shellcheck disable=SC2086 # RUNFLAGS holds words
			docker run -d --name "$n" "${FLAGS[@]}" ${RUNFLAGS[$n]} "$ADDR/shop/api@$dg" >/dev/null
			until curl -fsS "http://${LISTENS[$n]}/" >/dev/null 2>&1; do sleep 0.05; done
			if [ -n "$HEALTH" ]; then
				until [ "$(docker inspect -f '{{.State.Health.Status}}' "$n")" = healthy ]; do sleep 0.1; done
			fi
		done
		HAND+=("$(since "$t0")")
	done
	echo "round $round: lkg ${LKG[*]: -2} s; by hand ${HAND[*]: -2} s" >&2
done

L=$(median_of "${LKG[@]}")
N=$(median_of "${NOEV[@]}")
H=$(median_of "${HAND[@]}")
echo
echo "recreate of ${COMPOSE:-1} running container(s) to the other build and verified, $((ROUNDS * 2)) moves each, $(nproc) cores, vfs engine, images in the engine, HEALTHCHECK: $([ -n "$HEALTH" ] && echo yes || echo no)"
printf '%-60s %8s\n' "what" "median s"
printf '%-60s %8.2f\n' "lkg deploy --to ${TARGET%%://*}://... --digest D --verify-url URL" "$L"
printf '%-60s %8.2f\n' "  the same with --no-evidence" "$N"
printf '%-60s %8.2f\n' "docker stop + rm + run (same flags) + curl until it answers${HEALTH:+ + healthy}" "$H"
awk -v l="$L" -v h="$H" 'BEGIN { printf "ratio lkg / by hand: %.2f; lkg adds %.2f s (goal: at most 1 s)\n", l / h, l - h }'
awk -v l="$L" -v n="$N" 'BEGIN { printf "keeping the evidence adds %.2f s to the restore\n", l - n }'
