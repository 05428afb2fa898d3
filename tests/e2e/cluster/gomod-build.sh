# Helpers for building a released Go module's commands into $RS_CACHE
# (sourced after lib.sh; used by containerd2/build.sh and crio/build.sh).
# Test harness only: nothing here is product behaviour.
#
# Shape of every such build:
#   - the key hashes the build script, this file, the version, the Go version
#     and whatever else the caller names, so a warm run only checks that
#     $RS_CACHE/runtimes/<name>-<version>-<key> exists (well under a second);
#   - the module comes from the Go module proxy (`go mod download`) and is
#     built in place, read-only, as its own main module: its go.mod and go.sum
#     pick every dependency (-mod=readonly); nothing is copied or edited;
#   - the build writes to a private directory under $RS_CACHE/runtimes, and
#     only the final rename, the link and the pruning of older builds happen
#     under $RS_CACHE/.cluster.lock, so a long Go build never holds the lock.
#
# A build script:
#   runtime_begin NAME MODULE VERSION [KEY-EXTRA...]
#   [[ -n $RUNTIME_TMP ]] || return 0             (up to date)
#   runtime_go_build "$RUNTIME_TMP/" ./cmd/...   (GO_TAGS, GO_LDFLAGS, CGO_ENABLED)
#   echo "tags=..." >>"$RUNTIME_TMP/BUILDINFO"
#   runtime_publish

RUNTIMES_DIR=$RS_CACHE/runtimes

# runtime_begin NAME MODULE VERSION [EXTRA...] -- RUNTIME_TMP empty when the
# build is current (NAME links to it). Otherwise: fetch MODULE@VERSION, set GOMOD_DIR
# (its read-only source), GOMOD_TIME (the version's commit time as the proxy
# records it), GOMOD_REV (its commit, when the proxy records one, else
# empty), RUNTIME_TMP (the private output directory, removed at exit) with
# the common part of its BUILDINFO. The key: the calling script, this file,
# MODULE@VERSION, EXTRA and the Go version.
runtime_begin() {
	local module=$2 version=$3 key json info
	RUNTIME_NAME=$1
	RUNTIME_TMP=
	shift 3
	key=$( (
		hash_files "$(realpath "$0")" "$(realpath "${BASH_SOURCE[0]}")"
		printf '%s\n' "$module@$version" "$@"
		go env GOVERSION
	) | sha256sum | cut -c1-16)
	RUNTIME_DIR=$RUNTIME_NAME-$version-$key
	if [[ -f $RUNTIMES_DIR/$RUNTIME_DIR/BUILDINFO && $(readlink "$RUNTIMES_DIR/$RUNTIME_NAME" 2>/dev/null) == "$RUNTIME_DIR" ]]; then
		log "$RUNTIME_NAME $version up to date: $RUNTIMES_DIR/$RUNTIME_DIR"
		return 0
	fi
	RUNTIME_START=$(date +%s)
	json=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$module@$version") ||
		die "the Go module proxy did not serve $module@$version"
	GOMOD_DIR=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	info=$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	[[ -n $GOMOD_DIR && -f $GOMOD_DIR/go.mod && -f $info ]] || die "no source for $module@$version in the module cache"
	GOMOD_TIME=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info")
	GOMOD_REV=$(sed -n 's/.*"Hash":"\([0-9a-f]*\)".*/\1/p' "$info")

	mkdir -p "$RUNTIMES_DIR"
	RUNTIME_TMP=$(mktemp -d "$RUNTIMES_DIR/.build-$RUNTIME_NAME.XXXXXX")
	chmod 755 "$RUNTIME_TMP"
	# shellcheck disable=SC2064 # expand now: the path is fixed
	trap "rm -rf '$RUNTIME_TMP'" EXIT
	printf '%s\n' "module=$module" "version=$version" "commit=$GOMOD_REV" "commit_time=$GOMOD_TIME" \
		"go=$(go env GOVERSION)" >"$RUNTIME_TMP/BUILDINFO"
	log "building $RUNTIME_NAME $version from $GOMOD_DIR"
}

# runtime_go_build OUT PKG... -- go build as every runtime here is built:
# in the module's own directory, -trimpath, -p 2 under nice, go.sum enforced,
# no toolchain switch. GO_TAGS, GO_LDFLAGS and CGO_ENABLED come from the caller.
runtime_go_build() {
	local out=$1
	shift
	(cd "$GOMOD_DIR" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly nice -n 10 \
		go build -p "${GO_BUILD_P:-2}" -trimpath -buildvcs=false \
		-tags "$GO_TAGS" -ldflags "$GO_LDFLAGS" -o "$out" "$@")
}

# runtime_publish -- move the finished $RUNTIME_TMP to $RUNTIME_DIR, link
# $RUNTIME_NAME to it and drop older builds of it, under the cache lock
# (already held when a parent such as `cluster.sh build` passes its lock
# down on fd 9).
runtime_publish() {
	local old secs=$(($(date +%s) - RUNTIME_START))
	echo "build_seconds=$secs" >>"$RUNTIME_TMP/BUILDINFO"
	if [[ $(readlink /proc/$$/fd/9 2>/dev/null) != "$RS_CACHE/.cluster.lock" ]]; then
		exec 9>>"$RS_CACHE/.cluster.lock"
	fi
	flock 9
	rm -rf "${RUNTIMES_DIR:?}/$RUNTIME_DIR"
	mv "$RUNTIME_TMP" "$RUNTIMES_DIR/$RUNTIME_DIR"
	ln -sfn "$RUNTIME_DIR" "$RUNTIMES_DIR/$RUNTIME_NAME"
	for old in "$RUNTIMES_DIR/$RUNTIME_NAME"-*; do
		[[ -d $old && ${old##*/} != "$RUNTIME_DIR" ]] && rm -rf "$old"
	done
	log "$RUNTIME_NAME built in $secs s: $RUNTIMES_DIR/$RUNTIME_DIR"
}
