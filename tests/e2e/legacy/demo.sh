#!/usr/bin/env bash
# make demo-legacy's last part: the legacy cluster (control plane v1.24.17,
# kubelets v1.23.17, node-1 on Docker through dockershim) before; the kubelet
# upgrade to v1.24.17 tried on node-1 as it is, and failing; the real switch
# of node-1 to containerd with its live progress; the same upgrade again,
# now Ready; the cluster after. Under the e2e lock, as the suites; the legacy
# cluster stays up afterwards (make test and make demo bring up the default
# one themselves).
cd "$(dirname "$0")/../../.." || exit 1
export CLUSTER=legacy
source tests/lib/common.sh
source tests/lib/e2e.sh
source tests/e2e/switch/lib.sh
source tests/e2e/legacy/lib.sh
source tests/e2e/legacy/node.sh
KUBECTL=/usr/lib/google-cloud-sdk/bin/kubectl.1.27
e2e_begin || exit 1
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
kubectl() { "$KUBECTL" "$@"; }

if [[ $(runtime_of) != docker://* || $(kubelet_version) != v1.23.17 ]]; then
	say "node-1 is not the seeded dockershim node (an earlier demo?): resetting it"
	cluster reset-node "$NODE" >/dev/null || exit 1
fi
say "Before: the control plane at v1.24.17, both kubelets at v1.23.17; node-1 on Docker through dockershim"
show kubectl get nodes -o wide
PATH="$BIN:$PATH" show kubectl runtime-switch status
say "The kubelet upgrade to v1.24.17 on node-1 as it is (what \`kubeadm upgrade node\` and the new kubelet package do)"
install_kubelet "$LEGACY_KBIN"
wait_until 60 "the kubelet to refuse" kubelet_refuses && kubelet_refuses | sed 's/^# //'
say "It cannot start: dockershim is gone in 1.24. Back to v1.23.17, then switch the runtime first"
t0=$(now)
install_kubelet "$LEGACY_KUBELET" && wait_until 90 "node-1 Ready" ready_since "$t0" || exit 1
printf '$ kubectl runtime-switch node node-1 --to containerd --yes --force --delete-emptydir-data\n'
PATH="$BIN:$PATH" /usr/bin/kubectl runtime-switch node node-1 --to containerd --yes --force --delete-emptydir-data || exit
say "The same kubelet upgrade to v1.24.17 on the switched node-1"
t0=$(now)
install_kubelet "$LEGACY_KBIN"
wait_until 120 "node-1 Ready on v1.24.17" ready_since "$t0" || exit 1
say "After: node-1 on containerd with kubelet v1.24.17"
show kubectl get nodes -o wide
restore_bare_pod
show kubectl get pods -n demo -o wide
