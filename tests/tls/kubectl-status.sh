#!/usr/bin/env bash
# `kubectl runtime-switch status` through the real kubectl binary (plugin on
# PATH as kubectl-runtime_switch) against a local HTTPS API server, once per
# authentication method; a wrong CA must be refused with a one-line error.
set -uo pipefail
plugin=${1:?usage: kubectl-status.sh PLUGIN}
root=$(cd "$(dirname "$0")/../.." && pwd)
kubectl=$(command -v kubectl || true)
if [ -z "$kubectl" ]; then echo "kubectl not found: skipped"; echo "0 passed, 0 failed, 1 skipped"; exit 0; fi
certs="$root/build/tls"
"$root/tests/tls/gen-certs.sh" "$certs"
work=$(mktemp -d /tmp/rs-kubectl-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/bin"
ln -s "$plugin" "$work/bin/kubectl-runtime_switch"
export PATH="$work/bin:$PATH"
b64() { base64 -w0 < "$1"; }

start() { # name args...; sets $p to the port
  local name=$1; shift
  python3 "$root/tests/tls/fakeapi.py" --certs "$certs" --port-file "$work/$name.port" \
    --lifetime 120 --nodes 6 "$@" >/dev/null 2>&1 </dev/null &
  pids+=($!)
  for _ in $(seq 200); do [ -s "$work/$name.port" ] && break; sleep 0.05; done
  p=$(cat "$work/$name.port")
}

kubeconfig() { # file port cluster-extra user-yaml
  cat > "$1" <<YAML
apiVersion: v1
kind: Config
current-context: t
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:$2
$3
users:
- name: u
  user:
$4
contexts:
- name: t
  context: {cluster: c, user: u}
YAML
}

pass=0 fail=0
check() { # name expect(ok|fail) kubeconfig
  local out rc
  out=$(KUBECONFIG=$3 kubectl runtime-switch status 2>"$work/err"); rc=$?
  if [ "$2" = ok ] && [ $rc -eq 0 ] && grep -q 'node-00000 .*dockershim — must switch' <<<"$out"; then
    echo "ok   $1"; pass=$((pass+1))
  elif [ "$2" = fail ] && [ $rc -ne 0 ] && [ "$(wc -l < "$work/err")" -eq 1 ]; then
    echo "ok   $1 (refused: $(cat "$work/err"))"; pass=$((pass+1))
  else
    echo "FAIL $1 (rc=$rc)"; echo "$out"; cat "$work/err"; fail=$((fail+1))
  fi
}

ca="    certificate-authority: $certs/ca.crt"
start mtls --client-ca
kubeconfig "$work/k1" "$p" "$ca" "    client-certificate: $certs/client.crt
    client-key: $certs/client.key"
check client-certificate-files ok "$work/k1"
kubeconfig "$work/k2" "$p" "    certificate-authority-data: $(b64 "$certs/ca.crt")" "    client-certificate-data: $(b64 "$certs/client.crt")
    client-key-data: $(b64 "$certs/client.key")"
check client-certificate-data ok "$work/k2"
kubeconfig "$work/k3" "$p" "$ca" "    client-certificate: $certs/rogue.crt
    client-key: $certs/rogue.key"
check client-certificate-wrong-ca fail "$work/k3"

start token --token s3cret
kubeconfig "$work/k4" "$p" "$ca" "    token: s3cret"
check bearer-token ok "$work/k4"
echo s3cret > "$work/tok"
kubeconfig "$work/k5" "$p" "$ca" "    tokenFile: tok"
check token-file ok "$work/k5"
kubeconfig "$work/k6" "$p" "$ca" "    token: wrong"
check wrong-token fail "$work/k6"
kubeconfig "$work/k7" "$p" "$ca" "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $root/tests/tls/exec-plugin.py
      interactiveMode: Never"
check exec-plugin ok "$work/k7"
kubeconfig "$work/k8" "$p" "    certificate-authority: $certs/wrong-ca.crt" "    token: s3cret"
check server-with-wrong-ca fail "$work/k8"

start basic --basic admin:pa55
kubeconfig "$work/k9" "$p" "$ca" "    username: admin
    password: pa55"
check basic-auth ok "$work/k9"

echo "kubectl runtime-switch via $kubectl"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
