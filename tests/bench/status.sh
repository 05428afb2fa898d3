#!/usr/bin/env bash
# Benchmark: `kubectl runtime-switch status` vs `kubectl get nodes -o wide`
# over N fake Node objects (default 5000) created in the e2e cluster's API
# server, alternating runs; prints the median wall time, CPU time (user+sys)
# and peak RSS of each, and the ratios.  The fake nodes carry the label
# runtime-switch-bench=1 and are deleted at the end.
#   tests/bench/status.sh PLUGIN [N] [RUNS]
set -euo pipefail
plugin=${1:?usage: status.sh PLUGIN [N] [RUNS]}
n=${2:-5000}
runs=${3:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
eval "$("$root/tests/e2e/cluster.sh" env)"
kubectl=${KUBECTL:-kubectl}
work=$(mktemp -d /tmp/rs-bench-XXXXXX)
cleanup() {
  "$kubectl" delete nodes -l runtime-switch-bench=1 --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

python3 - "$n" > "$work/nodes.json" <<'PY'
import json, sys
n = int(sys.argv[1])
rts = [("docker://20.10.24", "v1.23.17", "/var/run/dockershim.sock"),
       ("containerd://1.7.2", "v1.27.3", "unix:///run/containerd/containerd.sock")]
items = []
for i in range(n):
    rt, kv, sock = rts[i % 2]
    items.append({"apiVersion": "v1", "kind": "Node",
                  "metadata": {"name": "bench-%05d" % i, "labels": {"runtime-switch-bench": "1"},
                               "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": sock}},
                  "spec": {"taints": [{"key": "runtime-switch-bench", "effect": "NoSchedule"}]}})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
echo "creating $n nodes..."
"$kubectl" create -f "$work/nodes.json" >/dev/null

measure() { # label cmd...
  /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
  read -r wall user sys rss < "$work/t"
  echo "$1 $wall $(echo "$user + $sys" | bc) $rss" >> "$work/results"
}
for i in $(seq "$runs"); do
  measure plugin "$plugin" status --configz=false
  measure kubectl "$kubectl" get nodes -o wide
done
python3 - "$work/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
m = {}
for who in ("plugin", "kubectl"):
    r = [x for x in rows if x[0] == who]
    m[who] = [statistics.median(float(x[i]) for x in r) for i in (1, 2, 3)]
    print("%-8s median wall %.3f s, cpu %.3f s, peak RSS %.1f MiB (%d runs)" % (who, m[who][0], m[who][1], m[who][2] / 1024, len(r)))
p, k = m["plugin"], m["kubectl"]
print("ratios kubectl/plugin: wall %.2fx, cpu %.2fx, rss %.2fx" % (k[0] / p[0], k[1] / max(p[1], 1e-3), k[2] / p[2]))
PY
