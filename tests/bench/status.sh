#!/usr/bin/env bash
# Benchmark: `kubectl runtime-switch status -o wide` vs `kubectl get nodes -o
# wide` over N fake Node objects (default 5000) in the e2e cluster's real API
# server (tests/e2e/cluster.sh up), alternating runs (one warm-up each, not
# counted); prints the median wall time, CPU time (user+sys) and peak RSS of
# each, and the ratios.
#   tests/bench/status.sh PLUGIN [N] [RUNS]
# Environment: BENCH_NODES (the helper, default build/release/bench/bench_nodes),
# BENCH_STATIC (a second plugin binary measured in the same alternation,
# e.g. the static one of the krew archive, build/dist-amd64/...),
# KUBECTL (default kubectl 1.33), BENCH_IMAGES (images per fake node, 25),
# E2E_LOCK ('' skips taking the suites' lock).
#
# Other test suites share the cluster, so:
#  - the run starts as the suites do (tests/lib/e2e.sh: the e2e lock, the
#    cluster brought up if it is not), then holds the cluster's command lock
#    (cluster.sh up/down/reset-node) too, so neither a suite nor a cluster
#    rebuild runs meanwhile;
#  - the fake nodes are shaped after a real node of the cluster but carry
#    NoSchedule and NoExecute taints of their own (no DaemonSet or workload
#    lands there) and the unreachable taints and Unknown conditions the node
#    lifecycle controller would set, so it has nothing to write;
#  - they are created and deleted concurrently (many HTTP/2 streams), also
#    on failure or Ctrl-C, and leftovers of a crashed run are deleted first.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$RS_ROOT/tests/lib/e2e.sh"
plugin=${1:?usage: status.sh PLUGIN [N] [RUNS]}
n=${2:-5000}
runs=${3:-5}
root=$RS_ROOT
tool=${BENCH_NODES:-$root/build/release/bench/bench_nodes}
usage=${BENCH_USAGE:-$root/build/release/bench/usage}  # tests/bench/usage.c
images=${BENCH_IMAGES:-25}
label=runtime-switch-bench
RS_CACHE=${RS_CACHE:-/var/cache/kubectl-runtime-switch}
[[ -x $plugin && -x $tool ]] || { echo "build first: $plugin $tool (make bench-status)" >&2; exit 1; }
k() { "$KUBECTL" "$@"; }

t_start=$(date +%s)
e2e_begin || exit 1
exec 9>"$RS_CACHE/.cluster.lock"
echo "waiting for the cluster lock ($RS_CACHE/.cluster.lock)..."
flock -w 1800 9 || { echo "a cluster.sh command holds $RS_CACHE/.cluster.lock" >&2; exit 1; }
t_locked=$(date +%s)
# (test_cluster.sh may have taken the cluster down between two commands)
[[ $(k get nodes node-1 node-2 --no-headers 2>/dev/null | grep -c ' Ready') -eq 2 ]] ||
  { echo "node-1 and node-2 are not both Ready now: not measuring" >&2; exit 1; }

work=$T_TMP
delete_nodes() {
  local t0=$SECONDS
  "$tool" delete "$label=1" 100 || true
  if [[ -n $(k get nodes -l "$label=1" -o name 2>/dev/null | head -1) ]]; then
    k delete nodes -l "$label=1" --wait=false >/dev/null 2>&1 || true
  fi
  echo "deleted the fake nodes in $((SECONDS - t0)) s"
}
at_exit delete_nodes

if [[ -n $(k get nodes -l "$label=1" -o name | head -1) ]]; then
  echo "leftovers of an earlier run:"
  delete_nodes
fi

# The template: node-2 as the API server has it, made a fake one.
k get node node-2 -o json > "$work/real.json"
python3 - "$work/real.json" "$images" "$label" > "$work/template.json" <<'PY'
import json, sys
node = json.load(open(sys.argv[1]))
images, label = int(sys.argv[2]), sys.argv[3]
meta = node["metadata"]
for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"):
    meta.pop(k, None)
meta["labels"] = {k: v for k, v in meta.get("labels", {}).items()
                  if k in ("kubernetes.io/arch", "kubernetes.io/os", "beta.kubernetes.io/arch",
                           "beta.kubernetes.io/os")}
meta["labels"][label] = "1"
meta["labels"]["kubernetes.io/hostname"] = "set-by-bench_nodes"
meta["annotations"] = {k: v for k, v in meta.get("annotations", {}).items()
                       if k in ("node.alpha.kubernetes.io/ttl",
                                "volumes.kubernetes.io/controller-managed-attach-detach")}
meta["annotations"]["kubeadm.alpha.kubernetes.io/cri-socket"] = "set-by-bench_nodes"
node["spec"] = {"taints": [
    {"key": label, "value": "1", "effect": "NoSchedule"},
    {"key": label, "value": "1", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
]}
st = node["status"]
for c in st.get("conditions", []):
    if c["type"] in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
        c.update(status="Unknown", reason="NodeStatusUnknown",
                 message="Kubelet stopped posting node status.")
# as many images as a busy node reports (the kubelet reports up to 50)
st["images"] = [{"names": ["registry.example.com/team-%02d/service-%02d@sha256:%064x" % (i % 7, i, i),
                           "registry.example.com/team-%02d/service-%02d:v1.%d.0" % (i % 7, i, i)],
                 "sizeBytes": 25000000 + 1000003 * i} for i in range(images)]
st.pop("volumesInUse", None)
st.pop("volumesAttached", None)
st.pop("config", None)
json.dump(node, sys.stdout)
PY
echo "template: $(wc -c < "$work/template.json") bytes per node (shaped after node-2, $images images)"

t0=$SECONDS
"$tool" create "$work/template.json" rs-bench "$n" 100
t_create=$((SECONDS - t0))
have=$(k get nodes -l "$label=1" --no-headers -o name | wc -l)
[[ $have -eq $n ]] || { echo "expected $n fake nodes, found $have" >&2; exit 1; }
total=$((n + 2))

measure() { # label cmd...
  local who=$1
  shift
  "$usage" -o "$work/t" "$@" >"$work/out" 2>"$work/err" || {
    echo "$who failed:" >&2; cat "$work/err" >&2; exit 1; }
  local lines
  lines=$(grep -c . "$work/out")
  [[ $lines -ge $total ]] || { echo "$who printed $lines lines, expected >= $total" >&2; exit 1; }
  read -r wall user sys rss < "$work/t"
  echo "$who $wall $(echo "$user + $sys" | bc) $rss" >> "$work/results"
}
pcmd=("$plugin" status -o wide)
kcmd=("$KUBECTL" get nodes -o wide)
static=${BENCH_STATIC:-}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "warm-up..."
measure warm "${pcmd[@]}"
measure warm "${kcmd[@]}"
[[ -n $static ]] && measure warm "$static" status -o wide
"$plugin" status -v 6 -o wide 2>"$work/v6" >/dev/null
echo "plugin requests per run: $(grep -c '^I.* GET ' "$work/v6") ($(grep -c 'proxy/configz' "$work/v6") /configz)"
results=${BENCH_RESULTS:-/tmp/rs-bench-status.results}
cp "$work/v6" "$results.v6"   # one run's request log, for where the time goes
for i in $(seq "$runs"); do
  (( SECONDS < 540 )) || { echo "stopping after $((i - 1)) runs: ten minutes are up" >&2; break; }
  measure plugin "${pcmd[@]}"
  measure kubectl "${kcmd[@]}"
  [[ -n $static ]] && measure static "$static" status -o wide
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
cp "$work/results" "$results"
echo
echo "status over $total nodes ($n fake + node-1, node-2), $runs alternating runs each:"
echo "  plugin:  ${pcmd[*]}"
echo "  kubectl: ${kcmd[*]}"
[[ -n $static ]] && echo "  static:  $static status -o wide"
python3 - "$work/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
m = {}
for who in ("plugin", "static", "kubectl"):
    r = [x for x in rows if x[0] == who]
    if not r:
        continue
    m[who] = [statistics.median(float(x[i]) for x in r) for i in (1, 2, 3)]
    print("  %-8s median wall %.3f s, cpu %.3f s, peak RSS %.1f MiB  (walls: %s)" % (
        who, m[who][0], m[who][1], m[who][2] / 1024, " ".join(x[1] for x in r)))
k = m["kubectl"]
for who in ("plugin", "static"):
    if who in m:
        p = m[who]
        print("  kubectl/%s: wall %.1fx, cpu %.1fx, peak RSS %.1fx (the %s uses %.0f%% of kubectl's time, %.0f%% of its memory)" % (
            who, k[0] / p[0], k[1] / max(p[1], 0.005), k[2] / p[2], who, 100 * p[0] / k[0], 100 * p[2] / k[2]))
PY
echo "fake nodes created in ${t_create} s; waited $((t_locked - t_start)) s for the locks and the cluster; $((SECONDS)) s in all so far"
