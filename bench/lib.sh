# bench/lib.sh: what the bench scripts share. Source it; it defines
# functions only.

# start_registry DIR: starts Debian's distribution registry on a free
# 127.0.0.1 port with its storage under DIR, waits until it answers, and
# sets ADDR (host:port) and REGPID. The caller's cleanup kills REGPID.
start_registry() {
	local dir=$1 port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	ADDR=127.0.0.1:$port
	cat > "$dir/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/registry
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $ADDR
  secret: lkg-bench
YML
	docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
	REGPID=$!
	for _ in $(seq 100); do curl -fsS "http://$ADDR/v2/" >/dev/null 2>&1 && return 0; sleep 0.1; done
	curl -fsS "http://$ADDR/v2/" >/dev/null
}

# gitgen_repo GITGEN REPO: makes the bare repository REPO with bench/gitgen
# (COMMITS, REFS, TAGS), repacked and with its refs packed, unless it is
# there already; either way it leaves REPO without a commit-graph.
gitgen_repo() {
	local gen=$1 repo=$2
	if [ ! -d "$repo" ]; then
		git init -q --bare "$repo"
		"$gen" -commits "$COMMITS" -refs "$REFS" -tags "$TAGS" | git -C "$repo" fast-import --quiet
		git -C "$repo" repack -adq
		git -C "$repo" pack-refs --all
	fi
	rm -rf "$repo/objects/info/commit-graph" "$repo/objects/info/commit-graphs"
}

# median_of VALUES...: prints the median of the numbers given (the mean of
# the middle two for an even count), or "-" when there are none.
median_of() {
	printf '%s\n' "$@" | sed '/^$/d' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# now: the time in seconds, to the nanosecond. since T0: seconds from T0
# (a now) to now, three decimals.
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
