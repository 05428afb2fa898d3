# Release and installation: static release archives (make dist), the krew
# manifest, and the tests that install the plugin the way users do
# (test-krew), complete through kubectl (test-completion) and run with
# only the RBAC the repository ships (test-rbac).
#
#   make dist        dist/kubectl-runtime_switch_linux_{amd64,arm64}.tar.gz
#                    + .sha256, and the sha256 values in the krew manifest
#   make test-krew   validate-krew-manifest, kubectl krew install/uninstall

RS_CACHE ?= /var/cache/kubectl-runtime-switch
export RS_CACHE

DIST_ARCHES := amd64 arm64
DIST_ARCHIVES := $(foreach a,$(DIST_ARCHES),dist/kubectl-runtime_switch_linux_$(a).tar.gz)
DIST_FILES := LICENSE README.md
KREW_MANIFEST := krew-manifest/runtime-switch.yaml
KREW_URL_BASE ?= https://github.com/kubectl-runtime-switch/kubectl-runtime-switch/releases/download/v$(VERSION)
# Size first: the final static link drops every section nobody calls.
DIST_CFLAGS := -Os -ffunction-sections -fdata-sections
DIST_LDFLAGS := -static -s -Wl,--gc-sections

.PHONY: dist dist-deps dist-static distclean test-krew FORCE
FORCE:

dist: $(DIST_ARCHIVES)
	tools/dist/manifest-sha.sh $(KREW_MANIFEST) dist $(VERSION) $(KREW_URL_BASE)

# Only the static plugins, no archives: build/dist-<arch>/kubectl-runtime_switch
dist-static: $(foreach a,$(DIST_ARCHES),build/dist-$(a)/kubectl-runtime_switch)

dist/kubectl-runtime_switch_linux_%.tar.gz: build/dist-%/kubectl-runtime_switch $(DIST_FILES) tools/dist/archive.sh
	tools/dist/archive.sh $@ $< $(DIST_FILES)

# The static plugin for one architecture: the very rules and sources of
# `make`, run again by a sub-make in build/dist-<arch> with the musl
# compiler and the static libraries tools/dist/static-deps.sh keeps in
# $(RS_CACHE).  The sub-make decides what is out of date.
build/dist-%/kubectl-runtime_switch: FORCE
	@prefix=$$(tools/dist/static-deps.sh $*) && \
	pc="env PKG_CONFIG_LIBDIR=$$prefix/lib/pkgconfig PKG_CONFIG_PATH= pkg-config --static" && \
	$(MAKE) --no-print-directory VARIANT=release BUILD=build/dist-$* CC=$$prefix/cc \
	  CFLAGS="$(DIST_CFLAGS)" LDFLAGS="$(DIST_LDFLAGS)" \
	  PKG_CFLAGS="$$($$pc --cflags $(PKGS))" PKG_LIBS="$$($$pc --libs $(PKGS))" $@
	tools/dist/check-static.sh $* $@

dist-deps:
	tools/dist/deps.sh

deps: dist-deps

distclean: clean
	rm -rf dist

# ---- krew: the manifest validated and installed by krew itself ----
test-krew: dist
	tests/krew/run.sh $(KREW_MANIFEST) dist $(VERSION)
TEST_TARGETS += test-krew

# ---- completion: kubectl's __complete entry point and the shell scripts ----
.PHONY: test-completion
test-completion: $(PLUGIN)
	tests/completion/run.sh $(PLUGIN)
	$(MAKE) --no-print-directory VARIANT=asan build/asan/kubectl-runtime_switch
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 tests/completion/run.sh build/asan/kubectl-runtime_switch
TEST_TARGETS += test-completion

# ---- RBAC: every command as a user bound only to rbac/ (the real cluster) ----
#   RBAC_QUICK=1 one removed verb per command; RBAC_CASES="nodes:patch ..."
.PHONY: test-rbac
# After the cluster tests (mk/krew.mk is last in MK_ORDER); brings the
# cluster up if it is not, under the e2e lock (tests/lib/e2e.sh).
test-rbac: $(PLUGIN) cluster-build
	tests/rbac/run.sh $(PLUGIN)
TEST_TARGETS += test-rbac
