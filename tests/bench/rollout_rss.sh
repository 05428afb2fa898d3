#!/usr/bin/env bash
# Where a rollout's memory goes, without the cluster: the plugin's peak RSS
# for one switch (node-1) and for a rollout of three nodes at once (node-1,
# node-3, node-4: --canary 0 --max-unavailable 3, the plan's preflights
# included, as make bench-fleet-rollout runs it), each against a fresh
# switch fake (tests/fakes/switch_fakeapi.py --nodes node-3,node-4) over
# HTTPS (its --tls; HTTP/1.1, where the API server speaks HTTP/2).  Each
# measured RUNS times (tests/bench/usage.c); the line per run is
#   MODE wall_s user_s sys_s peak_rss_KiB
# ENV_RUN (for example "MALLOC_ARENA_MAX=2") is put in the plugin's
# environment, to try an allocator setting.  Last, the mean of each and
# their ratio.  make bench-rollout-rss runs it.
#   tests/bench/rollout_rss.sh PLUGIN USAGE TLS_DIR [RUNS]
set -u
plugin=${1:?usage: rollout_rss.sh PLUGIN USAGE TLS_DIR [RUNS]} usage=${2:?} tls=${3:?} runs=${4:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/rs-rss-XXXXXX)
fake=
trap '[ -n "$fake" ] && kill "$fake" 2>/dev/null; rm -rf "$tmp"' EXIT

up() {
	rm -f "$tmp/port"
	python3 "$root/tests/fakes/switch_fakeapi.py" --port-file "$tmp/port" --scenario ok --lifetime 120 \
		--nodes node-3,node-4 --tls "$tls" 2>>"$tmp/fake.err" &
	fake=$!
	for _ in $(seq 300); do [ -s "$tmp/port" ] && break; sleep 0.02; done
	cat >"$tmp/kubeconfig" <<-EOF
		apiVersion: v1
		kind: Config
		current-context: t
		clusters:
		- name: c
		  cluster: {server: "https://127.0.0.1:$(cat "$tmp/port")", certificate-authority: "$tls/ca.crt"}
		users:
		- name: u
		  user: {token: t}
		contexts:
		- name: t
		  context: {cluster: c, user: u}
	EOF
}
down() { kill "$fake" 2>/dev/null; wait "$fake" 2>/dev/null; fake=; }

measure() { # MODE ARGS...
	local mode=$1
	shift
	up
	env ${ENV_RUN:-} KUBECONFIG="$tmp/kubeconfig" "$usage" -o "$tmp/time" "$plugin" "$@" >"$tmp/out" 2>"$tmp/err" ||
		{ echo "$mode: exit $? ($(tail -n2 "$tmp/err"))" >&2; }
	echo "$mode $(tail -n1 "$tmp/time")" | tee -a "$tmp/results"
	down
}

for _ in $(seq "$runs"); do
	measure single node node-1 --to containerd --yes -o json
	measure rollout node node-1 node-3 node-4 --to containerd --canary 0 --max-unavailable 3 --max-zones 0 \
		--yes -o json
done
# the mean peak RSS of each, and the rollout's over one switch's (the
# issue's goal: at most 1.5)
awk '{ n[$1]++; m[$1] += $5 } END { s = m["single"] / n["single"]; r = m["rollout"] / n["rollout"];
	printf "peak RSS: single %.0f KiB, rollout %.0f KiB: ratio %.2f\n", s, r, r / s }' "$tmp/results"
