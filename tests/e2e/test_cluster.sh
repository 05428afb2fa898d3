#!/usr/bin/env bash
# Tests of the e2e cluster itself (make test-cluster): the must-shows of the
# real local cluster the product's end-to-end tests and the demo run on.
#
#   - both nodes Ready, node-1 docker://20.10.x, node-2 containerd://1.6.x,
#     kubelets v1.34.x; the seeded workload Running
#   - a privileged hostPID pod runs on node-1 (Docker)
#   - a process a pod starts on node-1 with `nsenter -t 1 ... systemd-run`
#     outlives `systemctl stop docker`
#   - the hand switch of node-1 to containerd makes it Ready on containerd://
#   - node-1 is restored from its image (docker again), then `down` leaves
#     nothing behind
#   - a 4-node set with zones (NODES=...) comes up: each node Ready on its
#     runtime, zone labels, the set shown by status and env
#   - a plain `up` then takes it down (and says so) and brings the default
#     cluster back, leaving nothing of node-3 and node-4
#
# Runs as root only; a missing prerequisite is a failure, never a skip.
# Holds the e2e lock (tests/lib/e2e.sh) from the start: it takes the
# cluster down and up.
. "$(dirname "${BASH_SOURCE[0]}")/cluster/lib.sh"
. "$E2E_DIR/../lib/test-lib.sh"
. "$E2E_DIR/../lib/e2e.sh"

RUN_ID=$$

kc() { "$KUBECTL" "$@"; }
node1() { cluster exec node-1 -- "$@"; }

# ------------------------------------------------------------ assertions ---

node_ready() {
	[[ $(kc get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}

node_runtime_is() { # NODE PATTERN
	local v
	v=$(kc get node "$1" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}')
	# shellcheck disable=SC2053
	[[ $v == $2 ]] || {
		echo "  $1 runtime: $v (want $2)" >&2
		return 1
	}
}

kubelet_version_is() { # NODE PATTERN
	local v
	v=$(kc get node "$1" -o jsonpath='{.status.nodeInfo.kubeletVersion}')
	# shellcheck disable=SC2053
	[[ $v == $2 ]] || {
		echo "  $1 kubelet: $v (want $2)" >&2
		return 1
	}
}

ready_with_runtime() { node_ready "$1" && node_runtime_is "$1" "$2" 2>/dev/null; }

server_version_is() {
	[[ $(kc version -o json | sed -n 's/.*"gitVersion": "\(v1\.34\.[0-9]*\)".*/\1/p' | tail -n1) == "$K8S_VERSION" ]]
}

cri_socket_annotation() { # NODE VALUE
	[[ $(kc get node "$1" -o jsonpath='{.metadata.annotations.kubeadm\.alpha\.kubernetes\.io/cri-socket}') == "$2" ]]
}

demo_pods_running() {
	local out
	out=$(kc get pods -n demo --no-headers) || return 1
	[[ $(grep -c ' Running ' <<<"$out") -ge 8 ]] && ! grep -qv ' Running ' <<<"$out"
}

pods_on_node() { # SELECTOR NODE -- at least one Running pod
	[[ -n $(kc get pods -n demo -l "$1" --field-selector "spec.nodeName=$2,status.phase=Running" -o name) ]]
}

web_spread() { pods_on_node app=web node-1 && pods_on_node app=web node-2; }

static_mirror_pod() {
	[[ $(kc get pod -n demo static-web-node-1 -o jsonpath='{.metadata.annotations.kubernetes\.io/config\.mirror}') != "" ]]
}

pdb_allows_one() {
	[[ $(kc get pdb -n demo web -o jsonpath='{.status.disruptionsAllowed}') == 1 ]]
}

emptydir_pod() {
	kc get pods -n demo -l app=scratch -o jsonpath='{.items[*].spec.volumes[*].emptyDir}' | grep -q '{}'
}

exec_and_logs_work() {
	[[ $(kc exec -n demo bare -- echo via-kubelet) == via-kubelet ]] && kc logs -n demo -l app=scratch --tail=1 >/dev/null
}

node1_containerd_has_no_images() {
	[[ -z $(node1 ctr -n k8s.io images ls -q) && -z $(node1 ctr images ls -q) ]]
}

node1_cri_disabled() {
	node1 grep -qx 'disabled_plugins = \["cri"\]' /etc/containerd/config.toml
}

pod_phase() { kc get pod -n default "$1" -o jsonpath='{.status.phase}' 2>/dev/null; }

pod_running() { [[ $(pod_phase "$1") == Running ]]; }

unit_active_in_node1() { [[ $(node1 systemctl is-active "$1" 2>/dev/null) == active ]]; }

no_pod_process_in_node1() { # PATTERN -- no process of the pod remains
	! node1 pgrep -f "$1" >/dev/null
}

# The privileged, hostPID pod on node-1: it sees the node's systemd as PID 1
# and starts a transient unit in the node through nsenter + systemd-run.
escape_pod_manifest() {
	cat <<-EOF
		apiVersion: v1
		kind: Pod
		metadata:
		  name: rsw-e2e-escape-$RUN_ID
		  namespace: default
		spec:
		  nodeName: node-1
		  hostPID: true
		  restartPolicy: Never
		  terminationGracePeriodSeconds: 1
		  containers:
		  - name: escape
		    image: $WORKLOAD_IMAGE
		    imagePullPolicy: Never
		    securityContext:
		      privileged: true
		    command:
		    - sh
		    - -c
		    - |
		      echo "pid1=\$(cat /proc/1/comm)"
		      nsenter -t 1 -m -u -i -n -p -- /usr/bin/systemd-run --unit rsw-e2e-escape-$RUN_ID --collect /bin/sleep 900
		      exec sleep 3600
	EOF
}

escape_pod_sees_systemd() {
	kc logs -n default "rsw-e2e-escape-$RUN_ID" | grep -qx 'pid1=systemd'
}

# The seed's hand switch of node-1 from Docker (cri-dockerd) to containerd;
# stops at the first failing step.
hand_switch_node1() {
	# The images were saved from Docker before it stopped (no registry); they
	# go into containerd's k8s.io namespace, pause also under containerd's
	# default sandbox name.
	node1 systemctl stop kubelet &&
		node1 systemctl stop docker.socket docker &&
		node1 sed -i 's/^disabled_plugins/#disabled_plugins/' /etc/containerd/config.toml &&
		# Debian's CNI plugins live in /usr/lib/cni (cri-dockerd had
		# --cni-bin-dir=/usr/lib/cni); containerd's built-in default is /opt/cni/bin.
		node1 sh -c 'printf "\n[plugins.cri.cni]\n  bin_dir = \"/usr/lib/cni\"\n  conf_dir = \"/etc/cni/net.d\"\n" >>/etc/containerd/config.toml' &&
		node1 systemctl restart containerd &&
		node1 sh -c "ctr -n k8s.io images import /var/lib/rsw-e2e/images/switch.tar >/dev/null &&
			ctr -n k8s.io images tag $PAUSE_IMAGE registry.k8s.io/pause:3.6 >/dev/null" &&
		node1 sed -i 's#--container-runtime-endpoint=unix:///var/run/cri-dockerd.sock#--container-runtime-endpoint=unix:///run/containerd/containerd.sock#' \
			/var/lib/kubelet/kubeadm-flags.env &&
		node1 systemctl start kubelet
}

# Every container of every pod on node-1 has a docker:// ID, and is running.
node1_pods_on_docker() {
	local ids
	ids=$(kc get pods -A --field-selector spec.nodeName=node-1 \
		-o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.containerID}{"|"}{.state.running.startedAt}{"\n"}{end}{end}')
	[[ -n $ids ]] && ! grep -vE '^docker://[0-9a-f]+\|[0-9T:Z-]+$' <<<"$ids"
}

# A second `up` on a healthy cluster keeps it (same API server process).
up_keeps_cluster() { # [NODES]
	local before after
	before=$(cat "$RS_STATE/run/apiserver.pid")
	NODES=${1:-} cluster up >/dev/null 2>&1 || return 1
	after=$(cat "$RS_STATE/run/apiserver.pid")
	[[ $before == "$after" ]]
}

# Nothing of the cluster may remain on the machine after `down`.
no_leftovers() {
	local bad=0 pid exe cmdline
	for pid in $(ls /proc | grep -E '^[0-9]+$'); do
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
		cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
		# (ours only: other engineers run the same binaries on ports of their own)
		if [[ ($exe == "$RS_CACHE"/* && $cmdline == *"$RS_STATE/"*) || $cmdline == *"--machine=node-"* ]]; then
			echo "  leftover process $pid: $cmdline" >&2
			bad=1
		fi
	done
	if grep -E "$RS_CACHE/nodes|/run/systemd/nspawn/propagate/node-" /proc/self/mountinfo >&2; then
		echo "  leftover mounts" >&2
		bad=1
	fi
	if ip link show "$BRIDGE" >/dev/null 2>&1; then
		echo "  leftover bridge $BRIDGE" >&2
		bad=1
	fi
	if ip -o link show | grep -E ' vb-node-' >&2; then
		echo "  leftover veth" >&2
		bad=1
	fi
	if ls -d /sys/fs/cgroup/*/"$CGROUP_PARENT" >/dev/null 2>&1; then
		echo "  leftover cgroups: $(ls -d /sys/fs/cgroup/*/"$CGROUP_PARENT")" >&2
		bad=1
	fi
	local e
	for e in "$RS_CACHE/nodes" "${STATE_ENTRIES[@]/#/$RS_STATE/}"; do
		if [[ -e $e ]]; then
			echo "  leftover node or state directory $e" >&2
			bad=1
		fi
	done
	((bad == 0))
}

# zones_are "NODE=ZONE ..." -- exactly these nodes, with these zone labels.
zones_are() {
	local got
	got=$(kc get nodes --no-headers -o custom-columns='N:.metadata.name,Z:.metadata.labels.topology\.kubernetes\.io/zone' |
		awk '{printf "%s%s=%s", sep, $1, $2; sep=" "}')
	[[ $got == "$1" ]] || {
		echo "  nodes and zones: $got (want $1)" >&2
		return 1
	}
}

# status and env name the running node set (their whole output read: under
# pipefail, grep -q leaving early would fail the writer).
set_shown() {
	local st env
	st=$(cluster status 2>/dev/null) && env=$(cluster env) &&
		grep -qxF "nodes: $1" <<<"$st" && grep -qF "RSW_E2E_NODES='$1'" <<<"$env"
}

agents_running() { # COUNT -- the DaemonSet's pods Running, one a node
	[[ $(kc get pods -n demo -l app=node-agent --field-selector status.phase=Running -o name | wc -l) -eq $1 ]]
}

# Nothing of NODE... on the machine or in the cluster any more.
nodes_gone() {
	local n bad=0
	for n in "$@"; do
		if kc get node "$n" >/dev/null 2>&1 || ip link show "vb-$n" >/dev/null 2>&1 ||
			ls -d /sys/fs/cgroup/*/"$CGROUP_PARENT/$n" >/dev/null 2>&1 || [[ -e $RS_CACHE/nodes/$n ]] ||
			pgrep -f -- "--machine=$n " >/dev/null; then
			echo "  $n is still there" >&2
			bad=1
		fi
	done
	((bad == 0))
}

# ------------------------------------------------------------------ main ---

main() {
	[[ $(id -u) -eq 0 ]] || bail_out "prerequisites: the cluster tests must run as root (systemd-nspawn nodes)"
	need systemd-nspawn nsenter ip openssl curl gcc go debootstrap busybox
	[[ -x $KUBECTL ]] || bail_out "prerequisites: no kubectl (expected /usr/lib/google-cloud-sdk/bin/kubectl.1.33)"
	ok "prerequisites (root, tools, kubectl $KUBECTL)"
	e2e_lock || bail_out "the e2e lock"

	local t0
	# From a fresh cluster: one that earlier suites used (switched node-1 back
	# and forth, drained node-1) is taken down first.
	local st
	st=$(cluster status 2>/dev/null) # (exits 1 when the cluster is down)
	if grep -q '^apiserver: running' <<<"$st"; then
		t0=$(date +%s)
		cluster down >/dev/null 2>&1
		note "the cluster was up (used by earlier suites): taken down first ($(($(date +%s) - t0)) s)"
	fi
	t0=$(date +%s)
	cluster up >"$T_TMP/up.log" 2>&1 || bail_out "cluster.sh up" "$(tail -n 30 "$T_TMP/up.log")"
	ok "cluster.sh up ($(($(date +%s) - t0)) s)"
	eval "$(cluster env)"
	check "cluster.sh env points at the admin kubeconfig" test -f "$KUBECONFIG"
	check "cluster.sh status" cluster status

	# --- nodes and versions
	check "node-1 Ready" node_ready node-1
	check "node-2 Ready" node_ready node-2
	check "node-1 runs docker://20.10.x" node_runtime_is node-1 'docker://20.10.*'
	check "node-2 runs containerd://1.6.x" node_runtime_is node-2 'containerd://1.6.*'
	check "node-1 kubelet $K8S_VERSION" kubelet_version_is node-1 "$K8S_VERSION"
	check "node-2 kubelet $K8S_VERSION" kubelet_version_is node-2 "$K8S_VERSION"
	check "API server reports $K8S_VERSION" server_version_is
	check "node-1 cri-socket annotation (kubeadm)" cri_socket_annotation node-1 unix:///var/run/cri-dockerd.sock
	check "node-2 cri-socket annotation (kubeadm)" cri_socket_annotation node-2 unix:///run/containerd/containerd.sock
	check "node-1 is systemd with real units" node1 systemctl --quiet is-active docker.service containerd.service cri-docker.service kubelet.service
	check "node-1 containerd ships with CRI disabled" node1_cri_disabled
	check "node-1 containerd holds no images" node1_containerd_has_no_images

	# --- seeded workload
	check "seeded pods all Running" wait_until 120 "every demo pod Running" demo_pods_running
	check "Deployment web spread over node-1 and node-2" web_spread
	check "static pod mirrored from node-1" static_mirror_pod
	check "PodDisruptionBudget web allows 1 disruption" wait_until 30 "PDB web to allow 1 disruption" pdb_allows_one
	check "DaemonSet pod on node-1" pods_on_node app=node-agent node-1
	check "bare pod on node-1" pods_on_node app=bare node-1
	check "emptyDir pod present" emptydir_pod
	check "kubectl exec and logs reach the kubelets" exec_and_logs_work

	# --- privileged hostPID pod on Docker, and escaping the runtime
	check "node-1 images saved from Docker for the switch" \
		node1 docker save -o /var/lib/rsw-e2e/images/switch.tar "$PAUSE_IMAGE" "$WORKLOAD_IMAGE"
	local pod=rsw-e2e-escape-$RUN_ID unit=rsw-e2e-escape-$RUN_ID
	escape_pod_manifest | kc apply -f - >/dev/null
	check "privileged hostPID pod Running on node-1 (Docker)" wait_until 60 "$pod Running" pod_running "$pod"
	check "pod sees the node's systemd as PID 1" wait_until 20 "the pod's log" escape_pod_sees_systemd
	check "pod started transient unit $unit in node-1" wait_until 20 "$unit active" unit_active_in_node1 "$unit"
	node1 systemctl stop docker.socket docker
	check "after 'systemctl stop docker' the pod's container is gone" wait_until 20 "the pod's process gone" no_pod_process_in_node1 'sleep 3600'
	check "transient unit $unit outlives docker" unit_active_in_node1 "$unit"

	# --- the hand switch (docker is already stopped)
	check "hand switch of node-1 applied (kubelet -> containerd)" hand_switch_node1
	check "node-1 Ready on containerd:// after the hand switch" wait_until 120 "node-1 Ready on containerd" ready_with_runtime node-1 'containerd://1.6.*'
	check "DaemonSet pod Running again on node-1 (containerd)" wait_until 120 "a node-agent pod Running on node-1" pods_on_node app=node-agent node-1

	# --- restore node-1 from its image (back to Docker)
	kc delete pod -n default "$pod" --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
	check "reset-node node-1" cluster reset-node node-1
	check "node-1 Ready on docker:// after reset" wait_until 120 "node-1 Ready on Docker" ready_with_runtime node-1 'docker://20.10.*'
	check "seeded pods all Running after reset" wait_until 180 "every demo pod Running" demo_pods_running
	check "node-1's pods run on Docker again" wait_until 120 "node-1's pods on Docker" node1_pods_on_docker

	# --- down leaves nothing
	t0=$(date +%s)
	check "cluster.sh down" cluster down && note "cluster.sh down took $(($(date +%s) - t0)) s"
	check "down leaves no process, mount, veth, bridge, cgroup or node" no_leftovers

	# --- a 4-node set with zones (the fleet's), then the default set again
	local fleet="node-1:docker node-2:containerd node-3:docker@zone-b node-4:docker@zone-b" n out
	t0=$(date +%s)
	if NODES=$fleet cluster up >"$T_TMP/up.log" 2>&1; then
		ok "cluster.sh up with NODES=\"$fleet\" ($(($(date +%s) - t0)) s)"
	else
		fail "cluster.sh up with NODES=\"$fleet\"" "$(tail -n 30 "$T_TMP/up.log")"
	fi
	for n in node-1 node-3 node-4; do
		check "$n Ready on docker://20.10.x" ready_with_runtime "$n" 'docker://20.10.*'
	done
	check "node-2 Ready on containerd://1.6.x" ready_with_runtime node-2 'containerd://1.6.*'
	check "zone labels: zone-a by default, zone-b as given" zones_are "node-1=zone-a node-2=zone-a node-3=zone-b node-4=zone-b"
	check "node-4 cri-socket annotation (kubeadm)" cri_socket_annotation node-4 unix:///var/run/cri-dockerd.sock
	check "status and env show the node set" set_shown "node-1:docker@zone-a node-2:containerd@zone-a node-3:docker@zone-b node-4:docker@zone-b"
	check "seeded pods all Running, a node-agent on each of the 4 nodes" wait_until 60 "4 node-agents Running" agents_running 4
	check "... and the rest of the seeded workload" demo_pods_running
	check "up with the same NODES keeps the running cluster" up_keeps_cluster "$fleet"
	t0=$(date +%s)
	if out=$(cluster up 2>&1 >/dev/null); then
		ok "cluster.sh up (the default set) after the 4-node set ($(($(date +%s) - t0)) s)"
	else
		fail "cluster.sh up (the default set) after the 4-node set" "$(tail -n 30 <<<"$out")"
	fi
	check "... took the 4-node cluster down first and said so" grep -q 'taking the running one down first' <<<"$out"
	check "node-1 Ready on docker:// after up again" ready_with_runtime node-1 'docker://20.10.*'
	check "node-2 Ready on containerd:// after up again" ready_with_runtime node-2 'containerd://1.6.*'
	check "nothing left of node-3 and node-4" nodes_gone node-3 node-4
	check "status and env show the default set" set_shown "node-1:docker@zone-a node-2:containerd@zone-a"
	check "up is idempotent (second up keeps the running cluster)" up_keeps_cluster

	test_done
}

main "$@"
