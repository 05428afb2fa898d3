#!/usr/bin/env python3
"""Test exec credential plugin.  EXEC_MODE: token, cert, fail, badjson,
bad-then-good (first run a wrong token, then the right one), v1beta1.
Every run appends a line to $EXEC_COUNT_FILE."""
import json, os, sys

mode = os.environ.get("EXEC_MODE", "token")
info = json.loads(os.environ.get("KUBERNETES_EXEC_INFO", "{}"))
api = info.get("apiVersion", "")
cnt = os.environ.get("EXEC_COUNT_FILE")
n = 0
if cnt:
    if os.path.exists(cnt):
        n = len(open(cnt).read().splitlines())
    with open(cnt, "a") as f:
        f.write(json.dumps(info) + "\n")
if mode == "fail":
    sys.stderr.write("exec-plugin: failing on purpose\n")
    sys.exit(3)
if mode == "badjson":
    print("{not json")
    sys.exit(0)
status = {}
if mode == "cert":
    d = os.environ["EXEC_CERT_DIR"]
    status["clientCertificateData"] = open(os.path.join(d, "client.crt")).read()
    status["clientKeyData"] = open(os.path.join(d, "client.key")).read()
elif mode == "bad-then-good" and n == 0:
    status["token"] = "wrong-token"
else:
    status["token"] = os.environ.get("EXEC_TOKEN", "s3cret")
status["expirationTimestamp"] = "2099-01-01T00:00:00Z"
print(json.dumps({"kind": "ExecCredential", "apiVersion": api, "status": status}))
