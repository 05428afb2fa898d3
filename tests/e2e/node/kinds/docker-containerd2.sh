# Node kind "docker-containerd2": the "docker" node (Debian's Docker 20.10
# through cri-dockerd; docker.sh, whose settings and image import it takes)
# whose Docker runs on containerd 2.x in the shape Docker's containerd.io 2.x
# package installs it: containerd v2.4.2 (built from its Go module,
# tests/e2e/containerd2/build.sh) as /usr/bin/containerd, ctr and
# containerd-shim-runc-v2, with the config.toml containerd.io ships
# (disabled_plugins = ["cri"], no version line: containerd 2.x reads it as
# version 1 and migrates it in memory; the CRI service is off, its images and
# runtime plugins load). Debian's Docker 20.10.24 only needs the runc v2
# shim, which 2.x keeps. The target of `--to containerd` on containerd 2.x
# (tests/e2e/test_targets.sh). With crictl v1.34.0 (crictl/build.sh) as
# /usr/bin/crictl, where kubeadm's cri-tools package puts it: the switch away
# from containerd removes containerd's CRI pods with it.
. "$(dirname "${BASH_SOURCE[0]}")/docker.sh"
KIND_DESCRIPTION="Docker 20.10 through cri-dockerd, on containerd 2.4.2 (containerd.io 2.x shape)"
KIND_IMAGE=containerd2
KIND_IMAGE_BINARIES=(
	runtimes/containerd2/containerd:/usr/bin/containerd
	runtimes/containerd2/ctr:/usr/bin/ctr
	runtimes/containerd2/containerd-shim-runc-v2:/usr/bin/containerd-shim-runc-v2
	runtimes/crictl/crictl:/usr/bin/crictl
)
KIND_BUILD+=(containerd2/build.sh crictl/build.sh)
