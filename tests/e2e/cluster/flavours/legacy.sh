# Cluster flavour "legacy" (issue 13): a control plane as after `kubeadm
# upgrade apply` to v1.24.17 (etcd 3.5.4), with nodes still on kubelet v1.23.17:
# node-1 on Docker through the kubelet's built-in dockershim, node-2 on
# containerd. The binaries are tests/e2e/legacy/build.sh's (make legacy-build;
# their versions and quirks in tests/e2e/legacy/lib.sh); node-1's kind is
# tests/e2e/node/kinds/dockershim.sh. make test-legacy runs the suite on it.
FLAVOUR_DESCRIPTION="control plane v1.24.17 (etcd 3.5.4), kubelets v1.23.17"
FLAVOUR_VERSION=v1.24.17
FLAVOUR_NODES="node-1:dockershim node-2:containerd"
FLAVOUR_BUILD=(legacy/build.sh)
# The oldest kubectl on the machine (1.27); 1.24's own is not packaged.
FLAVOUR_KUBECTL=/usr/lib/google-cloud-sdk/bin/kubectl.1.27

FLAVOUR_ETCD=(legacy/kbin-1.24 etcd)
FLAVOUR_APISERVER=(legacy/kbin-1.24 apiserver)
FLAVOUR_CONTROLLER_MANAGER=(legacy/kbin-1.24 controller-manager)
FLAVOUR_SCHEDULER=(legacy/kbin-1.24 scheduler)
# Kubelet v1.23.17 (the last with dockershim) on every node, whatever its
# runtime; kbin-1.24 also runs as the v1.24.17 kubelet a node is upgraded to.
FLAVOUR_KUBELET[cri]="legacy/kubelet-1.23 v1.23.17"
FLAVOUR_KUBELET[dockershim]="legacy/kubelet-1.23 v1.23.17"

FLAVOUR_ETCD_FLAGS=(--unsafe-no-fsync --log-level warn)
# PodSecurity admission: beta (on by default) in 1.23 and 1.24.
FLAVOUR_APISERVER_FLAGS=(--enable-admission-plugins=NodeRestriction,PodSecurity)
FLAVOUR_CONTROLLER_MANAGER_FLAGS=()
# Leader election on (the last --leader-elect wins), as kubeadm runs it: with
# it off, the v1.24 scheduler ignores SIGTERM while its queue is empty
# (tests/e2e/legacy/lib.sh).
FLAVOUR_SCHEDULER_FLAGS=(--leader-elect=true)
