# The rollout over many nodes (issue 12).
#
#   make test-fleet-e2e the rollout on a 4-node cluster (node-1, node-3,
#                      node-4 Docker, node-2 containerd; brought up under the
#                      e2e lock, the default cluster brought back at the end):
#                      plan, a failure that halts, a rollout killed and resumed,
#                      a second rollout refused, a budget's floor (make test)
#   make bench-fleet   the rollout's plan over 5,000 fake nodes on a private
#                      API server (no cluster, no lock): wall, CPU, peak RSS
#                      (BENCH_FLEET_ARGS="N RUNS", default "5000 5")
#   make bench-fleet-rollout   three Docker nodes as one rollout against three
#                      sequential node runs on the 4-node cluster (under the e2e
#                      lock), alternating: wall, CPU, peak RSS and their ratios
#                      (BENCH_FLEET_ROUNDS, default 1)
#   make bench-rollout-rss   where a rollout's memory goes, without the cluster:
#                      peak RSS of one switch against a three-node rollout, the
#                      switch fake over HTTPS, alternating (BENCH_RSS_RUNS,
#                      default 3; ENV_RUN=... tries an allocator setting)

.PHONY: test-fleet-e2e bench-fleet bench-fleet-rollout bench-rollout-rss

FLEET_NODES := node-1:docker node-2:containerd node-3:docker@zone-b node-4:docker@zone-b
test-fleet-e2e: $(PLUGIN) cluster-build
	NODES="$(FLEET_NODES)" tests/e2e/cluster.sh build
	FLEET_NODES="$(FLEET_NODES)" tests/e2e/test_fleet.sh $(abspath $(PLUGIN))

TEST_TARGETS += test-fleet-e2e

BENCH_FLEET_ARGS ?=
bench-fleet: cluster-build
	$(MAKE) --no-print-directory VARIANT=release all build/release/bench/bench_nodes build/release/bench/usage
	tests/bench/fleet_plan.sh $(abspath build/release/kubectl-runtime_switch) $(BENCH_FLEET_ARGS)

BENCH_FLEET_ROUNDS ?= 1
bench-fleet-rollout: $(PLUGIN) $(BUILD)/bench/usage cluster-build
	NODES="$(FLEET_NODES)" tests/e2e/cluster.sh build
	USAGE=$(abspath $(BUILD)/bench/usage) FLEET_NODES="$(FLEET_NODES)" \
	  tests/bench/fleet_rollout.sh $(abspath $(PLUGIN)) $(BENCH_FLEET_ROUNDS)

BENCH_RSS_RUNS ?= 3
bench-rollout-rss:
	$(MAKE) --no-print-directory VARIANT=release all build/release/bench/usage
	tests/fakes/gen-certs.sh build/release/tls
	tests/bench/rollout_rss.sh $(abspath build/release/kubectl-runtime_switch) $(abspath build/release/bench/usage) \
	  $(abspath build/release/tls) $(BENCH_RSS_RUNS)
