#!/usr/bin/env bash
# The kube layer against the REAL kube-apiserver of tests/e2e/cluster.sh:
#   1. the client suite (tests/kube/real_client.c: TLS with the cluster CA and
#      a client certificate, a wrong CA refused, a ServiceAccount's bearer
#      token, GET/POST/PUT/PATCH x3/DELETE, typed Status errors, pagination,
#      the list look-ahead, watch + bookmarks + 410 Gone, pod logs, HTTP/2
#      on one connection), release build and ASan build;
#   2. `kubectl runtime-switch status` through the real kubectl (the plugin on
#      PATH as kubectl-runtime_switch) in every output mode, NODE arguments,
#      -l, --pods and --configz through the node proxy, each compared with
#      what `kubectl get nodes -o json`, `kubectl get --raw .../proxy/configz`
#      and `kubectl get pods -A -o json` say; /configz forbidden by real RBAC.
#
#   tests/kube/real_apiserver.sh PLUGIN CLIENT_SUITE [ASAN_CLIENT_SUITE]
#
# Shared cluster: the run holds the e2e lock (tests/lib/e2e.sh) from the
# start, brings the cluster up if it is not, works in a namespace of its own
# plus one ClusterRole/ClusterRoleBinding named after it, touches no node,
# and removes all of it (pods first, waited for) before the lock is released.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/test-lib.sh
. tests/lib/e2e.sh
plugin=$(readlink -f "${1:?usage: real_apiserver.sh PLUGIN CLIENT_SUITE [ASAN_CLIENT_SUITE]}")
suite=$(readlink -f "${2:?usage: real_apiserver.sh PLUGIN CLIENT_SUITE [ASAN_CLIENT_SUITE]}")
asan_suite=${3:+$(readlink -f "$3")}
root=$RS_ROOT
export KUBECTL
t0=$SECONDS

need python3 openssl
e2e_begin || bail_out "the e2e cluster is not up"
admin=$KUBECONFIG
k() { "$KUBECTL" --kubeconfig "$admin" "$@"; }
note "kubectl: $KUBECTL"

ns=rs-kube-real-$$
work=$T_TMP/work
mkdir -p "$work"
cleanup() {
	# pods first, and the namespace, waited for: the next suite finds node-1
	# and node-2 as seeded and no namespace of ours (test-drain-e2e compares
	# the namespaces before and after each case)
	k -n "$ns" delete pods --all --grace-period=0 --force --wait=true >/dev/null 2>&1
	k delete namespace "$ns" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1
	k delete clusterrolebinding "$ns" --ignore-not-found >/dev/null 2>&1
	k delete clusterrole "$ns" --ignore-not-found >/dev/null 2>&1
}
at_exit cleanup

# ---- what the suites need ----
k create namespace "$ns" >/dev/null
k label namespace "$ns" app.kubernetes.io/managed-by=rs-kube-real >/dev/null
k -n "$ns" create serviceaccount rs-real >/dev/null
k -n "$ns" create role rs-real --verb='*' --resource=configmaps >/dev/null
k -n "$ns" create rolebinding rs-real --role=rs-real --serviceaccount="$ns:rs-real" >/dev/null
# cluster-wide: nodes may be read, nodes/proxy (/configz) not
k create clusterrole "$ns" --verb=get,list --resource=nodes >/dev/null
k create clusterrolebinding "$ns" --clusterrole="$ns" --serviceaccount="$ns:rs-real" >/dev/null
token=$(k -n "$ns" create token rs-real --duration=1h) || bail_out "kubectl create token"
server=$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')
ca_data=$(k config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
kubeconfig() { # FILE USER_YAML
	write_kubeconfig "$1" "$server" "certificate-authority-data: $ca_data" "$2" "$ns"
}
kubeconfig "$work/token" "token: $token"
kubeconfig "$work/badtoken" "token: not-a-token-this-server-issued"
kubeconfig "$work/anon" ""
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/wrong-ca.key" \
	-subj /CN=not-the-cluster-ca -days 1 -out "$work/wrong-ca.crt" 2>/dev/null
k config view --minify --raw >"$work/wrongca"
sed -i "s#certificate-authority-data: .*#certificate-authority-data: $(base64 -w0 "$work/wrong-ca.crt")#" "$work/wrongca"

# a pod that prints 30 lines (on node-2, the bystander), and one that mounts
# the Docker socket (on node-1, the Docker node) for --pods
k apply -f - >/dev/null <<-EOF
	apiVersion: v1
	kind: Pod
	metadata: {name: logger, namespace: $ns}
	spec:
	  nodeSelector: {kubernetes.io/hostname: node-2}
	  terminationGracePeriodSeconds: 0
	  containers:
	  - name: logger
	    image: localhost/busybox:1
	    imagePullPolicy: Never
	    command: [sh, -c, 'i=1; while [ \$i -le 30 ]; do echo "line \$i"; i=\$((i+1)); sleep 0.05; done; exec sleep 3600']
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: dsock, namespace: $ns}
	spec:
	  nodeSelector: {kubernetes.io/hostname: node-1}
	  terminationGracePeriodSeconds: 0
	  containers:
	  - name: c
	    image: localhost/busybox:1
	    imagePullPolicy: Never
	    command: [sleep, "3600"]
	    volumeMounts: [{name: docker, mountPath: /var/run/docker.sock, readOnly: true}]
	  volumes:
	  - name: docker
	    hostPath: {path: /var/run/docker.sock}
EOF
k -n "$ns" wait --for=condition=Ready pod/logger --timeout=120s >/dev/null ||
	bail_out "the logger pod did not start" "$(k -n "$ns" describe pod logger | tail -n 20)"
demo_pod=$(k -n demo get pods -o jsonpath='{.items[0].metadata.name}')
demo_lines=$(k -n demo logs "$demo_pod" --tail=20 | wc -l)

export RS_REAL_KUBECONFIG=$admin RS_REAL_KC_TOKEN=$work/token RS_REAL_KC_BADTOKEN=$work/badtoken
export RS_REAL_KC_ANON=$work/anon RS_REAL_KC_WRONGCA=$work/wrongca RS_REAL_NS=$ns
export RS_REAL_LOG_POD=logger RS_REAL_DEMO_POD=demo/$demo_pod RS_REAL_DEMO_LOG_LINES=$demo_lines
note "namespace $ns ready ($((SECONDS - t0)) s)"
# The 410 Gone case watches events (no watch cache: served from etcd) from
# revision 1, which only an aged cluster has compacted away: age it now.
cluster compact >/dev/null || bail_out "tests/e2e/cluster.sh compact failed"

# ---- 1. the client suite ----
run_suite() { # NAME BINARY
	local t=$SECONDS out
	k -n "$ns" delete configmaps -l rs-real --wait=true >/dev/null 2>&1
	if out=$(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$root/tests/kube/lsan.supp:print_suppressions=0 \
		"$2" --jobs 2 2>&1); then
		ok "client suite, $1: $(grep -o 'Tested: .*' <<<"$out") ($((SECONDS - t)) s)"
	else
		fail "client suite, $1" "$(grep -v 'Passing\|^\[----\] *$' <<<"$out" | tail -n 40)"
	fi
}
run_suite release "$suite"
[[ -n $asan_suite ]] && run_suite asan "$asan_suite"

# ---- 2. status through the real kubectl ----
mkdir -p "$work/bin"
ln -s "$plugin" "$work/bin/kubectl-runtime_switch"
export PATH="$work/bin:$PATH"
# (kubectl takes no global flag before a plugin's name: the kubeconfig is $KUBECONFIG)
rs() { KUBECONFIG=$admin "$KUBECTL" runtime-switch "$@"; }
k get nodes -o json >"$work/nodes.json"
k get pods -A -o json >"$work/pods.json"
ready_nodes=$(python3 -c 'import json,sys
for n in json.load(open(sys.argv[1]))["items"]:
    if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]): print(n["metadata"]["name"])' "$work/nodes.json")
for n in $ready_nodes; do
	k get --raw "/api/v1/nodes/$n/proxy/configz" >"$work/configz-$n.json"
done
k get nodes -o wide >"$work/kubectl-wide.txt"

rs status >"$work/table.txt" 2>"$work/table.err"
check "status: exit 0, nothing on stderr" test $? -eq 0 -a ! -s "$work/table.err"
rs status -o wide >"$work/wide.txt" 2>&1
rs status -o json --configz >"$work/status.json" 2>"$work/json.err"
check "status -o json: exit 0" test $? -eq 0
rs status -o yaml --configz >"$work/status.yaml" 2>&1
check "status -o yaml: exit 0" test $? -eq 0
rs status --no-headers >"$work/noheaders.txt" 2>&1
rs status --pods -o json >"$work/pods-status.json" 2>&1
rs status --pods >"$work/pods-table.txt" 2>&1

compare() { # NAME PYTHON-ASSERTIONS (python exits non-zero with a message on mismatch)
	check "$1" python3 - "$work" <<<"$2"
}
compare "status -o json agrees with kubectl get nodes -o json (runtime, kubelet, Ready, roles, IP, OS, kernel, arch, CRI annotation)" '
import json, sys
w = sys.argv[1]
nodes = {n["metadata"]["name"]: n for n in json.load(open(w + "/nodes.json"))["items"]}
got = {i["name"]: i for i in json.load(open(w + "/status.json"))["items"]}
assert set(nodes) == set(got), (sorted(nodes), sorted(got))
for name, n in nodes.items():
    g, info = got[name], n["status"]["nodeInfo"]
    ready = [c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"][0]
    status = {"True": "Ready", "False": "NotReady"}.get(ready, "Unknown")
    if n["spec"].get("unschedulable"): status += ",SchedulingDisabled"
    roles = sorted(k[len("node-role.kubernetes.io/"):] for k in n["metadata"].get("labels", {}) if k.startswith("node-role.kubernetes.io/"))
    ip = [a["address"] for a in n["status"].get("addresses", []) if a["type"] == "InternalIP"][:1]
    want = {"status": status, "kubeletVersion": info["kubeletVersion"],
            "containerRuntimeVersion": info["containerRuntimeVersion"],
            "runtime": info["containerRuntimeVersion"].split("://")[0],
            "runtimeVersion": info["containerRuntimeVersion"].split("://")[1],
            "osImage": info["osImage"], "kernelVersion": info["kernelVersion"],
            "architecture": info["architecture"], "internalIP": ip[0] if ip else None,
            "roles": ",".join(roles) or None,
            "criSocketAnnotation": n["metadata"].get("annotations", {}).get("kubeadm.alpha.kubernetes.io/cri-socket"),
            "unschedulable": bool(n["spec"].get("unschedulable"))}
    for k, v in want.items():
        assert g.get(k) == v, "%s %s: plugin %r, kubectl %r" % (name, k, g.get(k), v)
print("%d nodes agree" % len(nodes))
'
compare "/configz through the node proxy: CRI endpoint and cgroup driver as kubectl get --raw reads them" '
import json, os, sys
w = sys.argv[1]
got = {i["name"]: i for i in json.load(open(w + "/status.json"))["items"]}
seen = 0
for name, g in got.items():
    p = "%s/configz-%s.json" % (w, name)
    if not os.path.exists(p):
        assert g["configz"] == "skipped", (name, g["configz"])
        continue
    kc = json.load(open(p))["kubeletconfig"]
    assert g["configz"] == "ok", (name, g["configz"])
    assert g.get("containerRuntimeEndpoint") == kc.get("containerRuntimeEndpoint"), (name, g, kc.get("containerRuntimeEndpoint"))
    assert g.get("cgroupDriver") == kc.get("cgroupDriver"), (name, g.get("cgroupDriver"), kc.get("cgroupDriver"))
    seen += 1
assert seen >= 2, seen
'
compare "status -o yaml is the JSON document" '
import json, sys, yaml
w = sys.argv[1]
assert yaml.safe_load(open(w + "/status.yaml")) == json.load(open(w + "/status.json"))
'
compare "the table and -o wide: a row per node, columns as kubectl get nodes -o wide has them" '
import json, sys
w = sys.argv[1]
def table(path):
    lines = [l for l in open(path).read().splitlines() if l.strip()]
    head = lines[0]
    cols = [head.index(h) for h in head.split()]
    names = head.split()
    rows = {}
    for l in lines[1:]:
        cells = [l[a:b].strip() for a, b in zip(cols, cols[1:] + [None])]
        rows[cells[0]] = dict(zip(names, cells))
    return rows
t, wide = table(w + "/table.txt"), table(w + "/wide.txt")
kube = table(w + "/kubectl-wide.txt")
assert set(t) == set(wide) == set(kube), (sorted(t), sorted(kube))
for n in kube:
    for mine, theirs in (("STATUS", "STATUS"), ("VERSION", "VERSION"), ("RUNTIME", "CONTAINER-RUNTIME"), ("NAME", "NAME")):
        assert t[n][mine] == kube[n][theirs], (n, mine, t[n][mine], kube[n][theirs])
    for mine, theirs in (("INTERNAL-IP", "INTERNAL-IP"), ("KERNEL-VERSION", "KERNEL-VERSION")):
        assert wide[n][mine] == kube[n][theirs], (n, mine, wide[n][mine], kube[n][theirs])
    assert wide[n]["OS-IMAGE"].split()[0] == kube[n]["OS-IMAGE"].split()[0]
# ARCH (the kubelet sets the kubernetes.io/arch label) is status.nodeInfo.architecture
arch = {i["name"]: i["architecture"] for i in json.load(open(w + "/status.json"))["items"]}
for n in kube:
    assert wide[n]["ARCH"] == arch[n], (n, wide[n]["ARCH"], arch[n])
'
check "--no-headers: the rows only" test "$(wc -l <"$work/noheaders.txt")" -eq "$(($(wc -l <"$work/table.txt") - 1))"
compare "--pods: the pods that mount the Docker socket, as kubectl get pods -A -o json shows them" '
import json, sys
w = sys.argv[1]
def is_sock(p):
    p = p.rstrip("/") or "/"
    return p in ("/var/run", "/run", "/var/run/docker", "/run/docker", "/var/run/docker.sock", "/run/docker.sock") or p.endswith("/docker.sock")
want = {}
for p in json.load(open(w + "/pods.json"))["items"]:
    node = p["spec"].get("nodeName")
    for v in p["spec"].get("volumes", []):
        path = (v.get("hostPath") or {}).get("path")
        if node and path and is_sock(path):
            want.setdefault(node, []).append("%s/%s (%s)" % (p["metadata"]["namespace"], p["metadata"]["name"], path))
            break
got = {i["name"]: i["dockerSocketPods"] for i in json.load(open(w + "/pods-status.json"))["items"] if i["dockerSocketPods"]}
assert {k: sorted(v) for k, v in want.items()} == {k: sorted(v) for k, v in got.items()}, (want, got)
assert any("/dsock (/var/run/docker.sock)" in s for s in got.get("node-1", [])), got
table = open(w + "/pods-table.txt").read()
assert "PODS MOUNTING THE DOCKER SOCKET" in table and "/dsock (/var/run/docker.sock)" in table, table
'
out=$(rs status node-2 --no-headers 2>&1)
check "status node-2: that row only" test "$(wc -l <<<"$out")" -eq 1 -a "${out%% *}" = node-2
out=$(rs status node-2 no-such-node 2>&1 >/dev/null); rc=$?
want=$(k get node no-such-node 2>&1 >/dev/null)
check "status of a missing node: exit 1 and kubectl's error line ($out)" test $rc -eq 1 -a "$out" = "$want"
out=$(rs status -l kubernetes.io/hostname=node-1 --no-headers 2>&1)
check "status -l kubernetes.io/hostname=node-1: node-1 only" test "$(wc -l <<<"$out")" -eq 1 -a "${out%% *}" = node-1
rs status --configz -v 9 >/dev/null 2>"$work/v9.txt"
check "status -v 9: the node list came back as protobuf over HTTP/2" \
	grep -q 'Response Header: content-type: application/vnd.kubernetes.protobuf' "$work/v9.txt"
check "... HTTP/2" grep -q 'Response Header: HTTP/2 200' "$work/v9.txt"
nready=$(wc -w <<<"$ready_nodes")
check "status -v 9: one page of the server's Node Table, its nodes' metadata at its resourceVersion, one /configz per Ready node ($nready)" \
	test "$(grep -c '^I.* GET .*/api/v1/nodes?limit=500&includeObject=None 200' "$work/v9.txt")" -eq 1 -a \
	"$(grep -c '^I.* GET .*/api/v1/nodes?limit=500&resourceVersion=[0-9]*&resourceVersionMatch=Exact 200' "$work/v9.txt")" -eq 1 -a \
	"$(grep -c '^I.* GET .*/api/v1/nodes?' "$work/v9.txt")" -eq 2 -a \
	"$(grep -c '^I.* GET .*/proxy/configz 200' "$work/v9.txt")" -eq "$nready"
check "... the Table asked for as a Table, the metadata as PartialObjectMetadataList" \
	grep -q 'Request Header: Accept: application/json;as=Table;v=v1;g=meta.k8s.io, application/json' "$work/v9.txt"
check "... and the metadata as a PartialObjectMetadataList in protobuf" grep -q 'Request Header: Accept: application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList' "$work/v9.txt"
rs status -v 6 >/dev/null 2>"$work/v6.txt"
check "status -v 6: no /configz without --configz (nodes/proxy is opt-in)" test "$(grep -c 'proxy/configz' "$work/v6.txt")" -eq 0
rs status -o wide -v 6 >/dev/null 2>"$work/v6-wide.txt"
check "status -o wide -v 6: the Table and its nodes' metadata too (the kubelet's arch label), no whole Nodes" \
	test "$(grep -c '^I.* GET .*/api/v1/nodes?limit=500&includeObject=None 200' "$work/v6-wide.txt")" -eq 1 -a \
	"$(grep -c '^I.* GET .*/api/v1/nodes?limit=500&resourceVersion=[0-9]*&resourceVersionMatch=Exact 200' "$work/v6-wide.txt")" -eq 1 -a \
	"$(grep -c '^I.* GET .*/api/v1/nodes?' "$work/v6-wide.txt")" -eq 2

# bearer token, and /configz forbidden by RBAC: partial rows and a warning
KUBECONFIG=$work/token "$KUBECTL" runtime-switch status -o json --configz -v 6 >"$work/forbidden.json" 2>"$work/forbidden.err"; rc=$?
check "status with the ServiceAccount token (no nodes/proxy): exit 0" test $rc -eq 0
check "... a warning that /configz is forbidden" grep -q 'Warning: cannot read the kubelet configuration (/configz) through the API server: nodes/proxy is forbidden' "$work/forbidden.err"
check "... one /configz request, not one per node" test "$(grep -c 'proxy/configz' "$work/forbidden.err")" -eq 1
compare "... every row still there, /configz forbidden, the CRI socket from the kubeadm annotation" '
import json, sys
w = sys.argv[1]
nodes = {n["metadata"]["name"]: n for n in json.load(open(w + "/nodes.json"))["items"]}
got = {i["name"]: i for i in json.load(open(w + "/forbidden.json"))["items"]}
assert set(got) == set(nodes), (sorted(got), sorted(nodes))
for name, i in got.items():
    assert i["configz"] in ("forbidden", "skipped"), i
    assert i.get("cgroupDriver") is None and i.get("containerRuntimeEndpoint") is None, i
    assert i.get("criSocketAnnotation") == nodes[name]["metadata"].get("annotations", {}).get("kubeadm.alpha.kubernetes.io/cri-socket"), i
assert any(i["configz"] == "forbidden" for i in got.values()), got
'
out=$(KUBECONFIG=$work/wrongca "$KUBECTL" runtime-switch status 2>&1); rc=$?
check "status with a wrong CA: refused, one line, exit 1 ($out)" test $rc -eq 1 -a "$(wc -l <<<"$out")" -eq 1

test_done
