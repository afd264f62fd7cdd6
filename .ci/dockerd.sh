#!/usr/bin/env bash
# Start or stop a private Docker engine for lkg's integration tests.
#
#   .ci/dockerd.sh start   # prints: export DOCKER_HOST=unix://...
#   .ci/dockerd.sh stop
#
# The engine gets its own data root, exec root, pidfile and socket under
# LKG_DOCKERD_DIR (default /tmp/lkg-dockerd), so it never touches a system
# engine. vfs storage and no networking (--bridge=none, no iptables) because
# CI machines have neither overlayfs in every kernel nor a reachable network;
# test images are built FROM scratch and never pulled.
set -euo pipefail

dir=${LKG_DOCKERD_DIR:-/tmp/lkg-dockerd}
sock="$dir/docker.sock"
pidfile="$dir/dockerd.pid"

start() {
	mkdir -p "$dir/data" "$dir/exec"
	if [ -S "$sock" ] && DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; then
		echo "export DOCKER_HOST=unix://$sock"
		return 0
	fi
	rm -f "$pidfile" "$sock"
	command -v dockerd >/dev/null || { echo "dockerd.sh: dockerd not installed (apt-get install docker.io)" >&2; return 1; }
	# setsid keeps the engine out of the caller's process group, so a Ctrl-C
	# in the calling script does not take it down half-way.
	setsid dockerd \
		--storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
		--data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$pidfile" \
		-H "unix://$sock" >"$dir/dockerd.log" 2>&1 </dev/null &
	for _ in $(seq 1 120); do
		if DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; then
			echo "export DOCKER_HOST=unix://$sock"
			return 0
		fi
		sleep 0.5
	done
	echo "dockerd.sh: engine did not answer within 60s; last log lines:" >&2
	tail -n 20 "$dir/dockerd.log" >&2 || true
	return 1
}

stop() {
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
		sleep 0.5
	done
	echo "dockerd.sh: engine $pid still running after 30s; killing" >&2
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$pidfile"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
