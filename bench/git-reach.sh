#!/bin/sh
# git-reach.sh: lkg's answer to "which branches hold the good commit, and
# which commits share its tree" beside git's, on a generated repository
# shaped like a large project (50,000 commits with merges, 15,000 refs:
# per-person branch namespaces, remote-tracking branches, pull refs, 500
# annotated release tags), without and with a commit-graph.
#
#   bench/git-reach.sh [WORKDIR]      (run from anywhere; needs go, git, /usr/bin/time)
#
# Environment: COMMITS (50000), REFS (15000), TAGS (500), RUNS (3).
# lkg's side is bench/gitreach, a small program calling gitops directly
# (Open, Resolve, RefStates, SameTree), and `lkg find --no-fetch` for the
# whole CLI. Each line: wall seconds and peak RSS.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"
W=${1:-$(mktemp -d)}
COMMITS=${COMMITS:-50000}
REFS=${REFS:-15000}
TAGS=${TAGS:-500}
RUNS=${RUNS:-3}
mkdir -p "$W"
cd "$here"
go build -o "$W/gitgen" ./bench/gitgen
go build -o "$W/gitreach" ./bench/gitreach
go build -o "$W/lkg" . 2>/dev/null || echo "(lkg binary did not build; skipping lkg find)"
R=$W/repo.git
gitgen_repo "$W/gitgen" "$R"
echo "repo: $(git -C "$R" rev-list --all | wc -l) commits, $(git -C "$R" for-each-ref | wc -l) refs, $(du -sh "$R" | cut -f1)"
# The good commit: a release tag in the middle of history.
GOOD=$(git -C "$R" for-each-ref --sort=creatordate --format='%(refname:short)' refs/tags | awk -v n="$TAGS" 'NR==int(n/2)')
G=$(git -C "$R" rev-parse "$GOOD^{commit}")
T=$(git -C "$R" rev-parse "$GOOD^{tree}")
echo "good: $GOOD ($G)"
echo "git: $(git -C "$R" for-each-ref --contains "$G" refs/heads refs/remotes | wc -l) branches contain it, $(git -C "$R" rev-list --all --format=%T | grep -c "^$T") commits share its tree"
echo "lkg: $("$W/gitreach" -C "$R" -good "$GOOD" -cache "$W/warm" 2>/dev/null | tr '\n' ' ')"

measure() { # label command...
	label=$1
	shift
	i=0
	while [ $i -lt "$RUNS" ]; do
		/usr/bin/time -f "%e s wall  %U+%S s cpu  %M KB" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
		printf '%-44s %s\n' "$label" "$(cat "$W/time")"
		i=$((i + 1))
	done
}
export R G GOOD W
# lkg find exits 3 here: sources, no image given.
lkgfind='"$W/lkg" find -C "$R" --good "$GOOD" --no-fetch --json; test $? -eq 3'

echo
echo "== without a commit-graph"
measure "git for-each-ref --contains + rev-list %T" sh -c 'git -C "$R" for-each-ref --contains "$G" refs/heads refs/remotes; git -C "$R" rev-list --all --format=%T'
for i in $(seq "$RUNS"); do
	rm -rf "$W/cold"
	/usr/bin/time -f "%e s wall  %U+%S s cpu  %M KB" -o "$W/time" "$W/gitreach" -C "$R" -good "$GOOD" -cache "$W/cold" >/dev/null 2>"$W/err"
	printf '%-44s %s\n' "lkg first run (object scan, empty cache)" "$(cat "$W/time")"
done
measure "lkg, table cached" "$W/gitreach" -C "$R" -good "$GOOD" -cache "$W/cold"
if [ -x "$W/lkg" ]; then
	measure "lkg find --no-fetch, table cached" env LKG_CACHE_DIR="$W/cold" sh -c "$lkgfind"
fi

echo
echo "== with a commit-graph (git commit-graph write --reachable)"
git -C "$R" commit-graph write --reachable 2>/dev/null
measure "git for-each-ref --contains + rev-list %T" sh -c 'git -C "$R" for-each-ref --contains "$G" refs/heads refs/remotes; git -C "$R" rev-list --all --format=%T'
measure "lkg from the commit-graph (no cache)" "$W/gitreach" -C "$R" -good "$GOOD" -cache "$W/nocache-$$"
if [ -x "$W/lkg" ]; then
	measure "lkg find --no-fetch, commit-graph" env LKG_CACHE_DIR="$W/nocache-$$" sh -c "$lkgfind"
fi
rm -rf "$W/nocache-$$"
