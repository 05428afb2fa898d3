#!/usr/bin/env bash
# The built containerd 2.x, started on this machine (no node, no cluster) in a
# private root, state and socket, as test-helper starts Debian's 1.6:
#   1. with a config version 3 that keeps CRI on: io.containerd.cri.v1 images
#      and runtime, and the CRI service io.containerd.grpc.v1 cri, are all ok;
#   2. with the /etc/containerd/config.toml Docker's containerd.io package
#      ships (no version line, disabled_plugins = ["cri"]; the docker node's
#      copy): containerd migrates it, the CRI image and runtime plugins still
#      load, and the CRI service is not there.
# usage: check.sh (after containerd2/build.sh); root.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
. "$E2E_DIR/cluster/daemon-check.sh"

BIN=$RS_CACHE/runtimes/containerd2

# plugins NAME CONFIG -- start containerd with CONFIG, write `ctr plugins ls`
# to $W/NAME/plugins, stop it.
plugins() {
	local d=$W/$1 i
	mkdir -p "$d"
	"$BIN/containerd" --config "$2" --root "$d/root" --state "$d/state" --address "$d/c.sock" >"$d/log" 2>&1 &
	DAEMON=$!
	for ((i = 0; i < 100; i++)); do
		"$BIN/ctr" --address "$d/c.sock" plugins ls >"$d/plugins" 2>/dev/null && break
		kill -0 "$DAEMON" 2>/dev/null || break
		sleep 0.1
	done
	daemon_stop
	[[ -s $d/plugins ]] || { fail "$1: containerd did not answer: $(grep -m1 'level=\(error\|fatal\)' "$d/log")"; return 1; }
}

# status NAME TYPE ID -- a plugin's status in NAME's list ("" when absent)
status() { awk -v t="$2" -v id="$3" '$1 == t && $2 == id { print $NF }' "$W/$1/plugins"; }

main() {
	[[ -x $BIN/containerd ]] || die "$BIN/containerd missing: run tests/e2e/containerd2/build.sh (make runtimes-build)"
	check_begin containerd2
	local v
	v=$("$BIN/containerd" --version)
	[[ $v == "containerd github.com/containerd/containerd/v2 v2."* ]] && ok "$v" || fail "containerd --version: $v"
	[[ $("$BIN/containerd-shim-runc-v2" -v) == *"Version:  v2."* ]] && ok "containerd-shim-runc-v2 -v" ||
		fail "containerd-shim-runc-v2 -v"

	cat >"$W/v3.toml" <<-'EOF'
		version = 3

		[plugins.'io.containerd.cri.v1.images'.pinned_images]
		  sandbox = 'registry.k8s.io/pause:3.10'

		[plugins.'io.containerd.cri.v1.images'.registry]
		  config_path = '/etc/containerd/certs.d:/etc/docker/certs.d'

		[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
		  runtime_type = 'io.containerd.runc.v2'

		[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
		  SystemdCgroup = false

		[plugins.'io.containerd.cri.v1.runtime'.cni]
		  bin_dirs = ['/usr/lib/cni']
		  conf_dir = '/etc/cni/net.d'
	EOF
	"$BIN/containerd" --config "$W/v3.toml" config dump >/dev/null 2>"$W/dump.err" &&
		ok "config version 3: config dump" || fail "config version 3: config dump: $(cat "$W/dump.err")"
	if plugins v3 "$W/v3.toml"; then
		for p in "io.containerd.cri.v1 images" "io.containerd.cri.v1 runtime" "io.containerd.grpc.v1 cri"; do
			# shellcheck disable=SC2086 # TYPE and ID
			v=$(status v3 $p)
			[[ $v == ok ]] && ok "config version 3: $p $v" || fail "config version 3: $p '${v}'"
		done
	fi

	local dio=$E2E_DIR/node/files/docker/etc/containerd/config.toml
	grep -qx 'disabled_plugins = \["cri"\]' "$dio" || die "$dio is not containerd.io's file"
	if plugins containerd-io "$dio"; then
		for p in "io.containerd.cri.v1 images" "io.containerd.cri.v1 runtime"; do
			# shellcheck disable=SC2086
			v=$(status containerd-io $p)
			[[ $v == ok ]] && ok "containerd.io config: $p $v" || fail "containerd.io config: $p '${v}'"
		done
		v=$(status containerd-io io.containerd.grpc.v1 cri)
		[[ -z $v ]] && ok "containerd.io config: io.containerd.grpc.v1 cri disabled" ||
			fail "containerd.io config: io.containerd.grpc.v1 cri is '$v', want absent"
	fi
	test_done
}

main "$@"
