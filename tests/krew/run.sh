#!/usr/bin/env bash
# make test-krew: the release archives and the krew manifest, checked by
# krew itself.
#   tests/krew/run.sh MANIFEST DISTDIR VERSION
#
# krew and validate-krew-manifest are built from the sigs.k8s.io/krew module
# pinned by tests/krew/go.mod, once, into $RS_CACHE/krew-tools-<key>.  The
# real kubectl (KUBECTL, default /usr/bin/kubectl) finds krew as
# `kubectl-krew` on PATH, installs the plugin into a temporary KREW_ROOT,
# runs it through the link krew made, and uninstalls it.  When the e2e
# cluster (tests/e2e/cluster.sh) is up, the installed plugin reaches it too
# (under the e2e lock); when it is not, that part is a skip.
. "$(dirname "$0")/../lib/test-lib.sh"
manifest=${1:?usage: run.sh MANIFEST DISTDIR VERSION}; dist=${2:?}; version=${3:?}
here=$RS_ROOT/tests/krew
cache=${RS_CACHE:-/var/cache/kubectl-runtime-switch}
kubectl=${KUBECTL:-/usr/bin/kubectl}
. "$RS_ROOT/tests/lib/e2e.sh"
host_arch=$(uname -m); case $host_arch in x86_64) host_arch=amd64 ;; aarch64) host_arch=arm64 ;; esac
other_arch=$([[ $host_arch == amd64 ]] && echo arm64 || echo amd64)
qemu=$([[ $other_arch == arm64 ]] && echo qemu-aarch64-static || echo qemu-x86_64-static)
archive() { echo "$dist/kubectl-runtime_switch_linux_$1.tar.gz"; }
need go git "$qemu"  # go >= 1.24 builds krew

# fails_saying PATTERN CMD...: CMD fails and its output matches PATTERN
fails_saying() {
  local pat=$1 out
  shift
  if out=$("$@" 2>&1); then echo "it succeeded:"; tail -n 5 <<<"$out"; return 1; fi
  grep -qE -- "$pat" <<<"$out" && return 0
  echo "no /$pat/ in:"; tail -n 10 <<<"$out"; return 1
}

# ---- the tools, built once ----
key=$( { cat "$here/go.mod" "$here/go.sum"; go env GOVERSION; } | sha256sum | cut -c1-12)
tools="$cache/krew-tools-$key"
if [[ ! -x $tools/kubectl-krew || ! -x $tools/validate-krew-manifest ]]; then
  note "building krew and validate-krew-manifest into $tools"
  rm -rf "$tools.tmp"; mkdir -p "$tools.tmp"
  (cd "$here" && nice -n 19 go build -trimpath -o "$tools.tmp/" \
      sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest) ||
    bail_out "building krew failed"
  mv "$tools.tmp/krew" "$tools.tmp/kubectl-krew"
  rm -rf "$tools"; mv "$tools.tmp" "$tools"
fi

tmp=$T_TMP
path0=$PATH
export KREW_ROOT="$tmp/krew"
export PATH="$tools:$KREW_ROOT/bin:$path0"
# A HOME of our own: krew and kubectl write nothing outside the test.
export HOME="$tmp/home"; mkdir -p "$HOME"
unset KREW_OS KREW_ARCH

# ---- the manifest: krew's validator and the index's review rules ----
check "validate-krew-manifest accepts $manifest" \
  validate-krew-manifest -manifest "$manifest" -skip-install
short=$(sed -n 's/^  shortDescription: //p' "$manifest")
check "shortDescription is at most 50 characters (${#short})" test "${#short}" -le 50
check "version is v$version (Makefile VERSION)" grep -qx "  version: v$version" "$manifest"
check "description lines fit 80 columns" \
  bash -c "! awk '/^  description:/{d=1;next} /^  [a-z]/{d=0} d && length > 80' '$manifest' | grep -q ."
check "caveats name privileged pods" grep -q 'privileged pods' "$manifest"
for a in amd64 arm64; do
  f=$(archive "$a")
  want=$(sha256sum "$f" | cut -d' ' -f1)
  check "manifest sha256 for linux/$a matches $f" grep -q "sha256: $want" "$manifest"
  check "$f holds the plugin, LICENSE and README.md" \
    bash -c "[[ \$(tar -tzf '$f' | sort | tr '\n' ' ') == 'LICENSE README.md kubectl-runtime_switch ' ]]"
done
# The validator is real: it rejects what the index rejects.
sed 's/sha256: \([0-9a-f]\)/sha256: A/' "$manifest" > "$tmp/runtime-switch.yaml"
check "validate-krew-manifest rejects an uppercase sha256" fails_saying 'sha256|invalid' \
  validate-krew-manifest -manifest "$tmp/runtime-switch.yaml" -skip-install
sed '/^  platforms:/,$ s/arch: arm64/arch: amd64/' "$manifest" > "$tmp/runtime-switch.yaml"
check "validate-krew-manifest rejects overlapping platforms" fails_saying 'overlap|platform|duplicate' \
  validate-krew-manifest -manifest "$tmp/runtime-switch.yaml" -skip-install

# ---- install, run through krew's link, uninstall ----
check "kubectl finds krew as a plugin" "$kubectl" krew version
# krew's list and uninstall want an index (a git clone).  There is no
# network: serve it from a local repository holding our manifest, through
# krew's own KREW_DEFAULT_INDEX_URI, and let `krew update` clone it.
index="$tmp/index"
mkdir -p "$index/plugins"
cp "$manifest" "$index/plugins/runtime-switch.yaml"
check "a local krew index repository" eval 'git -C "$index" init -q && git -C "$index" add plugins &&
  git -C "$index" -c user.name=test -c user.email=test@example.invalid commit -q -m index'
export KREW_DEFAULT_INDEX_URI="file://$index"
check "kubectl krew update (clones the local index)" "$kubectl" krew update
check "kubectl krew search finds runtime-switch in it" \
  bash -c "'$kubectl' krew search runtime-switch 2>/dev/null | grep -q '^runtime-switch'"
check "kubectl krew install --manifest --archive ($host_arch)" \
  "$kubectl" krew install --manifest="$manifest" --archive="$(archive "$host_arch")"
link="$KREW_ROOT/bin/kubectl-runtime_switch"
check "krew linked $link into its store" \
  bash -c "[[ -L '$link' && \$(readlink -f '$link') == '$KREW_ROOT'/store/runtime-switch/v$version/* ]]"
check "LICENSE was extracted with the plugin" test -f "$KREW_ROOT/store/runtime-switch/v$version/LICENSE"
out=$("$kubectl" runtime-switch version --client 2>&1 | head -n 1)
if [[ $out == "Client Version: v$version" ]]; then ok "kubectl runtime-switch version --client: $out"
else fail "kubectl runtime-switch version --client" "it printed: $out"; fi
out=$("$kubectl" runtime_switch version --client 2>&1 | head -n 1)
if [[ $out == "Client Version: v$version" ]]; then ok "kubectl runtime_switch (underscore) works"
else fail "kubectl runtime_switch (underscore) works" "it printed: $out"; fi
check "the installed plugin names both embedded node helpers with their sha256" \
  bash -c "'$kubectl' runtime-switch version --client | grep -Eq '^Node Helper: v$version linux/amd64 [0-9]+ bytes sha256:[0-9a-f]{64}\$' && '$kubectl' runtime-switch version --client | grep -Eq '^Node Helper: v$version linux/arm64 '"
# Static: it runs in an empty root filesystem (no libc, no /etc, no CA
# store), which is what "runs on any Linux" comes down to.
empty=
if [[ $(id -u) == 0 ]]; then
  empty="$tmp/empty-root"; mkdir -p "$empty"
  cp "$(readlink -f "$link")" "$empty/kubectl-runtime_switch"
  out=$(chroot "$empty" /kubectl-runtime_switch version --client 2>&1 | head -n 1)
  if [[ $out == "Client Version: v$version" ]]; then ok "the installed plugin runs in an empty root filesystem"
  else fail "the installed plugin runs in an empty root filesystem" "it printed: $out"; fi
else
  skip "the installed plugin in an empty root filesystem: chroot needs root"
fi
check "kubectl plugin list shows the krew link" \
  bash -c "'$kubectl' plugin list 2>/dev/null | grep -qx '$link'"
check "kubectl krew list shows runtime-switch" \
  bash -c "'$kubectl' krew list 2>/dev/null | grep -q 'runtime-switch$'"
# Against the project's real cluster when it is up: the server answers too.
eval "$(cluster env)"
if "$kubectl" get --raw /version >/dev/null 2>&1; then
  e2e_lock || bail_out "the e2e lock"
  check "kubectl runtime-switch version reaches the cluster" \
    bash -c "'$kubectl' runtime-switch version | grep -q '^Server Version: v'"
  if [[ -n $empty ]] && "$kubectl" config view --raw --flatten --minify > "$empty/kubeconfig" 2>/dev/null; then
    check "in the empty root too: status over TLS with the kubeconfig's client certificate" \
      chroot "$empty" /kubectl-runtime_switch --kubeconfig /kubeconfig status
  fi
else
  skip "kubectl runtime-switch version against the cluster: it is not up (tests/e2e/cluster.sh up)"
fi
unset KUBECONFIG
check "kubectl krew uninstall runtime-switch" "$kubectl" krew uninstall runtime-switch
check "the link is gone" test ! -e "$link" -a ! -L "$link"
check "kubectl runtime-switch is unknown again" fails_saying 'unknown command' \
  "$kubectl" runtime-switch version --client

# ---- the other architecture's archive: krew installs it; it runs under qemu ----
export KREW_ROOT="$tmp/krew-$other_arch"
export PATH="$tools:$KREW_ROOT/bin:$path0"
check "kubectl krew update (a second KREW_ROOT)" "$kubectl" krew update
check "KREW_ARCH=$other_arch kubectl krew install --archive" \
  env KREW_ARCH="$other_arch" "$kubectl" krew install --manifest="$manifest" \
    --archive="$(archive "$other_arch")"
out=$("$qemu" "$KREW_ROOT/bin/kubectl-runtime_switch" version --client 2>&1)
# the first line is the client; the embedded node helpers follow
if [[ ${out%%$'\n'*} == "Client Version: v$version" && $out == *"Node Helper: v$version linux/$other_arch "* ]]; then
  ok "$other_arch plugin under $qemu: ${out//$'\n'/; }"
else
  fail "$other_arch plugin under $qemu" "it printed: $out"
fi
check "KREW_ARCH=$other_arch kubectl krew uninstall" \
  env KREW_ARCH="$other_arch" "$kubectl" krew uninstall runtime-switch

test_done
