# The node helper (src/helper): a static musl program per architecture,
# embedded into the plugin, plus its unit tests, fuzz targets and the
# fixture / real-containerd / kill-matrix tests (make test-helper).

HELPER_OUT := build/helper
HELPER_BINS := amd64=$(HELPER_OUT)/amd64/rs-node-helper arm64=$(HELPER_OUT)/arm64/rs-node-helper
# The cap on each static helper: it travels base64-encoded in one ConfigMap
# (the API server's limit: 1 MiB for the whole object), so 384 KiB is 512 KiB
# on the wire, half the limit. Crossing it should be a decision, not drift.
HELPER_MAX_BYTES := 393216

HELPER_ALL_SRC := $(wildcard src/helper/*.c)
HELPER_LIB_SRC := $(filter-out src/helper/main.c,$(HELPER_ALL_SRC))
HELPER_LIB_OBJ := $(call obj,$(HELPER_LIB_SRC))
LIBHELPER := $(BUILD)/libhelper.a
# the helper uses src/common only; linking that (not all of libcore) keeps
# its tests independent of the plugin's layers
HELPER_COMMON_OBJ := $(call obj,$(COMMON_SRC))
HELPER_HEADERS := $(wildcard include/helper/*.h include/common/*.h)

# The top Makefile reads this file before it lists the generated blob
# sources, so HELPER_BINS above is all it needs to embed both binaries.
HELPER_BLOB_FILES := $(foreach s,$(HELPER_BINS),$(lastword $(subst =, ,$(s))))
TEST_TARGETS += test-helper

# ---- static release builds ----
HELPER_CFLAGS := -std=gnu11 -Os -D_GNU_SOURCE -Iinclude -DRS_VERSION='"$(VERSION)"' \
  $(WARNFLAGS) -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
HELPER_LDFLAGS := -static -s -Wl,--gc-sections
HELPER_STATIC_SRC := $(HELPER_ALL_SRC) $(COMMON_SRC)
CLANG_RT_DIR := $(shell clang -print-resource-dir 2>/dev/null)/lib/linux
ARM64_MUSL := /usr/lib/aarch64-linux-musl

define helper_size_check
	@sz=$$(stat -c %s $(1)); echo "helper $(1): $$sz bytes"; \
	if [ $$sz -gt $(HELPER_MAX_BYTES) ]; then echo "$(1) exceeds $(HELPER_MAX_BYTES) bytes" >&2; rm -f $(1); exit 1; fi
endef

$(HELPER_OUT)/amd64/rs-node-helper: $(HELPER_STATIC_SRC) $(HELPER_HEADERS)
	@mkdir -p $(dir $@)
	musl-gcc $(HELPER_CFLAGS) -o $@ $(HELPER_STATIC_SRC) $(HELPER_LDFLAGS)
	$(call helper_size_check,$@)

# arm64: clang cross-compiles against Debian's musl-dev:arm64 and links with
# lld and compiler-rt's aarch64 builtins (libclang-rt-14-dev:arm64).
$(HELPER_OUT)/arm64/rs-node-helper: $(HELPER_STATIC_SRC) $(HELPER_HEADERS)
	@mkdir -p $(dir $@)
	clang --target=aarch64-linux-musl $(HELPER_CFLAGS) -nostdinc \
	  -isystem /usr/include/aarch64-linux-musl -isystem $(CLANG_RT_DIR)/../../include \
	  -fuse-ld=lld -nostdlib -o $@ $(ARM64_MUSL)/crt1.o $(ARM64_MUSL)/crti.o \
	  $(HELPER_STATIC_SRC) $(HELPER_LDFLAGS) -L$(ARM64_MUSL) -lc \
	  $(CLANG_RT_DIR)/libclang_rt.builtins-aarch64.a $(ARM64_MUSL)/crtn.o
	$(call helper_size_check,$@)

.PHONY: helper helper-deps test-helper fuzz-helper
helper: $(HELPER_BLOB_FILES)

# ---- the editors as a library for criterion and the fuzz replays ----
$(LIBHELPER): $(HELPER_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# More specific than the top Makefile's $(BUILD)/tests/% rule.
$(BUILD)/tests/test_helper_%: tests/unit/test_helper_%.c $(LIBHELPER) $(HELPER_COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LDFLAGS) $(LIBHELPER) $(HELPER_COMMON_OBJ) $(CRITERION_LIBS)

HELPER_FUZZ := toml envfile kubelet_yaml daemon_json plan_json journal manifest systemctl_show \
  ctr_plugins crio_conf toml_values unit_env unit_exec docker_size
HELPER_FUZZ_REPLAY := $(patsubst %,$(BUILD)/fuzz/replay_%,$(HELPER_FUZZ))
$(HELPER_FUZZ_REPLAY): $(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c tests/fuzz/fuzz_shared.h $(LIBHELPER) $(HELPER_COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay_main.c $(LDFLAGS) $(LIBHELPER) $(HELPER_COMMON_OBJ)

# make fuzz-helper FUZZ=toml SECONDS=60: libFuzzer over one helper parser
fuzz-helper:
	@mkdir -p build/fuzz/corpus-$(FUZZ) tests/fuzz/corpus/$(FUZZ)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Iinclude -fsanitize=fuzzer,address,undefined \
	  -o build/fuzz/fuzz_$(FUZZ) tests/fuzz/fuzz_$(FUZZ).c $(HELPER_LIB_SRC) $(COMMON_SRC)
	build/fuzz/fuzz_$(FUZZ) -max_total_time=$(SECONDS) -artifact_prefix=tests/fuzz/corpus/$(FUZZ)/crash- \
	  build/fuzz/corpus-$(FUZZ) tests/fuzz/corpus/$(FUZZ) || true

# ---- make deps: arm64 musl for the cross build, containerd for the tests ----
deps: helper-deps
helper-deps:
	dpkg --add-architecture arm64
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	  musl-tools musl-dev clang lld musl-dev:arm64 libclang-rt-14-dev:arm64 libclang-rt-14-dev \
	  qemu-user-static containerd runc python3

# ---- fixtures, golden files, real daemons, kill matrix, arm64 ----
# The real daemons: Debian's containerd 1.6 and the containerd 2.x and
# CRI-O built by runtimes-build (mk/runtimes.mk; cached, warm < 1 s).
# Independent parts run HELPER_TEST_JOBS at a time (they mostly wait).
HELPER_TEST_JOBS ?= 2
test-helper: $(HELPER_BLOB_FILES) runtimes-build
	HELPER_TEST_JOBS=$(HELPER_TEST_JOBS) tests/helper/run.sh $(abspath $(HELPER_OUT)/amd64/rs-node-helper) $(abspath $(HELPER_OUT)/arm64/rs-node-helper)

-include $(HELPER_LIB_OBJ:.o=.d)
