#!/usr/bin/env bash
# make test-reboot (the lean subset, in make test; REBOOT_CASES=all: every
# step): a node rebooted in the middle of a real switch comes back on
# exactly one runtime with its files consistent, with no command run on it
# by hand.
#
#   tests/e2e/test_reboot.sh [CASE...]      (default: the lean subset)
#   tests/e2e/test_reboot.sh all            (every step, and the rollback)
#
# A CASE is a step of the helper's plan (images-save, stop-kubelet, ...) or
# rollback:RB-STEP (a switch whose new runtime fails once to start, caught
# in that step of its rollback).  Each case switches node-1 away from the
# runtime it is on (Docker through cri-dockerd -> containerd, containerd ->
# cri-dockerd: both are real switches), so the cases chain: each starts
# where the previous one left the node.  In each:
#  1. catch-step (tests/e2e/reboot/catch_step.c) holds each open of the
#     new run's journal on the node's root filesystem (fanotify) and, once
#     the last record is "begin STEP", freezes the helper (SIGSTOP) before
#     it can write the next one: the step is caught in progress;
#  2. a power cut: the node's PID 1 is killed (no shutdown: nothing on the
#     node runs again before the boot), then `cluster.sh restart-node`;
#  3. the node's boot guard finishes the run (or its rollback), the plugin's
#     run ends by itself, and every assertion of issue 11 is checked: node
#     Ready (a heartbeat from after the boot) on the runtime the run reached;
#     the journal ends "state done" (rolled-back) with a boot record right
#     after the caught "begin STEP"; the guard unit gone; the target's units
#     active and enabled, the source's inactive and disabled (or every unit
#     as before); each file's sha256 the plan's sha256_after (sha256_before);
#     the run's result; node-2 Ready; no unit on node-1 failed (systemd
#     says degraded) that was not before the suite; the demo workload
#     Running again.
# The suite ends with node-1 as seeded (reset from its image).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$RS_ROOT/tests/lib/e2e.sh"
need jq sha256sum
PLUGIN=$(readlink -f "${PLUGIN:-$RS_ROOT/build/release/kubectl-runtime_switch}")
CATCH=$(readlink -f "${CATCH_STEP:-$RS_ROOT/build/release/e2e/catch-step}")
[[ -x $PLUGIN ]] || bail_out "build the plugin first: $PLUGIN"
[[ -x $CATCH ]] || bail_out "build catch-step first: $CATCH (make test-reboot builds it)"
# The real kubectl that finds plugins on PATH (google-cloud-sdk's dispatcher).
KUBECTL_DISPATCH=${KUBECTL_DISPATCH:-/usr/bin/kubectl}
WORK=${WORK:-$T_TMP}
NODE=node-1
NODE_ROOT=${NODE_ROOT:-${RS_CACHE:-/var/cache/kubectl-runtime-switch}/nodes/$NODE/rootfs}
STATE=/var/lib/kubectl-runtime-switch
DRAIN_FLAGS=(--force --delete-emptydir-data)
# The fault of the rollback case: containerd's next start fails once.
FAIL_DROPIN=/etc/systemd/system/containerd.service.d/99-rsw-reboot-fail.conf
FAIL_MARK=/var/lib/rsw-e2e/fail-containerd-once
mkdir -p "$WORK/bin"
ln -sf "$PLUGIN" "$WORK/bin/kubectl-runtime_switch"
k() { "$KUBECTL" "$@"; }
kplugin() { PATH="$WORK/bin:$PATH" "$KUBECTL_DISPATCH" runtime-switch "$@"; }
node_exec() { cluster exec "$NODE" -- "$@"; }

# The lean subset (make test): the node caught with its config written and
# the source about to stop, with the source stopped and the target
# restarting, inside a rollback, and with the kubelet started on the target
# but not yet healthy.  The order chains the runtimes: stop-source on
# Docker -> containerd (a switch to cri-dockerd stops no source: Docker
# needs its containerd), restart-runtime back to cri-dockerd, the rollback
# on Docker, then Docker -> containerd.
QUICK=(stop-source restart-runtime rollback:rb-target-units wait-kubelet)
# ALL: every step of both plans.  Docker -> containerd has 13 steps, its
# way back to cri-dockerd 6 (stop-kubelet, restart-runtime, wait-runtime,
# install-kubelet-config, start-kubelet, wait-kubelet): the chain catches
# the steps only the first has on it and the common ones on the way back,
# restart-runtime both ways (on Docker -> containerd the source units start
# again at boot).  The config steps (validate-config, install-runtime-config)
# are only in a node's first switch: their cases start from a node reset to
# the seeded one (FRESH_STEPS).
ALL=(validate-config stop-kubelet images-save restart-runtime remove-pod-containers wait-runtime
	stop-source install-kubelet-config images-import start-kubelet disable-source wait-kubelet
	rollback:rb-target-units restart-runtime install-runtime-config)
FRESH_STEPS=" validate-config install-runtime-config "
CASES=("$@")
((${#CASES[@]})) || CASES=("${QUICK[@]}")
[[ ${CASES[*]} != all ]] || CASES=("${ALL[@]}")

e2e_begin || bail_out "the e2e cluster is not up"
[[ -f $NODE_ROOT/etc/hostname && $(<"$NODE_ROOT/etc/hostname") == "$NODE" ]] ||
	bail_out "$NODE_ROOT is not $NODE's root filesystem (NODE_ROOT=)"

# ------------------------------------------------------------ the node ---

runtime_of() { k get node "${1:-$NODE}" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}'; }
# Ready with a heartbeat at or after $1 (RFC 3339): a rebooted node's old
# status does not count.
ready_since() { # ready_since TIME [NODE]
	local s
	s=$(k get node "${2:-$NODE}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}') || return 1
	[[ ${s%% *} == True && ! ${s#* } < $1 ]]
}
on_runtime_since() { [[ $(runtime_of) == "$1"://* ]] && ready_since "$2"; }
# kubectl get nodes -o wide: every node Ready, each on one runtime, node-1
# on $1
nodes_wide() { # nodes_wide SCHEME
	local out
	out=$(k get nodes -o wide --no-headers) || return 1
	note "$(awk '{print $1, $2, $NF}' <<<"$out" | tr '\n' ';')"
	awk -v n="$NODE" -v rt="$1" '
		$2 != "Ready" { bad = bad " " $1 " is " $2 }
		$NF !~ /^[a-z]+:\/\/[^ ,]+$/ { bad = bad " " $1 " runs " $NF }
		$1 == n && index($NF, rt "://") != 1 { bad = bad " " n " on " $NF }
		END { if (bad != "") { print "not as expected:" bad; exit 1 } }' <<<"$out"
}
# Every demo pod Running and ready; those on node-1 on runtime $1 (their
# containerIDs).
demo_running_on() { # demo_running_on SCHEME
	k get pods -n demo -o json | jq -e --arg node "$NODE" --arg rt "$1://" '
		[.items[] | select(.metadata.deletionTimestamp == null)] as $p |
		($p | length) > 0 and
		all($p[]; .status.phase == "Running" and all(.status.containerStatuses[]?; .ready)) and
		([$p[] | select(.spec.nodeName == $node)] | length) > 0 and
		all($p[] | select(.spec.nodeName == $node); all(.status.containerStatuses[]; .containerID | startswith($rt)))' \
		>/dev/null
}
restore_bare_pod() {
	k get pod bare -n demo >/dev/null 2>&1 && return 0
	k apply -f - >/dev/null <<-EOF
		apiVersion: v1
		kind: Pod
		metadata: {name: bare, namespace: demo, labels: {app: bare}}
		spec:
		  nodeSelector: {kubernetes.io/hostname: $NODE}
		  terminationGracePeriodSeconds: 5
		  containers:
		  - {name: bare, image: localhost/busybox:1, imagePullPolicy: Never, command: [sleep, "1000000"]}
	EOF
}

# ------------------------------------------------------------- the run ---

journal_of() { cat "$NODE_ROOT$STATE/$1/journal"; }
plan_of() { cat "$NODE_ROOT$STATE/$1/plan.json"; }
# The run's last state record.
run_state() { journal_of "$1" | awk '$2 == "state" { s = $3 } END { print s }'; }
run_final() { [[ $(run_state "$1") =~ ^(done|rolled-back|rollback-failed)$ ]]; }
# The record right after the caught "begin STEP" is the boot: nothing ran
# between the freeze and the power cut, and the boot is a new one.
boot_after_begin() { # boot_after_begin ID STEP
	journal_of "$1" | awk -v s="$2" '
		$2 == "boot" { last = $3 }
		found == 1 { next_ev = $2; next_id = $3; found = 2 }
		found == 0 && $2 == "begin" && $3 == s { found = 1; prev = last }
		END {
			if (found != 2) { print "nothing after begin " s; exit 1 }
			if (next_ev != "boot") { print "after begin " s ": " next_ev " " next_id; exit 1 }
			if (next_id == prev) { print "the same boot id " prev; exit 1 }
		}'
}
guard_gone() { # guard_gone ID
	local u=kubectl-runtime-switch-guard-$1.service left
	left=$(find "$NODE_ROOT/etc/systemd/system" -name "$u" 2>/dev/null)
	[[ -z $left ]] || { echo "left: $left"; return 1; }
	left=$(node_exec systemctl list-units --all --no-legend "$u")
	[[ -z $left ]] || { echo "loaded: $left"; return 1; }
}
# Each file of the plan: its sha256 now is the plan's sha256_after (or, with
# "before", sha256_before; a file the switch created is then gone).
files_are() { # files_are ID after|before
	local path want got bad=0
	while IFS=$'\t' read -r path want; do
		if [[ -e $NODE_ROOT$path ]]; then
			got=$(sha256sum <"$(readlink -f "$NODE_ROOT$path")" | cut -d' ' -f1)
		else
			got=
		fi
		[[ $got == "$want" ]] || { echo "$path: sha256 ${got:-absent}, the plan's $2: ${want:-absent}"; bad=1; }
	done < <(plan_of "$1" | jq -r --arg k "sha256_$2" '.files[] | [.path, (.[$k] // "")] | @tsv')
	return $bad
}
# Each unit of the plan: the target's and the kubelet's active and enabled,
# the source's inactive and disabled ("after"), or each as before ("before").
units_are() { # units_are ID after|before
	local units want active enabled
	units=$(plan_of "$1" | jq -r '.services[].unit')
	want=$(plan_of "$1" | jq -r --arg w "$2" '.services[] |
		if $w == "before" then "\(.unit) \(if .before.active then "active" else "inactive" end) \(if .before.enabled then "enabled" else "disabled" end)"
		elif .role == "source" then "\(.unit) inactive disabled"
		else "\(.unit) active enabled" end')
	# shellcheck disable=SC2086
	active=$(node_exec systemctl is-active $units)
	# shellcheck disable=SC2086
	enabled=$(node_exec systemctl is-enabled $units)
	diff <(printf '%s\n' "$want") <(paste -d' ' <(printf '%s\n' "$units") <(printf '%s\n' "$active") <(printf '%s\n' "$enabled"))
}
# Units systemd has in the failed state on node-1, one a line.
failed_units() { node_exec systemctl list-units --failed --all --no-legend --plain | awk '{print $1}' | sort; }
# No unit failed that was not already before the suite ($FAILED_BEFORE).
no_new_failed_unit() {
	local new
	new=$(comm -13 <(printf '%s\n' "$FAILED_BEFORE" | sed '/^$/d') <(failed_units))
	[[ -z $new ]] || { echo "failed: $(tr '\n' ' ' <<<"$new")"; return 1; }
}
result_is() { # result_is ID STATE EXIT
	jq -e --arg s "$2" --argjson x "$3" '.state == $s and .exit_code == $x' "$NODE_ROOT$STATE/$1/result.json" >/dev/null
}

plant_fault() {
	mkdir -p "$(dirname "$NODE_ROOT$FAIL_DROPIN")" "$(dirname "$NODE_ROOT$FAIL_MARK")"
	printf '%s\n' '[Service]' \
		"ExecStartPre=/bin/sh -c 'if [ -e $FAIL_MARK ]; then rm -f $FAIL_MARK; exit 1; fi'" >"$NODE_ROOT$FAIL_DROPIN"
	: >"$NODE_ROOT$FAIL_MARK"
}
remove_fault() { rm -f "$NODE_ROOT$FAIL_DROPIN" "$NODE_ROOT$FAIL_MARK"; }
at_exit remove_fault

# The power cut: the node's PID 1 killed (its whole PID namespace dies with
# it, no unit is stopped), then the harness boots it again.
power_cut_and_boot() { # power_cut_and_boot TAG
	local pid1
	pid1=$(cluster pid1 "$NODE") || return 1
	kill -KILL "$pid1" || return 1
	cluster restart-node "$NODE" >"$WORK/$1.restart" 2>&1
}

# ------------------------------------------------------------ one case ---

N=0
reboot_case() { # reboot_case STEP | rollback:RB-STEP
	local step=${1#rollback:} fail= to scheme from_scheme tag t0 cpid ppid rc id pids since end
	[[ $1 == rollback:* ]] && fail=1
	N=$((N + 1))
	# a step only the node's first switch has: from the seeded node (one
	# with no run of the switch in its state directory)
	if [[ $FRESH_STEPS == *" $step "* ]] && compgen -G "$NODE_ROOT$STATE/*/journal" >/dev/null; then
		t0=$SECONDS
		check "[$1] $NODE reset to the seeded node first" cluster reset-node "$NODE" || return
		k uncordon "$NODE" >/dev/null
		note "[$1] reset took $((SECONDS - t0)) s"
	fi
	if [[ $(runtime_of) == docker://* ]]; then
		to=containerd scheme=containerd from_scheme=docker
	else
		to=cri-dockerd scheme=docker from_scheme=containerd
	fi
	[[ -z $fail || $to == containerd ]] || { fail "[$1] the rollback case starts on Docker (node-1 on $(runtime_of))"; return; }
	tag=$(printf '%02d-%s' $N "${1/:/-}")
	note "== $tag: $from_scheme -> $to, rebooted in $step"
	t0=$SECONDS
	[[ -z $fail ]] || plant_fault
	"$CATCH" "$NODE_ROOT" "$step" 300 >"$WORK/$tag.catch" 2>&1 &
	cpid=$!
	kplugin node "$NODE" --to "$to" --yes "${DRAIN_FLAGS[@]}" >"$WORK/$tag.switch" 2>&1 &
	ppid=$!
	if ! check "[$tag] the helper frozen as it began $step" wait "$cpid"; then
		wait "$ppid"
		sed 's/^/#   /' "$WORK/$tag.switch" | tail -n 30
		return
	fi
	read -r id pids <"$WORK/$tag.catch"
	note "[$tag] run $id; helper pid(s) $pids; caught at $((SECONDS - t0)) s"
	check "[$tag] ... in progress: the journal's last record is 'begin $step'" \
		matches "$(tail -n 1 "$NODE_ROOT$STATE/$id/journal" | cut -d' ' -f2-)" "begin $step"
	check "[$tag] ... the helper is stopped (state T)" bash -c "for p in $pids; do grep -q '^State:.*T' /proc/\$p/status || exit 1; done"
	since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	check "[$tag] power cut, then cluster.sh restart-node" power_cut_and_boot "$tag"
	check "[$tag] ... the helper died with the node" bash -c "for p in $pids; do ! kill -0 \$p 2>/dev/null || exit 1; done"
	# the plugin's own run ends by itself (its timeouts are minutes; this
	# only keeps a hung run from hanging the suite)
	end=$((SECONDS + 900))
	while kill -0 "$ppid" 2>/dev/null && ((SECONDS < end)); do sleep 1; done
	kill -0 "$ppid" 2>/dev/null && kill -TERM "$ppid"
	wait "$ppid"
	rc=$?
	note "[$tag] plugin exit $rc after $((SECONDS - t0)) s: $(grep -v '^ ' "$WORK/$tag.switch" | tail -n 1)"
	local want_state=done want_exit=0 files=after
	[[ -z $fail ]] || want_state=rolled-back want_exit=4 files=before
	if [[ -z $fail ]]; then
		check "[$tag] the plugin's run completes: exit 0 ($rc)" [ $rc -eq 0 ] ||
			sed 's/^/#   /' "$WORK/$tag.switch" | tail -n 25
		check "[$tag] ... and says so" grep -q "^Switched node $NODE: .* -> $scheme://" "$WORK/$tag.switch"
		if [[ $to == containerd ]]; then # (a node on cri-dockerd can be switched to it again)
			rc=0
			kplugin node "$NODE" --to "$to" --yes "${DRAIN_FLAGS[@]}" >"$WORK/$tag.rerun" 2>&1 || rc=$?
			check "[$tag] a rerun says the node already runs $to: exit 3 ($rc)" \
				eval '[ $rc -eq 3 ] && grep -q "already runs $to" "$WORK/$tag.rerun"'
		fi
	else
		scheme=$from_scheme
		check "[$tag] the plugin's run says the switch failed and was rolled back: exit 5 ($rc)" [ $rc -eq 5 ] ||
			sed 's/^/#   /' "$WORK/$tag.switch" | tail -n 25
		check "[$tag] ... with the helper's reason" grep -q "failed and was rolled back: restart-runtime" "$WORK/$tag.switch"
	fi
	check "[$tag] the journal ends 'state $want_state'" wait_until 120 "run $id final" run_final "$id"
	check "[$tag] ... state $want_state ($(run_state "$id"))" [ "$(run_state "$id")" = $want_state ]
	check "[$tag] ... a boot record right after 'begin $step'" boot_after_begin "$id" "$step"
	check "[$tag] ... its result: $want_state, exit $want_exit" result_is "$id" $want_state $want_exit
	check "[$tag] the boot guard is gone (unit file, wants link, loaded unit)" guard_gone "$id"
	check "[$tag] node-1 Ready on $scheme since the boot" wait_until 180 "node-1 Ready on $scheme" on_runtime_since "$scheme" "$since"
	# (a rolled-back node stays cordoned until someone looks: the plugin says so)
	[[ -z $fail ]] || k uncordon "$NODE" >/dev/null
	check "[$tag] every node Ready on one runtime, node-1 on $scheme" nodes_wide "$scheme"
	check "[$tag] units: $([[ $files == after ]] && echo "target active+enabled, source inactive+disabled" || echo "each as before")" \
		units_are "$id" $files
	check "[$tag] files: each file's sha256 is the plan's sha256_$files" files_are "$id" $files
	check "[$tag] no unit failed on node-1 (systemd not degraded by the run)" no_new_failed_unit
	[[ -z $fail ]] || remove_fault
	check "[$tag] the demo workload Running, node-1's pods on $scheme" wait_until 180 "demo pods" demo_running_on "$scheme"
	note "[$tag] case took $((SECONDS - t0)) s"
}

# ----------------------------------------------------------------- run ---

# The chain starts on the seeded node: Docker, uncordoned, Ready.
if [[ $(runtime_of) != docker://* ]] || ! ready_since 1970-01-01T00:00:00Z; then
	note "resetting $NODE to the seeded Docker node"
	cluster reset-node "$NODE" >"$WORK/reset-0.log" 2>&1 || bail_out "reset-node $NODE failed" "$(tail -n 5 "$WORK/reset-0.log")"
fi
k uncordon "$NODE" >/dev/null
FAILED_BEFORE=$(failed_units)
[[ -z $FAILED_BEFORE ]] || note "failed on $NODE before the suite: $(tr '\n' ' ' <<<"$FAILED_BEFORE")"
for c in "${CASES[@]}"; do
	reboot_case "$c"
done
# node-1 as seeded: its files from the image, on Docker, the bare pod back
t=$SECONDS
check "node-1 reset to the seeded node" cluster reset-node "$NODE"
restore_bare_pod
check "... on Docker, the demo workload Running" wait_until 180 "demo pods" demo_running_on docker
note "reset took $((SECONDS - t)) s"
test_done
