# The legacy cluster flavour's binaries (issue 13; tests/e2e/legacy/): the
# control plane as `kubeadm upgrade apply v1.24.17` leaves it (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet v1.24.17 and etcd 3.5.4 in
# one multi-call binary) and the v1.23.17 kubelet with its built-in dockershim,
# built from their Go modules and cached in $(RS_CACHE)/legacy.
#
#   make legacy-build   build both (cold: about 25 min of 2 cores; warm: 0.1 s)
#   make legacy-smoke   start etcd + the v1.24 control plane on loopback ports
#                       of their own in a scratch dir (never the e2e cluster's),
#                       check it works, stop it; check both kubelets' flags
#   make test-legacy    tests/e2e/test_legacy.sh: the legacy cluster (CLUSTER=legacy,
#                       node-1 on dockershim), node --to cri-dockerd, rollback,
#                       node --to containerd, the kubelet v1.24 upgrade on the
#                       switched node and its control on the unswitched one
#   make demo-legacy    deps, build, the legacy cluster, the kubelet v1.24 upgrade
#                       failing on the dockershim node, the switch to containerd,
#                       the same upgrade succeeding (about 3 min warm)

RS_CACHE ?= /var/cache/kubectl-runtime-switch
export RS_CACHE

.PHONY: legacy-build legacy-smoke test-legacy demo-legacy

legacy-build:
	tests/e2e/legacy/build.sh

legacy-smoke: legacy-build
	tests/e2e/legacy/smoke.sh

test-legacy: $(PLUGIN) legacy-build cluster-build
	PLUGIN=$(abspath $(PLUGIN)) tests/e2e/test_legacy.sh

TEST_TARGETS += test-legacy

demo-legacy:
	$(MAKE) deps
	$(MAKE) -j2 all
	tests/e2e/legacy/build.sh
	tests/e2e/cluster.sh build
	CLUSTER=legacy tests/e2e/cluster.sh up
	tests/e2e/legacy/demo.sh
