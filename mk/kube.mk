# Cluster-access tests owned by the kube layer (included by the top Makefile).
#   make test-kube-oracle   kubeconfig resolution vs the real kubectl
#   make test-kube-kubectl  `kubectl runtime-switch status` through the real
#                           kubectl binary against a local HTTPS API, per auth method
#   make test-kube-real     the client (tests/kube/real_client.c) and `status`
#                           through the real kubectl against the real
#                           kube-apiserver of tests/e2e/cluster.sh (brought up
#                           if it is not, under the e2e lock: tests/lib/e2e.sh)
#   make bench-status       status and status -o wide vs kubectl get nodes
#                           -o wide over 5,000 Ready fake Nodes on a private
#                           API server (tests/bench/status.sh; no cluster, no
#                           lock); BENCH_STATUS_ARGS="N RUNS", default "5000 5"
KUBE_TEST_PLUGIN = $(abspath build/release/kubectl-runtime_switch)

.PHONY: test-kube-oracle test-kube-kubectl test-kube-real bench-status
test-kube-oracle:
	$(MAKE) --no-print-directory VARIANT=release all
	python3 tests/kubeconfig/oracle.py $(KUBE_TEST_PLUGIN)

test-kube-kubectl:
	$(MAKE) --no-print-directory VARIANT=release all
	tests/kube/kubectl-status.sh $(KUBE_TEST_PLUGIN)

# The client suite against the real API server, as a program of its own
# (not in tests/unit: it needs the cluster).  Built in every variant; the
# test runs the release and the ASan builds.
$(BUILD)/tests/kube/real_client: tests/kube/real_client.c $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LDFLAGS) $(LIBCORE) $(PKG_LIBS) $(CRITERION_LIBS)

$(BUILD)/bench/bench_nodes: tests/bench/bench_nodes.c $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LDFLAGS) $(LIBCORE) $(PKG_LIBS)

# the benchmarks' clock: a command's wall, user and system time to the
# microsecond, and its peak RSS (GNU time prints hundredths)
$(BUILD)/bench/usage: tests/bench/usage.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

# (the cluster's build is cached; it is only needed when the cluster is not up)
test-kube-real: cluster-build
	$(MAKE) --no-print-directory VARIANT=release all build/release/tests/kube/real_client
	$(MAKE) --no-print-directory VARIANT=asan build/asan/tests/kube/real_client
	tests/kube/real_apiserver.sh $(KUBE_TEST_PLUGIN) $(abspath build/release/tests/kube/real_client) \
	  $(abspath build/asan/tests/kube/real_client)

BENCH_STATUS_ARGS ?=
bench-status: cluster-build
	$(MAKE) --no-print-directory VARIANT=release all build/release/bench/bench_nodes build/release/bench/usage
	tests/bench/status.sh $(KUBE_TEST_PLUGIN) $(BENCH_STATUS_ARGS)

TEST_TARGETS += test-kube-oracle test-kube-kubectl test-kube-real
