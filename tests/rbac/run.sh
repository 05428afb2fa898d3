#!/usr/bin/env bash
# make test-rbac: every command, run through the real kubectl as a user who
# holds nothing but that command's roles from rbac/ (one file each, plus
# the opt-in ones its flag needs), on the real cluster
# (tests/e2e/cluster.sh).  Then:
#  - each verb of those roles is taken away in turn: the command that needs
#    it must fail, and its error must name the verb and the resource (the
#    API server's "cannot VERB resource ...");
#  - what no role may grant is checked in the files (no Secrets but
#    use-secret.yaml, nodes/proxy only in status-configz.yaml, pods delete
#    cluster-wide only in disable-eviction.yaml, no Role outside the working
#    namespace, no wildcard) and asked of the API server as the user bound
#    to the node command's roles (no Secret anywhere, no pod or Job in
#    kube-system, no kubelet API).
#
#   tests/rbac/run.sh PLUGIN
#
# The user is a client-certificate user issued by the cluster's own CSR API
# (signer kubernetes.io/kube-apiserver-client).  The roles are applied
# under test names (rs-rbac-test-*), so a real binding to `runtime-switch-*`
# is never touched.  Everything the test makes is removed at the end; the
# working namespace is made from rbac/namespace.yaml (the user may not
# create namespaces) and left as the plugin would leave it.
#
# RBAC_CASES="nodes:patch jobs:create" runs only those removals; RBAC_QUICK=1
# one removal per role.  The cluster is brought up when it is not (under the
# e2e lock, held to the end).
. "$(dirname "$0")/../lib/test-lib.sh"
plugin=$(readlink -f "${1:?usage: run.sh PLUGIN}")
root=$RS_ROOT
kubectl=${KUBECTL:-/usr/bin/kubectl}
. "$RS_ROOT/tests/lib/e2e.sh"
ns=${RBAC_NAMESPACE:-kubectl-runtime-switch}
user=rs-rbac-test
ro_id=20261206-120000-0fee ro_id2=20261206-120000-0fef  # the seeded rollouts
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
mkdir -p "$work"
cleanup() {
  k delete clusterrolebinding,clusterrole -l rs-rbac-test --ignore-not-found >/dev/null 2>&1
  k -n "$ns" delete rolebinding,role -l rs-rbac-test --ignore-not-found >/dev/null 2>&1
  k delete csr "$name" --ignore-not-found >/dev/null 2>&1
  k -n "$ns" delete configmap "runtime-switch-rollout-$ro_id" "runtime-switch-rollout-$ro_id2" --ignore-not-found >/dev/null 2>&1
  k delete namespace "$name" --ignore-not-found --wait=false >/dev/null 2>&1
  leftovers strip
}
# What an interrupted helper run may leave in the working namespace.  Only
# at the end are our finalizers taken off: a carrier a command left marked
# for deletion with the finalizer on must still be there for the last check.
# (One kubectl for every kind: after each of the ~50 commands below.)
leftovers() {
  [[ ${1:-} == strip ]] &&
    k -n "$ns" get jobs,configmaps,secrets,leases -l app.kubernetes.io/managed-by=kubectl-runtime-switch -o name 2>/dev/null |
    xargs -r -n1 "$kubectl" --kubeconfig "$admin" -n "$ns" patch --type=merge \
      -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
  k -n "$ns" delete jobs,configmaps,secrets,leases,pods -l app.kubernetes.io/managed-by=kubectl-runtime-switch \
    --ignore-not-found --wait=false >/dev/null 2>&1
}
at_exit cleanup
# The runs' objects (Jobs, pods, carriers, node locks) in the working
# namespace: every command below, failing or not, must leave none behind.
ours() {
  k get jobs,configmaps,secrets,pods,leases -n "$ns" -l app.kubernetes.io/managed-by=kubectl-runtime-switch \
    -o name 2>/dev/null | sort
}
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
wait_until 30 "the CSR signed" signed
[[ -s $work/user.crt ]] && ok "client certificate for $user issued by the cluster's CSR API" ||
  bail_out "the CSR was not signed (kube-controller-manager's csrsigning)"
server=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' |
  base64 -d > "$work/ca.crt"
cat > "$work/kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: rbac
clusters:
- name: c
  cluster:
    server: $server
    certificate-authority: $work/ca.crt
users:
- name: $user
  user:
    client-certificate: $work/user.crt
    client-key: $work/user.key
contexts:
- name: rbac
  context: {cluster: c, user: $user, namespace: $ns}
YAML
export KUBECONFIG="$work/kubeconfig"
if out=$("$kubectl" get nodes 2>&1); then fail "$user reads nodes before any binding"
elif grep -q "cannot list resource \"nodes\"" <<<"$out"; then ok "$user starts with no permission"
else fail "unexpected answer for an unbound user: $out"; fi

# ---- the repository's roles, under test names ----
# The working namespace as an admin makes it (the user may not create it).
k apply -f "$root/rbac/namespace.yaml" >/dev/null || bail_out "applying rbac/namespace.yaml"
ROLE_FILES=(status status-configz drain disable-eviction node use-secret check rollout)
# FILE -> its objects under test names, one JSON document per object
for f in "${ROLE_FILES[@]}"; do
  [[ -f $root/rbac/$f.yaml ]] || bail_out "rbac/$f.yaml is missing"
  k create --dry-run=client -o json -f "$root/rbac/$f.yaml" |
    jq -c --arg ns "$ns" '(.items // [.])[] | .metadata.name |= sub("^runtime-switch"; "rs-rbac-test")
      | .metadata.labels["rs-rbac-test"] = "1"
      | if .kind == "Role" then .metadata.namespace = $ns else . end' > "$work/$f.objs" ||
    bail_out "reading rbac/$f.yaml"
done
apply_roles() {  # (kubectl apply's warning after a replace is noise here)
  local f
  for f in "${ROLE_FILES[@]}"; do k apply -f "$work/$f.objs" >/dev/null 2>&1 || return 1; done
}
apply_roles || bail_out "applying rbac/"
# bind_only FILE...: the user holds exactly the roles of these files
bound=
bind_only() {
  [[ "$*" == "$bound" ]] && return 0
  k delete clusterrolebinding -l rs-rbac-test --ignore-not-found --wait=true >/dev/null 2>&1
  k -n "$ns" delete rolebinding -l rs-rbac-test --ignore-not-found --wait=true >/dev/null 2>&1
  local f kind rname
  for f in "$@"; do
    while read -r kind rname; do
      if [[ $kind == ClusterRole ]]; then
        k create clusterrolebinding "$rname" --clusterrole="$rname" --user="$user" >/dev/null &&
          k label clusterrolebinding "$rname" rs-rbac-test=1 >/dev/null
      else
        k -n "$ns" create rolebinding "$rname" --role="$rname" --user="$user" >/dev/null &&
          k -n "$ns" label rolebinding "$rname" rs-rbac-test=1 >/dev/null
      fi || { fail "binding $kind $rname"; return 1; }
    done < <(jq -r '"\(.kind) \(.metadata.name)"' "$work/$f.objs")
  done
  bound="$*"
  # RBAC is read from informers: wait until the server answers with them
  local first
  for f in "$@"; do
    while read -r first; do
      # shellcheck disable=SC2086 # VERB RESOURCE
      wait_can yes $first || fail "rbac/$f.yaml is not in effect after 10 s ($first)"
    done < <(jq -r '.rules[0] | "\(.verbs[0]) \(.resources[0])"' "$work/$f.objs")
  done
}
# wait_can yes|no VERB RESOURCE[/SUBRESOURCE]
wait_can() {
  local want=$1 verb=$2 res=$3 args=()
  args=("$verb" "${res%%/*}" -n "$ns")
  [[ $res == */* ]] && args+=(--subresource="${res#*/}")
  # (a namespace's own GET is authorized in that namespace: a Role there grants it)
  [[ $res == namespaces ]] && args=("$verb" "namespaces/$ns" -n "$ns")
  can_i() { [[ $(k auth can-i "${args[@]}" --as "$user" 2>/dev/null) == "$want" ]]; }
  wait_until 10 "can-i $verb $res: $want, for $user" can_i
}

# ---- what no role grants, in the files ----
# One line per grant: FILE KIND NAME NAMESPACE RESOURCE VERB
for f in "${ROLE_FILES[@]}"; do
  jq -r --arg f "$f" '. as $o | .rules[] | .resources[] as $r | .verbs[] as $v
    | "\($f) \($o.kind) \($o.metadata.name) \($o.metadata.namespace // "-") \($r) \($v)"' "$work/$f.objs"
done > "$work/grants"
grants_where() {  # grants_where AWK-CONDITION: the files that grant it
  awk "$1 {print \$1}" "$work/grants" | sort -u | tr '\n' ' ' | sed 's/ $//'
}
expect_only() {  # expect_only WHAT FILES AWK-CONDITION
  local got
  got=$(grants_where "$3")
  [[ $got == "$2" ]] && ok "$1: only in ${2:-no role}" || fail "$1: in '${got}', expected only in '$2'"
}
expect_only "Secrets" "use-secret" '$5 == "secrets"'
expect_only "nodes/proxy (the kubelet API)" "status-configz" '$5 == "nodes/proxy"'
expect_only "pods delete in every namespace" "disable-eviction" '$2 == "ClusterRole" && $5 == "pods" && $6 == "delete"'
expect_only "pods create in every namespace" "" '$2 == "ClusterRole" && $5 == "pods" && $6 == "create"'
expect_only "a Role outside the working namespace" "" '$2 == "Role" && $4 != "'"$ns"'"'
expect_only "a wildcard" "" '$5 == "*" || $6 == "*"'
expect_only "anything on Jobs, ConfigMaps or Leases cluster-wide but check's reads" "check" \
  '$2 == "ClusterRole" && ($5 == "jobs" || $5 == "configmaps" || $5 == "leases")'
expect_only "escalate, bind, impersonate" "" '$6 == "escalate" || $6 == "bind" || $6 == "impersonate"'

# ---- a pod of our own to drain for real (so drain's get/watch/delete run) ----
image=$(k get pods -A -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' |
        grep -v pause | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
# (a previous run's namespace may still be terminating)
k delete namespace "$name" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1
k create namespace "$name" >/dev/null || fail "creating namespace $name"
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

# A rollout's record as a plugin that was stopped left it (paused, its one
# node pending), seeded as an admin: the bystander node, already on
# containerd, so that `rollout resume` finds it done without switching it
# and closes the record; `rollout abort` cancels the other one (seeded
# again before each command: leftovers removes what carries our label).
seed_rollout() {  # seed_rollout ID
  local rec
  rec=$(jq -nc --arg id "$1" --arg node "$drain_node" '{version: 1, id: $id, to: "containerd", state: "paused",
    owner: "rs-rbac-admin", host: "rbac-test", created: 1765022400, updated: 1765022400,
    selection: {names: [$node]}, options: {maxUnavailable: "1"}, nodes: [{name: $node, batch: 1, state: "pending"}]}')
  k -n "$ns" delete configmap "runtime-switch-rollout-$1" --ignore-not-found >/dev/null 2>&1
  k -n "$ns" create configmap "runtime-switch-rollout-$1" --from-literal=rollout.json="$rec" >/dev/null &&
    k -n "$ns" label configmap "runtime-switch-rollout-$1" app.kubernetes.io/managed-by=kubectl-runtime-switch \
      runtime-switch.kubectl.dev/rollout="$1" >/dev/null
}

# The rollout's lock (the Lease rsw-rollout) as the plugin that paused
# rollout ID left it (held, not active), seeded as an admin.
seed_rollout_lock() {  # seed_rollout_lock ID
  k apply -f - >/dev/null <<YAML
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: rsw-rollout
  namespace: $ns
  labels: {app.kubernetes.io/managed-by: kubectl-runtime-switch}
  annotations:
    runtime-switch.kubectl.dev/record: '{"active":false,"host":"rbac-test","pid":4242,"rollout":"$1","user":"rs-rbac-admin"}'
spec:
  holderIdentity: rs-rbac-admin (rollout $1)
  acquireTime: "2026-12-06T12:00:00.000000Z"
YAML
}
rollout_lock() { k -n "$ns" get lease rsw-rollout -o jsonpath='{.spec.holderIdentity}' 2>&1; }
rollout_records() { k -n "$ns" get configmaps -l runtime-switch.kubectl.dev/rollout -o name 2>/dev/null | sort; }

# ---- the commands ----
# Each: a name, the exit codes that count as success, the rbac/ files whose
# roles the user holds (nothing else), the command line.  Dry runs where the
# real thing would disturb the cluster; the real drain works on our own pod
# only.  node --dry-run takes the node's lock, delivers the carrier and runs
# the preflight Job for real.
declare -a CMDS=(
  "status|0|status|status"
  "status-pods|0|status|status --pods -o wide"
  "status-configz|0|status status-configz|status --configz -o wide"
  "completion|0|status|__complete status ''"
  "cordon|0|drain|cordon $drain_node --dry-run=server"
  "uncordon|0|drain|uncordon $drain_node --dry-run=server"
  "drain-dry|0|drain|drain $drain_node --pod-selector=rbac-test --dry-run=server --ignore-daemonsets --force"
  "drain|0|drain|drain $drain_node --pod-selector=rbac-test=victim --force --timeout=90s"
  "drain-delete|0|drain disable-eviction|drain $drain_node --pod-selector=rbac-test=victim --force --disable-eviction --timeout=90s"
  "node|0|node|node $switch_node --to containerd --dry-run -n $ns"
  "node-secret|0|node use-secret|node $switch_node --to containerd --dry-run --use-secret -n $ns"
  "rollback|0 3|node|rollback node $switch_node --dry-run -n $ns"
  "check|0 10 11|check|check $switch_node -n $ns"
  "rollout-plan|0|node rollout|node $switch_node $drain_node --to containerd --canary 1 --force --delete-emptydir-data --dry-run --skip-preflight -n $ns"
  "rollout-resume|0|node rollout|rollout resume $ro_id --yes -n $ns"
  "rollout-locked|3|node rollout|node $switch_node --to containerd --max-unavailable 1 --yes --force --delete-emptydir-data --skip-preflight -n $ns"
  "rollout-abort|0|node rollout|rollout abort $ro_id2 -n $ns"
  "rollout-status|0|rollout|rollout status $ro_id -n $ns"
  "version|0||version"
)
field() { local c; for c in "${CMDS[@]}"; do [[ ${c%%|*} == "$1" ]] && { cut -d'|' -f"$2" <<<"$c"; return; }; done; }
cmd_codes() { field "$1" 2; }
cmd_files() { field "$1" 3; }
cmd_line() { field "$1" 4; }
# The cluster is shared with the other e2e tests: if it is rebuilt under us
# (a new CA), say so once instead of failing every case after it.
ca_sum=$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | sha256sum)
same_cluster() {
  [[ -r $admin && $(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' 2>/dev/null | sha256sum) == "$ca_sum" ]] ||
    bail_out "the cluster was restarted during the test (another test ran cluster.sh up/down): rerun"
}
run_cmd() {  # run_cmd NAME -> sets out, rc (bound to the command's roles first)
  same_cluster
  local line files
  line=$(cmd_line "$1")
  files=$(cmd_files "$1")
  # shellcheck disable=SC2086 # the file list
  bind_only $files
  [[ -n $files ]] || wait_can no get nodes || sleep 2
  # A node already in the wanted state gets no PATCH: cordon whichever way
  # sends one.
  if [[ $1 == cordon && $(k get node "$drain_node" -o jsonpath='{.spec.unschedulable}') == true ]]; then
    line=${line/cordon/uncordon}
  fi
  local was
  case $1 in
  drain*) was=$(k get node "$drain_node" -o jsonpath='{.spec.unschedulable}') && victim ;;
  rollout-resume | rollout-status) seed_rollout "$ro_id" ;;
  rollout-locked | rollout-abort) seed_rollout "$ro_id2" && seed_rollout_lock "$ro_id2" ;;
  esac
  local records_was
  [[ $1 == rollout-locked ]] && records_was=$(rollout_records)
  out=$(eval "timeout 300 '$kubectl' runtime-switch $line" 2>&1 </dev/null)
  rc=$?
  # the rollout's lock and what a refused rollout must not leave, read
  # before leftovers takes away what carries our label
  case $1 in rollout-resume | rollout-locked | rollout-abort) lock_after=$(rollout_lock) ;; esac
  if [[ $1 == rollout-locked ]]; then
    new_records=$(comm -13 <(echo "$records_was") <(rollout_records))
    cordoned=$(k get node "$switch_node" -o jsonpath='{.spec.unschedulable}')
  fi
  # Leave the node as it was (another test may hold it cordoned).
  case $1 in drain | drain-delete) [[ $was == true ]] || k uncordon "$drain_node" >/dev/null 2>&1 ;; esac
  leftovers
}

needs_switch_node() { [[ $1 == node* || $1 == rollback || $1 == check || $1 == rollout-plan || $1 == rollout-locked ]]; }
for c in "${CMDS[@]}"; do
  n=${c%%|*}
  if needs_switch_node "$n" && [[ -z $switch_node ]]; then
    skip "as $user: $n: every node already runs containerd (nothing to dry-run a switch on)"
    continue
  fi
  run_cmd "$n"
  what="as $user with only ${bound:-no role}: kubectl runtime-switch $(cmd_line "$n") (exit $rc)"
  # (status without rbac/status-configz.yaml says that it read no /configz)
  if [[ " $(cmd_codes "$n") " == *" $rc "* ]] &&
     ! grep -v 'nodes/proxy' <<<"$out" | grep -qiE 'forbidden|cannot [a-z]+ resource'; then
    ok "$what"
  else
    fail "$what" "$(tail -n 15 <<<"$out")"
  fi
  # what each proves beyond its exit code
  case $n in
  completion)
    grep -q "^$drain_node" <<<"$out" && ok "... completion lists node names" || fail "... no node names in: $out" ;;
  check)
    grep -qE "^$switch_node +[^ ]+ +(done|blocked) " <<<"$out" && ok "... check's preflight ran (its Role)" ||
      fail "... check's preflight did not run: $(grep -m1 "$switch_node" <<<"$out")" ;;
  rollout-plan)
    ! grep -q "cannot list PodDisruptionBudgets" <<<"$out" && grep -qE "^[0-9]+ (\(canary\) +)?$switch_node " <<<"$out" &&
      ok "... the plan read the budgets and the nodes' locks, $switch_node planned" ||
      fail "... the plan is not what its roles allow" "$out" ;;
  rollout-resume)
    grep -q "^Rollout $ro_id done in .*: 1 done, 0 failed, 0 pending" <<<"$out" &&
      ok "... its record written done by the user ($drain_node already on containerd)" ||
      fail "... the record is not done" "$out"
    [[ $lock_after == *NotFound* ]] && ok "... the rollout's lock (Lease rsw-rollout) released at done" ||
      fail "... the rollout's lock is still held: $lock_after" ;;
  rollout-locked)
    grep -q "rollout $ro_id2 (paused, owner rs-rbac-admin on rbac-test) holds the rollout lock (Lease $ns/rsw-rollout" <<<"$out" &&
      ok "... refused by the rollout's lock, naming the rollout that holds it" || fail "... not refused by the lock" "$out"
    [[ -z $new_records && $cordoned != true && $lock_after == "rs-rbac-admin (rollout $ro_id2)" ]] &&
      ok "... nothing changed: $switch_node not cordoned, no record of a new rollout, the lock still $ro_id2's" ||
      fail "... something changed" "new records: $new_records; $switch_node unschedulable: $cordoned; lock: $lock_after" ;;
  rollout-abort)
    grep -q "^rollout $ro_id2 aborted: 0 done, 0 failed, 1 cancelled" <<<"$out" &&
      ok "... its record aborted by the user, $drain_node cancelled" || fail "... the record is not aborted" "$out"
    [[ $lock_after == *NotFound* ]] && ! grep -qi "warning" <<<"$out" &&
      ok "... the rollout's lock, which named it, released" || fail "... the rollout's lock is still held: $lock_after" "$out" ;;
  rollout-status)
    grep -qE "^1 +$drain_node +pending" <<<"$out" && ok "... the record read with the Role alone" ||
      fail "... the record not shown" "$out" ;;
  esac
done

# ---- the node command's roles do not reach further ----
# Asked of the API server as the user holding exactly rbac/node.yaml.
bind_only node
cannot() {  # cannot VERB RESOURCE [ARGS...]
  local v=$1 r=$2
  shift 2
  [[ $(k auth can-i "$v" "$r" "$@" --as "$user" 2>/dev/null) == no ]] &&
    ok "with rbac/node.yaml: cannot $v $r $*" || fail "with rbac/node.yaml: CAN $v $r $*"
}
cannot get secrets -n kube-system
cannot list secrets -n "$ns"
cannot create pods -n kube-system
cannot create jobs -n kube-system
cannot create pods -n default
cannot delete pods -n default
cannot get nodes --subresource=proxy
cannot create namespaces
cannot update leases -n kube-system
cannot create serviceaccounts/token -n "$ns"
cannot create rolebindings -n "$ns"

# ---- each verb taken away ----
# file|kind|resource|verb|command|fail or named: the command is one that
# needs the verb; its output must say `cannot VERB resource "RESOURCE"`;
# "fail": and exit with a code that is not a success.
declare -a REMOVALS=(
  "status|ClusterRole|nodes|list|status|fail"
  "status|ClusterRole|pods|list|status-pods|fail"
  "status-configz|ClusterRole|nodes/proxy|get|status-configz|named"
  "drain|ClusterRole|nodes|get|cordon|fail"
  "drain|ClusterRole|nodes|patch|cordon|named"
  "drain|ClusterRole|pods|list|drain-dry|fail"
  "drain|ClusterRole|pods/eviction|create|drain-dry|fail"
  "drain|ClusterRole|daemonsets|get|drain-dry|fail"
  "disable-eviction|ClusterRole|pods|delete|drain-delete|fail"
  "node|ClusterRole|nodes|get|node|fail"
  "node|ClusterRole|nodes|list|node|fail"
  "node|ClusterRole|pods|list|node|fail"
  "node|Role|namespaces|get|node|fail"
  "node|Role|leases|get|node|fail"
  "node|Role|leases|create|node|fail"
  "node|Role|pods|create|node|fail"
  "node|Role|configmaps|create|node|fail"
  "node|Role|configmaps|get|node|fail"
  "node|Role|configmaps|watch|node|fail"
  "node|Role|configmaps|patch|node|fail"
  "node|Role|configmaps|list|node|fail"
  "node|Role|jobs|create|node|fail"
  "node|Role|jobs|patch|node|fail"
  "node|Role|jobs|list|node|fail"
  "node|Role|jobs|delete|node|fail"
  "node|Role|pods/log|get|node|fail"
  "node|Role|leases|get|rollback|named"
  "use-secret|Role|secrets|create|node-secret|fail"
  "check|ClusterRole|nodes|get|check|fail"
  "check|Role|jobs|create|check|named"
  "check|Role|leases|list|check|named"
  "rollout|Role|leases|list|rollout-plan|fail"
)
# Verbs kept but not taken away here, because the commands above do not
# reach them or do not fail without them:
#   node ClusterRole nodes watch and patch: node/rollback follow and cordon
#     the node in a real switch (tests/e2e/test_switch.sh), not in a dry run;
#   node Role leases update: a real run writes its record at each phase; a
#     dry run takes and releases the lock only; leases delete: a dry run
#     that cannot release it warns (the Lease holds a finished record, free
#     to the next run);
#   pods watch and get (drain, node): the deletion watch (without it drain
#     lists again) and the re-read after a refused eviction (429);
#   configmaps delete and jobs get: the carrier's last user deletes it (the
#     dry run's own release), a resumed run's 409 reads the Job;
#   events list: a Job whose pod is refused (FailedCreate);
#   drain nodes list, status-pods: -l SELECTOR;
#   use-secret: as configmaps, with --use-secret;
#   check's reads of owners and templates: check says what it did not check;
#   rollout: poddisruptionbudgets list (the plan says it did not size the
#     batches), replicasets and statefulsets get (the gates of a node that
#     switched: test-fleet-e2e), configmaps list/get/create/update (the
#     record: rollout-resume, -abort and -status use them; one removal is
#     enough to show a missing rule fails clearly).
quick="status:nodes:list drain:nodes:patch drain:pods/eviction:create disable-eviction:pods:delete node:leases:create node:jobs:create node:configmaps:create use-secret:secrets:create check:nodes:get rollout:leases:list"

without() {  # without FILE KIND RESOURCE VERB: that role minus one verb, replaced
  local f=$1 kind=$2 res=$3 verb=$4
  jq -c --arg kind "$kind" --arg full "$res" --arg v "$verb" '
    select(.kind == $kind)
    | .rules |= [ .[] as $rule
        | if ($rule.resources | index($full)) and ($rule.verbs | index($v)) then
            ( $rule | .resources = [$full] | .verbs -= [$v] ),
            ( $rule | .resources -= [$full] )
          else $rule end
        | select((.resources | length) > 0 and (.verbs | length) > 0) ]' "$work/$f.objs" > "$work/without.json" &&
  [[ -s $work/without.json ]] && k replace -f "$work/without.json" >/dev/null
}

# The file whose role the last removal replaced: applied again before the
# next removal (not all of them: ~30 removals, 8 files).
changed=
restore_roles() { [[ -z $changed ]] || k apply -f "$work/$changed.objs" >/dev/null 2>&1 && changed=; }
for r in "${REMOVALS[@]}"; do
  IFS='|' read -r f kind res verb cmd mode <<<"$r"
  if [[ -n ${RBAC_CASES:-} && " $RBAC_CASES " != *" $res:$verb "* ]]; then continue; fi
  if [[ -z ${RBAC_CASES:-} && ${RBAC_QUICK:-0} == 1 && " $quick " != *" $f:$res:$verb "* ]]; then continue; fi
  if needs_switch_node "$cmd" && [[ -z $switch_node ]]; then
    skip "without $verb $res: no node to dry-run a switch on"; continue
  fi
  restore_roles || fail "applying rbac/$changed.yaml again"
  bind_only $(cmd_files "$cmd")
  wait_can yes "$verb" "$res"
  changed=$f
  if ! without "$f" "$kind" "$res" "$verb"; then fail "removing $verb $res from rbac/$f.yaml's $kind"; continue; fi
  wait_can no "$verb" "$res" || sleep 2  # can-i may not model it; RBAC settles within a second
  run_cmd "$cmd"
  want="cannot $verb resource \"$res\""
  named=$(grep -oE "${want}[^.,;]*|$res is forbidden" <<<"$out" | head -n 1)
  success=false
  [[ " $(cmd_codes "$cmd") " == *" $rc "* ]] && success=true
  # named: the command may go on (status without /configz, cordon as
  # kubectl, check without its preflight) but must say what it lacked
  if [[ $mode == named && -n $named ]]; then
    ok "without $verb $res (rbac/$f.yaml): $cmd (exit $rc) says: $named"
  elif [[ $mode == fail && $success == false && -n $named ]]; then
    ok "without $verb $res (rbac/$f.yaml): $cmd fails (exit $rc): $named"
  else
    fail "without $verb $res (rbac/$f.yaml): $cmd (exit $rc) did not ${mode/named/say} '$want'" "$(tail -n 8 <<<"$out")"
  fi
done
restore_roles || fail "applying rbac/$changed.yaml again"
check "nothing of the commands' runs is left in $ns" wait_until 30 "their objects gone" not new_ours
test_done
