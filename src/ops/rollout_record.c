/* The rollout's record (include/ops/rollout_record.h): rollout.json read
 * with bounds and checks, written back, and kept in a ConfigMap written
 * with preconditions. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/runtimes.h"
#include "ops/deliver.h"
#include "ops/rollout_plan.h"
#include "ops/rollout_record.h"

#define MANAGED_BY "app.kubernetes.io/managed-by"
#define MANAGER "kubectl-runtime-switch"
#define MAX_HOST 255
#define MAX_PHASE 32
#define MAX_META 128   /* uid, resourceVersion */
#define MAX_SOAK_S (7L * 86400)
#define MAX_GRACE_S 86400L
#define MAX_TIMEOUT_S (30L * 86400)

static const char *const states[_RS_ROR_STATE_MAX] = {"running", "paused", "halted", "done", "aborted"};
static const char *const node_states[_RS_ROR_NODE_STATE_MAX] = {"pending", "running", "done", "failed",
                                                                "cancelled"};

const char *rs_ror_state_name(int s) { return s >= 0 && s < _RS_ROR_STATE_MAX ? states[s] : "unknown"; }
const char *rs_ror_node_state_name(int s) {
  return s >= 0 && s < _RS_ROR_NODE_STATE_MAX ? node_states[s] : "unknown";
}

static int index_of(const char *const *v, size_t n, const char *s) {
  for (size_t i = 0; s && i < n; i++)
    if (strcmp(v[i], s) == 0) return (int)i;
  return -1;
}
int rs_ror_state_from_name(const char *s) { return index_of(states, RS_ARRAY_SIZE(states), s); }
int rs_ror_node_state_from_name(const char *s) { return index_of(node_states, RS_ARRAY_SIZE(node_states), s); }
bool rs_ror_final(int s) { return s == RS_ROR_DONE || s == RS_ROR_ABORTED; }
bool rs_ror_node_final(int s) {
  return s == RS_ROR_NODE_DONE || s == RS_ROR_NODE_FAILED || s == RS_ROR_NODE_CANCELLED;
}

static void node_clear(struct rs_ror_node *n) {
  free(n->name), free(n->run), free(n->phase), free(n->reason);
  *n = (struct rs_ror_node){0};
}

void rs_ror_record_clear(struct rs_ror_record *r) {
  if (!r) return;
  free(r->id), free(r->to), free(r->owner), free(r->host), free(r->selector), free(r->reason);
  free(r->opts.max_unavailable), free(r->opts.drain.pod_selector);
  rs_strv_free(r->names);
  for (size_t i = 0; i < r->nnodes; i++) node_clear(&r->nodes[i]);
  free(r->nodes);
  free(r->uid), free(r->rv);
  *r = (struct rs_ror_record){0};
}

char *rs_ror_name(const char *id) { return rs_strdup_printf("%s%s", RS_ROR_PREFIX, id ? id : ""); }

struct rs_ror_node *rs_ror_node_find(const struct rs_ror_record *r, const char *name) {
  for (size_t i = 0; name && i < r->nnodes; i++)
    if (strcmp(r->nodes[i].name, name) == 0) return &r->nodes[i];
  return NULL;
}

size_t rs_ror_count(const struct rs_ror_record *r, int state) {
  size_t n = 0;
  for (size_t i = 0; i < r->nnodes; i++) n += r->nodes[i].state == state;
  return n;
}

/* ---- reading ---- */

/* A node name as the API server allows it: a DNS-1123 subdomain. */
static bool node_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 253) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '.') return false;
    if (!alnum && (i == 0 || i == n - 1 || s[i - 1] == '.' || (c == '.' && s[i - 1] == '-'))) return false;
  }
  return true;
}

/* A phase name: a short lowercase token. */
static bool token_ok(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n > max) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return false;
  return true;
}

struct rd {
  const char *where;   /* "" or "nodes[3] (node-1): " */
  rs_err_t *err;
};

static int bad(struct rd *d, const char *field, const char *why) {
  return rs_fail(d->err, RS_E_INPUT, 0, "rollout record: %s%s: %s", d->where, field, why);
}

/* An optional string of at most max bytes (jansson refuses \u0000 without
 * JSON_ALLOW_NUL: no NUL inside). */
static int text(struct rd *d, const json_t *o, const char *key, size_t max, bool required, char **dst) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return required ? bad(d, key, "missing") : 0;
  if (!json_is_string(v)) return bad(d, key, "not a string");
  size_t len = json_string_length(v);
  if (len > max) return rs_fail(d->err, RS_E_LIMIT, 0, "rollout record: %s%s: longer than %zu bytes", d->where,
                                key, max);
  if (required && len == 0) return bad(d, key, "empty");
  return (*dst = strdup(json_string_value(v))) ? 0 : rs_oom(d->err);
}

static int integer(struct rd *d, const json_t *o, const char *key, long long lo, long long hi, long long def,
                   long long *dst) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) {
    *dst = def;
    return 0;
  }
  if (!json_is_integer(v)) return bad(d, key, "not an integer");
  json_int_t x = json_integer_value(v);
  if (x < lo || x > hi) {
    _cleanup_free_ char *why = rs_strdup_printf("%lld is outside %lld..%lld", (long long)x, lo, hi);
    return why ? bad(d, key, why) : rs_oom(d->err);
  }
  *dst = x;
  return 0;
}

static int lint(struct rd *d, const json_t *o, const char *key, long lo, long hi, long def, long *dst) {
  long long v;
  if (integer(d, o, key, lo, hi, def, &v) < 0) return -1;
  *dst = (long)v;
  return 0;
}

static int boolean(struct rd *d, const json_t *o, const char *key, bool *dst) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return *dst = false, 0;
  if (!json_is_boolean(v)) return bad(d, key, "not true or false");
  *dst = json_is_true(v);
  return 0;
}

static int object(struct rd *d, const json_t *o, const char *key, const json_t **dst) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return *dst = NULL, 0;
  if (!json_is_object(v)) return bad(d, key, "not an object");
  *dst = v;
  return 0;
}

static int read_selection(struct rd *d, const json_t *root, struct rs_ror_record *r) {
  const json_t *sel = NULL;
  if (object(d, root, "selection", &sel) < 0) return -1;
  if (!sel) return bad(d, "selection", "missing");
  const json_t *names = json_object_get(sel, "names");
  int kinds = 0;
  if (names && !json_is_null(names)) {
    kinds++;
    if (!json_is_array(names)) return bad(d, "selection.names", "not an array");
    if (json_array_size(names) == 0) return bad(d, "selection.names", "empty");
    if (json_array_size(names) > RS_ROR_MAX_NODES)
      return rs_fail(d->err, RS_E_LIMIT, 0, "rollout record: selection.names: more than %d", RS_ROR_MAX_NODES);
    if (!(r->names = rs_strv_new())) return rs_oom(d->err);
    size_t i;
    const json_t *v;
    json_array_foreach(names, i, v) {
      if (!json_is_string(v) || !node_name_ok(json_string_value(v)))
        return bad(d, "selection.names", "an entry is not a node name");
      if (rs_strv_push(&r->names, json_string_value(v), d->err) < 0) return -1;
    }
  }
  if (text(d, sel, "selector", RS_ROR_MAX_TEXT, false, &r->selector) < 0) return -1;
  if (r->selector) kinds++;
  if (boolean(d, sel, "all", &r->all) < 0) return -1;
  if (r->all) kinds++;
  return kinds == 1 ? 0 : bad(d, "selection", "needs exactly one of names, selector and all");
}

static int read_opts(struct rd *d, const json_t *root, struct rs_ror_opts *o) {
  const json_t *j = NULL, *dr = NULL;
  if (object(d, root, "options", &j) < 0) return -1;
  if (!j) return bad(d, "options", "missing");
  long n, pct;
  rs_err_t e = RS_ERR_INIT;
  if (text(d, j, "maxUnavailable", 16, true, &o->max_unavailable) < 0) return -1;
  if (rs_ro_parse_max_unavailable(o->max_unavailable, &n, &pct, &e) < 0) {
    rs_err_clear(&e);
    return bad(d, "options.maxUnavailable", "not N or P%");
  }
  if (lint(d, j, "canary", 0, RS_RO_MAX_NODES, 1, &o->canary) < 0 ||
      lint(d, j, "maxZones", 0, RS_RO_MAX_NODES, 1, &o->max_zones) < 0 ||
      lint(d, j, "maxFailures", 0, RS_RO_MAX_NODES, 0, &o->max_failures) < 0 ||
      lint(d, j, "soakSeconds", 0, MAX_SOAK_S, 0, &o->soak_s) < 0 ||
      boolean(d, j, "allControlPlane", &o->all_control_plane) < 0 || object(d, j, "drain", &dr) < 0)
    return -1;
  struct rs_ror_drain *g = &o->drain;
  g->grace_period = -1;
  if (!dr) return 0;
  if (boolean(d, dr, "force", &g->force) < 0 || boolean(d, dr, "ignoreDaemonsets", &g->ignore_daemonsets) < 0 ||
      boolean(d, dr, "deleteEmptydirData", &g->delete_emptydir_data) < 0 ||
      boolean(d, dr, "disableEviction", &g->disable_eviction) < 0 ||
      lint(d, dr, "gracePeriod", -1, MAX_GRACE_S, -1, &g->grace_period) < 0 ||
      lint(d, dr, "timeoutSeconds", 0, MAX_TIMEOUT_S, 0, &g->timeout_s) < 0 ||
      text(d, dr, "podSelector", RS_ROR_MAX_TEXT, false, &g->pod_selector) < 0)
    return -1;
  return 0;
}

static int read_node(struct rd *d, const json_t *v, struct rs_ror_node *n) {
  if (!json_is_object(v)) return bad(d, "", "not an object");
  const char *st = json_string_value(json_object_get(v, "state"));
  if ((n->state = rs_ror_node_state_from_name(st)) < 0) return bad(d, "state", "not a node state");
  if (text(d, v, "run", RS_RUN_ID_MAX, false, &n->run) < 0 ||
      text(d, v, "phase", MAX_PHASE, false, &n->phase) < 0 ||
      text(d, v, "reason", RS_ROR_MAX_TEXT, false, &n->reason) < 0 ||
      lint(d, v, "batch", 1, RS_ROR_MAX_NODES, 0, &n->batch) < 0 ||
      integer(d, v, "started", 0, RS_ROR_MAX_TIME, 0, &n->started) < 0 ||
      integer(d, v, "ended", 0, RS_ROR_MAX_TIME, 0, &n->ended) < 0)
    return -1;
  if (n->run && !rs_run_id_valid(n->run)) return bad(d, "run", "not a run id");
  if (n->phase && !token_ok(n->phase, MAX_PHASE)) return bad(d, "phase", "not a phase name");
  if (n->batch == 0) return bad(d, "batch", "missing");
  if ((n->state == RS_ROR_NODE_PENDING || n->state == RS_ROR_NODE_CANCELLED) && (n->run || n->ended))
    return bad(d, n->run ? "run" : "ended", "set for a node that never started");
  return 0;
}

static int read_nodes(struct rd *d, const json_t *root, struct rs_ror_record *r) {
  const json_t *nodes = json_object_get(root, "nodes");
  if (!json_is_array(nodes)) return bad(d, "nodes", "missing or not an array");
  size_t n = json_array_size(nodes);
  if (n == 0) return bad(d, "nodes", "empty");
  if (n > RS_ROR_MAX_NODES)
    return rs_fail(d->err, RS_E_LIMIT, 0, "rollout record: nodes: more than %d", RS_ROR_MAX_NODES);
  json_auto_t *seen = json_object();
  if (!seen || !(r->nodes = calloc(n, sizeof *r->nodes))) return rs_oom(d->err);
  long prev = 0;
  for (size_t i = 0; i < n; i++) {
    const json_t *v = json_array_get(nodes, i);
    const char *name = json_string_value(json_object_get(v, "name"));
    bool ok = name && node_name_ok(name);
    _cleanup_free_ char *where = rs_strdup_printf(ok ? "nodes[%zu] (%s)." : "nodes[%zu].", i, ok ? name : "");
    if (!where) return rs_oom(d->err);
    struct rd nd = {.where = where, .err = d->err};
    if (!ok) return bad(&nd, "name", "missing or not a node name");
    if (json_object_get(seen, name)) return bad(&nd, "name", "named twice");
    if (json_object_set_new(seen, name, json_true()) < 0) return rs_oom(d->err);
    struct rs_ror_node *x = &r->nodes[r->nnodes++];
    if (!(x->name = strdup(name))) return rs_oom(d->err);
    if (read_node(&nd, v, x) < 0) return -1;
    if (x->batch != prev && x->batch != prev + 1)
      return bad(&nd, "batch", prev ? "out of order (batches go 1, 2, ... in the list)" : "the first is not 1");
    prev = x->batch;
  }
  return 0;
}

int rs_ror_parse(const char *txt, size_t len, struct rs_ror_record *ret, rs_err_t *err) {
  *ret = (struct rs_ror_record){0};
  if (len > RS_ROR_MAX_BYTES)
    return rs_fail(err, RS_E_LIMIT, 0, "rollout record: %zu bytes, more than %d", len, RS_ROR_MAX_BYTES);
  json_error_t je;
  json_auto_t *root = json_loadb(txt, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) return rs_fail(err, RS_E_INPUT, 0, "rollout record: not JSON (line %d: %s)", je.line, je.text);
  struct rd d = {.where = "", .err = err};
  if (!json_is_object(root)) return bad(&d, "", "not a JSON object");
  struct rs_ror_record r = {0};
  long long version;
  int rc = integer(&d, root, "version", 0, 1000000, 0, &version);
  if (rc == 0 && version != RS_ROR_VERSION)
    rc = bad(&d, "version", version > RS_ROR_VERSION ? "written by a newer kubectl-runtime-switch" : "missing");
  if (rc == 0) rc = text(&d, root, "id", RS_RUN_ID_MAX, true, &r.id);
  if (rc == 0 && !rs_run_id_valid(r.id)) rc = bad(&d, "id", "not a run id");
  if (rc == 0) rc = text(&d, root, "to", 32, true, &r.to);
  if (rc == 0 && rs_rt_target(r.to) == RS_RT_NONE) rc = bad(&d, "to", "not a runtime the switch goes to");
  if (rc == 0 && (r.state = rs_ror_state_from_name(json_string_value(json_object_get(root, "state")))) < 0)
    rc = bad(&d, "state", "not a rollout state");
  if (rc == 0) rc = text(&d, root, "owner", RS_ROR_MAX_TEXT, true, &r.owner);
  if (rc == 0) rc = text(&d, root, "host", MAX_HOST, false, &r.host);
  if (rc == 0) rc = text(&d, root, "reason", RS_ROR_MAX_TEXT, false, &r.reason);
  if (rc == 0) rc = integer(&d, root, "created", 0, RS_ROR_MAX_TIME, 0, &r.created);
  if (rc == 0) rc = integer(&d, root, "updated", 0, RS_ROR_MAX_TIME, 0, &r.updated);
  if (rc == 0) rc = read_selection(&d, root, &r);
  if (rc == 0) rc = read_opts(&d, root, &r.opts);
  if (rc == 0) rc = read_nodes(&d, root, &r);
  if (rc == 0 && rs_ror_final(r.state))
    for (size_t i = 0; rc == 0 && i < r.nnodes; i++)
      if (!rs_ror_node_final(r.nodes[i].state)) rc = bad(&d, "state", "final, but a node is not");
  if (rc < 0) {
    rs_ror_record_clear(&r);
    return -1;
  }
  *ret = r;
  return 0;
}

/* ---- writing ---- */

static int set(json_t *o, const char *k, json_t *v) { return v ? json_object_set_new(o, k, v) : -1; }

/* Set k to s when s is not NULL. */
static int set_s(json_t *o, const char *k, const char *s) { return s ? set(o, k, json_string(s)) : 0; }
static int set_i(json_t *o, const char *k, long long v) { return set(o, k, json_integer(v)); }
static int set_b(json_t *o, const char *k, bool v) { return set(o, k, json_boolean(v)); }

static json_t *selection_json(const struct rs_ror_record *r) {
  json_auto_t *o = json_object();
  if (!o) return NULL;
  if (r->names) {
    json_t *a = json_array();
    if (set(o, "names", a) < 0) return NULL;
    for (size_t i = 0; r->names[i]; i++)
      if (json_array_append_new(a, json_string(r->names[i])) < 0) return NULL;
  }
  if (set_s(o, "selector", r->selector) < 0 || (r->all && set_b(o, "all", true) < 0)) return NULL;
  return json_incref(o);
}

static json_t *opts_json(const struct rs_ror_opts *p) {
  const struct rs_ror_drain *g = &p->drain;
  json_auto_t *o = json_object(), *d = json_object();
  if (!o || !d) return NULL;
  if (set_i(o, "canary", p->canary) < 0 || set_s(o, "maxUnavailable", p->max_unavailable) < 0 ||
      set_i(o, "maxZones", p->max_zones) < 0 || set_i(o, "maxFailures", p->max_failures) < 0 ||
      set_i(o, "soakSeconds", p->soak_s) < 0 || set_b(o, "allControlPlane", p->all_control_plane) < 0 ||
      set_b(d, "force", g->force) < 0 || set_b(d, "ignoreDaemonsets", g->ignore_daemonsets) < 0 ||
      set_b(d, "deleteEmptydirData", g->delete_emptydir_data) < 0 ||
      set_b(d, "disableEviction", g->disable_eviction) < 0 || set_i(d, "gracePeriod", g->grace_period) < 0 ||
      set_i(d, "timeoutSeconds", g->timeout_s) < 0 || set_s(d, "podSelector", g->pod_selector) < 0 ||
      json_object_set(o, "drain", d) < 0)
    return NULL;
  return json_incref(o);
}

static json_t *node_json(const struct rs_ror_node *n) {
  json_auto_t *o = json_object();
  if (!o || set_s(o, "name", n->name) < 0 || set_i(o, "batch", n->batch) < 0 ||
      set_s(o, "state", rs_ror_node_state_name(n->state)) < 0 || set_s(o, "run", n->run) < 0 ||
      set_s(o, "phase", n->phase) < 0 || set_s(o, "reason", n->reason) < 0 ||
      (n->started && set_i(o, "started", n->started) < 0) || (n->ended && set_i(o, "ended", n->ended) < 0))
    return NULL;
  return json_incref(o);
}

static json_t *record_json(const struct rs_ror_record *r) {
  json_auto_t *o = json_object(), *nodes = json_array();
  if (!o || !nodes) return NULL;
  if (set_i(o, "version", RS_ROR_VERSION) < 0 || set_s(o, "id", r->id) < 0 || set_s(o, "to", r->to) < 0 ||
      set_s(o, "state", rs_ror_state_name(r->state)) < 0 || set_s(o, "owner", r->owner) < 0 ||
      set_s(o, "host", r->host) < 0 || set_s(o, "reason", r->reason) < 0 || set_i(o, "created", r->created) < 0 ||
      set_i(o, "updated", r->updated) < 0 ||
      set(o, "selection", selection_json(r)) < 0 || set(o, "options", opts_json(&r->opts)) < 0 ||
      json_object_set(o, "nodes", nodes) < 0)
    return NULL;
  for (size_t i = 0; i < r->nnodes; i++)
    if (json_array_append_new(nodes, node_json(&r->nodes[i])) < 0) return NULL;
  return json_incref(o);
}

char *rs_ror_dump(const struct rs_ror_record *r, rs_err_t *err) {
  json_auto_t *j = record_json(r);
  _cleanup_free_ char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (!txt) return rs_oom(err), NULL;
  /* what we write must read back: the same checks, the same bounds */
  struct rs_ror_record back = {0};
  if (rs_ror_parse(txt, strlen(txt), &back, err) < 0) {
    rs_wrap(err, "refusing to write the rollout record");
    return NULL;
  }
  rs_ror_record_clear(&back);
  return TAKE_PTR(txt);
}

/* ---- the ConfigMap ---- */

static const char *meta_s(const json_t *cm, const char *k) {
  return json_string_value(json_object_get(json_object_get(cm, "metadata"), k));
}

static int meta_copy(const json_t *cm, const char *k, char **dst, rs_err_t *err) {
  const char *s = meta_s(cm, k);
  if (s && strlen(s) > MAX_META) return rs_fail(err, RS_E_LIMIT, 0, "rollout record: metadata.%s too long", k);
  return rs_strdup0_to(dst, s) < 0 ? rs_oom(err) : 0;
}

int rs_ror_from_configmap(const json_t *cm, struct rs_ror_record *ret, rs_err_t *err) {
  *ret = (struct rs_ror_record){0};
  const char *name = meta_s(cm, "name");
  const json_t *v = json_object_get(json_object_get(cm, "data"), RS_ROR_KEY);
  if (!json_is_string(v))
    return rs_fail(err, RS_E_INPUT, 0, "ConfigMap %s has no %s", name ? name : "?", RS_ROR_KEY);
  struct rs_ror_record r;
  if (rs_ror_parse(json_string_value(v), json_string_length(v), &r, err) < 0)
    return rs_wrap(err, "ConfigMap %s", name ? name : "?");
  _cleanup_free_ char *want = rs_ror_name(r.id);
  int rc = !want ? rs_oom(err) : 0;
  if (rc == 0 && (!name || strcmp(name, want) != 0))
    rc = rs_fail(err, RS_E_INPUT, 0, "ConfigMap %s holds the record of rollout %s (its name would be %s)",
                 name ? name : "?", r.id, want);
  if (rc == 0) rc = meta_copy(cm, "uid", &r.uid, err);
  if (rc == 0) rc = meta_copy(cm, "resourceVersion", &r.rv, err);
  if (rc < 0) {
    rs_ror_record_clear(&r);
    return -1;
  }
  *ret = r;
  return 0;
}

static char *cm_path(const char *ns, const char *name) {
  _cleanup_free_ char *ens = rs_kube_escape(ns), *en = name ? rs_kube_escape(name) : NULL;
  if (!ens || (name && !en)) return NULL;
  return name ? rs_strdup_printf("/api/v1/namespaces/%s/configmaps/%s", ens, en)
              : rs_strdup_printf("/api/v1/namespaces/%s/configmaps", ens);
}

/* The ConfigMap; pre: with r's uid and resourceVersion (an update's
 * preconditions). */
static json_t *cm_json(const char *ns, const struct rs_ror_record *r, const char *txt, bool pre) {
  _cleanup_free_ char *name = rs_ror_name(r->id);
  json_auto_t *md = name ? json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", name, "namespace", ns, "labels",
                                     MANAGED_BY, MANAGER, RS_ROR_LABEL, r->id)
                         : NULL;
  if (!md || (pre && (set_s(md, "uid", r->uid) < 0 || set_s(md, "resourceVersion", r->rv) < 0)))
    return NULL;
  return json_pack("{s:s, s:s, s:O, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", md, "data",
                   RS_ROR_KEY, txt);
}

/* Take uid and resourceVersion from the object the server answered. */
static int took(struct rs_ror_record *r, const json_t *obj, rs_err_t *err) {
  _cleanup_free_ char *uid = NULL, *rv = NULL;
  if (meta_copy(obj, "uid", &uid, err) < 0 || meta_copy(obj, "resourceVersion", &rv, err) < 0) return -1;
  if (!rv) return rs_fail(err, RS_E_API, 0, "the API server answered a write of the rollout record without a "
                          "resourceVersion");
  free(r->uid), free(r->rv);
  r->uid = TAKE_PTR(uid), r->rv = TAKE_PTR(rv);
  return 0;
}

int rs_ror_create(rs_kube_client_t *c, const char *ns, struct rs_ror_record *r, rs_err_t *err) {
  _cleanup_free_ char *txt = rs_ror_dump(r, err);
  if (!txt) return -1;
  _cleanup_free_ char *path = cm_path(ns, NULL);
  json_auto_t *body = cm_json(ns, r, txt, false);
  json_auto_t *got = NULL;
  if (!path || !body) return rs_oom(err);
  if (rs_kube_post(c, path, body, &got, err) < 0)
    return rs_wrap(err, "creating the record of rollout %s (ConfigMap %s/%s%s)", r->id, ns, RS_ROR_PREFIX, r->id);
  return took(r, got, err);
}

int rs_ror_read(rs_kube_client_t *c, const char *ns, const char *id, struct rs_ror_record *ret, bool *ret_found,
                rs_err_t *err) {
  _cleanup_free_ char *name = rs_ror_name(id);
  _cleanup_free_ char *path = name ? cm_path(ns, name) : NULL;
  if (!path) return rs_oom(err);
  json_auto_t *cm = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_kube_get(c, path, &cm, &e) < 0) {
    if (!rs_kube_is_not_found(&e)) {
      rs_err_move(err, &e);
      return rs_wrap(err, "reading ConfigMap %s/%s", ns, name);
    }
    rs_err_clear(&e);
    *ret = (struct rs_ror_record){0};
    *ret_found = false;
    return 0;
  }
  if (rs_ror_from_configmap(cm, ret, err) < 0) return -1;
  *ret_found = true;
  return 0;
}

int rs_ror_save(rs_kube_client_t *c, const char *ns, struct rs_ror_record *r, rs_err_t *err) {
  if (!r->rv || !r->uid)
    return rs_fail(err, RS_E_INPUT, 0, "the record of rollout %s was never read or written: no precondition",
                   r->id);
  long long was = r->updated;
  r->updated = (long long)time(NULL);
  _cleanup_free_ char *txt = rs_ror_dump(r, err);
  _cleanup_free_ char *name = rs_ror_name(r->id);
  _cleanup_free_ char *path = name ? cm_path(ns, name) : NULL;
  json_auto_t *body = txt && path ? cm_json(ns, r, txt, true) : NULL;
  json_auto_t *got = NULL;
  if (!txt) return r->updated = was, -1;
  if (!body) return r->updated = was, rs_oom(err);
  if (rs_kube_put(c, path, body, &got, err) < 0) {
    r->updated = was;
    if (rs_kube_is_conflict(err) || rs_kube_is_not_found(err))
      return rs_wrap(err, "the record of rollout %s (ConfigMap %s/%s) was %s by someone else since it was read: "
                     "stopping; `kubectl runtime-switch rollout status` shows who holds it",
                     r->id, ns, name, rs_kube_is_conflict(err) ? "changed" : "deleted");
    return rs_wrap(err, "writing the record of rollout %s (ConfigMap %s/%s)", r->id, ns, name);
  }
  return took(r, got, err);
}

int rs_ror_delete(rs_kube_client_t *c, const char *ns, const struct rs_ror_record *r, rs_err_t *err) {
  _cleanup_free_ char *name = rs_ror_name(r->id);
  _cleanup_free_ char *path = name ? cm_path(ns, name) : NULL;
  json_auto_t *pre = json_object();
  if (!path || !pre || set_s(pre, "uid", r->uid) < 0 || set_s(pre, "resourceVersion", r->rv) < 0)
    return rs_oom(err);
  json_auto_t *body = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "DeleteOptions", "preconditions",
                                pre);
  if (!body) return rs_oom(err);
  rs_err_t e = RS_ERR_INIT;
  if (rs_kube_delete(c, path, body, NULL, &e) == 0) return 0;
  if (rs_kube_is_not_found(&e)) return rs_err_clear(&e), 0;
  rs_err_move(err, &e);
  return rs_wrap(err, "deleting the record of rollout %s (ConfigMap %s/%s)", r->id, ns, name);
}

/* ---- every record ---- */

struct lister {
  struct rs_ror_record *v;
  size_t n;
  char **bad;
};

static int on_cm(void *ud, json_t *cm, rs_err_t *err) {
  struct lister *l = ud;
  /* the server selected by the label; a server that did not is not
   * trusted with it */
  if (!json_object_get(json_object_get(json_object_get(cm, "metadata"), "labels"), RS_ROR_LABEL)) return 0;
  if (l->n >= RS_RO_MAX_NODES)
    return rs_fail(err, RS_E_LIMIT, 0, "more than %d rollout records", RS_RO_MAX_NODES);
  struct rs_ror_record r;
  rs_err_t e = RS_ERR_INIT;
  if (rs_ror_from_configmap(cm, &r, &e) < 0) {
    int rc = rs_strv_consume(&l->bad, rs_strdup_printf("%s", e.msg ? e.msg : "?"), err);
    rs_err_clear(&e);
    return rc;
  }
  struct rs_ror_record *v = realloc(l->v, (l->n + 1) * sizeof *v);
  if (!v) {
    rs_ror_record_clear(&r);
    return rs_oom(err);
  }
  l->v = v;
  l->v[l->n++] = r;
  return 0;
}

void rs_ror_list_free(struct rs_ror_record *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) rs_ror_record_clear(&v[i]);
  free(v);
}

int rs_ror_list(rs_kube_client_t *c, const char *ns, struct rs_ror_record **ret, size_t *ret_n, char ***ret_bad,
                rs_err_t *err) {
  _cleanup_free_ char *path = cm_path(ns, NULL);
  struct lister l = {.bad = rs_strv_new()};
  if (!path || !l.bad) return rs_strv_free(l.bad), rs_oom(err);
  struct rs_kube_list_opts lo = {.label_selector = RS_ROR_LABEL, .limit = 100};
  if (rs_kube_list(c, path, &lo, on_cm, &l, NULL, err) < 0) {
    rs_ror_list_free(l.v, l.n);
    rs_strv_free(l.bad);
    return rs_wrap(err, "listing the rollout records in namespace %s", ns);
  }
  *ret = l.v;
  *ret_n = l.n;
  *ret_bad = l.bad;
  return 0;
}
