#!/usr/bin/env bash
# bench/deploy.sh: how fast `lkg deploy` puts a known-good build back, side
# by side in one run with the ways people do it without lkg.
#
#   bench/deploy.sh                 # 50 MB in 5 layers
#   LAYER_MB=20 bench/deploy.sh     # 100 MB
#   KEEP=1 bench/deploy.sh          # keep the work dir and registry data
#
# Needs a Docker engine at DOCKER_HOST (.ci/dockerd.sh start) and Debian's
# docker-registry and skopeo. It starts docker-registry on 127.0.0.1 with its
# own storage, builds a FROM scratch image of LAYERS layers of LAYER_MB MB of
# random (incompressible) bytes labelled with a git commit's revision, pushes
# it to REG/bench/staging:sha-<7 hex> and removes it from the engine. Then it
# redeploys that build to a fresh repository of the same registry, three ways:
#   lkg deploy     (find + copy by digest: blobs mounted, one manifest PUT)
#   docker         (docker pull + docker tag + docker push)
#   skopeo copy    (skopeo copy docker://... docker://...)
# each under /usr/bin/time -v (elapsed time and peak RSS of the client; the
# engine's own work in the docker case is not in its RSS), and checks that
# every target ends at the source digest (docker may re-compress; it says so).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

LAYERS=${LAYERS:-5}
LAYER_MB=${LAYER_MB:-10}

for tool in docker docker-registry skopeo git /usr/bin/time curl python3; do
	command -v "$tool" >/dev/null || { echo "deploy.sh: $tool not found (apt-get install -y docker.io docker-registry skopeo git time curl)" >&2; exit 2; }
done
docker version >/dev/null 2>&1 || { echo "deploy.sh: no Docker engine; run: eval \"\$(.ci/dockerd.sh start)\"" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lkg-bench-deploy.XXXXXX)
REGPID=
cleanup() {
	if [ -n "$REGPID" ]; then kill "$REGPID" 2>/dev/null || true; wait "$REGPID" 2>/dev/null || true; fi
	if [ -n "${SRC:-}" ]; then docker rmi -f "$SRC" "$WORK-built" >/dev/null 2>&1 || true; fi
	if [ -n "${ADDR:-}" ]; then docker rmi -f "$ADDR/bench/docker:live" >/dev/null 2>&1 || true; fi
	if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

echo "--- building lkg" >&2
if [ -n "${LKG:-}" ]; then cp "$LKG" "$WORK/lkg"; else go build -o "$WORK/lkg" .; fi

echo "--- starting docker-registry" >&2
start_registry "$WORK"

echo "--- a git repository with the known-good tag" >&2
REPO=$WORK/repo
git init -q -b main "$REPO"
echo "release 1" > "$REPO/app.txt"
git -C "$REPO" add app.txt
git -C "$REPO" -c user.name=Bench -c user.email=bench@example.com commit -q -m 'release 1'
git -C "$REPO" tag v1.0.0
REV=$(git -C "$REPO" rev-parse HEAD)

echo "--- building a $LAYERS-layer image of $((LAYERS * LAYER_MB)) MB and pushing it" >&2
mkdir "$WORK/ctx"
{
	echo "FROM scratch"
	for i in $(seq 1 "$LAYERS"); do
		head -c "$((LAYER_MB * 1024 * 1024))" /dev/urandom > "$WORK/ctx/layer$i.bin"
		echo "COPY layer$i.bin /layer$i.bin"
	done
	echo "LABEL org.opencontainers.image.revision=$REV"
} > "$WORK/ctx/Dockerfile"
SRC=$ADDR/bench/staging:sha-${REV:0:7}
DOCKER_BUILDKIT=0 docker build -q -t "$SRC" "$WORK/ctx" >/dev/null 2>"$WORK/build.err"
docker push -q "$SRC" >/dev/null
SRC_DIGEST=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$SRC")
# The engine must not have the image already: docker pull would be free.
docker rmi -f "$SRC" >/dev/null

digest_of() { skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$1" 2>/dev/null || echo "missing"; }

declare -A SECS RSS
timed() {
	local name=$1; shift
	/usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
		echo "$name failed (exit $?):" >&2; tail -5 "$WORK/$name.err" >&2; }
	local wall
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/$name.time")
	SECS[$name]=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
	RSS[$name]=$(awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$WORK/$name.time")
	printf '%-22s %8.2f s  %5s MB\n' "$name" "${SECS[$name]}" "${RSS[$name]}" >&2
}

cat > "$WORK/docker.sh" <<SH
#!/bin/sh
set -e
docker pull -q "$SRC" >/dev/null
docker tag "$SRC" "$ADDR/bench/docker:live"
docker push -q "$ADDR/bench/docker:live" >/dev/null
SH
chmod +x "$WORK/docker.sh"

echo "--- timing" >&2
export LKG_CACHE_DIR=$WORK/cache
timed lkg "$WORK/lkg" deploy -C "$REPO" --good v1.0.0 --image "$ADDR/bench/staging" --no-fetch \
	--to "$ADDR/bench/lkg:live" --yes
timed docker "$WORK/docker.sh"
timed skopeo skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
	"docker://$SRC" "docker://$ADDR/bench/skopeo:live"

LKG_D=$(digest_of "$ADDR/bench/lkg:live")
DOCKER_D=$(digest_of "$ADDR/bench/docker:live")
SKOPEO_D=$(digest_of "$ADDR/bench/skopeo:live")
same() { if [ "$1" = "$SRC_DIGEST" ]; then echo "same digest"; else echo "DIFFERENT digest $1"; fi; }

echo
echo "redeploy of a $((LAYERS * LAYER_MB)) MB, $LAYERS-layer image between two repositories of one docker-registry on loopback, $(nproc) cores, vfs engine"
printf '%-36s %9s %9s  %s\n' "what" "seconds" "peak RSS" "target"
printf '%-36s %9.2f %6s MB  %s\n' "lkg deploy (find + copy by digest)" "${SECS[lkg]}" "${RSS[lkg]}" "$(same "$LKG_D")"
printf '%-36s %9.2f %6s MB  %s\n' "docker pull + tag + push" "${SECS[docker]}" "${RSS[docker]}" "$(same "$DOCKER_D")"
printf '%-36s %9.2f %6s MB  %s\n' "skopeo copy" "${SECS[skopeo]}" "${RSS[skopeo]}" "$(same "$SKOPEO_D")"
awk -v l="${SECS[lkg]}" -v d="${SECS[docker]}" 'BEGIN { if (l > 0) printf "lkg deploy takes %.1f%% of the time of pull+tag+push (goal: at most 20%%)\n", 100 * l / d }'
