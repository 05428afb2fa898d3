#!/usr/bin/env bash
# Build-time check (not product code): a release plugin is a static ELF for
# its architecture, with no interpreter and no shared-library needs, and it
# runs (natively, or under qemu-user for another architecture).
#   tools/dist/check-static.sh amd64|arm64 BINARY
set -euo pipefail
arch=${1:?usage: check-static.sh ARCH BINARY}; bin=${2:?}
case $arch in
  amd64) machine='Advanced Micro Devices X86-64'; qemu= ;;
  arm64) machine='AArch64'; qemu=qemu-aarch64-static ;;
  *) echo "check-static: unknown arch $arch" >&2; exit 2 ;;
esac
fail() { echo "check-static: $bin: $*" >&2; exit 1; }
hdr=$(readelf -h "$bin") || fail "not an ELF file"
grep -q "Machine: *$machine" <<<"$hdr" || fail "not built for $arch"
readelf -l "$bin" | grep -q 'INTERP' && fail "has a program interpreter (dynamically linked)"
readelf -d "$bin" 2>/dev/null | grep -q 'NEEDED' && fail "needs shared libraries"
run=("$bin")
if [[ -n $qemu ]]; then
  if [[ $(uname -m) != aarch64 ]]; then
    command -v "$qemu" >/dev/null || { echo "check-static: $qemu missing: not running $bin"; exit 0; }
    run=("$qemu" "$bin")
  fi
fi
out=$("${run[@]}" version --client) || fail "'version --client' failed"
echo "check-static: $bin: static $arch, $(stat -c %s "$bin") bytes; $out" | tr '\n' ' '
echo
