#!/usr/bin/env bash
# Build containerd 2.x (github.com/containerd/containerd/v2) from its Go module:
# the containerd, ctr and containerd-shim-runc-v2 commands, for the node image
# variant in the shape of Docker's containerd.io 2.x package and for the
# real-daemon checks of config version 3. Test harness only.
#
# v2.4.2 is the newest version the Go module proxy serves here (its list:
# 2.0.13 ... 2.4.2). The module has no replace directives, so it builds in the
# module cache as its own main module with its own go.sum.
#
# All three are static (CGO_ENABLED=0): nothing in them needs C but the btrfs
# snapshotter, which is left out. Build tags:
#   no_btrfs no_devmapper no_zfs  snapshotters for btrfs volumes, a device-mapper
#                                 thin pool or a ZFS dataset: the nodes store
#                                 images with overlayfs on ext4, and btrfs alone
#                                 would need cgo and libbtrfs headers
#   urfave_cli_no_docs            as upstream's Makefile (no man-page generator)
#   no_grpc (shim only)           as upstream's Makefile: the shim speaks ttrpc
# CRI, the runc v2 shim, overlayfs, NRI and tracing stay as upstream builds them.
#
# Debian's Docker 20.10.24 runs on it as its containerd (tried in a node from
# the cached node image, containerd.io's config.toml: docker load, run, exec,
# logs, pause, stats, privileged, a containerd restart under a running
# container): it only needs the runc v2 shim, which 2.x keeps.
#
# Output: $RS_CACHE/runtimes/containerd2-<version>-<key>/{containerd,ctr,
# containerd-shim-runc-v2,BUILDINFO}, linked as $RS_CACHE/runtimes/containerd2.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
. "$E2E_DIR/cluster/gomod-build.sh"

CONTAINERD2_MODULE=github.com/containerd/containerd/v2
CONTAINERD2_VERSION=v2.4.2
TAGS="no_btrfs no_devmapper no_zfs urfave_cli_no_docs"
SHIM_TAGS="$TAGS no_grpc"

main() {
	require_cmd go sha256sum flock
	runtime_begin containerd2 "$CONTAINERD2_MODULE" "$CONTAINERD2_VERSION"
	[[ -n $RUNTIME_TMP ]] || return 0
	# Version and revision as `containerd --version` and the CRI Version call
	# report them (upstream stamps git describe, i.e. with the leading v).
	local pkg=$CONTAINERD2_MODULE/version
	GO_LDFLAGS="-s -w -X $pkg.Version=$CONTAINERD2_VERSION -X $pkg.Revision=$GOMOD_REV"
	export CGO_ENABLED=0
	GO_TAGS=$TAGS runtime_go_build "$RUNTIME_TMP/" ./cmd/containerd ./cmd/ctr
	GO_TAGS=$SHIM_TAGS runtime_go_build "$RUNTIME_TMP/" ./cmd/containerd-shim-runc-v2
	"$RUNTIME_TMP/containerd" --version >/dev/null || die "the built containerd does not run"
	printf '%s\n' "cgo=0" "tags=$TAGS" "shim_tags=$SHIM_TAGS" >>"$RUNTIME_TMP/BUILDINFO"
	runtime_publish
}

main "$@"
