#!/usr/bin/env bash
# Build kbin, the multi-call binary holding the real kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet (k8s.io/kubernetes) and etcd
# (go.etcd.io/etcd/server/v3), from this test-only Go module.
#
# The binary is cached as $RS_CACHE/bin/kbin-<key> (key: hash of the module's
# files and the Go version) and linked as $RS_CACHE/bin/kbin. Go's own caches
# (GOMODCACHE, GOCACHE) stay at their defaults so CI on this machine reuses them.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
	require_cmd go sha256sum
	local dir key out ldflags pkg start
	dir=$E2E_DIR/cluster
	key=$( (hash_files "$dir/go.mod" "$dir/go.sum" "$dir/main.go" "${BASH_SOURCE[0]}"; echo "$K8S_VERSION"; go env GOVERSION) | sha256sum | cut -c1-16)
	out=$RS_CACHE/bin/kbin-$key
	mkdir -p "$RS_CACHE/bin"
	if [[ -x $out ]]; then
		ln -sfn "kbin-$key" "$RS_CACHE/bin/kbin"
		log "kbin up to date: $out"
		return
	fi
	# Stamp the real release so nodes and `kubectl version` report it.
	ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1"
		ldflags+=" -X $pkg.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION") -X $pkg.gitTreeState=clean"
	done
	start=$(date +%s)
	log "building kbin $K8S_VERSION (go build -p 2; a cold build takes a long while)"
	(cd "$dir" && CGO_ENABLED=0 go build -p "${GO_BUILD_P:-2}" -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out.tmp" .)
	mv "$out.tmp" "$out"
	ln -sfn "kbin-$key" "$RS_CACHE/bin/kbin"
	log "kbin built in $(($(date +%s) - start)) s: $out"
	# Keep only the current binary.
	find "$RS_CACHE/bin" -maxdepth 1 -name 'kbin-*' ! -name "kbin-$key" -delete
}

main "$@"
