# The rollout over many nodes (issue 12): its benchmark.
#
#   make bench-fleet   the rollout's plan over 5,000 fake nodes on a private
#                      API server (no cluster, no lock): wall, CPU, peak RSS
#                      (BENCH_FLEET_ARGS="N RUNS", default "5000 5")
#
# The rollout itself against sequential `node` runs comes with the rollout
# engine (issue 12, part 2).

.PHONY: bench-fleet

BENCH_FLEET_ARGS ?=
bench-fleet: cluster-build
	$(MAKE) --no-print-directory VARIANT=release all build/release/bench/bench_nodes build/release/bench/usage
	tests/bench/fleet_plan.sh $(abspath build/release/kubectl-runtime_switch) $(BENCH_FLEET_ARGS)
