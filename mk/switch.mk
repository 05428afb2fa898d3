# kubectl runtime-switch node / rollback node (src/ops/switch*.c, deliver.c, carrier.c,
# plugin/cmd_node.c, plugin/cmd_rollback.c).
#   make test-switch   the switch's unit tests under release, ASan and UBSan
#                      (they also run in test-unit-all)
#   make test-e2e      the switch on the real cluster (brought up if it is not),
#                      through the real kubectl, under the e2e lock (tests/lib/e2e.sh);
#                      SWITCH_CASES="switch failure" for a subset
#                      (part of make test, after test-drain-e2e)
#   make bench-switch  phase times, NotReady window, plugin CPU and peak RSS (ROUNDS=2);
#                      starts as the suites do
#   make demo          deps, build, the local cluster, the real switch with live progress

.PHONY: test-switch test-e2e bench-switch demo

test-switch:
	@set -e; for v in release asan; do \
	  $(MAKE) --no-print-directory VARIANT=$$v build/$$v/tests/test_carrier build/$$v/tests/test_deliver build/$$v/tests/test_switch build/$$v/tests/test_switch_flow build/$$v/tests/test_switch_lock; \
	  for t in carrier deliver switch switch_flow switch_lock; do echo "== build/$$v/tests/test_$$t"; \
	    RS_TEST_DATA=$(abspath tests/data) ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 build/$$v/tests/test_$$t --jobs 2; done; done

SWITCH_CASES ?=
test-e2e: $(PLUGIN) cluster-build
	tests/e2e/test_switch.sh $(SWITCH_CASES)

TEST_TARGETS += test-e2e

ROUNDS ?= 2
bench-switch: $(PLUGIN) $(BUILD)/bench/usage cluster-build
	USAGE=$(abspath $(BUILD)/bench/usage) tests/bench/switch_bench.sh $(ROUNDS)

demo:
	$(MAKE) deps
	$(MAKE) -j2 all
	tests/e2e/cluster.sh build
	tests/e2e/cluster.sh up
	tests/e2e/switch/demo.sh
