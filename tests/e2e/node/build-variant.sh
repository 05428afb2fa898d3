#!/usr/bin/env bash
# Build (once, cached) a variant of the node image: the base Debian root
# filesystem (build-image.sh) plus extra Debian packages and/or extra binaries
# from RS_CACHE. cluster.sh calls it for the node kinds that declare one
# (KIND_IMAGE, KIND_IMAGE_PACKAGES, KIND_IMAGE_BINARIES; see kinds/README.md).
#
#   build-variant.sh NAME "PACKAGE..." "SRC:DEST..."
#     PACKAGE  a Debian bookworm package (installed with apt-get, no recommends)
#     SRC      a file under $RS_CACHE (e.g. bin/containerd2/containerd)
#     DEST     where it goes in the image (e.g. /usr/local/bin/containerd), mode 755
#
# Output: $RS_CACHE/rootfs/v-NAME-<key>/ and the link $RS_CACHE/rootfs/v-NAME,
# where <key> hashes the base image's key, this script, the package list and
# each binary's destination and content: any change builds a new variant. Only
# the newest variant of each NAME is kept (and a new base image drops them all).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

main() {
	[[ $# -eq 3 && $1 =~ ^[a-z][a-z0-9-]*$ && $1 != base ]] ||
		die "usage: build-variant.sh NAME \"PACKAGE...\" \"SRC:DEST...\""
	require_root
	require_cmd systemd-nspawn sha256sum
	local name=$1 packages=$2 binaries=$3 base key root tmp b start
	base=$(readlink "$RS_CACHE/rootfs/current" 2>/dev/null) && [[ -f $RS_CACHE/rootfs/$base/.complete ]] ||
		die "no base node image: run tests/e2e/node/build-image.sh first"
	for b in $packages; do
		[[ $b =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "image variant $name: '$b' is not a Debian package name"
	done
	for b in $binaries; do
		[[ $b == *:/* && -f $RS_CACHE/${b%%:*} ]] ||
			die "image variant $name: '$b' is not SRC:DEST with SRC a file under $RS_CACHE and DEST absolute"
	done
	key=$( {
		hash_files "${BASH_SOURCE[0]}"
		echo "base $base"
		# shellcheck disable=SC2086
		printf 'package %s\n' $packages | sort
		for b in $binaries; do
			echo "binary ${b#*:} $(sha256sum <"$RS_CACHE/${b%%:*}" | cut -c1-64)"
		done
	} | sha256sum | cut -c1-16)
	root=$RS_CACHE/rootfs/v-$name-$key
	if [[ -f $root/.complete ]]; then
		ln -sfn "v-$name-$key" "$RS_CACHE/rootfs/v-$name"
		log "node image variant $name up to date: $root"
		return
	fi
	start=$(date +%s)
	tmp=$RS_CACHE/rootfs/.build-v-$name-$key
	rm -rf "$tmp"
	log "node image variant $name: base $base + packages [$packages] + binaries [$binaries]"
	cp -a "$RS_CACHE/rootfs/$base/." "$tmp/"
	rm -f "$tmp/.complete"
	if [[ -n $packages ]]; then
		cp /etc/resolv.conf "$tmp/etc/resolv.conf"
		SYSTEMD_NSPAWN_API_VFS_WRITABLE=1 SYSTEMD_SECCOMP=0 \
			systemd-nspawn -q -D "$tmp" --register=no --keep-unit --capability=all \
			--setenv=DEBIAN_FRONTEND=noninteractive \
			/bin/sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $packages && apt-get clean" \
			>"$tmp.log" 2>&1 ||
			{ tail -n 30 "$tmp.log" >&2; die "image variant $name: package installation failed"; }
		rm -rf "$tmp/var/lib/apt/lists/"* "$tmp/var/cache/apt/"*.bin
		# As the base image: each node gets its own machine id at first boot.
		: >"$tmp/etc/machine-id"
	fi
	for b in $binaries; do
		install -D -m 755 "$RS_CACHE/${b%%:*}" "$tmp${b#*:}"
	done
	touch "$tmp/.complete"
	rm -rf "$root"
	mv "$tmp" "$root"
	[[ ! -f $tmp.log ]] || mv "$tmp.log" "$root.log"
	ln -sfn "v-$name-$key" "$RS_CACHE/rootfs/v-$name"
	log "node image variant $name built in $(($(date +%s) - start)) s: $root"
	local d
	for d in "$RS_CACHE/rootfs/v-$name"-*; do
		[[ ${d#"$RS_CACHE/rootfs/v-$name-"} =~ ^[0-9a-f]{16}(\.log)?$ ]] || continue # another NAME
		[[ $d == "$root" || $d == "$root.log" ]] || rm -rf "$d"
	done
}

main "$@"
