#!/usr/bin/env python3
"""A fault-injecting HTTPS proxy in front of the REAL Kubernetes API server.

Test tool, not product code.  The plugin talks TLS to this proxy (its own
certificate, from tests/fakes/gen-certs.sh) with no credentials; the proxy
re-originates every request over TLS to the API server with the admin
client certificate.  Terminating TLS here is what lets it see and break
individual requests; the cost is that the plugin speaks HTTP/1.1 to it (no
HTTP/2 multiplexing through the proxy), which the fault tests accept: they
test what the client does with each faulty answer.

Rules (a JSON list, --rules FILE), matched in order against each request:
  {"method": "POST", "path": "/eviction$",      # regular expressions
   "action": "429" | "429-retry-after" | "500" | "500-retry-after" |
             "503-text" | "reset" | "reset-after" | "500-after" |
             "watch-reset" | "hold" | "hold-after",
   "body": "regex",     # also match the request body (PATCH/POST payloads)
   "first": N,          # fault the first N matching requests of each key
   "key": "path",       # count per path (default) or "all": one counter
   "retry_after": 2,    # seconds, for *-retry-after
   "until": "/path",    # hold-until: forward once this file exists
   "after_s": 3}        # watch-reset: cut the stream after this long
  reset:        close with a TCP RST before forwarding (nothing happened)
  reset-after:  forward, let the API server act, then RST (it happened, the
                client cannot know)
  500-after:    forward, then answer 500 instead (it happened)
  503-text:     the API server's own overload answer: plain text and a
                Retry-After header, no Status object
  hold:         never forward and never answer (the client waits inside the
                step that sent it: where a test kills it)
  hold-after:   forward, let the API server act, then never answer (it
                happened, the client cannot know)
  hold-until:   hold the request (not forwarded) until the file named by
                the rule's "until" exists, then forward it as usual: the
                test acts while the client waits inside that step
Every request is logged as one JSON line (--log): method, path, action,
the upstream status (null when not forwarded).  Stops after --lifetime s.
"""
import argparse
import http.client
import json
import os
import re
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serve import EveryMethod, serve

ARGS = None
RULES = []
LOCK = threading.Lock()
COUNTS = {}
LOGF = None
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "host", "accept-encoding", "authorization", "content-length"}


def status_body(code, reason, message, retry_after=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if retry_after:
        body["details"] = {"retryAfterSeconds": retry_after}
    return json.dumps(body).encode()


def log(rec):
    rec["t"] = round(time.time(), 3)
    with LOCK:
        LOGF.write(json.dumps(rec) + "\n")
        LOGF.flush()


def pick_rule(method, path, body):
    for i, r in enumerate(RULES):
        if r.get("method") and not re.search(r["method"], method):
            continue
        if r.get("path") and not re.search(r["path"], path):
            continue
        if r.get("body") and not re.search(r["body"], (body or b"").decode("utf-8", "replace")):
            continue
        key = (i, path.split("?")[0] if r.get("key", "path") == "path" else "*")
        with LOCK:
            n = COUNTS.get(key, 0)
            COUNTS[key] = n + 1
        if n < r.get("first", 1 << 30):
            return r
    return None


class Handler(EveryMethod, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def on_request(self, method):
        path = self.path
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        rule = pick_rule(method, path, body)
        action = rule["action"] if rule else None
        rec = {"method": method, "path": path, "action": action, "upstream": None}
        if body and method in ("PATCH", "PUT", "POST"):
            rec["body"] = body[:300].decode("utf-8", "replace")
        if action in ("429", "429-retry-after", "500", "500-retry-after"):
            code = int(action[:3])
            ra = rule.get("retry_after", 1) if action.endswith("retry-after") else None
            reason = "TooManyRequests" if code == 429 else "InternalError"
            msg = ("Cannot evict pod as it would violate the pod's disruption budget. (injected)"
                   if code == 429 else "Internal error occurred: injected fault")
            log(rec)
            return self.reply(code, status_body(code, reason, msg, ra), ra)
        if action == "503-text":
            log(rec)
            return self.reply(503, b"Too many requests, please try again later.\n", 1,
                              "text/plain; charset=utf-8")
        if action == "reset":
            log(rec)
            return self.rst()
        if action == "hold":
            log(rec)
            return self.hold()
        if action == "hold-until":
            log(dict(rec))
            while not os.path.exists(rule["until"]):
                time.sleep(0.05)
            rec["action"] = "released"
        try:
            up, resp = self.forward(method, path, body)
        except Exception as e:  # upstream trouble: tell the client as a 502
            rec["error"] = str(e)
            log(rec)
            return self.reply(502, status_body(502, "InternalError", "proxy: %s" % e))
        rec["upstream"] = resp.status
        if action == "reset-after":
            resp.read()
            up.close()
            log(rec)
            return self.rst()
        if action == "hold-after":
            resp.read()
            up.close()
            log(rec)
            return self.hold()
        if action == "500-after":
            resp.read()
            up.close()
            log(rec)
            return self.reply(500, status_body(500, "InternalError",
                                               "Internal error occurred: injected after forwarding"))
        log(rec)
        self.relay(up, resp, rule if action == "watch-reset" else None)

    def forward(self, method, path, body):
        u = ARGS.upstream_parsed
        ctx = ssl.create_default_context(cafile=ARGS.upstream_ca)
        ctx.load_cert_chain(ARGS.upstream_cert, ARGS.upstream_key)
        up = http.client.HTTPSConnection(u.hostname, u.port or 443, context=ctx, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        up.request(method, path, body=body, headers=headers)
        return up, up.getresponse()

    def relay(self, up, resp, watch_rule):
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.time() + watch_rule.get("after_s", 3) if watch_rule else None
        try:
            while True:
                if deadline and time.time() >= deadline:
                    up.close()
                    return self.rst()
                if deadline:
                    up.sock.settimeout(max(0.05, deadline - time.time()))
                try:
                    data = resp.read1(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            up.close()

    def reply(self, code, body, retry_after=None, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if retry_after:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(body)

    def hold(self):
        """Keep the client's request open without an answer until the
        client goes away (or the proxy's lifetime ends)."""
        self.close_connection = True
        try:
            self.connection.settimeout(None)
            while self.connection.recv(4096):
                pass
        except OSError:
            pass

    def rst(self):
        """Abort the client connection with a TCP RST."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw = socket.socket(fileno=self.connection.detach())
            raw.close()
        except OSError:
            pass
        self.wfile = open("/dev/null", "wb")
        self.rfile = open("/dev/null", "rb")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass


def main():
    global ARGS, RULES, LOGF
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--upstream-ca", required=True)
    p.add_argument("--upstream-cert", required=True)
    p.add_argument("--upstream-key", required=True)
    p.add_argument("--certs", required=True, help="dir from tests/fakes/gen-certs.sh")
    p.add_argument("--rules", help="JSON file; none: forward everything")
    p.add_argument("--log", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--lifetime", type=float, default=600)
    ARGS = p.parse_args()
    ARGS.upstream_parsed = urllib.parse.urlsplit(ARGS.upstream)
    if ARGS.rules:
        with open(ARGS.rules) as f:
            RULES = json.load(f)
    LOGF = open(ARGS.log, "a")
    srv = Server(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.certs + "/server.crt", ARGS.certs + "/server.key")
    ctx.set_alpn_protocols(["http/1.1"])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    serve(srv, ARGS.port_file, ARGS.lifetime)


if __name__ == "__main__":
    main()
