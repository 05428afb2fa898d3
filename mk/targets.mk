# The switch's targets on real daemons (issue 14): containerd 2.x and CRI-O,
# built from their Go modules (make runtimes-build), each on a Docker node of
# its own (node kinds docker-containerd2, docker-crio; variant images over
# the base node image, tests/e2e/node/build-variant.sh).
#   make test-targets   tests/e2e/test_targets.sh under the e2e lock: a
#                       cluster of those two nodes, on each a switch to its
#                       target, a reboot, the way back to cri-dockerd; the
#                       cluster left as found (the default set up again if
#                       it was up). TARGETS_CASES="containerd2" or "crio"
#                       for one of them. In make test last (TEST_LATE in
#                       the Makefile), after test-legacy has left the
#                       cluster down: it leaves it down too.

.PHONY: test-targets

TARGETS_CASES ?=
test-targets: $(PLUGIN) runtimes-build
	PLUGIN=$(abspath $(PLUGIN)) tests/e2e/test_targets.sh $(TARGETS_CASES)

TEST_TARGETS += test-targets
