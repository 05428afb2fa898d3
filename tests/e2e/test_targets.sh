#!/usr/bin/env bash
# The switch's targets beyond Debian's containerd 1.6, on the real cluster
# (issue 14): containerd 2.x and CRI-O, built from their Go modules
# (make runtimes-build), each installed on a Docker node of its own.  TAP.
#   tests/e2e/test_targets.sh [CASE...]     cases: containerd2 crio (default: both)
#
# The node set (tests/e2e/node/kinds/):
#   node-1  docker-containerd2  Debian's Docker 20.10 through cri-dockerd, its
#           containerd the v2.4.2 build with containerd.io's config.toml
#   node-2  docker-crio         the same Docker node with CRI-O v1.34.0
#           installed beside it, stopped (Debian's conmon, runc, podman)
# For each target, on its node: `node --to TARGET` (the node reports the
# target's version, the seeded pods run again on it without a pull: their
# images were carried, the plugin's verify pod passed, the run's record says
# done), a reboot (cluster.sh restart-node) after which the node is Ready on
# the target, then `--to cri-dockerd` back to Docker.
#
# Both variant nodes are in one set, so the suite costs one cluster start.
# It ends with the cluster as it found it: the default set brought up again
# when the cluster was up with it, down otherwise (make test runs it last,
# after test-legacy left the cluster down: no bring-up is spent on a restore).
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/test-lib.sh
source tests/lib/e2e.sh
source tests/e2e/switch/lib.sh

TARGET_NODES="node-1:docker-containerd2 node-2:docker-crio"
CONTAINERD2_VERSION=2.4.2
CRIO_MINOR=1.34

need jq
[[ -x $PLUGIN ]] || bail_out "build the plugin first: $PLUGIN"
# the variant images (cached: about 1 s when built; see kinds/docker-*.sh)
NODES=$TARGET_NODES cluster build >"$WORK/build.log" 2>&1 ||
	bail_out "cluster.sh build for NODES=\"$TARGET_NODES\"" "$(tail -n 20 "$WORK/build.log")"
e2e_lock || bail_out "the e2e lock"
note "work directory: $WORK"

# ---------------------------------------------------------------- helpers ---

# tnode NODE CMD...: CMD inside NODE
tnode() { local n=$1; shift; cluster exec "$n" -- "$@"; }
# The seeded pods: all Running and Ready; NODE's on RUNTIME.
pods_on() { NODE=$1 demo_running_on "$2"; }
on() { NODE=$1 on_runtime "$2"; }

switch_node() { # switch_node NODE TARGET TAG
	local node=$1 to=$2 tag=$3 rc
	PATH="$BIN:$PATH" "$KUBECTL_DISPATCH" runtime-switch node "$node" --to "$to" --yes \
		"${DRAIN_FLAGS[@]}" >"$WORK/switch-$tag.out" 2>&1
	rc=$?
	check "[$tag] kubectl runtime-switch node $node --to $to: exit 0 ($rc)" [ $rc -eq 0 ] ||
		sed 's/^/#     /' "$WORK/switch-$tag.out"
	grep -E '^\s+(NotReady window|phases):' "$WORK/switch-$tag.out" | while read -r l; do note "[$tag] $l"; done
	return $rc
}

# What every switch must leave: the node Ready on RUNTIME and uncordoned, the
# verify pod's verdict, the record done, nothing of the run left, the seeded
# pods Running again (imagePullPolicy Never: they run only if the images
# were carried into the target's storage).
after_switch() { # after_switch NODE RUNTIME-GLOB TAG
	local node=$1 want=$2 tag=$3 v rt=${2%%://*}
	v=$(runtime_of "$node")
	check "[$tag] $node reports $want ($v)" matches "$v" "$want"
	check "[$tag] $node Ready and uncordoned" ready_uncordoned "$node"
	check "[$tag] the verify pod ran a container on $node on $rt" \
		grep -qE "\] verify +node $node is Ready on $want; a container ran there \(pod rsw-[0-9a-f-]+-verify-" "$WORK/switch-$tag.out"
	check "[$tag] the record says done" matches "$(node_annotation runtime-switch.kubectl.dev/state "$node")" "* done"
	check "[$tag] no Job, ConfigMap or Secret left" [ -z "$(leftovers)" ]
	check "[$tag] seeded pods Running on $rt without a pull (images carried)" \
		wait_until 180 "demo pods on $node Running on $rt" pods_on "$node" "$rt"
}

reboot_node() { # reboot_node NODE RUNTIME UNIT TAG
	local node=$1 rt=$2 unit=$3 tag=$4 t0=$SECONDS
	cluster restart-node "$node" >"$WORK/reboot-$tag.log" 2>&1 ||
		note "$(tail -n 5 "$WORK/reboot-$tag.log")"
	check "[$tag] after a reboot: $node Ready on $rt" wait_until 180 "$node Ready on $rt" on "$node" "$rt"
	note "[$tag] reboot to Ready: $((SECONDS - t0)) s"
	check "[$tag] ... $unit active and enabled" \
		matches "$(tnode "$node" systemctl is-active "$unit") $(tnode "$node" systemctl is-enabled "$unit")" "active enabled"
	check "[$tag] ... Docker disabled and stopped" \
		matches "$(tnode "$node" systemctl is-active docker.service) $(tnode "$node" systemctl is-enabled docker.service)" "inactive disabled"
	check "[$tag] ... no unit of the switch left" \
		[ -z "$(tnode "$node" systemctl list-units --all --no-legend 'kubectl-runtime-switch-*')" ]
	check "[$tag] ... seeded pods Running on $rt" wait_until 180 "demo pods on $node Running on $rt" pods_on "$node" "$rt"
}

back_to_docker() { # back_to_docker NODE TAG
	local node=$1 tag=$2
	restore_bare_pod_on "$node"
	switch_node "$node" cri-dockerd "$tag" || return
	after_switch "$node" "docker://20.10.*" "$tag"
	check "[$tag] kubeadm's cri-socket annotation names cri-dockerd" \
		[ "$(node_annotation kubeadm.alpha.kubernetes.io/cri-socket "$node")" = unix:///var/run/cri-dockerd.sock ]
}

ready_uncordoned() { node_ready "$1" && ! node_unschedulable "$1"; }
# containerd's CRI on NODE: the CRI service (io.containerd.grpc.v1 cri) and,
# on 2.x, the images and runtime plugins (io.containerd.cri.v1) all "ok"
cri_ok() {
	local out
	out=$(tnode "$1" ctr plugins ls) || return 1
	printf '%s\n' "$out" | awk '($1 == "io.containerd.grpc.v1" && $2 == "cri") || $1 == "io.containerd.cri.v1"' >"$WORK/cri-plugins"
	cat "$WORK/cri-plugins"
	[[ -s $WORK/cri-plugins ]] && awk '$NF != "ok" { bad = 1 } END { exit bad }' "$WORK/cri-plugins"
}

cri_service_ok() { tnode "$1" ctr plugins ls | awk '$1 == "io.containerd.grpc.v1" && $2 == "cri" && $NF == "ok" { f = 1 } END { exit !f }'; }

# The bare pod back on the first node (a drain with --force deletes it).
restore_bare_pod_on() { [[ $1 != node-1 ]] || restore_bare_pod; }

# ------------------------------------------------------------------ cases ---

case_containerd2() {
	local n=node-1 v dump
	v=$(runtime_of $n)
	check "[containerd2] before: $n on docker://20.10.x ($v)" matches "$v" "docker://20.10.*"
	v=$(tnode $n containerd --version)
	check "[containerd2] Docker's containerd is v$CONTAINERD2_VERSION ($v)" matches "$v" "* v$CONTAINERD2_VERSION *"
	check "[containerd2] ... Docker 20.10 runs the seeded pods on it" pods_on $n docker
	check "[containerd2] ... with containerd.io's config.toml: no CRI service" not cri_service_ok $n
	switch_node $n containerd to-containerd2 || return
	after_switch $n "containerd://$CONTAINERD2_VERSION" to-containerd2
	dump=$(tnode $n containerd config dump 2>/dev/null)
	printf '%s\n' "$dump" >"$WORK/containerd2-dump.toml"
	check "[to-containerd2] containerd config dump: version 4 (v2.4.2's migration of containerd.io's file)" grep -qx 'version = 4' <<<"$dump"
	check "[to-containerd2] ... the CRI plugins not disabled" not grep -qE '^disabled_plugins = .*cri' <<<"$dump"
	check "[to-containerd2] ... SystemdCgroup = false for the kubelet's cgroupfs driver" \
		grep -q 'SystemdCgroup = false' <<<"$dump"
	check "[to-containerd2] ... the sandbox image is the kubelet's (pinned_images.sandbox)" \
		grep -qE "sandbox = .registry\.k8s\.io/pause:3\.10." <<<"$dump"
	check "[to-containerd2] ctr plugins ls: the CRI service and its images and runtime plugins ok" cri_ok $n
	reboot_node $n containerd containerd.service to-containerd2
	back_to_docker $n from-containerd2
	v=$(tnode $n containerd --version)
	check "[from-containerd2] Docker again on containerd v$CONTAINERD2_VERSION ($v)" matches "$v" "* v$CONTAINERD2_VERSION *"
	check "[from-containerd2] ... and no CRI pod of containerd's left running (ctr -n k8s.io tasks ls)" \
		matches "$(tnode $n ctr -n k8s.io tasks ls -q 2>/dev/null)" ""
}

case_crio() {
	local n=node-2 v conf
	v=$(runtime_of $n)
	check "[crio] before: $n on docker://20.10.x ($v)" matches "$v" "docker://20.10.*"
	v=$(tnode $n crio --version | head -n1)
	check "[crio] CRI-O $CRIO_MINOR installed, stopped ($v)" \
		bash -c "[[ '$v' == 'crio version $CRIO_MINOR.'* && \$1 == inactive ]]" _ "$(tnode $n systemctl is-active crio.service)"
	switch_node $n cri-o to-crio || return
	after_switch $n "cri-o://$CRIO_MINOR.*" to-crio
	conf=$(tnode $n crio config 2>/dev/null)
	printf '%s\n' "$conf" >"$WORK/crio-config.toml"
	check "[to-crio] crio config: cgroup_manager cgroupfs as the kubelet's" grep -qE '^\s*cgroup_manager = "cgroupfs"' <<<"$conf"
	check "[to-crio] ... pause_image the kubelet's sandbox image" grep -qE '^\s*(# )?pause_image = "registry\.k8s\.io/pause:3\.10"' <<<"$conf"
	check "[to-crio] ... runc as the default runtime (crun is not installed)" grep -qE '^\s*default_runtime = "runc"' <<<"$conf"
	check "[to-crio] ... Debian's CNI plugins (/usr/lib/cni) in plugin_dirs" grep -q '"/usr/lib/cni"' <<<"$conf"
	v=$(tnode $n podman images --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')
	check "[to-crio] the seeded images are in CRI-O's storage ($v)" matches "$v" "*localhost/busybox:1 registry.k8s.io/pause:3.10*"
	reboot_node $n cri-o crio.service to-crio
	back_to_docker $n from-crio
	check "[from-crio] CRI-O stopped (not failed) and disabled" \
		matches "$(tnode $n systemctl is-active crio.service) $(tnode $n systemctl is-enabled crio.service)" "inactive disabled"
	check "[from-crio] ... none of its containers left running (no conmon: each container has one until it ends)" \
		matches "$(tnode $n pgrep -a -x conmon)" ""
}

# -------------------------------------------------------------------- run ---

CASES=("$@")
[[ ${#CASES[@]} -gt 0 ]] || CASES=(containerd2 crio)
# What to leave: the default set up again if it was up, else nothing.
RESTORE=down
st=$(cluster status 2>/dev/null) && grep -q '^apiserver: running' <<<"$st" &&
	[[ $(cluster env) != *"RSW_E2E_NODES="*docker-c* ]] && RESTORE=up
at_exit 'kill $(jobs -p) 2>/dev/null; restore_cluster'
restore_cluster() {
	local t0=$SECONDS
	cluster down >/dev/null 2>&1 || note "cluster.sh down failed"
	if [[ $RESTORE == up ]]; then
		cluster up >"$WORK/restore-up.log" 2>&1 || note "cluster.sh up (the default set) failed: $(tail -n 5 "$WORK/restore-up.log")"
	fi
	note "the cluster left $RESTORE ($((SECONDS - t0)) s)"
}
t0=$SECONDS
if ! NODES=$TARGET_NODES cluster up >"$WORK/up.log" 2>&1; then
	bail_out "cluster.sh up with NODES=\"$TARGET_NODES\"" "$(tail -n 30 "$WORK/up.log")"
fi
eval "$(cluster env)"
ok "cluster up with NODES=\"$TARGET_NODES\" ($((SECONDS - t0)) s)"
k delete namespace "$WORK_NS" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1
# Each case starts with every node schedulable: a case that failed leaves
# its node cordoned (the switch's rule after a rollback), which would leave
# the demo pods of the next case's node nowhere to go under their budget.
uncordon_all() {
	local n
	for n in $(k get nodes -o jsonpath='{range .items[?(@.spec.unschedulable)]}{.metadata.name}{"\n"}{end}'); do
		note "$n was left cordoned: uncordoned for the next case"
		k uncordon "$n" >/dev/null
	done
}
for c in "${CASES[@]}"; do
	note "== $c"
	uncordon_all
	t0=$SECONDS
	"case_$c"
	note "== $c: $((SECONDS - t0)) s"
done
test_done
