#!/usr/bin/env bash
# bench/provenance.sh: what reading provenance and checking signatures
# costs a find, on a registry repository of labelled builds with a few
# that carry their revision only in BuildKit provenance.
#
#   bench/provenance.sh                 # 1,500 labelled builds, 10 provenance-only
#   LABELLED=500 bench/provenance.sh    # a smaller repository
#   ROUNDS=5 bench/provenance.sh        # more timed rounds (medians are shown)
#
# It makes a git repository with git fast-import, starts Debian's
# distribution registry (no referrers API: the worst case, a request to
# learn that) and pushes LABELLED labelled images (bench/pushimages: nine in
# ten tagged sha-<7 hex>) and PROV images as buildx pushes them (no label,
# SLSA provenance beside the image, tags that name no revision), recording
# the ten commits up to the known-good one. Then, ROUNDS times from an
# empty cache, taking turns, it times
#   off  lkg find --no-provenance            (labels and tag names only)
#   on   lkg find --trust-key KEY            (provenance read, signatures checked)
# and counts each one's registry requests (--debug's trace). The on/off
# ratio of the medians is the cost; the request difference per build that
# could be the answer is what reading and verification add.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

LABELLED=${LABELLED:-1500}
PROV=${PROV:-10}
COMMITS=${COMMITS:-$(( LABELLED * 9 / 10 ))}
ROUNDS=${ROUNDS:-3}

for tool in docker-registry git /usr/bin/time curl openssl; do
	command -v "$tool" >/dev/null || { echo "provenance.sh: $tool not found (apt-get install -y docker-registry git time curl openssl)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/lkg-bench-prov.XXXXXX)
REGPID=
cleanup() {
	if [ -n "$REGPID" ]; then kill "$REGPID" 2>/dev/null || true; wait "$REGPID" 2>/dev/null || true; fi
	if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

echo "--- building lkg and pushimages" >&2
go build -o "$WORK/lkg" .
go build -o "$WORK/pushimages" ./bench/pushimages

echo "--- generating $COMMITS commits" >&2
REPO=$WORK/repo
git init -q -b main "$REPO"
awk -v n="$COMMITS" 'BEGIN {
	t = 1767225600
	for (i = 1; i <= n; i++) {
		printf "commit refs/heads/main\nmark :%d\n", i
		printf "author Bench <bench@example.com> %d +0000\n", t + i * 600
		printf "committer Bench <bench@example.com> %d +0000\n", t + i * 600
		printf "data %d\n%s\n", length("change " i), "change " i
		if (i > 1) printf "from :%d\n", i - 1
		printf "M 644 inline app.txt\ndata %d\n%s\n", length("release " i "\n"), "release " i "\n"
	}
}' | git -C "$REPO" fast-import --quiet
git -C "$REPO" log --reverse --format='%H %ct' main > "$WORK/revs.txt"
GOOD_N=$(( COMMITS * 5 / 6 ))
GOOD=$(sed -n "${GOOD_N}p" "$WORK/revs.txt" | cut -d' ' -f1)
git -C "$REPO" tag -a -m "release v1.0.0" v1.0.0 "$GOOD"
# The provenance-only builds record the PROV commits up to the good one.
sed -n "$(( GOOD_N - PROV + 1 )),${GOOD_N}p" "$WORK/revs.txt" | awk '{ printf "release-%d %s %d attested\n", NR, $1, $2 + 300 }' > "$WORK/attested.txt"

openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/ci.key" 2>/dev/null
openssl ec -in "$WORK/ci.key" -pubout -out "$WORK/ci.pub" 2>/dev/null

echo "--- starting docker-registry" >&2
start_registry "$WORK"
echo "--- pushing $LABELLED labelled and $PROV provenance-only builds to $ADDR/app" >&2
"$WORK/pushimages" -repo "$ADDR/app" -revs "$WORK/revs.txt" -n "$LABELLED" -extra "$WORK/attested.txt" -workers 16

OFF=("$WORK/lkg" find -C "$REPO" --good v1.0.0 --image "$ADDR/app" --no-fetch --json --no-provenance)
ON=("$WORK/lkg" find -C "$REPO" --good v1.0.0 --image "$ADDR/app" --no-fetch --json --trust-key "$WORK/ci.pub")
declare -A ALL REQ
# run NAME CMD...: one cold run (empty cache) with the request trace on;
# records seconds and the request count.
run() {
	local name=$1; shift
	rm -rf "$WORK/cache"
	local start end
	start=$(date +%s.%N)
	LKG_CACHE_DIR=$WORK/cache "$@" --debug >"$WORK/$name.out" 2>"$WORK/$name.err" || true
	end=$(date +%s.%N)
	ALL[$name]="${ALL[$name]:-} $(echo "$end - $start" | bc)"
	REQ[$name]=$(grep -c '^lkg: debug: registry: ' "$WORK/$name.err" || true)
}
# shellcheck disable=SC2086 # the rounds, one word each
median() { median_of ${ALL[$1]}; }

echo "--- warming the registry up (untimed)" >&2
run warm "${ON[@]}"
echo "--- timing ($ROUNDS rounds, each from an empty cache)" >&2
for r in $(seq "$ROUNDS"); do
	run off "${OFF[@]}"
	run on "${ON[@]}"
	echo "round $r: off $(echo "${ALL[off]}" | awk '{print $NF}') s, on $(echo "${ALL[on]}" | awk '{print $NF}') s" >&2
done
CAND=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["builds"]))' "$WORK/on.out")
BEST_OFF=$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["best"]; print(b["image"] if b else "none")' "$WORK/off.out")
BEST_ON=$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["best"]; print(b["image"], b.get("revision_from"), b.get("trust", {}).get("state"))' "$WORK/on.out")
OFF_S=$(median off); ON_S=$(median on)
grep -o 'registry: [A-Z]* [^ ]*' "$WORK/on.err" | sed 's#http://[^/]*##; s#sha256:[0-9a-f]*#<digest>#g; s#manifests/[^ ]*#manifests/<ref>#; s#/[a-z]*$##' | sort | uniq -c | sort -rn > "$WORK/on.requests"
echo
echo "provenance.sh: $LABELLED labelled + $PROV provenance-only builds, $ROUNDS rounds, cold cache"
printf '  %-4s %8s s  %6s requests  best: %s\n' off "$OFF_S" "${REQ[off]}" "$BEST_OFF"
printf '  %-4s %8s s  %6s requests  best: %s\n' on "$ON_S" "${REQ[on]}" "$BEST_ON"
echo "  ratio on/off: $(echo "scale=3; $ON_S / $OFF_S" | bc)"
echo "  extra requests: $(( REQ[on] - REQ[off] )) for $CAND builds that could be the answer (and $PROV provenance-only builds read)"
echo "  on's requests by kind:"
sed 's/^/    /' "$WORK/on.requests" | head -12
