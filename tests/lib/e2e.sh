# The shared e2e cluster (tests/e2e/cluster.sh) for the suites and the
# benchmarks that work on it (sourced after common.sh or test-lib.sh).
#
#   e2e_begin   the e2e lock, then the cluster brought up when it is not
#               (`cluster.sh up` is idempotent), KUBECONFIG set to its admin
#   e2e_lock    the lock alone (test_cluster.sh, which takes it down itself)
#   cluster ... tests/e2e/cluster.sh without our lock descriptor
#
# One suite or benchmark at a time works on the cluster: each takes the lock
# once, first thing, and holds it until it exits.  The lock file lives in
# /run/lock, which always exists and which `cluster.sh down` does not touch
# (E2E_LOCK='' takes no lock, for a suite run by hand on a cluster of one's
# own).  The lock is held on descriptor 8:
#  - a suite run by a suite inherits it, already locked by its caller:
#    locking the same open file again succeeds at once (no deadlock);
#  - the harness runs without it (`cluster`), or a process it starts and
#    leaves running (a node, the API server) would hold the lock after the
#    suite ended.  E2E_LOCK_HELD tells it that its caller holds the lock.
# cluster.sh keeps its own lock for its mutating commands (fd 9,
# $RS_CACHE/.cluster.lock): always taken after this one, never before.

E2E_LOCK=${E2E_LOCK-/run/lock/kubectl-runtime-switch-e2e.lock}
E2E_LOCK_WAIT=${E2E_LOCK_WAIT:-3600}
CLUSTER_SH=$RS_ROOT/tests/e2e/cluster.sh # (CLUSTER is the flavour cluster.sh reads)
if [[ -z ${KUBECTL:-} ]]; then
	KUBECTL=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
	[[ -x $KUBECTL ]] || KUBECTL=$(command -v kubectl)
fi

cluster() { "$CLUSTER_SH" "$@" 8>&-; }

e2e_lock() {
	[[ -n $E2E_LOCK ]] || return 0
	[[ /dev/fd/8 -ef $E2E_LOCK ]] || exec 8>>"$E2E_LOCK" || return 1
	if ! flock -n 8; then
		note "waiting for the e2e lock $E2E_LOCK (another suite or benchmark holds it)"
		flock -w "$E2E_LOCK_WAIT" 8 || { note "still held after $E2E_LOCK_WAIT s"; return 1; }
	fi
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
