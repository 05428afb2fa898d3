#!/usr/bin/env bash
# make demo's last part: the local cluster before, the real switch of
# node-1 from Docker to containerd with its live progress, the cluster after
# (under the e2e lock, as the suites).
cd "$(dirname "$0")/../../.." || exit 1
source tests/lib/common.sh
source tests/lib/e2e.sh
source tests/e2e/switch/lib.sh
e2e_begin || exit 1
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

if [[ $(runtime_of) != docker://* ]]; then
	say "node-1 is not on Docker (an earlier demo?): resetting it to the seeded state"
	restore_seeded
fi
say "Before: two nodes, node-1 on Docker (cri-dockerd), node-2 on containerd"
show kubectl get nodes -o wide
show kubectl get pods -n demo -o wide
say "The switch, through kubectl (the plugin is on PATH as kubectl-runtime_switch)"
printf '$ kubectl runtime-switch node node-1 --to containerd --yes --force --delete-emptydir-data\n'
PATH="$BIN:$PATH" kubectl runtime-switch node node-1 --to containerd --yes --force --delete-emptydir-data
rc=$?
say "After"
show kubectl get nodes -o wide
show kubectl get pods -n demo -o wide
restore_bare_pod
say "node-1 switched (exit $rc). Back to Docker: kubectl runtime-switch node node-1 --to cri-dockerd --yes --force --delete-emptydir-data"
exit $rc
