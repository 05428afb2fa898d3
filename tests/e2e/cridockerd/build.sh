#!/usr/bin/env bash
# Build cri-dockerd (github.com/Mirantis/cri-dockerd) as its own main module.
#
# cri-dockerd pins k8s.io/kubernetes v1.29 and carries a replace block, so it
# can neither be `go install`ed nor share a module with kbin (v1.34). We fetch
# the released module through the Go proxy, copy it to a writable directory
# and build it there as the main module, so its own go.mod (replace block
# included) decides every dependency; the dependencies come from the module
# proxy (a module zip carries no vendor/ tree). No cri-dockerd source is kept
# in this repository.
#
# v0.3.17 is the newest 0.3.x the module proxy serves here; 0.3.x still accepts
# Docker API 1.41 (Docker 20.10, MinimumDockerAPIVersion 1.26) and, from
# 0.3.17, implements the CRI RuntimeConfig call kubelet 1.34 asks for.
#
# Output: $RS_CACHE/bin/cri-dockerd-<key>, linked as $RS_CACHE/bin/cri-dockerd.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

main() {
	require_cmd go sha256sum
	local key out src dir start
	key=$( (hash_files "${BASH_SOURCE[0]}"; echo "$CRI_DOCKERD_VERSION"; go env GOVERSION) | sha256sum | cut -c1-16)
	out=$RS_CACHE/bin/cri-dockerd-$key
	mkdir -p "$RS_CACHE/bin" "$RS_CACHE/src"
	if [[ -x $out ]]; then
		ln -sfn "cri-dockerd-$key" "$RS_CACHE/bin/cri-dockerd"
		log "cri-dockerd up to date: $out"
		return
	fi
	start=$(date +%s)
	src=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/Mirantis/cri-dockerd@$CRI_DOCKERD_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -n $src && -f $src/go.mod ]] ||
		die "the Go module proxy did not serve github.com/Mirantis/cri-dockerd@$CRI_DOCKERD_VERSION"
	dir=$RS_CACHE/src/cri-dockerd-$CRI_DOCKERD_VERSION
	rm -rf "$dir"
	cp -r "$src" "$dir"
	chmod -R u+w "$dir"
	log "building cri-dockerd $CRI_DOCKERD_VERSION in $dir"
	rm -rf "$dir/vendor"
	(cd "$dir" && CGO_ENABLED=0 go build -p "${GO_BUILD_P:-2}" -mod=mod -trimpath -buildvcs=false \
		-ldflags "-s -w -X github.com/Mirantis/cri-dockerd/cmd/version.Version=${CRI_DOCKERD_VERSION#v} -X github.com/Mirantis/cri-dockerd/cmd/version.GitCommit=$CRI_DOCKERD_VERSION" \
		-o "$out.tmp" .)
	mv "$out.tmp" "$out"
	ln -sfn "cri-dockerd-$key" "$RS_CACHE/bin/cri-dockerd"
	find "$RS_CACHE/bin" -maxdepth 1 -name 'cri-dockerd-*' ! -name "cri-dockerd-$key" -delete
	log "cri-dockerd built in $(($(date +%s) - start)) s: $out"
}

main "$@"
