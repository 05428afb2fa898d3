#!/usr/bin/env bash
# `kubectl runtime-switch node` and `rollback node` on the real cluster
# (tests/e2e/cluster.sh up), through the real kubectl.  TAP output.
#   tests/e2e/test_switch.sh [CASE...]
# Cases (default: all, in this order): refusals forged dry_run switch
# reboot roundtrip rollback failure resume concurrent trust interrupt
# (switch/trust.sh).  Every run ends with node-1 back in the seeded state
# (on Docker, uncordoned, the bare pod back).  The cluster is brought up
# when it is not (under the e2e lock, held to the end).
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/test-lib.sh
source tests/lib/e2e.sh
source tests/lib/fault.sh
source tests/e2e/switch/lib.sh
source tests/e2e/switch/trust.sh

need jq python3 /usr/bin/time musl-gcc
[[ -x $PLUGIN ]] || bail_out "build the plugin first: $PLUGIN"
e2e_begin || bail_out "the e2e cluster is not up"
# what the suite started in the background ends with it (a kubectl --watch
# left behind would keep watching, and writing, after the suite)
at_exit 'kill $(jobs -p) 2>/dev/null; fault_proxy_stop; restore_seeded'
note "work directory: $WORK"

# ---------------------------------------------------------------- cases ---

case_refusals() {
	local out rc
	out=$(kplugin node node-2 --to containerd --yes 2>&1); rc=$?
	check "node-2 already on containerd: exit 3 ($rc)" [ $rc -eq 3 ]
	check "... and says so" grep -q "already runs containerd" <<<"$out"
	out=$(kplugin node no-such-node --to containerd --yes 2>&1); rc=$?
	check "unknown node: exit 1 and 'not found'" bash -c "[ $rc -eq 1 ] && grep -q 'not found' <<<'$out'"
	out=$(kplugin node node-1 --to runc --yes 2>&1); rc=$?
	check "unknown runtime: usage error, exit 2" [ $rc -eq 2 ]
	out=$(kplugin node node-1 --yes 2>&1); rc=$?
	check "--to is required: exit 2" [ $rc -eq 2 ]
	# Pod Security: a namespace that enforces baseline
	k create namespace rsw-e2e-baseline >/dev/null 2>&1
	k label --overwrite namespace rsw-e2e-baseline pod-security.kubernetes.io/enforce=baseline >/dev/null
	out=$(kplugin node node-1 --to containerd --yes -n rsw-e2e-baseline 2>&1); rc=$?
	check "a baseline namespace: exit 3 ($rc)" [ $rc -eq 3 ]
	check "... with the label to change" grep -q "pod-security.kubernetes.io/enforce=privileged --overwrite" <<<"$out"
	k delete namespace rsw-e2e-baseline --wait=false >/dev/null 2>&1
	# kubectl drain's filters, before anything changes
	out=$(kplugin node node-1 --to containerd --yes 2>&1); rc=$?
	note "$(grep -m3 -e 'cannot delete' -e 'error' <<<"$out")"
	check "without --force/--delete-emptydir-data: exit 3 ($rc)" [ $rc -eq 3 ]
	check "... naming the bare pod" grep -q "no controller (use --force to override): demo/bare" <<<"$out"
	check "... and the emptyDir pod" grep -q "local storage (use --delete-emptydir-data to override)" <<<"$out"
	check "... the node is not cordoned" not node_unschedulable
	check "... nothing left in $WORK_NS" [ -z "$(leftovers)" ]
	check "... no record on the node" [ -z "$(node_annotation runtime-switch.kubectl.dev/state)" ]
	check "... still on Docker" on_runtime docker
}

# What anyone who may patch the node can write -- its own kubelet
# included -- the annotations of a run at "drained": a run that trusted them
# would skip the confirm and the drain.  They are refused (no lock backs
# them) before anything changes, with what to do.
case_forged() {
	local out rc kc=$WORK/kubelet.conf id=20260101-000000-f0f0
	node_exec cat /etc/kubernetes/kubelet.conf >"$kc" && chmod 600 "$kc"
	check "the node's kubelet ($(k --kubeconfig "$kc" auth whoami -o jsonpath='{.status.userInfo.username}' 2>/dev/null)) writes a run at 'drained' on its node" \
		k --kubeconfig "$kc" annotate --overwrite node "$NODE" "runtime-switch.kubectl.dev/state=$id drained" \
		"runtime-switch.kubectl.dev/run={\"id\":\"$id\",\"op\":\"switch\",\"phase\":\"drained\",\"to\":\"containerd\",\"cordoned\":true}"
	out=$(kplugin node "$NODE" --to containerd --yes "${DRAIN_FLAGS[@]}" 2>&1); rc=$?
	note "$(head -c 400 <<<"$out")"
	check "a forged run at 'drained' is refused: exit 3 ($rc)" [ $rc -eq 3 ]
	check "... no lock backs it, it is not trusted" grep -q "no lock Lease backs it.*not trusted" <<<"$out"
	check "... and how to clear it" grep -q "kubectl annotate node $NODE runtime-switch.kubectl.dev/state- runtime-switch.kubectl.dev/run-" <<<"$out"
	out=$(kplugin node "$NODE" --to containerd --yes --take-over "${DRAIN_FLAGS[@]}" 2>&1); rc=$?
	check "... --take-over does not make it trusted: exit 3 ($rc)" [ $rc -eq 3 ]
	check "... not cordoned" not node_unschedulable
	check "... no pod evicted (demo/bare is still there)" k get pod bare -n demo
	check "... nothing created in $WORK_NS" [ -z "$(leftovers)" ]
	check "... still on Docker" on_runtime docker
	k annotate node "$NODE" runtime-switch.kubectl.dev/state- runtime-switch.kubectl.dev/run- >/dev/null
}

case_dry_run() {
	local out rc before after
	before=$(node_fingerprint)
	out=$(kplugin node node-1 --to containerd --dry-run "${DRAIN_FLAGS[@]}" 2>&1); rc=$?
	after=$(node_fingerprint)
	printf '%s\n' "$out" >"$WORK/dry-run.out"
	check "dry run: exit 0 ($rc)" [ $rc -eq 0 ]
	check "... shows the plan" grep -q "^Plan (run .*): cri-dockerd -> containerd" <<<"$out"
	check "... shows the config.toml change" grep -q "/etc/containerd/config.toml" <<<"$out"
	check "... prints the ConfigMap" grep -q "^kind: ConfigMap" <<<"$out"
	check "... prints the switch Job (launch)" grep -q -- "- launch" <<<"$out"
	check "... prints the verify Job (report)" grep -q -- "- report" <<<"$out"
	check "... node files unchanged" [ "$before" = "$after" ]
	check "... nothing left in $WORK_NS" [ -z "$(leftovers)" ]
	check "... not cordoned" not node_unschedulable
	check "... no record on the node" [ -z "$(node_annotation runtime-switch.kubectl.dev/state)" ]
}

# Switch node-1 to $1 through the real kubectl, with the PDB sampled; the
# output in $WORK/switch-$2.out, times in $WORK/time.$2.
switch_to() { # switch_to RUNTIME TAG [EXTRA...]
	local to=$1 tag=$2
	shift 2
	pdb_sampler_start
	PATH="$BIN:$PATH" timed "$tag" "$KUBECTL_DISPATCH" runtime-switch node "$NODE" --to "$to" --yes \
		"${DRAIN_FLAGS[@]}" "$@" >"$WORK/switch-$tag.out" 2>&1
	local rc=$?
	pdb_sampler_stop
	return $rc
}

check_after_switch() { # check_after_switch RUNTIME-PREFIX TAG
	local rt=$1 tag=$2 v
	v=$(runtime_of)
	check "[$tag] node reports $rt ($v)" matches "$v" "$rt://*"
	check "[$tag] node Ready" node_ready
	check "[$tag] node uncordoned" not node_unschedulable
	check "[$tag] no Job, ConfigMap or Secret left" [ -z "$(leftovers)" ]
	check "[$tag] the PDB was never violated" pdb_never_violated
	check "[$tag] seeded pods Running again on $rt (imagePullPolicy Never: no pull)" wait_until 120 "demo pods Running on $rt" demo_running_on "$rt"
	check "[$tag] the record says done" matches "$(node_annotation runtime-switch.kubectl.dev/state)" "* done"
	grep -E '^\s+(NotReady window|phases):' "$WORK/switch-$tag.out" | while read -r l; do note "[$tag] $l"; done
	note "[$tag] wall/CPU(user+sys)/peak RSS incl. kubectl: $(tail -n1 "$WORK/time.$tag" | awk '{printf "%ss %ss+%ss %d KiB", $4, $1, $2, $3}')"
}

case_switch() {
	local v rc id
	v=$(runtime_of)
	check "before: node-1 reports docker://20.10.x ($v)" matches "$v" "docker://20.10.*"
	node_fingerprint >"$WORK/fp.docker"
	switch_to containerd to-containerd; rc=$?
	sed 's/^/#     /' "$WORK/switch-to-containerd.out"
	check "switch to containerd: exit 0 ($rc)" [ $rc -eq 0 ]
	v=$(runtime_of)
	check "after: containerd://1.6.x ($v)" matches "$v" "containerd://1.6.*"
	check_after_switch containerd to-containerd
	# the working namespace: created by the plugin as rbac/namespace.yaml says, holding nothing else
	check "the plugin created namespace $WORK_NS with the labels of rbac/namespace.yaml" \
		[ "$(k get namespace "$WORK_NS" -o json | jq -S '.metadata.labels | del(.["kubernetes.io/metadata.name"])')" = \
		  "$(k create --dry-run=client -o json -f rbac/namespace.yaml | jq -S .metadata.labels)" ]
	check "... and it holds nothing else" [ -z "$(k get all,configmaps,secrets,leases -n "$WORK_NS" -o name 2>/dev/null | grep -v -e '^configmap/kube-root-ca.crt$' -e '^serviceaccount/')" ]
	check "kubeadm's cri-socket annotation names containerd" \
		[ "$(node_annotation kubeadm.alpha.kubernetes.io/cri-socket)" = unix:///run/containerd/containerd.sock ]
	# the node's containerd: CRI on, the kubelet's cgroup driver
	local dump driver
	dump=$(node_exec containerd config dump 2>/dev/null)
	driver=$(node_exec sh -c "sed -n 's/^cgroupDriver: *//p' /var/lib/kubelet/config.yaml")
	check "containerd config: cri is not disabled" bash -c "! grep -E '^disabled_plugins.*cri' <<<'$dump'"
	check "containerd answers CRI (crictl info)" node_exec sh -c 'crictl --runtime-endpoint unix:///run/containerd/containerd.sock info >/dev/null 2>&1 || ctr plugins ls | grep -q "io.containerd.grpc.v1.*cri.*ok"'
	if [[ $driver == systemd ]]; then
		check "SystemdCgroup = true for the kubelet's systemd driver" grep -q 'SystemdCgroup = true' <<<"$dump"
	else
		check "SystemdCgroup = false for the kubelet's $driver driver" grep -q 'SystemdCgroup = false' <<<"$dump"
	fi
	# the helper outlived Docker: its work went on after Docker stopped
	id=$(node_annotation runtime-switch.kubectl.dev/state | cut -d' ' -f1)
	local j
	j=$(node_exec cat "/var/lib/kubectl-runtime-switch/$id/journal" 2>/dev/null)
	printf '%s\n' "$j" >"$WORK/journal.$id"
	check "helper journal: Docker stopped (done stop-source), then the kubelet came back" \
		bash -c "grep -A100 ' done stop-source' <<<'$j' | grep -q ' done wait-kubelet'"
	check "Docker is stopped" not matches "$(node_exec systemctl is-active docker.service)" active
	check "Docker is disabled" not matches "$(node_exec systemctl is-enabled docker.service)" enabled
	check "containerd is active and enabled" matches "$(node_exec systemctl is-active containerd.service) $(node_exec systemctl is-enabled containerd.service)" "active enabled"
	# Docker's settings: each daemon.json key in the plan once, the plan shown
	# with them, the log rotation now the kubelet's, crictl on containerd
	node_exec cat "/var/lib/kubectl-runtime-switch/$id/plan.json" >"$WORK/plan.$id.json" 2>/dev/null
	node_exec cat /etc/docker/daemon.json >"$WORK/daemon.json" 2>/dev/null
	check "the plan lists each daemon.json setting of node-1 once (docker_settings)" python3 -c '
import json, sys
d, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
want = [k2 for k, v in d.items() for k2 in ([k + "." + m for m in v] if k in ("log-opts", "proxies") else [k])]
got = [s["key"] for s in p["docker_settings"]]
assert got == want and all(s["action"] in ("carried", "reported", "dropped") for s in p["docker_settings"]), (got, want)
' "$WORK/daemon.json" "$WORK/plan.$id.json"
	check "... shown with the plan" grep -q "^    carried  log-opts.max-size = 100m -> kubelet containerLogMaxSize" "$WORK/switch-to-containerd.out"
	check "log-opts max-size 100m is the kubelet's containerLogMaxSize: 100Mi" \
		node_exec grep -qx "containerLogMaxSize: 100Mi" /var/lib/kubelet/config.yaml
	check "/etc/crictl.yaml names containerd" node_exec grep -qx "runtime-endpoint: unix:///run/containerd/containerd.sock" /etc/crictl.yaml
	node_fingerprint >"$WORK/fp.containerd"
}

case_reboot() {
	[[ $(runtime_of) == containerd://* ]] || { skip "reboot: node-1 is not on containerd"; return; }
	cluster restart-node "$NODE" >"$WORK/reboot.log" 2>&1
	check "after a reboot: Ready on containerd" wait_until 180 "$NODE Ready on containerd" on_runtime containerd
	check "... Docker still disabled" not matches "$(node_exec systemctl is-enabled docker.service)" enabled
	check "... Docker not running" not matches "$(node_exec systemctl is-active docker.service)" active
	check "... containerd running" matches "$(node_exec systemctl is-active containerd.service)" active
	check "... no unit of ours is left" [ -z "$(node_exec systemctl list-units --all --no-legend 'kubectl-runtime-switch-*')" ]
	check "... seeded pods Running on containerd" wait_until 180 "demo pods Running on containerd" demo_running_on containerd
}

case_roundtrip() {
	[[ $(runtime_of) == containerd://* ]] || { skip "round trip: node-1 is not on containerd"; return; }
	local rc
	node_fingerprint >"$WORK/fp.before-cri-dockerd"
	switch_to cri-dockerd to-cri-dockerd; rc=$?
	check "round trip, back to Docker with --to cri-dockerd: exit 0 ($rc)" [ $rc -eq 0 ]
	[[ $rc -eq 0 ]] || sed 's/^/#     /' "$WORK/switch-to-cri-dockerd.out"
	check_after_switch docker to-cri-dockerd
	check "kubeadm's cri-socket annotation names cri-dockerd" \
		[ "$(node_annotation kubeadm.alpha.kubernetes.io/cri-socket)" = unix:///var/run/cri-dockerd.sock ]
	node_fingerprint >"$WORK/fp.before-containerd-2"
	switch_to containerd to-containerd-2; rc=$?
	check "round trip, to containerd again: exit 0 ($rc)" [ $rc -eq 0 ]
	[[ $rc -eq 0 ]] || sed 's/^/#     /' "$WORK/switch-to-containerd-2.out"
	check_after_switch containerd to-containerd-2
}

case_rollback() {
	[[ $(runtime_of) == containerd://* ]] || { skip "rollback: node-1 is not on containerd"; return; }
	local rc want
	want=$WORK/fp.before-containerd-2
	[[ -f $want ]] || want=$WORK/fp.docker
	pdb_sampler_start
	PATH="$BIN:$PATH" "$KUBECTL_DISPATCH" runtime-switch rollback node "$NODE" --yes "${DRAIN_FLAGS[@]}" \
		>"$WORK/rollback.out" 2>&1; rc=$?
	pdb_sampler_stop
	sed 's/^/#     /' "$WORK/rollback.out"
	check "rollback node: exit 0 ($rc)" [ $rc -eq 0 ]
	check "... back on Docker, Ready" on_runtime docker
	check "... every node file byte-identical to before that switch" diff <(grep -v '^kubelet.service' "$want") <(node_fingerprint | grep -v '^kubelet.service')
	check "... uncordoned" not node_unschedulable
	check "... nothing left in $WORK_NS" [ -z "$(leftovers)" ]
	check "... the PDB was never violated" pdb_never_violated
	check "... seeded pods Running on Docker" wait_until 180 "demo pods Running on Docker" demo_running_on docker
}

# Two operators on one node.  The first run (through the fault proxy, held
# (hold-until) at its first eviction: cordoned, draining) holds the node's
# lock; a second operator through the real kubectl is refused with the
# holder's name, run, phase and since when; so is a second terminal of the
# same user (its plugin still runs on this machine).  Then the request is
# let through and the first run finishes.
case_concurrent() {
	restore_seeded any
	local gate=$WORK/concurrent.gate out rc pid i id jobs to=containerd rt=containerd
	[[ $(runtime_of) == containerd://* ]] && to=cri-dockerd rt=docker
	rm -f "$gate"
	printf '[{"method":"POST","path":"/eviction$","action":"hold-until","until":"%s","first":1,"key":"all"}]\n' "$gate" \
		>"$WORK/concurrent.rules"
	fault_proxy_start "$WORK/concurrent" "$WORK/concurrent.rules" >/dev/null
	"$PLUGIN" --kubeconfig "$FAULT_KUBECONFIG" node "$NODE" --to $to --yes "${DRAIN_FLAGS[@]}" \
		>"$WORK/concurrent.1" 2>&1 &
	pid=$!
	for ((i = 0; i < 1500; i++)); do
		grep -q '"action": "hold-until"' "$FAULT_LOG" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.2
	done
	check "the first run is held at its first eviction" grep -q '"action": "hold-until"' "$FAULT_LOG"
	id=$(node_annotation runtime-switch.kubectl.dev/state | cut -d' ' -f1)
	jobs=$(k get jobs -n "$WORK_NS" -o name | wc -l)
	out=$(kplugin node "$NODE" --to $to --yes "${DRAIN_FLAGS[@]}" --as e2e-second-operator \
		--as-group system:masters 2>&1); rc=$?
	note "$(head -c 400 <<<"$out")"
	check "a second operator is refused: exit 3 ($rc)" [ $rc -eq 3 ]
	check "... naming the holder, its run and where it runs" grep -q "node $NODE is held by admin (run $id, pid $pid on " <<<"$out"
	check "... its phase and since when" grep -q "phase cordoned, since 20" <<<"$out"
	out=$(kplugin node "$NODE" --to $to --yes "${DRAIN_FLAGS[@]}" 2>&1); rc=$?
	check "the same user from a second terminal is refused too: exit 3 ($rc)" [ $rc -eq 3 ]
	check "... its plugin is still running here" grep -q "its plugin is still running on this machine" <<<"$out"
	check "... the refused runs created no Job" [ "$(k get jobs -n "$WORK_NS" -o name | wc -l)" = "$jobs" ]
	touch "$gate"
	wait $pid
	rc=$?
	fault_proxy_stop
	check "let go, the first run finishes: exit 0 ($rc)" [ $rc -eq 0 ]
	[[ $rc -eq 0 ]] || sed 's/^/#     /' "$WORK/concurrent.1" | tail -n 20
	check "... on $rt" on_runtime $rt
	check "... uncordoned" not node_unschedulable
	check "... its lock released, nothing left" [ -z "$(leftovers)" ]
}

# A target runtime that will not start: containerd's next start fails once
# (a drop-in checks a marker the failing start removes), so the switch's
# restart of containerd fails and the rollback's succeeds.
case_failure() {
	restore_seeded
	local rc out
	node_exec sh -c 'mkdir -p /etc/systemd/system/containerd.service.d && printf "%s\n" "[Service]" "ExecStartPre=/bin/sh -c \"if [ -e /run/rsw-e2e-fail-once ]; then rm -f /run/rsw-e2e-fail-once; exit 1; fi\"" >/etc/systemd/system/containerd.service.d/99-rsw-e2e-fail.conf && systemctl daemon-reload && touch /run/rsw-e2e-fail-once'
	node_fingerprint >"$WORK/fp.failure-before"
	switch_to containerd failure; rc=$?
	out=$(cat "$WORK/switch-failure.out")
	sed 's/^/#     /' "$WORK/switch-failure.out"
	check "a switch that cannot start containerd: exit 5 ($rc)" [ $rc -eq 5 ]
	check "... node back on Docker and Ready" wait_until 120 "$NODE Ready on Docker" on_runtime docker
	check "... every node file byte-identical, units as before" diff <(grep -v '^kubelet.service' "$WORK/fp.failure-before") <(node_fingerprint | grep -v '^kubelet.service')
	check "... a clear message: rolled back, with the helper's reason" grep -q "failed and was rolled back: " <<<"$out"
	check "... the node stays cordoned" node_unschedulable
	check "... with the command to uncordon it" grep -q 'kubectl uncordon node-1' <<<"$out"
	check "... nothing left in $WORK_NS" [ -z "$(leftovers)" ]
	check "... the PDB was never violated" pdb_never_violated
	node_exec rm -f /etc/systemd/system/containerd.service.d/99-rsw-e2e-fail.conf /run/rsw-e2e-fail-once
	node_exec systemctl daemon-reload
	k uncordon "$NODE" >/dev/null
	check "... seeded pods Running on Docker again" wait_until 180 "demo pods Running on Docker" demo_running_on docker
}

# The plugin killed (SIGKILL) inside each phase, then the same command again:
# it resumes and completes, and no destructive step ran twice.  "Inside" is
# made exact by the fault proxy (tests/fakes/faultproxy.py) in front of the real API
# server: a request the phase sends is held (hold: never forwarded; hold-after:
# the API server carried it out, the plugin never hears back) and the plugin
# is killed while it waits for the answer.  Directions alternate, so each
# kill from the cordon on costs one switch; the kills before it (nothing on
# the node or the Node changed yet) share one: each next run starts over
# from what the killed one left, and the last one's rerun completes.
# (confirm sends nothing with --yes: no case.)
RESUME_PHASES=${RESUME_PHASES:-"check deliver preflight plan cordon drain launch restart verify annotate uncordon cleanup"}
hold_rule() { # hold_rule PHASE -> the proxy's rules (JSON) that catch the plugin inside PHASE
	local node='"/api/v1/nodes/'$NODE'$"'
	case $1 in
	check) echo '[{"method":"GET","path":"^/api/v1/nodes(\\?|$)","action":"hold"}]' ;;
	deliver) echo '[{"method":"POST","path":"/configmaps","action":"hold-after"}]' ;;
	preflight) echo '[{"method":"POST","path":"/jobs","body":"\"name\": *\"rsw-[0-9a-f-]+-preflight\"","action":"hold-after"}]' ;;
	plan) echo '[{"method":"GET","path":"/apis/apps/v1/namespaces/.*/daemonsets/","action":"hold"}]' ;;
	cordon) echo '[{"method":"PATCH","path":'"$node"',"body":"\"unschedulable\": *true","action":"hold-after"}]' ;;
	drain) echo '[{"method":"POST","path":"/eviction$","action":"hold-after","key":"all"}]' ;;
	launch) echo '[{"method":"POST","path":"/jobs","body":"\"name\": *\"rsw-[0-9a-f-]+-switch\"","action":"hold-after"}]' ;;
	restart) echo '[{"method":"POST","path":"/jobs","body":"\"name\": *\"rsw-[0-9a-f-]+-verify\"","action":"hold-after"}]' ;;
	verify) echo '[{"method":"GET","path":"-verify-[a-z0-9]+/log","action":"hold"}]' ;;
	annotate) echo '[{"method":"PATCH","path":'"$node"',"body":"kubeadm.alpha.kubernetes.io/cri-socket","action":"hold-after"}]' ;;
	uncordon) echo '[{"method":"PATCH","path":'"$node"',"body":"\"unschedulable\": *(false|null)","action":"hold-after"}]' ;;
	cleanup) echo '[{"method":"DELETE","path":"/jobs/rsw-.*-switch$","action":"hold-after"}]' ;;
	esac
}
# How often the helper's journal on the node says STEP was done for run ID.
journal_count() { # journal_count ID STEP
	node_exec sh -c "grep -c ' done $2\$' /var/lib/kubectl-runtime-switch/$1/journal 2>/dev/null || true"
}
before_cordon() { case $1 in check | deliver | preflight | plan) return 0 ;; esac; return 1; }
next_phase() { # the phase after $1 in RESUME_PHASES (empty after the last)
	local p seen=
	for p in $RESUME_PHASES; do
		[[ -n $seen ]] && { echo "$p"; return; }
		[[ $p == "$1" ]] && seen=1
	done
}
case_resume() {
	restore_seeded
	local phase to tag rc pid held id rt
	to=containerd
	for phase in $RESUME_PHASES; do
		tag=resume-$phase
		hold_rule "$phase" >"$WORK/$tag.rules"
		fault_proxy_start "$WORK/$tag" "$WORK/$tag.rules" >/dev/null
		"$PLUGIN" --kubeconfig "$FAULT_KUBECONFIG" node "$NODE" --to $to --yes "${DRAIN_FLAGS[@]}" -o json \
			>"$WORK/$tag.1" 2>&1 &
		pid=$!
		fault_wait_held $pid
		held=$FAULT_HELD
		sleep 0.3 # the plugin is waiting for that answer now
		kill -KILL $pid 2>/dev/null
		wait $pid 2>/dev/null
		fault_proxy_stop
		check "[$tag] killed inside $phase: $(jq -r '"\(.method) \(.path | .[0:70]) (\(.action))"' <<<"${held:-null}" 2>/dev/null)" [ -n "$held" ]
		note "[$tag] phases it had finished: $(grep '^{' "$WORK/$tag.1" | jq -r 'select(.kind == "phase") | .phase' 2>/dev/null | tr '\n' ' ')"
		if before_cordon "$phase" && before_cordon "$(next_phase "$phase")"; then
			# Nothing changed yet: the next phase's killed run starts over
			# from this one's leftovers (a carrier, the node's lock), and
			# the last of these phases has the rerun that must complete.
			check "[$tag] the node is not cordoned" not node_unschedulable
			continue
		fi
		PATH="$BIN:$PATH" "$KUBECTL_DISPATCH" runtime-switch node "$NODE" --to $to --yes "${DRAIN_FLAGS[@]}" >"$WORK/$tag.2" 2>&1
		rc=$?
		check "[$tag] the rerun completes: exit 0 ($rc)" [ $rc -eq 0 ]
		[[ $rc -eq 0 ]] || sed 's/^/#     /' "$WORK/$tag.2"
		rt=$to
		[[ $to == cri-dockerd ]] && rt=docker
		check "[$tag] on $rt and Ready" on_runtime "$rt"
		check "[$tag] uncordoned" not node_unschedulable
		check "[$tag] nothing left in $WORK_NS" [ -z "$(leftovers)" ]
		id=$(node_annotation runtime-switch.kubectl.dev/state | cut -d' ' -f1)
		check "[$tag] the record says done ($(node_annotation runtime-switch.kubectl.dev/state))" \
			matches "$(node_annotation runtime-switch.kubectl.dev/state)" "* done"
		case $phase in
		check | deliver | preflight | plan)
			# nothing on the node had changed: a fresh run is as good as a resume
			;;
		*)
			check "[$tag] the rerun resumed run $id" grep -q "resuming run $id" "$WORK/$tag.2"
			local stops starts
			stops=$(journal_count "$id" stop-kubelet)
			starts=$(journal_count "$id" start-kubelet)
			check "[$tag] the node's runtime was switched once (stop-kubelet ${stops}x, start-kubelet ${starts}x)" \
				[ "$stops" = 1 -a "$starts" = 1 ]
			;;
		esac
		check "[$tag] seeded pods Running on $rt" wait_until 180 "demo pods Running on $rt" demo_running_on "$rt"
		restore_bare_pod
		if [[ $to == containerd ]]; then to=cri-dockerd; else to=containerd; fi
	done
}

# Ctrl-C (SIGINT) while the node restarts: exit 130, the hint to rerun, and
# the rerun completes.
case_interrupt() {
	local to=containerd rc pid i
	[[ $(runtime_of) == containerd://* ]] && to=cri-dockerd
	PATH="$BIN:$PATH" "$PLUGIN" node "$NODE" --to $to --yes "${DRAIN_FLAGS[@]}" >"$WORK/interrupt.1" 2>&1 &
	pid=$!
	for ((i = 0; i < 1800; i++)); do
		grep -q '^\[.*\] launch ' "$WORK/interrupt.1" && break
		sleep 0.2
	done
	kill -INT $pid
	wait $pid
	rc=$?
	check "Ctrl-C while the node restarts: exit 130 ($rc)" [ $rc -eq 130 ]
	check "... says how to resume" grep -q "rerun the same command to resume" "$WORK/interrupt.1"
	kplugin node "$NODE" --to $to --yes "${DRAIN_FLAGS[@]}" >"$WORK/interrupt.2" 2>&1
	rc=$?
	check "... the rerun resumes and completes ($rc)" [ $rc -eq 0 ]
	check "... the rerun says it resumed" grep -q "resuming run" "$WORK/interrupt.2"
}

# ------------------------------------------------------------------ run ---

CASES=("$@")
# The order saves resets: each case starts where the one before left node-1
# (failure and resume from Docker, concurrent from either runtime, trust
# from Docker, and its last switch leaves it there).
[[ ${#CASES[@]} -gt 0 ]] || CASES=(refusals forged dry_run switch reboot roundtrip rollback failure resume concurrent trust interrupt)
restore_seeded
# the plugin makes its working namespace itself (case_switch checks it)
k delete namespace "$WORK_NS" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1
for c in "${CASES[@]}"; do
	note "== $c"
	t_case=$SECONDS
	"case_$c"
	note "== $c took $((SECONDS - t_case)) s"
done
# node-1's files as seeded too (a round trip leaves containerd's CRI on):
# the node from its image, for the suites after this one
cluster reset-node "$NODE" >/dev/null 2>&1 || note "reset-node $NODE failed"
restore_seeded
k delete namespace "$WORK_NS" --ignore-not-found --wait=false >/dev/null 2>&1
test_done
