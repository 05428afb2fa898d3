# What every shell script of the tests shares, suites and benchmarks alike
# (sourced; test harness only).  The suites source tests/lib/test-lib.sh,
# which adds the checks and the summary on top of this.
#
#   RS_ROOT                       the repository
#   note TEXT                     "# TEXT": a remark between the results
#   wait_until SECONDS WHAT CMD   run CMD every half second until it succeeds
#   not CMD / matches STRING GLOB small predicates for checks
#   at_exit SHELL-CODE            run at exit (also on Ctrl-C), last first
#   T_TMP                         a scratch directory removed at exit
#   write_kubeconfig FILE ...     a kubeconfig of one cluster, user, context
#
# No `set -e`: a suite goes on after a failing check; a step without which
# the rest means nothing says so (bail_out in test-lib.sh, exit in a
# benchmark).

set -uo pipefail
RS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rs-test.XXXXXX")
T_AT_EXIT=()

note() { # every line of it
	local l
	while IFS= read -r l; do printf '# %s\n' "$l"; done <<<"$*"
}
not() { ! "$@"; }
matches() { [[ $1 == $2 ]]; } # matches STRING GLOB

# wait_until SECONDS WHAT COMMAND...: COMMAND again every half second
# (its output discarded) until it succeeds; after SECONDS once more with
# its output, and a note naming WHAT was waited for when that fails too.
wait_until() {
	local _t_secs=$1 _t_what=$2 _t_end
	shift 2
	_t_end=$((SECONDS + _t_secs))
	while ((SECONDS < _t_end)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	"$@" && return 0
	note "waited $_t_secs s for $_t_what, in vain"
	return 1
}

# write_kubeconfig FILE SERVER CLUSTER-YAML USER-YAML [NAMESPACE]: a
# kubeconfig (mode 600) with the cluster "c" at SERVER, the user "u" and
# the current context "t" of both; CLUSTER-YAML and USER-YAML are the
# lines under cluster: and user: (indented here; no USER-YAML: no
# credentials).  Other contexts may be appended: they come last.
write_kubeconfig() {
	{
		printf 'apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: c\n  cluster:\n    server: %s\n' "$2"
		[[ -z $3 ]] || sed 's/^/    /' <<<"$3"
		if [[ -n $4 ]]; then
			printf 'users:\n- name: u\n  user:\n'
			sed 's/^/    /' <<<"$4"
		else
			printf 'users:\n- name: u\n  user: {}\n'
		fi
		printf 'contexts:\n- name: t\n  context: {cluster: c, user: u%s}\n' "${5:+, namespace: $5}"
	} >"$1"
	chmod 600 "$1"
}

# at_exit SHELL-CODE: cleanups run at exit, the last registered first,
# then T_TMP removed.  Ctrl-C and SIGTERM exit (130) through them too.
at_exit() { T_AT_EXIT+=("$1"); }
t_run_at_exit() {
	local _t_i
	for ((_t_i = ${#T_AT_EXIT[@]} - 1; _t_i >= 0; _t_i--)); do
		eval "${T_AT_EXIT[_t_i]}"
	done
	T_AT_EXIT=()
	rm -rf "$T_TMP"
}
trap t_run_at_exit EXIT
trap 'exit 130' INT TERM
