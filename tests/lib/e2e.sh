# The shared e2e cluster (tests/e2e/cluster.sh) for the suites and the
# benchmarks that work on it (sourced after common.sh or test-lib.sh).
#
#   e2e_begin   the e2e lock, then the cluster brought up when it is not
#               (`cluster.sh up` is idempotent), KUBECONFIG set to its admin
#   e2e_lock    the lock alone (test_cluster.sh, which takes it down itself)
#   cluster ... tests/e2e/cluster.sh
#
# One suite or benchmark at a time works on the cluster: each takes the lock
# once and holds it until it exits.  The lock file lives in /run/lock, which
# always exists and which `cluster.sh down` does not touch (E2E_LOCK='' takes
# no lock, for a suite run by hand on a cluster of one's own).
# The suite never has the lock's descriptor: a small holder process,
# flock(1) running a loop, takes the lock, says so, and keeps it until the
# suite's shell is gone.  What the suite starts and leaves running (a fault
# proxy, a kubectl --watch, a plugin in the background, the cluster's
# daemons) therefore cannot keep the lock after the suite; the lock ends at
# most half a second after the suite does.  A suite run by a suite finds
# E2E_LOCK_HELD set by its caller and takes nothing.
# cluster.sh keeps its own lock for its mutating commands (fd 9,
# $RS_CACHE/.cluster.lock): always taken after this one, never before.

E2E_LOCK=${E2E_LOCK-/run/lock/kubectl-runtime-switch-e2e.lock}
E2E_LOCK_WAIT=${E2E_LOCK_WAIT:-3600}
CLUSTER_SH=$RS_ROOT/tests/e2e/cluster.sh # (CLUSTER is the flavour cluster.sh reads)
if [[ -z ${KUBECTL:-} ]]; then
	KUBECTL=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
	[[ -x $KUBECTL ]] || KUBECTL=$(command -v kubectl)
fi

cluster() { "$CLUSTER_SH" "$@"; }

e2e_lock() {
	[[ -n $E2E_LOCK && ${E2E_LOCK_HELD:-} != "$E2E_LOCK" ]] || return 0
	local line= fd
	# the holder: flock -w, then "locked" on the pipe, then a wait for this
	# shell ($$) to end; it writes nothing more, so closing the pipe's read
	# end here leaves it alone
	exec {fd}< <(exec flock -w "$E2E_LOCK_WAIT" "$E2E_LOCK" \
		sh -c 'echo locked; while kill -0 "$1" 2>/dev/null; do sleep 0.5; done' sh $$ </dev/null)
	if ! read -r -t 1 line <&"$fd"; then
		note "waiting for the e2e lock $E2E_LOCK (another suite or benchmark holds it)"
		read -r line <&"$fd" # nothing (EOF) when flock gives up
	fi
	exec {fd}<&-
	[[ $line == locked ]] || { note "the e2e lock $E2E_LOCK: still held after $E2E_LOCK_WAIT s"; return 1; }
	export E2E_LOCK_HELD=$E2E_LOCK
}

e2e_begin() {
	local t0=$SECONDS
	e2e_lock || return 1
	if ! cluster up >"$T_TMP/cluster-up.log" 2>&1; then
		tail -n 20 "$T_TMP/cluster-up.log" | sed 's/^/# /'
		note "tests/e2e/cluster.sh up failed"
		return 1
	fi
	eval "$(cluster env)"
	note "the e2e cluster is up ($((SECONDS - t0)) s with the lock wait)"
}
