# The trust case of test_switch.sh (sourced after lib.sh and the fault
# proxy's lib): the helper's carrier replaced under the switch, at the exact
# moment the fault proxy holds one request of the plugin, by an attacker
# who may update, delete and create ConfigMaps in the working namespace
# (include/ops/carrier.h).  The replacement is a tiny static program
# (evil.c) that leaves a marker on the host if it ever runs; each step
# proves that it did not: no marker, no pod of the held Job ever appeared,
# no new run in the node's state directory, and the run says why it
# stopped.  Test harness only.

EVIL_MARKER=/var/lib/rsw-e2e-evil-marker
HELPER_SEL=app.kubernetes.io/managed-by=kubectl-runtime-switch,runtime-switch.kubectl.dev/role=helper

evil_build() {
	[[ -x $WORK/evil ]] || musl-gcc -static -Os -o "$WORK/evil" "$RS_ROOT/tests/e2e/switch/evil.c"
}
carrier_of_run() { k get configmaps -n "$WORK_NS" -l "$HELPER_SEL" -o name 2>/dev/null | head -n 1; }
state_runs() { node_exec ls /var/lib/kubectl-runtime-switch 2>/dev/null | sort | tr '\n' ' '; }
no_marker() { ! node_exec test -e "$EVIL_MARKER"; }

# An update is refused by the API server itself: the carrier is immutable.
try_update() {
	local cm out
	cm=$(carrier_of_run)
	out=$(k patch -n "$WORK_NS" "$cm" --type=merge \
		-p "{\"binaryData\":{\"rs-node-helper\":\"$(base64 -w0 "$WORK/evil")\"}}" 2>&1)
	check "[$TRUST_TAG] updating $cm is refused by the API server: immutable" \
		grep -q "immutable" <<<"$out"
}

# What the attacker does: the finalizer off, DELETE, the same name again
# with other bytes.
swap_carrier() {
	local cm
	cm=$(carrier_of_run)
	[[ -n $cm ]] || return 1
	k patch -n "$WORK_NS" "$cm" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null &&
		k delete -n "$WORK_NS" "$cm" --wait=true >/dev/null &&
		k create configmap -n "$WORK_NS" "${cm#configmap/}" --from-file=rs-node-helper="$WORK/evil" >/dev/null
}
remove_swapped() {
	k delete configmaps -n "$WORK_NS" -l '!app.kubernetes.io/managed-by' --field-selector metadata.name!=kube-root-ca.crt \
		--wait=true >/dev/null 2>&1
}

# trust_run TAG ROLE POST|PATCH [before-swap] -- PLUGIN-ARGS...: the plugin
# through the fault proxy, which holds the creation (POST) or the start
# (PATCH spec.suspend) of the ROLE Job until the carrier was swapped and
# the plugin said it saw it; $TRUST_RC, $WORK/TAG.out, $WORK/TAG.pods (every
# pod of the working namespace seen meanwhile).
trust_run() {
	local tag=$1 role=$2 what=$3 before=$4 pid held watcher
	shift 5
	TRUST_TAG=$tag
	local release=$WORK/$tag.release rules=$WORK/$tag.rules
	rm -f "$release"
	if [[ $what == POST ]]; then
		printf '[{"method":"POST","path":"/jobs","body":"\\"name\\": *\\"rsw-[0-9a-f-]+-%s\\"","action":"hold-until","until":"%s","first":1}]\n' \
			"$role" "$release"
	else
		printf '[{"method":"PATCH","path":"/jobs/rsw-[0-9a-f-]+-%s$","action":"hold-until","until":"%s","first":1}]\n' \
			"$role" "$release"
	fi >"$rules"
	fault_proxy_start "$WORK/$tag" "$rules" >/dev/null
	k get pods -n "$WORK_NS" --watch -o name >"$WORK/$tag.pods" 2>/dev/null &
	watcher=$!
	local t0=$SECONDS
	"$PLUGIN" --kubeconfig "$FAULT_KUBECONFIG" "$@" >"$WORK/$tag.out" 2>&1 &
	pid=$!
	fault_wait_held $pid hold-until
	held=$FAULT_HELD
	check "[$tag] the plugin waits on the $role Job's $what" [ -n "$held" ]
	[[ -n $held && -n $before ]] && $before
	check "[$tag] the carrier is replaced (finalizer off, DELETE, created again with other bytes)" swap_carrier
	# the plugin saw it (its watch) before the held request goes on
	check "[$tag] the plugin saw the change while it waited" \
		wait_until 30 "the plugin's note on the carrier" grep -q "the helper's carrier, " "$WORK/$tag.out"
	touch "$release"
	wait $pid
	TRUST_RC=$?
	fault_proxy_stop
	kill $watcher 2>/dev/null
	wait $watcher 2>/dev/null
	note "[$tag] $((SECONDS - t0)) s; $(grep -m1 -o 'refusing to run it as root[^;]*' "$WORK/$tag.out")"
}

# What every step must show: the plugin said why, nothing ran.
nothing_ran() { # nothing_ran TAG ROLE
	local tag=$1 role=$2
	check "[$tag] it says: ... changed/replaced between verification and pod start: refusing to run it as root" \
		grep -q "between verification and pod start (.*): refusing to run it as root" "$WORK/$tag.out"
	check "[$tag] the replaced bytes never ran: no marker on the node" no_marker
	check "[$tag] no pod of the $role Job ever appeared" not grep -q -- "-$role-" "$WORK/$tag.pods"
	check "[$tag] no Job of the run is left" [ -z "$(k get jobs -n "$WORK_NS" -o name 2>/dev/null)" ]
}

case_trust() {
	restore_seeded
	local runs rc t0=$SECONDS
	check "a static program to stand for the attacker's bytes" evil_build || return
	node_exec rm -f "$EVIL_MARKER"
	runs=$(state_runs)
	# 1. preflight: its Job's creation held; an update first (refused), then the swap
	trust_run preflight preflight POST try_update -- node "$NODE" --to containerd --yes "${DRAIN_FLAGS[@]}"
	check "[preflight] refused: exit 3 ($TRUST_RC)" [ $TRUST_RC -eq 3 ]
	nothing_ran preflight preflight
	check "[preflight] no new run in the node's state directory" [ "$(state_runs)" = "$runs" ]
	check "[preflight] the node is not cordoned" not node_unschedulable
	remove_swapped
	# 2. launch: after the drain, the switch Job's start (un-suspend) held
	trust_run launch switch PATCH "" -- node "$NODE" --to containerd --yes "${DRAIN_FLAGS[@]}"
	check "[launch] refused, nothing changed: exit 3 ($TRUST_RC)" [ $TRUST_RC -eq 3 ]
	nothing_ran launch switch
	check "[launch] no new run in the node's state directory" [ "$(state_runs)" = "$runs" ]
	check "[launch] the node is given back: uncordoned" not node_unschedulable
	check "[launch] ... still on Docker" on_runtime docker
	remove_swapped
	restore_bare_pod
	# 3. verify: the switch runs, its verify Job's creation held
	trust_run verify verify POST "" -- node "$NODE" --to containerd --yes "${DRAIN_FLAGS[@]}"
	check "[verify] stopped unverified: exit 1 ($TRUST_RC)" [ $TRUST_RC -eq 1 ]
	nothing_ran verify verify
	check "[verify] ... and says how to go on" grep -q "ran but was not verified: remove the object named above" "$WORK/verify.out"
	remove_swapped
	kplugin node "$NODE" --to containerd --yes "${DRAIN_FLAGS[@]}" >"$WORK/verify.rerun" 2>&1
	rc=$?
	check "[verify] the object removed, the rerun verifies and completes: exit 0 ($rc)" [ $rc -eq 0 ]
	check "[verify] ... on containerd, Ready" on_runtime containerd
	restore_bare_pod
	# 4. rollback: its Job's creation held
	trust_run rollback rollback POST "" -- rollback node "$NODE" --yes "${DRAIN_FLAGS[@]}"
	check "[rollback] refused, nothing changed: exit 3 ($TRUST_RC)" [ $TRUST_RC -eq 3 ]
	nothing_ran rollback rollback
	check "[rollback] the node still runs containerd" on_runtime containerd
	remove_swapped
	restore_bare_pod
	# back to Docker through a switch of its own (the harness resets the files)
	kplugin node "$NODE" --to cri-dockerd --yes "${DRAIN_FLAGS[@]}" >"$WORK/trust.back" 2>&1
	rc=$?
	check "a switch after all this still works: to cri-dockerd, exit 0 ($rc)" [ $rc -eq 0 ]
	check "... no marker on the node at the end" no_marker
	note "trust: $((SECONDS - t0)) s"
}
