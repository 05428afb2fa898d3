#!/usr/bin/env python3
"""A fake Kubernetes API server with one simulated node, for the switch's
phase-machine tests (tests/unit/test_switch_flow.c).  Plain HTTP.

It keeps Nodes, Namespaces, Pods, Jobs, ConfigMaps, Secrets, DaemonSets in
memory, serves GET/list/watch/POST/PUT/PATCH/DELETE, evictions and pod logs,
and plays the node: a Job's pod runs the helper role its command names
(preflight, launch, report, rollback) and the node restarts on the new
runtime (or, in the failure scenarios, comes back on the old one).

usage: switch_fakeapi.py --port-file F --scenario NAME [--lifetime S]
                         [--swap REGEX [--swap-nth N]] [--nodes N,...] [--crashloop N,...]
--nodes adds Docker nodes (a DaemonSet pod on each) whose helper pods are
played as node-1's are, each with its own journal (a rollout over
several nodes, for the memory measurement); --tls DIR serves HTTPS with
gen-certs.sh's server certificate (HTTP/1.1: no HTTP/2 here).
--crashloop NODE,... : once such a node runs containerd, every list of its
pods (spec.nodeName) finds each of their containers (the working
namespace's helper pods aside) restarted once more than the list before:
a crash loop after the switch, which the rollout's soak must catch
whatever its length.

Scenarios: ok rolledback blocked psa priority noimage (the carried image is
missing on the new runtime) bare slow integrity (the helper's own check of
its bytes fails: exit 9); and for the locks (Leases): racetake
(another holder takes the first one POSTed -- a node's lock, or a
rollout's -- between the check and the POST), raceupdate (the
first PUT of a Lease finds it changed), racerelease (the DELETE of a Lease
finds it changed).

--swap REGEX (--swap-nth N): on the first (N-th) request whose "METHOD
path" matches, before
handling it, play an attacker who may update, delete and create ConfigMaps:
the helper's carrier loses its finalizer, is deleted and made again under
its name with other bytes (a new UID, not immutable).  Each helper pod
records the UID of the carrier it was started from (annotation
fake/carrier-uid): what "the kubelet read".

Writes check what the API server checks: a PUT whose metadata.resourceVersion
is not the stored one, and a DELETE whose preconditions (uid,
resourceVersion) do not hold, answer 409.  A SelfSubjectReview names the
user "user-<bearer token>".
"""
import argparse
import base64
import copy
import json
import re
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serve import EveryMethod, serve

ARGS = None
LOCK = threading.Condition()
RV = [100]
STORE = {}          # (kind, ns, name) -> object
REQUESTS = []       # "METHOD path" for the test to inspect (GET /test/requests)
NODE = "node-1"
WORK_NS = "kubectl-runtime-switch"


def next_rv():
    RV[0] += 1
    return str(RV[0])


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def put(kind, obj, event="MODIFIED"):
    md = obj.setdefault("metadata", {})
    md["resourceVersion"] = next_rv()
    md.setdefault("creationTimestamp", now_iso())
    md.setdefault("uid", "uid-%s" % RV[0])
    STORE[(kind, md.get("namespace", ""), md["name"])] = obj
    LOCK.notify_all()


def delete(kind, ns, name):
    obj = STORE.pop((kind, ns, name), None)
    if obj is not None:
        obj["metadata"]["resourceVersion"] = next_rv()
        DELETED.append((kind, obj))
        LOCK.notify_all()
    return obj


DELETED = []


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
            "message": message, "code": code}


def node_obj(runtime, ready=True, name=NODE):
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name},
                         "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/cri-dockerd.sock"}},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "nodeInfo": {"containerRuntimeVersion": runtime, "kubeletVersion": "v1.34.4",
                                    "architecture": "amd64"}}}


def seed():
    with LOCK:
        put("nodes", node_obj("docker://20.10.24"))
        for extra in ARGS.nodes:
            put("nodes", node_obj("docker://20.10.24", name=extra))
            put("pods", running_pod("agent-" + extra, "demo", "localhost/busybox:1", owner=("DaemonSet", "agent"),
                                    node=extra))
        put("nodes", {"kind": "Node", "metadata": {"name": "node-2"}, "spec": {},
                      "status": {"conditions": [{"type": "Ready", "status": "True"}],
                                 "nodeInfo": {"containerRuntimeVersion": "containerd://1.6.20",
                                              "kubeletVersion": "v1.34.4", "architecture": "amd64"}}})
        put("namespaces", {"kind": "Namespace", "metadata": {"name": "kube-system", "labels": {
            "kubernetes.io/metadata.name": "kube-system"}}})
        # the working namespace: created by the plugin, except here
        if ARGS.scenario == "psa":
            put("namespaces", {"kind": "Namespace", "metadata": {"name": WORK_NS, "labels": {
                "kubernetes.io/metadata.name": WORK_NS, "pod-security.kubernetes.io/enforce": "baseline"}}})
        put("daemonsets", {"kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "demo"}})
        put("pods", running_pod("agent-x", "demo", "localhost/busybox:1", owner=("DaemonSet", "agent")))
        put("pods", running_pod("static-web-node-1", "demo", "localhost/busybox:1", mirror=True))
        if ARGS.scenario == "bare":
            put("pods", running_pod("bare", "demo", "localhost/busybox:1"))


def running_pod(name, ns, image, owner=None, mirror=False, node=NODE):
    md = {"name": name, "namespace": ns}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                  "controller": True, "uid": "o1"}]
    if mirror:
        md["annotations"] = {"kubernetes.io/config.mirror": "x"}
    return {"kind": "Pod", "apiVersion": "v1", "metadata": md,
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": image}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "c", "containerID": "docker://x", "ready": True, "state": {"running": {}}}]}}


def node_runtime(node=NODE):
    return STORE[("nodes", "", node)]["status"]["nodeInfo"]["containerRuntimeVersion"]


def set_node(runtime, ready, node=NODE):
    n = copy.deepcopy(STORE[("nodes", "", node)])
    n["status"]["nodeInfo"]["containerRuntimeVersion"] = runtime
    n["status"]["conditions"][0]["status"] = "True" if ready else "False"
    put("nodes", n)


# ---- the node: helper pods ----

JOURNALS = {}       # node -> the helper's journal there
LOGS = {}


def plan(ok=True):
    p = {"contract": 1, "id": "x", "ok": ok, "from": "cri-dockerd", "to": "containerd",
         "kubelet": {"version": "1.34.4", "endpoint_before": "unix:///var/run/cri-dockerd.sock",
                     "endpoint_after": "unix:///run/containerd/containerd.sock",
                     "endpoint_where": "flag", "cgroup_driver": "cgroupfs", "cgroup_driver_source": "x"},
         "runtime": {"name": "containerd", "version": "1.6.20", "config_version": 1},
         "sandbox_image": "registry.k8s.io/pause:3.10", "sandbox_image_source": "x",
         "cni": {"bin_dir": "/usr/lib/cni", "conf_dir": "/etc/cni/net.d"},
         "images": {"carry": ["registry.k8s.io/pause:3.10", "localhost/busybox:1"],
                    "bytes": 1, "free_bytes": 2},
         "files": [{"path": "/etc/containerd/config.toml", "action": "modify", "changes": ["cri on"]}],
         "services": [], "steps": ["stop-kubelet", "wait-kubelet"], "warnings": [],
         "blockers": [] if ok else ["cri-o is not installed"]}
    return json.dumps(plan_fix(p))


def plan_fix(p):
    return p


def pod_status(pod, phase, runtime=None, exit_code=None, waiting=None):
    cs = {"name": "helper", "ready": phase == "Running"}
    if runtime:
        cs["containerID"] = runtime.split("://")[0] + "://c%s" % RV[0]
    if exit_code is not None:
        cs["state"] = {"terminated": {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error"}}
    elif waiting:
        cs["state"] = {"waiting": waiting}
    elif phase == "Running":
        cs["state"] = {"running": {}}
    else:
        cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
    pod["status"] = {"phase": phase, "containerStatuses": [cs]}


def run_pod(job, pod):
    """Play the helper in a Job's pod (a thread per pod)."""
    cmd = pod["spec"]["containers"][0]["command"]
    role = cmd[1]
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    image = pod["spec"]["containers"][0]["image"]
    node = pod["spec"].get("nodeName") or NODE
    journal = JOURNALS.setdefault(node, [])

    def update(**kw):
        with LOCK:
            cur = STORE.get(("pods", ns, name))
            if cur is None:
                return False
            cur = copy.deepcopy(cur)
            pod_status(cur, **kw)
            put("pods", cur)
            return True

    time.sleep(0.2)
    if role == "preflight" and ARGS.scenario == "integrity":
        # the helper's own check (--expect-sha256) failed
        want = cmd[cmd.index("--expect-sha256") + 1] if "--expect-sha256" in cmd else "?"
        LOGS[name] = "rs-node-helper: integrity: /proc/self/exe has sha256 %s, expected %s\n" % ("f" * 64, want)
        update(phase="Running", runtime=node_runtime(node))
        update(phase="Failed", runtime=node_runtime(node), exit_code=9)
    elif role == "preflight":
        LOGS[name] = "rs-node-helper: preflight\n" + plan(ARGS.scenario != "blocked") + "\n"
        update(phase="Running", runtime=node_runtime(node))
        time.sleep(0.2)
        update(phase="Succeeded" if ARGS.scenario != "blocked" else "Failed", runtime=node_runtime(node),
               exit_code=0 if ARGS.scenario != "blocked" else 3)
    elif role == "launch":
        LOGS[name] = plan() + "\n"
        update(phase="Running", runtime=node_runtime(node))
        time.sleep(0.3)
        update(phase="Failed", runtime=node_runtime(node), exit_code=7)
        t0 = int(time.time())
        journal[:] = [{"time": t0, "event": "state", "state": "launched"},
                      {"time": t0, "event": "begin", "step": "stop-kubelet"}]
        time.sleep(0.5 if ARGS.scenario != "slow" else 3)
        with LOCK:
            set_node(node_runtime(node), False, node)
        time.sleep(0.8)
        with LOCK:
            if ARGS.scenario == "rolledback":
                set_node("docker://20.10.24", True, node)
                journal.append({"time": int(time.time()), "event": "state", "state": "rolled-back",
                                "reason": "wait-runtime: containerd did not answer"})
            else:
                set_node("containerd://1.6.20", True, node)
                journal.append({"time": int(time.time()), "event": "done", "step": "wait-kubelet"})
                journal.append({"time": int(time.time()), "event": "state", "state": "done"})
    elif role == "rollback":
        # the helper's rollback of the run: back on Docker
        LOGS[name] = "rs-node-helper: rollback\n"
        update(phase="Running", runtime=node_runtime(node))
        time.sleep(0.3)
        update(phase="Succeeded", runtime=node_runtime(node), exit_code=0)
        t0 = int(time.time())
        journal[:] = [{"time": t0, "event": "state", "state": "rolling-back"}]
        with LOCK:
            set_node(node_runtime(node), False, node)
        time.sleep(0.5)
        with LOCK:
            set_node("docker://20.10.24", True, node)
            journal.append({"time": int(time.time()), "event": "state", "state": "rolled-back",
                            "reason": "requested with kubectl runtime-switch rollback"})
    elif role == "report":
        # runs once the node is back from its restart (or was never away)
        for _ in range(200):
            with LOCK:
                final = journal and journal[-1].get("event") == "state" and \
                    journal[-1]["state"] in ("done", "rolled-back")
                ready = STORE[("nodes", "", node)]["status"]["conditions"][0]["status"] == "True"
            if final and ready:
                break
            time.sleep(0.1)
        rt = node_runtime(node)
        if ARGS.scenario == "noimage" and rt.startswith("containerd") and image == "localhost/busybox:1":
            update(phase="Pending", waiting={"reason": "ErrImageNeverPull",
                                             "message": "Container image \"localhost/busybox:1\" is not present with pull policy of Never"})
            return
        st = journal[-1]["state"] if journal else "launched"
        rep = {"contract": 1, "id": "x", "state": st, "from": "cri-dockerd", "to": "containerd",
               "step": "wait-kubelet", "reason": journal[-1].get("reason") if journal else None,
               "exit_code": 0 if st == "done" else 4, "journal": journal}
        LOGS[name] = json.dumps(rep) + "\n"
        update(phase="Running", runtime=rt)
        time.sleep(0.1)
        code = 0 if st == "done" else 4
        update(phase="Succeeded" if code == 0 else "Failed", runtime=rt, exit_code=code)


SWAPPED = []
SWAP_SEEN = []
STARTED = []        # every helper pod: {"pod", "carrier": the carrier UID it read}


def swap_carrier():
    """Replace the carrier (ConfigMap or Secret labelled as the helper's)."""
    for (kind, ns, name), o in list(STORE.items()):
        labels = o["metadata"].get("labels", {})
        if kind not in ("configmaps", "secrets") or labels.get("runtime-switch.kubectl.dev/role") != "helper":
            continue
        delete(kind, ns, name)
        evil = {"kind": o["kind"], "apiVersion": "v1",
                "metadata": {"name": name, "namespace": ns, "labels": dict(labels)}}
        evil["binaryData" if kind == "configmaps" else "data"] = {
            "rs-node-helper": base64.b64encode(b"\x7fELF not the helper").decode()}
        put(kind, evil)
        SWAPPED.append(evil["metadata"]["uid"])


def carrier_uid(pod):
    for v in pod["spec"].get("volumes", []):
        ref = (v.get("configMap") or {}).get("name") or (v.get("secret") or {}).get("secretName")
        kind = "configmaps" if v.get("configMap") else "secrets"
        o = STORE.get((kind, pod["metadata"]["namespace"], ref))
        if o is not None:
            return o["metadata"]["uid"]
    return None


def start_job(job):
    ns = job["metadata"]["namespace"]
    jname = job["metadata"]["name"]
    tmpl = job["spec"]["template"]
    pod = {"kind": "Pod", "apiVersion": "v1",
           "metadata": {"name": jname + "-p%s" % RV[0], "namespace": ns,
                        "labels": dict(tmpl["metadata"].get("labels", {}), **{"job-name": jname}),
                        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": jname,
                                             "controller": True, "uid": job["metadata"]["uid"]}]},
           "spec": copy.deepcopy(tmpl["spec"])}
    pod_status(pod, "Pending")
    pod["metadata"]["annotations"] = {"fake/carrier-uid": carrier_uid(pod) or ""}
    STARTED.append({"pod": pod["metadata"]["name"], "carrier": carrier_uid(pod)})
    put("pods", pod)
    threading.Thread(target=run_pod, args=(job, copy.deepcopy(pod)), daemon=True).start()


# ---- HTTP ----

KINDS = {"nodes": ("", False), "namespaces": ("", False), "pods": ("v1", True), "configmaps": ("v1", True),
         "secrets": ("v1", True), "events": ("v1", True), "jobs": ("batch/v1", True),
         "daemonsets": ("apps/v1", True), "leases": ("coordination.k8s.io/v1", True)}
RACES = set()       # the race scenarios that already happened once


def parse_path(path):
    """-> (kind, ns, name, sub) or None"""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        rest = parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        rest = parts[3:]
    else:
        return None
    ns = None
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        ns = rest[1]
        rest = rest[2:]
    if not rest:
        return None
    kind = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if kind == "namespaces" and name and ns is None:
        return ("namespaces", "", name, sub)
    return (kind, ns, name, sub)


def crash_loop(q):
    """--crashloop: the pods of a listed node that runs containerd restart."""
    for sel in q.get("fieldSelector", []):
        for term in sel.split(","):
            key, _, node = term.partition("=")
            if key != "spec.nodeName" or node not in ARGS.crashloop or not node_runtime(node).startswith("containerd"):
                continue
            for (kind, ns, _), o in list(STORE.items()):
                if kind != "pods" or ns == WORK_NS or o["spec"].get("nodeName") != node:
                    continue
                o = copy.deepcopy(o)
                for cs in o.get("status", {}).get("containerStatuses", []):
                    cs["restartCount"] = cs.get("restartCount", 0) + 1
                put("pods", o)


def matches(obj, q, ns):
    md = obj.get("metadata", {})
    if ns is not None and md.get("namespace", "") != ns:
        return False
    for sel in q.get("labelSelector", []):
        for term in sel.split(","):
            if "!=" in term:
                k, v = term.split("!=", 1)
                if md.get("labels", {}).get(k) == v:
                    return False
            elif "=" in term:
                k, v = term.split("=", 1)
                if md.get("labels", {}).get(k.rstrip("=")) != v.lstrip("="):
                    return False
    for sel in q.get("fieldSelector", []):
        for term in sel.split(","):
            k, v = term.split("=", 1)
            cur = obj
            for part in k.split("."):
                cur = cur.get(part, {}) if isinstance(cur, dict) else {}
            if cur != v and not (cur == {} and v == ""):
                return False
    return True


def immutable_changed(cur, new):
    """An immutable ConfigMap/Secret: data and the flag cannot change."""
    if not cur.get("immutable"):
        return False
    return any(cur.get(k) != new.get(k) for k in ("data", "binaryData", "immutable"))


def json_patch(obj, ops):
    """RFC 6902, the parts the plugin sends (test, replace, add, remove)."""
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = obj
        for p in parts[:-1]:
            parent = parent.setdefault(p, {})
        last = parts[-1]
        if op["op"] == "test" and parent.get(last) != op["value"]:
            return False
        if op["op"] in ("replace", "add"):
            parent[last] = op["value"]
        if op["op"] == "remove":
            parent.pop(last, None)
    return True


def merge(dst, patch):
    for k, v in patch.items():
        if v is None:
            dst.pop(k, None)
        elif isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        else:
            dst[k] = v


class Handler(EveryMethod, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        return json.loads(self.raw) if self.raw else None

    def on_request(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        self.raw = self.rfile.read(n) if n else b""
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        with LOCK:
            REQUESTS.append("%s %s" % (method, self.path))
            if ARGS.swap and not SWAPPED and re.search(ARGS.swap, "%s %s" % (method, self.path)):
                SWAP_SEEN.append(1)
                if len(SWAP_SEEN) == ARGS.swap_nth:
                    swap_carrier()
        if u.path == "/test/requests":
            return self.send_json(200, {"requests": REQUESTS})
        if u.path == "/test/started":
            with LOCK:
                return self.send_json(200, {"started": STARTED, "swapped": SWAPPED})
        if u.path == "/test/store":
            with LOCK:
                return self.send_json(200, {"%s/%s/%s" % k: v for k, v in STORE.items()})
        if u.path == "/apis/authentication.k8s.io/v1/selfsubjectreviews" and method == "POST":
            token = (self.headers.get("Authorization") or "Bearer ?").split(" ", 1)[-1]
            return self.send_json(201, {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                                        "status": {"userInfo": {"username": "user-" + token}}})
        if u.path == "/api/v1":
            return self.send_json(200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "pods/eviction", "kind": "Eviction", "group": "policy", "version": "v1"}]})
        p = parse_path(u.path)
        if not p or p[0] not in KINDS:
            return self.send_json(404, status(404, "NotFound", "no route %s" % u.path))
        kind, ns, name, sub = p
        if method == "GET" and name is None and q.get("watch"):
            return self.watch(kind, ns, q)
        if method == "GET" and name is None:
            if "as=PartialObjectMetadata;" in (self.headers.get("Accept") or ""):
                # as kube-apiserver: a list is only ever PartialObjectMetadataList
                return self.send_json(406, status(406, "NotAcceptable", "you requested PartialObjectMetadata, "
                                                  "but the requested object is a list"))
            with LOCK:
                if kind == "pods" and ARGS.crashloop:
                    crash_loop(q)
                items = [copy.deepcopy(o) for (k, n2, _), o in sorted(STORE.items()) if k == kind and matches(o, q, ns)]
                return self.send_json(200, {"kind": "List", "metadata": {"resourceVersion": str(RV[0])},
                                            "items": items})
        key = (kind, ns or "", name or "")
        if method == "GET" and sub == "log":
            text = LOGS.get(name, "")
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        if method == "GET":
            with LOCK:
                o = STORE.get(key)
                if o is None:
                    return self.send_json(404, status(404, "NotFound", '%s "%s" not found' % (kind, name)))
                return self.send_json(200, o)
        if method == "POST" and sub == "eviction":
            with LOCK:
                delete("pods", ns, name)
            return self.send_json(201, {"kind": "Status", "status": "Success"})
        if method == "POST":
            obj = self.body()
            if kind == "pods" and q.get("dryRun"):
                if ARGS.scenario == "priority" and obj["spec"].get("priorityClassName"):
                    return self.send_json(403, status(403, "Forbidden", 'pods "x" is forbidden: insufficient quota '
                                                      'to match these scopes: [{PriorityClass In [system-node-critical]}]'))
                if ARGS.scenario == "psa":
                    return self.send_json(403, status(403, "Forbidden", 'pods "x" is forbidden: violates PodSecurity '
                                                      '"baseline:latest": host namespaces'))
                return self.send_json(201, obj)
            if ns is not None:
                obj["metadata"]["namespace"] = ns
            with LOCK:
                if kind == "leases" and ARGS.scenario == "racetake" and "racetake" not in RACES:
                    RACES.add("racetake")
                    other = copy.deepcopy(obj)
                    rec = json.loads(other["metadata"]["annotations"]["runtime-switch.kubectl.dev/record"])
                    # a node's lock names a run, the rollout's lock a rollout
                    what = "rollout" if "rollout" in rec else "run"
                    other["spec"]["holderIdentity"] = "intruder (%s 20990101-000000-beef)" % what
                    rec.update({"rollout" if what == "rollout" else "id": "20990101-000000-beef", "user": "intruder"})
                    other["metadata"]["annotations"]["runtime-switch.kubectl.dev/record"] = json.dumps(rec)
                    put(kind, other)
                if (kind, ns or "", obj["metadata"]["name"]) in STORE:
                    return self.send_json(409, status(409, "AlreadyExists", "exists"))
                put(kind, obj)
            if kind == "jobs" and not obj["spec"].get("suspend"):
                with LOCK:
                    start_job(obj)
            return self.send_json(201, obj)
        if method == "PUT":
            obj = self.body()
            with LOCK:
                cur = STORE.get(key)
                if cur is None:
                    return self.send_json(404, status(404, "NotFound", "not found"))
                race = kind == "leases" and ARGS.scenario == "raceupdate" and "raceupdate" not in RACES
                if race:
                    RACES.add("raceupdate")
                    put(kind, copy.deepcopy(cur))
                want = obj.get("metadata", {}).get("resourceVersion")
                if want and want != STORE[key]["metadata"]["resourceVersion"]:
                    return self.send_json(409, status(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": '
                                                      'the object has been modified' % (kind, name)))
                if immutable_changed(cur, obj):
                    return self.send_json(422, status(422, "Invalid", "field is immutable when `immutable` is set"))
                obj["metadata"].pop("resourceVersion", None)
                put(kind, obj)
            return self.send_json(200, obj)
        if method == "PATCH":
            patch = self.body()
            with LOCK:
                o = STORE.get(key)
                if o is None:
                    return self.send_json(404, status(404, "NotFound", "not found"))
                n = copy.deepcopy(o)
                if isinstance(patch, list):
                    if not json_patch(n, patch):
                        return self.send_json(422, status(422, "Invalid", "the server rejected our request due "
                                                          "to an error in our request (test failed)"))
                else:
                    want_rv = (patch.get("metadata") or {}).get("resourceVersion")
                    if want_rv is not None and want_rv != o["metadata"]["resourceVersion"]:
                        return self.send_json(409, status(409, "Conflict", "the object has been modified"))
                    merge(n, patch)
                if immutable_changed(o, n):
                    return self.send_json(422, status(422, "Invalid", "field is immutable when `immutable` is set"))
                if n["metadata"].get("deletionTimestamp") and not n["metadata"].get("finalizers"):
                    delete(kind, ns or "", name)
                    return self.send_json(200, n)
                put(kind, n)
                if kind == "jobs" and o["spec"].get("suspend") and not n["spec"].get("suspend"):
                    start_job(n)
                return self.send_json(200, n)
        if method == "DELETE":
            opts = self.body() or {}
            pre = opts.get("preconditions") or {}
            with LOCK:
                o = STORE.get(key)
                if kind == "leases" and o and ARGS.scenario == "racerelease" and "racerelease" not in RACES:
                    RACES.add("racerelease")
                    put(kind, copy.deepcopy(o))
                    o = STORE.get(key)
                if o is not None and any(pre.get(k) not in (None, o["metadata"].get(k)) for k in ("uid", "resourceVersion")):
                    return self.send_json(409, status(409, "Conflict", "Precondition failed"))
                if o is not None and o["metadata"].get("finalizers"):
                    o = copy.deepcopy(o)
                    o["metadata"].setdefault("deletionTimestamp", now_iso())
                    put(kind, o)
                    return self.send_json(200, o)
                o = delete(kind, ns or "", name)
                if o is None:
                    return self.send_json(404, status(404, "NotFound", "not found"))
                if kind == "jobs":
                    for (k, n2, pn), po in list(STORE.items()):
                        if k == "pods" and po["metadata"].get("labels", {}).get("job-name") == name:
                            delete("pods", n2, pn)
            return self.send_json(200, {"kind": "Status", "status": "Success"})
        return self.send_json(405, status(405, "MethodNotAllowed", method))

    def watch(self, kind, ns, q):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(ev, obj):
            line = (json.dumps({"type": ev, "object": obj}) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()

        end = time.time() + min(float(q.get("timeoutSeconds", ["30"])[0]), 30)
        seen = {}
        # deletions after the resourceVersion asked for are told too (a pod
        # evicted between a list and its watch)
        since = int((q.get("resourceVersion") or ["0"])[0] or 0)
        with LOCK:
            ndel = len(DELETED)
            while since and ndel > 0 and int(DELETED[ndel - 1][1]["metadata"]["resourceVersion"]) > since:
                ndel -= 1
        try:
            while time.time() < end:
                with LOCK:
                    cur = {k: copy.deepcopy(o) for k, o in STORE.items() if k[0] == kind and matches(o, q, ns)}
                    gone = [(k, o) for k, o in DELETED[ndel:] if k == kind and matches(o, q, ns)]
                    ndel = len(DELETED)
                for k, o in cur.items():
                    rv = o["metadata"]["resourceVersion"]
                    if seen.get(k) != rv:
                        send("ADDED" if k not in seen else "MODIFIED", o)
                        seen[k] = rv
                for _, o in gone:
                    send("DELETED", o)
                with LOCK:
                    LOCK.wait(0.2)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass



def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--scenario", default="ok")
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--swap", default="")
    ap.add_argument("--swap-nth", type=int, default=1)
    ap.add_argument("--nodes", default="", help="more Docker nodes (comma-separated) played as node-1 is")
    ap.add_argument("--tls", default="", help="serve HTTPS with DIR/server.crt and DIR/server.key (gen-certs.sh)")
    ap.add_argument("--crashloop", default="", help="nodes (comma-separated) whose pods restart at each list once "
                    "the node runs containerd")
    ARGS = ap.parse_args()
    ARGS.nodes = [n for n in ARGS.nodes.split(",") if n]
    ARGS.crashloop = [n for n in ARGS.crashloop.split(",") if n]
    seed()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if ARGS.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls + "/server.crt", ARGS.tls + "/server.key")
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    serve(srv, ARGS.port_file, ARGS.lifetime)


if __name__ == "__main__":
    main()
