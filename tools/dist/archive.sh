#!/usr/bin/env bash
# Build-time tool (not product code): one release archive, reproducibly.
#   tools/dist/archive.sh OUT.tar.gz FILE...
# The files go to the archive's root (krew extracts it and links `bin`),
# owned by 0:0, sorted, dated by the last commit (or SOURCE_DATE_EPOCH), and
# gzip without a name or time stamp, so the same inputs give the same bytes
# and the same sha256.  Writes OUT.sha256 beside it (sha256sum's format).
set -euo pipefail
out=${1:?usage: archive.sh OUT.tar.gz FILE...}; shift
(( $# > 0 )) || { echo "archive.sh: no files" >&2; exit 2; }
# The manifest is left out: `make dist` rewrites it, and committing it must
# not change the next archive's bytes.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct -- . ':(exclude)krew-manifest' 2>/dev/null || echo 0)}
epoch=${epoch:-0}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
names=()
for f in "$@"; do
  b=$(basename "$f")
  cp -p "$f" "$stage/$b"
  case $b in kubectl-*) chmod 0755 "$stage/$b" ;; *) chmod 0644 "$stage/$b" ;; esac
  names+=("$b")
done
mkdir -p "$(dirname "$out")"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@$epoch" --format=gnu -cf - "${names[@]}" | gzip -9 -n > "$out.tmp"
mv "$out.tmp" "$out"
(cd "$(dirname "$out")" && sha256sum "$(basename "$out")" > "$(basename "$out").sha256")
echo "$out: $(stat -c %s "$out") bytes, sha256 $(cut -d' ' -f1 "$out.sha256")"
