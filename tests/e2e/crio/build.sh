#!/usr/bin/env bash
# Build CRI-O (github.com/cri-o/cri-o) from its Go module: crio, and pinns
# (C, in the same module source), for the CRI-O node image variant and the
# real-daemon checks of produced CRI-O configs. Test harness only. On the node
# they run with Debian's conmon (2.1.6: has every flag CRI-O 1.34 passes,
# --sync and --log-global-size-max included), runc and CNI plugins.
#
# v1.34.0 is the only CRI-O version the Go module proxy serves here (v1.32.0,
# v1.33.0 and v1.34.2 are refused). The module has no replace directives, so it
# builds in the module cache as its own main module with its own go.sum.
#
# crio is built with cgo, linked against Debian's libc and libseccomp (from
# libseccomp-dev, in `make deps`; the nodes have libseccomp2 as runc does).
# Build tags:
#   seccomp                      real seccomp support: without it CRI-O runs every
#                                container unconfined and ignores RuntimeDefault
#   containers_image_openpgp     signature checks in pure Go, not via libgpgme
#   containers_image_ostree_stub no libostree (upstream's default too)
#   exclude_graphdriver_btrfs    no btrfs storage driver, hence no libbtrfs
#   btrfs_noversion              headers; the nodes use overlay on ext4
# Left out on purpose: apparmor and selinux (neither LSM is active on this
# machine; no libapparmor/libselinux), libsubid (no user-namespace ID ranges
# here; no libsubid). SQLite (the image blob-info cache) is compiled in by
# go-sqlite3, so the nodes need no libsqlite3.
#
# pinns: built with Debian's gcc as its Makefile does (static, -Os, -Werror).
#
# Output: $RS_CACHE/runtimes/crio-<version>-<key>/{crio,pinns,BUILDINFO},
# linked as $RS_CACHE/runtimes/crio.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
. "$E2E_DIR/cluster/gomod-build.sh"

CRIO_MODULE=github.com/cri-o/cri-o
CRIO_VERSION=v1.34.0
TAGS="seccomp containers_image_openpgp containers_image_ostree_stub exclude_graphdriver_btrfs btrfs_noversion"

main() {
	require_cmd go gcc strip sha256sum flock pkg-config
	pkg-config --exists libseccomp || die "libseccomp-dev is not installed (make deps)"
	# The C side enters the key too: libseccomp's version and gcc's.
	local seccomp gcc_version
	seccomp=$(pkg-config --modversion libseccomp)
	gcc_version=$(gcc -dumpfullversion)
	runtime_begin crio "$CRIO_MODULE" "$CRIO_VERSION" "libseccomp $seccomp" "gcc $gcc_version"
	[[ -n $RUNTIME_TMP ]] || return 0
	# buildDate: the release's commit time (reproducible), as `crio version` shows it.
	GO_LDFLAGS="-s -w -X $CRIO_MODULE/internal/version.buildDate=$GOMOD_TIME"
	GO_TAGS=$TAGS CGO_ENABLED=1 runtime_go_build "$RUNTIME_TMP/crio" ./cmd/crio
	gcc -std=c99 -Os -Wall -Wextra -Werror -static -o "$RUNTIME_TMP/pinns" "$GOMOD_DIR"/pinns/src/*.c
	strip -s "$RUNTIME_TMP/pinns"
	"$RUNTIME_TMP/crio" --version >/dev/null || die "the built crio does not run"
	printf '%s\n' "cgo=1 (libc, libseccomp $seccomp)" "tags=$TAGS" "pinns=gcc $gcc_version -static" \
		>>"$RUNTIME_TMP/BUILDINFO"
	runtime_publish
}

main "$@"
