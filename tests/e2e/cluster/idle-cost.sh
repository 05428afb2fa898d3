#!/usr/bin/env bash
# What the running e2e cluster costs the machine while nothing happens on it:
#   tests/e2e/cluster/idle-cost.sh [SECONDS]      (default 120; root)
#   DETAIL=1 ... also the busiest programs inside the nodes (CPU per node and
#                command name: kubelet, dockerd, ...)
# Prints, over SECONDS: the machine's CPU use (% of all its cores, from
# /proc/stat: includes whatever else runs) and load average at the end; the
# cluster's own CPU (% of one core: the nodes' cgroups, per node, and the
# control-plane processes, from cpuacct and /proc/PID/stat), which other work
# on the machine does not disturb; and its memory (resident memory of the
# nodes' cgroups without page cache, and of the control plane).
# A measurement tool of the test harness; it changes nothing.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

secs=${1:-120}
[[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || die "usage: idle-cost.sh [SECONDS]"
require_root
CG=/sys/fs/cgroup/cpuacct/rsw-e2e
[[ -d $CG ]] || die "the e2e cluster is not up (no $CG)"
HZ=$(getconf CLK_TCK)

nodes() {
	local d
	for d in "$CG"/*/; do
		[[ -f $d/cpuacct.usage ]] && basename "$d"
	done
}

cp_pids() {
	local p
	for p in etcd apiserver controller-manager scheduler; do
		cat "$RS_STATE/run/$p.pid" 2>/dev/null || true
	done
}

# CPU ticks (user + system) of a process.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

machine() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat; }

# "PID NODE COMMAND TICKS" of every process in the nodes (DETAIL=1).
snapshot() {
	local f pid node
	for f in /proc/[0-9]*/cgroup; do
		node=$(sed -n 's|^[0-9]*:cpuacct:/rsw-e2e/\([^/]*\).*|\1|p' "$f" 2>/dev/null) || continue
		[[ -n $node ]] || continue
		pid=${f#/proc/}
		pid=${pid%/cgroup}
		echo "$pid $node $(tr ' ' '_' <"/proc/$pid/comm" 2>/dev/null) $(ticks "$pid")"
	done
}

declare -A n0 p0
[[ -z ${DETAIL:-} ]] || snapshot >/tmp/rsw-idle-cost.$$.0
for n in $(nodes); do n0[$n]=$(cat "$CG/$n/cpuacct.usage"); done
for p in $(cp_pids); do p0[$p]=$(ticks "$p"); done
read -r m0_all m0_idle < <(machine)
t0=$(date +%s%N)
sleep "$secs"
t1=$(date +%s%N)
read -r m1_all m1_idle < <(machine)
wall_ns=$((t1 - t0))
[[ -z ${DETAIL:-} ]] || snapshot >/tmp/rsw-idle-cost.$$.1

total_ns=0
line=
for n in $(nodes); do
	u=$(($(cat "$CG/$n/cpuacct.usage") - ${n0[$n]:-0}))
	if [[ -z ${n0[$n]:-} ]] || ((u < 0)); then
		line+=" $n (restarted meanwhile: not counted)"
		continue
	fi
	total_ns=$((total_ns + u))
	line+=" $n $(awk -v u="$u" -v w="$wall_ns" 'BEGIN{printf "%.1f%%", 100*u/w}')"
done
cp_ticks=0
for p in "${!p0[@]}"; do
	cp_ticks=$((cp_ticks + $(ticks "$p") - ${p0[$p]}))
done
cp_ns=$((cp_ticks * 1000000000 / HZ))

mem_nodes=0
for n in $(nodes); do
	mem_nodes=$((mem_nodes + $(awk '/^total_rss /{print $2}' "/sys/fs/cgroup/memory/rsw-e2e/$n/memory.stat")))
done
mem_cp=0
for p in $(cp_pids); do
	mem_cp=$((mem_cp + $(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
done

echo "over ${secs} s, $(nodes | wc -l) nodes, $(nproc) cores:"
awk -v a="$((m1_all - m0_all))" -v i="$((m1_idle - m0_idle))" 'BEGIN{printf "  machine CPU: %.1f%% of all cores (everything running)\n", 100*(a-i)/a}'
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v n="$total_ns" -v c="$cp_ns" -v w="$wall_ns" 'BEGIN{printf "  cluster CPU: %.1f%% of one core (nodes %.1f%%, control plane %.1f%%)\n", 100*(n+c)/w, 100*n/w, 100*c/w}'
echo "  per node:$line"
awk -v n="$mem_nodes" -v c="$mem_cp" 'BEGIN{printf "  memory: nodes %.0f MiB resident (without page cache), control plane %.0f MiB\n", n/1048576, c/1024}'
if [[ -n ${DETAIL:-} ]]; then
	echo "  busiest programs in the nodes (% of one core, processes that lived throughout):"
	awk -v w="$wall_ns" -v hz="$HZ" 'NR == FNR { a[$1] = $4; next }
		($1 in a) { c[$2 " " $3] += ($4 - a[$1]) * 1e9 / hz }
		END { for (k in c) if (c[k] > 0) printf "    %5.1f%%  %s\n", 100 * c[k] / w, k }' \
		/tmp/rsw-idle-cost.$$.0 /tmp/rsw-idle-cost.$$.1 | sort -rn | head -n 20
	rm -f /tmp/rsw-idle-cost.$$.0 /tmp/rsw-idle-cost.$$.1
fi
