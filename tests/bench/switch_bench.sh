#!/usr/bin/env bash
# Measure whole switches of node-1 on the real cluster (tests/e2e/cluster.sh
# up): the wall time of each phase, the node's NotReady window, and the
# plugin's own CPU time and peak RSS (the plugin run directly, under
# tests/bench/usage.c, so kubectl's own start-up is not counted).
#   tests/bench/switch_bench.sh [ROUNDS]     (default 2: containerd, back, ...)
# Leaves node-1 on Docker (the seeded state).  Starts as the suites do: the
# e2e lock, the cluster brought up if it is not.
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/common.sh
source tests/lib/e2e.sh
source tests/e2e/switch/lib.sh
ROUNDS=${1:-2}
# wall, user, sys to the microsecond and peak RSS (tests/bench/usage.c)
USAGE=${USAGE:-$PWD/build/release/bench/usage}
[[ -x $USAGE ]] || make -s --no-print-directory VARIANT=release build/release/bench/usage >&2 || exit 1
e2e_begin || exit 1
at_exit restore_seeded
restore_seeded
OUT=$WORK/bench.txt
printf '%-12s %6s %7s %7s %7s %8s  %s\n' to wall_s cpu_s rss_kib notrdy_s kubelet_s phases | tee "$OUT"
to=containerd
for ((r = 0; r < 2 * ROUNDS; r++)); do
	tag=bench-$r
	"$USAGE" -o "$WORK/time.$tag" \
		"$PLUGIN" node "$NODE" --to $to --yes "${DRAIN_FLAGS[@]}" -o json >"$WORK/$tag.json" 2>"$WORK/$tag.err"
	rc=$?
	read -r e u s m < <(tail -n1 "$WORK/time.$tag")
	sum=$(jq -c 'select(.kind=="summary")' "$WORK/$tag.json")
	phases=$(jq -r '.phases | to_entries | map("\(.key)=\(.value*10|round/10)") | join(" ")' <<<"$sum")
	printf '%-12s %6.1f %7.3f %7d %8s %9s  %s%s\n' "$to" "$e" "$(echo "$u + $s" | bc)" "$m" \
		"$(jq -r '.notReadySeconds // "?"' <<<"$sum")" "$(jq -r '.kubeletDownSeconds // "?"' <<<"$sum")" \
		"$phases" "$([[ $rc -eq 0 ]] || echo " (exit $rc)")" | tee -a "$OUT"
	restore_bare_pod
	if [[ $to == containerd ]]; then to=cri-dockerd; else to=containerd; fi
done
# node-1's files as seeded too (a round trip leaves containerd's CRI on)
cluster reset-node "$NODE" >/dev/null 2>&1 || note "reset-node $NODE failed"
note "results: $OUT (json events in $WORK)"
