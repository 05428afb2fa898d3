#!/usr/bin/env bash
# The node helper's tests (make test-helper):
#   1. fixture host roots (tests/helper/cases/*): launch + apply with fake
#      host commands (tests/fakes/helper-bin); the plan, the files and the
#      commands run are compared with the golden files in each case's
#      expected/ (--update rewrites them)
#   2. the real daemons accept every produced config: a version 2 config
#      is started with Debian's containerd 1.6, a version 3 or 4 one with
#      the built containerd 2.x (make runtimes-build), and each lists its
#      CRI plugins as ok with the kubelet's cgroup driver; every produced
#      CRI-O drop-in is read by the built crio (crio config, crio version)
#   3. kill matrix: SIGKILL after every journal record, in apply and in
#      rollback; a rerun finishes (golden files) or rolls back (checksums of
#      the original tree, services as before)
#   4. reboot matrix: SIGKILL after every record, then a simulated boot
#      (tests/fakes/helper-bin/_boot): the boot guard alone finishes the
#      switch or the rollback
#   5. integrity (--expect-sha256, the host copy), rollback of edited
#      files, pruning of old runs
#   6. the arm64 helper under qemu-user on one case
# Independent parts run as parallel jobs (HELPER_TEST_JOBS at a time,
# default 2: they mostly wait), each with its own output, printed in order
# and numbered as one suite.
# usage: run.sh HELPER_AMD64 HELPER_ARM64 [--update] [--quick]
. "$(dirname "$0")/../lib/test-lib.sh"
here=$RS_ROOT/tests/helper
H=$1; H64=$2; shift 2
UPDATE=0; QUICK=0
for a in "$@"; do case $a in --update) UPDATE=1 ;; --quick) QUICK=1 ;; esac; done
need python3 qemu-aarch64-static
FAKE=$RS_ROOT/tests/fakes/helper-bin
RS_CACHE=${RS_CACHE:-/var/cache/kubectl-runtime-switch}
W=$T_TMP

# a kubelet healthz that answers 200 ok
python3 "$RS_ROOT/tests/fakes/healthz.py" "$W/port" &
at_exit "kill $! 2>/dev/null"
wait_until 5 "the healthz server's port file" test -s "$W/port" || bail_out "the fake kubelet healthz did not start"
PORT=$(cat "$W/port")
# a closed port: healthz never answers
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# setup CASE DIR: a fresh host root for a case
setup() {
  rm -rf "$2"; mkdir -p "$2"
  cp -a "$here/cases/$1/root/." "$2/"
  cp -a "$here/cases/$1/fake" "$2/.fake"
  # the fake containerd hands config default/dump/migrate to the built 2.x
  [ ! -f "$2/.fake/containerd-real" ] || echo "$CTD2/containerd" > "$2/.fake/containerd-real"
  mkdir -p "$2/run/systemd/system" "$2/etc/systemd/system" "$2/proc/sys/kernel/random"
  cat /proc/sys/kernel/random/uuid > "$2/proc/sys/kernel/random/boot_id"
  : > "$2/.fake/log"
}
# tree R: every file outside the helper's state, with mode and checksum,
# and every symlink with its target
# (one sha256sum for all the files: the kill matrix takes a tree a run)
tree() {
  local list t m p h
  local -A sum
  list=$(cd "$1" && find . \( -path ./.fake -o -path ./var/lib/kubectl-runtime-switch -o -path ./run -o -path ./proc \) -prune \
     -o \( -type f -o -type d \) -printf '%y %m %p\n' -o -type l -printf '%y %m %p -> %l\n' | sort)
  while read -r h p; do sum[$p]=${h:0:16}; done < <(cd "$1" && sed -n 's/^f [0-7]* //p' <<<"$list" | xargs -r -d '\n' sha256sum)
  while read -r t m p; do
    case $t in f) echo "$m ${sum[$p]} $p" ;; l) echo "link $p" ;; *) echo "$m dir $p" ;; esac
  done <<<"$list"
}
units() { local u l; for u in "$1"/.fake/units/*; do read -r l < "$u"; echo "${u##*/} $l"; done; }
norm() { sed -e "s#$1#\$ROOT#g" -e 's/"deadline":[0-9]*/"deadline":0/' -e 's/"free_bytes":[0-9]*/"free_bytes":0/' ; }

# same TEXT FILE: TEXT is the file's content (else the difference)
same() { diff <(printf '%s\n' "$1") "$2" | head -n 20; [ "$1" = "$(cat "$2")" ]; }
# exits WANT RC [FILE]: RC is WANT (else what the command printed in FILE)
exits() { [ "$2" = "$1" ] && return 0; echo "exit $2, want $1"; [ -z "${3:-}" ] || tail -n 20 "$3"; return 1; }
# golden DIR EXPECTED: DIR equals the golden copy (--update rewrites it)
golden() {
  if [ $UPDATE = 1 ]; then rm -rf "$2"; mkdir -p "$(dirname "$2")"; cp -a "$1" "$2"; return 0; fi
  diff -ru "$2" "$1" | head -n 40
}
report_done() { # ROOT: the helper's report says done, exit code 0
  "$H" report --root "$1" --id t1 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"]=="done", d["reason"]; assert d["exit_code"]==0'
}

launch() { # bin root to extra...
  local bin=$1 r=$2 to=$3; shift 3
  "$bin" launch --root "$r" --exec-path "$FAKE" --id t1 --to "$to" --kubelet-healthz "127.0.0.1:$PORT" --kubelet-wait 2 "$@"
}
apply() { # bin root port extra...
  local bin=$1 r=$2 port=$3; shift 3
  "$bin" apply --root "$r" --exec-path "$FAKE" --id t1 --kubelet-healthz "127.0.0.1:$port" --kubelet-wait 1 "$@"
}

# fixture CASE: launch and apply on the case's host root, the golden files
fixture() {
  local c=$1 R E rc
  TO=; LAUNCH_EXIT=7
  . "$here/cases/$c/case.env"
  R=$W/$c/root; E=$here/cases/$c/expected
  setup "$c" "$R"
  tree "$R" > "$W/$c/tree.before"; units "$R" > "$W/$c/units.before"
  launch "$H" "$R" "$TO" > "$W/$c/plan.raw" 2> "$W/$c/launch.err"; rc=$?
  check "$c: launch exits $LAUNCH_EXIT" exits "$LAUNCH_EXIT" "$rc" "$W/$c/launch.err" || return 0
  norm "$R" < "$W/$c/plan.raw" | python3 -m json.tool > "$W/$c/plan.json"
  mkdir -p "$W/$c/out"; cp "$W/$c/plan.json" "$W/$c/out/plan.json"
  if [ "$LAUNCH_EXIT" = 7 ]; then
    apply "$H" "$R" "$PORT" > /dev/null 2> "$W/$c/apply.err"; rc=$?
    check "$c: apply exits 0" exits 0 "$rc" "$W/$c/apply.err"
    check "$c: the report says done" report_done "$R"
    tree "$R" > "$W/$c/out/tree.txt"; units "$R" > "$W/$c/out/units.txt"
    sed -e "s#$FAKE#\$FAKEBIN#g" -e "s#127.0.0.1:$PORT#127.0.0.1:\$PORT#g" "$R/.fake/log" > "$W/$c/out/commands.log"
    # the changed and created files themselves, for review
    (cd "$R" && { diff "$W/$c/tree.before" "$W/$c/out/tree.txt" || true; } | sed -n 's/^> [0-7]* [0-9a-f]\{16\} \.\///p' | while read -r f; do
        mkdir -p "$W/$c/out/files/$(dirname "$f")"; cp "$f" "$W/$c/out/files/$f"; done)
    check "$c: the run left its result.json" cp "$R/var/lib/kubectl-runtime-switch/t1/result.json" "$W/$c/result.json"
  else
    check "$c: a blocked launch changes no file" same "$(tree "$R")" "$W/$c/tree.before"
    check "$c: a blocked launch leaves no run" test ! -e "$R/var/lib/kubectl-runtime-switch/t1"
  fi
  check "$c: plan, files, services and commands as the golden files" golden "$W/$c/out" "$E"
}

CTD=/usr/bin/containerd; CTR=/usr/bin/ctr   # Debian's package, whatever else is on PATH
CTD2=$RS_CACHE/runtimes/containerd2; CRIO=$RS_CACHE/runtimes/crio   # make runtimes-build
# ctd_start BIN CONFIG D: BIN/containerd started with CONFIG in a private
# root, state and socket (D/c.sock), and a private mount namespace with its
# own /run: a version 4 config names the ttrpc, NRI and other sockets itself
# (no --address moves them), and two jobs must not share them; CTD_PID
ctd_start() {
  unshare -m --propagation private -- bash -c 'mount -t tmpfs rs-test /run && exec "$@"' ctd \
    "$1/containerd" --config "$2" --root "$3/root" --state "$3/state" --address "$3/c.sock" > "$3/log" 2>&1 &
  CTD_PID=$!
}
# ctd_plugins BIN D: `ctr plugins ls` once the daemon answers (empty if it died)
ctd_plugins() {
  local i
  for i in $(seq 100); do
    "$1/ctr" --address "$2/c.sock" plugins ls > "$2/plugins" 2>/dev/null && return 0
    kill -0 "$CTD_PID" 2>/dev/null || break
    sleep 0.1
  done
  : > "$2/plugins"
}
ctd_stop() { kill "$CTD_PID" 2>/dev/null; wait "$CTD_PID" 2>/dev/null; }
plugin_status() { awk -v t="$2" -v id="$3" '$1 == t && $2 == id { print $NF }' "$1"; }
# cgroup_driver CASE: the cgroup driver of the produced kubelet config
cgroup_driver() { sed -n 's/^cgroupDriver: *//p' "$W/$1/root/var/lib/kubelet/config.yaml" 2>/dev/null; }

# cri_ok CASE CONFIG: Debian's containerd 1.6 started with a version 2
# CONFIG lists its CRI plugin as ok
cri_ok() {
  local c=$1 f=$2 d=$W/ctd-$1 st st2
  mkdir -p "$d"
  $CTD --config "$f" config dump > /dev/null 2> "$d/dump.err" || { echo "config dump:"; cat "$d/dump.err"; return 1; }
  ctd_start /usr/bin "$f" "$d"; ctd_plugins /usr/bin "$d"
  st=$(plugin_status "$d/plugins" io.containerd.grpc.v1 cri)
  [ "$st" = ok ] && hosts_ok "$c" "$d"; st2=$?
  ctd_stop
  [ "$st" = ok ] || { echo "cri plugin '$st'"; grep -m1 'level=error' "$d/log"; return 1; }
  return $st2
}
# hosts_ok CASE D [CTR]: the real ctr (Debian's, or CTR: containerd 2.x's,
# whose daemon resolves for it) resolves through each produced certs.d/<host>
# (its hosts.toml, CA and client pair loaded): each host it names is moved to
# its own 127.0.0.N (N > 1) on a closed port, the paths into the case's root;
# a request to such an address shows ctr used the file (it ignores a file it
# cannot parse and asks 127.0.0.1, the image's registry, itself)
hosts_ok() {
  local c=$1 d=$2 ctr=${3:-$CTR} h out R=$W/$1/root
  for h in "$R"/etc/containerd/certs.d/*/; do
    [ -f "$h/hosts.toml" ] || continue
    rm -rf "$d/hosts"; mkdir -p "$d/hosts/127.0.0.1:$DEAD"
    python3 - "$h/hosts.toml" "$R" "$DEAD" > "$d/hosts/127.0.0.1:$DEAD/hosts.toml" <<'PY'
import re, sys
text, root, port = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
hosts = {}
text = re.sub(r'(https?://)([^"/]+)', lambda m: m.group(1) + "127.0.0.%d:%s" % (hosts.setdefault(m.group(2), len(hosts) + 2), port), text)
print(text.replace("/etc/containerd/certs.d", root + "/etc/containerd/certs.d"), end="")
PY
    out=$(timeout 30 "$ctr" --address "$d/c.sock" images pull --hosts-dir "$d/hosts" "127.0.0.1:$DEAD/x:y" 2>&1)
    [[ $out =~ 127\.0\.0\.([2-9]|[1-9][0-9]):$DEAD:\ connect:\ connection\ refused ]] || { echo "${h#$R}: $out" | tail -n 3; return 1; }
  done
}
# cri2_ok CASE CONFIG: the built containerd 2.x reads a version 3 or 4
# CONFIG where it looks for what the helper set (SystemdCgroup as the
# kubelet's cgroup driver; no key of ours ignored as unknown) and, started
# with it, lists the CRI image and runtime plugins and the CRI service ok,
# and its ctr resolves through the produced hosts.toml files
cri2_ok() {
  local c=$1 f=$2 d=$W/ctd2-$1 p st bad=0 drv
  mkdir -p "$d"
  "$CTD2/containerd" --config "$f" config dump > "$d/dump" 2> "$d/dump.err" ||
    { echo "config dump:"; cat "$d/dump.err"; return 1; }
  if grep 'unknown key' "$d/dump.err" | grep -E 'key=(SystemdCgroup|sandbox|config_path|bin_dirs?|conf_dir|runtime_type) '; then
    echo "containerd ignores a key the helper wrote"; bad=1
  fi
  drv=$(cgroup_driver "$c")
  python3 - "$d/dump" "${drv:-cgroupfs}" <<'PY' || bad=1
import sys, tomllib
d = tomllib.load(open(sys.argv[1], "rb"))
want = sys.argv[2] == "systemd"
rt = d["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]
runc = rt["runtimes"][rt.get("default_runtime_name", "runc")]
got = runc.get("options", {}).get("SystemdCgroup", False)
if got != want:
    sys.exit("the default runtime's SystemdCgroup is %s as containerd reads it; the kubelet's cgroup driver is %s" % (got, sys.argv[2]))
PY
  ctd_start "$CTD2" "$f" "$d"; ctd_plugins "$CTD2" "$d"
  hosts_ok "$c" "$d" "$CTD2/ctr" || bad=1
  ctd_stop
  for p in "io.containerd.cri.v1 images" "io.containerd.cri.v1 runtime" "io.containerd.grpc.v1 cri"; do
    # shellcheck disable=SC2086 # TYPE and ID
    st=$(plugin_status "$d/plugins" $p)
    [ "$st" = ok ] || { echo "$p: '$st'"; bad=1; }
  done
  [ $bad = 0 ] || { grep -m2 'level=\(error\|fatal\)' "$d/log"; return 1; }
}
# crio_ok CASE: the built crio reads the case's crio.conf and every
# produced drop-in (crio config, crio version) and ends with the kubelet's
# cgroup driver as its cgroup_manager
crio_ok() {
  local c=$1 R=$W/$1/root d=$W/crio-$1 main drv out
  mkdir -p "$d/conf.d"
  main=$R/etc/crio/crio.conf; [ -f "$main" ] || { main=$d/crio.conf; : > "$main"; }
  cp "$R"/etc/crio/crio.conf.d/*.conf "$d/conf.d/"
  out=$("$CRIO/crio" --config "$main" --config-dir "$d/conf.d" config 2> "$d/config.err") ||
    { echo "crio config:"; grep -v 'level=info' "$d/config.err" | tail -n 5; return 1; }
  "$CRIO/crio" --config "$main" --config-dir "$d/conf.d" version > "$d/version" 2> "$d/version.err" ||
    { echo "crio version:"; grep -v 'level=info' "$d/version.err" | tail -n 5; return 1; }
  drv=$(cgroup_driver "$c")
  # crio prints a value that is its default commented out
  grep -qx "cgroup_manager = \"${drv:-cgroupfs}\"" < <(sed 's/^[[:space:]]*\(# \)\{0,1\}//' <<<"$out") ||
    { echo "crio's cgroup_manager is not the kubelet's cgroup driver ${drv:-cgroupfs}"; grep 'cgroup_manager =' <<<"$out"; return 1; }
}
# real_check CASE: the real daemons with what the case produced
real_check() {
  local c=$1 f=$W/$1/root/etc/containerd/config.toml v
  [ -f "$W/$c/result.json" ] || return 0
  v=$(sed -n 's/^version *= *\([0-9]*\).*/\1/p' "$f" 2>/dev/null)
  case $v in
    2) check "$c: Debian's containerd starts with the produced config, io.containerd.grpc.v1.cri ok, its ctr reads the hosts.toml files" cri_ok "$c" "$f" ;;
    3|4) check "$c: containerd 2.x reads the produced config version $v and starts with it, CRI ok, its ctr reads the hosts.toml files" cri2_ok "$c" "$f" ;;
  esac
  if compgen -G "$W/$c/root/etc/crio/crio.conf.d/*.conf" > /dev/null; then
    check "$c: crio config and crio version accept the produced CRI-O configuration" crio_ok "$c"
  fi
}

RB_KILL_CASES="docker-ce-containerd-io e2e-node-1.34 cri-dockerd-1.28-to-crio dockershim-1.23-to-cri-dockerd"
killrun() { # case: SIGKILL apply after every record; the rerun must finish
  local c=$1 R=$W/km-$1/root n rc rc2
  . "$here/cases/$c/case.env"
  n=$(grep -vc ' launched' "$W/$c/root/var/lib/kubectl-runtime-switch/t1/journal")
  for k in $(seq 1 "$n"); do
    setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1
    apply "$H" "$R" "$PORT" --crash-after-step "$k" > /dev/null 2>&1; rc=$?
    apply "$H" "$R" "$PORT" > /dev/null 2>&1; rc2=$?
    [ "$k" = "$n" ] || check "$c: apply killed after record $k" exits 137 "$rc" || continue
    check "$c: the rerun after the kill at $k finishes" exits 0 "$rc2" || continue
    check "$c: files after kill at $k as the golden tree" same "$(tree "$R")" "$here/cases/$c/expected/tree.txt"
    check "$c: services after kill at $k as golden" same "$(units "$R")" "$here/cases/$c/expected/units.txt"
  done
  note "$c: killed after each of $n records, every rerun finished"
  # failure → rollback (healthz never answers); kill after every record
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1
  apply "$H" "$R" "$DEAD" > /dev/null 2>&1; rc=$?
  check "$c: a failing apply exits 4 (rolled back)" exits 4 "$rc"
  check "$c: files restored byte-identical" same "$(tree "$R")" "$W/$c/tree.before"
  check "$c: services restored" same "$(units "$R")" "$W/$c/units.before"
  check "$c: the reason recorded" grep -q 'rolled-back wait-kubelet: ' "$R/var/lib/kubectl-runtime-switch/t1/journal"
  if grep -q ' \./etc/systemd/system/cri-docker\.service\.d/zz-kubectl-runtime-switch\.conf$' "$here/cases/$c/expected/tree.txt"; then
    check "$c: the rollback removed cri-dockerd's drop-in" test ! -e "$R/etc/systemd/system/cri-docker.service.d/zz-kubectl-runtime-switch.conf"
  fi
  check "$c: images.tar removed" test ! -e "$R/var/lib/kubectl-runtime-switch/t1/images.tar"
  n=$(grep -vc ' launched' "$R/var/lib/kubectl-runtime-switch/t1/journal")
  # killing the rollback itself: the main paths (each failing run takes a
  # second of healthz waiting, so not every case)
  case " $RB_KILL_CASES " in *" $c "*) ;; *) return 0 ;; esac
  [ $QUICK = 1 ] && return 0
  for k in $(seq 1 "$n"); do
    setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1
    apply "$H" "$R" "$DEAD" --crash-after-step "$k" > /dev/null 2>&1
    apply "$H" "$R" "$DEAD" > /dev/null 2>&1; rc2=$?
    check "$c: the rerun after a kill at $k of the failing run rolls back" exits 4 "$rc2" || continue
    check "$c: files after rollback kill at $k" same "$(tree "$R")" "$W/$c/tree.before"
    check "$c: services after rollback kill at $k" same "$(units "$R")" "$W/$c/units.before"
  done
  note "$c: failing run killed after each of $n records, every rerun rolled back byte-identical"
}

req_rollback() {
  local c=e2e-node-1.34 R=$W/req/root rc
  . "$here/cases/$c/case.env"
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null
  apply "$H" "$R" "$PORT" > /dev/null
  "$H" rollback --root "$R" --exec-path "$FAKE" --id t1 --reason "test" > /dev/null; rc=$?
  check "requested rollback exits 4" exits 4 "$rc"
  check "requested rollback: files" same "$(tree "$R")" "$W/$c/tree.before"
  check "requested rollback: services" same "$(units "$R")" "$W/$c/units.before"
}

relaunch() {
  local c=docker-ce-containerd-io R=$W/relaunch/root rc rc2
  . "$here/cases/$c/case.env"
  setup "$c" "$R"
  launch "$H" "$R" "$TO" --crash-after-step 1 > /dev/null 2>&1; rc=$?
  check "launch killed after its first record (exit 137), no helper copied yet" \
    eval '[ "$rc" = 137 ] && [ ! -e "$R/var/lib/kubectl-runtime-switch/bin/rs-node-helper" ]'
  launch "$H" "$R" "$TO" > /dev/null 2>&1; rc=$?; apply "$H" "$R" "$PORT" > /dev/null 2>&1; rc2=$?
  check "relaunch exits 7, apply 0 ($rc, $rc2), the helper copied" \
    eval '[ "$rc" = 7 ] && [ "$rc2" = 0 ] && [ -x "$R/var/lib/kubectl-runtime-switch/bin/rs-node-helper" ]'
  check "relaunch: files as the golden tree" same "$(tree "$R")" "$here/cases/$c/expected/tree.txt"
  # a launch killed before its plan was written left only copies: start over
  setup "$c" "$R"; mkdir -p "$R/var/lib/kubectl-runtime-switch/t1/backup"; echo partial > "$R/var/lib/kubectl-runtime-switch/t1/backup/0"
  launch "$H" "$R" "$TO" > /dev/null 2>&1; rc=$?
  check "launch over an unfinished run exits 7" exits 7 "$rc"
}

# SIGKILL after each record, then a boot: only what is enabled survives, and
# the enabled guard unit alone must finish the switch and remove itself.  One
# case per kind of path: source units stopped and disabled (e2e-node-1.34,
# cri-dockerd to containerd, as on the real cluster) and none (Docker stays:
# dockershim to cri-dockerd); the guard is the same code for every target,
# whose steps the kill matrix covers.
REBOOT_CASES="e2e-node-1.34 dockershim-1.23-to-cri-dockerd"
J=var/lib/kubectl-runtime-switch/t1/journal
boot() { "$FAKE/_boot" "$1" > "${1%/root}/boot.out" 2>&1; }
noguard() { # no guard unit file, no guard unit
  ! ls "$1/etc/systemd/system" "$1/.fake/units" | grep guard
}
# reboot_at CASE K PORT WANT TREE UNITS WHAT: apply (kubelet healthz at
# PORT) killed after record K, then a boot: the guard exits WANT, leaving
# the files and services as TREE and UNITS say and no guard
reboot_at() {
  local c=$1 k=$2 port=$3 want=$4 tr=$5 un=$6 what=$7 R=$W/rb-$1-$7/root rc
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1
  apply "$H" "$R" "$port" --crash-after-step "$k" > /dev/null 2>&1; boot "$R"; rc=$?
  check "$c: the guard after a reboot at $what record $k exits $want" exits "$want" "$rc" "${R%/root}/boot.out" || return 0
  check "$c: files after a reboot at $what record $k" same "$(tree "$R")" "$tr"
  check "$c: services after a reboot at $what record $k" same "$(units "$R")" "$un"
  check "$c: no guard left after a reboot at $what record $k" noguard "$R"
}
reboot_case() {
  local c=$1 n k
  . "$here/cases/$c/case.env"
  n=$(grep -vc ' launched' "$W/$c/root/$J")
  for k in $(seq 1 "$n"); do
    reboot_at "$c" "$k" "$PORT" 0 "$here/cases/$c/expected/tree.txt" "$here/cases/$c/expected/units.txt" apply
  done
  note "$c: rebooted after each of $n records, the guard finished every time"
}
# the rollback rebooted after each of its records: the guard rolls back and
# exits 0 (non-zero, systemd would keep the guard loaded as a failed unit
# after its file is gone, and the node degraded)
reboot_rollback() {
  local c=e2e-node-1.34 R=$W/rb-setup/root n m k
  . "$here/cases/$c/case.env"
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1
  apply "$H" "$R" "$DEAD" > /dev/null 2>&1
  n=$(grep -vc ' launched' "$R/$J"); m=$(grep -v ' launched' "$R/$J" | grep -n ' state rolling-back' | cut -d: -f1)
  for k in $(seq "$m" "$n"); do
    reboot_at "$c" "$k" "$DEAD" 0 "$W/$c/tree.before" "$W/$c/units.before" rollback
  done
  note "$c: the rollback rebooted after each of its records $m..$n, the guard rolled back every time"
}
# past the deadline at boot: roll back; a run that is gone: the guard goes
reboot_deadline() {
  local c=e2e-node-1.34 R=$W/rb-deadline/root rc
  . "$here/cases/$c/case.env"
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1
  apply "$H" "$R" "$PORT" --crash-after-step 9 > /dev/null 2>&1
  sed -i 's/"deadline":[0-9]*/"deadline":1/' "$R/var/lib/kubectl-runtime-switch/t1/plan.json"
  boot "$R"; rc=$?
  check "past the deadline at boot: the guard rolls back (exit 0)" exits 0 "$rc" "${R%/root}/boot.out"
  check "... saying why" grep -q 'state rolled-back .*deadline passed' "$R/$J"
  check "... files as before" same "$(tree "$R")" "$W/$c/tree.before"
  check "... services as before" same "$(units "$R")" "$W/$c/units.before"
  check "... no guard left" noguard "$R"
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1
  rm -rf "$R/var/lib/kubectl-runtime-switch/t1"
  boot "$R"; rc=$?
  check "the guard of a run that is gone exits 0" exits 0 "$rc" "${R%/root}/boot.out"
  check "... and removes itself" noguard "$R"
}

# rebooted in restart-runtime, cri-dockerd (its Docker half-switched) fails
# to start at boot: the guard's stop-source leaves no source unit failed
reboot_failed_source() {
  local c=e2e-node-1.34 R=$W/rb-failed/root k rc
  . "$here/cases/$c/case.env"
  k=$(grep -v ' launched' "$W/$c/root/$J" | grep -n ' begin restart-runtime' | cut -d: -f1)
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1
  apply "$H" "$R" "$PORT" --crash-after-step "$k" > /dev/null 2>&1
  : > "$R/.fake/fail-boot-cri-docker.service"
  boot "$R"; rc=$?
  check "cri-dockerd failed at boot in restart-runtime: the guard finishes (exit 0)" exits 0 "$rc" "${R%/root}/boot.out"
  check "... services as the golden ones, none failed" same "$(units "$R")" "$here/cases/$c/expected/units.txt"
  check "... files as the golden tree" same "$(tree "$R")" "$here/cases/$c/expected/tree.txt"
  check "... no guard left" noguard "$R"
}

# the power cut after disable-source did its work, before its "done"
# record: the old runtime did not start at boot (its units disabled), and
# the guard, doing remove-pod-containers again, finds no Docker to ask;
# it finishes the switch (before: it rolled a finished switch back)
reboot_after_disable() {
  local c=e2e-node-1.34 R=$W/rb-disabled/root k u rc
  . "$here/cases/$c/case.env"
  k=$(grep -v ' launched' "$W/$c/root/$J" | grep -n ' begin disable-source' | cut -d: -f1)
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1
  apply "$H" "$R" "$PORT" --crash-after-step "$k" > /dev/null 2>&1
  for u in docker.socket docker.service cri-docker.socket cri-docker.service; do
    echo "inactive disabled" > "$R/.fake/units/$u"
  done
  boot "$R"; rc=$?
  check "rebooted with the source disabled, disable-source not recorded: the guard finishes (exit 0)" \
    exits 0 "$rc" "${R%/root}/boot.out"
  check "... the run done" eval '[ "$(awk '"'"'$2 == "state" { s = $3 } END { print s }'"'"' "$R/$J")" = done ]'
  check "... services as the golden ones" same "$(units "$R")" "$here/cases/$c/expected/units.txt"
  check "... files as the golden tree" same "$(tree "$R")" "$here/cases/$c/expected/tree.txt"
  check "... no guard left" noguard "$R"
}

integrity() {
  local SHA ZERO rc c=e2e-node-1.34 R=$W/int/root B
  SHA=$(sha256sum < "$H" | cut -d' ' -f1); ZERO=$(printf '0%.0s' $(seq 64))
  check "version with its own sha256 runs" "$H" version --expect-sha256 "$SHA"
  "$H" version --expect-sha256 "$ZERO" > /dev/null 2> "$W/int.err"; rc=$?
  check "another sha256: exit 9" exits 9 "$rc" "$W/int.err"
  check "the refusal names both hashes" eval 'grep -q "$SHA" "$W/int.err" && grep -q "$ZERO" "$W/int.err"'
  "$H" version --expect-sha256 "${SHA^^}" > /dev/null 2>&1; rc=$?
  check "a malformed sha256 is a usage error (exit 2)" exits 2 "$rc"
  . "$here/cases/$c/case.env"; B=$R/var/lib/kubectl-runtime-switch/bin
  setup "$c" "$R"
  launch "$H" "$R" "$TO" --expect-sha256 "$ZERO" > /dev/null 2>&1; rc=$?
  check "launch with another sha256 exits 9 and leaves nothing" eval '[ "$rc" = 9 ] && [ ! -e "$R/var/lib/kubectl-runtime-switch" ]'
  launch "$H" "$R" "$TO" --expect-sha256 "$SHA" > /dev/null 2>&1; rc=$?
  check "launch with its own sha256 exits 7" exits 7 "$rc"
  check "the host copy: directory and file 0700, the same bytes" \
    eval '[ "$(stat -c %a "$B") $(stat -c %a "$B/rs-node-helper")" = "700 700" ] && cmp "$H" "$B/rs-node-helper"'
  check "the run records the copy's sha256" grep -qx "$SHA" "$R/var/lib/kubectl-runtime-switch/t1/helper.sha256"
  # other bytes as the apply unit, then as the guard: both refuse, nothing runs
  { cat "$H"; printf x; } > "$W/other"; chmod 700 "$W/other"
  "$W/other" apply --root "$R" --exec-path "$FAKE" --id t1 > /dev/null 2> "$W/int.err"; rc=$?
  check "apply by other bytes exits 9" exits 9 "$rc" "$W/int.err"
  check "... and journals nothing" eval '[ "$(grep -vc " launched" "$R/$J")" = 0 ]'
  cp "$W/other" "$B/rs-node-helper"
  boot "$R"; rc=$?
  check "the guard with other bytes exits 9" exits 9 "$rc" "${R%/root}/boot.out"
  check "... and journals nothing" eval '[ "$(grep -vc " launched" "$R/$J")" = 0 ]'
}

edited() {
  local c=e2e-node-1.34 R=$W/edit/root K=var/lib/kubelet/kubeadm-flags.env rc k
  . "$here/cases/$c/case.env"
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1; apply "$H" "$R" "$PORT" > /dev/null 2>&1
  echo 'KUBELET_EXTRA_ARGS=--v=4' >> "$R/$K"; cp "$R/$K" "$W/edited"; tree "$R" > "$W/tree.edited"
  "$H" rollback --root "$R" --exec-path "$FAKE" --id t1 > /dev/null 2> "$W/edit.err"; rc=$?
  check "a rollback over an edited file exits 10" exits 10 "$rc" "$W/edit.err"
  check "... naming the file" grep -q "/$K was changed since the switch" "$W/edit.err"
  check "... changing no file" same "$(tree "$R")" "$W/tree.edited"
  check "... and no record: the run stays done" eval '[ "$(tail -n 1 "$R/$J" | cut -d" " -f2-)" = "state done" ]'
  "$H" rollback --root "$R" --exec-path "$FAKE" --id t1 --force > /dev/null 2> "$W/edit.err"; rc=$?
  check "rollback --force exits 4" exits 4 "$rc" "$W/edit.err"
  check "... files as before the switch" same "$(tree "$R")" "$W/$c/tree.before"
  check "... services as before" same "$(units "$R")" "$W/$c/units.before"
  check "... the edited bytes kept in the run" cmp "$W/edited" "$R/var/lib/kubectl-runtime-switch/t1/edited/1"
  check "... no guard left" noguard "$R"
  # an automatic rollback (the kubelet never healthy) after an edit: that
  # file is left as it is (a copy kept), the run ends rollback-failed naming it
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1
  k=$(grep -v ' launched' "$W/$c/root/$J" | grep -n ' done install-kubelet-config' | cut -d: -f1)
  apply "$H" "$R" "$PORT" --crash-after-step "$k" > /dev/null 2>&1
  echo 'KUBELET_EXTRA_ARGS=--v=4' >> "$R/$K"; cp "$R/$K" "$W/edited"
  apply "$H" "$R" "$DEAD" > /dev/null 2> "$W/edit.err"; rc=$?
  check "an automatic rollback over an edited file exits 5 (rollback-failed)" exits 5 "$rc" "$W/edit.err"
  check "... naming the file in the run's reason" grep -q "state rollback-failed .*/$K was changed since the switch" "$R/$J"
  check "... leaving it as edited, with a copy" eval 'cmp "$W/edited" "$R/$K" && cmp "$W/edited" "$R/var/lib/kubectl-runtime-switch/t1/edited/1"'
  # a symlinked config: switched and rolled back through the link
  c=symlinked-containerd-config; . "$here/cases/$c/case.env"; R=$W/link/root
  setup "$c" "$R"; launch "$H" "$R" "$TO" > /dev/null 2>&1; apply "$H" "$R" "$PORT" > /dev/null 2>&1
  check "the switch keeps the symlinked config.toml a link" test -L "$R/etc/containerd/config.toml"
  "$H" rollback --root "$R" --exec-path "$FAKE" --id t1 > /dev/null 2> "$W/link.err"; rc=$?
  check "rolling back through the link exits 4" exits 4 "$rc" "$W/link.err"
  check "... the link and its target as before" same "$(tree "$R")" "$W/$c/tree.before"
}

prune() {
  local c=docker-ce-containerd-io R=$W/prune/root S=$W/prune/root/var/lib/kubectl-runtime-switch old i rc
  . "$here/cases/$c/case.env"
  setup "$c" "$R"
  old=$(( $(date +%s) - 90 * 86400 ))
  for i in 1 2 3 4 5; do mkdir -p "$S/old$i"; printf '%s state launched\n%s state done\n' $((old + i)) $((old + i)) > "$S/old$i/journal"; done
  mkdir -p "$S/failed" "$S/open"; printf '%s state rollback-failed x\n' "$old" > "$S/failed/journal"
  printf '%s state launched\n%s state running\n' "$old" "$old" > "$S/open/journal"
  launch "$H" "$R" "$TO" > "$W/prune.out" 2>&1; rc=$?
  check "launch beside an unfinished run is blocked (exit 3)" exits 3 "$rc" "$W/prune.out"
  check "... naming it" grep -q 'run open on this node has not finished' "$W/prune.out"
  rm -rf "$S/open"; launch "$H" "$R" "$TO" > /dev/null 2>&1
  check "the 3 newest finished runs, the rollback-failed one and the current one stay" \
    eval '[ "$(cd "$S" && echo *)" = "bin failed old3 old4 old5 t1" ] || { echo "left: $(cd "$S" && echo *)"; false; }'
}

arm64() {
  local c=docker-ce-containerd-io R=$W/arm/root rc rc2
  . "$here/cases/$c/case.env"
  setup "$c" "$R"
  qemu-aarch64-static "$H64" launch --root "$R" --exec-path "$FAKE" --id t1 --to "$TO" > /dev/null 2>&1; rc=$?
  qemu-aarch64-static "$H64" apply --root "$R" --exec-path "$FAKE" --id t1 --kubelet-healthz "127.0.0.1:$PORT" --kubelet-wait 2 > /dev/null 2>&1; rc2=$?
  check "arm64: launch exits 7, apply 0 ($rc, $rc2)" eval '[ "$rc" = 7 ] && [ "$rc2" = 0 ]'
  check "arm64: files as the amd64 golden tree" same "$(tree "$R")" "$here/cases/$c/expected/tree.txt"
  note "arm64: $(qemu-aarch64-static "$H64" version)"
}

# ---- running the parts ----
JOBS=${HELPER_TEST_JOBS:-2}
# replay FILE: a job's output as this suite's own checks (numbered here)
replay() {
  local l
  while IFS= read -r l; do
    case $l in
      "not ok "*) fail "${l#not ok * - }" ;;
      "ok "*" # SKIP "*) skip "${l#ok * # SKIP }" ;;
      "ok "*) ok "${l#ok * - }" ;;
      *) printf '%s\n' "$l" ;;
    esac
  done < "$1"
}
# par JOB...: each JOB (a command line: a function and its words) in a
# subshell with its own output and scratch, JOBS at a time; the outputs
# are printed in the order given as each one's turn comes
par() {
  local n=$# i=0 shown=0 running=0 pid d=$W/jobs.$SECONDS.$RANDOM
  local -a job=("$@") finished=() ; local -A idx=()
  mkdir -p "$d"
  while ((shown < n)); do
    while ((i < n && running < JOBS)); do
      mkdir -p "$d/$i.tmp"
      # shellcheck disable=SC2086 # a job is a command line
      ( T_TMP=$d/$i.tmp; ${job[i]} ) > "$d/$i.out" 2>&1 &
      idx[$!]=$i; i=$((i + 1)); running=$((running + 1))
    done
    while ((shown < n)) && [ -n "${finished[shown]:-}" ]; do
      replay "$d/$shown.out"; shown=$((shown + 1))
    done
    ((shown < n)) || break
    pid=; wait -n -p pid
    [ -n "${idx[$pid]:-}" ] || continue   # not a job (the healthz server)
    finished[idx[$pid]]=1; running=$((running - 1))
  done
}

[ -x "$CTD2/containerd" ] && [ -x "$CRIO/crio" ] || bail_out "no containerd 2.x or crio in $RS_CACHE/runtimes (make runtimes-build)"
# HELPER_CASES: only these cases (while working on them)
CASES=${HELPER_CASES:-$(cd "$here/cases" && ls)}
jobs=("note fixtures and golden files")
for c in $CASES; do jobs+=("fixture $c"); done
par "${jobs[@]}"

jobs=("note real daemons: Debian's containerd $($CTD --version | cut -d' ' -f3), containerd $("$CTD2/containerd" --version | cut -d' ' -f3), $("$CRIO/crio" --version | head -n 1)")
for c in $CASES; do jobs+=("real_check $c"); done
jobs+=("note kill matrix")
for c in $CASES; do
  [ -f "$W/$c/result.json" ] || continue
  KILL=yes; . "$here/cases/$c/case.env"; [ "$KILL" = no ] && continue
  jobs+=("killrun $c")
done
jobs+=("note rollback on request after a finished switch" req_rollback
  "note launch killed, then launched again" relaunch "note reboot matrix")
for c in $REBOOT_CASES; do jobs+=("reboot_case $c"); done
jobs+=(reboot_rollback reboot_deadline reboot_failed_source reboot_after_disable "note integrity" integrity
  "note rollback of files edited since the switch" edited "note old runs are pruned at launch" prune
  "note arm64 helper under qemu-user" arm64)
par "${jobs[@]}"

test_done

