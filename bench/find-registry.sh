#!/usr/bin/env bash
# bench/find-registry.sh: how fast `lkg find` answers from a big registry
# repository, side by side in one run with the ways people do it without lkg.
#
#   bench/find-registry.sh                  # 2,000 images, skopeo sampled on 100 tags
#   IMAGES=500 bench/find-registry.sh       # a smaller repository
#   SKOPEO_SAMPLE=0 bench/find-registry.sh  # time skopeo on every tag (minutes)
#   KEEP=1 bench/find-registry.sh           # keep the work dir and registry data
#   ROUNDS=5 bench/find-registry.sh         # more timed rounds (medians are shown)
#
# It makes a git repository of COMMITS commits with git fast-import, starts
# Debian's distribution registry (docker-registry) on 127.0.0.1 with its own
# storage, and pushes IMAGES distinct labelled images (bench/pushimages):
# nine in ten tagged sha-<7 hex> after a commit, the rest with names that
# carry no revision (latest, prod, staging, canary, build-N). The known-good
# tag v1.0.0 points at a commit that has an image. Then it times:
#   lkg find, cold   (empty LKG_CACHE_DIR)
#   lkg find, warm   (same cache)
#   lkg find --verify-all, cold and warm
#   fullscan         (plain go-containerregistry: manifest+config GET per tag, 16 workers)
#   skopeo loop      (`skopeo inspect --tls-verify=false` per tag, sequential)
# with elapsed time and peak RSS from /usr/bin/time -v. With SKOPEO_SAMPLE=N
# (default 100) only N tags are inspected by skopeo and the total is
# extrapolated; the output says so.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

IMAGES=${IMAGES:-2000}
COMMITS=${COMMITS:-$(( IMAGES * 9 / 10 ))}
SKOPEO_SAMPLE=${SKOPEO_SAMPLE:-100}
WORKERS=${WORKERS:-16}
ROUNDS=${ROUNDS:-3}

for tool in docker-registry skopeo git /usr/bin/time curl; do
	command -v "$tool" >/dev/null || { echo "find-registry.sh: $tool not found (apt-get install -y docker-registry skopeo git time curl)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/lkg-bench-registry.XXXXXX)
REGPID=
cleanup() {
	if [ -n "$REGPID" ]; then kill "$REGPID" 2>/dev/null || true; wait "$REGPID" 2>/dev/null || true; fi
	if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

echo "--- building lkg and the bench tools" >&2
# LKG=path uses a prebuilt binary. If lkg does not build, the other
# timings still run (the table says lkg was skipped).
if [ -n "${LKG:-}" ]; then
	cp "$LKG" "$WORK/lkg"
elif ! go build -o "$WORK/lkg" . 2>"$WORK/build.err"; then
	echo "lkg does not build; timing the baselines only:" >&2; head -5 "$WORK/build.err" >&2
fi
go build -o "$WORK/pushimages" ./bench/pushimages
go build -o "$WORK/fullscan" ./bench/fullscan

echo "--- generating $COMMITS commits with git fast-import" >&2
REPO=$WORK/repo
git init -q -b main "$REPO"
awk -v n="$COMMITS" 'BEGIN {
	t = 1767225600
	for (i = 1; i <= n; i++) {
		msg = "change " i
		content = "release " i "\n"
		printf "commit refs/heads/main\nmark :%d\n", i
		printf "author Bench <bench@example.com> %d +0000\n", t + i * 600
		printf "committer Bench <bench@example.com> %d +0000\n", t + i * 600
		printf "data %d\n%s\n", length(msg), msg
		if (i > 1) printf "from :%d\n", i - 1
		printf "M 644 inline app.txt\ndata %d\n%s\n", length(content), content
	}
}' | git -C "$REPO" fast-import --quiet
git -C "$REPO" log --reverse --format='%H %ct' main > "$WORK/revs.txt"
# Known good: a commit 5/6 of the way along (it has a sha- image).
GOOD_N=$(( COMMITS * 5 / 6 ))
GOOD=$(sed -n "${GOOD_N}p" "$WORK/revs.txt" | cut -d' ' -f1)
git -C "$REPO" tag -a -m "release v1.0.0" v1.0.0 "$GOOD"
git -C "$REPO" checkout -q main

echo "--- starting docker-registry" >&2
start_registry "$WORK"

echo "--- pushing $IMAGES images to $ADDR/app" >&2
"$WORK/pushimages" -repo "$ADDR/app" -revs "$WORK/revs.txt" -n "$IMAGES" -workers 16
TAGS=$(curl -fsS "http://$ADDR/v2/app/tags/list?n=100000" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["tags"]))')
NTAGS=$(echo "$TAGS" | wc -l)

# timed NAME CMD...: runs CMD under /usr/bin/time -v, records seconds and
# peak RSS (MB), and keeps stdout in $WORK/NAME.out.
declare -A SECS RSS
timed() {
	local name=$1; shift
	/usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
		echo "$name failed (exit $?):" >&2; tail -5 "$WORK/$name.err" >&2; tail -5 "$WORK/$name.out" >&2; }
	local wall
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/$name.time")
	SECS[$name]=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
	RSS[$name]=$(awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$WORK/$name.time")
	ALL[$name]="${ALL[$name]:-} ${SECS[$name]}"
	printf '%-22s %8.2f s  %5s MB\n' "$name" "${SECS[$name]}" "${RSS[$name]}" >&2
}

# median NAME: sets SECS[NAME] to the median of its timed rounds.
declare -A ALL
median() {
	# shellcheck disable=SC2086 # the rounds, one word each
	SECS[$1]=$(median_of ${ALL[$1]})
}

FIND=("$WORK/lkg" find -C "$REPO" --good v1.0.0 --image "$ADDR/app" --no-fetch --json)
# One untimed full scan first, so the registry's caches and the page cache
# are as warm for the first timed command as for the last: otherwise
# whatever runs later (here the full scan) is measured against a warmer
# registry.
echo "--- warming the registry up (untimed full scan)" >&2
"$WORK/fullscan" -repo "$ADDR/app" -workers "$WORKERS" >/dev/null
# ROUNDS rounds, each from empty caches, lkg and the full scan taking turns;
# the table shows each command's median: the registry is the bottleneck and
# a single run swings by a few percent either way.
echo "--- timing ($NTAGS tags, $ROUNDS rounds)" >&2
for k in find-cold find-warm verify-all-cold verify-all-warm; do SECS[$k]=0; RSS[$k]=-; done
for round in $(seq "$ROUNDS"); do
	if [ -x "$WORK/lkg" ]; then
		rm -rf "$WORK/cache" "$WORK/cache-verify"
		export LKG_CACHE_DIR=$WORK/cache
		timed find-cold "${FIND[@]}"
		timed find-warm "${FIND[@]}"
		export LKG_CACHE_DIR=$WORK/cache-verify
		timed verify-all-cold "${FIND[@]}" --verify-all
		timed verify-all-warm "${FIND[@]}" --verify-all
		unset LKG_CACHE_DIR
	fi
	timed fullscan "$WORK/fullscan" -repo "$ADDR/app" -workers "$WORKERS"
done
if [ -x "$WORK/lkg" ]; then
	for k in find-cold find-warm verify-all-cold verify-all-warm; do median "$k"; done
fi
median fullscan

if [ "$SKOPEO_SAMPLE" -gt 0 ] && [ "$SKOPEO_SAMPLE" -lt "$NTAGS" ]; then
	SAMPLE=$SKOPEO_SAMPLE
else
	SAMPLE=$NTAGS
fi
echo "$TAGS" | awk -v n="$NTAGS" -v k="$SAMPLE" 'NR % int(n / k) == 0 && c < k { print; c++ }' > "$WORK/skopeo-tags.txt"
SAMPLE=$(wc -l < "$WORK/skopeo-tags.txt")
cat > "$WORK/skopeo-loop.sh" <<EOF
#!/bin/sh
while read -r tag; do
	skopeo inspect --tls-verify=false "docker://$ADDR/app:\$tag" >/dev/null || exit 1
done < "$WORK/skopeo-tags.txt"
EOF
chmod +x "$WORK/skopeo-loop.sh"
timed skopeo-sample "$WORK/skopeo-loop.sh"
SKOPEO_TOTAL=$(awk -v s="${SECS[skopeo-sample]}" -v k="$SAMPLE" -v n="$NTAGS" 'BEGIN { printf "%.1f", s / k * n }')

best=$(jq -r '.best.image // "none"' "$WORK/find-cold.out" 2>/dev/null || echo "?")
bestv=$(jq -r '.best.image // "none"' "$WORK/verify-all-cold.out" 2>/dev/null || echo "?")
echo
echo "lkg find over $NTAGS tags ($IMAGES images, $COMMITS commits), docker-registry on loopback, $(nproc) cores"
printf '%-60s %9s %9s\n' "what (median of $ROUNDS rounds)" "seconds" "peak RSS"
printf '%-60s %9.2f %6s MB\n' "lkg find, cold cache" "${SECS[find-cold]}" "${RSS[find-cold]}"
printf '%-60s %9.2f %6s MB\n' "lkg find, warm cache" "${SECS[find-warm]}" "${RSS[find-warm]}"
printf '%-60s %9.2f %6s MB\n' "lkg find --verify-all, cold cache" "${SECS[verify-all-cold]}" "${RSS[verify-all-cold]}"
printf '%-60s %9.2f %6s MB\n' "lkg find --verify-all, warm cache" "${SECS[verify-all-warm]}" "${RSS[verify-all-warm]}"
printf '%-60s %9.2f %6s MB\n' "plain full scan ($WORKERS workers, manifest+config GET)" "${SECS[fullscan]}" "${RSS[fullscan]}"
if [ "$SAMPLE" -lt "$NTAGS" ]; then
	printf '%-60s %9s %9s\n' "skopeo inspect loop (extrapolated from $SAMPLE tags: ${SECS[skopeo-sample]} s)" "$SKOPEO_TOTAL" "-"
else
	printf '%-60s %9.2f %6s MB\n' "skopeo inspect loop (every tag)" "${SECS[skopeo-sample]}" "${RSS[skopeo-sample]}"
fi
echo "best build (cold): $best; with --verify-all: $bestv"
awk -v s="$SKOPEO_TOTAL" -v c="${SECS[find-cold]}" -v w="${SECS[find-warm]}" -v r1="${RSS[find-cold]}" -v r2="${RSS[verify-all-cold]}" \
	-v v="${SECS[verify-all-cold]}" -v f="${SECS[fullscan]}" 'BEGIN {
	if (c == 0) exit
	printf "goals: cold %.0fx faster than skopeo (want >= 100); warm %.2f s (want < 0.3); peak RSS %s/%s MB (want < 200); --verify-all %.2f s vs full scan %.2f s (want <=)\n", s / c, w, r1, r2, v, f
}'
