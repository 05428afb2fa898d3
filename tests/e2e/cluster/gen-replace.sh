#!/usr/bin/env bash
# Regenerate go.mod's replace block: map every staging module that
# k8s.io/kubernetes@$K8S_VERSION replaces with ./staging/src/k8s.io/X to the
# published module k8s.io/X at the matching v0.N.P tag, then tidy.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$E2E_DIR/cluster"
gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[[ -f $gomod ]] || die "cannot download k8s.io/kubernetes@$K8S_VERSION"
staging=v0.${K8S_VERSION#v1.}
count=0
while read -r mod; do
	go mod edit -replace "$mod=$mod@$staging"
	count=$((count + 1))
done < <(sed -n 's#^[[:space:]]*\(k8s.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\1#p' "$gomod")
go mod edit -require "k8s.io/kubernetes@$K8S_VERSION"
go mod tidy
log "replace block: $count staging modules at $staging"
