#!/usr/bin/env bash
# make test-check-e2e: `kubectl runtime-switch check` on the real cluster
# (tests/e2e/cluster.sh, brought up when it is not), through the real
# kubectl.
#   tests/e2e/test_check.sh [PLUGIN]
#
# It seeds, in a namespace of its own, what the report must find on the
# Docker node (node-1): a DaemonSet mounting /var/run (not the socket), a
# fluent-bit-like pod mounting a ConfigMap whose configuration parses
# Docker's JSON lines, a pod mounting /var/run/docker.sock, a
# docker-in-docker-like pod, a Deployment scaled to zero that mounts the
# socket (a template, no pod); checks each finding (severity, evidence),
# the exit codes (11 blockers, 10 warnings, 0), -o json against the
# documented schema, -o yaml, a read-only user (preflight skipped with a
# note), and that nothing changed: the nodes but for their status, no object
# of ours left.  Everything it made is removed at the end; the seeded
# cluster is as it was.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$RS_ROOT/tests/lib/e2e.sh"
need jq python3
PLUGIN=$(readlink -f "${1:-${PLUGIN:-$RS_ROOT/build/release/kubectl-runtime_switch}}")
[[ -x $PLUGIN ]] || bail_out "build the plugin first: $PLUGIN"
# The real kubectl that finds plugins on PATH (google-cloud-sdk's dispatcher).
KUBECTL_DISPATCH=${KUBECTL_DISPATCH:-/usr/bin/kubectl}
WORK=${WORK:-$T_TMP}
mkdir -p "$WORK/bin"
ln -sf "$PLUGIN" "$WORK/bin/kubectl-runtime_switch"
k() { "$KUBECTL" "$@"; }
kplugin() { PATH="$WORK/bin:$PATH" "$KUBECTL_DISPATCH" runtime-switch "$@"; }
e2e_begin || bail_out "the e2e cluster is not up"
k get node node-1 node-2 >/dev/null || bail_out "the e2e cluster has no node-1 and node-2"
NS=rsw-check-e2e
READER=rsw-check-e2e-reader
IMAGE=localhost/busybox:1
T0=$SECONDS

cleanup() {
	k delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1
	k delete clusterrolebinding "$READER" --ignore-not-found >/dev/null 2>&1
	k delete clusterrole "$READER" --ignore-not-found >/dev/null 2>&1
}
at_exit cleanup

# What check may change: the nodes (but for the status the kubelets keep
# writing) and objects of ours anywhere.
nodes_state() {
	k get nodes -o json | jq -S '[.items[] | del(.status, .metadata.resourceVersion, .metadata.managedFields)]'
}
node_rvs() { k get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}'; }
ours_left() {
	k get jobs,configmaps,secrets,pods -A -l app.kubernetes.io/managed-by=kubectl-runtime-switch -o name 2>/dev/null
}
ours_as_before() { [ "$(ours_left)" = "$baseline_ours" ]; }
# check through the real kubectl; output in $WORK/$1.out, stderr in .err, exit code in .rc
run_check() { # run_check TAG ARGS...
	local tag=$1
	shift
	local t=$SECONDS
	kplugin check "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err"
	echo $? >"$WORK/$tag.rc"
	note "[$tag] check $* -> exit $(cat "$WORK/$tag.rc") in $((SECONDS - t)) s"
}
rc_of() { cat "$WORK/$1.rc"; }
# jq -e over a JSON output: jqt TAG FILTER [ARGS...] (jq -e passes on an
# empty file: an output must be there)
jqt() { local tag=$1 f=$2; shift 2; [ -s "$WORK/$tag.out" ] && jq -e "$@" "$f" "$WORK/$tag.out" >/dev/null; }
finding() { # finding TAG CHECK WORKLOAD-KIND WORKLOAD-NAME: the finding, as JSON
	jq -c --arg c "$2" --arg k "$3" --arg n "$4" \
		'[.findings[] | select(.check == $c and .workload.kind == $k and .workload.name == $n)] | first // empty' \
		"$WORK/$1.out"
}

# ---------------------------------------------------------------- seeds ---

# A pod pinned to node-1: bare_pod NAME CONTAINER COMMAND MOUNTS VOLUMES
# (flow YAML).
bare_pod() {
	k apply -n "$NS" -f - >/dev/null <<-EOF
		apiVersion: v1
		kind: Pod
		metadata: {name: $1}
		spec:
		  nodeSelector: {kubernetes.io/hostname: node-1}
		  terminationGracePeriodSeconds: 0
		  containers:
		  - {name: $2, image: $IMAGE, imagePullPolicy: Never, command: $3, volumeMounts: $4}
		  volumes: $5
	EOF
}

seed() {
	k create namespace "$NS" >/dev/null
	k label namespace "$NS" pod-security.kubernetes.io/enforce=privileged >/dev/null
	wait_until 30 "the namespace's service account" k get serviceaccount default -n "$NS"
	k apply -n "$NS" -f - >/dev/null <<-EOF
		apiVersion: apps/v1
		kind: DaemonSet
		metadata: {name: run-mounter}
		spec:
		  selector: {matchLabels: {app: run-mounter}}
		  template:
		    metadata: {labels: {app: run-mounter}}
		    spec:
		      terminationGracePeriodSeconds: 0
		      containers:
		      - name: agent
		        image: $IMAGE
		        imagePullPolicy: Never
		        command: [sleep, "1000000"]
		        volumeMounts: [{name: run, mountPath: /host/run, readOnly: true}]
		      volumes:
		      - name: run
		        hostPath: {path: /var/run}
		---
		apiVersion: v1
		kind: ConfigMap
		metadata: {name: fluent-bit-config}
		data:
		  fluent-bit.conf: |
		    [SERVICE]
		        Flush        1
		        Parsers_File parsers.conf

		    [INPUT]
		        Name              tail
		        Tag               kube.*
		        Path              /var/log/containers/*.log
		        Parser            docker
		        Mem_Buf_Limit     5MB

		    [OUTPUT]
		        Name  stdout
		        Match *
		  parsers.conf: |
		    [PARSER]
		        Name        docker
		        Format      json
		        Time_Key    time
		        Time_Format %Y-%m-%dT%H:%M:%S.%L
		---
		apiVersion: apps/v1
		kind: Deployment
		metadata: {name: scaled-zero}
		spec:
		  replicas: 0
		  selector: {matchLabels: {app: scaled-zero}}
		  template:
		    metadata: {labels: {app: scaled-zero}}
		    spec:
		      containers:
		      - name: builder
		        image: $IMAGE
		        imagePullPolicy: Never
		        command: [sleep, "1000000"]
		        volumeMounts: [{name: docker, mountPath: /var/run/docker.sock}]
		      volumes:
		      - name: docker
		        hostPath: {path: /run//docker.sock}
	EOF
	bare_pod fluent-bit fluent-bit "[sleep, \"1000000\"]" "[{name: config, mountPath: /fluent-bit/etc}]" \
		"[{name: config, configMap: {name: fluent-bit-config}}]"
	bare_pod sock ci "[sleep, \"1000000\"]" "[{name: docker, mountPath: /var/run/docker.sock}]" \
		"[{name: docker, hostPath: {path: /var/run/docker.sock, type: Socket}}]"
	bare_pod dind dind "[sh, -c, \"if command -v dockerd >/dev/null; then exec dockerd --host=unix:///run/dind.sock; fi; exec sleep 1000000\"]" "[]" "[]"
	# check reads specs: scheduled is enough (node-1's DaemonSet pod, the pods' nodeName)
	wait_until 60 "4 pods scheduled on node-1" bash -c "[[ \$('$KUBECTL' get pods -n $NS -o json | jq '[.items[] | select(.spec.nodeName == \"node-1\")] | length') -ge 4 ]]"
}

# ---------------------------------------------------------------- cases ---

SCHEMA='
def str: type == "string";
def ref: type == "object" and (.kind | str) and (.name | str or . == null) and (.namespace | str or . == null);
.apiVersion == "runtime-switch.k8s.io/v1alpha1" and .kind == "CheckReport" and (.to | str)
and (.result | IN("ok", "warnings", "blockers"))
and (.summary | (.blockers | type == "number") and (.warnings | type == "number") and (.info | type == "number"))
and .summary.blockers == ([.findings[] | select(.severity == "blocker")] | length)
and .summary.warnings == ([.findings[] | select(.severity == "warning")] | length)
and .summary.info == ([.findings[] | select(.severity == "info")] | length)
and (.result == (if .summary.blockers > 0 then "blockers" elif .summary.warnings > 0 then "warnings" else "ok" end))
and (.notes | type == "array" and all(.[]; str))
and (.nodes | type == "array" and all(.[]; (.name | str) and (.leavesDocker | type == "boolean")
      and (.preflight | IN("not-needed", "done", "blocked", "skipped", "failed"))
      and (.kubenet | IN("yes", "no", "unknown"))))
and (.findings | type == "array" and all(.[];
      (.severity | IN("info", "warning", "blocker")) and (.check | str) and (.nodes | type == "array")
      and (.workload == null or (.workload | ref)) and (.object | ref)
      and (.message | str) and (.action | str)))'

baseline_state=
baseline_rvs=
baseline_ours=

case_seeded() {
	run_check seeded node-1 node-2 -o json
	check "seeded: exit 11, blockers ($(rc_of seeded))" [ "$(rc_of seeded)" -eq 11 ]
	check "-o json follows the documented schema" jqt seeded "$SCHEMA"
	local f
	f=$(finding seeded docker-socket-dir DaemonSet run-mounter)
	note "DaemonSet: $f"
	check "DaemonSet mounting /var/run: docker-socket-dir, warning, node-1 only" jq -e \
		'.severity == "warning" and .nodes == ["node-1"] and .object.kind == "DaemonSet"
		 and .field == "spec.template.spec.volumes[0].hostPath.path" and .value == "/var/run"' <<<"${f:-null}"
	f=$(finding seeded log-docker-parser Pod fluent-bit)
	note "fluent-bit: $f"
	check "fluent-bit's ConfigMap parses Docker JSON: log-docker-parser, warning, the line of its Parser" jq -e \
		--arg ns "$NS" '.severity == "warning" and .object == {"kind": "ConfigMap", "namespace": $ns, "name": "fluent-bit-config"}
		 and .field == "data[fluent-bit.conf] line 9" and .value == "docker"' <<<"${f:-null}"
	f=$(finding seeded docker-socket Pod sock)
	note "sock: $f"
	check "pod mounting /var/run/docker.sock (type Socket): docker-socket, blocker" jq -e \
		'.severity == "blocker" and .nodes == ["node-1"] and .value == "/var/run/docker.sock"
		 and (.message | contains("type Socket"))' <<<"${f:-null}"
	f=$(finding seeded docker-in-docker Pod dind)
	note "dind: $f"
	check "docker-in-docker-like pod: docker-in-docker, warning" jq -e \
		'.severity == "warning" and .field == "spec.containers[0]" and (.message | contains("dockerd"))' <<<"${f:-null}"
	f=$(finding seeded docker-socket Deployment scaled-zero)
	note "scaled-zero: $f"
	check "a Deployment with no pod: its template, resolved /run//docker.sock, blocker, no node" jq -e \
		'.severity == "blocker" and .nodes == [] and .field == "spec.template.spec.volumes[0].hostPath.path"' <<<"${f:-null}"
	check "nothing about node-2 (containerd), nothing in the seeded demo namespace" jqt seeded \
		'all(.findings[]; (.nodes | index("node-2") | not) and (.workload.namespace // "" | . != "demo"))'
	check "node-2: preflight not needed" jqt seeded '.nodes[] | select(.name == "node-2") | .preflight == "not-needed" and (.leavesDocker | not)'
	check "node-1: the preflight ran ($(jq -r '.nodes[] | select(.name == "node-1") | "\(.preflight) \(.preflightNote // "")"' "$WORK/seeded.out"))" \
		jqt seeded '.nodes[] | select(.name == "node-1") | .preflight == "done" or .preflight == "blocked"'
	jq -r '.findings[] | select(.workload == null) | "node finding: \(.severity) \(.check): \(.message)"' "$WORK/seeded.out" |
		while read -r l; do note "$l"; done
	jq -r '.nodes[] | "node \(.name): kubenet \(.kubenet) (\(.kubenetNote // ""))"' "$WORK/seeded.out" | while read -r l; do note "$l"; done
	check "no preflight object left anywhere" wait_until 20 "the preflight's pods gone" ours_as_before
}

case_outputs() {
	run_check table node-1
	check "table: exit 11" [ "$(rc_of table)" -eq 11 ]
	check "table: the node row" grep -qE '^node-1 +docker://[^ ]+ +(done|blocked) ' "$WORK/table.out"
	check "table: grouped per workload" grep -qE "^$NS +DaemonSet/run-mounter +node-1 +warning +docker-socket-dir " "$WORK/table.out"
	check "table: the template row" grep -qE "^$NS +Deployment/scaled-zero +\(template\) +blocker " "$WORK/table.out"
	check "table: the summary" grep -qE '^[0-9]+ blocker\(s\), [0-9]+ warning\(s\), [0-9]+ info on 1 node\(s\)$' "$WORK/table.out"
	run_check wide node-1 -o wide --preflight=false
	check "wide: evidence and action columns" grep -qE '^NAMESPACE +WORKLOAD +NODES +SEVERITY +CHECK +FINDING +EVIDENCE +ACTION$' "$WORK/wide.out"
	check "wide: the evidence of the socket pod" grep -q "Pod/$NS/sock spec.volumes\[0\].hostPath.path=/var/run/docker.sock" "$WORK/wide.out"
	check "--preflight=false: said, on stderr" grep -q "node node-1: preflight skipped: not run (--preflight=false)" "$WORK/wide.err"
	run_check yaml node-1 -o yaml --preflight=false
	run_check json node-1 -o json --preflight=false
	check "-o yaml is the same document as -o json" python3 -c '
import json, sys, yaml
a = yaml.safe_load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
sys.exit(0 if a == b else 1)' "$WORK/yaml.out" "$WORK/json.out"
}

case_reader() {
	# a user with rbac/check.yaml's ClusterRole only: everything but the preflight
	sed -e '/^---$/,$d' -e "s/name: runtime-switch-check$/name: $READER/" rbac/check.yaml | k apply -f - >/dev/null
	k create clusterrolebinding "$READER" --clusterrole="$READER" --user="$READER" >/dev/null
	run_check reader node-1 -o json --as "$READER"
	check "read-only user: the same workload findings, exit 11 ($(rc_of reader))" [ "$(rc_of reader)" -eq 11 ]
	check "... the same workload findings as the admin's" diff \
		<(jq -S '[.findings[] | select(.workload != null)]' "$WORK/seeded.out") \
		<(jq -S '[.findings[] | select(.workload != null)]' "$WORK/reader.out")
	note "reader's preflight: $(jq -r '.nodes[0] | "\(.preflight): \(.preflightNote)"' "$WORK/reader.out")"
	check "... the preflight skipped, with why" jqt reader \
		'.nodes[0] | .preflight == "skipped" and (.preflightNote | test("forbidden|not allowed|not run"))'
	check "... and said on stderr" grep -q "node node-1: preflight skipped" "$WORK/reader.err"
}

case_exit_codes() {
	k delete -n "$NS" pod sock >/dev/null
	k delete -n "$NS" deployment scaled-zero >/dev/null
	run_check warnings node-1 -o json --preflight=false
	check "without the blockers: exit 10, warnings ($(rc_of warnings))" [ "$(rc_of warnings)" -eq 10 ]
	check "... no blocker left" jqt warnings '.result == "warnings" and .summary.blockers == 0'
	k delete namespace "$NS" >/dev/null
	run_check clean node-1 node-2 -o json
	note "clean: $(jq -c '[.findings[] | "\(.severity) \(.check)"]' "$WORK/clean.out")"
	check "a clean cluster: no workload finding" jqt clean '[.findings[] | select(.workload != null)] == []'
	check "... node facts only (object Node), never a blocker" jqt clean \
		'all(.findings[]; .object.kind == "Node" and .severity != "blocker")'
	local want=0
	jqt clean '.summary.warnings > 0' && want=10
	check "... exit $want (10 only for a node warning of the preflight)" [ "$(rc_of clean)" -eq $want ]
	run_check containerd node-2
	check "node-2 (containerd): nothing, exit 0" [ "$(rc_of containerd)" -eq 0 ]
	check "... and says so" grep -q '^0 blocker(s), 0 warning(s), 0 info on 1 node(s)$' "$WORK/containerd.out"
	run_check usage
	check "no node named: usage, exit 2" [ "$(rc_of usage)" -eq 2 ]
	run_check missing no-such-node
	check "a node that does not exist: exit 1" [ "$(rc_of missing)" -eq 1 ]
}

# A switch of node-1 in progress, as its lock (the Lease) has it: no
# preflight there, the holder and the run named (the annotations alone
# decide nothing: tests/unit/test_check.c).
case_in_progress() {
	local lns=kubectl-runtime-switch rec
	k get namespace "$lns" >/dev/null 2>&1 || k create namespace "$lns" >/dev/null
	rec='{"id":"20261206-110000-0002","op":"switch","phase":"launched","from":"cri-dockerd","to":"containerd","namespace":"kubectl-runtime-switch","started":1765017715,"user":"alice"}'
	k apply -f - >/dev/null <<-EOF
		apiVersion: coordination.k8s.io/v1
		kind: Lease
		metadata:
		  name: rsw-node-node-1
		  namespace: $lns
		  annotations:
		    runtime-switch.kubectl.dev/record: '$rec'
		spec:
		  holderIdentity: alice (run 20261206-110000-0002)
	EOF
	run_check inprogress node-1 -o json
	k delete lease -n "$lns" rsw-node-node-1 --ignore-not-found >/dev/null
	note "in progress: $(jq -r '.nodes[0] | "\(.preflight): \(.preflightNote)"' "$WORK/inprogress.out")"
	check "a switch in progress by its lock: no preflight on node-1, holder and run named" jqt inprogress \
		'.nodes[0] | .preflight == "skipped" and (.preflightNote | test("held by alice \\(run 20261206-110000-0002\\).*in progress"))'
}

# ---------------------------------------------------------------- run ---

baseline_state=$(nodes_state)
baseline_rvs=$(node_rvs)
baseline_ours=$(ours_left)
[[ -z $baseline_ours ]] || note "objects of ours an earlier run left (compared, not removed): $(echo $baseline_ours)"
seed
note "seeded in $((SECONDS - T0)) s"
case_seeded
case_outputs
case_reader
case_in_progress
case_exit_codes
check "the nodes are as they were (all but their status)" diff <(echo "$baseline_state") <(nodes_state)
after_rvs=$(node_rvs)
note "node resourceVersions before: $baseline_rvs; after: $after_rvs (status updates by the kubelets count)"
check "no object of ours left anywhere" wait_until 20 "our objects gone" ours_as_before
cleanup
check "the suite's namespace and roles are gone" wait_until 60 "the namespace deleted" bash -c "! '$KUBECTL' get namespace $NS >/dev/null 2>&1 && ! '$KUBECTL' get clusterrole $READER >/dev/null 2>&1"
note "test_check: $((SECONDS - T0)) s"
test_done
