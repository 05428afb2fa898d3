#!/usr/bin/env bash
# `kubectl runtime-switch status` through the real kubectl binary (plugin on
# PATH as kubectl-runtime_switch) against a local HTTPS API server, once per
# authentication method (the API server: tests/fakes/fakeapi.py); a wrong CA
# must be refused with a one-line error.
. "$(dirname "$0")/../lib/test-lib.sh"
plugin=$(readlink -f "${1:?usage: kubectl-status.sh PLUGIN}")
root=$RS_ROOT
need kubectl python3
note "kubectl runtime-switch via $(command -v kubectl)"
certs="$root/build/tls"
"$root/tests/fakes/gen-certs.sh" "$certs" || bail_out "tests/fakes/gen-certs.sh $certs failed"
work=$T_TMP
mkdir -p "$work/bin"
ln -s "$plugin" "$work/bin/kubectl-runtime_switch"
export PATH="$work/bin:$PATH"
b64() { base64 -w0 < "$1"; }

start() { # name args...; sets $p to the port
  local name=$1; shift
  python3 "$root/tests/fakes/fakeapi.py" --certs "$certs" --port-file "$work/$name.port" \
    --lifetime 120 --nodes 6 "$@" >"$work/$name.log" 2>&1 </dev/null &
  at_exit "kill $! 2>/dev/null"
  wait_until 10 "the fake API server's port file" test -s "$work/$name.port" ||
    bail_out "tests/fakes/fakeapi.py $* did not start" "$(cat "$work/$name.log")"
  p=$(cat "$work/$name.port")
}

kubeconfig() { # file port cluster-yaml user-yaml
  write_kubeconfig "$1" "https://127.0.0.1:$2" "$3" "$4"
}

status_as() { # name expect(ok|fail) kubeconfig
  local out rc
  out=$(KUBECONFIG=$3 kubectl runtime-switch status 2>"$work/err"); rc=$?
  if [ "$2" = ok ] && [ $rc -eq 0 ] && grep -q 'node-00000 .*dockershim — must switch' <<<"$out"; then
    ok "$1"
  elif [ "$2" = fail ] && [ $rc -ne 0 ] && [ "$(wc -l < "$work/err")" -eq 1 ]; then
    ok "$1 (refused: $(cat "$work/err"))"
  else
    fail "$1" "want $2, exit $rc" "$out" "$(cat "$work/err")"
  fi
}

ca="certificate-authority: $certs/ca.crt"
start mtls --client-ca
kubeconfig "$work/k1" "$p" "$ca" "client-certificate: $certs/client.crt
client-key: $certs/client.key"
status_as client-certificate-files ok "$work/k1"
kubeconfig "$work/k2" "$p" "certificate-authority-data: $(b64 "$certs/ca.crt")" "client-certificate-data: $(b64 "$certs/client.crt")
client-key-data: $(b64 "$certs/client.key")"
status_as client-certificate-data ok "$work/k2"
kubeconfig "$work/k3" "$p" "$ca" "client-certificate: $certs/rogue.crt
client-key: $certs/rogue.key"
status_as client-certificate-wrong-ca fail "$work/k3"

start token --token s3cret
kubeconfig "$work/k4" "$p" "$ca" "token: s3cret"
status_as bearer-token ok "$work/k4"
echo s3cret > "$work/tok"
kubeconfig "$work/k5" "$p" "$ca" "tokenFile: tok"
status_as token-file ok "$work/k5"
kubeconfig "$work/k6" "$p" "$ca" "token: wrong"
status_as wrong-token fail "$work/k6"
kubeconfig "$work/k7" "$p" "$ca" "exec:
  apiVersion: client.authentication.k8s.io/v1
  command: $root/tests/fakes/exec-plugin.py
  interactiveMode: Never"
status_as exec-plugin ok "$work/k7"
kubeconfig "$work/k8" "$p" "certificate-authority: $certs/wrong-ca.crt" "token: s3cret"
status_as server-with-wrong-ca fail "$work/k8"

start basic --basic admin:pa55
kubeconfig "$work/k9" "$p" "$ca" "username: admin
password: pa55"
status_as basic-auth ok "$work/k9"

test_done
