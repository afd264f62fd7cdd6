#!/usr/bin/env bash
# bench/outage.sh: the fresh-clone outage. A responder clones the service's
# repository, adds a teammate's fork and asks lkg for the last known-good
# build, with the remotes over a real transport behind a paced link; this
# times that beside what git itself needs for the same answers.
#
#   bench/outage.sh                      # 3 rounds over git:// and http://
#   ROUNDS=1 TRANSPORTS=git bench/outage.sh
#   RATE=12500000 bench/outage.sh        # a 12.5 MB/s link
#   LKG=/path/to/lkg bench/outage.sh     # time a prebuilt binary
#   KEEP=1 bench/outage.sh               # keep the work dir (clones, logs)
#
# Fixtures, built once and cached under bench/out/outage-<key>/ (the key
# covers the parameters and the generators' sources):
#   upstream.git  COMMITS commits (bench/gitgen), PULLS pull requests whose
#                 refs/pull/N/head commits no branch reaches (one in
#                 PULL_MERGE_EVERY with a refs/pull/N/merge), REFS branches
#                 and tags, prod-1..prod-10; repacked, refs packed, no
#                 commit-graph. prod-7 is good, prod-8 bad.
#   alice.git     a fork: upstream's main plus a branch holding prod-7's
#                 commit rebased (identical tree, another hash).
#   registry      IMAGES images in HOST/app (bench/pushimages): sha-<rev>
#                 tags over main's history (none of a prod-* commit), plus
#                 sha-<twin> recording the fork's rebased commit (the right
#                 answer: a tree match only the fork can show), prod-7
#                 recording no revision (a weaker tag match, the answer
#                 when the fork is missed), and the newest, sha-<unknown>,
#                 recording a revision nobody has.
# Services, all on 127.0.0.1 and stopped on exit: docker-registry, git
# daemon and bench/githttp (git http-backend), each git server behind a
# bench/relay paced to RATE bytes/s per direction that counts the bytes.
#
# Each round and transport: a fresh `git clone` of upstream through the
# relay, `git remote add alice`, then (wall time, bytes through the relay):
#   lkg find --good-tags 'prod-*' --bad prod-8 --image HOST/app   (fetching)
#   the same with --no-fetch, empty cache   vs git asked the same git
#                                              questions (git_questions),
#                                              no commit-graph
#   the same, warm cache                    vs git asked them with a
#                                              commit-graph
#   in a copy of the clone: git fetch alice; git ls-remote origin; git fetch
#   of refs/pull/* (what today's lkg fetch amounts to); then, its refs/pr/*
#   deleted, lkg --no-fetch warm and with the registry cache emptied: the
#   cold registry part is the difference
# Once: a skopeo inspect loop over SKOPEO_SAMPLE tags, extrapolated to all.
# The table shows medians of ROUNDS rounds beside the goals.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

COMMITS=${COMMITS:-40000}
PULLS=${PULLS:-10000}
PULL_MERGE_EVERY=${PULL_MERGE_EVERY:-4}
REFS=${REFS:-1500}
TAGS=${TAGS:-100}
IMAGES=${IMAGES:-1500}
RATE=${RATE:-25000000}
ROUNDS=${ROUNDS:-3}
TRANSPORTS=${TRANSPORTS:-git http}
SKOPEO_SAMPLE=${SKOPEO_SAMPLE:-100}

for tool in go git docker-registry skopeo jq curl python3 /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "outage.sh: $tool not found" >&2; exit 2; }
done

OUT=$PWD/bench/out
BIN=$OUT/outage-bin
mkdir -p "$BIN"
echo "--- building lkg and the bench tools" >&2
if [ -n "${LKG:-}" ]; then cp "$LKG" "$OUT/lkg"; else go build -o "$OUT/lkg" .; fi
for t in gitgen pushimages relay githttp; do go build -o "$BIN/$t" "./bench/$t"; done
LKGBIN=$OUT/lkg

KEY=$( { echo "$COMMITS $PULLS $PULL_MERGE_EVERY $REFS $TAGS $IMAGES"; cat bench/gitgen/main.go bench/pushimages/main.go; sed -n '/^build_fixture()/,/^}/p' "$0"; } | sha256sum | cut -c1-12)
FIX=$OUT/outage-$KEY
# Clones have a work tree of generated .go files: they live outside the
# module (unlike the bare fixtures), where go vet ./... and gofmt never go.
WORK=$(mktemp -d /tmp/lkg-bench-outage.XXXXXX)

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_file PATH: waits up to 10 s for a service to write its address.
wait_file() {
	for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done
	echo "outage.sh: $1 not written" >&2
	exit 1
}

build_fixture() {
	local d=$1 up alice good_t tip_t
	rm -rf "$d"
	mkdir -p "$d/srv"
	up=$d/srv/upstream.git
	alice=$d/srv/alice.git
	echo "--- generating upstream: $COMMITS commits, $PULLS pull requests (bench/gitgen)" >&2
	git init -q --bare -b main "$up"
	"$BIN/gitgen" -commits "$COMMITS" -refs "$REFS" -tags "$TAGS" -pulls "$PULLS" -pull-merge-every "$PULL_MERGE_EVERY" -prod 10 |
		git -C "$up" fast-import --quiet
	echo "--- repacking upstream" >&2
	git -C "$up" -c pack.threads=2 repack -adq
	git -C "$up" pack-refs --all
	rm -rf "$up/objects/info/commit-graph" "$up/objects/info/commit-graphs"
	GOOD=$(git -C "$up" rev-parse 'prod-7^{commit}')
	TREE=$(git -C "$up" rev-parse 'prod-7^{tree}')
	good_t=$(git -C "$up" log -1 --format=%ct "$GOOD")
	tip_t=$(git -C "$up" log -1 --format=%ct main)

	echo "--- the fork: main plus prod-7 rebased" >&2
	git clone -q --bare --no-local --single-branch --branch main --no-tags "$up" "$alice"
	git -C "$alice" config --unset remote.origin.url || true
	TWIN=$(GIT_AUTHOR_DATE="$((good_t + 3600)) +0000" GIT_COMMITTER_DATE="$((good_t + 3600)) +0000" \
		git -C "$alice" commit-tree "$TREE" -p "$GOOD^" -m "hotfix: prod-7 rebased onto release")
	git -C "$alice" update-ref refs/heads/alice/prod-7-hotfix "$TWIN"
	git -C "$alice" pack-refs --all
	rm -rf "$alice/objects/info/commit-graph" "$alice/objects/info/commit-graphs"
	UNKNOWN=$(printf 'a revision nobody has' | sha1sum | cut -c1-40)

	# Image revisions: main's first-parent history, evenly sampled, no
	# prod-* commit (so no build of a good tag matches exactly).
	git -C "$up" for-each-ref --format='%(*objectname)' 'refs/tags/prod-*' >"$d/prod-commits"
	git -C "$up" log --first-parent --reverse --format='%H %ct' main | grep -v -F -f "$d/prod-commits" |
		awk -v n="$((IMAGES * 9 / 10 + 1))" '{ l[NR] = $0 } END { for (i = 1; i <= n; i++) print l[int((i - 1) * NR / n) + 1] }' >"$d/revs.txt"
	cat >"$d/extra.txt" <<EOF
sha-${TWIN:0:7} $TWIN $((good_t + 7200))
prod-7 - $((good_t + 600))
sha-${UNKNOWN:0:7} $UNKNOWN $((tip_t + 3600))
EOF
	echo "--- pushing $IMAGES + 3 images" >&2
	start_registry "$d"
	PIDS+=("$REGPID")
	"$BIN/pushimages" -repo "$ADDR/app" -revs "$d/revs.txt" -extra "$d/extra.txt" -n "$IMAGES" -workers 8
	kill "$REGPID"
	wait "$REGPID" 2>/dev/null || true
	PIDS=()
	cat >"$d/facts.sh" <<EOF
GOOD=$GOOD
TREE=$TREE
TWIN=$TWIN
UNKNOWN=$UNKNOWN
EOF
}

if [ ! -s "$FIX/facts.sh" ]; then
	build_fixture "$FIX.tmp"
	rm -rf "$FIX"
	mv "$FIX.tmp" "$FIX"
fi
. "$FIX/facts.sh"
UP=$FIX/srv/upstream.git

echo "--- starting docker-registry, git daemon, githttp and relays (127.0.0.1)" >&2
start_registry "$FIX"
PIDS+=("$REGPID")
REG=$ADDR/app
DPORT=$(free_port)
git daemon --listen=127.0.0.1 --port="$DPORT" --export-all --base-path="$FIX/srv" --reuseaddr "$FIX/srv" 2>"$WORK/daemon.log" &
PIDS+=("$!")
"$BIN/githttp" -root "$FIX/srv" -addr-file "$WORK/http.addr" 2>"$WORK/githttp.log" &
PIDS+=("$!")
wait_file "$WORK/http.addr"
for _ in $(seq 100); do git ls-remote "git://127.0.0.1:$DPORT/upstream.git" HEAD >/dev/null 2>&1 && break; sleep 0.1; done
declare -A URL CTL
for t in $TRANSPORTS; do
	case $t in
	git) to=127.0.0.1:$DPORT ;;
	http) to=$(cat "$WORK/http.addr") ;;
	*) echo "outage.sh: unknown transport $t (git, http)" >&2; exit 2 ;;
	esac
	"$BIN/relay" -to "$to" -rate "$RATE" -addr-file "$WORK/relay-$t.addr" -ctl-file "$WORK/relay-$t.ctl" 2>"$WORK/relay-$t.log" &
	PIDS+=("$!")
	wait_file "$WORK/relay-$t.addr"
	wait_file "$WORK/relay-$t.ctl"
	URL[$t]=$t://$(cat "$WORK/relay-$t.addr")
	CTL[$t]=http://$(cat "$WORK/relay-$t.ctl")
done

NPULL=$(git -C "$UP" for-each-ref refs/pull | wc -l)
NREFS=$(git -C "$UP" for-each-ref | wc -l)
NCOMMITS=$(git -C "$UP" rev-list --all | wc -l)
NTAGS=$(curl -fsS "http://$ADDR/v2/app/tags/list?n=100000" | jq '.tags | length')
echo "upstream: $NCOMMITS commits, $NREFS refs ($NPULL pull refs), $(du -sh "$UP" | cut -f1); registry: $NTAGS tags; link $RATE B/s" >&2
echo "good prod-7 $GOOD; fork's rebased twin $TWIN; unknown revision $UNKNOWN" >&2

# Every measurement NAME collects one value per round in VALS[NAME].
declare -A VALS
add() { VALS[$1]="${VALS[$1]:-} $2"; }
# shellcheck disable=SC2086 # the values, one word each
median() { median_of ${VALS[$1]:-}; }

# relay_reset T / relay_down T: zero the counters; wait until the command's
# connections are closed, then print the bytes sent to the client.
relay_reset() { curl -fsS "${CTL[$1]}/stats?reset=1" >/dev/null; }
relay_down() {
	local s
	for _ in $(seq 100); do
		s=$(curl -fsS "${CTL[$1]}/stats")
		[ "$(echo "$s" | awk '{ print $8 }')" = 0 ] && break
		sleep 0.05
	done
	echo "$s" | awk '{ print $2 }'
}

# timed NAME CMD...: wall seconds of CMD into VALS[NAME]; stdout kept in
# $WORK/NAME.out. A failing command is reported, not fatal (lkg find exits
# 3 or 4 when it finds no build).
timed() {
	local name=$1 rc=0
	shift
	/usr/bin/time -f '%e %M' -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ] && [ "$rc" -ne 4 ]; then
		echo "$name failed (exit $rc):" >&2
		tail -3 "$WORK/$name.err" >&2
	fi
	local secs
	secs=$(tail -1 "$WORK/$name.time" | awk '{ print $1 }')
	add "$name" "$secs"
	add "$name.rss" "$(tail -1 "$WORK/$name.time" | awk '{ printf "%.0f", $2 / 1024 }')"
	printf '  %-26s %7.2f s\n' "$name" "$secs" >&2
}

# timed_net T NAME CMD...: timed, plus the bytes downloaded through T's
# relay into VALS[NAME.bytes].
timed_net() {
	local t=$1 name=$2
	shift 2
	relay_reset "$t"
	timed "$name" "$@"
	local b
	b=$(relay_down "$t")
	add "$name.bytes" "$b"
	printf '  %-26s %7.2f MB\n' "" "$(echo "$b" | awk '{ print $1 / 1e6 }')" >&2
}

# The questions lkg's --no-fetch find asks of git, asked of git: the
# prod-* tags (which are good: those older than the bad prod-8); the commit,
# tree and time of every revision a build records (the sha-<hex> tag names
# and the labels); which branches hold each good commit and the bad one;
# every branch tip's tree. lkg also counts how far each branch is ahead of
# the good commit; git 2.39 has no %(ahead-behind), so git is spared that.
# The build revisions are read from the registry and the fixture before
# the clock starts: the registry is lkg's work, not git's.
git_questions() {
	local r=$1 tags bad bad_t goods c
	tags=$(git -C "$r" for-each-ref --format='%(refname:short) %(*objectname) %(creatordate:unix)' 'refs/tags/prod-*')
	bad=$(echo "$tags" | awk '$1 == "prod-8" { print $2 }')
	bad_t=$(echo "$tags" | awk '$1 == "prod-8" { print $3 }')
	goods=$(echo "$tags" | awk -v t="$bad_t" '$3 < t { print $2 }')
	git -C "$r" cat-file --batch-check='%(objectname)' <"$BUILD_REVS" 2>/dev/null | awk 'NF == 1' | sort -u |
		git -C "$r" log --no-walk --stdin --format='%H %T %ct' >/dev/null
	for c in $goods $bad; do git -C "$r" for-each-ref --contains "$c" refs/heads refs/remotes >/dev/null; done
	git -C "$r" for-each-ref --format='%(refname) %(tree)' refs/heads refs/remotes >/dev/null
}
# Two of those questions only, the measure of earlier runs of this script:
# the branches holding prod-7, and the commits sharing its tree.
git_two_questions() {
	git -C "$1" for-each-ref --contains "$GOOD" >/dev/null
	git -C "$1" rev-list --all --format=%T | grep -c "^$TREE" >/dev/null
}
export -f git_questions git_two_questions
export GOOD TREE
BUILD_REVS=$WORK/build-revs.txt
{
	curl -fsS "http://$ADDR/v2/app/tags/list?n=100000" | jq -r '.tags[] | select(startswith("sha-")) | ltrimstr("sha-")'
	cut -d' ' -f1 "$FIX/revs.txt"
	printf '%s\n' "$TWIN" "$UNKNOWN"
} | sed 's/$/^{commit}/' >"$BUILD_REVS"
export BUILD_REVS

FIND=(find --good-tags 'prod-*' --bad prod-8 --image "$REG" --json)
for round in $(seq "$ROUNDS"); do
	for t in $TRANSPORTS; do
		echo "--- round $round, $t://" >&2
		C=$WORK/$t/clone
		C2=$WORK/$t/clone-git
		rm -rf "$WORK/$t"
		mkdir -p "$WORK/$t"
		timed_net "$t" "$t.clone" git -c fetch.writeCommitGraph=false -c gc.auto=0 clone -q "${URL[$t]}/upstream.git" "$C"
		rm -rf "$C/.git/objects/info/commit-graph" "$C/.git/objects/info/commit-graphs"
		git -C "$C" config gc.auto 0
		git -C "$C" remote add alice "${URL[$t]}/alice.git"
		cp -a "$C" "$C2"

		timed_net "$t" "$t.find" "$LKGBIN" "${FIND[@]}" -C "$C" --cache-dir "$WORK/$t/cache-fetch"
		cp "$WORK/$t.find.out" "$WORK/$t.find.$round.json"
		add "$t.refs" "$(git -C "$C" for-each-ref refs/lkg | wc -l)"
		add "$t.loose" "$( (find "$C/.git/refs/lkg" -type f 2>/dev/null || true) | wc -l)"
		add "$t.pullrefs" "$(git -C "$C" for-each-ref --format='%(refname)' refs/lkg | grep -c '^refs/lkg/[^/]*/pull/' || true)"
		add "$t.best" "$(jq -r --arg twin "$TWIN" 'if .best.revision == $twin and .best.match == "tree" then 1 else 0 end' "$WORK/$t.find.out" 2>/dev/null || echo 0)"

		timed "$t.cold" "$LKGBIN" "${FIND[@]}" -C "$C" --no-fetch --cache-dir "$WORK/$t/cache"
		timed "$t.git-nograph" bash -c 'git_questions "$0"' "$C"
		timed "$t.git2-nograph" bash -c 'git_two_questions "$0"' "$C"
		timed "$t.warm" "$LKGBIN" "${FIND[@]}" -C "$C" --no-fetch --cache-dir "$WORK/$t/cache"
		git -C "$C" commit-graph write --reachable 2>/dev/null
		timed "$t.git-graph" bash -c 'git_questions "$0"' "$C"
		timed "$t.git2-graph" bash -c 'git_two_questions "$0"' "$C"
		timed "$t.graph" "$LKGBIN" "${FIND[@]}" -C "$C" --no-fetch --cache-dir "$WORK/$t/cache-graph"

		timed_net "$t" "$t.git-alice" git -C "$C2" fetch -q alice
		timed_net "$t" "$t.git-lsremote" git -C "$C2" ls-remote origin
		timed_net "$t" "$t.git-pulls" git -C "$C2" fetch -q origin '+refs/pull/*:refs/pr/*'

		# The registry part, in the git copy once its refs/pr/* are gone
		# (so that, unlike in lkg's clone, 12,500 refs don't drown it): a
		# warm run, then one with the commit table cached and the registry
		# metadata not; the difference is the registry's share.
		git -C "$C2" for-each-ref --format='delete %(refname)' refs/pr | git -C "$C2" update-ref --stdin
		"$LKGBIN" "${FIND[@]}" -C "$C2" --no-fetch --cache-dir "$WORK/$t/cache-reg" >/dev/null 2>&1 || true
		timed "$t.regwarm" "$LKGBIN" "${FIND[@]}" -C "$C2" --no-fetch --cache-dir "$WORK/$t/cache-reg"
		find "$WORK/$t/cache-reg" -mindepth 1 -maxdepth 1 ! -name commit-tables -exec rm -rf {} +
		timed "$t.regcold" "$LKGBIN" "${FIND[@]}" -C "$C2" --no-fetch --cache-dir "$WORK/$t/cache-reg"
		add "$t.regpart" "$(awk -v a="$(tail -1 "$WORK/$t.regcold.time" | cut -d' ' -f1)" -v b="$(tail -1 "$WORK/$t.regwarm.time" | cut -d' ' -f1)" 'BEGIN { print a - b }')"
	done
done

echo "--- skopeo inspect over $SKOPEO_SAMPLE of $NTAGS tags" >&2
curl -fsS "http://$ADDR/v2/app/tags/list?n=100000" | jq -r '.tags[]' |
	awk -v n="$NTAGS" -v k="$SKOPEO_SAMPLE" 'NR % int(n / k) == 0 && c < k { print; c++ }' >"$WORK/skopeo-tags.txt"
SAMPLE=$(wc -l <"$WORK/skopeo-tags.txt")
timed skopeo bash -c 'while read -r tag; do skopeo inspect --tls-verify=false "docker://$0:$tag" >/dev/null || exit 1; done <"$1"' "$REG" "$WORK/skopeo-tags.txt"
SKOPEO=$(awk -v s="$(median skopeo)" -v k="$SAMPLE" -v n="$NTAGS" 'BEGIN { printf "%.1f", s / k * n }')

# The table: a row per measure, the goal, then each transport's median.
mb() { awk -v b="$1" 'BEGIN { if (b == "-") print "-"; else printf "%.1f MB", b / 1e6 }'; }
s() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else printf "%.2f s", v }'; }
# verdict VALUE OP LIMIT: "ok" or "MISS".
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { if (v == "-" || l == "-") { print "?"; exit } ok = (op == "<=") ? v <= l : v >= l; print ok ? "ok" : "MISS" }'; }
row() { printf '%-52s %-34s' "$1" "$2"; shift 2; for c in "$@"; do printf ' %-18s' "$c"; done; echo; }

echo
echo "fresh-clone outage: $NCOMMITS commits, $NREFS refs upstream ($NPULL pull refs), fork with prod-7 rebased,"
echo "$NTAGS images; git over a relay paced to $(awk -v r="$RATE" 'BEGIN { print r / 1e6 }') MB/s; medians of $ROUNDS rounds; $(nproc) cores"
hdr=()
for t in $TRANSPORTS; do hdr+=("$t://"); done
row "measure" "goal" "${hdr[@]}"
cells() { # KIND NAME [LIMIT-OP LIMIT]: one cell per transport
	local kind=$1 name=$2 op=${3:-} lim=${4:-} out=() t v c
	for t in $TRANSPORTS; do
		v=$(median "$t.$name")
		case $kind in
		sum)
			v=$(echo "${VALS[$t.$name]:-}" | awk '{ for (i = 1; i <= NF; i++) n += $i } END { print n + 0 }')
			c="$v/$ROUNDS"
			;;
		s) c=$(s "$v") ;;
		mb) c=$(mb "$v") ;;
		n) c=$v ;;
		esac
		if [ -n "$op" ]; then
			l=$lim
			case $lim in @*) l=$(median "$t.${lim#@}") ;; esac
			c="$c $(verdict "$v" "$op" "$l")"
		fi
		out+=("$c")
	done
	printf '%s\n' "${out[@]}"
}
mapfile -t r < <(cells s find '<=' 3); row "lkg find (fetching), fresh clone: wall" "<= 3 s (git's minimum ~1 s)" "${r[@]}"
mapfile -t r < <(cells mb find.bytes '<=' 5000000); row "  bytes downloaded by it" "<= 5 MB" "${r[@]}"
mapfile -t r < <(cells n refs '<=' 1); row "  refs left under refs/lkg/" "<= revisions fetched (1: the twin)" "${r[@]}"
mapfile -t r < <(cells n loose); row "    of them loose files" "" "${r[@]}"
mapfile -t r < <(cells n pullrefs); row "    of them pull-request refs" "" "${r[@]}"
mapfile -t r < <(cells sum best '>=' "$ROUNDS"); row "  best build is the fork's tree match (rounds)" "yes in every round" "${r[@]}"
mapfile -t r < <(cells s cold '<=' @git-nograph); row "lkg --no-fetch, cold cache, no commit-graph" "<= git without a commit-graph" "${r[@]}"
mapfile -t r < <(cells s git-nograph); row "  git asked the same questions, no commit-graph" "" "${r[@]}"
mapfile -t r < <(cells s git2-nograph); row "  git, two of them (--contains prod-7, %T)" "" "${r[@]}"
mapfile -t r < <(cells s warm '<=' 0.3); row "lkg --no-fetch, warm cache" "<= 0.3 s" "${r[@]}"
mapfile -t r < <(cells s warm '<=' @git-graph); row "  the same" "<= git with a commit-graph" "${r[@]}"
mapfile -t r < <(cells s git-graph); row "  git asked the same questions, commit-graph" "" "${r[@]}"
mapfile -t r < <(cells s git2-graph); row "  git, two of them, commit-graph" "" "${r[@]}"
mapfile -t r < <(cells s graph); row "lkg --no-fetch, commit-graph, empty cache" "" "${r[@]}"
mapfile -t r < <(cells s regwarm); row "lkg --no-fetch warm, git's copy: alice fetched," "(what the refs under refs/lkg/ cost)" "${r[@]}"
row "  no refs/lkg/ (pull objects fetched, refs gone)" "" "" ""
mapfile -t r < <(cells s regcold); row "  the same, registry cache empty, table cached" "" "${r[@]}"
mapfile -t r < <(cells s regpart); row "  cold registry part (the difference)" ">= 100x faster than skopeo" "${r[@]}"
ratio=()
for t in $TRANSPORTS; do
	v=$(median "$t.regpart")
	x=$(awk -v a="$SKOPEO" -v b="$v" 'BEGIN { print (b > 0) ? a / b : 0 }')
	ratio+=("$(awk -v x="$x" 'BEGIN { if (x > 0) printf "%.0fx", x; else print "-" }') $(verdict "$x" '>=' 100)")
done
row "  speed-up over the skopeo loop" ">= 100x" "${ratio[@]}"
printf '%-52s %-34s %s\n' "  skopeo inspect loop, all tags" "extrapolated from $SAMPLE tags" "$SKOPEO s ($(s "$(median skopeo)") for $SAMPLE)"
echo "git itself, in a copy of the same fresh clone:"
for m in git-alice:"git fetch alice" git-lsremote:"git ls-remote origin" git-pulls:"git fetch origin refs/pull/* (today's lkg fetch)" clone:"git clone (for scale)"; do
	name=${m%%:*}
	out=()
	for t in $TRANSPORTS; do out+=("$(s "$(median "$t.$name")") $(mb "$(median "$t.$name.bytes")")"); done
	row "  ${m#*:}" "" "${out[@]}"
done
for t in $TRANSPORTS; do
	f=$WORK/$t.find.$ROUNDS.json
	[ -s "$f" ] || continue
	echo "$t:// lkg's best build (last round): $(jq -r '.best | if . == null then "none" else "\(.tags | join(",")) \(.match) \(.revision)" end' "$f"); warnings: $(jq -r '.warnings | length' "$f")"
	jq -r '.warnings[]? | "  warning: " + .' "$f" | cut -c1-200
done
