#!/usr/bin/env bash
# Test certificates for the local HTTPS API endpoint: a CA, a server
# certificate (localhost, 127.0.0.1, fake.example.test), a client
# certificate signed by the CA, and an unrelated CA to be refused.
# Idempotent: does nothing when DIR/done exists.
set -euo pipefail
dir=${1:?usage: gen-certs.sh DIR}
mkdir -p "$dir"
[ -e "$dir/done" ] && exit 0
lock="$dir/.lock"
if ! mkdir "$lock" 2>/dev/null; then
  for _ in $(seq 100); do [ -e "$dir/done" ] && exit 0; sleep 0.1; done
  exit 1
fi
trap 'rmdir "$lock"' EXIT
cd "$dir"
q() { openssl "$@" >/dev/null 2>&1; }
q req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=rs-test-ca"
q req -x509 -newkey rsa:2048 -nodes -keyout wrong-ca.key -out wrong-ca.crt -days 3650 -subj "/CN=rs-wrong-ca"
printf 'subjectAltName=DNS:localhost,DNS:fake.example.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
q req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
q x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 3650 -extfile server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
q req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/O=system:masters/CN=rs-admin"
q x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 3650 -extfile client.ext
q req -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.csr -subj "/CN=rogue"
q x509 -req -in rogue.csr -CA wrong-ca.crt -CAkey wrong-ca.key -CAcreateserial -out rogue.crt -days 3650 -extfile client.ext
touch done
