# cordon / uncordon / drain (ops/drain, plugin/cmd_drain.c).
#   make test-drain        the drain unit tests (release, ASan, UBSan) and
#                          the fuzz corpus of its parsers
#   make test-drain-e2e    every case on the real cluster (brought up if it is
#                          not), side by side with kubectl, under the e2e lock
#                          (tests/lib/e2e.sh; about 3 min);
#                          DRAIN_CASES="pdb_timeout faults" for a subset
#   make test-drain-fault  the fault-injection cases only (tests/fakes/faultproxy.py)
#   make bench-drain       plugin vs kubectl drain, N=30 and 100 (BENCH_ARGS="-r 5 30 100");
#                          starts as the suites do
# The unit tests already run in test-unit-all (tests/unit/test_drain.c) and
# the corpus in test-fuzz-replay (tests/fuzz/fuzz_drain.c); the fault cases
# are part of test-drain-e2e.

.PHONY: test-drain test-drain-e2e test-drain-fault bench-drain

test-drain:
	@set -e; for v in release asan; do \
	  $(MAKE) --no-print-directory VARIANT=$$v build/$$v/tests/test_drain; \
	  echo "== build/$$v/tests/test_drain"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    build/$$v/tests/test_drain --jobs 2; done
	$(MAKE) --no-print-directory VARIANT=asan build/asan/fuzz/replay_drain
	ASAN_OPTIONS=detect_leaks=1 build/asan/fuzz/replay_drain tests/fuzz/corpus/drain

DRAIN_CASES ?=
test-drain-e2e: $(PLUGIN) cluster-build
	$(MAKE) --no-print-directory VARIANT=asan build/asan/kubectl-runtime_switch
	tests/e2e/test_drain.sh $(DRAIN_CASES)

test-drain-fault: $(PLUGIN) cluster-build
	tests/e2e/test_drain.sh faults

BENCH_ARGS ?=
bench-drain: $(PLUGIN) $(BUILD)/bench/usage cluster-build
	USAGE=$(abspath $(BUILD)/bench/usage) tests/bench/drain_bench.sh $(BENCH_ARGS)

TEST_TARGETS += test-drain-e2e
