#!/usr/bin/env bash
# Benchmark: the rollout's plan over N fake nodes (default 5000), on a private
# API server -- etcd + kube-apiserver from the e2e cluster's binary
# ($RS_CACHE/bin/kbin) on loopback ports of their own, in a scratch directory
# with a throwaway PKI (tests/bench/lib.sh) -- so neither the shared e2e cluster nor its lock is
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
. "$RS_ROOT/tests/bench/lib.sh"       # bench_apiserver, bench_measure, bench_report
set -e
plugin=${1:?usage: fleet_plan.sh PLUGIN [N] [RUNS]} n=${2:-5000} runs=${3:-5}
tool=$BENCH_NODES
[[ -x $plugin && -x $tool && -x $BENCH_USAGE ]] || { echo "build first: $plugin $tool $BENCH_USAGE (make bench-fleet)" >&2; exit 1; }
dir=$T_TMP
bench_apiserver "${FLEET_PORT_BASE:-22000}"

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

args=(node --all --to containerd --skip-preflight --dry-run --max-unavailable 10%)
bench_measure warm "$plugin" "${args[@]}"
planned=$(head -1 "$dir/out")
bench_measure warm "$plugin" "${args[@]}" -o json
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
  bench_measure table "$plugin" "${args[@]}"
  bench_measure json "$plugin" "${args[@]}" -o json
done
echo
echo "rollout plan over $n nodes (private API server, $runs alternating runs each):"
echo "  table: $plugin ${args[*]}"
echo "  json:  $plugin ${args[*]} -o json"
bench_report '' table json
