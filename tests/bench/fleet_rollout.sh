#!/usr/bin/env bash
# Benchmark: three Docker nodes switched as one rollout (--max-unavailable 3,
# no canary, both zones in one batch) against three sequential `node` runs,
# on the real 4-node cluster (node-1, node-3, node-4 Docker; node-2
# containerd), same run, alternating: rollout to containerd, sequential back
# to cri-dockerd, sequential to containerd, rollout back to cri-dockerd (each
# mode goes each way once; ROUNDS repeats that).  The plugin runs directly
# under tests/bench/usage.c: wall time, CPU (user+sys) and peak RSS.  The
# seeded budget demo/web is deleted first (its one disruption would split
# the batch), and before each run demo/web is spread one replica per node
# (4 replicas, restarted, nothing left terminating; not timed), so that
# every run drains the same pods; the default cluster is brought back at
# the end.
# ROLLOUT_FLAGS adds to the rollout's command line (--skip-preflight: no
# preflight in the plan, each node's own switch still runs one, as each
# sequential run does).
#   tests/bench/fleet_rollout.sh PLUGIN [ROUNDS]      (default 1)
. "$(dirname "$0")/../lib/common.sh"
. "$RS_ROOT/tests/lib/e2e.sh"
plugin=${1:?usage: fleet_rollout.sh PLUGIN [ROUNDS]} rounds=${2:-1}
USAGE=${USAGE:-$RS_ROOT/build/release/bench/usage}
[[ -x $plugin && -x $USAGE ]] || { echo "build first: $plugin $USAGE (make bench-fleet-rollout)" >&2; exit 1; }
NODES=${FLEET_NODES:-"node-1:docker node-2:containerd node-3:docker@zone-b node-4:docker@zone-b"}
export NODES
e2e_begin || exit 1
unset NODES
k() { "$KUBECTL" "$@"; }
at_exit 'cluster up >"$T_TMP/restore.log" 2>&1 || note "bringing the default cluster back failed"'
k label node node-1 node-3 node-4 rsw-fleet=old --overwrite >/dev/null || exit 1
k delete pdb -n demo web --ignore-not-found >/dev/null
# Every run starts from the same placement: demo/web one replica per node
# (4 replicas, spread by its topology constraint), nothing terminating.
# Without it the order of the runs decided what each drained: a rollout
# leaves every web pod on node-2 (the only node left schedulable), so the
# sequential runs after it found none on the Docker nodes while the
# rollouts did (SPREAD=0: the old behaviour).
SPREAD=${SPREAD:-1}
((SPREAD)) && { k -n demo scale deployment web --replicas=4 >/dev/null || exit 1; }
spread() {
	((SPREAD)) || return 0
	k -n demo rollout restart deployment web >/dev/null &&
		k -n demo rollout status deployment web --timeout=120s >/dev/null || return 1
	local t
	for t in $(seq 60); do
		k -n demo get pods -l app=web -o json | jq -e '([.items[] | select(.metadata.deletionTimestamp)] | length) == 0
			and ([.items[].spec.nodeName] | unique | length) == 4' >/dev/null && return 0
		sleep 1
	done
	note "demo/web did not settle one per node: $(k -n demo get pods -l app=web -o wide --no-headers | awk '{print $7}' | tr '\n' ' ')"
}
FLAGS=(--yes --force --delete-emptydir-data)
OUT=$T_TMP/bench.txt
printf '%-10s %-12s %7s %7s %8s %9s  %s\n' mode to wall_s cpu_s rss_kib cleanup_s result | tee "$OUT"
measure() { # measure MODE TO: one rollout, or three node runs one after the other (summed; RSS the largest)
	local mode=$1 to=$2 tag=$1-$2-$RANDOM e u s m we=0 cpu=0 rss=0 rc=0 n
	spread || return 1
	if [[ $mode == rollout ]]; then
		"$USAGE" -o "$T_TMP/$tag.time" "$plugin" node -l rsw-fleet=old --to "$to" --canary 0 --max-unavailable 3 \
			--max-zones 0 "${FLAGS[@]}" ${ROLLOUT_FLAGS:-} -o json >"$T_TMP/$tag.out" 2>"$T_TMP/$tag.err" || rc=$?
		read -r we u s rss < <(tail -n1 "$T_TMP/$tag.time")
		cpu=$(echo "$u + $s" | bc)
	else
		for n in node-1 node-3 node-4; do
			"$USAGE" -o "$T_TMP/$tag-$n.time" "$plugin" node "$n" --to "$to" "${FLAGS[@]}" -o json \
				>"$T_TMP/$tag-$n.out" 2>"$T_TMP/$tag-$n.err" || rc=$?
			read -r e u s m < <(tail -n1 "$T_TMP/$tag-$n.time")
			we=$(echo "$we + $e" | bc) cpu=$(echo "$cpu + $u + $s" | bc)
			((m > rss)) && rss=$m
		done
	fi
	# the longest cleanup phase of a node (the issue saw 53 s of 66.8 s)
	local cl
	cl=$(cat "$T_TMP/$tag"*.out | jq -rs '[.[] | (select(.type == "phase" and .phase == "cleanup") | .seconds),
		(select(.kind == "summary") | .phases.cleanup // empty)] | max // "-"' 2>/dev/null)
	printf '%-10s %-12s %7.1f %7.3f %8d %9s  %s\n' "$mode" "$to" "$we" "$cpu" "$rss" "$cl" \
		"$([[ $rc -eq 0 ]] && echo ok || echo "exit $rc ($T_TMP/$tag.err)")" | tee -a "$OUT"
	# where the time went: each phase's seconds (a rollout: the longest of
	# its nodes, the phases running side by side; sequential: their sum);
	# a rollout's time after its plan (its events are timed from there: the
	# plan with its preflights is the wall time less that) and its gates
	# (after its last node ended)
	cat "$T_TMP/$tag"*.out | jq -rs --arg mode "$mode" '
		[.[] | select((.kind == "phase" or .type == "phase") and .phase and .seconds and .status != "running")] as $ph
		| ($ph | group_by(.phase) | map({p: .[0].phase, s: (if $mode == "rollout"
			then (group_by(.node) | map(map(.seconds) | add) | max) else (map(.seconds) | add) end)})) as $by
		| [.[] | select(.kind == "RolloutEvent")] as $ev
		| "# phases \($mode): " + ([$by[] | select(.s >= 0.1) | "\(.p) \(.s * 10 | round / 10)"] | join(", "))
		  + (if $mode == "rollout" then
			", after the plan \(([$ev[] | .elapsedSeconds] | max // 0) * 10 | round / 10)"
			+ ", gates \((([$ev[] | select(.type == "gate") | .elapsedSeconds] | max // 0)
				- ([$ev[] | select(.type == "node-end") | .elapsedSeconds] | max // 0)) * 10 | round / 10)"
			else "" end)' 2>/dev/null | tee -a "$OUT"
	echo "$mode $we $cpu $rss" >>"$T_TMP/raw"
	[[ $rc -eq 0 ]] || { tail -n 5 "$T_TMP/$tag"*.err | sed 's/^/# /'; return 1; }
}
for ((r = 0; r < rounds; r++)); do
	measure rollout containerd && measure sequential cri-dockerd &&
		measure sequential containerd && measure rollout cri-dockerd || { note "a run failed: stopping"; break; }
done
awk '{ w[$1] += $2; c[$1] += $3; if ($4 > m[$1]) m[$1] = $4; n[$1]++ }
	END { if (n["rollout"] && n["sequential"]) printf "# rollout/sequential: wall %.2f, cpu %.2f, peak RSS %.2f (%d + %d runs)\n",
		(w["rollout"] / n["rollout"]) / (w["sequential"] / n["sequential"]),
		(c["rollout"] / n["rollout"]) / (c["sequential"] / n["sequential"]), m["rollout"] / m["sequential"],
		n["rollout"], n["sequential"] }' "$T_TMP/raw" | tee -a "$OUT"
