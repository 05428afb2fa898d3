# Versions and cache paths of the legacy e2e cluster flavour (sourced, not run).
# Test harness only: nothing here is product behaviour.
#
# The legacy flavour is a cluster as it stands just before and after
# `kubeadm upgrade apply v1.24`: a control plane at v1.24.17 with etcd 3.5, and
# nodes whose kubelets are still v1.23.17 with the built-in dockershim.
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

LEGACY_DIR=$E2E_DIR/legacy
# Control plane and the upgraded kubelet: one multi-call binary (v1.24/).
LEGACY_CP_VERSION=v1.24.17
# The newest etcd 3.5 that builds beside kube-apiserver v1.24 in one binary
# (see build.sh); what kubeadm 1.24 deployed was 3.5.3 to 3.5.6.
LEGACY_ETCD_VERSION=v3.5.4
# The node kubelet with dockershim (v1.23/).
LEGACY_KUBELET_VERSION=v1.23.17

# Outputs (links to the content-keyed files next to them). How the components
# differ from the 1.34 cluster's (tests/e2e/cluster.sh), as seen by smoke.sh:
#  - kube-scheduler v1.24 with --leader-elect=false ignores SIGTERM while it has
#    nothing to schedule; run it with leader election, as kubeadm does.
#  - kube-apiserver v1.24 takes ~10 s to stop when it advertises 127.0.0.1
#    (its endpoint reconciler times out removing a loopback endpoint).
#  - kubelet v1.23: --container-runtime=docker (its default) with
#    --network-plugin=cni [--cni-bin-dir=...] and --pod-infra-container-image
#    (default registry.k8s.io/pause:3.6); remote runtimes need
#    --container-runtime=remote --container-runtime-endpoint=... (flags only:
#    KubeletConfiguration's containerRuntimeEndpoint came with 1.27).
#  - kubelet v1.24: only --container-runtime=remote; =docker fails with
#    'Error: failed to validate kubelet flags: unsupported CRI runtime: "docker",
#    only "remote" is currently supported', and kubeadm 1.23's
#    --network-plugin=cni with 'Error: failed to parse kubelet flag: unknown
#    flag: --network-plugin' (exit 1, before touching anything).
LEGACY_CACHE=$RS_CACHE/legacy
LEGACY_KBIN=$LEGACY_CACHE/kbin-1.24
LEGACY_KUBELET=$LEGACY_CACHE/kubelet-1.23
