# Helpers for the drain tests on the real cluster (sourced after
# tests/lib/test-lib.sh and tests/lib/e2e.sh; test harness only).

PLUGIN=${PLUGIN:-$RS_ROOT/build/release/kubectl-runtime_switch}
TNS=rs-drain-e2e
IMAGE=localhost/busybox:1
WORK=${WORK:-$(mktemp -d /tmp/rs-drain-e2e.XXXXXX)}

k() { "$KUBECTL" "$@"; }
plugin() { "$PLUGIN" "$@"; }

node_unschedulable() { [[ $(k get node "$1" -o jsonpath='{.spec.unschedulable}') == true ]]; }

# "ns/name" of every pod bound to the node and not terminating, sorted
live_pods_on() {
	k get pods -A --field-selector "spec.nodeName=$1" -o json |
		jq -r '.items[] | select(.metadata.deletionTimestamp == null) | "\(.metadata.namespace)/\(.metadata.name)"' | sort
}
uids_on() {
	k get pods -A --field-selector "spec.nodeName=$1" -o jsonpath='{range .items[*]}{.metadata.uid}{"\n"}{end}' | sort
}
no_terminating_on() {
	[[ $(k get pods -A --field-selector "spec.nodeName=$1" -o json | jq '[.items[] | select(.metadata.deletionTimestamp != null)] | length') == 0 ]]
}

bound_on() { # bound_on NODE APP N
	[[ $(k get pods -n "$TNS" -l "app=$2" --field-selector "spec.nodeName=$1" --no-headers 2>/dev/null | wc -l) -ge $3 ]]
}
ns_ready() { # ns_ready NS LABEL N: N pods Ready, none terminating
	local n
	n=$(k get pods -n "$1" -l "$2" -o json | jq '[.items[] | select(.metadata.deletionTimestamp == null) |
		select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length')
	[[ $n -ge $3 ]]
}

# A Deployment of N pods that stop at once on SIGTERM, in the test namespace.
make_deploy() { # make_deploy NAME REPLICAS [GRACE]
	k apply -f - >/dev/null <<-EOF
		apiVersion: apps/v1
		kind: Deployment
		metadata: {name: $1, namespace: $TNS}
		spec:
		  replicas: $2
		  selector: {matchLabels: {app: $1}}
		  template:
		    metadata: {labels: {app: $1}}
		    spec:
		      terminationGracePeriodSeconds: ${3:-5}
		      containers:
		      - name: c
		        image: $IMAGE
		        imagePullPolicy: Never
		        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"]
	EOF
}

pdb_observed() { # the disruption controller has computed the budget's status
	local gen obs
	read -r gen obs < <(k get pdb "$1" -n "$TNS" -o jsonpath='{.metadata.generation} {.status.observedGeneration}')
	[[ -n $obs && $gen == "$obs" ]]
}
make_pdb() { # make_pdb NAME SPEC-YAML (e.g. "maxUnavailable: 0"), once in force
	k apply -f - >/dev/null <<-EOF
		apiVersion: policy/v1
		kind: PodDisruptionBudget
		metadata: {name: $1, namespace: $TNS}
		spec:
		  $2
		  selector: {matchLabels: {app: $1}}
	EOF
	# (before that, evictions get "still being processed", retry after 10 s)
	wait_until 30 "the disruption controller to observe PDB $1" pdb_observed "$1"
}

# Put a test Deployment's pods on NODE: cordon the other node while it rolls out.
deploy_on() { # deploy_on NODE NAME REPLICAS [GRACE]
	local node=$1 other
	other=$([[ $node == node-1 ]] && echo node-2 || echo node-1)
	k cordon "$other" >/dev/null
	make_deploy "$2" "$3" "${4:-5}"
	if [[ ${DRAIN_E2E_NO_READY:-0} == 1 ]]; then
		# containers cannot start on this cluster: bound pods will do
		wait_until 60 "$3 pods of $2 bound to $node" bound_on "$node" "$2" "$3"
	else
		wait_until 120 "$3 pods of $2 Ready" ns_ready "$TNS" "app=$2" "$3"
	fi
	k uncordon "$other" >/dev/null
}

setup_ns() {
	k create namespace "$TNS" >/dev/null 2>&1 || true
}

# Bring the cluster back to the seeded state: nodes schedulable, the bare
# pod back, the seeded Deployments spread as seeded, everything Running.
BARE_JSON=$WORK/bare.json
save_seeded() {
	k get pod -n demo bare -o json | jq 'del(.status, .metadata.uid, .metadata.resourceVersion,
		.metadata.creationTimestamp, .metadata.managedFields, .metadata.generation) |
		.spec |= del(.nodeName)' >"$BARE_JSON"
}
demo_running() {
	local out
	out=$(k get pods -n demo --no-headers 2>/dev/null) || return 1
	[[ $(grep -c ' Running ' <<<"$out") -ge 8 ]] && ! grep -qv ' Running ' <<<"$out"
}
ready_on() { # ready_on NODE APP: live Ready demo pods of APP on NODE
	k get pods -n demo -l "app=$2" --field-selector "spec.nodeName=$1" -o json |
		jq '[.items[] | select(.metadata.deletionTimestamp == null) |
			select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length'
}
# Move one pod of a seeded Deployment to node TO: delete one of its pods on
# the other node while that node is cordoned.  Unlike a rollout restart
# this leaves the pod template (and the ReplicaSet) as seeded.
move_one() { # move_one APP TO
	local app=$1 to=$2 from pod want
	from=$([[ $to == node-1 ]] && echo node-2 || echo node-1)
	pod=$(k get pods -n demo -l "app=$app" --field-selector "spec.nodeName=$from" -o json |
		jq -r '[.items[] | select(.metadata.deletionTimestamp == null)][0].metadata.name // empty')
	[[ -n $pod ]] || return 0
	want=$(($(ready_on "$to" "$app") + 1))
	k cordon "$from" >/dev/null
	k delete pod -n demo "$pod" --wait=false >/dev/null
	wait_until 120 "$want Ready $app pods on $to" eval '(($(ready_on "$to" "$app") >= want))' || note "$app did not come back on $to"
	k uncordon "$from" >/dev/null
}
# The cluster as seeded, enough to start from: nodes Ready and schedulable,
# the bare pod on node-1, every demo pod Running, no test namespace.
seeded_ok() {
	local n
	n=$(k get nodes -o json 2>/dev/null | jq '[.items[] | select(.spec.unschedulable != true) |
		select(any(.status.conditions[]; .type == "Ready" and .status == "True"))] | length') || return 1
	[[ $n == 2 ]] && demo_running &&
		[[ $(k get pod -n demo bare -o jsonpath='{.spec.nodeName}' 2>/dev/null) == node-1 ]] &&
		! k get namespace "$TNS" >/dev/null 2>&1
}

restore_seeded() {
	k uncordon node-1 >/dev/null 2>&1 || true
	k uncordon node-2 >/dev/null 2>&1 || true
	k delete namespace "$TNS" --wait=false >/dev/null 2>&1 || true
	k delete validatingadmissionpolicybinding,validatingadmissionpolicy rs-drain-e2e-deny-delete \
		--ignore-not-found >/dev/null 2>&1 || true
	if ! k get pod -n demo bare >/dev/null 2>&1 && [[ -s $BARE_JSON ]]; then
		k create -f "$BARE_JSON" >/dev/null
	fi
	# the seeded spread: web over both nodes (1+2 or 2+1, as its spread
	# constraint allows), scratch on node-1
	local web1 scratch1
	web1=$(ready_on node-1 web)
	scratch1=$(ready_on node-1 scratch)
	if ((web1 == 0)); then move_one web node-1; elif ((web1 == 3)); then move_one web node-2; fi
	((scratch1 == 0)) && move_one scratch node-1
	wait_until 180 "every demo pod Running" demo_running || note "demo pods are not all Running after restore"
	wait_until 120 "no pod terminating on node-1" no_terminating_on node-1
	wait_until 120 "no pod terminating on node-2" no_terminating_on node-2
}

# What "as seeded" means here, as text: both nodes schedulable, the demo
# objects at the generation they were seeded with, where the demo pods run
# (web on both nodes, 1+2 or 2+1), no test namespace or policy left.
seeded_state() {
	echo "unschedulable:$(k get nodes -o jsonpath='{range .items[*]} {.metadata.name}={.spec.unschedulable}{end}')"
	k get deploy,ds,pdb -n demo -o jsonpath='{range .items[*]}{.kind}/{.metadata.name} generation {.metadata.generation}{"\n"}{end}'
	k get pods -n demo -o json | jq -r '[.items[] | select(.metadata.deletionTimestamp == null)] |
		group_by(.metadata.labels.app // .metadata.name)[] |
		"\(.[0].metadata.labels.app // .[0].metadata.name): \(length) on \([.[].spec.nodeName] | unique | join(",")) \([.[].status.phase] | unique | join(","))"'
	echo "namespaces: $(k get ns -o jsonpath='{.items[*].metadata.name}')"
	echo "admission policies: $(k get validatingadmissionpolicy -o name | tr '\n' ' ')"
}

