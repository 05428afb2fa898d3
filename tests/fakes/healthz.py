#!/usr/bin/env python3
"""A kubelet's health endpoint for the node helper's fixture tests
(tests/helper/run.sh): GET /healthz answers 200 ok, anything else 404.
usage: healthz.py PORT_FILE [LIFETIME_SECONDS]"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serve import serve


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


if __name__ == "__main__":
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    serve(srv, sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 3600)
