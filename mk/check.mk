# kubectl runtime-switch check (src/ops/check*.c, plugin/cmd_check.c).
#   make test-check-e2e   the report on the real cluster through the real kubectl
#                         (brought up under the e2e lock when it is not): seeds
#                         what it must find in a namespace of its own, then
#                         removes it (part of make test)
#   make fuzz FUZZ=check_conf|check_path   the collectors' configuration readers,
#                         the hostPath resolution (corpora replayed in make test)

.PHONY: test-check-e2e

# core code links the embedded helpers (ops/deliver.c, ops/check_preflight.c)

test-check-e2e: $(PLUGIN) cluster-build
	tests/e2e/test_check.sh $(abspath $(PLUGIN))

TEST_TARGETS += test-check-e2e
