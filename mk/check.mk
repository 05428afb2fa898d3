# kubectl runtime-switch check (src/ops/check*.c, plugin/cmd_check.c).
#   make fuzz FUZZ=check_conf|check_path   the collectors' configuration readers,
#                         the hostPath resolution (corpora replayed in make test)

# core code links the embedded helpers (ops/deliver.c, ops/check_preflight.c)
FUZZ_EXTRA_check_conf = $(GEN_SRC)
FUZZ_EXTRA_check_path = $(GEN_SRC)
