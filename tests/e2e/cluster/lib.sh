# Shared helpers and paths for the e2e cluster scripts (sourced, not run).
# Test harness only: nothing here is product behaviour.

# Caches survive between runs and between clones of the repository (CI runs in
# a fresh clone on the same machine), so they live outside the work tree.
RS_CACHE=${RS_CACHE:-/var/cache/kubectl-runtime-switch}
# Runtime state of one cluster: PKI, etcd data, logs, pidfiles, image tarballs,
# its flavour and node set (the node root filesystems are in $RS_CACHE/nodes).
RS_STATE=${RS_STATE:-/run/kubectl-runtime-switch-e2e}
# What the cluster keeps in RS_STATE, all that `down` removes there (the
# directory itself only once empty: it is not only ours).
STATE_ENTRIES=(pki logs run etcd images admin.conf cluster cluster.tmp)

# Go may be installed outside PATH (CI images): the official location.
[[ :$PATH: == *:/usr/local/go/bin:* ]] || PATH=$PATH:/usr/local/go/bin

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Versions of the real components.
K8S_VERSION=v1.34.4
CRI_DOCKERD_VERSION=v0.3.17
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-}

# Network: a bridge of our own on the machine, nodes on a private subnet.
BRIDGE=rsw-e2e0
BRIDGE_ADDR=10.77.0.1
BRIDGE_CIDR=10.77.0.1/24
# Node I (1-based position in the node set) is 10.77.0.(10+I) with pods in
# 10.244.I.0/24 (cluster/nodeset.sh).
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
# cgroup subtree (in every hierarchy) that holds the nodes: /rsw-e2e/<node>.
CGROUP_PARENT=rsw-e2e

# Images known to every node without a registry.
PAUSE_IMAGE=registry.k8s.io/pause:3.10
WORKLOAD_IMAGE=localhost/busybox:1

KUBECTL=${KUBECTL:-}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

require_root() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (the e2e cluster boots systemd-nspawn nodes)"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "missing prerequisite command: $c"
	done
}

find_kubectl() {
	if [[ -n $KUBECTL ]]; then
		return
	fi
	local c
	# (FLAVOUR_KUBECTL: the cluster flavour's choice, once one is loaded)
	for c in "${FLAVOUR_KUBECTL:-}" /usr/lib/google-cloud-sdk/bin/kubectl.1.33 "$(command -v kubectl 2>/dev/null || true)"; do
		if [[ -n $c && -x $c ]]; then
			KUBECTL=$c
			return
		fi
	done
	die "no kubectl found (expected /usr/lib/google-cloud-sdk/bin/kubectl.1.33)"
}

# sha256 over the given files' contents and names, short form.
hash_files() {
	local f
	for f in "$@"; do
		printf '%s\n' "${f#"$E2E_DIR"/}"
		cat "$f"
	done | sha256sum | cut -c1-16
}

debian_mirror() {
	if [[ -n $DEBIAN_MIRROR ]]; then
		echo "$DEBIAN_MIRROR"
		return
	fi
	local m
	m=$(grep -hs -E '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -o 'https\?://[^ ]*debian/\?$' | grep -v security | head -n1 || true)
	echo "${m:-http://deb.debian.org/debian}"
}
