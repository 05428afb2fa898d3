#!/usr/bin/env bash
# Build (once, cached) the Debian bookworm root filesystem every e2e node boots
# from: real Debian packages only (systemd, docker.io, containerd, runc, CNI
# plugins...). Project files (kubelet, cri-dockerd, units, configs) are added
# per node by cluster.sh on a copy of this image.
#
# Output: $RS_CACHE/rootfs/<key>/ and the link $RS_CACHE/rootfs/current,
# where <key> hashes this script, so changing the package list rebuilds it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

# Packages installed inside the node, as a kubeadm-style node would have them.
NODE_PACKAGES=(
	systemd systemd-sysv dbus
	docker.io containerd runc
	containernetworking-plugins iptables iproute2 procps
	busybox-static ca-certificates util-linux mount kmod
	conntrack ethtool socat less
)

main() {
	require_root
	require_cmd debootstrap systemd-nspawn sha256sum
	local key root tmp mirror start
	key=$(hash_files "${BASH_SOURCE[0]}")
	root=$RS_CACHE/rootfs/$key
	if [[ -f $root/.complete ]]; then
		ln -sfn "$key" "$RS_CACHE/rootfs/current"
		log "node image up to date: $root"
		return
	fi
	mkdir -p "$RS_CACHE/rootfs"
	tmp=$RS_CACHE/rootfs/.build-$key
	rm -rf "$tmp"
	mirror=$(debian_mirror)
	start=$(date +%s)
	log "debootstrap $DEBIAN_SUITE from $mirror into $tmp"
	debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus \
		"$DEBIAN_SUITE" "$tmp" "$mirror" >"$RS_CACHE/rootfs/.build-$key.log" 2>&1 ||
		{ tail -n 30 "$RS_CACHE/rootfs/.build-$key.log" >&2; die "debootstrap failed"; }

	# Same Debian suites as the machine (the security suite carries the
	# containerd/runc/docker.io fixes).
	local secmirror=${mirror%/debian*}/debian-security
	cat >"$tmp/etc/apt/sources.list" <<-EOF
		deb $mirror $DEBIAN_SUITE main
		deb $mirror $DEBIAN_SUITE-updates main
		deb $secmirror $DEBIAN_SUITE-security main
	EOF
	cp /etc/resolv.conf "$tmp/etc/resolv.conf"
	log "installing ${#NODE_PACKAGES[@]} packages inside the image"
	SYSTEMD_NSPAWN_API_VFS_WRITABLE=1 SYSTEMD_SECCOMP=0 \
		systemd-nspawn -q -D "$tmp" --register=no --keep-unit --capability=all \
		--setenv=DEBIAN_FRONTEND=noninteractive \
		/bin/sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends ${NODE_PACKAGES[*]} && apt-get clean" \
		>>"$RS_CACHE/rootfs/.build-$key.log" 2>&1 ||
		{ tail -n 30 "$RS_CACHE/rootfs/.build-$key.log" >&2; die "package installation failed"; }
	rm -rf "$tmp/var/lib/apt/lists/"* "$tmp/var/cache/apt/"*.bin
	# An empty machine-id: each node gets its own at first boot.
	: >"$tmp/etc/machine-id"
	touch "$tmp/.complete"
	rm -rf "$root"
	mv "$tmp" "$root"
	mv "$RS_CACHE/rootfs/.build-$key.log" "$root.log"
	ln -sfn "$key" "$RS_CACHE/rootfs/current"
	log "node image built in $(($(date +%s) - start)) s: $root"
	# Drop older images.
	local d
	for d in "$RS_CACHE"/rootfs/*/; do
		d=${d%/}
		[[ -L $d || $(basename "$d") == "$key" ]] || rm -rf "$d" "$d.log"
	done
}

main "$@"
