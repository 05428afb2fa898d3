#!/usr/bin/env bash
# make test-fleet-e2e: the rollout (`node -l ... --to containerd` over
# several nodes, issue 12) on a real 4-node cluster through the real kubectl:
#   node-1 docker (zone-a, the seeded pods), node-2 containerd (the bystander),
#   node-3 and node-4 docker (zone-b)
#   tests/e2e/test_fleet.sh [PLUGIN]
#
# The cases share their switches (each Docker node is switched once, node-3
# once more after its failure):
#   plan     -l selecting the three Docker nodes, --max-unavailable 2, a
#            canary: --dry-run -o json, nothing changed; the seeded budget
#            (demo/web, one disruption) splits node-3 and node-4 and says so;
#            relaxed to two, they are one batch;
#   failure  node-3 node-4: containerd will not start once on node-3, so its
#            switch fails and is rolled back; the rollout halts, node-3 stays
#            cordoned on Docker, node-4 is untouched; `rollout abort` leaves
#            its record final (node-4 cancelled), `rollout status` lists it;
#   rollout  the -l rollout with a Deployment of 4 spread over the nodes and
#            a PodDisruptionBudget of maxUnavailable 2, its available replicas
#            sampled throughout, --soak 2s after each batch; the plugin killed (SIGKILL) while the second
#            batch switches; then a second rollout over node-4 is refused
#            naming the first; the same command again resumes it without
#            running node-1 again; every node on containerd, the batches as the
#            dry run planned them, the budget's floor never broken.
# The default cluster is brought back at the end (the suites after this one
# expect it).
. "$(dirname "$0")/../lib/test-lib.sh"
. "$RS_ROOT/tests/lib/e2e.sh"
need jq
PLUGIN=$(readlink -f "${1:-${PLUGIN:-$RS_ROOT/build/release/kubectl-runtime_switch}}")
[[ -x $PLUGIN ]] || bail_out "build the plugin first: $PLUGIN"
KUBECTL_DISPATCH=${KUBECTL_DISPATCH:-/usr/bin/kubectl}
FLEET_NODES=${FLEET_NODES:-"node-1:docker node-2:containerd node-3:docker@zone-b node-4:docker@zone-b"}
WORK=$T_TMP
WORK_NS=kubectl-runtime-switch
NS=rsw-fleet
SEL=rsw-fleet=old
DRAIN_FLAGS=(--force --delete-emptydir-data)
mkdir -p "$WORK/bin"
ln -sf "$PLUGIN" "$WORK/bin/kubectl-runtime_switch"
k() { "$KUBECTL" "$@"; }
kplugin() { PATH="$WORK/bin:$PATH" "$KUBECTL_DISPATCH" runtime-switch "$@"; }
T0=$SECONDS

export NODES=$FLEET_NODES
e2e_begin || bail_out "the 4-node e2e cluster did not come up"
note "4-node cluster up: $((SECONDS - T0)) s"
unset NODES

restore_default() {
	local t=$SECONDS
	k delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1
	k delete configmap -n "$WORK_NS" -l runtime-switch.kubectl.dev/rollout --ignore-not-found >/dev/null 2>&1
	cluster up >"$WORK/restore.log" 2>&1 || tail -n 20 "$WORK/restore.log" | sed 's/^/# /'
	note "default cluster back: $((SECONDS - t)) s"
}
at_exit restore_default

runtime_of() { k get node "$1" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}'; }
node_ready() { [[ $(k get node "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
unschedulable() { [[ $(k get node "$1" -o jsonpath='{.spec.unschedulable}') == true ]]; }
on_runtime() { [[ $(runtime_of "$1") == "$2"://* ]] && node_ready "$1"; }
# The rollout records, as the plugin wrote them: records [JQ-FILTER]
records() { # records [JQ-FILTER [JQ-ARGS...]]
	local f=${1:-.}
	shift
	k get configmap -n "$WORK_NS" -l runtime-switch.kubectl.dev/rollout -o json |
		jq -c "[.items[].data[\"rollout.json\"] | fromjson] | $f" "$@"
}
# The record whose nodes are exactly the given set.
record_of() { records "map(select([.nodes[].name] | sort == (\$ARGS.positional | sort))) | first" --args "$@"; }
node_state() { record_of "${@:2}" | jq -r --arg n "$1" '.nodes[] | select(.name == $n) | .state'; }
run_plugin() { # run_plugin TAG ARGS...: output in $WORK/TAG.out (stdout) and .err, exit code in .rc
	local tag=$1 t=$SECONDS
	shift
	kplugin "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err"
	echo $? >"$WORK/$tag.rc"
	note "[$tag] $* -> exit $(cat "$WORK/$tag.rc") in $((SECONDS - t)) s"
}
rc_of() { cat "$WORK/$1.rc"; }
show() { sed 's/^/#     /' "$WORK/$1.out" "$WORK/$1.err" | tail -n "${2:-40}"; }

k label node node-1 node-3 node-4 "$SEL" --overwrite >/dev/null || bail_out "cannot label the Docker nodes"
for n in node-1 node-3 node-4; do
	check "$n on Docker" on_runtime "$n" docker
done

# ---------------------------------------------------------------- plan ---
nodes_now() { k get nodes -o json | jq -S '[.items[] | {n: .metadata.name, u: .spec.unschedulable, a: .metadata.annotations}]'; }
plan() { # plan TAG: the -l plan, its batches in $WORK/TAG.batches
	run_plugin "$1" node -l "$SEL" --to containerd --max-unavailable 2 --canary 1 "${DRAIN_FLAGS[@]}" --dry-run -o json
	jq -c '[.batches[].nodes]' "$WORK/$1.out" >"$WORK/$1.batches"
	note "planned batches: $(cat "$WORK/$1.batches")"
}
demo_pdb_allows() { [ "$(k get pdb -n demo web -o jsonpath='{.status.disruptionsAllowed}')" = "$1" ]; }
case_plan() {
	local before
	before=$(nodes_now)
	# the seeded demo/web budget (minAvailable 2 of 3) has a pod on node-3
	# and one on node-4: it allows one of them at a time
	plan plan-pdb
	check "plan: --dry-run exits 0" [ "$(rc_of plan-pdb)" = 0 ] || show plan-pdb
	check "... node-1 alone (the canary), node-3 and node-4 one at a time" \
		[ "$(cat "$WORK/plan-pdb.batches")" = '[["node-1"],["node-3"],["node-4"]]' ]
	check "... the second batch wanted 2 and says which budget shrank it" \
		jq -e '.batches[1] | .want == 2 and (.note | test("PodDisruptionBudget demo/web allows 1 disruption"))' "$WORK/plan-pdb.out"
	check "... node-2 is not selected" not jq -e '.nodes[] | select(.name == "node-2")' "$WORK/plan-pdb.out"
	check "... nothing changed on the nodes, no record" eval '[ "$before" = "$(nodes_now)" ] && [ "$(records length)" = 0 ]'
	# a budget that allows two: node-3 and node-4 together (one zone, --max-unavailable 2)
	k patch pdb -n demo web --type merge -p '{"spec":{"minAvailable":1}}' >/dev/null
	check "the demo budget relaxed to 2 disruptions" wait_until 30 "demo/web allowing 2" demo_pdb_allows 2
	plan plan
	check "... the plan: node-1, then node-3 and node-4 together" \
		[ "$(cat "$WORK/plan.batches")" = '[["node-1"],["node-3","node-4"]]' ]
}

# ------------------------------------------------------------- failure ---
FAIL_DROPIN=/etc/systemd/system/containerd.service.d/99-rsw-e2e-fail.conf
case_failure() {
	cluster exec node-3 -- sh -c "mkdir -p ${FAIL_DROPIN%/*} && printf '%s\n' '[Service]' 'ExecStartPre=/bin/sh -c \"if [ -e /run/rsw-e2e-fail-once ]; then rm -f /run/rsw-e2e-fail-once; exit 1; fi\"' >$FAIL_DROPIN && systemctl daemon-reload && touch /run/rsw-e2e-fail-once" ||
		{ fail "failure: cannot arm the failure on node-3"; return; }
	run_plugin failure node node-3 node-4 --to containerd --canary 1 --yes "${DRAIN_FLAGS[@]}"
	check "failure: exit 5, the node rolled back" [ "$(rc_of failure)" = 5 ] || show failure
	check "... the rollout halted, saying why" grep -q "halted: 1 node(s) failed" "$WORK/failure.err"
	check "... node-3 back on Docker and Ready" wait_until 120 "node-3 on Docker" on_runtime node-3 docker
	check "... node-3 left cordoned" unschedulable node-3
	check "... node-4 untouched: on Docker, schedulable, never started" \
		eval 'on_runtime node-4 docker && not unschedulable node-4 && not grep -q "node/node-4" "$WORK/failure.out"'
	check "... the record: halted, node-3 failed, node-4 pending" \
		[ "$(record_of node-3 node-4 | jq -r '[.state, (.nodes[] | .state)] | join(" ")')" = "halted failed pending" ]
	cluster exec node-3 -- sh -c "rm -f $FAIL_DROPIN /run/rsw-e2e-fail-once && systemctl daemon-reload"
	k uncordon node-3 >/dev/null
	# its record left final: node-3 failed (its own run rolled back), node-4 cancelled
	local id
	id=$(record_of node-3 node-4 | jq -r .id)
	run_plugin abort rollout abort "$id"
	check "rollout abort: exit 0, node-3 failed, node-4 cancelled" \
		grep -q "rollout $id aborted: 0 done, 1 failed, 1 cancelled" "$WORK/abort.out" || show abort
	run_plugin status rollout status
	check "rollout status lists it as aborted" grep -q "^$id *aborted" "$WORK/status.out" || show status
}

# ------------------------------------------------------------- rollout ---
seed_workload() {
	k create namespace "$NS" >/dev/null 2>&1
	k apply -n "$NS" -f - >/dev/null <<-EOF
		apiVersion: apps/v1
		kind: Deployment
		metadata: {name: web}
		spec:
		  replicas: 4
		  selector: {matchLabels: {app: web}}
		  template:
		    metadata: {labels: {app: web}}
		    spec:
		      terminationGracePeriodSeconds: 1
		      topologySpreadConstraints:
		      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway,
		         labelSelector: {matchLabels: {app: web}}}
		      containers:
		      - {name: c, image: localhost/busybox:1, command: [sleep, "86400"],
		         readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}}
		---
		apiVersion: policy/v1
		kind: PodDisruptionBudget
		metadata: {name: web}
		spec:
		  maxUnavailable: 2
		  selector: {matchLabels: {app: web}}
	EOF
}
available() { k get deployment -n "$NS" web -o jsonpath='{.status.availableReplicas}'; }
all_available() { [ "$(available)" = 4 ]; }

# The Deployment's available replicas every half second, into $WORK/samples.
sampler() {
	while :; do
		echo "$(date +%s.%N) $(available)" >>"$WORK/samples"
		sleep 0.5
	done
}

case_rollout() {
	local args=(node -l "$SEL" --to containerd --max-unavailable 2 --canary 1 --soak 2s --yes "${DRAIN_FLAGS[@]}" -o json)
	seed_workload
	check "rollout: the Deployment's 4 replicas available" wait_until 120 "4 available" all_available ||
		return
	sampler &
	local spid=$! pid id1
	at_exit "kill $spid 2>/dev/null"
	# the first run, killed while the second batch switches
	PATH="$WORK/bin:$PATH" "$KUBECTL_DISPATCH" runtime-switch "${args[@]}" >"$WORK/first.out" 2>"$WORK/first.err" &
	pid=$!
	check "... the second batch starts" wait_until 600 "node-3 or node-4 running" \
		eval '[ "$(node_state node-3 node-1 node-3 node-4)" = running ] || [ "$(node_state node-4 node-1 node-3 node-4)" = running ]'
	sleep 3
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	note "first run killed after: $(jq -r 'select(.type == "node-end") | .node + " " + .outcome' "$WORK/first.out" | tr '\n' ';')"
	id1=$(record_of node-1 node-3 node-4 | jq -r '.nodes[] | select(.name == "node-1") | .run')
	check "... node-1 (the canary) was done, run $id1" [ "$(node_state node-1 node-1 node-3 node-4)" = done ]
	# another rollout over node-4 while the first is unfinished
	run_plugin second node node-4 node-2 --to containerd --canary 1 --yes "${DRAIN_FLAGS[@]}"
	check "second rollout over node-4: refused, exit 3" [ "$(rc_of second)" = 3 ] || show second
	check "... naming the first and its owner" grep -qF "node node-4 is in rollout $(record_of node-1 node-3 node-4 |
		jq -r '"\(.id) (running, \(.nodes[] | select(.name == "node-4") | .state) by \(.owner)"')" "$WORK/second.err"
	# the same command again
	run_plugin resume "${args[@]}"
	check "the same command again: exit 0" [ "$(rc_of resume)" = 0 ] || show resume
	check "... node-1 not run again" [ -z "$(jq -r 'select(.type == "node-start" and .node == "node-1") | .node' "$WORK/resume.out")" ]
	check "... node-1's run is the first one's" [ "$(record_of node-1 node-3 node-4 | jq -r '.nodes[] | select(.name == "node-1") | .run')" = "$id1" ]
	for n in node-1 node-3 node-4; do
		check "... $n on containerd, schedulable" eval "on_runtime $n containerd && not unschedulable $n"
	done
	check "... the record done, its batches as planned" [ "$(record_of node-1 node-3 node-4 |
		jq -c '[.state, ([.nodes | group_by(.batch)[] | map(.name)])]')" = "[\"done\",$(cat "$WORK/plan.batches")]" ]
	check "... gates passed for every node" [ "$(cat "$WORK/first.out" "$WORK/resume.out" |
		jq -r 'select(.type == "gate" and .passed and .node) | .node' | sort -u | tr '\n' ' ')" = "node-1 node-3 node-4 " ]
	check "... --soak 2s after each batch: no container restarted (batch 1, then batch 2 resumed)" [ "$(cat "$WORK/first.out" "$WORK/resume.out" |
		jq -r 'select(.type == "gate" and .node == null and .passed and .message == "soak: no container restarted") | .batch' |
		tr '\n' ' ')" = "1 2 " ]
	kill "$spid" 2>/dev/null
	local min
	min=$(awk '$2 != "" { if (m == "" || $2 < m) m = $2 } END { print m }' "$WORK/samples")
	note "$(wc -l <"$WORK/samples") samples of available replicas, the lowest $min"
	check "... the budget's floor held: never fewer than 2 available" [ -n "$min" ] && [ "$min" -ge 2 ]
	jq -r 'select(.kind == "RolloutSummary") | .nodes[] | "\(.name) \(.outcome) \(.totalSeconds)s notReady \(.notReadySeconds // "-")s"' \
		"$WORK/first.out" "$WORK/resume.out" | sed 's/^/# summary: /'
}

case_plan
case_failure
case_rollout
note "suite: $((SECONDS - T0)) s before the restore"
test_done
