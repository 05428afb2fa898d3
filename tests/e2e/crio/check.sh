#!/usr/bin/env bash
# The built CRI-O, run on this machine (no node, no cluster), with Debian's
# conmon and runc and the built pinns:
#   1. crio --version / crio version: 1.34, seccomp compiled in;
#   2. crio --config FILE config / version accept a config of the shape the
#      helper writes (cgroupfs, runc, pause image, CNI dirs) and print its
#      values back; a config naming a runtime it does not define is refused;
#   3. crio started with that config in a private root, run root and socket
#      answers over its socket (`crio status`) with the configured values;
#   4. pinns pins UTS, IPC and network namespaces (nsfs mounts).
# Note: `crio config` and `crio version` check the file's syntax and tables
# only; a wrong value (a cgroup_manager of "bogus", a missing conmon) passes
# them and fails only when crio starts, hence step 3.
# usage: check.sh (after crio/build.sh); root; conmon and runc installed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
. "$E2E_DIR/cluster/daemon-check.sh"

BIN=$RS_CACHE/runtimes/crio

# crio_q ARGS... -- crio with the private config, no drop-in directory
crio_q() { "$BIN/crio" --config "$W/crio.conf" --config-dir "$W/conf.d" "$@" 2>>"$W/crio.err"; }

write_config() {
	mkdir -p "$W/conf.d" "$W/cni" "$W/log"
	# Every path crio would otherwise create or read on the machine points
	# into $W; the rest is the shape the helper writes for a cgroupfs node.
	cat >"$W/crio.conf" <<-EOF
		[crio]
		root = "$W/root"
		runroot = "$W/runroot"
		log_dir = "$W/log"
		version_file = "$W/version"
		version_file_persist = "$W/version-persist"
		clean_shutdown_file = "$W/clean.shutdown"

		[crio.api]
		listen = "$W/crio.sock"

		[crio.runtime]
		default_runtime = "runc"
		cgroup_manager = "cgroupfs"
		conmon_cgroup = "pod"
		pinns_path = "$BIN/pinns"
		container_exits_dir = "$W/exits"
		container_attach_socket_dir = "$W/attach"
		namespaces_dir = "$W/ns"
		decryption_keys_path = "$W/keys"
		irqbalance_config_file = "$W/irqbalance"
		irqbalance_config_restore_file = "disable"

		[crio.runtime.runtimes.runc]
		runtime_path = "/usr/sbin/runc"
		runtime_type = "oci"
		runtime_root = "$W/runc"
		monitor_path = "/usr/bin/conmon"

		[crio.image]
		pause_image = "registry.k8s.io/pause:3.10"
		signature_policy_dir = "$W/policies"

		[crio.network]
		network_dir = "$W/cni/"
		plugin_dirs = ["/usr/lib/cni", "/opt/cni/bin/"]

		[crio.metrics]
		enable_metrics = false

		[crio.nri]
		enable_nri = false
	EOF
}

# has TEXT WANT... -- every WANT line (`key = value`) in TEXT, as crio prints
# it: indented, and commented out where the value is crio's default
has() {
	local lines w
	lines=$(sed 's/^[[:space:]]*\(# \)\{0,1\}//' <<<"$1")
	shift
	for w in "$@"; do
		grep -qxF "$w" <<<"$lines" || return 1
	done
}

main() {
	require_cmd conmon runc
	[[ -x $BIN/crio && -x $BIN/pinns ]] || die "$BIN/crio missing: run tests/e2e/crio/build.sh (make runtimes-build)"
	check_begin crio
	local v out i
	v=$("$BIN/crio" --version | head -n1)
	[[ $v == "crio version 1.34."* ]] && ok "$v" || fail "crio --version: $v"
	write_config
	out=$(crio_q version) || true
	grep -q '^SeccompEnabled: *true' <<<"$out" && ok "crio version: seccomp enabled" ||
		fail "crio version: seccomp not enabled: $(tail -n3 "$W/crio.err")"

	local -a want=('cgroup_manager = "cgroupfs"' 'default_runtime = "runc"'
		'pause_image = "registry.k8s.io/pause:3.10"' 'monitor_path = "/usr/bin/conmon"')
	out=$(crio_q config) || true
	has "$out" "${want[@]}" && ok "crio config: the config's values" ||
		fail "crio config: $(tail -n3 "$W/crio.err")"
	sed 's/^default_runtime = "runc"/default_runtime = "nope"/' "$W/crio.conf" >"$W/bad.conf"
	if "$BIN/crio" --config "$W/bad.conf" --config-dir "$W/conf.d" config >/dev/null 2>"$W/bad.err"; then
		fail "crio config accepted a default_runtime with no runtime table"
	else
		grep -q 'no runtime entry table \[crio.runtime.runtimes.nope\]' "$W/bad.err" &&
			ok "crio config refuses an undefined default_runtime" || fail "crio config: $(tail -n1 "$W/bad.err")"
	fi

	crio_q >"$W/daemon.log" 2>&1 &
	DAEMON=$!
	for ((i = 0; i < 150; i++)); do
		out=$("$BIN/crio" status --socket "$W/crio.sock" config 2>/dev/null) && break
		kill -0 "$DAEMON" 2>/dev/null || break
		sleep 0.2
	done
	has "$out" "${want[@]}" && ok "crio started; its socket reports the config's values" ||
		fail "crio did not start: $(grep -m2 'level=\(error\|fatal\)' "$W/daemon.log")"
	out=$("$BIN/crio" status --socket "$W/crio.sock" info 2>/dev/null) || true
	grep -qx 'storage driver: overlay' <<<"$out" && ok "crio status info: overlay storage" ||
		fail "crio status info: $out"
	daemon_stop

	mkdir "$W/pins"
	"$BIN/pinns" -d "$W/pins" -f t1 -u -i -n 2>"$W/pinns.err" || fail "pinns: $(cat "$W/pinns.err")"
	local n
	n=$(awk -v p="$W/pins/" 'index($2, p) == 1 && $3 == "nsfs"' /proc/mounts | wc -l)
	[[ $n == 3 ]] && ok "pinns pinned 3 namespaces" || fail "pinns: $n nsfs mounts under $W/pins, want 3"
	test_done
}

main "$@"
