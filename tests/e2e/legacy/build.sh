#!/usr/bin/env bash
# Build the binaries of the legacy e2e cluster flavour (issue 13) from their Go
# modules, through the Go module proxy, with the machine's Go (1.26):
#
#   kbin-1.24     Kubernetes v1.24.17 multi-call binary (module v1.24/), the
#                 control plane as `kubeadm upgrade apply v1.24.17` leaves it
#                 and the kubelet a node is upgraded to, with etcd 3.5.4:
#                 kbin-1.24 apiserver|controller-manager|scheduler|kubelet|etcd
#                 (or invoked under a component's name: copied as kubelet ...)
#   kubelet-1.23  the v1.23.17 kubelet with its built-in dockershim
#                 (--container-runtime=docker), module v1.23/
#
# Each is cached as $RS_CACHE/legacy/<name>-<key> (key: hash of its module's
# files, this script, lib.sh, the version and the Go version) and linked as
# $RS_CACHE/legacy/<name>; a warm run only hashes (0.1 s). Go's own caches
# stay at their defaults (shared with the other builds of this machine).
# tests/e2e/legacy/smoke.sh proves what was built (make legacy-smoke).
#
# What building these old releases with Go 1.26 needed (go1.26.8, 2026-12-06):
#  - No toolchain switch, no -checklinkname=0, no replace beyond upstream's
#    own pins, no source patch: both trees compile and link as they are.
#    modern-go/reflect2 v1.0.2 (json-iterator's) pulls reflect.mapiterinit,
#    reflect.mapassign, ... by linkname; Go keeps those symbols, with wrappers
#    over Swiss maps for callers from before Go 1.24 (runtime/linkname_shim.go,
#    go.dev/issue/67401), so the linker accepts it and the API server decodes
#    and encodes maps (labels, ConfigMap data: checked by smoke.sh).
#  - The dependency versions upstream built with: k8s.io/kubernetes pins every
#    dependency by a replace line in its own go.mod, which Go ignores in a
#    dependency; gen-replace.sh copies those pins into the wrappers (and maps
#    the staging modules to their v0.N.P tags). Without the pins, go mod tidy
#    upgraded rogpeppe/go-internal, golang.org/x/{sys,net,crypto,tools} to
#    2024 versions and the go line to 1.25.
#  - `go 1.19` in the wrappers (the go line of k8s.io/kubernetes 1.23/1.24), so
#    Go 1.26 applies the GODEBUG defaults of that language version, i.e. the
#    TLS and x509 behaviour of the Go the releases were built with (see
#    `go version -m BINARY`: tls3des=1, tlsrsakex=1, x509negativeserial=1 ...).
#  - etcd 3.5.4, not 3.5.21, in the multi-call binary: the v1.24 API server
#    uses OpenTelemetry v0.20 (go.opentelemetry.io/otel/exporters/otlp), and
#    etcd 3.5.5+ requires otel v1.x of the same module paths; 3.5.4 is the
#    newest 3.5 that needs v0.20 and so links beside it (kubeadm 1.24 deployed
#    etcd 3.5.3 to 3.5.6).
#  - -tags providerless for both: upstream's own tag that leaves out the
#    in-tree cloud providers (AWS, Azure, GCE, vSphere SDKs and their volume
#    and credential plugins), which no node here has. It cuts the Go source
#    compiled by 37% (v1.24: 2,517 -> 2,260 packages, 129 -> 82 MB) and 44%
#    (v1.23: 1,750 -> 1,455 packages, 108 -> 60 MB), as `go list -deps`
#    counts them; dockershim (the v1.23 kubelet's) stays in.
#  - CGO_ENABLED=0 for both (static: copied into Debian nodes as they are; the
#    1.34 kbin does the same). Upstream linked the kubelet with cgo.
#
# Cost, cold (empty GOCACHE and GOMODCACHE; 2 cores shared with four other
# builds, load average 7-16): 860 s wall = 389 s user + 114 s system CPU
# (kbin-1.24 544 s, kubelet-1.23 314 s of the wall, module downloads
# included), peak RSS 1.5 GB (the link), 3.0 GB of GOCACHE and 1.1 GB of
# modules; before -tags providerless: 580 + 130 s CPU, 2.1 GB. A change to
# main.go or the stamps relinks in 10-20 s; warm 0.1 s. Sizes: kbin-1.24
# 101 MB, kubelet-1.23 64 MB. The two trees share almost no compiled package
# (the same import paths at other versions), so each compiles in full.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# stamp_ldflags VERSION -- -ldflags for a release's version packages. The git
# commit is the release tag's, as the module proxy reports it.
stamp_ldflags() {
	local version=$1 minor commit pkg flags="-s -w"
	minor=$(cut -d. -f2 <<<"$version")
	commit=$(cd /tmp && go mod download -json "k8s.io/kubernetes@$version" |
		sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]\{40\}\)",\{0,1\}$/\1/p' | head -n1)
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		flags+=" -X $pkg.gitTreeState=clean"
		[[ -z $commit ]] || flags+=" -X $pkg.gitCommit=$commit"
	done
	printf '%s\n' "$flags"
}

# Hold $RS_CACHE/.cluster.lock (the one cluster.sh takes) while changing
# $LEGACY_CACHE, not while compiling. Called from cluster.sh, fd 9 already
# holds it: nothing to take then, and nothing to release.
LOCK_OWNED=0
lock_cache() {
	mkdir -p "$LEGACY_CACHE"
	if [[ -e /proc/self/fd/9 && /proc/self/fd/9 -ef $RS_CACHE/.cluster.lock ]]; then
		return
	fi
	exec 9>"$RS_CACHE/.cluster.lock"
	flock 9
	LOCK_OWNED=1
}

unlock_cache() {
	if ((LOCK_OWNED)); then
		exec 9>&-
		LOCK_OWNED=0
	fi
}

# build NAME MODULE_DIR VERSION
build() {
	local name=$1 dir=$2 version=$3 key out tmp start
	key=$( (hash_files "$dir/go.mod" "$dir/go.sum" "$dir/main.go" "${BASH_SOURCE[0]}" "$LEGACY_DIR/lib.sh"
		echo "$version"; go env GOVERSION) | sha256sum | cut -c1-16)
	out=$LEGACY_CACHE/$name-$key
	if [[ ! -x $out ]]; then
		mkdir -p "$LEGACY_CACHE"
		tmp=$(mktemp "$out.tmp.XXXXXX")
		start=$(date +%s)
		log "building $name $version (go build -p ${GO_BUILD_P:-2}; cold: 10-15 min on 2 busy cores)"
		if ! (cd "$dir" && CGO_ENABLED=0 nice -n 10 go build -p "${GO_BUILD_P:-2}" -trimpath \
			-tags providerless -buildvcs=false -ldflags "$(stamp_ldflags "$version")" -o "$tmp" .); then
			rm -f "$tmp"
			die "building $name $version failed"
		fi
		lock_cache
		mv "$tmp" "$out"
		log "$name built in $(($(date +%s) - start)) s: $out"
	else
		lock_cache
		log "$name up to date: $out"
	fi
	ln -sfn "${out##*/}" "$LEGACY_CACHE/$name"
	# Keep only the current binary (and no leftovers of killed builds).
	find "$LEGACY_CACHE" -maxdepth 1 -name "$name-*.tmp.*" -mmin +60 -delete
	find "$LEGACY_CACHE" -maxdepth 1 -name "$name-*" ! -name "${out##*/}" ! -name '*.tmp.*' -delete
	unlock_cache
}

main() {
	require_cmd go sha256sum flock
	build kbin-1.24 "$LEGACY_DIR/v1.24" "$LEGACY_CP_VERSION"
	build kubelet-1.23 "$LEGACY_DIR/v1.23" "$LEGACY_KUBELET_VERSION"
}

main "$@"
