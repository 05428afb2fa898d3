# The one library of the shell test suites (sourced first; test harness
# only).  As in git's t/test-lib.sh, every assertion is a check with a
# description, and every suite prints the same TAP lines:
#
#   ok 3 - node-1 Ready
#   not ok 4 - node-1 runs docker://20.10.x
#   #   $ node_runtime_is node-1 'docker://20.10.*'   (exit 1)
#   #   node-1 runtime: containerd://1.6.20 (want docker://20.10.*)
#   # a note
#   ok 5 # SKIP reboot: node-1 is not on containerd
#   1..5
#   # tests/e2e/test_cluster.sh: 3 passed, 1 failed, 1 skipped (12 s)
#   # failed: 4 - node-1 runs docker://20.10.x
#
#   check DESCRIPTION CMD...  passes when CMD exits 0; CMD's output is
#                             shown only when it fails (its "# " notes
#                             always); returns CMD's verdict
#   ok / fail DESCRIPTION [WHY...] / skip DESCRIPTION
#   need CMD...               prerequisites: a missing one fails the suite
#   bail_out WHY [DETAIL...]  the rest cannot run: a failure, the summary, exit 1
#   test_done                 the plan, the counts, the failures again; exit status
#
# The skip policy: a suite exits 0 only when every check passed and none
# was skipped.  A missing prerequisite is a failure, never a skip; a skip
# (a case that cannot run because an earlier one failed, a part that needs
# what is not there) fails the suite too unless TEST_ALLOW_SKIP=1, which
# only a developer's partial run sets (make test never does).  A suite that
# ends without test_done (an error, an early exit) fails.

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

T_SUITE=${T_SUITE:-${0#"$RS_ROOT"/}}
T_PASSED=0 T_FAILED=0 T_SKIPPED=0 T_DONE=0 T_T0=$SECONDS
T_FAILURES=()

ok() {
	T_PASSED=$((T_PASSED + 1))
	printf 'ok %d - %s\n' $((T_PASSED + T_FAILED + T_SKIPPED)) "$1"
}
# fail DESCRIPTION [WHY...]: each WHY (lines) is printed under it, indented
fail() {
	local d=$1 n
	shift
	T_FAILED=$((T_FAILED + 1))
	n=$((T_PASSED + T_FAILED + T_SKIPPED))
	printf 'not ok %d - %s\n' "$n" "$d"
	T_FAILURES+=("$n - $d")
	(($#)) && printf '%s\n' "$@" | sed -e '/^$/d' -e 's/^/#   /'
	return 0
}
skip() {
	T_SKIPPED=$((T_SKIPPED + 1))
	printf 'ok %d # SKIP %s\n' $((T_PASSED + T_FAILED + T_SKIPPED)) "$1"
}

# check DESCRIPTION COMMAND...: COMMAND runs in this shell (what it sets
# stays set), its output kept aside: on failure it is the why, under the
# command line itself; on success only its notes ("# " lines) are shown.
# (The library's own locals are _t_*: a command sees the caller's names.)
check() {
	local _t_d=$1 _t_out _t_rc
	shift
	_t_out=$T_TMP/check.$BASH_SUBSHELL.${#FUNCNAME[@]}
	"$@" >"$_t_out" 2>&1
	_t_rc=$?
	if ((_t_rc == 0)); then
		grep '^# ' "$_t_out"
		ok "$_t_d"
	else
		fail "$_t_d" "\$ $(t_cmdline "$@")  (exit $_t_rc)" "$(tail -n 40 "$_t_out")"
	fi
	rm -f "$_t_out"
	return $_t_rc
}
# a command line as it could be typed again, cut at 300 characters
t_cmdline() {
	local w s=
	for w; do
		if [[ $w =~ ^[][A-Za-z0-9_./:=,+@%^!-]+$ ]]; then s+="$w "; else s+="${w@Q} "; fi
	done
	((${#s} > 300)) && s="${s:0:300}..."
	printf '%s' "$s"
}

need() {
	local c missing=()
	for c; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	((${#missing[@]} == 0)) || bail_out "missing prerequisite: ${missing[*]} (make deps)"
}

bail_out() {
	fail "$@"
	printf 'Bail out! %s\n' "$1"
	test_done
}

test_done() {
	T_DONE=1
	printf '1..%d\n' $((T_PASSED + T_FAILED + T_SKIPPED))
	note "$T_SUITE: $T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped ($((SECONDS - T_T0)) s)"
	local f
	for f in "${T_FAILURES[@]}"; do
		note "failed: $f"
	done
	((T_FAILED == 0)) || exit 1
	if ((T_SKIPPED)) && [[ ${TEST_ALLOW_SKIP:-0} != 1 ]]; then
		note "a skip fails the suite (TEST_ALLOW_SKIP=1 accepts skips in a partial run)"
		exit 1
	fi
	exit 0
}

t_exit() {
	local rc=$1
	t_run_at_exit
	if ((!T_DONE)); then
		note "$T_SUITE ended before test_done (exit $rc) after $T_PASSED passed, $T_FAILED failed"
		exit $((rc ? rc : 1))
	fi
}
trap 't_exit $?' EXIT
