# Helpers for the smoke checks of the runtimes built from Go modules
# (containerd2/check.sh, crio/check.sh; sourced after lib.sh): the test
# library (tests/lib/test-lib.sh: ok, fail, test_done), a private scratch
# directory, at most one daemon at a time.  Test harness only.
. "$E2E_DIR/../lib/test-lib.sh"

W=        # scratch directory of this check
DAEMON=   # PID of the daemon under test, while one runs

# check_begin NAME -- root only; make $W (removed at exit, with anything a
# daemon mounted below it)
check_begin() {
	require_root
	W=$(mktemp -d "/tmp/rs-$1-check.XXXXXX")
	at_exit check_cleanup
}

# daemon_stop -- stop the daemon under test (SIGTERM) and reap it
daemon_stop() {
	[[ -n $DAEMON ]] || return 0
	kill "$DAEMON" 2>/dev/null || true
	wait "$DAEMON" 2>/dev/null || true
	DAEMON=
}

check_cleanup() {
	daemon_stop
	[[ -n $W ]] || return 0
	local m
	for m in $(awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || true
	done
	rm -rf "$W"
}
