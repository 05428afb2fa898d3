# Cluster-access tests owned by the kube layer (included by the top Makefile).
#   make test-kube-oracle   kubeconfig resolution vs the real kubectl
#   make test-kube-kubectl  `kubectl runtime-switch status` through the real
#                           kubectl binary against a local HTTPS API, per auth method
#   make bench-status       status vs kubectl get nodes -o wide (needs the e2e cluster)
KUBE_TEST_PLUGIN = $(abspath build/release/kubectl-runtime_switch)

.PHONY: test-kube-oracle test-kube-kubectl bench-status
test-kube-oracle:
	$(MAKE) --no-print-directory VARIANT=release all
	python3 tests/kubeconfig/oracle.py $(KUBE_TEST_PLUGIN)

test-kube-kubectl:
	$(MAKE) --no-print-directory VARIANT=release all
	tests/tls/kubectl-status.sh $(KUBE_TEST_PLUGIN)

bench-status:
	$(MAKE) --no-print-directory VARIANT=release all
	tests/bench/status.sh $(KUBE_TEST_PLUGIN)

TEST_TARGETS += test-kube-oracle test-kube-kubectl
