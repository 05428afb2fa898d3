# What an operator does by hand on a legacy node, for the legacy suite and
# make demo-legacy (sourced after tests/e2e/switch/lib.sh and lib.sh; test
# harness only, nothing here is product behaviour).

# The node's kubelet binary replaced, as the kubelet package of the new
# version (`kubeadm upgrade node` leaves the flag files as they are), and
# restarted: install_kubelet FILE (LEGACY_KBIN: v1.24.17, LEGACY_KUBELET:
# v1.23.17).
install_kubelet() {
	local root=$RS_CACHE/nodes/$NODE/rootfs
	install -m 755 "$1" "$root/usr/bin/kubelet.new" &&
		mv -f "$root/usr/bin/kubelet.new" "$root/usr/bin/kubelet" &&
		node_exec systemctl restart kubelet
}
# The kubelet does not run, and its journal of the last minute says why.
kubelet_refuses() {
	local log
	log=$(node_exec journalctl -u kubelet --since "-60s" --no-pager -o cat 2>/dev/null |
		grep -E 'Error: (failed|unknown)|unsupported CRI runtime' | tail -n 1)
	[[ -n $log && $(node_exec systemctl is-active kubelet || true) != active ]] || return 1
	note "kubelet: $log"
}
kubelet_version() { k get node "${1:-$NODE}" -o jsonpath='{.status.nodeInfo.kubeletVersion}'; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# Ready with a heartbeat at or after $1 (RFC 3339): an old status does not count.
ready_since() { # ready_since TIME [NODE]
	local s
	s=$(k get node "${2:-$NODE}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}') || return 1
	[[ ${s%% *} == True && ! ${s#* } < $1 ]]
}
