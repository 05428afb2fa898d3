#!/usr/bin/env python3
"""A small fake Kubernetes API server over real TLS, for the client tests.

It checks credentials the way the API server does (a client certificate
signed by the CA, a bearer token, or basic auth), serves Nodes with
pagination, /configz through the node proxy, pods, /version, a watch
stream, a log stream, ConfigMaps in namespace "rs" (a store that checks a
write's resourceVersion and UID and a delete's preconditions, as the API
server does: 409), and a few /test/ endpoints that fail on purpose
(429/503 with Retry-After, connection drops) to exercise retries.
Stops by itself after --lifetime seconds.
"""
import argparse
import base64
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serve import EveryMethod, serve

ARGS = None
LOCK = threading.Lock()
COUNTS = {}
CONNS = set()
ONCE = {}
# --drain-pods N: N ReplicaSet pods dr/d-0... on node-00002 that DELETE
# removes after a short grace; a pod whose name ends in "-deny" refuses
# (403), one ending in "-invalid" too (422 with details, as an admission
# policy).  /test/stats reports the DELETEs in order and how many overlapped.
# ConfigMaps of namespace rs: name -> object
CMS = {"rv": 5000, "uid": 0, "objs": {}}
DRAIN = {"pods": {}, "events": [], "rv": 1000, "deletes": [], "inflight": 0, "max_inflight": 0}


def node(i):
    kinds = [("docker://20.10.24", "v1.23.17", "/var/run/dockershim.sock"),
             ("containerd://1.7.2", "v1.27.3", "unix:///run/containerd/containerd.sock"),
             ("docker://24.0.5", "v1.27.3", "unix:///var/run/cri-dockerd.sock"),
             ("cri-o://1.28.1", "v1.28.2", "unix:///var/run/crio/crio.sock")]
    rt, kv, sock = kinds[i % len(kinds)]
    name = "node-%05d" % i
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if i % 5 != 4:  # (one node in five without: -o wide reads its page whole)
        labels["kubernetes.io/arch"] = "amd64"
    if i == 0:
        labels["node-role.kubernetes.io/control-plane"] = ""
    ready = "True" if i % 7 != 6 else "False"
    # --bare-node I: node I has no cri-socket annotation (not set up by kubeadm)
    ann = {} if ARGS and i == ARGS.bare_node else {"kubeadm.alpha.kubernetes.io/cri-socket": sock}
    # --claimed-node I: node I's annotations claim a switch in progress
    # that no lock backs (anyone who may patch the node can write them)
    if ARGS and i == ARGS.claimed_node:
        ann["runtime-switch.kubectl.dev/state"] = "20261206-110000-0002 launched"
        ann["runtime-switch.kubectl.dev/run"] = json.dumps(
            {"id": "20261206-110000-0002", "op": "switch", "phase": "launched", "from": "dockershim",
             "to": "containerd", "namespace": "kubectl-runtime-switch"}, separators=(",", ":"))
    return {
        "kind": "Node", "apiVersion": "v1",
        "metadata": {"name": name, "labels": labels, "resourceVersion": str(1000 + i),
                     "annotations": ann},
        "spec": {"unschedulable": i == 1} if i == 1 else {},
        "status": {
            "conditions": [{"type": "Ready", "status": ready}],
            "addresses": [{"type": "InternalIP", "address": "10.0.%d.%d" % (i // 250, i % 250 + 1)}],
            "nodeInfo": {"kubeletVersion": kv, "containerRuntimeVersion": rt,
                         "osImage": "Debian GNU/Linux 12", "kernelVersion": "6.1.0",
                         "architecture": "amd64", "operatingSystem": "linux"}}}


# ---- protobuf (--protobuf: Node lists in Kubernetes' protobuf encoding
# when the client accepts it, as the API server answers them) ----

def pb_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_len(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return pb_varint(num << 3 | 2) + pb_varint(len(payload)) + payload


def pb_int(num, v):
    return pb_varint(num << 3) + pb_varint(v)


def pb_meta(n):
    """the Node's ObjectMeta, with fields status does not read (uid,
    managedFields) to be skipped"""
    m = n["metadata"]
    meta = pb_len(1, m["name"]) + pb_len(5, "uid-" + m["name"]) + pb_len(6, m["resourceVersion"])
    for k, v in sorted(m.get("labels", {}).items()):
        meta += pb_len(11, pb_len(1, k) + pb_len(2, v))
    for k, v in sorted(m.get("annotations", {}).items()):
        meta += pb_len(12, pb_len(1, k) + pb_len(2, v))
    meta += pb_len(17, pb_len(1, "kubelet") + pb_len(2, "Update") + pb_len(7, b"{}" * 300))
    return meta


def pb_node(n):
    """core/v1 Node (k8s.io/api generated.proto field numbers), with fields
    status does not read (images) to be skipped."""
    meta = pb_meta(n)
    spec = pb_int(4, 1) if n["spec"].get("unschedulable") else b""
    st = n["status"]
    status_ = b"".join(pb_len(4, pb_len(1, c["type"]) + pb_len(2, c["status"])) for c in st["conditions"])
    status_ += b"".join(pb_len(5, pb_len(1, a["type"]) + pb_len(2, a["address"])) for a in st["addresses"])
    i = st["nodeInfo"]
    status_ += pb_len(7, pb_len(4, i["kernelVersion"]) + pb_len(5, i["osImage"]) +
                      pb_len(6, i["containerRuntimeVersion"]) + pb_len(7, i["kubeletVersion"]) +
                      pb_len(9, i["operatingSystem"]) + pb_len(10, i["architecture"]))
    status_ += b"".join(pb_len(8, pb_len(1, "registry.example/img-%d:v1" % j) + pb_int(2, 1000 + j))
                        for j in range(40))
    return pb_len(1, meta) + pb_len(2, spec) + pb_len(3, status_)


def pb_node_list(items, meta, junk=b"", metadata_only=False):
    """a NodeList, or (metadata_only) the PartialObjectMetadataList of the
    same Nodes: each item its ObjectMeta alone"""
    lm = pb_len(2, meta["resourceVersion"])
    if "continue" in meta:
        lm += pb_len(3, meta["continue"]) + pb_int(4, meta["remainingItemCount"])
    item = (lambda n: pb_len(1, pb_meta(n))) if metadata_only else pb_node
    raw = pb_len(1, lm) + junk + b"".join(pb_len(2, item(n)) for n in items)
    gv, kind = ("meta.k8s.io/v1", "PartialObjectMetadataList") if metadata_only else ("v1", "NodeList")
    return b"k8s\0" + pb_len(1, pb_len(1, gv) + pb_len(2, kind)) + pb_len(2, raw) + pb_len(3, "") + pb_len(4, "")


def node_table(items, meta):
    """the server-side Table of Nodes (meta.k8s.io/v1, includeObject=None),
    with the columns and cells of the API server's node printer"""
    cols = ["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image",
            "Kernel-Version", "Container-Runtime"]
    rows = []
    for n in items:
        ready = [c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready"]
        st = ["Unknown"] if not ready else ["Ready" if ready[0] == "True" else "NotReady"]
        if n["spec"].get("unschedulable"):
            st.append("SchedulingDisabled")
        roles = sorted(k.split("/", 1)[1] for k in n["metadata"].get("labels", {})
                       if k.startswith("node-role.kubernetes.io/"))
        ips = [a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP"]
        i = n["status"]["nodeInfo"]
        rows.append({"cells": [n["metadata"]["name"], ",".join(st), ",".join(roles) or "<none>", "3d",
                               i["kubeletVersion"], ips[0] if ips else "<none>", "<none>",
                               i["osImage"] or "<unknown>", i["kernelVersion"] or "<unknown>",
                               i["containerRuntimeVersion"] or "<unknown>"]})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": [{"name": c, "type": "string", "format": "", "description": "", "priority": 0}
                                  for c in cols], "rows": rows}


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(EveryMethod, BaseHTTPRequestHandler):
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

    def on_request(self, method):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        path = u.path
        with LOCK:
            COUNTS[path] = COUNTS.get(path, 0) + 1
            CONNS.add(self.client_address)
        body = self.body()
        if path == "/test/stats":
            with LOCK:
                return self.send_json(200, {"counts": COUNTS, "connections": len(CONNS),
                                            "deletes": DRAIN["deletes"],
                                            "max_inflight_deletes": DRAIN["max_inflight"]})
        if not self.authorized():
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
                sock = node(i)["metadata"]["annotations"].get("kubeadm.alpha.kubernetes.io/cri-socket",
                                                              "unix:///var/run/cri-dockerd.sock")
                return self.send_json(200, {"kubeletconfig": {"containerRuntimeEndpoint": sock,
                                                              "cgroupDriver": "systemd"}})
        if ARGS.drain_pods and (path == "/api/v1/pods" or path.startswith("/api/v1/namespaces/dr/pods/")):
            return self.drain_sim(method, path, q, body)
        if path == "/api/v1/pods":
            pods = [{"metadata": {"name": "dind", "namespace": "ci"},
                     "spec": {"nodeName": "node-00000", "volumes": [
                         {"name": "s", "hostPath": {"path": "/var/run/docker.sock"}}],
                         "containers": [{"name": "dind", "image": "docker:dind", "volumeMounts": [
                             {"name": "s", "mountPath": "/var/run/docker.sock"}]}]}},
                    {"metadata": {"name": "web", "namespace": "default"},
                     "spec": {"nodeName": "node-00001", "volumes": [{"name": "e", "emptyDir": {}}]}},
                    # check: a DaemonSet pod that mounts /var/run, not the socket (a warning)
                    {"metadata": {"name": "agent-x1", "namespace": "mon", "ownerReferences": [
                        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "controller": True}]},
                     "spec": {"nodeName": "node-00002", "volumes": [{"name": "run", "hostPath": {"path": "/var/run/"}}],
                              "containers": [{"name": "agent", "image": "busybox", "volumeMounts": [
                                  {"name": "run", "mountPath": "/host/run"}]}]}}]
            fs = q.get("fieldSelector", "")
            if fs.startswith("spec.nodeName="):
                pods = [p for p in pods if p["spec"]["nodeName"] == fs.split("=", 1)[1]]
            return self.send_json(200, {"kind": "PodList", "metadata": {"resourceVersion": "5"}, "items": pods})
        if re.fullmatch(r"/apis/coordination\.k8s\.io/v1/namespaces/[^/]+/leases", path) and method == "GET":
            # the node locks of a working namespace: none held
            return self.send_json(200, {"kind": "LeaseList", "metadata": {"resourceVersion": "7"}, "items": []})
        if path == "/api/v1/namespaces/rs/configmaps" or path.startswith("/api/v1/namespaces/rs/configmaps/"):
            return self.configmaps(method, path, q, body)
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

    def drain_sim(self, method, path, q, body):
        if path == "/api/v1/pods" and q.get("watch") in ("1", "true"):
            return self.drain_watch(q)
        if path == "/api/v1/pods":
            with LOCK:
                items = list(DRAIN["pods"].values())
                rv = DRAIN["rv"]
            if q.get("fieldSelector", "spec.nodeName=node-00002") != "spec.nodeName=node-00002":
                items = []
            return self.send_json(200, {"kind": "PodList", "metadata": {"resourceVersion": str(rv)},
                                        "items": sorted(items, key=lambda p: p["metadata"]["name"])})
        name = path.split("/")[6]
        with LOCK:
            pod = DRAIN["pods"].get(name)
        if method == "GET":
            if not pod:
                return self.send_json(404, status(404, "NotFound", 'pods "%s" not found' % name))
            return self.send_json(200, pod)
        if method != "DELETE":
            return self.send_json(405, status(405, "MethodNotAllowed", "not here"))
        with LOCK:
            DRAIN["deletes"].append(name)
            DRAIN["inflight"] += 1
            DRAIN["max_inflight"] = max(DRAIN["max_inflight"], DRAIN["inflight"])
        time.sleep(0.1)  # long enough for concurrent DELETEs to overlap
        with LOCK:
            DRAIN["inflight"] -= 1
        if not pod:
            return self.send_json(404, status(404, "NotFound", 'pods "%s" not found' % name))
        if name.endswith("-deny"):
            return self.send_json(403, status(403, "Forbidden",
                                              'pods "%s" is forbidden: denied by the test' % name))
        if name.endswith("-invalid"):  # what a ValidatingAdmissionPolicy answers
            st = status(422, "Invalid", 'pods "%s" is forbidden: denied by a policy' % name)
            st["details"] = {"name": name, "kind": "pods",
                             "causes": [{"message": "denied by a policy", "field": ""}]}
            return self.send_json(422, st)
        opts = json.loads(body or b"{}")
        uid = (opts.get("preconditions") or {}).get("uid")
        if uid and uid != pod["metadata"]["uid"]:
            return self.send_json(409, status(409, "Conflict", "Precondition failed: UID in precondition"))
        with LOCK:
            DRAIN["rv"] += 1
            pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
            pod["metadata"]["resourceVersion"] = str(DRAIN["rv"])
            DRAIN["events"].append((DRAIN["rv"], "MODIFIED", json.loads(json.dumps(pod))))

        def gone():
            with LOCK:
                if DRAIN["pods"].pop(name, None):
                    DRAIN["rv"] += 1
                    DRAIN["events"].append((DRAIN["rv"], "DELETED", pod))
        threading.Timer(0.2, gone).start()
        return self.send_json(200, pod)

    def configmaps(self, method, path, q, body):
        name = path.split("/")[6] if path.count("/") >= 6 else None
        obj = json.loads(body) if body else None
        with LOCK:
            cur = CMS["objs"].get(name)
            if method == "GET" and name is None:
                sel = q.get("labelSelector")
                items = [o for _, o in sorted(CMS["objs"].items()) if not sel or sel in o["metadata"].get("labels", {})]
                return self.send_json(200, {"kind": "ConfigMapList", "metadata": {"resourceVersion": str(CMS["rv"])},
                                            "items": items})
            if method == "GET":
                if cur is None:
                    return self.send_json(404, status(404, "NotFound", 'configmaps "%s" not found' % name))
                return self.send_json(200, cur)
            if method == "POST":
                name = obj["metadata"]["name"]
                if name in CMS["objs"]:
                    return self.send_json(409, status(409, "AlreadyExists", 'configmaps "%s" already exists' % name))
                CMS["rv"] += 1
                CMS["uid"] += 1
                obj["metadata"].update({"namespace": "rs", "uid": "uid-cm-%d" % CMS["uid"],
                                        "resourceVersion": str(CMS["rv"])})
                CMS["objs"][name] = obj
                return self.send_json(201, obj)
            if cur is None:
                return self.send_json(404, status(404, "NotFound", 'configmaps "%s" not found' % name))
            md = cur["metadata"]
            if method == "PUT":
                want = obj["metadata"]
                if want.get("uid") not in (None, md["uid"]):
                    return self.send_json(409, status(409, "Conflict", "Precondition failed: UID in precondition"))
                if want.get("resourceVersion") not in (None, md["resourceVersion"]):
                    return self.send_json(409, status(409, "Conflict", 'Operation cannot be fulfilled on configmaps '
                                                      '"%s": the object has been modified' % name))
                CMS["rv"] += 1
                obj["metadata"].update({"namespace": "rs", "uid": md["uid"], "resourceVersion": str(CMS["rv"])})
                CMS["objs"][name] = obj
                return self.send_json(200, obj)
            if method == "DELETE":
                pre = (obj or {}).get("preconditions") or {}
                if any(pre.get(k) not in (None, md[k]) for k in ("uid", "resourceVersion")):
                    return self.send_json(409, status(409, "Conflict", "Precondition failed"))
                del CMS["objs"][name]
                return self.send_json(200, {"kind": "Status", "status": "Success"})
        return self.send_json(405, status(405, "MethodNotAllowed", method))

    def drain_watch(self, q):
        rv = int(q.get("resourceVersion") or 0)
        end = time.time() + float(q.get("timeoutSeconds") or 300)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while time.time() < end:
                with LOCK:
                    evs = [e for e in DRAIN["events"] if e[0] > rv]
                for erv, typ, obj in evs:
                    self.chunk(json.dumps({"type": typ, "object": obj}).encode() + b"\n")
                    rv = erv
                time.sleep(0.02)
            self.chunk(b"")
        except OSError:
            pass

    def list_nodes(self, q):
        limit = int(q.get("limit", "0") or 0)
        start = int(q.get("continue", "0") or 0)
        sel = q.get("labelSelector")
        idx = list(range(ARGS.nodes))
        if sel == "node-role.kubernetes.io/control-plane":
            idx = [0]
        elif sel == "node-role.kubernetes.io/master":
            idx = []
        end = len(idx) if not limit else min(len(idx), start + limit)
        items = [node(i) for i in idx[start:end]]
        meta = {"resourceVersion": "4242"}
        if end < len(idx):
            meta["continue"] = str(end)
            meta["remainingItemCount"] = len(idx) - end
        accept = self.headers.get("Accept") or ""
        if ARGS.protobuf and "as=Table" in accept and sel != "test=json":
            # (the Table's pages are the list's: the same continue tokens)
            if q.get("includeObject") not in (None, "None"):
                return self.send_json(400, status(400, "BadRequest", "this fake serves includeObject=None"))
            return self.send_json(200, node_table(items, dict(meta)))
        if ARGS.protobuf and "as=PartialObjectMetadataList" in accept:
            return self.send_pb_list(pb_node_list(items, meta, metadata_only=True), sel, start)
        if ARGS.protobuf and "application/vnd.kubernetes.protobuf" in accept \
                and sel != "test=json":
            junk = b"\x07" if sel == "test=malformed" and start else b""  # no such wire type
            return self.send_pb_list(pb_node_list(items, meta, junk), sel, start)
        meta.pop("remainingItemCount", None)
        return self.send_json(200, {"kind": "NodeList", "apiVersion": "v1", "metadata": meta, "items": items})

    def send_pb_list(self, body, sel, start):
        """In small chunks, so items arrive cut; test=drop-once cuts the
        second page's first answer short (the client asks again)."""
        cut = False
        if sel == "test=drop-once" and start:
            with LOCK:
                cut = ONCE.get("pb-drop", 0) == 0
                ONCE["pb-drop"] = 1
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.kubernetes.protobuf")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        step = 997
        for off in range(0, len(body), step):
            if cut and off >= len(body) // 2:
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.chunk(body[off:off + step])
        self.chunk(b"")

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
        if "as=PartialObjectMetadata" in (self.headers.get("Accept") or ""):
            for e in evs:  # metadata only, as the API server answers it
                e["object"] = dict(e["object"], kind="PartialObjectMetadata", apiVersion="meta.k8s.io/v1")
        data = b"".join(json.dumps(e).encode() + b"\n" for e in evs)
        self.chunk(data[:17])
        time.sleep(0.02)
        self.chunk(data[17:])
        if q.get("labelSelector") == "end=deleted":
            ev = {"type": "DELETED", "object": {"metadata": {"name": "a", "resourceVersion": str(base + 4)}}}
            self.chunk(json.dumps(ev).encode() + b"\n")
        self.chunk(b"")



def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--certs", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--token")
    p.add_argument("--basic")
    p.add_argument("--client-ca", action="store_true")
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--claimed-node", type=int, default=-1)
    p.add_argument("--protobuf", action="store_true", help="Node lists in protobuf when accepted; the Table and the"
                   " PartialObjectMetadataList of Nodes when asked for")
    p.add_argument("--configz", default="ok")
    p.add_argument("--bare-node", type=int, default=-1)
    p.add_argument("--lifetime", type=float, default=300)
    p.add_argument("--drain-pods", type=int, default=0)
    p.add_argument("--drain-deny", type=int, default=-1, help="index of the pod that refuses")
    p.add_argument("--drain-invalid", type=int, default=-1, help="index of the pod a policy keeps")
    ARGS = p.parse_args()
    for i in range(ARGS.drain_pods):
        name = "d-%d%s" % (i, "-deny" if i == ARGS.drain_deny else "-invalid" if i == ARGS.drain_invalid else "")
        DRAIN["pods"][name] = {"metadata": {
            "name": name, "namespace": "dr", "uid": "uid-%d" % i, "resourceVersion": "900",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "d",
                                 "controller": True}]},
            "spec": {"nodeName": "node-00002"}, "status": {"phase": "Running"}}
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(ARGS.certs, "server.crt"), os.path.join(ARGS.certs, "server.key"))
    if ARGS.client_ca:
        ctx.load_verify_locations(os.path.join(ARGS.certs, "ca.crt"))
        ctx.verify_mode = ssl.CERT_REQUIRED if not (ARGS.token or ARGS.basic) else ssl.CERT_OPTIONAL
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.handle_error = lambda *a: None  # clients that hang up on purpose
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    serve(srv, ARGS.port_file, ARGS.lifetime)


if __name__ == "__main__":
    sys.exit(main())
