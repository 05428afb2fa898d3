# The legacy cluster flavour's binaries (issue 13; tests/e2e/legacy/): the
# control plane as `kubeadm upgrade apply v1.24.17` leaves it (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet v1.24.17 and etcd 3.5.4 in
# one multi-call binary) and the v1.23.17 kubelet with its built-in dockershim,
# built from their Go modules and cached in $(RS_CACHE)/legacy. Not part of
# `make test` yet.
#
#   make legacy-build   build both (cold: about 25 min of 2 cores; warm: 0.1 s)
#   make legacy-smoke   start etcd + the v1.24 control plane on loopback ports
#                       of their own in a scratch dir (never the e2e cluster's),
#                       check it works, stop it; check both kubelets' flags

RS_CACHE ?= /var/cache/kubectl-runtime-switch
export RS_CACHE

.PHONY: legacy-build legacy-smoke

legacy-build:
	tests/e2e/legacy/build.sh

legacy-smoke: legacy-build
	tests/e2e/legacy/smoke.sh
