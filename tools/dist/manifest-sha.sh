#!/usr/bin/env bash
# Build-time tool (not product code): rewrite a krew manifest's version,
# platform URIs and sha256 values from the archives just built.
#   tools/dist/manifest-sha.sh MANIFEST DISTDIR VERSION URL_BASE
# Each platform's `uri:` names its archive by file name; the `sha256:` that
# follows it in the same platform entry gets that archive's digest.  The
# `version:` becomes vVERSION and every uri URL_BASE/<file name>.  Fails if
# an archive is missing, so a manifest never names bytes nobody built.
set -euo pipefail
manifest=${1:?usage: manifest-sha.sh MANIFEST DISTDIR VERSION URL_BASE}
dist=${2:?}; version=${3:?}; base=${4:?}
tmp=$(mktemp "$manifest.XXXXXX")
trap 'rm -f "$tmp"' EXIT
awk -v dist="$dist" -v version="$version" -v base="$base" '
  function digest(file,   cmd, line, parts) {
    cmd = "sha256sum \"" dist "/" file "\" 2>/dev/null"
    line = ""
    cmd | getline line
    close(cmd)
    split(line, parts, " ")
    if (length(parts[1]) != 64 || parts[1] !~ /^[0-9a-f]+$/) {
      print "manifest-sha: no archive " dist "/" file > "/dev/stderr"
      failed = 1
      exit 1
    }
    return parts[1]
  }
  /^  version: / { sub(/version: .*/, "version: v" version) }
  /^ *uri: / {
    file = $2; sub(/.*\//, "", file)
    indent = $0; sub(/uri:.*/, "", indent)
    $0 = indent "uri: " base "/" file
    pending = file
  }
  /^ *sha256: / {
    if (pending == "") {
      print "manifest-sha: sha256 before uri in a platform" > "/dev/stderr"
      failed = 1
      exit 1
    }
    indent = $0; sub(/sha256:.*/, "", indent)
    $0 = indent "sha256: " digest(pending)
    pending = ""
    done++
  }
  { print }
  END {
    if (failed) exit 1
    if (!done) { print "manifest-sha: no platforms" > "/dev/stderr"; exit 1 }
  }
' "$manifest" > "$tmp"
cat "$tmp" > "$manifest"
echo "manifest-sha: $manifest: version v$version, sha256 of $(grep -c 'sha256:' "$manifest") archives"
