#!/usr/bin/env python3
"""Oracle test: for every case under tests/kubeconfig/cases/, what the real
kubectl resolves (`kubectl config view --minify --raw --flatten -o json`)
must equal what the plugin resolves (`config resolve -o json --raw`):
context, cluster, user, namespace, server, TLS settings, CA and client
certificate bytes, token, tokenFile, basic auth and exec settings.
Cases named err-* must fail in both.  Usage: oracle.py PLUGIN [KUBECTL]
Prints what every shell suite prints (tests/lib/test-lib.sh): a TAP line a
case, the why under a failure, the counts at the end; no kubectl is a
failure, not a skip."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")


def pick_kubectl(arg):
    for k in ([arg] if arg else []) + ["/usr/lib/google-cloud-sdk/bin/kubectl.1.33", shutil.which("kubectl") or ""]:
        if k and os.access(k, os.X_OK):
            return k
    return None


def case_env(d):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    args = []
    f = os.path.join(d, "env")
    kc = None
    if os.path.exists(f):
        for line in open(f).read().splitlines():
            k, _, v = line.partition("=")
            if k == "KUBECONFIG":
                kc = ":".join(os.path.join(d, p) if p else "" for p in v.split(":"))
            elif k == "ARGS":
                args = v.split()
    if kc is None:
        kc = os.path.join(d, "config")
    env["KUBECONFIG"] = kc
    return env, args


def resolve_like_client_go(r, base):
    """`config view` prints tokenFile and exec.command as written; client-go
    resolves them against the defining file's directory when it uses them
    (ResolveLocalPaths; a command only when it contains a '/')."""
    tf = r.get("tokenFile")
    if tf and not tf.startswith("/"):
        r["tokenFile"] = os.path.normpath(os.path.join(base, tf))
    e = r.get("exec")
    if e and e.get("command") and "/" in e["command"] and not e["command"].startswith("/"):
        e["command"] = os.path.normpath(os.path.join(base, e["command"]))
    return r


def from_kubectl(j):
    ctx = (j.get("contexts") or [{}])[0]
    cl = ((j.get("clusters") or [{}])[0]).get("cluster", {})
    us = ((j.get("users") or [{}])[0]).get("user", {})
    c = ctx.get("context", {})
    r = {"context": ctx.get("name"), "cluster": c.get("cluster"), "user": c.get("user"),
         "namespace": c.get("namespace") or "default",
         "server": (cl.get("server") or "").rstrip("/") or None,
         "tls-server-name": cl.get("tls-server-name"),
         "insecure-skip-tls-verify": bool(cl.get("insecure-skip-tls-verify")),
         "proxy-url": cl.get("proxy-url"),
         "certificate-authority-data": cl.get("certificate-authority-data"),
         "client-certificate-data": us.get("client-certificate-data"),
         "client-key-data": us.get("client-key-data"),
         "token": us.get("token"), "tokenFile": us.get("tokenFile"),
         "username": us.get("username"), "password": us.get("password")}
    e = us.get("exec")
    if e:
        r["exec"] = {"command": e.get("command"), "args": e.get("args") or [],
                     "env": e.get("env") or [], "apiVersion": e.get("apiVersion"),
                     "installHint": e.get("installHint"),
                     "provideClusterInfo": bool(e.get("provideClusterInfo")),
                     "interactiveMode": e.get("interactiveMode")}
    return r


def from_plugin(j):
    keys = ["context", "cluster", "user", "namespace", "server", "tls-server-name",
            "insecure-skip-tls-verify", "proxy-url", "certificate-authority-data",
            "client-certificate-data", "client-key-data", "token", "tokenFile",
            "username", "password"]
    r = {k: j.get(k) for k in keys}
    r["insecure-skip-tls-verify"] = bool(r["insecure-skip-tls-verify"])
    if "exec" in j:
        e = j["exec"]
        r["exec"] = {k: e.get(k) for k in ["command", "args", "env", "apiVersion", "installHint",
                                          "provideClusterInfo", "interactiveMode"]}
        r["exec"]["provideClusterInfo"] = bool(r["exec"]["provideClusterInfo"])
    return r


class Tap:
    """The output of tests/lib/test-lib.sh."""

    def __init__(self):
        self.passed = self.failed = 0
        self.failures = []
        self.t0 = time.monotonic()

    def result(self, ok, desc, why=""):
        n = self.passed + self.failed + 1
        print("%s %d - %s" % ("ok" if ok else "not ok", n, desc))
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append("%d - %s" % (n, desc))
        if why and (not ok or os.environ.get("ORACLE_VERBOSE")):
            print("\n".join(("#   " if not ok else "# ") + line for line in why.splitlines() if line))

    def done(self):
        print("1..%d" % (self.passed + self.failed))
        print("# tests/kubeconfig/oracle.py: %d passed, %d failed, 0 skipped (%d s)" % (
            self.passed, self.failed, time.monotonic() - self.t0))
        for f in self.failures:
            print("# failed: " + f)
        return 1 if self.failed else 0


def main():
    plugin = os.path.abspath(sys.argv[1])
    kubectl = pick_kubectl(sys.argv[2] if len(sys.argv) > 2 else None)
    tap = Tap()
    if not kubectl:
        tap.result(False, "missing prerequisite: kubectl (make deps)")
        print("Bail out! missing prerequisite: kubectl")
        return tap.done()
    print("# oracle: %s" % kubectl)
    home = tempfile.mkdtemp(prefix="rs-oracle-")
    try:
        for name in sorted(os.listdir(CASES)):
            d = os.path.join(CASES, name)
            env, args = case_env(d)
            env["HOME"] = home
            k = subprocess.run([kubectl, "config", "view", "--minify", "--raw", "--flatten", "-o", "json"] + args,
                               env=env, capture_output=True, text=True, timeout=60)
            p = subprocess.run([plugin, "config", "resolve", "-o", "json", "--raw"] + args,
                               env=env, capture_output=True, text=True, timeout=60)
            if name.startswith("err-"):
                ok = k.returncode != 0 and p.returncode != 0 and p.stderr.count("\n") == 1
                why = "kubectl rc=%d, plugin rc=%d: %s" % (k.returncode, p.returncode, p.stderr.strip())
            elif k.returncode != 0 or p.returncode != 0:
                ok = False
                why = "kubectl rc=%d %s| plugin rc=%d %s" % (k.returncode, k.stderr.strip(), p.returncode, p.stderr.strip())
            else:
                base = os.path.dirname([f for f in env["KUBECONFIG"].split(":") if os.path.exists(f)][0])
                want = resolve_like_client_go(from_kubectl(json.loads(k.stdout)), base)
                got = from_plugin(json.loads(p.stdout))
                diff = {x: (want.get(x), got.get(x)) for x in set(want) | set(got) if want.get(x) != got.get(x)}
                ok = not diff
                why = json.dumps(diff, indent=1)
            tap.result(ok, name, why)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
