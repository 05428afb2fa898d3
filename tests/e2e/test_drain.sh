#!/usr/bin/env bash
# cordon / uncordon / drain against the real cluster (tests/e2e/cluster.sh),
# side by side with kubectl.  Every case leaves the cluster as seeded.
#   tests/e2e/test_drain.sh [CASE...]    (default: all)
# The cluster is brought up when it is not (under the e2e lock, held to the end).
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/test-lib.sh
source tests/lib/e2e.sh
source tests/lib/fault.sh
source tests/e2e/drain/lib.sh

need jq python3
[[ -x $PLUGIN ]] || bail_out "build the plugin first: $PLUGIN"
e2e_begin || bail_out "the e2e cluster is not up"
# Start from the seeded cluster only (another suite may have left it
# otherwise): failures past this point are ours.
wait_until 120 "the cluster as seeded" seeded_ok ||
	bail_out "the cluster is not as seeded (tests/e2e/cluster.sh status)" "$(k get nodes)" "$(k get pods -n demo -o wide)"
# (what the suite started in the background ends with it)
at_exit 'kill $(jobs -p) 2>/dev/null; fault_proxy_stop; restore_seeded'
save_seeded
restore_seeded # the seeded spread (other suites may leave web or scratch moved)
seeded_state >"$WORK/seeded.before"

# ---------------------------------------------------------------- cases ---

case_cordon() {
	local a b
	a=$(plugin cordon node-2 2>&1)
	b=$(plugin cordon node-2 2>&1)
	check "cordon prints kubectl's 'node/node-2 cordoned'" [ "$a" = "node/node-2 cordoned" ]
	check "cordon again: 'already cordoned'" [ "$b" = "node/node-2 already cordoned" ]
	check "the node is unschedulable" node_unschedulable node-2
	a=$(plugin uncordon node-2 2>&1)
	b=$(k uncordon node-2 2>&1)
	check "uncordon: 'node/node-2 uncordoned'" [ "$a" = "node/node-2 uncordoned" ]
	check "kubectl agrees it was already uncordoned" [ "$b" = "node/node-2 already uncordoned" ]
	a=$(plugin cordon node-2 --dry-run=server 2>&1)
	b=$(k cordon node-2 --dry-run=server 2>&1)
	check "server dry run prints as kubectl ($a)" [ "$a" = "$b" ]
	check "a dry run changes nothing" not node_unschedulable node-2
	a=$(plugin cordon no-such-node 2>&1; echo "rc=$?")
	b=$(k cordon no-such-node 2>&1; echo "rc=$?")
	check "missing node: kubectl's error and exit code" [ "$a" = "$b" ]
}

# The seeded node-1 has a DaemonSet pod, a static pod, a bare pod and an
# emptyDir pod: without flags both tools refuse, name the same pods, evict
# nothing, and leave the node cordoned.
case_filters() {
	local before after perr kerr
	before=$(uids_on node-1)
	perr=$(plugin drain node-1 2>&1 >/dev/null; echo "rc=$?")
	after=$(uids_on node-1)
	check "refused drain evicts nothing" [ "$before" = "$after" ]
	check "refused drain leaves the node cordoned" node_unschedulable node-1
	k uncordon node-1 >/dev/null
	kerr=$(k drain node-1 2>&1 >/dev/null; echo "rc=$?")
	k uncordon node-1 >/dev/null
	note "plugin: $perr"
	local ds bare scratch
	ds=$(k get pods -n demo -l app=node-agent --field-selector spec.nodeName=node-1 -o jsonpath='{.items[0].metadata.name}')
	scratch=$(k get pods -n demo -l app=scratch --field-selector spec.nodeName=node-1 -o jsonpath='{.items[0].metadata.name}')
	check "names the DaemonSet pod" grep -qF "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): demo/$ds" <<<"$perr"
	check "names the emptyDir pod" grep -qF "cannot delete Pods with local storage (use --delete-emptydir-data to override): demo/$scratch" <<<"$perr"
	check "names the bare pod" grep -qF "cannot delete Pods that declare no controller (use --force to override): demo/bare" <<<"$perr"
	check "the static pod stays out of it" bash -c "! grep -q static-web <<<'$perr'"
	check "exit code 1" grep -q '^rc=1$' <<<"$perr"
	# kubectl prints the same lines (Go map order aside)
	local pl kl
	pl=$(grep '^cannot delete' <<<"$perr" | sort)
	# kubectl <= 1.33 doubles the prefix of one message (fixed upstream)
	kl=$(grep '^cannot delete' <<<"$kerr" | sed 's/^cannot delete cannot delete /cannot delete /' | sort)
	check "the same error lines as kubectl drain" [ "$pl" = "$kl" ]
	pl=$(grep -o '^error: unable to drain node "node-1" due to error: ' <<<"$perr")
	check "kubectl's 'unable to drain' line" [ -n "$pl" ]
	# only some flags: the rest is still named
	perr=$(plugin drain node-1 --ignore-daemonsets 2>&1 >/dev/null)
	check "with --ignore-daemonsets the other two are still named" \
		bash -c "grep -q 'local storage' <<<'$perr' && grep -q 'no controller' <<<'$perr' && ! grep -q DaemonSet <<<'$perr'"
	k uncordon node-1 >/dev/null
}

# node-1 drained by the plugin and by kubectl with the same flags: the same
# pods gone, the same kept, the node cordoned.
state_after_drain() { # state_after_drain TOOL -> "kept" set on stdout
	local tool=$1 out
	if [[ $tool == plugin ]]; then
		out=$(plugin drain node-1 --ignore-daemonsets --delete-emptydir-data --force 2>&1)
	else
		out=$(k drain node-1 --ignore-daemonsets --delete-emptydir-data --force 2>&1)
	fi
	echo "rc=$?" >"$WORK/$tool.rc"
	printf '%s\n' "$out" >"$WORK/$tool.out"
	wait_until 60 "no pod terminating on node-1" no_terminating_on node-1
	node_unschedulable node-1 && echo cordoned
	live_pods_on node-1 | sed -E 's/-[a-z0-9]{5}$/-*/'
}
case_end_state() {
	local before p kst
	before=$(live_pods_on node-1)
	p=$(state_after_drain plugin)
	note "plugin left: $(tr '\n' ' ' <<<"$p")"
	check "plugin drain exits 0" grep -q 'rc=0' "$WORK/plugin.rc"
	check "DaemonSet pod stays" grep -q '^demo/node-agent-\*$' <<<"$p"
	check "static pod stays" grep -q '^demo/static-web-node-1$' <<<"$p"
	check "bare and emptyDir pods are gone" bash -c "! grep -qE 'demo/(bare|scratch)' <<<'$p'"
	check "no web pod left on node-1" bash -c "! grep -q 'demo/web-' <<<'$p'"
	check "prints kubectl's last line" grep -q '^node/node-1 drained$' "$WORK/plugin.out"
	check "prints 'evicting pod demo/bare' and 'pod/bare evicted'" \
		bash -c "grep -q '^evicting pod demo/bare$' '$WORK/plugin.out' && grep -q '^pod/bare evicted$' '$WORK/plugin.out'"
	check "warns as kubectl" grep -q '^Warning: .*ignoring DaemonSet-managed Pods: demo/node-agent-' "$WORK/plugin.out"
	restore_seeded
	kst=$(state_after_drain kubectl)
	note "kubectl left: $(tr '\n' ' ' <<<"$kst")"
	check "end state equals kubectl drain's (kept pods, cordon)" [ "$p" = "$kst" ]
	# the same kinds of lines (pod names differ between the two runs)
	local pl kl
	pl=$(sed -E 's/-[a-z0-9]{5}(-[a-z0-9]{5})?\b/-*/g; s/-[a-f0-9]{8,10}-\*/-*/g' "$WORK/plugin.out" | grep -v '^Warning\|^WARNING' | sort | uniq -c)
	kl=$(sed -E 's/-[a-z0-9]{5}(-[a-z0-9]{5})?\b/-*/g; s/-[a-f0-9]{8,10}-\*/-*/g' "$WORK/kubectl.out" | grep -v '^Warning\|^WARNING' | sort | uniq -c)
	note "plugin lines: $(tr -s ' ' <<<"$pl" | tr '\n' ';')"
	note "kubectl lines: $(tr -s ' ' <<<"$kl" | tr '\n' ';')"
	restore_seeded
}

# maxUnavailable: 0 blocks every eviction: the 5 s retry loop prints
# kubectl's message, and --timeout ends it with kubectl's error.
case_pdb_timeout() {
	setup_ns
	deploy_on node-2 blocked 2
	make_pdb blocked "maxUnavailable: 0"
	local out rc kout
	out=$(plugin drain node-2 --pod-selector=app=blocked --timeout=7s 2>&1)
	rc=$?
	note "$(head -c 1500 <<<"$out")"
	check "exits 1" [ $rc -eq 1 ]
	check "retry line as kubectl" grep -qE '^error when evicting pods/"blocked-[a-z0-9-]+" -n "rs-drain-e2e" \(will retry after 5s\): Cannot evict pod as it would violate the pod.s disruption budget\.$' <<<"$out"
	check "timeout error as kubectl" grep -qE '^error when evicting pods/"blocked-[a-z0-9-]+" -n "rs-drain-e2e": global timeout reached: 7s$' <<<"$out"
	check "pending pods listed" grep -qE '^There are pending pods in node "node-2" when an error occurred: ' <<<"$out"
	check "both pods still there" ns_ready "$TNS" app=blocked 2
	k uncordon node-2 >/dev/null
	kout=$(k drain node-2 --pod-selector=app=blocked --timeout=7s 2>&1)
	local pl kl
	pl=$(grep -E '^(error|There|pod/)' <<<"$out" | sed -E 's/blocked-[a-z0-9-]+/P/g' | sort -u)
	kl=$(grep -E '^(error|There|pod/)' <<<"$kout" | sed -E 's/blocked-[a-z0-9-]+/P/g' | sort -u)
	note "kubectl: $(tr '\n' ';' <<<"$kl")"
	check "the same error lines as kubectl" [ "$pl" = "$kl" ]
	k uncordon node-2 >/dev/null
	# ... and blocks until the budget is relaxed
	plugin drain node-2 --pod-selector=app=blocked >"$WORK/relax.out" 2>&1 &
	local pid=$!
	sleep 7
	check "still blocked after 7 s" kill -0 $pid
	k patch pdb blocked -n "$TNS" --type merge -p '{"spec":{"maxUnavailable":1}}' >/dev/null
	local t0=$SECONDS
	wait $pid
	rc=$?
	check "finishes once relaxed (rc=$rc, $((SECONDS - t0)) s)" [ $rc -eq 0 ]
	# one eviction at a time as the budget allows: the next 5 s retry after
	# the relaxing, the replacement Ready on node-1, the next retry; kubectl
	# drain takes about 10 s here too.  Far longer means the wait is stuck.
	check "... within 30 s of the relaxing ($((SECONDS - t0)) s)" [ $((SECONDS - t0)) -le 30 ]
	check "evicted both" [ "$(grep -c '^pod/blocked-.* evicted$' "$WORK/relax.out")" = 2 ]
	k delete namespace "$TNS" --wait=true >/dev/null 2>&1
	k uncordon node-2 >/dev/null
}

# minAvailable: the Deployment never drops below its floor while the drain
# runs (checked every 200 ms during it). The drain is the ASan+UBSan build's
# when there is one (make test-drain-e2e builds it): a real drain with 429
# retries, watches and evictions, where a memory error or a leak aborts it.
case_min_available() {
	local bin=$PLUGIN asan=$RS_ROOT/build/asan/kubectl-runtime_switch
	[[ -x $asan ]] && bin=$asan
	setup_ns
	deploy_on node-2 floor 4
	make_pdb floor "minAvailable: 3"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" drain node-2 --pod-selector=app=floor >"$WORK/floor.out" 2>&1 &
	local pid=$! min=99 n
	while kill -0 $pid 2>/dev/null; do
		n=$(k get pods -n "$TNS" -l app=floor -o json | jq '[.items[] | select(.metadata.deletionTimestamp == null) |
			select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length')
		((n < min)) && min=$n
		sleep 0.2
	done
	wait $pid
	local rc=$?
	note "lowest Ready count during the drain: $min"
	check "drain with minAvailable succeeds" [ $rc -eq 0 ]
	check "never below minAvailable=3 (lowest $min)" [ "$min" -ge 3 ]
	check "the budget made it wait (429 retries)" grep -q 'will retry after' "$WORK/floor.out"
	check "no floor pod left on node-2" not grep -q floor <<<"$(live_pods_on node-2)"
	if [[ $bin == "$asan" ]]; then
		check "... by the ASan+UBSan build, with no sanitizer report" \
			not grep -qE 'ERROR: AddressSanitizer|LeakSanitizer|runtime error:' "$WORK/floor.out"
	else
		skip "the ASan+UBSan build drains cleanly: no $asan (make test-drain-e2e builds it)"
	fi
	k delete namespace "$TNS" --wait=true >/dev/null 2>&1
	k uncordon node-2 >/dev/null
}

# Ctrl-C: stop evicting, keep the node cordoned, say what happened.
case_interrupt() {
	setup_ns
	deploy_on node-2 stuck 2
	make_pdb stuck "maxUnavailable: 0"
	# the plugin itself in the background ($! of the shell function would be
	# a subshell, which holds a SIGINT until its child ends)
	"$PLUGIN" drain node-2 --pod-selector=app=stuck >"$WORK/int.out" 2>&1 &
	local pid=$!
	sleep 6
	kill -INT $pid
	wait $pid
	local rc=$?
	note "$(tail -n 8 "$WORK/int.out")"
	check "exit 130 on SIGINT" [ $rc -eq 130 ]
	check "summary says the node stays cordoned" grep -q 'the node stays cordoned' "$WORK/int.out"
	check "lists the pods not evicted" grep -qE '^  not evicted: +rs-drain-e2e/stuck-' "$WORK/int.out"
	check "says how to continue" grep -q '^To continue:  kubectl runtime-switch drain node-2 --pod-selector=app=stuck' "$WORK/int.out"
	check "node still cordoned" node_unschedulable node-2
	check "pods untouched" ns_ready "$TNS" app=stuck 2
	k delete namespace "$TNS" --wait=true >/dev/null 2>&1
	k uncordon node-2 >/dev/null
}

# --disable-eviction: kubectl deletes one pod after the other and stops at
# the first error, leaving the pods after it alone.  An admission policy
# refuses to delete the middle one of three bare pods; both tools must
# delete the first only, and print the same lines.
DENY_POLICY=rs-drain-e2e-deny-delete
deny_policy() {
	k apply -f - >/dev/null <<-EOF
		apiVersion: admissionregistration.k8s.io/v1
		kind: ValidatingAdmissionPolicy
		metadata: {name: $DENY_POLICY}
		spec:
		  failurePolicy: Fail
		  matchConstraints:
		    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: $TNS}}
		    resourceRules:
		    - {apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [pods]}
		  validations:
		  - expression: "!has(oldObject.metadata.labels) || !('deny-delete' in oldObject.metadata.labels)"
		    message: deleting this pod is denied by the drain test
		---
		apiVersion: admissionregistration.k8s.io/v1
		kind: ValidatingAdmissionPolicyBinding
		metadata: {name: $DENY_POLICY}
		spec: {policyName: $DENY_POLICY, validationActions: [Deny]}
	EOF
}
bare_pod() { # bare_pod NAME NODE [LABELS]
	k apply -f - >/dev/null <<-EOF
		apiVersion: v1
		kind: Pod
		metadata: {name: $1, namespace: $TNS, labels: {app: del${3:+, $3}}}
		spec:
		  nodeName: $2
		  terminationGracePeriodSeconds: 5
		  containers:
		  - name: c
		    image: $IMAGE
		    imagePullPolicy: Never
		    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"]
	EOF
}
denied() { ! k delete pod -n "$TNS" del-b --dry-run=server >/dev/null 2>&1; }
delete_run() { # delete_run TOOL: three pods, the drain; rc, output, what is left
	local tool=$1
	bare_pod del-a node-2
	bare_pod del-b node-2 "deny-delete: 'yes'"
	bare_pod del-c node-2
	wait_until 60 "3 del pods Ready" ns_ready "$TNS" app=del 3
	wait_until 30 "the admission policy in force" denied
	local uids
	uids=$(k get pods -n "$TNS" -l app=del -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.uid}{"\n"}{end}')
	if [[ $tool == plugin ]]; then
		plugin drain node-2 --pod-selector=app=del --disable-eviction --force >"$WORK/del-$tool.out" 2>&1
	else
		k drain node-2 --pod-selector=app=del --disable-eviction --force >"$WORK/del-$tool.out" 2>&1
	fi
	echo "rc=$?" >"$WORK/del-$tool.rc"
	# left: the pods not deleted, with their UIDs unchanged
	k get pods -n "$TNS" -l app=del -o json | jq -r '.items[] | select(.metadata.deletionTimestamp == null) |
		"\(.metadata.name)=\(.metadata.uid)"' | sort >"$WORK/del-$tool.left"
	grep -Fxf "$WORK/del-$tool.left" <<<"$uids" | cut -d= -f1 | tr '\n' ' ' >"$WORK/del-$tool.kept"
	k uncordon node-2 >/dev/null
	k label pod -n "$TNS" del-b deny-delete- >/dev/null
	k delete pods -n "$TNS" -l app=del --wait=true >/dev/null
}
case_delete() {
	setup_ns
	deny_policy
	delete_run plugin
	delete_run kubectl
	note "plugin: $(tr '\n' ';' <"$WORK/del-plugin.out")"
	check "plugin: exit 1 ($(cat "$WORK/del-plugin.rc"))" grep -qx 'rc=1' "$WORK/del-plugin.rc"
	check "plugin: deleted the first pod only, stopped at the refused one" \
		[ "$(cat "$WORK/del-plugin.kept")" = "del-b del-c " ]
	check "kubectl did the same (kept: $(cat "$WORK/del-kubectl.kept"))" \
		[ "$(cat "$WORK/del-kubectl.kept")" = "del-b del-c " ]
	check "the same exit code as kubectl" cmp -s "$WORK/del-plugin.rc" "$WORK/del-kubectl.rc"
	check "the same lines as kubectl" cmp -s "$WORK/del-plugin.out" "$WORK/del-kubectl.out"
	cmp -s "$WORK/del-plugin.out" "$WORK/del-kubectl.out" || diff "$WORK/del-kubectl.out" "$WORK/del-plugin.out" | sed 's/^/# /'
	# without the refusal: all three, one after the other
	k delete validatingadmissionpolicybinding,validatingadmissionpolicy "$DENY_POLICY" >/dev/null
	bare_pod del-a node-2
	bare_pod del-b node-2
	bare_pod del-c node-2
	wait_until 60 "3 del pods Ready" ns_ready "$TNS" app=del 3
	local out rc
	out=$(plugin drain node-2 --pod-selector=app=del --disable-eviction --force 2>&1)
	rc=$?
	check "without the policy: drained (rc=$rc)" [ $rc -eq 0 ]
	check "without the policy: 'pod/del-X deleted' for all three, no 'evicting' line" \
		bash -c "[ \$(grep -c '^pod/del-[abc] deleted\$' <<<'$out') = 3 ] && ! grep -q evicting <<<'$out'"
	k delete namespace "$TNS" --wait=true >/dev/null 2>&1
	k uncordon node-2 >/dev/null
}

case_dry_run() {
	local before out
	before=$(uids_on node-1)
	out=$(plugin drain node-1 --ignore-daemonsets --delete-emptydir-data --force --dry-run=client 2>&1)
	check "client dry run: kubectl's lines" bash -c "grep -q '^node/node-1 cordoned (dry run)$' <<<'$out' && grep -q '^evicting pod demo/bare (dry run)$' <<<'$out' && grep -q '^node/node-1 drained (dry run)$' <<<'$out'"
	out=$(plugin drain node-1 --ignore-daemonsets --delete-emptydir-data --force --dry-run=server 2>&1)
	check "server dry run: kubectl's lines" bash -c "grep -q '^evicting pod demo/bare (server dry run)$' <<<'$out' && grep -q '^node/node-1 drained (server dry run)$' <<<'$out'"
	check "dry runs change nothing" [ "$before" = "$(uids_on node-1)" ]
	check "dry runs do not cordon" not node_unschedulable node-1
}

# Faults between the plugin and the real API server (tests/fakes/faultproxy.py).
evictions_ok_twice() { # any pod whose eviction the API server accepted twice?
	jq -r 'select(.method=="POST" and (.path|test("/eviction$")) and .upstream != null and .upstream < 300) | .path' "$FAULT_LOG" |
		sort | uniq -d | grep -q .
}
evict_after_success() { # after an accepted eviction, anything but a 409 for the same pod?
	# (libcurl resends a request whose reused connection died: the
	# resourceVersion precondition must refuse that replay with 409)
	jq -rs '[.[] | select(.method=="POST" and (.path|test("/eviction$")) and .upstream != null)] |
		group_by(.path)[] | (map(.upstream < 300) | index(true)) as $i |
		select($i != null and ((.[$i + 1:] | map(select(.upstream != 409)) | length) > 0)) | .[0].path' "$FAULT_LOG" | grep -q .
}
api_off_node() { # api_off_node APP LEFT: LEFT live pods of APP still on node-2
	[[ $(k get pods -n "$TNS" -l "app=$1" --field-selector spec.nodeName=node-2 -o json |
		jq '[.items[] | select(.metadata.deletionTimestamp == null)] | length') -eq $2 ]]
}
fault_run() { # fault_run NAME RULES-JSON N [extra plugin flags] -> rc in $FRC, output in $WORK/NAME.out
	local name=$1 rules=$2 n=$3
	shift 3
	setup_ns
	deploy_on node-2 "$name" "$n" 2
	printf '%s\n' "$rules" >"$WORK/$name.rules"
	fault_proxy_start "$WORK/$name" "$WORK/$name.rules"
	KUBECONFIG=$FAULT_KUBECONFIG plugin drain node-2 --pod-selector="app=$name" -o json "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	FRC=$?
	fault_proxy_stop
	FAULT_LOG=$WORK/$name/requests.jsonl
}
fault_checks() { # fault_checks NAME N EXPECT_FAILED
	local name=$1 n=$2 nf=$3 gone failed
	gone=$(jq -r 'select(.event=="evicted") | .pod' "$WORK/$name.out" | sort -u | wc -l)
	failed=$(jq -r 'select(.event=="failed") | .pods[] | select(.state=="failed") | .name' "$WORK/$name.out" 2>/dev/null | wc -l)
	check "$name: every pod accounted for ($gone evicted + $failed failed = $n)" [ $((gone + failed)) -eq "$n" ]
	check "$name: $nf failed as expected" [ "$failed" -eq "$nf" ]
	check "$name: no pod evicted twice" not evictions_ok_twice
	check "$name: a replay after an accepted eviction is refused (409)" not evict_after_success
	check "$name: the API agrees ($((n - nf)) pods off node-2)" api_off_node "$name" "$nf"
	k delete namespace "$TNS" --wait=true >/dev/null 2>&1
	k uncordon node-2 >/dev/null
}
case_faults() {
	# 1: every eviction meets a 429 without Retry-After, then a 429 with
	# one, then a reset after the API server accepted it: each pod must be
	# evicted exactly once and still be seen through.
	fault_run f429 '[{"method":"POST","path":"/eviction$","action":"429","first":1},
		{"method":"POST","path":"/eviction$","action":"429-retry-after","retry_after":1,"first":1},
		{"method":"POST","path":"/eviction$","action":"reset-after","first":1}]' 4
	check "f429: drain succeeds (rc=$FRC)" [ $FRC -eq 0 ]
	check "f429: said why it retried" grep -q '"event":"retry"' "$WORK/f429.out"
	fault_checks f429 4 0
	# 2: resets before the request reaches the server, then 500s after it
	# was carried out, and the watch cut every 2 s.
	fault_run freset '[{"method":"POST","path":"/eviction$","action":"reset","first":1},
		{"method":"POST","path":"/eviction$","action":"500-after","first":1},
		{"method":"GET","path":"watch=1","action":"watch-reset","after_s":2,"key":"all","first":3}]' 4
	check "freset: drain succeeds (rc=$FRC)" [ $FRC -eq 0 ]
	fault_checks freset 4 0
	# 3: a plain 500 fails that pod with the API's message (kubectl's rule),
	# the others go on; a 500 with Retry-After, then the API server's
	# plain-text 503 with Retry-After (no Status body), are retried.
	fault_run f500 '[{"method":"POST","path":"/eviction$","action":"500","first":1,"key":"all"},
		{"method":"POST","path":"/eviction$","action":"500-retry-after","retry_after":1,"first":1},
		{"method":"POST","path":"/eviction$","action":"503-text","first":1}]' 3
	check "f500: drain fails (rc=$FRC)" [ $FRC -eq 1 ]
	check "f500: the plain-text 503s were retried after their Retry-After" \
		grep -q '"event":"retry".*"retryAfterSeconds":1.*Too many requests, please try again later' "$WORK/f500.out"
	check "f500: kubectl's message with the API's" grep -q 'error when evicting pods/\\"f500-.*\\" -n \\"rs-drain-e2e\\": Internal error occurred: injected fault' "$WORK/f500.out"
	fault_checks f500 3 1
}

CASES=(cordon filters dry_run pdb_timeout min_available interrupt delete faults end_state)
(($#)) && CASES=("$@")
T0=$SECONDS
for c in "${CASES[@]}"; do
	note "== $c"
	t=$SECONDS
	"case_$c"
	restore_seeded
	seeded_state >"$WORK/seeded.after"
	check "$c leaves the cluster as seeded" cmp -s "$WORK/seeded.before" "$WORK/seeded.after"
	diff "$WORK/seeded.before" "$WORK/seeded.after" | sed 's/^/# /'
	note "-- $c: $((SECONDS - t)) s"
done
note "all cases: $((SECONDS - T0)) s"
test_done
