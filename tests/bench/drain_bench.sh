#!/usr/bin/env bash
# Benchmark (not a test): drain N pods off node-2 of the e2e cluster with the
# plugin and with kubectl drain, alternating runs, same flags, same pods.
# Reports the median wall time, CPU time (user+sys) and peak RSS of each
# tool, and the plugin/kubectl ratios.
#   tests/bench/drain_bench.sh [-r RUNS] [N...]      (default: -r 5 30 100)
# The pods trap SIGTERM and exit at once, so the time measured is the
# client's: listing, evicting, and noticing that the pods are gone.
# node-1 stays cordoned during a run, so the replacements wait Pending and
# take nothing from node-2; they come back to node-2 between runs.
# Starts as the suites do: the e2e lock, the cluster brought up if it is not.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/common.sh
. tests/lib/e2e.sh
PLUGIN=${PLUGIN:-$PWD/build/release/kubectl-runtime_switch}
# wall, user, sys to the microsecond and peak RSS (tests/bench/usage.c)
USAGE=${USAGE:-$PWD/build/release/bench/usage}
[[ -x $USAGE ]] || make -s --no-print-directory VARIANT=release build/release/bench/usage >&2 || exit 1
NS=rs-drain-bench
NODE=node-2
OTHER=node-1
RUNS=5
if [[ ${1:-} == -r ]]; then RUNS=$2; shift 2; fi
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(30 100)
k() { "$KUBECTL" "$@"; }
e2e_begin || exit 1
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
OUT=$(mktemp -d /tmp/rs-drain-bench.XXXXXX)

cleanup() {
	k delete namespace "$NS" --wait=false >/dev/null 2>&1
	k uncordon "$NODE" >/dev/null 2>&1
	k uncordon "$OTHER" >/dev/null 2>&1
}
at_exit cleanup

# BENCH_NO_READY=1: count pods bound to the node, Ready or not (for a
# cluster whose containers cannot start; the drain itself is the same)
ready_on_node() { # N Ready bench pods on $NODE, none terminating anywhere
	local j ready='select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))'
	[[ ${BENCH_NO_READY:-0} == 1 ]] && ready='.'
	j=$(k get pods -n "$NS" -o json)
	[[ $(jq --arg n "$NODE" "[.items[] | select(.metadata.deletionTimestamp == null and .spec.nodeName == \$n) |
		$ready] | length" <<<"$j") -ge $1 ]] &&
		[[ $(jq '[.items[] | select(.metadata.deletionTimestamp != null)] | length' <<<"$j") -eq 0 ]]
}
wait_ready() {
	wait_until 600 "$1 bench pods Ready on $NODE" ready_on_node "$1" && return 0
	log "pods did not come back"
	k get pods -n "$NS" -o wide | tail -5 >&2
	return 1
}

setup() { # setup N
	k create namespace "$NS" >/dev/null 2>&1
	k apply -f - >/dev/null <<-EOF
		apiVersion: apps/v1
		kind: Deployment
		metadata: {name: bench, namespace: $NS}
		spec:
		  replicas: $1
		  selector: {matchLabels: {app: bench}}
		  template:
		    metadata: {labels: {app: bench}}
		    spec:
		      terminationGracePeriodSeconds: 5
		      containers:
		      - name: c
		        image: localhost/busybox:1
		        imagePullPolicy: Never
		        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000000 & wait"]
	EOF
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

run_one() { # run_one TOOL N I
	local tool=$1 n=$2 i=$3 cmd
	k cordon "$OTHER" >/dev/null
	k uncordon "$NODE" >/dev/null
	wait_ready "$n" || return 1
	if [[ $tool == plugin ]]; then cmd=("$PLUGIN"); else cmd=("$KUBECTL"); fi
	"$USAGE" -o "$OUT/$tool-$n-$i.time" \
		"${cmd[@]}" drain "$NODE" --ignore-daemonsets --pod-selector=app=bench >"$OUT/$tool-$n-$i.log" 2>&1
	local rc=$?
	local evicted
	evicted=$(grep -c '^pod/bench-.* evicted$' "$OUT/$tool-$n-$i.log")
	read -r wall user sys rss <"$OUT/$tool-$n-$i.time"
	printf '%s %s %s %s %s\n' "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$rss" "$rc" "$evicted" >>"$OUT/$tool-$n.rows"
	log "$tool N=$n run $i: wall ${wall}s cpu $(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')s rss ${rss}KiB rc=$rc evicted=$evicted"
	k uncordon "$NODE" >/dev/null
}

printf '%-6s %-8s %10s %10s %12s\n' N tool wall_s cpu_s peak_rss_KiB >"$OUT/table"
for n in "${SIZES[@]}"; do
	log "N=$n: setting up"
	k cordon "$OTHER" >/dev/null
	setup "$n"
	k scale deployment/bench -n "$NS" --replicas="$n" >/dev/null
	wait_ready "$n" || exit 1
	for i in $(seq "$RUNS"); do
		# alternate which tool goes first
		if ((i % 2)); then run_one plugin "$n" "$i"; run_one kubectl "$n" "$i"
		else run_one kubectl "$n" "$i"; run_one plugin "$n" "$i"; fi
	done
	for tool in plugin kubectl; do
		f=$OUT/$tool-$n.rows
		printf '%-6s %-8s %10.3f %10.3f %12.0f\n' "$n" "$tool" "$(cut -d' ' -f1 "$f" | median)" \
			"$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)" >>"$OUT/table"
	done
	pw=$(cut -d' ' -f1 "$OUT/plugin-$n.rows" | median); kw=$(cut -d' ' -f1 "$OUT/kubectl-$n.rows" | median)
	pc=$(cut -d' ' -f2 "$OUT/plugin-$n.rows" | median); kc=$(cut -d' ' -f2 "$OUT/kubectl-$n.rows" | median)
	pr=$(cut -d' ' -f3 "$OUT/plugin-$n.rows" | median); kr=$(cut -d' ' -f3 "$OUT/kubectl-$n.rows" | median)
	printf '%-6s %-8s %10.2f %10.2f %12.2f   (plugin/kubectl)\n' "$n" ratio \
		"$(awk -v a="$pw" -v b="$kw" 'BEGIN{print a/b}')" "$(awk -v a="$pc" -v b="$kc" 'BEGIN{print (b>0)?a/b:0}')" \
		"$(awk -v a="$pr" -v b="$kr" 'BEGIN{print a/b}')" >>"$OUT/table"
	k delete namespace "$NS" --wait=true >/dev/null 2>&1
done
echo "runs per tool and size: $RUNS (alternating); raw rows and logs: $OUT"
cat "$OUT/table"
