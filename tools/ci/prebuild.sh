#!/usr/bin/env bash
# make test's background part: the builds and the one suite that need no
# cluster run behind the cluster suites, which spend most of their time
# waiting on the cluster, instead of in front of them.  Test harness only.
#   cluster-build    kbin, cri-dockerd, the node image (the cluster suites
#                    wait for it: cluster.sh build holds $RS_CACHE/.cluster.lock
#                    while it builds, and finds it current afterwards)
#   runtimes-build   containerd 2.x and CRI-O
#   test-helper      the node helper's fixture, real-daemon, kill and reboot
#                    matrices (no cluster); its whole output is printed by
#                    `wait`, and its failure fails make test there
#   crictl, legacy-build, dist   for test-targets, test-legacy, test-krew
# With warm caches every build is a cache check (the release archives'
# static compile: about a minute).
#
#   tools/ci/prebuild.sh start   start them in the background: one session
#                                (setsid), nice 10 (the builds nice 19), idle
#                                I/O class; output in build/prebuild/
#   tools/ci/prebuild.sh wait    wait for them, print test-helper's output
#                                and each step's status and time; exit 1
#                                when one failed (its log's tail printed)
#   tools/ci/prebuild.sh stop    kill them (make test failed before waiting)
#
# Without `start` (one suite run by hand) nothing waits: each suite's own
# prerequisites build what it needs.
set -euo pipefail
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.."
DIR=build/prebuild
MAKE=${MAKE:-make}

# The steps, in order: name and command (no shell strings: argv arrays).
# A build runs at nice 19, the suite at the runner's 10.
STEPS="cluster-build runtimes-build test-helper crictl legacy-build dist"
steps() {
	step cluster-build nice -n 9 "$MAKE" --no-print-directory cluster-build
	step runtimes-build nice -n 9 "$MAKE" --no-print-directory runtimes-build
	step test-helper ionice -c 2 -n 7 "$MAKE" --no-print-directory test-helper
	step crictl nice -n 9 tests/e2e/crictl/build.sh
	step legacy-build nice -n 9 "$MAKE" --no-print-directory legacy-build
	step dist nice -n 9 "$MAKE" --no-print-directory dist
}

step() {
	local name=$1 t0=$SECONDS rc=0
	shift
	echo "== $name: $*"
	"$@" >"$DIR/$name.log" 2>&1 || rc=$?
	tail -n 5 "$DIR/$name.log"
	echo "$name rc=$rc $((SECONDS - t0)) s" | tee -a "$DIR/steps"
	((rc == 0)) || FAILED=1
}

run() {
	FAILED=0
	: >"$DIR/steps"
	steps
	echo "$FAILED" >"$DIR/rc"
}

# The pid in $DIR/pid is ours while that process runs this script.
alive() {
	local pid
	[[ -f $DIR/pid ]] || return 1
	pid=$(<"$DIR/pid")
	[[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'prebuild.sh run'
}

case ${1:-} in
start)
	alive && { echo "prebuild: already running (pid $(<"$DIR/pid"))" >&2; exit 1; }
	mkdir -p "$DIR"
	rm -f "$DIR/rc" "$DIR/steps"
	# No descriptor of make's (a lock, a pipe) is inherited: stdin from
	# /dev/null, output to the log only.
	setsid nice -n 10 ionice -c 3 "$SELF" run </dev/null >"$DIR/log" 2>&1 &
	echo $! >"$DIR/pid"
	echo "prebuild: started in the background (pid $!): $STEPS; output in $DIR/"
	;;
run)
	run
	;;
wait)
	[[ -f $DIR/pid ]] || { echo "prebuild: not started; the suites build what they need"; exit 0; }
	t0=$SECONDS
	while alive; do sleep 2; done
	echo "prebuild: waited $((SECONDS - t0)) s"
	echo "== make test-helper (ran in the background)"
	cat "$DIR/test-helper.log" 2>/dev/null || echo "prebuild: test-helper did not run"
	[[ -f $DIR/steps ]] && sed 's/^/prebuild: /' "$DIR/steps"
	rc=$(cat "$DIR/rc" 2>/dev/null || echo 1)
	rm -f "$DIR/pid"
	if [[ $rc != 0 ]]; then
		for f in $(awk '$2 != "rc=0" {print $1}' "$DIR/steps" 2>/dev/null); do
			[[ $f == test-helper ]] && continue
			echo "prebuild: $f failed; the end of $DIR/$f.log:" >&2
			tail -n 40 "$DIR/$f.log" >&2
		done
		exit 1
	fi
	;;
stop)
	if alive; then
		kill -TERM -- "-$(<"$DIR/pid")" 2>/dev/null || true
		echo "prebuild: stopped"
	fi
	rm -f "$DIR/pid"
	;;
*)
	echo "usage: $0 start|wait|stop" >&2
	exit 2
	;;
esac
