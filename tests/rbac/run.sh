#!/usr/bin/env bash
# make test-rbac: every command, run through the real kubectl as a user who
# holds nothing but rbac/clusterrole.yaml and rbac/role.yaml, on the real
# cluster (tests/e2e/cluster.sh).  Then each verb of those roles is taken
# away in turn: the command that needs it must fail, and its error must name
# the verb and the resource (the API server's "cannot VERB resource ...").
#
#   tests/rbac/run.sh PLUGIN
#
# The user is a client-certificate user issued by the cluster's own CSR API
# (signer kubernetes.io/kube-apiserver-client).  The roles are applied
# under test names (rs-rbac-test), so a real binding to `runtime-switch` is
# never touched.  Everything the test makes is removed at the end.
#
# RBAC_CASES="nodes:patch jobs:create" runs only those removals; RBAC_QUICK=1
# one removal per command.  The cluster is brought up when it is not (under
# the e2e lock, held to the end).
. "$(dirname "$0")/../lib/test-lib.sh"
plugin=$(readlink -f "${1:?usage: run.sh PLUGIN}")
root=$RS_ROOT
kubectl=${KUBECTL:-/usr/bin/kubectl}
. "$RS_ROOT/tests/lib/e2e.sh"
ns=${RBAC_NAMESPACE:-kube-system}
user=rs-rbac-test
name=rs-rbac-test

# ---- the cluster ----
need jq openssl
e2e_begin || bail_out "the e2e cluster is not up"
wait_until 120 "two Ready nodes" eval '[[ $("$kubectl" get nodes --no-headers 2>/dev/null | grep -cE " Ready[ ,]") -ge 2 ]]' ||
  bail_out "the real cluster has not two Ready nodes" "$("$kubectl" get nodes 2>&1)"
admin=$KUBECONFIG
k() { "$kubectl" --kubeconfig "$admin" "$@"; }
drain_node=$(k get nodes -o name | sed -n 's|^node/||p' | sort | tail -n 1)  # node-2: the bystander
# node --dry-run needs a node that is not on containerd yet (node-1 starts
# on Docker; another test may have switched it).
switch_node=$(k get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.nodeInfo.containerRuntimeVersion}{"\n"}{end}' |
              awk '$2 !~ /^containerd:/ {print $1; exit}')

work=$T_TMP/work
cleanup() {
  k delete clusterrolebinding "$name" --ignore-not-found >/dev/null 2>&1
  k delete clusterrole "$name" --ignore-not-found >/dev/null 2>&1
  k -n "$ns" delete rolebinding "$name" --ignore-not-found >/dev/null 2>&1
  k -n "$ns" delete role "$name" --ignore-not-found >/dev/null 2>&1
  k delete csr "$name" --ignore-not-found >/dev/null 2>&1
  k delete namespace "$name" --ignore-not-found --wait=false >/dev/null 2>&1
  leftovers
}
# What an interrupted helper run may leave in the working namespace.
leftovers() {
  local kind
  for kind in jobs configmaps secrets; do
    k -n "$ns" delete "$kind" -l app.kubernetes.io/managed-by=kubectl-runtime-switch \
      --ignore-not-found --wait=false >/dev/null 2>&1
  done
  k -n "$ns" delete pods -l app.kubernetes.io/managed-by=kubectl-runtime-switch \
    --ignore-not-found --wait=false >/dev/null 2>&1
}
at_exit cleanup
# The run's objects (Jobs, pods, carriers) in the working namespace: every
# command below, failing or not, must leave none behind.
ours() { k get jobs,configmaps,secrets,pods -n "$ns" -l app.kubernetes.io/managed-by=kubectl-runtime-switch -o name 2>/dev/null | sort; }
ours_before=$(ours)
new_ours() { comm -13 <(echo "$ours_before") <(ours) | grep .; }
mkdir -p "$work/bin"
cp "$plugin" "$work/bin/kubectl-runtime_switch"
ln -s kubectl-runtime_switch "$work/bin/kubectl_complete-runtime_switch"
export PATH="$work/bin:$PATH"

# ---- a client-certificate user from the cluster's CSR API ----
openssl req -new -newkey rsa:2048 -nodes -keyout "$work/user.key" -out "$work/user.csr" \
  -subj "/CN=$user" >/dev/null 2>&1 || bail_out "openssl: a key and CSR"
k delete csr "$name" --ignore-not-found >/dev/null 2>&1
k apply -f - >/dev/null <<YAML || bail_out "submitting the CertificateSigningRequest"
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: $name
spec:
  request: $(base64 -w0 < "$work/user.csr")
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: 3600
  usages: ["client auth"]
YAML
k certificate approve "$name" >/dev/null || bail_out "approving the CSR"
signed() { k get csr "$name" -o jsonpath='{.status.certificate}' | base64 -d > "$work/user.crt" 2>/dev/null; [[ -s $work/user.crt ]]; }
if wait_until 30 "the CSR signed" signed; then ok "client certificate for $user issued by the cluster's CSR API"
else bail_out "the CSR was not signed (kube-controller-manager's csrsigning)"; fi
server=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' |
  base64 -d > "$work/ca.crt"
write_kubeconfig "$work/kubeconfig" "$server" "certificate-authority: $work/ca.crt" \
  "client-certificate: $work/user.crt
client-key: $work/user.key" "$ns"
export KUBECONFIG="$work/kubeconfig"
if out=$("$kubectl" get nodes 2>&1); then fail "$user starts with no permission" "$user reads nodes before any binding"
elif grep -q "cannot list resource \"nodes\"" <<<"$out"; then ok "$user starts with no permission"
else fail "$user starts with no permission" "unexpected answer for an unbound user: $out"; fi

# ---- the repository's roles, under test names, bound to the user ----
sed "s/^  name: runtime-switch$/  name: $name/" "$root/rbac/clusterrole.yaml" > "$work/clusterrole.yaml"
sed -e "s/^  name: runtime-switch$/  name: $name/" -e "s/^  namespace: kube-system$/  namespace: $ns/" \
  "$root/rbac/role.yaml" > "$work/role.yaml"
apply_roles() {  # (kubectl apply's warning after a replace is noise here)
  k apply -f "$work/clusterrole.yaml" >/dev/null 2>&1 && k apply -f "$work/role.yaml" >/dev/null 2>&1
}
apply_roles || bail_out "applying rbac/"
k create clusterrolebinding "$name" --clusterrole="$name" --user="$user" >/dev/null &&
  k -n "$ns" create rolebinding "$name" --role="$name" --user="$user" >/dev/null ||
  bail_out "binding the roles"
ok "rbac/clusterrole.yaml and rbac/role.yaml applied and bound to $user only"
# RBAC is read from informers: wait until the server answers with the roles.
can_i() {  # can_i yes|no VERB RESOURCE[/SUBRESOURCE]: what the server answers
  local want=$1 verb=$2 res=$3 args=()
  args=("$verb" "${res%%/*}" -n "$ns")
  [[ $res == */* ]] && args+=(--subresource="${res#*/}")
  [[ $res == namespaces ]] && args=("$verb" "namespaces/$ns")
  [[ $(k auth can-i "${args[@]}" --as "$user" 2>/dev/null) == "$want" ]]
}
wait_can() { wait_until 10 "can-i $* for $user" can_i "$@"; }
check "the roles are in effect within 10 s" eval 'wait_can yes patch nodes && wait_can yes create configmaps'

# ---- a pod of our own to drain for real (so drain's get/watch/delete run) ----
image=$(k get pods -A -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' |
        grep -v pause | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
# (a previous run's namespace may still be terminating)
k delete namespace "$name" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1
check "creating namespace $name" k create namespace "$name"
# A DaemonSet pod on the node too, so that drain's DaemonSet filter reads
# its owner; the drains below touch only these pods (--pod-selector), never
# what other tests keep on the node.
k apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ds
  namespace: $name
spec:
  selector:
    matchLabels: {rbac-test: ds}
  template:
    metadata:
      labels: {rbac-test: ds}
    spec:
      nodeSelector: {kubernetes.io/hostname: $drain_node}
      terminationGracePeriodSeconds: 0
      containers:
      - name: c
        image: $image
        imagePullPolicy: IfNotPresent
        command: ["sleep", "100000"]
YAML
victim() {
  k -n "$name" delete pod victim --ignore-not-found --wait=true >/dev/null 2>&1
  k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: victim
  namespace: $name
  labels: {rbac-test: victim}
spec:
  nodeName: $drain_node
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: $image
    imagePullPolicy: IfNotPresent
    command: ["sleep", "100000"]
YAML
  k -n "$name" wait --for=condition=Ready pod/victim --timeout=60s >/dev/null 2>&1
  k -n "$name" wait --for=condition=Ready pod -l rbac-test=ds --timeout=60s >/dev/null 2>&1
}

# ---- the commands ----
# Each: a name, the exit codes that count as success, the command line.
# Dry runs where the real thing would disturb the cluster; the real drain
# works on our own pod only.
declare -a CMDS=(
  "status|0|status"
  "status-pods|0|status --pods -o wide"
  "status-configz|0|status --configz -o wide"
  "completion|0|__complete status ''"
  "cordon|0|cordon $drain_node --dry-run=server"
  "uncordon|0|uncordon $drain_node --dry-run=server"
  "drain-dry|0|drain $drain_node --pod-selector=rbac-test --dry-run=server --ignore-daemonsets --force"
  "drain|0|drain $drain_node --pod-selector=rbac-test=victim --force --timeout=90s"
  "drain-delete|0|drain $drain_node --pod-selector=rbac-test=victim --force --disable-eviction --timeout=90s"
  "node|0|node $switch_node --to containerd --dry-run -n $ns"
  "node-secret|0|node $switch_node --to containerd --dry-run --use-secret -n $ns"
  "rollback|0 3|rollback node $switch_node --dry-run -n $ns"
  "version|0|version"
)
cmd_line() { local c; for c in "${CMDS[@]}"; do [[ ${c%%|*} == "$1" ]] && { echo "${c##*|}"; return; }; done; }
cmd_codes() { local c; for c in "${CMDS[@]}"; do [[ ${c%%|*} == "$1" ]] && { c=${c#*|}; echo "${c%%|*}"; return; }; done; }
# The cluster is shared with the other e2e tests: if it is rebuilt under us
# (a new CA), say so once instead of failing every case after it.
ca_sum=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | sha256sum)
same_cluster() {
  [[ -r $admin && $(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' 2>/dev/null | sha256sum) == "$ca_sum" ]] ||
    bail_out "the cluster was restarted during the test (another test ran cluster.sh up/down): rerun"
}
run_cmd() {  # run_cmd NAME -> sets out, rc
  same_cluster
  local line
  line=$(cmd_line "$1")
  # A node already in the wanted state gets no PATCH: cordon whichever way
  # sends one.
  if [[ $1 == cordon && $(k get node "$drain_node" -o jsonpath='{.spec.unschedulable}') == true ]]; then
    line=${line/cordon/uncordon}
  fi
  local was
  was=$(k get node "$drain_node" -o jsonpath='{.spec.unschedulable}')
  case $1 in drain*) victim ;; esac
  out=$(eval "timeout 300 '$kubectl' runtime-switch $line" 2>&1 </dev/null)
  rc=$?
  # Leave the node as it was (another test may hold it cordoned).
  case $1 in drain | drain-delete) [[ $was == true ]] || k uncordon "$drain_node" >/dev/null 2>&1 ;; esac
  leftovers
}

needs_switch_node() { [[ $1 == node* || $1 == rollback ]]; }
for c in "${CMDS[@]}"; do
  n=${c%%|*}
  if needs_switch_node "$n" && [[ -z $switch_node ]]; then
    skip "as $user: $n: every node already runs containerd (nothing to dry-run a switch on)"
    continue
  fi
  run_cmd "$n"
  if [[ " $(cmd_codes "$n") " == *" $rc "* ]] && ! grep -qi 'forbidden' <<<"$out"; then
    ok "as $user: kubectl runtime-switch $(cmd_line "$n") (exit $rc)"
  else
    fail "as $user: kubectl runtime-switch $(cmd_line "$n") (exit $rc)" "$(tail -n 15 <<<"$out")"
  fi
done
# The completion above must have seen the nodes.
out=$("$kubectl" __complete runtime-switch status '' 2>/dev/null)
if grep -q "^$drain_node" <<<"$out"; then ok "as $user: kubectl __complete lists node names"
else fail "as $user: kubectl __complete lists node names" "no node names in: $out"; fi

# ---- each verb taken away ----
# kind|resource|verb|command|namespace-flag.  The command is the first one
# that needs the verb; the error must say `cannot VERB resource "RESOURCE"`.
declare -a REMOVALS=(
  "clusterrole|nodes|list|status"
  "clusterrole|nodes|get|cordon"
  "clusterrole|nodes|patch|cordon"
  "clusterrole|nodes/proxy|get|status-configz"
  "clusterrole|pods|list|status-pods"
  "clusterrole|pods|delete|drain-delete"
  "clusterrole|pods/eviction|create|drain-dry"
  "clusterrole|daemonsets|get|drain-dry"
  "role|namespaces|get|node"
  "role|pods|create|node"
  "role|configmaps|create|node"
  "role|configmaps|watch|node"
  "role|jobs|patch|node"
  "role|configmaps|list|node"
  "role|configmaps|delete|node"
  "role|secrets|create|node-secret"
  "role|jobs|create|node"
  "role|jobs|list|node"
  "role|jobs|delete|node"
  "role|pods/log|get|node"
)
# Verbs kept but not taken away here, because the commands above do not
# reach them or do not fail without them:
#   clusterrole nodes watch: node/rollback follow the node through a real
#     switch (NotReady -> Ready), which this test does not run;
#   clusterrole pods watch: drain's deletion watch; without it drain falls
#     back to listing again (slower, still correct);
#   clusterrole pods get: drain re-reads a pod after a refused eviction
#     (429 from a PodDisruptionBudget), as kubectl does;
#   role configmaps/secrets get+patch: read before each pod, a run's
#     reference added and removed (a dry run's own carrier is deleted by its
#     DELETE, which the removal of delete covers);
#   role events list: a Job whose pod is refused (FailedCreate);
#   role secrets list/delete: as configmaps, with --use-secret.
quick="nodes:list nodes:patch nodes/proxy:get pods:list pods/eviction:create daemonsets:get pods:delete jobs:create configmaps:create pods/log:get namespaces:get"

without() {  # without KIND RESOURCE VERB: the test role minus one verb
  local kind=$1 res=$2 verb=$3 file
  file=$work/$kind.yaml
  k get "$kind" "$name" -n "$ns" -o json |
    jq --arg r "${res##*/}" --arg full "$res" --arg v "$verb" '
      del(.metadata.resourceVersion, .metadata.uid, .metadata.creationTimestamp,
          .metadata.managedFields, .metadata.annotations)
      | .rules |= [ .[] as $rule
          | if ($rule.resources | index($full)) and ($rule.verbs | index($v)) then
              ( $rule | .resources = [$full] | .verbs -= [$v] ),
              ( $rule | .resources -= [$full] )
            else $rule end
          | select((.resources | length) > 0 and (.verbs | length) > 0) ]' > "$work/without.json" &&
  k replace -f "$work/without.json" >/dev/null
}

for r in "${REMOVALS[@]}"; do
  IFS='|' read -r kind res verb cmd <<<"$r"
  if [[ -n ${RBAC_CASES:-} && " $RBAC_CASES " != *" $res:$verb "* ]]; then continue; fi
  if [[ -z ${RBAC_CASES:-} && ${RBAC_QUICK:-0} == 1 && " $quick " != *" $res:$verb "* ]]; then continue; fi
  if needs_switch_node "$cmd" && [[ -z $switch_node ]]; then
    skip "without $verb $res: no node to dry-run a switch on"; continue
  fi
  apply_roles
  wait_can yes "$verb" "$res"
  check "removing $verb $res from the $kind" without "$kind" "$res" "$verb" || continue
  wait_can no "$verb" "$res" || sleep 2  # can-i may not model it; RBAC settles within a second
  run_cmd "$cmd"
  want="cannot $verb resource \"$res\""
  # status without nodes/proxy still works; it must say why /configz is missing.
  if [[ $res == nodes/proxy ]]; then
    if [[ $rc == 0 ]] && grep -qE "$want|nodes/proxy is forbidden" <<<"$out"; then
      ok "without $verb $res: $cmd still works and says: $(grep -oE "[^:]*($want|nodes/proxy is forbidden)[^,;]*" <<<"$out" | head -n 1)"
    else
      fail "without $verb $res: $cmd still works and names it" "exit $rc" "$(tail -n 8 <<<"$out")"
    fi
    continue
  fi
  # kubectl cordon reports a failed PATCH and still exits 0; so does ours.
  if [[ $cmd == cordon ]] && grep -q "error: unable to .*cordon node .*$want" <<<"$out"; then
    ok "without $verb $res: $cmd reports (exit $rc, as kubectl): $(grep -o "$want[^.]*" <<<"$out" | head -n 1)"
    continue
  fi
  if [[ $rc != 0 ]] && grep -q "$want" <<<"$out"; then
    ok "without $verb $res: $cmd fails (exit $rc): $(grep -o "$want[^.]*" <<<"$out" | head -n 1)"
  else
    fail "without $verb $res: $cmd fails naming '$want'" "exit $rc" "$(tail -n 8 <<<"$out")"
  fi
done
apply_roles
check "nothing of the commands' runs is left in $ns" wait_until 30 "their objects gone" not new_ours
test_done
