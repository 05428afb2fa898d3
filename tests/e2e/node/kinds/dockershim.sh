# Node kind "dockershim" (issue 13): Debian's Docker 20.10 as the runtime of a
# v1.23 kubelet through its built-in dockershim, as a kubeadm 1.23 node has it:
# kubeadm-flags.env with --network-plugin=cni and --pod-infra-container-image
# (the runtime itself is the kubelet's default, --container-runtime=docker),
# the CNI directories in /etc/default/kubelet (Debian's plugins live in
# /usr/lib/cni, not dockershim's default /opt/cni/bin; both flags are gone in
# 1.24), docker-ce's containerd.io-style config.toml with the CRI plugin
# disabled, and the systemd cgroup driver in Docker and the kubelet.
# cri-dockerd is installed as its package does it, as an operator does before
# the "--to cri-dockerd" path (its own CNI and pause defaults: the docker
# kind's flags drop-in is emptied by dockershim/), its units not enabled. Only a flavour with a kubelet for the
# "dockershim" role runs it (CLUSTER=legacy).
#
# Everything else is the "docker" kind's: its files (overlaid by dockershim/),
# its cri-dockerd build and binary, and its kind_import_images (Docker holds
# the seeded images and saves the archive the other nodes import).
. "$(dirname "${BASH_SOURCE[0]}")/docker.sh"
KIND_DESCRIPTION="Docker 20.10 through the kubelet's dockershim (v1.23)"
KIND_FILES=(docker dockershim)
KIND_CRI=unix:///var/run/dockershim.sock
KIND_ENABLE=(containerd.service docker.socket docker.service)
KIND_KUBELET=dockershim
KIND_CGROUP_DRIVER=systemd

# What kubeadm 1.23 writes for a Docker node.
kind_kubelet_flags() {
	echo "--network-plugin=cni --pod-infra-container-image=$PAUSE_IMAGE"
}
