# Node kind "docker-crio": the "docker" node (Debian's Docker 20.10 through
# cri-dockerd; docker.sh, whose settings and image import it takes) with
# CRI-O installed beside it, stopped and disabled, as the target of
# `--to cri-o` (tests/e2e/test_targets.sh): crio and pinns v1.34.0 built from
# github.com/cri-o/cri-o (tests/e2e/crio/build.sh) where a build from source
# installs them (/usr/local/bin), its unit in /usr/local/lib/systemd/system
# (files/crio), no configuration file (CRI-O's defaults: crun, which is not
# installed, as the default runtime), Debian's conmon, runc, CNI plugins
# (/usr/lib/cni) and podman 4.3 (what the switch loads Docker's images with
# into CRI-O's storage, /var/lib/containers/storage), and crictl v1.34.0
# (built from sigs.k8s.io/cri-tools, crictl/build.sh) as /usr/bin/crictl,
# where kubeadm's cri-tools package puts it: the switch away from CRI-O
# removes CRI-O's pods with it.
. "$(dirname "${BASH_SOURCE[0]}")/docker.sh"
KIND_DESCRIPTION="Docker 20.10 through cri-dockerd, CRI-O 1.34.0 installed (the cri-o target)"
KIND_IMAGE=crio
KIND_IMAGE_PACKAGES=(conmon podman)
KIND_IMAGE_BINARIES=(
	runtimes/crio/crio:/usr/local/bin/crio
	runtimes/crio/pinns:/usr/local/bin/pinns
	runtimes/crictl/crictl:/usr/bin/crictl
)
KIND_FILES+=(crio)
KIND_BUILD+=(crio/build.sh crictl/build.sh)
