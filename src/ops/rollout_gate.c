/* The rollout's health gates between batches (rollout_int.h): what a
 * node's workloads had before its drain, and whether it and they are back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/signals.h"
#include "common/strutil.h"
#include "ops/switch.h"
#include "rollout_int.h"

#define POLL_MS 2000
#define MAX_LISTED 5      /* what is not back: the first few, named */

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static const json_t *meta(const json_t *o) { return json_object_get(o, "metadata"); }

static const json_t *controller(const json_t *pod) {
  size_t i;
  const json_t *r;
  json_array_foreach(json_object_get(meta(pod), "ownerReferences"), i, r) {
    if (json_is_true(json_object_get(r, "controller"))) return r;
  }
  return NULL;
}

/* The pods on node (all namespaces), into *ret (an array). */
static int node_pods(rs_kube_client_t *c, const char *node, json_t *ret, rs_err_t *err);

static int on_pod(void *ud, json_t *pod, rs_err_t *err) {
  return json_array_append(ud, pod) == 0 ? 0 : rs_oom(err);
}

static int node_pods(rs_kube_client_t *c, const char *node, json_t *ret, rs_err_t *err) {
  _cleanup_free_ char *fs = rs_strdup_printf("spec.nodeName=%s", node);
  if (!fs) return rs_oom(err);
  struct rs_kube_list_opts lo = {.field_selector = fs};
  if (rs_kube_list(c, "/api/v1/pods", &lo, on_pod, ret, NULL, err) < 0)
    return rs_wrap(err, "listing the pods of node %s", node);
  return 0;
}

static bool pod_ready(const json_t *pod) {
  const json_t *st = json_object_get(pod, "status");
  const json_t *conds = json_object_get(st, "conditions");
  size_t i;
  const json_t *x;
  if (json_array_size(conds)) {
    json_array_foreach(conds, i, x) {
      const char *t = str(x, "type");
      if (t && strcmp(t, "Ready") == 0) return str(x, "status") && strcmp(str(x, "status"), "True") == 0;
    }
    return false;
  }
  const json_t *cs = json_object_get(st, "containerStatuses");
  json_array_foreach(cs, i, x) {
    if (!json_is_true(json_object_get(x, "ready"))) return false;
  }
  return json_array_size(cs) > 0;
}

static const char *workload_plural(const char *kind) {
  return !kind ? NULL : strcmp(kind, "ReplicaSet") == 0 ? "replicasets" : strcmp(kind, "StatefulSet") == 0 ? "statefulsets" : NULL;
}

/* A workload's available replicas now and the replicas it wants (-1 each
 * when gone). */
static int workload_now(rs_kube_client_t *c, const char *key, long *ret_avail, long *ret_want, rs_err_t *err) {
  char kind[32], ns[256], name[256];
  if (sscanf(key, "%31[^/]/%255[^/]/%255s", kind, ns, name) != 3) return rs_fail(err, RS_E_INPUT, 0, "bad key %s", key);
  _cleanup_free_ char *ens = rs_kube_escape(ns), *en = rs_kube_escape(name);
  _cleanup_free_ char *path = ens && en ? rs_strdup_printf("/apis/apps/v1/namespaces/%s/%s/%s", ens,
                                                           workload_plural(kind), en) : NULL;
  if (!path) return rs_oom(err);
  json_auto_t *w = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_kube_get(c, path, &w, &e) < 0) {
    if (!rs_kube_is_not_found(&e)) {
      rs_err_move(err, &e);
      return -1;
    }
    rs_err_clear(&e);
    *ret_avail = *ret_want = -1;
    return 0;
  }
  *ret_avail = (long)json_integer_value(json_object_get(json_object_get(w, "status"), "availableReplicas"));
  const json_t *rep = json_object_get(json_object_get(w, "spec"), "replicas");
  *ret_want = json_is_integer(rep) ? (long)json_integer_value(rep) : 1;
  return 0;
}

int rs_rr_gate_snapshot(rs_kube_client_t *c, const char *node, json_t **ret, rs_err_t *err) {
  json_auto_t *pods = json_array(), *snap = json_object();
  if (!pods || !snap) return rs_oom(err);
  if (node_pods(c, node, pods, err) < 0) return -1;
  size_t i;
  json_t *pod;
  json_array_foreach(pods, i, pod) {
    const json_t *ctl = controller(pod);
    const char *ns = str(meta(pod), "namespace"), *kind = str(ctl, "kind"), *name = str(ctl, "name");
    if (!workload_plural(kind) || !ns || !name || strlen(ns) > 253 || strlen(name) > 253) continue;
    _cleanup_free_ char *key = rs_strdup_printf("%s/%s/%s", kind, ns, name);
    if (!key) return rs_oom(err);
    if (json_object_get(snap, key)) continue;
    long avail, want;
    if (workload_now(c, key, &avail, &want, err) < 0) return rs_wrap(err, "reading %s", key);
    if (avail >= 0 && json_object_set_new(snap, key, json_integer(avail)) < 0) return rs_oom(err);
  }
  *ret = json_incref(snap);
  return 0;
}

/* What is not back yet (heap text, "" when all is; NULL on OOM). */
static char *not_back(rs_kube_client_t *c, const char *node, const char *to, const json_t *before, rs_err_t *err,
                      int *rc) {
  rs_buf_t b = RS_BUF_INIT(64 * 1024);
  size_t listed = 0;
  *rc = 0;
  _cleanup_free_ char *en = rs_kube_escape(node);
  _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
  json_auto_t *n = NULL, *pods = json_array();
  if (!path || !pods) return rs_oom(err), *rc = -1, NULL;
  if (rs_kube_get(c, path, &n, err) < 0 || node_pods(c, node, pods, err) < 0) return *rc = -1, NULL;
  if (!rs_sw_node_ready(n)) rs_buf_printf(&b, NULL, "node %s is not Ready; ", node), listed++;
  if (!rs_sw_runtime_is(n, to)) rs_buf_printf(&b, NULL, "node %s is not on %s; ", node, to), listed++;
  size_t i;
  json_t *pod;
  json_array_foreach(pods, i, pod) {
    const char *kind = str(controller(pod), "kind");
    if (!kind || strcmp(kind, "DaemonSet") != 0 || pod_ready(pod)) continue;
    if (listed++ < MAX_LISTED)
      rs_buf_printf(&b, NULL, "DaemonSet pod %s/%s is not Ready; ", str(meta(pod), "namespace"),
                    str(meta(pod), "name"));
  }
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)before, key, v) {
    long avail, want, had = (long)json_integer_value(v);
    if (workload_now(c, key, &avail, &want, err) < 0) return *rc = -1, NULL;
    long need = want >= 0 && want < had ? want : had;
    if (avail >= 0 && avail < need && listed++ < MAX_LISTED)
      rs_buf_printf(&b, NULL, "%s has %ld available of the %ld it had before the drain; ", key, avail, had);
  }
  if (listed > MAX_LISTED) rs_buf_printf(&b, NULL, "and %zu more; ", listed - MAX_LISTED);
  if (!b.data) return strdup("");
  if (b.len >= 2) b.data[b.len - 2] = '\0';
  return b.data;
}

int rs_rr_gate_node(rs_kube_client_t *c, const char *node, const char *to, const json_t *before,
                    long long timeout_ms, char **ret_why, rs_err_t *err) {
  long long end = rs_now_ms() + timeout_ms;
  for (;;) {
    int rc;
    _cleanup_free_ char *why = not_back(c, node, to, before, err, &rc);
    if (rc < 0) return rs_wrap(err, "the gates of node %s", node);
    if (!why) return rs_oom(err);
    if (!*why) {
      *ret_why = NULL;
      return 0;
    }
    if (rs_now_ms() >= end || rs_cancelled) {
      *ret_why = rs_strdup_printf("node %s: not back after %lld s: %s", node, timeout_ms / 1000, why);
      return *ret_why ? 1 : rs_oom(err);
    }
    struct timespec ts = {.tv_sec = POLL_MS / 1000, .tv_nsec = (POLL_MS % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
}

int rs_rr_gate_restarts(rs_kube_client_t *c, char *const *nodes, json_t **ret, rs_err_t *err) {
  json_auto_t *counts = json_object();
  if (!counts) return rs_oom(err);
  for (size_t k = 0; nodes[k]; k++) {
    json_auto_t *pods = json_array();
    if (!pods) return rs_oom(err);
    if (node_pods(c, nodes[k], pods, err) < 0) return -1;
    size_t i, j;
    json_t *pod, *cs;
    json_array_foreach(pods, i, pod) {
      json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), j, cs) {
        _cleanup_free_ char *key = rs_strdup_printf("%s/%s/%s", str(meta(pod), "namespace"),
                                                    str(meta(pod), "name"), str(cs, "name"));
        if (!key || json_object_set_new(counts, key, json_integer(json_integer_value(json_object_get(cs, "restartCount")))) < 0)
          return rs_oom(err);
      }
    }
  }
  *ret = json_incref(counts);
  return 0;
}

char *rs_rr_gate_restarted(const json_t *before, const json_t *after) {
  rs_buf_t b = RS_BUF_INIT(64 * 1024);
  size_t n = 0;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)after, key, v) {
    json_int_t was = json_integer_value(json_object_get(before, key)), now = json_integer_value(v);
    if (now > was && n++ < MAX_LISTED)
      rs_buf_printf(&b, NULL, "%s%s restarted %lld time(s)", n > 1 ? ", " : "soak: ", key, (long long)(now - was));
  }
  if (n > MAX_LISTED) rs_buf_printf(&b, NULL, " and %zu more", n - MAX_LISTED);
  return b.data;
}
