# kubectl runtime-switch — one Makefile, several variants.
#   make                 build the plugin (build/release/kubectl-runtime_switch)
#   make deps            install every build and test dependency (apt-get)
#   make test            everything: unit tests (release, ASan, UBSan), fuzz
#                        corpus replay, helper tests, the real cluster tests
#   make install PREFIX=/usr/local
#   make VARIANT=asan|ubsan ...   sanitizer builds, each in build/<variant>
#                        (asan is ASan+UBSan together; ubsan alone stays for
#                        a quick look)
#   make demo            deps, build, the local real cluster, a real switch

VERSION := 0.1.0
PREFIX ?= /usr/local
VARIANT ?= release
BUILD := build/$(VARIANT)
CC ?= cc
HOST_CC ?= cc

ifeq ($(filter $(VARIANT),release asan ubsan),)
$(error VARIANT must be release, asan or ubsan (got '$(VARIANT)'))
endif

PKGS := libcurl jansson yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRITERION_LIBS := $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

CFLAGS ?= -O2 -g
WARNFLAGS := -Wall -Wextra -Wformat=2 -Werror=format-security -Wshadow \
             -Wstrict-prototypes -Wvla -Wno-unused-parameter
SAN_release :=
SAN_asan := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_ubsan := -fsanitize=undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override CFLAGS += -std=gnu11 $(WARNFLAGS) -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen \
                   -DRS_VERSION='"$(VERSION)"' -MMD -MP $(SAN_$(VARIANT))
override LDFLAGS += $(SAN_$(VARIANT))

COMMON_SRC := $(wildcard src/common/*.c)
CORE_SRC := $(COMMON_SRC) $(wildcard src/kube/*.c) $(wildcard src/ops/*.c)
PLUGIN_SRC := $(wildcard plugin/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
PLUGIN := $(BUILD)/kubectl-runtime_switch
LIBCORE := $(BUILD)/libcore.a

# Feature makefiles (each owns its targets and appends to TEST_TARGETS).
# They are read before the generated-source lists below, so what they set
# (HELPER_BINS: the node helper binaries to embed, as arch=path pairs) is
# seen by every rule.  make test runs their tests in this order (but
# TEST_LATE, below, last): test-cluster (mk/e2e.mk) starts from a fresh
# cluster and leaves it up, before the other suites that use it.
TEST_TARGETS :=
MK_ORDER := mk/helper.mk mk/targets.mk mk/e2e.mk mk/kube.mk mk/drain.mk mk/switch.mk mk/krew.mk
-include $(wildcard $(MK_ORDER)) $(filter-out $(MK_ORDER),$(wildcard mk/*.mk))

HELPER_BINS ?=
HELPER_ARCHES := $(foreach s,$(HELPER_BINS),$(firstword $(subst =, ,$(s))))
HELPER_FILES := $(foreach s,$(HELPER_BINS),$(lastword $(subst =, ,$(s))))
GEN_SRC := $(BUILD)/gen/helper_blobs.c $(foreach a,$(HELPER_ARCHES),$(BUILD)/gen/helper_$(a).c)

CORE_OBJ := $(call obj,$(CORE_SRC)) $(GEN_SRC:.c=.o)
PLUGIN_OBJ := $(call obj,$(PLUGIN_SRC))
# The plugin without main(), for the tests of its command line.
PLUGIN_LIB := $(BUILD)/libplugin.a
COMPLETE := $(BUILD)/kubectl_complete-runtime_switch
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_REPLAY := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz/replay_%,$(FUZZ_SRC))

.PHONY: all deps install uninstall test test-unit test-unit-all test-fuzz-replay \
        fuzz clean distclean lint demo
.DEFAULT_GOAL := all

all: $(PLUGIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tools/bin2c: tools/bin2c.c
	@mkdir -p $(dir $@)
	$(HOST_CC) -O2 -Wall -o $@ $<

$(GEN_SRC) &: $(HELPER_FILES) $(BUILD)/tools/bin2c tools/gen_blobs.sh
	tools/gen_blobs.sh $(BUILD)/tools/bin2c $(BUILD)/gen $(HELPER_BINS)

$(LIBCORE): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(PLUGIN_LIB): $(filter-out $(call obj,plugin/main.c),$(PLUGIN_OBJ))
	@rm -f $@
	ar rcs $@ $^

$(PLUGIN): $(PLUGIN_OBJ) $(LIBCORE)
	$(CC) $(LDFLAGS) -o $@ $(PLUGIN_OBJ) $(LIBCORE) $(PKG_LIBS)

# kubectl >= 1.26 calls this for completion; it is the plugin itself.
$(COMPLETE): $(PLUGIN)
	ln -sf kubectl-runtime_switch $@

install: $(PLUGIN)
	install -D -m 0755 $(PLUGIN) $(DESTDIR)$(PREFIX)/bin/kubectl-runtime_switch
	ln -sf kubectl-runtime_switch $(DESTDIR)$(PREFIX)/bin/kubectl_complete-runtime_switch

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/kubectl-runtime_switch \
	      $(DESTDIR)$(PREFIX)/bin/kubectl_complete-runtime_switch

# ---- unit tests (criterion), one program per module ----
$(BUILD)/tests/%: tests/unit/%.c $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests/unit -o $@ $< $(LDFLAGS) $(TEST_LIBS) $(LIBCORE) $(PKG_LIBS) $(CRITERION_LIBS)

# The command line's test and fuzz targets link the plugin itself.
$(BUILD)/tests/test_cli $(BUILD)/fuzz/replay_cli $(BUILD)/fuzz/replay_term: $(PLUGIN_LIB)
$(BUILD)/tests/test_cli $(BUILD)/fuzz/replay_cli $(BUILD)/fuzz/replay_term: TEST_LIBS := $(PLUGIN_LIB)

# Criterion's workers per suite: most tests wait on fake servers, timers and
# child processes rather than compute, so more than the 2 cores.
UNIT_JOBS ?= 6
test-unit: $(UNIT_BINS) $(PLUGIN)
	@set -e; for t in $(UNIT_BINS); do \
	  echo "== $$t ($(VARIANT))"; \
	  RS_TEST_PLUGIN=$(abspath $(PLUGIN)) RS_TEST_DATA=$(abspath tests/data) \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $$t --jobs $(UNIT_JOBS); done

test-unit-all:
	$(MAKE) --no-print-directory VARIANT=release test-unit
	$(MAKE) --no-print-directory VARIANT=asan test-unit

# ---- fuzz targets: replayed over their corpora in make test ----
$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< tests/fuzz/replay_main.c $(LDFLAGS) $(TEST_LIBS) $(LIBCORE) $(PKG_LIBS)

test-fuzz-replay:
	$(MAKE) --no-print-directory VARIANT=asan fuzz-replay-run

.PHONY: fuzz-replay-run
fuzz-replay-run: $(FUZZ_REPLAY)
	@set -e; for r in $(FUZZ_REPLAY); do \
	  n=$${r##*/replay_}; \
	  ASAN_OPTIONS=detect_leaks=1 $$r tests/fuzz/corpus/$$n; done

# make fuzz FUZZ=kubeconfig SECONDS=60: coverage-guided run with libFuzzer
# (its runtime, libclang_rt.fuzzer, comes with libclang-rt-14-dev: make deps)
FUZZ ?= kubeconfig
SECONDS ?= 60
# The core refers to the embedded helpers, so every target links $(GEN_SRC);
# FUZZ_EXTRA_<target> adds what else a target needs (the plugin's sources).
FUZZ_EXTRA_cli = $(filter-out plugin/main.c,$(PLUGIN_SRC))
FUZZ_EXTRA_term = $(FUZZ_EXTRA_cli)
fuzz: $(GEN_SRC) $(FUZZ_EXTRA_$(FUZZ))
	@mkdir -p build/fuzz build/fuzz/corpus-$(FUZZ) tests/fuzz/corpus/$(FUZZ)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen -DRS_VERSION='"$(VERSION)"' \
	  -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) -o build/fuzz/fuzz_$(FUZZ) tests/fuzz/fuzz_$(FUZZ).c \
	  $(CORE_SRC) $(GEN_SRC) $(FUZZ_EXTRA_$(FUZZ)) $(PKG_LIBS)
	build/fuzz/fuzz_$(FUZZ) -max_total_time=$(SECONDS) -artifact_prefix=tests/fuzz/corpus/$(FUZZ)/crash- \
	  build/fuzz/corpus-$(FUZZ) tests/fuzz/corpus/$(FUZZ)

# ---- dependencies ----
APT_PACKAGES := gcc make pkg-config libcurl4-openssl-dev libjansson-dev libyaml-dev \
  libcriterion-dev musl-tools clang llvm lld valgrind xxd jq curl ca-certificates \
  openssl iproute2 iptables bridge-utils debootstrap systemd-container \
  busybox-static qemu-user-static binfmt-support rsync libc6-dev procps util-linux python3 \
  libseccomp-dev conmon libclang-rt-14-dev zsh
deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	  $(APT_PACKAGES)

lint:
	@! grep -nE '\b(sprintf|strcpy|strcat|atoi|atol|popen|system|gets)\s*\(' \
	  $(CORE_SRC) $(PLUGIN_SRC) $(wildcard src/helper/*.c) || \
	  (echo "lint: banned function above" >&2; exit 1)

clean:
	rm -rf build


# make test: the unit suites under release, ASan and UBSan, the fuzz corpora,
# then every feature's tests in MK_ORDER. Once the plugin is built,
# tools/ci/prebuild.sh starts what needs no cluster in the background (nice,
# idle I/O): the cluster's build, the long builds only the late suites need
# (containerd 2.x and CRI-O, crictl, the legacy kubelets, the static release
# archives) and TEST_BACKGROUND; it runs behind the cluster suites, which
# mostly wait on the cluster. `prebuild-wait` waits for it, prints
# TEST_BACKGROUND's output and fails when any of it failed; TEST_LATE, which
# needs its builds, runs after that, in this order (test-legacy and
# test-targets each bring up a cluster of their own and leave it down).
# Each target's time is printed as it ends, and all of them at the end;
# a target stopped at TEST_TARGET_TIMEOUT says so.
# However make test ends (a failure, Ctrl-C, a TERM), the background part is
# stopped with it (sh runs no EXIT trap for a signal it does not trap).
TEST_TARGETS := test-unit-all test-fuzz-replay $(TEST_TARGETS)
TEST_BACKGROUND := test-helper
TEST_LATE := test-krew test-legacy test-targets
ifneq ($(filter-out $(TEST_TARGETS),$(TEST_LATE) $(TEST_BACKGROUND)),)
$(error TEST_LATE or TEST_BACKGROUND names what no mk/*.mk adds to TEST_TARGETS)
endif
# No target may take longer than this (s): a hang fails its target with
# its output so far, not the whole run at CI's limit. The longest target
# takes about 7 min (test-e2e). `timeout` runs each target in a process
# group of its own, ended whole (TERM, KILL 60 s later); Ctrl-C or a TERM
# to make test ends that group too.
TEST_TARGET_TIMEOUT ?= 1200
TEST_ORDER := $(filter-out $(TEST_LATE) $(TEST_BACKGROUND),$(TEST_TARGETS)) prebuild-wait $(TEST_LATE)
test:
	@set -e; mkdir -p build; : >build/test-times; t00=$$(date +%s); \
	  trap 'tools/ci/prebuild.sh stop; echo "== make test: $$(( $$(date +%s) - t00 )) s"; \
	        sed "s/^/==   /" build/test-times' EXIT; \
	  tp=; trap '[ -z "$$tp" ] || kill -TERM -$$tp 2>/dev/null; exit 129' HUP; \
	  trap '[ -z "$$tp" ] || kill -TERM -$$tp 2>/dev/null; exit 130' INT; \
	  trap '[ -z "$$tp" ] || kill -TERM -$$tp 2>/dev/null; exit 143' TERM; \
	  echo "== make all"; $(MAKE) --no-print-directory all; tools/ci/prebuild.sh start; \
	  for t in $(TEST_ORDER); do \
	    echo "== make $$t"; s=$$(date +%s); \
	    rc=0; if [ $$t = prebuild-wait ]; then tools/ci/prebuild.sh wait || rc=$$?; \
	    else timeout -k 60 $(TEST_TARGET_TIMEOUT) $(MAKE) --no-print-directory $$t </dev/null & \
	      tp=$$!; wait $$tp || rc=$$?; tp=; fi; \
	    echo "$$t $$(( $$(date +%s) - s )) s" | tee -a build/test-times | sed 's/^/== took: /'; \
	    if [ $$rc = 124 ]; then echo "== $$t: stopped after $(TEST_TARGET_TIMEOUT) s (TEST_TARGET_TIMEOUT)" >&2; fi; \
	    [ $$rc = 0 ] || exit $$rc; \
	  done

-include $(CORE_OBJ:.o=.d) $(PLUGIN_OBJ:.o=.d) $(UNIT_BINS:=.d)
