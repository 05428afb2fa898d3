# A node rebooted in the middle of a switch (issue 11): tests/e2e/test_reboot.sh
# on the real cluster (brought up under the e2e lock when it is not).
#   make test-reboot                   the lean subset (4 cases; in make test)
#   make test-reboot REBOOT_CASES=all  every step of the switch's plan, and a
#                                      reboot in the rollback of a failing switch
#   make test-reboot REBOOT_CASES="stop-source wait-kubelet"   any steps, in order

.PHONY: test-reboot

CATCH_STEP := $(BUILD)/e2e/catch-step
$(CATCH_STEP): tests/e2e/reboot/catch_step.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

REBOOT_CASES ?=
test-reboot: $(PLUGIN) $(CATCH_STEP) cluster-build
	PLUGIN=$(abspath $(PLUGIN)) CATCH_STEP=$(abspath $(CATCH_STEP)) tests/e2e/test_reboot.sh $(REBOOT_CASES)

TEST_TARGETS += test-reboot
