#!/usr/bin/env bash
# Build-time tool (not product code): the static libraries the release
# plugin links, built with musl from Debian's source packages, once per
# architecture and recipe, into a cache outside the repository.
#
#   tools/dist/static-deps.sh amd64|arm64
#
# Prints the prefix (…/static-<arch>-<key>) on its last stdout line.  The
# prefix holds include/, lib/ (libcurl, libssl, libcrypto, libnghttp2,
# libjansson, libyaml, all .a), lib/pkgconfig/, and:
#   cc       the musl compiler driver for the architecture
#   env.mk   CC/AR and the cflags and libs for `pkg-config --static`
#   VERSIONS the Debian source versions inside
#
# The key hashes this script, the architecture, the compiler's version and
# the names of the source packages, so a change to any of them builds anew
# while CI on the same machine reuses the last build.  Sources are fetched
# once into $RS_CACHE/src (needs the deb-src lines that tools/dist/deps.sh
# installs); remove that folder to take Debian's newest.
#
# Environment: RS_CACHE (/var/cache/kubectl-runtime-switch), RS_JOBS (2),
# RS_NICE (19: the heavy part yields to anything else on the machine).
set -euo pipefail

arch=${1:?usage: static-deps.sh amd64|arm64}
cache=${RS_CACHE:-/var/cache/kubectl-runtime-switch}
jobs=${RS_JOBS:-2}
nice_level=${RS_NICE:-19}
here=$(cd "$(dirname "$0")" && pwd)
self="$here/$(basename "$0")"
pkgs=(openssl nghttp2 curl jansson libyaml)

log() { echo "static-deps[$arch]: $*" >&2; }
die() { log "error: $*"; exit 1; }

case $arch in
  amd64) triple=x86_64-linux-musl; gnu=x86_64-linux-gnu; ossl_target=linux-x86_64
         kasm=/usr/include/x86_64-linux-gnu/asm; archflags= ;;
  # Debian's aarch64 gcc calls libgcc's outline atomics, whose CPU probe
  # needs glibc's __getauxval: musl has none, so inline LL/SC atomics.
  arm64) triple=aarch64-linux-musl; gnu=aarch64-linux-gnu; ossl_target=linux-aarch64
         kasm=/usr/aarch64-linux-gnu/include/asm; archflags=-mno-outline-atomics ;;
  *) die "unknown architecture '$arch' (amd64, arm64)" ;;
esac

specs=/usr/lib/$triple/musl-gcc.specs
[[ -f $specs ]] || die "$specs missing: apt-get install musl-dev:$arch (see tools/dist/deps.sh)"
command -v "$gnu-gcc" >/dev/null || die "$gnu-gcc missing: apt-get install gcc-$gnu (see tools/dist/deps.sh)"
[[ -d $kasm ]] || die "$kasm missing: apt-get install linux-libc-dev (amd64) or linux-libc-dev-arm64-cross"
for t in autoreconf libtoolize dpkg-source flock; do
  command -v $t >/dev/null || die "$t missing: run tools/dist/deps.sh"
done

mkdir -p "$cache/toolchain/$arch" "$cache/src"
exec 9>"$cache/static-deps.lock"
flock 9   # one build at a time: two arches would fight for two cores

# The compiler driver: the GNU cross (or native) gcc with musl's specs,
# the same thing Debian's musl-gcc does for the native architecture.  musl
# ships no kernel headers and its specs hide /usr/include, so the few that
# OpenSSL includes (<linux/mman.h>, <asm/…>) come from a directory of links
# searched after musl's own.
kinc="$cache/toolchain/$arch/kernel-include"
rm -rf "$kinc"; mkdir -p "$kinc"
ln -s /usr/include/linux "$kinc/linux"
ln -s /usr/include/asm-generic "$kinc/asm-generic"
ln -s "$kasm" "$kinc/asm"
cc="$cache/toolchain/$arch/$triple-gcc"
cat > "$cc.tmp" <<EOF
#!/bin/sh
exec $gnu-gcc $archflags "\$@" -idirafter $kinc -specs $specs
EOF
chmod 0755 "$cc.tmp"
mv "$cc.tmp" "$cc"
ar=$gnu-ar
ranlib=$gnu-ranlib

# --- sources: Debian's newest fetchable version of each, kept ------------
fetch_source() {
  local p=$1 dir="$cache/src/$p" v
  if compgen -G "$dir/*.dsc" >/dev/null; then return 0; fi
  command -v apt-get >/dev/null || die "no sources for $p and no apt-get"
  apt-cache showsrc "$p" >/dev/null 2>&1 ||
    die "no deb-src index for $p: run tools/dist/deps.sh (adds the deb-src lines, apt-get update)"
  mkdir -p "$dir.part"
  # A mirror can list a version whose files it no longer serves: take the
  # newest that downloads.
  for v in $(apt-cache showsrc --only-source "$p" | sed -n 's/^Version: //p' |
             sort -u | sort -rV); do
    if (cd "$dir.part" && apt-get source -q -q --download-only "$p=$v") >&2 2>/dev/null; then
      rm -rf "$dir"; mv "$dir.part" "$dir"
      log "fetched $p $v"
      return 0
    fi
    log "$p $v: not downloadable, trying an older one"
    rm -f "$dir.part"/*
  done
  die "could not download any version of source package $p"
}
for p in "${pkgs[@]}"; do fetch_source "$p"; done

dsc_of() { local f; for f in "$cache/src/$1"/*.dsc; do echo "$f"; done | sort -V | tail -1; }

key=$( { cat "$self"; echo "$arch"; "$cc" --version | head -1;
         for p in "${pkgs[@]}"; do basename "$(dsc_of "$p")"; done; } |
       sha256sum | cut -c1-16)
prefix="$cache/static-$arch-$key"
if [[ -f $prefix/.done ]]; then
  log "cached: $prefix"
  echo "$prefix"
  exit 0
fi

# --- build ----------------------------------------------------------------
work="$cache/build-$arch-$key"
stage="$work/stage"
buildlog="$cache/logs/static-$arch-$key.log"
mkdir -p "$cache/logs"
rm -rf "$work"
mkdir -p "$work"
: > "$buildlog"
start=$(date +%s)
log "building into $prefix (log: $buildlog)"

run() { nice -n "$nice_level" "$@" >>"$buildlog" 2>&1 || {
          log "failed: $*"; tail -n 40 "$buildlog" >&2; exit 1; }; }

unpack() {  # unpack <pkg>: Debian's source with its patches applied
  local p=$1
  (cd "$work" && dpkg-source -q -x "$(dsc_of "$p")" "src-$p") >>"$buildlog" 2>&1 ||
    die "dpkg-source -x failed for $p (see $buildlog)"
  echo "$work/src-$p"
}

# Size over speed: sections let the final link drop what the plugin never
# calls.  -fPIE is left to the default; the plugin links -static (not PIE).
opt="-Os -ffunction-sections -fdata-sections"
host_args=(--host="$triple" --build="$(gcc -dumpmachine)" --prefix="$prefix"
           --disable-shared --enable-static --disable-dependency-tracking)
export PKG_CONFIG_LIBDIR="$stage$prefix/lib/pkgconfig" PKG_CONFIG_PATH=
export PKG_CONFIG_SYSROOT_DIR=

# OpenSSL: TLS 1.2/1.3 client, X.509, client certificates; no engines,
# modules, legacy protocols or tests.  OPENSSLDIR=/etc/ssl is where
# Debian, Ubuntu, Alpine, Arch and Fedora keep (or link) their CA store,
# used only when a kubeconfig names no CA.
d=$(unpack openssl)
echo "== openssl" >>"$buildlog"
(cd "$d" && run ./Configure "$ossl_target" --prefix="$prefix" --libdir=lib \
   --openssldir=/etc/ssl no-shared no-module no-dso no-engine no-async no-comp \
   no-tests no-afalgeng no-ssl3 no-dtls no-srp no-idea no-rc5 no-mdc2 \
   no-weak-ssl-ciphers no-ui-console no-capieng no-ktls \
   CC="$cc" AR="$ar" RANLIB="$ranlib" CFLAGS="$opt" &&
 run make -j"$jobs" build_libs &&
 run make install_dev DESTDIR="$stage")

# nghttp2: the library only (HTTP/2 framing for libcurl).  configure asks
# for a C++ compiler it never uses with --enable-lib-only: give it the
# host's so the cross build needs no C++ cross compiler.
d=$(unpack nghttp2)
echo "== nghttp2" >>"$buildlog"
(cd "$d" && run autoreconf -fi &&
 run ./configure "${host_args[@]}" --enable-lib-only --disable-python-bindings \
   --without-libxml2 --without-jansson --without-zlib --without-libevent-openssl \
   --without-libcares --without-openssl --without-libev --without-cunit \
   --without-jemalloc --without-systemd \
   CC="$cc" CXX=g++ AR="$ar" RANLIB="$ranlib" CFLAGS="$opt" &&
 run make -j"$jobs" -C lib &&
 run make -C lib install DESTDIR="$stage")

# libcurl: HTTP and HTTPS over HTTP/1.1 and HTTP/2, proxies (HTTP and
# SOCKS), nothing else.  CA: the kubeconfig's blob, else OpenSSL's default
# store (--with-ca-fallback), so no distribution's path is baked in.
# Debian's series ends with the patches that turn the tree into the GnuTLS
# and NSS flavours; its rules pop them for the OpenSSL build, and so do we.
d=$(unpack curl)
echo "== curl" >>"$buildlog"
(cd "$d" && for fl in 99_nss 90_gnutls; do
   run patch -R -p1 -i "debian/patches/$fl.patch"; done &&
 run autoreconf -fi &&
 run ./configure "${host_args[@]}" \
   --with-openssl="$stage$prefix" --with-nghttp2="$stage$prefix" \
   --without-ca-bundle --without-ca-path --with-ca-fallback \
   --enable-http --enable-proxy --enable-ipv6 --enable-threaded-resolver \
   --enable-unix-sockets --enable-http-auth --enable-symbol-hiding \
   --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp \
   --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap \
   --disable-smb --disable-smtp --disable-gopher --disable-mqtt \
   --disable-manual --disable-libcurl-option --disable-ntlm --disable-ntlm-wb \
   --disable-tls-srp --disable-cookies --disable-doh --disable-mime \
   --disable-netrc --disable-alt-svc --disable-hsts --disable-websockets \
   --disable-dnsshuffle --disable-progress-meter --disable-sspi \
   --without-zlib --without-brotli --without-zstd --without-libidn2 \
   --without-libpsl --without-librtmp --without-libssh2 --without-libssh \
   --without-gssapi --without-hyper --without-ngtcp2 --without-nghttp3 \
   --without-quiche --without-msh3 --without-zsh-functions-dir \
   --without-fish-functions-dir \
   CC="$cc" AR="$ar" RANLIB="$ranlib" CFLAGS="$opt" \
   CPPFLAGS="-I$stage$prefix/include" LDFLAGS="-L$stage$prefix/lib" &&
 run make -j"$jobs" -C lib &&
 run make -C lib install DESTDIR="$stage" &&
 run make -C include install DESTDIR="$stage" &&
 run install -m 0644 libcurl.pc "$stage$prefix/lib/pkgconfig/libcurl.pc")

# jansson and libyaml: plain C, nothing to trim.
for p in jansson libyaml; do
  d=$(unpack $p)
  echo "== $p" >>"$buildlog"
  (cd "$d" && run autoreconf -fi &&
   run ./configure "${host_args[@]}" CC="$cc" AR="$ar" RANLIB="$ranlib" CFLAGS="$opt" &&
   run make -j"$jobs" -C src &&
   run make -C src install DESTDIR="$stage" &&
   run make install-pkgconfigDATA DESTDIR="$stage")
done
# jansson installs its headers with src; libyaml from include/.
[[ -f $stage$prefix/include/yaml.h ]] || (cd "$work/src-libyaml" && run make -C include install DESTDIR="$stage")

# --- finish: check, describe, publish atomically ---------------------------
s=$stage$prefix
for lib in libcurl libssl libcrypto libnghttp2 libjansson libyaml; do
  [[ -f $s/lib/$lib.a ]] || die "$lib.a was not installed"
done
rm -f "$s"/lib/*.la
rm -rf "$s/share" "$s/bin"
install -m 0755 "$cc" "$s/cc"
{
  for p in "${pkgs[@]}"; do
    printf '%s %s\n' "$p" "$(sed -n 's/^Version: //p' "$(dsc_of "$p")")"
  done
} > "$s/VERSIONS"
# pkg-config files name $prefix (the final place): read them from there.
pc="PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH= pkg-config --static"
{
  echo "# generated by tools/dist/static-deps.sh $arch"
  echo "DIST_CC := $prefix/cc"
  echo "DIST_AR := $ar"
  echo "DIST_PKG_CFLAGS := \$(shell $pc --cflags libcurl jansson yaml-0.1)"
  echo "DIST_PKG_LIBS := \$(shell $pc --libs libcurl jansson yaml-0.1)"
} > "$s/env.mk"
rm -rf "$prefix"
mv "$s" "$prefix"
touch "$prefix/.done"
rm -rf "$work"
# Older recipes of this architecture are dead weight: keep only this one.
for old in "$cache/static-$arch-"*; do
  [[ $old == "$prefix" || ! -d $old ]] || rm -rf "$old"
done
log "built in $(( $(date +%s) - start ))s: $prefix"
echo "$prefix"
