#!/usr/bin/env bash
# The node helper's tests (make test-helper):
#   1. fixture host roots (tests/helper/cases/*): launch + apply with fake
#      host commands; the plan, the files and the commands run are compared
#      with the golden files in each case's expected/ (--update rewrites them)
#   2. the real containerd accepts every produced config and, started with
#      it, lists io.containerd.grpc.v1.cri as ok
#   3. kill matrix: SIGKILL after every journal record, in apply and in
#      rollback; a rerun finishes (golden files) or rolls back (checksums of
#      the original tree, services as before)
#   4. the arm64 helper under qemu-user on one case
# usage: run.sh HELPER_AMD64 HELPER_ARM64 [--update] [--quick]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
H=$1; H64=$2; shift 2
UPDATE=0; QUICK=0
for a in "$@"; do case $a in --update) UPDATE=1 ;; --quick) QUICK=1 ;; esac; done
FAKE=$here/fakebin
W=$(mktemp -d /tmp/rs-helper-test.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# a kubelet healthz that answers 200 ok
python3 - "$W/port" <<'PY' &
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
with socketserver.TCPServer(("127.0.0.1", 0), H) as s:
    open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
    import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    s.serve_forever()
PY
pids+=($!)
for _ in $(seq 50); do [ -f "$W/port" ] && break; sleep 0.1; done
PORT=$(cat "$W/port")
# a closed port: healthz never answers
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# setup CASE DIR: a fresh host root for a case
setup() {
  rm -rf "$2"; mkdir -p "$2"
  cp -a "$here/cases/$1/root/." "$2/"
  cp -a "$here/cases/$1/fake" "$2/.fake"
  mkdir -p "$2/run/systemd/system"
  : > "$2/.fake/log"
}
# tree R: every file outside the helper's state, with mode and checksum
tree() {
  (cd "$1" && find . \( -path ./.fake -o -path ./var/lib/kubectl-runtime-switch -o -path ./run \) -prune \
     -o \( -type f -o -type d \) -printf '%y %m %p\n' | sort | while read -r t m p; do
       if [ "$t" = f ]; then echo "$m $(sha256sum < "$p" | cut -c1-16) $p"; else echo "$m dir $p"; fi
     done)
}
units() { (cd "$1/.fake/units" && for u in *; do echo "$u $(cat "$u")"; done); }
helper() { local bin=$1 r=$2; shift 2; "$bin" "$@" --root "$r" --exec-path "$FAKE" ; }
norm() { sed -e "s#$1#\$ROOT#g" -e 's/"deadline":[0-9]*/"deadline":0/' -e 's/"free_bytes":[0-9]*/"free_bytes":0/' ; }

golden() { # file-or-dir expected-path label
  if [ $UPDATE = 1 ]; then rm -rf "$2"; mkdir -p "$(dirname "$2")"; cp -a "$1" "$2"; ok; return; fi
  if diff -ru "$2" "$1" > "$W/diff" 2>&1; then ok; else bad "$3 differs from golden:"; head -40 "$W/diff" >&2; fi
}

launch() { # bin root to extra...
  local bin=$1 r=$2 to=$3; shift 3
  "$bin" launch --root "$r" --exec-path "$FAKE" --id t1 --to "$to" --kubelet-healthz "127.0.0.1:$PORT" --kubelet-wait 2 "$@"
}
apply() { # bin root port extra...
  local bin=$1 r=$2 port=$3; shift 3
  "$bin" apply --root "$r" --exec-path "$FAKE" --id t1 --kubelet-healthz "127.0.0.1:$port" --kubelet-wait 1 "$@"
}

CASES=$(cd "$here/cases" && ls)
echo "== fixtures and golden files"
for c in $CASES; do
  TO=; LAUNCH_EXIT=7
  . "$here/cases/$c/case.env"
  R=$W/$c/root; E=$here/cases/$c/expected
  setup "$c" "$R"
  tree "$R" > "$W/$c/tree.before"; units "$R" > "$W/$c/units.before"
  set +e; launch "$H" "$R" "$TO" > "$W/$c/plan.raw" 2> "$W/$c/launch.err"; rc=$?; set -e
  [ "$rc" = "$LAUNCH_EXIT" ] || { bad "$c: launch exit $rc, want $LAUNCH_EXIT: $(cat "$W/$c/launch.err")"; continue; }
  norm "$R" < "$W/$c/plan.raw" | python3 -m json.tool > "$W/$c/plan.json"
  mkdir -p "$W/$c/out"; cp "$W/$c/plan.json" "$W/$c/out/plan.json"
  if [ "$LAUNCH_EXIT" = 7 ]; then
    set +e; apply "$H" "$R" "$PORT" > /dev/null 2> "$W/$c/apply.err"; rc=$?; set -e
    [ "$rc" = 0 ] || bad "$c: apply exit $rc: $(cat "$W/$c/apply.err")"
    "$H" report --root "$R" --id t1 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"]=="done", d["reason"]; assert d["exit_code"]==0' || bad "$c: report"
    tree "$R" > "$W/$c/out/tree.txt"; units "$R" > "$W/$c/out/units.txt"
    sed -e "s#$FAKE#\$FAKEBIN#g" -e "s#127.0.0.1:$PORT#127.0.0.1:\$PORT#g" "$R/.fake/log" > "$W/$c/out/commands.log"
    # the changed and created files themselves, for review
    (cd "$R" && { diff "$W/$c/tree.before" "$W/$c/out/tree.txt" || true; } | sed -n 's/^> [0-7]* [0-9a-f]\{16\} \.\///p' | while read -r f; do
        mkdir -p "$W/$c/out/files/$(dirname "$f")"; cp "$f" "$W/$c/out/files/$f"; done)
    cp "$R/var/lib/kubectl-runtime-switch/t1/result.json" "$W/$c/result.json"
  else
    [ "$(tree "$R")" = "$(cat "$W/$c/tree.before")" ] && ok || bad "$c: a blocked launch changed files"
    [ ! -e "$R/var/lib/kubectl-runtime-switch/t1" ] && ok || bad "$c: a blocked launch left a run"
  fi
  golden "$W/$c/out" "$E" "$c"
done

CTD=/usr/bin/containerd; CTR=/usr/bin/ctr   # Debian's package, whatever else is on PATH
echo "== real containerd $($CTD --version | cut -d' ' -f3) accepts the produced configs"
for c in $CASES; do
  f=$W/$c/root/etc/containerd/config.toml
  [ -f "$W/$c/result.json" ] && grep -q '^version = 2' "$f" 2>/dev/null || continue
  d=$W/ctd-$c; mkdir -p "$d"
  $CTD --config "$f" config dump > /dev/null 2> "$d/dump.err" || { bad "$c: config dump: $(cat "$d/dump.err")"; continue; }
  $CTD --config "$f" --root "$d/root" --state "$d/state" --address "$d/c.sock" > "$d/log" 2>&1 &
  cpid=$!
  st=""
  for _ in $(seq 100); do
    st=$($CTR --address "$d/c.sock" plugins ls 2>/dev/null | awk '$1=="io.containerd.grpc.v1" && $2=="cri" {print $4}') || true
    [ -n "$st" ] && break; sleep 0.1
  done
  kill "$cpid"; wait "$cpid" 2>/dev/null || true
  if [ "$st" = ok ]; then ok; echo "   $c: io.containerd.grpc.v1.cri ok"; else bad "$c: cri plugin '$st' ($(grep -m1 'level=error' "$d/log"))"; fi
  umount -R "$d/state" 2>/dev/null || true
done

echo "== kill matrix"
RB_KILL_CASES="docker-ce-containerd-io e2e-node-1.34 cri-dockerd-1.28-to-crio dockershim-1.23-to-cri-dockerd"
killrun() { # case: SIGKILL apply after every record; the rerun must finish
  local c=$1 R=$W/km/root n rc
  . "$here/cases/$c/case.env"
  n=$(grep -vc ' launched' "$W/$c/root/var/lib/kubectl-runtime-switch/t1/journal")
  for k in $(seq 1 "$n"); do
    setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1 || true
    set +e; apply "$H" "$R" "$PORT" --crash-after-step "$k" > /dev/null 2>&1; rc=$?
    apply "$H" "$R" "$PORT" > /dev/null 2>&1; rc2=$?; set -e
    [ "$rc" = 137 ] || [ "$k" = "$n" ] || { bad "$c: kill at $k: exit $rc"; continue; }
    [ "$rc2" = 0 ] || { bad "$c: rerun after kill at $k: exit $rc2"; continue; }
    [ "$(tree "$R")" = "$(cat "$here/cases/$c/expected/tree.txt")" ] && ok || bad "$c: files after kill at $k"
    [ "$(units "$R")" = "$(cat "$here/cases/$c/expected/units.txt")" ] && ok || bad "$c: services after kill at $k"
  done
  echo "   $c: killed after each of $n records, every rerun finished"
  # failure → rollback (healthz never answers); kill after every record
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1 || true
  set +e; apply "$H" "$R" "$DEAD" > /dev/null 2>&1; rc=$?; set -e
  [ "$rc" = 4 ] || bad "$c: failing apply exit $rc, want 4 (rolled back)"
  [ "$(tree "$R")" = "$(cat "$W/$c/tree.before")" ] && ok || bad "$c: files not restored byte-identical"
  [ "$(units "$R")" = "$(cat "$W/$c/units.before")" ] && ok || bad "$c: services not restored"
  grep -q 'rolled-back wait-kubelet: ' "$R/var/lib/kubectl-runtime-switch/t1/journal" && ok || bad "$c: no reason recorded"
  n=$(grep -vc ' launched' "$R/var/lib/kubectl-runtime-switch/t1/journal")
  # killing the rollback itself: the main paths (each failing run takes a
  # second of healthz waiting, so not every case)
  case " $RB_KILL_CASES " in *" $c "*) ;; *) return 0 ;; esac
  [ $QUICK = 1 ] && return 0
  for k in $(seq 1 "$n"); do
    setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1 || true
    set +e; apply "$H" "$R" "$DEAD" --crash-after-step "$k" > /dev/null 2>&1; rc=$?
    apply "$H" "$R" "$DEAD" > /dev/null 2>&1; rc2=$?; set -e
    [ "$rc2" = 4 ] || { bad "$c: rerun after kill at $k of the failing run: exit $rc2"; continue; }
    [ "$(tree "$R")" = "$(cat "$W/$c/tree.before")" ] && ok || bad "$c: files after rollback kill at $k"
    [ "$(units "$R")" = "$(cat "$W/$c/units.before")" ] && ok || bad "$c: services after rollback kill at $k"
  done
  echo "   $c: failing run killed after each of $n records, every rerun rolled back byte-identical"
}
for c in $CASES; do
  [ -f "$W/$c/result.json" ] || continue
  killrun "$c"
done

echo "== rollback on request after a finished switch"
c=e2e-node-1.34; R=$W/req/root; . "$here/cases/$c/case.env"
setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null || true
apply "$H" "$R" "$PORT" > /dev/null
set +e; "$H" rollback --root "$R" --exec-path "$FAKE" --id t1 --reason "test" > /dev/null; rc=$?; set -e
[ "$rc" = 4 ] && ok || bad "requested rollback exit $rc"
[ "$(tree "$R")" = "$(cat "$W/$c/tree.before")" ] && ok || bad "requested rollback: files"
[ "$(units "$R")" = "$(cat "$W/$c/units.before")" ] && ok || bad "requested rollback: services"

echo "== launch killed, then launched again"
c=docker-ce-containerd-io; R=$W/relaunch/root; . "$here/cases/$c/case.env"
setup "$c" "$R"
set +e; launch "$H" "$R" "$TO" --crash-after-step 1 > /dev/null 2>&1; rc=$?; set -e
[ "$rc" = 137 ] && [ ! -e "$R/var/lib/kubectl-runtime-switch/bin/rs-node-helper" ] && ok || bad "launch crash: exit $rc"
set +e; launch "$H" "$R" "$TO" > /dev/null 2>&1; rc=$?; apply "$H" "$R" "$PORT" > /dev/null 2>&1; rc2=$?; set -e
[ "$rc" = 7 ] && [ "$rc2" = 0 ] && [ -x "$R/var/lib/kubectl-runtime-switch/bin/rs-node-helper" ] && ok || bad "relaunch: $rc, apply: $rc2"
[ "$(tree "$R")" = "$(cat "$here/cases/$c/expected/tree.txt")" ] && ok || bad "relaunch: files"
# a launch killed before its plan was written left only copies: start over
setup "$c" "$R"; mkdir -p "$R/var/lib/kubectl-runtime-switch/t1/backup"; echo partial > "$R/var/lib/kubectl-runtime-switch/t1/backup/0"
set +e; launch "$H" "$R" "$TO" > /dev/null 2>&1; rc=$?; set -e
[ "$rc" = 7 ] && ok || bad "launch over an unfinished run: exit $rc"

echo "== arm64 helper under qemu-user"
if command -v qemu-aarch64-static > /dev/null; then
  c=docker-ce-containerd-io; R=$W/arm/root; . "$here/cases/$c/case.env"
  setup "$c" "$R"
  set +e; launch "qemu-aarch64-static $H64" "$R" "$TO" > /dev/null 2>&1; true
  qemu-aarch64-static "$H64" launch --root "$R" --exec-path "$FAKE" --id t1 --to "$TO" > /dev/null 2>&1; rc=$?
  qemu-aarch64-static "$H64" apply --root "$R" --exec-path "$FAKE" --id t1 --kubelet-healthz "127.0.0.1:$PORT" --kubelet-wait 2 > /dev/null 2>&1; rc2=$?
  set -e
  [ "$rc" = 7 ] && [ "$rc2" = 0 ] && ok || bad "arm64: launch $rc apply $rc2"
  [ "$(tree "$R")" = "$(cat "$here/cases/$c/expected/tree.txt")" ] && ok || bad "arm64: files differ from the amd64 golden tree"
  echo "   arm64 ($(qemu-aarch64-static "$H64" version)) matches the golden tree"
else
  bad "qemu-aarch64-static missing (make deps)"
fi

echo "helper: $pass passed, $fail failed"
[ "$fail" = 0 ]
