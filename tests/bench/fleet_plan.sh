#!/usr/bin/env bash
# Benchmark: the rollout's plan over N fake nodes (default 5000), on a private
# API server -- etcd + kube-apiserver from the e2e cluster's binary
# ($RS_CACHE/bin/kbin) on loopback ports of their own, in a scratch directory
# with a throwaway PKI -- so neither the shared e2e cluster nor its lock is
# touched. The nodes are tests/bench/bench_nodes' (a third each on dockershim,
# containerd and cri-dockerd), Ready, spread over three zones; no pods, no
# controllers. Measures `node --all --to containerd --skip-preflight --dry-run
# --max-unavailable 10%` (the table and -o json), RUNS alternating runs after
# one warm-up each: median wall, CPU (user+sys) and peak RSS.
#   tests/bench/fleet_plan.sh PLUGIN [N] [RUNS]
# Environment: BENCH_NODES, BENCH_USAGE (the helpers, default
# build/release/bench/...), FLEET_PORT_BASE (default 22000: +379/+380 etcd,
# +443 the API server), KUBECTL.
. "$(dirname "$0")/../lib/common.sh" # wait_until, at_exit, T_TMP
set -e
root=$RS_ROOT
plugin=${1:?usage: fleet_plan.sh PLUGIN [N] [RUNS]} n=${2:-5000} runs=${3:-5}
tool=${BENCH_NODES:-$root/build/release/bench/bench_nodes} usage=${BENCH_USAGE:-$root/build/release/bench/usage}
RS_CACHE=${RS_CACHE:-/var/cache/kubectl-runtime-switch}
kbin=$RS_CACHE/bin/kbin
base=${FLEET_PORT_BASE:-22000}
etcd=127.0.0.1:$((base + 379))
etcd_peer=127.0.0.1:$((base + 380))
api_port=$((base + 443))
KUBECTL=${KUBECTL:-$(command -v kubectl)}
[[ -x $plugin && -x $tool && -x $usage ]] || { echo "build first: $plugin $tool $usage (make bench-fleet)" >&2; exit 1; }
[[ -x $kbin ]] || { echo "$kbin missing: tests/e2e/cluster.sh build (make deps) first" >&2; exit 1; }
for p in "${etcd##*:}" "${etcd_peer##*:}" "$api_port"; do
  ! ss -Hltn "sport = :$p" | grep -q . || { echo "port $p is in use: set FLEET_PORT_BASE" >&2; exit 1; }
done

dir=$T_TMP
pids=()
stop_servers() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM -- "-${pids[i]}" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 -- "-${pids[i]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
at_exit stop_servers

# start NAME CMD... -- in the background, in a process group of its own,
# keeping no descriptor of ours but stdin/out/err
start() {
  local name=$1
  shift
  setsid "$@" </dev/null >"$dir/$name.log" 2>&1 &
  pids+=($!)
}
issue() { # NAME SUBJECT [SAN]
  local name=$1 subj=$2 san=${3:-} use=clientAuth
  [[ -z $san ]] || use=serverAuth,clientAuth
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 1 \
    -sha256 -out "$dir/$name.crt" -extfile <(printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=%s\n%s' \
      "$use" "${san:+subjectAltName=$san}") 2>/dev/null
}

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=rs-bench-fleet-ca \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
issue apiserver /CN=kube-apiserver "IP:127.0.0.1"
issue admin "/O=system:masters/CN=admin"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/sa.key" 2>/dev/null
openssl pkey -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
export KUBECONFIG=$dir/admin.conf
"$KUBECTL" config set-cluster b --server="https://127.0.0.1:$api_port" --certificate-authority="$dir/ca.crt" \
  --embed-certs >/dev/null
"$KUBECTL" config set-credentials admin --client-certificate="$dir/admin.crt" --client-key="$dir/admin.key" \
  --embed-certs >/dev/null
"$KUBECTL" config set-context b --cluster=b --user=admin >/dev/null
"$KUBECTL" config use-context b >/dev/null

t0=$SECONDS
start etcd "$kbin" etcd --name b --data-dir "$dir/etcd" --listen-client-urls "http://$etcd" \
  --advertise-client-urls "http://$etcd" --listen-peer-urls "http://$etcd_peer" \
  --initial-advertise-peer-urls "http://$etcd_peer" --initial-cluster "b=http://$etcd_peer" \
  --listen-metrics-urls "" --unsafe-no-fsync --log-level warn
wait_until 60 "etcd healthy" curl -fsS "http://$etcd/health" || { tail -20 "$dir/etcd.log" >&2; exit 1; }
start apiserver "$kbin" apiserver --advertise-address=127.0.0.1 --bind-address=127.0.0.1 \
  --secure-port="$api_port" --etcd-servers="http://$etcd" --tls-cert-file="$dir/apiserver.crt" \
  --tls-private-key-file="$dir/apiserver.key" --client-ca-file="$dir/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local --service-account-key-file="$dir/sa.pub" \
  --service-account-signing-key-file="$dir/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
  --authorization-mode=RBAC --profiling=false
wait_until 120 "the API server ready" "$KUBECTL" get --raw /readyz || { tail -30 "$dir/apiserver.log" >&2; exit 1; }
echo "private API server ready in $((SECONDS - t0)) s (127.0.0.1:$api_port)"

# A Ready node as a kubelet registers it, one template per zone; bench_nodes
# names it, gives it an address and a runtime profile.
python3 - "$dir" <<'PY'
import json, sys
node = {
  "apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "x", "labels": {"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
                                       "runtime-switch-bench": "1", "kubernetes.io/hostname": "x"},
               "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": "x"}},
  "spec": {},
  "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                             "message": "kubelet is posting ready status",
                             "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                             "lastTransitionTime": "2026-01-01T00:00:00Z"}],
             "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12",
                          "kernelVersion": "6.1.0", "containerRuntimeVersion": "x", "kubeletVersion": "x",
                          "kubeProxyVersion": "", "machineID": "", "systemUUID": "", "bootID": ""}}}
for z in "abc":
    node["metadata"]["labels"]["topology.kubernetes.io/zone"] = "zone-" + z
    json.dump(node, open("%s/template-%s.json" % (sys.argv[1], z), "w"))
PY
t0=$SECONDS
# three zones: a third of the nodes from each zone's template
extra=$((n % 3))
for z in a b c; do
  "$tool" create "$dir/template-$z.json" "rs-bench-$z" $((n / 3 + extra)) 100
  extra=0
done
have=$("$KUBECTL" get nodes --no-headers | wc -l)
[[ $have -eq $n ]] || { echo "expected $n fake nodes, found $have" >&2; exit 1; }
echo "$n fake nodes created in $((SECONDS - t0)) s"

measure() { # WHO CMD...
  local who=$1
  shift
  "$usage" -o "$dir/t" "$@" >"$dir/out" 2>"$dir/err" || { echo "$who failed:" >&2; cat "$dir/err" >&2; exit 1; }
  read -r wall user sys rss < "$dir/t"
  echo "$who $wall $(echo "$user + $sys" | bc) $rss" >> "$dir/results"
}
args=(node --all --to containerd --skip-preflight --dry-run --max-unavailable 10%)
measure warm "$plugin" "${args[@]}"
planned=$(head -1 "$dir/out")
measure warm "$plugin" "${args[@]}" -o json
python3 - "$dir/out" "$n" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
states = [x["state"] for x in plan["nodes"]]
assert len(states) == n, len(states)
planned = sum(len(b["nodes"]) for b in plan["batches"])
assert planned == states.count("planned") and planned > 0, (planned, states.count("planned"))
assert states.count("skipped") > 0
assert all(len({x["zone"] for x in plan["nodes"] if x["name"] in b["nodes"]}) == 1 for b in plan["batches"])
print("plan: %d planned in %d batches (max %d unavailable), %d skipped (on containerd), one zone per batch" % (
    planned, len(plan["batches"]), plan["maxUnavailable"], states.count("skipped")))
PY
echo "text: $planned"
rm -f "$dir/results"
for _ in $(seq "$runs"); do
  measure table "$plugin" "${args[@]}"
  measure json "$plugin" "${args[@]}" -o json
done
echo
echo "rollout plan over $n nodes (private API server, $runs alternating runs each):"
echo "  table: $plugin ${args[*]}"
echo "  json:  $plugin ${args[*]} -o json"
python3 - "$dir/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for who in ("table", "json"):
    r = [x for x in rows if x[0] == who]
    m = [statistics.median(float(x[i]) for x in r) for i in (1, 2, 3)]
    print("  %-6s median wall %.3f s, cpu %.3f s, peak RSS %.1f MiB  (walls: %s)" % (
        who, m[0], m[1], m[2] / 1024, " ".join(x[1] for x in r)))
PY
