# Node kind "docker": Debian's Docker 20.10 through cri-dockerd (the node the
# product switches). Docker's containerd runs with the configuration docker-ce's
# containerd.io package ships (CRI plugin disabled) and holds no images.
KIND_DESCRIPTION="Docker 20.10 through cri-dockerd"
KIND_IMAGE=base
KIND_FILES=(docker)
KIND_BUILD=(cridockerd/build.sh)
KIND_BINARIES=(bin/cri-dockerd:/usr/bin/cri-dockerd)
KIND_CRI=unix:///var/run/cri-dockerd.sock
KIND_ENABLE=(containerd.service docker.socket docker.service cri-docker.socket cri-docker.service)
KIND_KUBELET=cri
KIND_IMAGES=make

# Only Docker gets the images (imported from the root filesystem tarballs);
# the archive it saves is what nodes of KIND_IMAGES=archive kinds import.
kind_import_images() {
	local node=$1
	wait_for docker 60 node_exec "$node" docker info ||
		die "$node: docker is not answering"
	node_exec "$node" sh -c "docker import -c 'ENTRYPOINT [\"/pause\"]' /var/lib/rsw-e2e/images/pause.tar $PAUSE_IMAGE >/dev/null &&
		docker import -c 'CMD [\"sh\"]' /var/lib/rsw-e2e/images/busybox.tar $WORKLOAD_IMAGE >/dev/null &&
		docker save -o /var/lib/rsw-e2e/images/images.docker.tar $PAUSE_IMAGE $WORKLOAD_IMAGE"
}
