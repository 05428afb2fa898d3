#!/usr/bin/env bash
# Install what `make dist` needs (run by `make deps`, as root):
#  - deb-src lines for Debian's source packages, in a file of our own;
#  - musl for amd64 and arm64, the GNU arm64 cross compiler whose gcc
#    drives musl's specs, the arm64 kernel headers OpenSSL includes;
#  - autotools (Debian's patches touch configure.ac), dpkg-source, qemu to
#    run the arm64 build, hyperfine for the start-up numbers;
#  - for the tests: git (krew's index is a git clone), zsh.
set -euo pipefail
. /etc/os-release
codename=${VERSION_CODENAME:-bookworm}
src=/etc/apt/sources.list.d/kubectl-runtime-switch-src.sources
cat > "$src.tmp" <<SOURCES
# kubectl runtime-switch: Debian source packages for the static release
# build (tools/dist/static-deps.sh: curl, openssl, nghttp2, jansson, libyaml).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
mv "$src.tmp" "$src"
dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  musl-tools musl-dev musl-dev:arm64 gcc gcc-aarch64-linux-gnu \
  linux-libc-dev linux-libc-dev-arm64-cross binutils \
  autoconf automake libtool pkg-config make patch dpkg-dev xz-utils \
  ca-certificates qemu-user-static hyperfine file git zsh
