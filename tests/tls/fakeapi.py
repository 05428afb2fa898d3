#!/usr/bin/env python3
"""A small fake Kubernetes API server over real TLS, for the client tests.

It checks credentials the way the API server does (a client certificate
signed by the CA, a bearer token, or basic auth), serves Nodes with
pagination, /configz through the node proxy, pods, /version, a watch
stream, a log stream, and a few /test/ endpoints that fail on purpose
(429/503 with Retry-After, connection drops) to exercise retries.
Stops by itself after --lifetime seconds.
"""
import argparse
import base64
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNTS = {}
CONNS = set()
ONCE = {}


def node(i):
    kinds = [("docker://20.10.24", "v1.23.17", "/var/run/dockershim.sock"),
             ("containerd://1.7.2", "v1.27.3", "unix:///run/containerd/containerd.sock"),
             ("docker://24.0.5", "v1.27.3", "unix:///var/run/cri-dockerd.sock"),
             ("cri-o://1.28.1", "v1.28.2", "unix:///var/run/crio/crio.sock")]
    rt, kv, sock = kinds[i % len(kinds)]
    name = "node-%05d" % i
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if i == 0:
        labels["node-role.kubernetes.io/control-plane"] = ""
    ready = "True" if i % 7 != 6 else "False"
    return {
        "kind": "Node", "apiVersion": "v1",
        "metadata": {"name": name, "labels": labels, "resourceVersion": str(1000 + i),
                     "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": sock}},
        "spec": {"unschedulable": i == 1} if i == 1 else {},
        "status": {
            "conditions": [{"type": "Ready", "status": ready}],
            "addresses": [{"type": "InternalIP", "address": "10.0.%d.%d" % (i // 250, i % 250 + 1)}],
            "nodeInfo": {"kubeletVersion": kv, "containerRuntimeVersion": rt,
                         "osImage": "Debian GNU/Linux 12", "kernelVersion": "6.1.0",
                         "architecture": "amd64", "operatingSystem": "linux"}}}


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, code, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def authorized(self):
        if not (ARGS.token or ARGS.basic or ARGS.client_ca):
            return True
        cert = self.connection.getpeercert()
        if ARGS.client_ca and cert:
            return True
        auth = self.headers.get("Authorization", "")
        if ARGS.token and auth == "Bearer " + ARGS.token:
            return True
        if ARGS.basic and auth == "Basic " + base64.b64encode(ARGS.basic.encode()).decode():
            return True
        return False

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self, method):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        path = u.path
        with LOCK:
            COUNTS[path] = COUNTS.get(path, 0) + 1
            CONNS.add(self.client_address)
        body = self.body()
        if path == "/test/stats":
            with LOCK:
                return self.send_json(200, {"counts": COUNTS, "connections": len(CONNS)})
        if not self.authorized():
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        if ARGS.token_file_expect and self.headers.get("Authorization") != "Bearer " + ARGS.token_file_expect:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        if path == "/version":
            return self.send_json(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake"})
        if path == "/test/echo":
            return self.send_json(200, {
                "method": method, "contentType": self.headers.get("Content-Type"),
                "contentTypes": self.headers.get_all("Content-Type") or [],
                "userAgent": self.headers.get("User-Agent"),
                "impersonateUser": self.headers.get("Impersonate-User"),
                "impersonateGroups": self.headers.get_all("Impersonate-Group") or [],
                "host": self.headers.get("Host"),
                "body": body.decode() if body else None, "query": q})
        if path.startswith("/test/retry-after/"):
            key = path
            with LOCK:
                n = ONCE.get(key, 0)
                ONCE[key] = n + 1
            code = int(path.rsplit("/", 1)[1])
            if n < 2:
                return self.send_json(code, status(code, "TooManyRequests" if code == 429 else "ServiceUnavailable",
                                                   "try again"), {"Retry-After": "1"})
            return self.send_json(200, {"attempts": n + 1})
        if path == "/test/text-503":
            # the API server's own overload answer: plain text, no Status
            b = b"Too many requests, please try again later.\n"
            self.send_response(503)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(b)))
            self.send_header("Retry-After", q.get("s", "2"))
            self.end_headers()
            self.wfile.write(b)
            return
        if path.startswith("/test/fail/"):
            code = int(path.rsplit("/", 1)[1])
            return self.send_json(code, status(code, "Invalid", "the thing is invalid: spec.x: Required value"))
        if path == "/test/flaky-503":
            with LOCK:
                n = ONCE.get(path, 0)
                ONCE[path] = n + 1
            if n < 2:
                return self.send_json(503, status(503, "ServiceUnavailable", "warming up"))
            return self.send_json(200, {"attempts": n + 1})
        if path == "/test/drop":
            with LOCK:
                n = ONCE.get(path, 0)
                ONCE[path] = n + 1
            if n < 1:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            return self.send_json(200, {"attempts": n + 1})
        if path == "/test/slow":
            time.sleep(float(q.get("s", "3")))
            return self.send_json(200, {})
        if path == "/test/big":
            n = int(q.get("n", "1000"))
            return self.send_json(200, {"items": ["x" * 100] * n})
        if path == "/api/v1/nodes":
            return self.list_nodes(q)
        if path.startswith("/api/v1/nodes/"):
            parts = path.split("/")
            name = parts[4]
            try:
                i = int(name.split("-")[1])
            except (IndexError, ValueError):
                i = -1
            if i < 0 or i >= ARGS.nodes:
                return self.send_json(404, status(404, "NotFound", 'nodes "%s" not found' % name))
            if len(parts) == 5:
                if method == "PATCH":
                    return self.send_json(200, {"patched": json.loads(body or b"{}"),
                                                "contentType": self.headers.get("Content-Type")})
                return self.send_json(200, node(i))
            if parts[5:7] == ["proxy", "configz"]:
                if ARGS.configz == "forbidden":
                    return self.send_json(403, status(403, "Forbidden",
                                                      'nodes "%s" is forbidden: User "x" cannot get resource "nodes/proxy"' % name))
                n = node(i)
                sock = n["metadata"]["annotations"]["kubeadm.alpha.kubernetes.io/cri-socket"]
                return self.send_json(200, {"kubeletconfig": {"containerRuntimeEndpoint": sock,
                                                              "cgroupDriver": "systemd"}})
        if path == "/api/v1/pods":
            pods = [{"metadata": {"name": "dind", "namespace": "ci"},
                     "spec": {"nodeName": "node-00000", "volumes": [
                         {"name": "s", "hostPath": {"path": "/var/run/docker.sock"}}]}},
                    {"metadata": {"name": "web", "namespace": "default"},
                     "spec": {"nodeName": "node-00001", "volumes": [{"name": "e", "emptyDir": {}}]}}]
            fs = q.get("fieldSelector", "")
            if fs.startswith("spec.nodeName="):
                pods = [p for p in pods if p["spec"]["nodeName"] == fs.split("=", 1)[1]]
            return self.send_json(200, {"kind": "PodList", "metadata": {"resourceVersion": "5"}, "items": pods})
        if path == "/api/v1/namespaces/default/configmaps":
            if q.get("watch") in ("1", "true"):
                return self.watch(q)
            return self.send_json(200, {"kind": "ConfigMapList", "metadata": {"resourceVersion": "100"},
                                        "items": [{"metadata": {"name": "a", "resourceVersion": "99"}}]})
        if path == "/api/v1/namespaces/default/pods/p/log":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.chunk(b"line 1\nline ")
            time.sleep(0.05)
            self.chunk(b"2\r\nline 3\n")
            self.chunk(b"last-no-newline")
            self.chunk(b"")
            return
        if path == "/api/v1/namespaces/default/pods/missing/log":
            return self.send_json(400, status(400, "BadRequest",
                                              'container "c" in pod "missing" is waiting to start: ContainerCreating'))
        return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))

    def list_nodes(self, q):
        limit = int(q.get("limit", "0") or 0)
        start = int(q.get("continue", "0") or 0)
        sel = q.get("labelSelector")
        idx = list(range(ARGS.nodes))
        if sel == "node-role.kubernetes.io/control-plane":
            idx = [0]
        end = len(idx) if not limit else min(len(idx), start + limit)
        items = [node(i) for i in idx[start:end]]
        meta = {"resourceVersion": "4242"}
        if end < len(idx):
            meta["continue"] = str(end)
        return self.send_json(200, {"kind": "NodeList", "apiVersion": "v1", "metadata": meta, "items": items})

    def watch(self, q):
        rv = q.get("resourceVersion", "")
        if rv == "gone":
            return self.send_json(410, status(410, "Expired", "too old resource version: 1 (2)"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if rv == "old":
            ev = {"type": "ERROR", "object": status(410, "Expired", "too old resource version")}
            self.chunk(json.dumps(ev).encode() + b"\n")
            self.chunk(b"")
            return
        base = int(rv) if rv.isdigit() else 100
        evs = [{"type": "ADDED", "object": {"metadata": {"name": "a", "resourceVersion": str(base + 1)}}},
               {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": str(base + 2)}}},
               {"type": "MODIFIED", "object": {"metadata": {"name": "a", "resourceVersion": str(base + 3)}}}]
        data = b"".join(json.dumps(e).encode() + b"\n" for e in evs)
        self.chunk(data[:17])
        time.sleep(0.02)
        self.chunk(data[17:])
        if q.get("labelSelector") == "end=deleted":
            ev = {"type": "DELETED", "object": {"metadata": {"name": "a", "resourceVersion": str(base + 4)}}}
            self.chunk(json.dumps(ev).encode() + b"\n")
        self.chunk(b"")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--certs", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--token")
    p.add_argument("--token-file-expect")
    p.add_argument("--basic")
    p.add_argument("--client-ca", action="store_true")
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--configz", default="ok")
    p.add_argument("--lifetime", type=float, default=300)
    ARGS = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(ARGS.certs, "server.crt"), os.path.join(ARGS.certs, "server.key"))
    if ARGS.client_ca:
        ctx.load_verify_locations(os.path.join(ARGS.certs, "ca.crt"))
        ctx.verify_mode = ssl.CERT_REQUIRED if not (ARGS.token or ARGS.basic) else ssl.CERT_OPTIONAL
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.handle_error = lambda *a: None  # clients that hang up on purpose
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    threading.Timer(ARGS.lifetime, lambda: os._exit(0)).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
