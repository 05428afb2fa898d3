#!/usr/bin/env bash
# make test-legacy (issue 13): the project's own case on a real v1.23 kubelet.
# The legacy cluster flavour (CLUSTER=legacy: control plane v1.24.17 as after
# `kubeadm upgrade apply`, etcd 3.5.4, kubelets v1.23.17) with node-1 on
# Debian's Docker 20.10 through the kubelet's built-in dockershim (kind
# "dockershim": kubeadm 1.23's flags, the CNI directories in
# /etc/default/kubelet, containerd.io's config.toml with the CRI plugin
# disabled, the systemd cgroup driver) and node-2 on containerd 1.6.
#
# One node, one chain of real runs through the real kubectl, each step
# starting where the previous one left node-1:
#  1. status names node-1 a dockershim node that must switch before its
#     kubelet goes to 1.24, and --pods the pod that mounts docker.sock;
#  2. the control: the kubelet upgraded to v1.24.17 on the unswitched node
#     does not start (dockershim's flags are gone in 1.24); v1.23.17 back;
#  3. node --to cri-dockerd (the other official path): docker:// through
#     cri-dockerd, --container-runtime=remote, no flag 1.24 removed;
#  4. rollback node: dockershim again, the node's files and units as seeded;
#  5. node --to containerd: containerd:// with the CRI plugin on and the
#     systemd cgroup driver, the seeded images carried (no registry);
#  6. the payoff: the kubelet upgraded to v1.24.17 on the switched node comes
#     up Ready on containerd, the demo workload Running on it.
# The suite ends with the legacy cluster down (the next suite brings up the
# one it needs).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$RS_ROOT/tests/lib/e2e.sh"
. "$RS_ROOT/tests/e2e/switch/lib.sh"
. "$RS_ROOT/tests/e2e/legacy/lib.sh"
. "$RS_ROOT/tests/e2e/legacy/node.sh"
need jq sha256sum
export CLUSTER=legacy
# The legacy flavour's kubectl (the oldest on the machine; see its flavour).
KUBECTL=/usr/lib/google-cloud-sdk/bin/kubectl.1.27
[[ -x $PLUGIN ]] || bail_out "build the plugin first: $PLUGIN"

e2e_begin || bail_out "the legacy e2e cluster did not come up"
at_exit 'cluster down >/dev/null 2>&1'

flags_env() { node_exec cat /var/lib/kubelet/kubeadm-flags.env; }
extra_args() { node_exec cat /etc/default/kubelet; }
# No flag that the v1.24 kubelet refuses, in any file it reads flags from.
no_removed_flags() {
	local bad
	bad=$({ flags_env; extra_args; } | grep -oE -- '--(network-plugin|cni-[a-z-]+|docker-endpoint|container-runtime=docker)[^ "]*' || true)
	[[ -z $bad ]] || { note "still there: $bad"; return 1; }
}
switch_to() { # switch_to RUNTIME TAG
	kplugin node "$NODE" --to "$1" --yes "${DRAIN_FLAGS[@]}" >"$WORK/$2.out" 2>&1
	local rc=$?
	note "$(grep -E '^(phase|switched|node/)|took|NotReady' "$WORK/$2.out" | tail -n 4)"
	((rc == 0)) || { tail -n 30 "$WORK/$2.out"; return 1; }
}
# Every pod of the demo namespace on node-1 runs with containers of SCHEME.
demo_on() { wait_until 180 "demo pods Running on $1" demo_running_on "$1"; }

SEEDED=$(node_fingerprint)

# --- 1. status on the legacy nodes --------------------------------------
t_status() {
	local out
	out=$(kplugin status 2>&1) || { echo "$out"; return 1; }
	note "$(grep -E '^(NAME|node-)' <<<"$out")"
	grep -E "^node-1 .*dockershim" <<<"$out" | grep -qi 'must switch before.*1\.24' || { echo "$out"; return 1; }
	grep -E "^node-2 " <<<"$out" | grep -vqi dockershim
}
check "status: node-1 is a dockershim node that must switch before its kubelet goes to 1.24" t_status
# A CI agent's pod on node-1 that mounts the Docker socket (deleted after).
t_status_pods() {
	local out
	k apply -f - >/dev/null <<-EOF || return 1
		apiVersion: v1
		kind: Pod
		metadata: {name: ci-agent, namespace: default}
		spec:
		  nodeSelector: {kubernetes.io/hostname: $NODE}
		  terminationGracePeriodSeconds: 0
		  containers:
		  - name: agent
		    image: $WORKLOAD_IMAGE
		    imagePullPolicy: Never
		    command: ["sleep", "1000000"]
		    volumeMounts: [{name: docker, mountPath: /var/run/docker.sock}]
		  volumes: [{name: docker, hostPath: {path: /var/run/docker.sock, type: Socket}}]
	EOF
	k wait --for=condition=Ready pod/ci-agent -n default --timeout=60s >/dev/null || return 1
	out=$(kplugin status --pods 2>&1) || { echo "$out"; return 1; }
	k delete pod ci-agent -n default --wait=false >/dev/null
	grep 'default/ci-agent' <<<"$out" | grep -q 'docker.sock' || { echo "$out"; return 1; }
}
check "status --pods names the pod that mounts the Docker socket" t_status_pods

# --- 2. the control: v1.24 on the unswitched node -------------------------
t_control() {
	install_kubelet "$LEGACY_KBIN" || return 1
	wait_until 60 "the v1.24.17 kubelet to refuse the dockershim node" kubelet_refuses && kubelet_refuses
}
check "control: the v1.24.17 kubelet does not start on the unswitched dockershim node" t_control
t_back_to_123() {
	local t0
	t0=$(now)
	install_kubelet "$LEGACY_KUBELET" &&
		wait_until 90 "node-1 Ready on v1.23.17" ready_since "$t0" &&
		[[ $(kubelet_version) == v1.23.17 && $(runtime_of) == docker://* ]]
}
check "the v1.23.17 kubelet back: node-1 Ready on dockershim" t_back_to_123

# --- 3. --to cri-dockerd ------------------------------------------------
t_cri_dockerd() {
	switch_to cri-dockerd to-cri-dockerd || return 1
	[[ $(runtime_of) == docker://* && $(kubelet_version) == v1.23.17 ]] || { note "runtime $(runtime_of)"; return 1; }
	flags_env | grep -q -- '--container-runtime=remote' &&
		flags_env | grep -q -- '--container-runtime-endpoint=unix:///var/run/cri-dockerd.sock' || { flags_env; return 1; }
	no_removed_flags || return 1
	[[ $(node_exec systemctl is-active cri-docker.service) == active && $(node_exec systemctl is-enabled cri-docker.service) == enabled ]] || return 1
	# cri-dockerd runs with the kubelet's CNI directory and pause image (the
	# package's unit has neither: the helper's drop-in carries them)
	local cmd
	cmd=$(node_exec sh -c 'tr "\0" " " </proc/$(systemctl show -p MainPID --value cri-docker.service)/cmdline')
	note "cri-dockerd: $cmd"
	[[ $cmd == *--cni-bin-dir=/usr/lib/cni* && $cmd == *"--pod-infra-container-image=$PAUSE_IMAGE"* ]] || return 1
	demo_on docker
}
check "node --to cri-dockerd: docker:// through cri-dockerd, --container-runtime=remote, no flag 1.24 removed" t_cri_dockerd

# --- 4. rollback to dockershim ----------------------------------------------
t_rollback() {
	kplugin rollback node "$NODE" --yes "${DRAIN_FLAGS[@]}" >"$WORK/rollback.out" 2>&1 || { tail -n 30 "$WORK/rollback.out"; return 1; }
	wait_until 90 "node-1 Ready" node_ready || return 1
	[[ $(runtime_of) == docker://* ]] || return 1
	diff <(printf '%s\n' "$SEEDED") <(node_fingerprint) || return 1
	restore_bare_pod && demo_on docker
}
check "rollback node: dockershim again, every file and unit as seeded" t_rollback

# --- 5. --to containerd -------------------------------------------------
t_containerd() {
	switch_to containerd to-containerd || return 1
	[[ $(runtime_of) == containerd://1.6.* && $(kubelet_version) == v1.23.17 ]] || { note "runtime $(runtime_of)"; return 1; }
	flags_env | grep -q -- '--container-runtime-endpoint=unix:///run/containerd/containerd.sock' || { flags_env; return 1; }
	no_removed_flags || return 1
	node_exec grep -q 'SystemdCgroup = true' /etc/containerd/config.toml || { note "SystemdCgroup not true"; return 1; }
	not node_exec grep -q '^disabled_plugins = \["cri"\]' /etc/containerd/config.toml || return 1
	restore_bare_pod && demo_on containerd
}
check "node --to containerd: containerd:// on v1.23.17, CRI on, systemd cgroups, images carried" t_containerd
t_images() { # nothing was pulled: the workload image is in containerd's k8s.io namespace
	local images
	images=$(node_exec ctr -n k8s.io images ls -q) || return 1
	grep -qx "$WORKLOAD_IMAGE" <<<"$images" || { echo "$images"; return 1; }
}
check "the seeded images carried from Docker into containerd" t_images

# --- 6. the payoff ------------------------------------------------------------
t_payoff() {
	local t0
	t0=$(now)
	install_kubelet "$LEGACY_KBIN" || return 1
	wait_until 120 "node-1 Ready on v1.24.17" ready_since "$t0" || return 1
	[[ $(kubelet_version) == v1.24.17 && $(runtime_of) == containerd://* ]] || { note "$(kubelet_version) $(runtime_of)"; return 1; }
	demo_on containerd
}
check "payoff: the v1.24.17 kubelet comes up Ready on the switched node" t_payoff

test_done
