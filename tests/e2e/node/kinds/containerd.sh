# Node kind "containerd": Debian's containerd 1.6 with its CRI plugin on (the
# bystander that hosts drained pods). Docker is installed by the image but
# disabled.
KIND_DESCRIPTION="containerd 1.6 (CRI on)"
KIND_IMAGE=base
KIND_CRI=unix:///run/containerd/containerd.sock
KIND_ENABLE=(containerd.service)
KIND_DISABLE=(docker.socket docker.service)
KIND_KUBELET=cri
KIND_IMAGES=archive

# The archive a Docker node saved (docker save), imported into the k8s.io
# namespace that CRI uses; pause also under Debian containerd's default
# sandbox name (registry.k8s.io/pause:3.6).
kind_import_images() {
	local node=$1
	wait_for containerd 60 node_exec "$node" ctr version ||
		die "$node: containerd is not answering"
	node_exec "$node" sh -c "ctr -n k8s.io images import /var/lib/rsw-e2e/images/images.docker.tar >/dev/null &&
		ctr -n k8s.io images tag $PAUSE_IMAGE registry.k8s.io/pause:3.6 >/dev/null"
}
