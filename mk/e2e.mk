# The real local Kubernetes cluster of the end-to-end tests and the demo
# (tests/e2e/cluster.sh): control plane on this machine, node-1 on Docker via
# cri-dockerd and node-2 on containerd, both systemd-nspawn nodes. Root only.
#
#   make cluster-build   kbin (k8s v1.34 + etcd 3.6), cri-dockerd, node image
#                        (all cached in $(RS_CACHE); a cold build takes minutes)
#   make cluster-up      start it; then: eval "$$(tests/e2e/cluster.sh env)"
#   make cluster-down    stop it, leaving nothing behind
#   make test-cluster    the cluster's own tests, under the e2e lock
#                        (tests/lib/e2e.sh): from a fresh cluster (one
#                        earlier suites used is taken down first), down, up
#                        again, a 4-node set with zones among them; they
#                        leave the default cluster up, seeded (node-1 on
#                        Docker).  First of the cluster suites in make test
#                        (MK_ORDER): the ones after it find the cluster up.
#
# NODES="NAME:KIND[@ZONE] ..." and CLUSTER=FLAVOUR (on the make command line
# or in the environment) choose another node set or flavour for cluster-build
# and cluster-up (tests/e2e/cluster.sh's header; kinds in
# tests/e2e/node/kinds/, flavours in tests/e2e/cluster/flavours/).

RS_CACHE ?= /var/cache/kubectl-runtime-switch
export RS_CACHE

.PHONY: cluster-build cluster-up cluster-down cluster-status test-cluster

cluster-build:
	tests/e2e/cluster.sh build

cluster-up: cluster-build
	tests/e2e/cluster.sh up

cluster-down:
	tests/e2e/cluster.sh down

cluster-status:
	tests/e2e/cluster.sh status

test-cluster: cluster-build
	tests/e2e/test_cluster.sh

TEST_TARGETS += test-cluster
