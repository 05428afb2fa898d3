#!/usr/bin/env bash
# Build crictl (sigs.k8s.io/cri-tools) from its Go module, for the CRI-O node
# kind (kinds/docker-crio.sh): a kubeadm node has it (kubeadm's packages
# depend on cri-tools), and the switch away from CRI-O uses it to stop and
# remove CRI-O's pods before crio stops. Test harness only.
#
# v1.34.0, as CRI-O and the kubelet. Static (CGO_ENABLED=0), no build tags.
# Output: $RS_CACHE/runtimes/crictl-<version>-<key>/{crictl,BUILDINFO},
# linked as $RS_CACHE/runtimes/crictl.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
. "$E2E_DIR/cluster/gomod-build.sh"

CRICTL_MODULE=sigs.k8s.io/cri-tools
CRICTL_VERSION=v1.34.0

main() {
	require_cmd go sha256sum flock
	runtime_begin crictl "$CRICTL_MODULE" "$CRICTL_VERSION"
	[[ -n $RUNTIME_TMP ]] || return 0
	GO_LDFLAGS="-s -w -X $CRICTL_MODULE/pkg/version.Version=$CRICTL_VERSION"
	export CGO_ENABLED=0
	GO_TAGS= runtime_go_build "$RUNTIME_TMP/" ./cmd/crictl
	"$RUNTIME_TMP/crictl" --version >/dev/null || die "the built crictl does not run"
	echo "cgo=0" >>"$RUNTIME_TMP/BUILDINFO"
	runtime_publish
}

main "$@"
