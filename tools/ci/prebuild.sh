#!/usr/bin/env bash
# make test's background builds: what only the later suites need (the
# containerd 2.x and CRI-O builds, crictl, the legacy flavour's kubelets, the
# static release archives) is built behind the cluster suites, which spend
# most of their time waiting on the cluster, instead of in front of them.
# Test harness only. With warm caches every step is a cache check (the
# release archives' static compile: about a minute behind the unit suites).
#
#   tools/ci/prebuild.sh start   start the builds in the background: one
#                                session (setsid), nice 19, idle I/O class;
#                                their output in build/prebuild/log
#   tools/ci/prebuild.sh wait    wait for them, print each step's status and
#                                time; exit 1 when one failed (its log's tail
#                                printed)
#   tools/ci/prebuild.sh stop    kill them (make test failed before waiting)
#
# A step that failed in the background is not hidden: wait says so, and the
# suite that needs it runs the same build again in the foreground (each
# build is its own make target or script, cached by content), where it fails
# visibly. Without `start` (one suite run by hand) nothing waits: the suites'
# own prerequisites build what they need.
set -euo pipefail
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/../.."
DIR=build/prebuild
MAKE=${MAKE:-make}

# The steps, in order: name and command (no shell strings: argv arrays).
steps() {
	step runtimes-build "$MAKE" --no-print-directory runtimes-build
	step crictl tests/e2e/crictl/build.sh
	step legacy-build "$MAKE" --no-print-directory legacy-build
	step dist "$MAKE" --no-print-directory dist
}

step() {
	local name=$1 t0=$SECONDS rc=0
	shift
	echo "== $name: $*"
	"$@" || rc=$?
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
	setsid nice -n 19 ionice -c 3 "$SELF" run </dev/null >"$DIR/log" 2>&1 &
	echo $! >"$DIR/pid"
	echo "prebuild: started in the background (pid $!): runtimes-build crictl legacy-build dist; log $DIR/log"
	;;
run)
	run
	;;
wait)
	[[ -f $DIR/pid ]] || { echo "prebuild: not started; the suites build what they need"; exit 0; }
	t0=$SECONDS
	while alive; do sleep 2; done
	echo "prebuild: waited $((SECONDS - t0)) s"
	[[ -f $DIR/steps ]] && sed 's/^/prebuild: /' "$DIR/steps"
	rc=$(cat "$DIR/rc" 2>/dev/null || echo 1)
	rm -f "$DIR/pid"
	if [[ $rc != 0 ]]; then
		echo "prebuild: a background build failed; the end of $DIR/log:" >&2
		tail -n 40 "$DIR/log" >&2
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
