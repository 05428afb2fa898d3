#!/usr/bin/env bash
# Benchmark: `kubectl runtime-switch status` and `status -o wide` vs `kubectl
# get nodes -o wide` over N fake Nodes (default 5000) on a private API server
# (tests/bench/lib.sh: etcd + kube-apiserver from $RS_CACHE/bin/kbin on ports
# of their own, throwaway PKI; no controllers, so the nodes stay as created),
# so neither the shared e2e cluster nor its lock is touched.  RUNS
# alternating runs (one warm-up each, not counted); prints for each command
# the median wall time, CPU time (user+sys) and peak RSS, and kubectl's
# over each of the others'.
#   tests/bench/status.sh PLUGIN [N] [RUNS]
# Environment: BENCH_NODES, BENCH_USAGE (the helpers, default
# build/release/bench/...), BENCH_STATIC (a second plugin binary measured in
# both modes in the same alternation, e.g. the static one of the krew
# archive, build/dist-amd64/...), KUBECTL (default kubectl 1.33),
# BENCH_IMAGES (images per fake node, 25), STATUS_PORT_BASE (default 22100:
# +379/+380 etcd, +443 the API server), BENCH_RESULTS (where the raw results
# and one run's request log are kept, /tmp/rs-bench-status.results).
#
#  - The nodes are tests/bench/bench_nodes' (a third each on dockershim,
#    containerd and cri-dockerd), Ready, shaped as a kubelet registers one
#    (capacity, conditions, nodeInfo, BENCH_IMAGES images: about 7 KB each),
#    so the default table and -o wide read the server's Node Table and the
#    nodes' metadata (-o wide's ARCH from their kubernetes.io/arch label).
#  - status runs as a user runs it: without --configz (opt-in: it needs
#    nodes/proxy; there is no kubelet behind the fake nodes either), so it
#    reads no /configz, as kubectl reads none.
#  - Each status mode's output is checked against what the same binary
#    prints for the same nodes named one by one (each Node read whole, a GET
#    each, in the list's order): byte for byte, the warm-up and every
#    measured run; kubectl's has a line per node.  The default table and
#    -o wide must have asked for the Table (includeObject=None).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh" # wait_until, at_exit, T_TMP
. "$RS_ROOT/tests/bench/lib.sh"       # bench_apiserver, bench_measure, bench_report
plugin=${1:?usage: status.sh PLUGIN [N] [RUNS]}
n=${2:-5000}
runs=${3:-5}
images=${BENCH_IMAGES:-25}
static=${BENCH_STATIC:-}
results=${BENCH_RESULTS:-/tmp/rs-bench-status.results}
work=$T_TMP
[[ -x $plugin && -x $BENCH_NODES && -x $BENCH_USAGE ]] ||
  { echo "build first: $plugin $BENCH_NODES $BENCH_USAGE (make bench-status)" >&2; exit 1; }
[[ -z $static || -x $static ]] || { echo "BENCH_STATIC=$static is not executable" >&2; exit 1; }
bench_apiserver "${STATUS_PORT_BASE:-22100}"

# A Ready node as a kubelet registers it; bench_nodes names it and gives it
# an address and a runtime profile.
python3 - "$images" > "$work/template.json" <<'PY'
import json, sys
images = int(sys.argv[1])
cond = lambda t, s, reason, msg: {"type": t, "status": s, "reason": reason, "message": msg,
                                  "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                                  "lastTransitionTime": "2025-12-01T00:00:00Z"}
res = {"cpu": "8", "ephemeral-storage": "102687672Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
       "memory": "32863296Ki", "pods": "110"}
node = {
  "apiVersion": "v1", "kind": "Node",
  "metadata": {
    "name": "x",
    "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
               "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": "x",
               "node.kubernetes.io/instance-type": "e2-standard-8",
               "topology.kubernetes.io/region": "europe-west1", "topology.kubernetes.io/zone": "europe-west1-b",
               "runtime-switch-bench": "1"},
    "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": "x", "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
  "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
  "status": {
    "capacity": res, "allocatable": dict(res, cpu="7910m", memory="29615424Ki"),
    "conditions": [
      cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
      cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")],
    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
    "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                 "osImage": "Debian GNU/Linux 12 (bookworm)", "kernelVersion": "6.1.0-28-amd64",
                 "containerRuntimeVersion": "x", "kubeletVersion": "x", "kubeProxyVersion": "",
                 "machineID": "%032x" % 0x5eed, "systemUUID": "ec2a1f5e-0d5b-4c1e-9a7e-3f6c2b8d9e10",
                 "bootID": "0b6f7c1e-2a4d-4f3b-8e9c-1d2e3f4a5b6c"},
    # as many images as a busy node reports (the kubelet reports up to 50)
    "images": [{"names": ["registry.example.com/team-%02d/service-%02d@sha256:%064x" % (i % 7, i, i),
                          "registry.example.com/team-%02d/service-%02d:v1.%d.0" % (i % 7, i, i)],
                "sizeBytes": 25000000 + 1000003 * i} for i in range(images)]}}
json.dump(node, sys.stdout)
PY

t0=$SECONDS
"$BENCH_NODES" create "$work/template.json" rs-bench "$n" 100
t_create=$((SECONDS - t0))
"$KUBECTL" get nodes -o name | sed 's,^node/,,' > "$work/names"
have=$(wc -l < "$work/names")
[[ $have -eq $n ]] || { echo "expected $n fake nodes, found $have" >&2; exit 1; }
size=$("$KUBECTL" get --raw "/api/v1/nodes/$(head -1 "$work/names")" | wc -c)
echo "$n fake nodes created in $t_create s: $(wc -c < "$work/template.json") bytes each as posted ($images images)," \
  "$size as the server returns them (with its metadata and managedFields)"

# the reference: the same binary, the same nodes named one by one, in the
# list's order (mapfile: 5,000 names are one argv of some 70 KB)
mapfile -t names < "$work/names"
reference() { # NAME BINARY [-o wide]
  local out=$work/ref-$1 bin=$2
  shift 2
  "$bin" status "$@" "${names[@]}" > "$out"
  [[ $(wc -l < "$out") -eq $((n + 1)) ]] || { echo "$bin status $* NODE...: not $((n + 1)) lines" >&2; exit 1; }
}
reference status "$plugin"
reference wide "$plugin" -o wide

# run WHO: one run of WHO measured, its output checked
whos=(kubectl status wide)
[[ -z $static ]] || whos+=(static static-wide)
run() {
  local ref=wide bin=$plugin mode=(-o wide)
  case $1 in
  kubectl)
    bench_measure kubectl "$KUBECTL" get nodes -o wide
    [[ $(wc -l < "$work/out") -eq $((n + 1)) ]] || { echo "kubectl printed not $((n + 1)) lines" >&2; exit 1; }
    return ;;
  status | static) ref=status mode=() ;;
  esac
  [[ $1 != static* ]] || bin=$static
  bench_measure "$1" "$bin" status "${mode[@]}"
  cmp -s "$work/out" "$work/ref-$ref" || {
    echo "$1: not what $plugin status printed for the same nodes named one by one:" >&2
    diff "$work/ref-$ref" "$work/out" | head -20 >&2
    exit 1
  }
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "warm-up..."
for w in "${whos[@]}"; do run "$w"; done
rm -f "$work/results"
"$plugin" status -v 6 2>"$work/v6" >/dev/null
"$plugin" status -o wide -v 6 2>"$work/v6-wide" >/dev/null
table=$(grep -c '^I.* GET .*includeObject=None' "$work/v6" || true)
[[ $table -gt 0 ]] || { echo "the default table did not ask for the server's Table:" >&2; grep GET "$work/v6" >&2; exit 1; }
! grep -q 'proxy/configz' "$work/v6" "$work/v6-wide" || { echo "status asked for /configz without --configz" >&2; exit 1; }
grep -q '^I.* GET .*includeObject=None' "$work/v6-wide" ||
  { echo "status -o wide did not ask for the server's Table:" >&2; grep GET "$work/v6-wide" >&2; exit 1; }
echo "requests per run: status $(grep -c '^I.* GET ' "$work/v6") ($table of the Table), status -o wide $(grep -c '^I.* GET ' "$work/v6-wide")"
cat "$work/v6" "$work/v6-wide" > "$results.v6" # the request logs, for where the time goes
t0=$SECONDS
for i in $(seq "$runs"); do
  (( SECONDS - t0 < 540 )) || { echo "stopping after $((i - 1)) runs: nine minutes are up" >&2; break; }
  for w in "${whos[@]}"; do run "$w"; done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
cp "$work/results" "$results"
echo
echo "status over $n Ready fake nodes (private API server), $runs alternating runs each; every output checked:"
echo "  kubectl: $KUBECTL get nodes -o wide"
echo "  status:  $plugin status"
echo "  wide:    $plugin status -o wide"
[[ -z $static ]] || echo "  static, static-wide: $static, the same two"
bench_report kubectl "${whos[@]}"
echo "$SECONDS s in all"
