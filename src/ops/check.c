/* `check`, the run: read the nodes, the pods on those that leave Docker and
 * their owners, the templates of workloads that have no pod there now,
 * the ConfigMaps of log collectors; run the helper's preflight on each
 * node; collect every finding.  Only reads, but for the preflight's
 * objects, which it removes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/runtimes.h"
#include "ops/check.h"
#include "ops/deliver.h"
#include "ops/lease.h"
#include "ops/nodes.h"
#include "ops/rollout.h"
#include "ops/switch_record.h"
#include "ops/verdict.h"

struct run {
  rs_kube_client_t *c;
  const struct rs_check_opts *o;
  struct rs_check_report *r;
  json_t *pods;          /* pods on the nodes that leave Docker */
  json_t *seen;          /* "Kind/ns/name" of workloads those pods belong to */
  json_t *cms;           /* ConfigMaps read: "ns/name" -> object or null */
  struct rs_owner_index *owners;
  rs_err_t *err;
};

/* ---- nodes ---- */

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static int add_node(struct run *x, const json_t *node) {
  struct rs_check_report *r = x->r;
  struct rs_node_status st = {0};
  if (rs_node_status_from_json(node, &st, x->err) < 0) return -1;
  int rc = rs_verdict_for(&st, &st.verdict, x->err);
  struct rs_check_node *v = realloc(r->nodes, (r->nnodes + 1) * sizeof *v);
  if (rc < 0 || !v) {
    rs_node_status_clear(&st);
    return rc < 0 ? -1 : rs_oom(x->err);
  }
  r->nodes = v;
  struct rs_check_node *n = &r->nodes[r->nnodes++];
  *n = (struct rs_check_node){.kubenet = -1};
  bool to_dockerd = strcmp(r->to, RS_RUNTIME_CRI_DOCKERD) == 0;
  bool docker = st.verdict.kind == RS_VERDICT_DOCKERSHIM || st.verdict.kind == RS_VERDICT_CRI_DOCKERD;
  n->leaves_docker = docker && !to_dockerd;
  /* to cri-dockerd, only dockershim has something to switch */
  n->preflight_wanted = n->leaves_docker || (to_dockerd && st.verdict.kind == RS_VERDICT_DOCKERSHIM);
  n->preflight = n->preflight_wanted ? RS_PF_SKIPPED : RS_PF_NOT_NEEDED;
  n->name = TAKE_PTR(st.name);
  n->runtime = TAKE_PTR(st.runtime_raw);
  n->kubelet = TAKE_PTR(st.kubelet_version);
  n->arch = TAKE_PTR(st.arch);
  rs_node_status_clear(&st);
  const json_t *labels = json_object_get(json_object_get(node, "metadata"), "labels");
  n->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
  if (!n->labels) return rs_oom(x->err);
  if (n->preflight_wanted && !(n->obj = json_deep_copy(node))) return rs_oom(x->err);
  if (!docker) n->kubenet_note = strdup("not checked: the node does not run Docker");
  if (!docker && !n->kubenet_note) return rs_oom(x->err);
  return 0;
}

/* ---- a switch in progress: the node locks, not the annotations ---- */

static int on_lock(void *ud, json_t *lease, rs_err_t *err) {
  const char *name = str(json_object_get(lease, "metadata"), "name");
  return !name || json_object_set(ud, name, lease) == 0 ? 0 : rs_oom(err);
}

/* A node whose lock (the Lease rsw-node-<node> in the working namespace)
 * holds a switch or rollback in progress, or carries a record this plugin
 * cannot read, gets no preflight: a helper may be at work there.  The
 * node's annotations alone, which anyone who may patch the node can
 * write, decide nothing: a run they claim that no lock backs is said as a
 * note, and the preflight (read-only) runs. */
static int locks_gate(struct run *x) {
  struct rs_check_report *r = x->r;
  bool any = false;
  for (size_t i = 0; i < r->nnodes; i++) any = any || r->nodes[i].preflight_wanted;
  if (!any || !x->o->preflight) return 0;
  const char *ns = x->o->ns ? x->o->ns : RS_DELIVER_DEFAULT_NS;
  _cleanup_free_ char *ens = rs_kube_escape(ns);
  _cleanup_free_ char *path = ens ? rs_strdup_printf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", ens) : NULL;
  json_auto_t *locks = json_object();
  if (!path || !locks) return rs_oom(x->err);
  struct rs_kube_list_opts lo = {.limit = x->o->page_size};
  rs_err_t e = RS_ERR_INIT;
  if (rs_kube_list(x->c, path, &lo, on_lock, locks, NULL, &e) < 0) {
    if (e.kind == RS_E_INTERRUPTED || (e.kind == RS_E_SYS && e.code == ENOMEM)) {
      rs_err_move(x->err, &e);
      return -1;
    }
    int rc = rs_check_note(r, x->err, "the node locks (Leases in namespace %s) could not be read (%s): whether a "
                           "switch is in progress on a node is not known; the preflights run", ns,
                           e.msg ? e.msg : "?");
    rs_err_clear(&e);
    return rc;
  }
  for (size_t i = 0; i < r->nnodes; i++) {
    struct rs_check_node *n = &r->nodes[i];
    if (!n->preflight_wanted) continue;
    _cleanup_free_ char *lname = rs_lease_name(RS_LOCK_PREFIX, n->name);
    if (!lname) return rs_oom(x->err);
    const json_t *lease = json_object_get(locks, lname);
    _cleanup_(rs_sw_record_clear) struct rs_sw_record locked = {0};
    _cleanup_free_ char *why = NULL;
    int st = rs_rollout_node_run(ns, n->name, n->obj, lease, &locked, &why, x->err);
    if (st < 0) return -1;
    if (st == RS_RO_RUN_FREE) continue;
    if (st == RS_RO_RUN_UNTRUSTED && !lease) {
      if (rs_check_note(r, x->err, "%s (the preflight runs)", why) < 0) return -1;
      continue;
    }
    n->preflight_wanted = false;
    n->preflight_note = TAKE_PTR(why);
  }
  return 0;
}

static int on_node(void *ud, json_t *node, rs_err_t *err) {
  (void)err;
  return add_node(ud, node);
}

static int read_nodes(struct run *x) {
  const struct rs_check_opts *o = x->o;
  return rs_nodes_select(x->c, o->names, o->selector, o->page_size, on_node, x, &x->r->missing, x->err);
}

static const struct rs_check_node *leaving(const struct run *x, const char *name) {
  for (size_t i = 0; name && i < x->r->nnodes; i++)
    if (x->r->nodes[i].leaves_docker && strcmp(x->r->nodes[i].name, name) == 0) return &x->r->nodes[i];
  return NULL;
}

/* ---- lists that may be forbidden ---- */

/* A list the user may not read is a note (what was not checked), not an
 * error. */
static int optional(struct run *x, int rc, const char *what) {
  if (rc == 0) return 0;
  if (!rs_kube_err_is(x->err, 403) && !rs_kube_err_is(x->err, 404)) return -1;
  int r = rs_check_note(x->r, x->err, "cannot list %s (%s): %s", what, x->err->msg ? x->err->msg : "?",
                        "not checked");
  rs_err_clear(x->err);
  return r;
}

/* ---- pods ---- */

static bool ours(const json_t *obj) {
  const char *m = str(json_object_get(json_object_get(obj, "metadata"), "labels"), RS_LABEL_MANAGED_BY);
  return m && strcmp(m, RS_MANAGED_BY) == 0;
}

static int on_pod(void *ud, json_t *pod, rs_err_t *err) {
  struct run *x = ud;
  const char *node = str(json_object_get(pod, "spec"), "nodeName");
  /* a pod on its way out (deletionTimestamp) is not what will run */
  if (!leaving(x, node) || ours(pod) || json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
    return 0;
  return json_array_append(x->pods, pod) == 0 ? 0 : rs_oom(err);
}

static int read_pods(struct run *x) {
  size_t n = 0;
  for (size_t i = 0; i < x->r->nnodes; i++) n += x->r->nodes[i].leaves_docker;
  struct rs_kube_list_opts lo = {.limit = x->o->page_size};
  /* a few named nodes: their pods only; else one list of every pod */
  if (x->o->names && x->o->names[0] && n <= 10) {
    for (size_t i = 0; i < x->r->nnodes; i++) {
      if (!x->r->nodes[i].leaves_docker) continue;
      _cleanup_free_ char *fs = rs_strdup_printf("spec.nodeName=%s", x->r->nodes[i].name);
      if (!fs) return rs_oom(x->err);
      lo.field_selector = fs;
      if (rs_kube_list(x->c, "/api/v1/pods", &lo, on_pod, x, NULL, x->err) < 0) return -1;
    }
    return 0;
  }
  return rs_kube_list(x->c, "/api/v1/pods", &lo, on_pod, x, NULL, x->err);
}

/* ---- owners: ReplicaSets and Jobs, their metadata only ---- */

/* A list as PartialObjectMetadataList (items carry their metadata only); a
 * server without it answers the full list. */
#define ACCEPT_METADATA_LIST \
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"

struct owner_page {
  struct rs_owner_index *owners;
  const char *kind;
};

static int on_owner_page(void *ud, const char *body, size_t len, char **ret_continue, rs_err_t *err) {
  struct owner_page *p = ud;
  json_error_t je;
  json_auto_t *list = json_loadb(body, len, 0, &je);
  if (!list) return rs_fail(err, RS_E_INPUT, 0, "a list of %ss: invalid JSON: %s", p->kind, je.text);
  size_t i;
  json_t *item;
  json_array_foreach(json_object_get(list, "items"), i, item) {
    if (rs_owner_index_add(p->owners, p->kind, item, err) < 0) return -1;
  }
  const char *next = str(json_object_get(list, "metadata"), "continue");
  if (next && *next && !(*ret_continue = strdup(next))) return rs_oom(err);
  return 0;
}

static int read_owners(struct run *x) {
  static const struct {
    const char *kind, *path, *what;
  } kinds[] = {{"ReplicaSet", "/apis/apps/v1/replicasets", "replicasets (Deployments of pods)"},
               {"Job", "/apis/batch/v1/jobs", "jobs (CronJobs of pods)"}};
  for (size_t k = 0; k < RS_ARRAY_SIZE(kinds); k++) {
    struct owner_page p = {x->owners, kinds[k].kind};
    struct rs_kube_list_opts lo = {.limit = x->o->page_size};
    int rc = rs_kube_list_pages(x->c, kinds[k].path, &lo, ACCEPT_METADATA_LIST, on_owner_page, &p, x->err);
    if (optional(x, rc, kinds[k].what) < 0) return -1;
  }
  return 0;
}

/* ---- ConfigMaps, once each ---- */

static int get_configmap(void *ud, const char *ns, const char *name, json_t **ret, rs_err_t *err) {
  struct run *x = ud;
  *ret = NULL;
  if (!ns || !name) return 0;
  _cleanup_free_ char *key = rs_strdup_printf("%s/%s", ns, name);
  if (!key) return rs_oom(err);
  json_t *have = json_object_get(x->cms, key);
  if (have) {
    *ret = json_is_null(have) ? NULL : json_incref(have);
    return 0;
  }
  _cleanup_free_ char *ens = rs_kube_escape(ns), *en = rs_kube_escape(name);
  _cleanup_free_ char *path = ens && en ? rs_strdup_printf("/api/v1/namespaces/%s/configmaps/%s", ens, en) : NULL;
  if (!path) return rs_oom(err);
  json_t *cm = NULL;
  if (rs_kube_get(x->c, path, &cm, err) < 0) {
    if (!rs_kube_err_is(err, 403) && !rs_kube_is_not_found(err)) return -1;
    int r = rs_check_note(x->r, err, "cannot read ConfigMap %s: %s", key, err->msg ? err->msg : "?");
    rs_err_clear(err);
    if (r < 0) return -1;
  }
  if (json_object_set_new(x->cms, key, cm ? json_incref(cm) : json_null()) < 0) {
    json_decref(cm);
    return rs_oom(err);
  }
  *ret = cm;
  return 0;
}

/* ---- scanning ---- */

/* Where a kind keeps its pod template. */
static const char *template_prefix(const char *kind) {
  static const char *const with_template[] = {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job",
                                               "ReplicationController"};
  if (strcmp(kind, "CronJob") == 0) return "spec.jobTemplate.spec.template.spec";
  for (size_t i = 0; i < RS_ARRAY_SIZE(with_template); i++)
    if (strcmp(kind, with_template[i]) == 0) return "spec.template.spec";
  return NULL;
}

static int scan_pods(struct run *x) {
  struct rs_check_scan s = {.r = x->r, .get_configmap = get_configmap, .ud = x};
  size_t i;
  json_t *pod;
  json_array_foreach(x->pods, i, pod) {
    struct rs_check_ref owner;
    rs_check_pod_owner(x->owners, pod, &owner);
    struct rs_check_ref self = {.kind = "Pod", .ns = owner.ns, .name = str(json_object_get(pod, "metadata"), "name")};
    const char *prefix = template_prefix(owner.kind);
    const struct rs_check_ref *object = prefix ? &owner : &self;
    const char *node = str(json_object_get(pod, "spec"), "nodeName");
    const char *nodes[] = {node, NULL};
    if (!owner.ns || !owner.name) continue;
    _cleanup_free_ char *key = rs_strdup_printf("%s/%s/%s", owner.kind, owner.ns, owner.name);
    if (!key || json_object_set_new(x->seen, key, json_true()) < 0) return rs_oom(x->err);
    if (rs_check_pod_spec(&s, json_object_get(pod, "spec"), prefix ? prefix : "spec", &owner, object, nodes,
                          x->err) < 0)
      return -1;
  }
  return 0;
}

/* A template matters when its nodeSelector (and nodeName) would let it
 * run on a node that leaves Docker (affinity is not evaluated). */
static bool could_run_on_leaving(const struct run *x, const json_t *spec) {
  const json_t *sel = json_object_get(spec, "nodeSelector");
  const char *node_name = str(spec, "nodeName");
  for (size_t i = 0; i < x->r->nnodes; i++) {
    const struct rs_check_node *n = &x->r->nodes[i];
    if (!n->leaves_docker || (node_name && strcmp(node_name, n->name) != 0)) continue;
    bool all = true;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)sel, k, v) {
      const char *have = str(n->labels, k);
      if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0) all = false;
    }
    if (all) return true;
  }
  return false;
}

struct tmpl_list {
  struct run *x;
  const char *kind;
};

static int on_workload(void *ud, json_t *obj, rs_err_t *err) {
  struct tmpl_list *t = ud;
  struct run *x = t->x;
  const json_t *meta = json_object_get(obj, "metadata");
  struct rs_check_ref w = {.kind = t->kind, .ns = str(meta, "namespace"), .name = str(meta, "name")};
  if (!w.ns || !w.name || ours(obj)) return 0;
  _cleanup_free_ char *key = rs_strdup_printf("%s/%s/%s", w.kind, w.ns, w.name);
  if (!key) return rs_oom(err);
  if (json_object_get(x->seen, key)) return 0;
  const char *prefix = template_prefix(t->kind);
  const json_t *spec = json_object_get(json_object_get(json_object_get(obj, "spec"), "template"), "spec");
  if (strcmp(t->kind, "CronJob") == 0)
    spec = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(obj, "spec"), "jobTemplate"),
                                                           "spec"), "template"), "spec");
  if (!json_is_object(spec) || !could_run_on_leaving(x, spec)) return 0;
  struct rs_check_scan s = {.r = x->r, .get_configmap = get_configmap, .ud = x};
  return rs_check_pod_spec(&s, spec, prefix, &w, &w, NULL, err);
}

static int scan_templates(struct run *x) {
  static const struct {
    const char *kind, *path, *what;
  } kinds[] = {{"Deployment", "/apis/apps/v1/deployments", "deployments"},
               {"DaemonSet", "/apis/apps/v1/daemonsets", "daemonsets"},
               {"StatefulSet", "/apis/apps/v1/statefulsets", "statefulsets"},
               {"CronJob", "/apis/batch/v1/cronjobs", "cronjobs"}};
  for (size_t k = 0; k < RS_ARRAY_SIZE(kinds); k++) {
    struct tmpl_list t = {x, kinds[k].kind};
    struct rs_kube_list_opts lo = {.limit = x->o->page_size};
    int rc = rs_kube_list(x->c, kinds[k].path, &lo, on_workload, &t, NULL, x->err);
    if (optional(x, rc, kinds[k].what) < 0) return -1;
  }
  return 0;
}

/* ---- the run ---- */

int rs_check_run(rs_kube_client_t *c, const struct rs_check_opts *o, struct rs_check_report *ret, rs_err_t *err) {
  struct rs_check_report r = {0};
  struct run x = {.c = c, .o = o, .r = &r, .err = err};
  int rc = -1;
  r.to = strdup(o->to ? o->to : RS_RUNTIME_CONTAINERD);
  r.notes = rs_strv_new();
  r.missing = rs_strv_new();
  x.pods = json_array();
  x.seen = json_object();
  x.cms = json_object();
  x.owners = rs_owner_index_new();
  if (!r.to || !r.notes || !r.missing || !x.pods || !x.seen || !x.cms || !x.owners) {
    rs_oom(err);
    goto out;
  }
  if (read_nodes(&x) < 0) goto out;
  bool any = false;
  for (size_t i = 0; i < r.nnodes; i++) any = any || r.nodes[i].leaves_docker;
  if (any) {
    if (read_pods(&x) < 0) {
      rs_wrap(err, "listing pods");
      goto out;
    }
    if (read_owners(&x) < 0 || scan_pods(&x) < 0 || scan_templates(&x) < 0) goto out;
  }
  if (locks_gate(&x) < 0 || rs_check_preflight(c, o, &r, x.pods, err) < 0) goto out;
  for (size_t i = 0; i < r.nnodes; i++) {
    struct rs_check_node *n = &r.nodes[i];
    if ((n->leaves_docker || n->preflight_wanted || n->plan) && rs_check_plan(&r, n, err) < 0) goto out;
  }
  rs_check_sort(&r);
  rc = 0;
out:
  json_decref(x.pods);
  json_decref(x.seen);
  json_decref(x.cms);
  rs_owner_index_free(x.owners);
  if (rc == 0) *ret = r;
  else rs_check_report_clear(&r);
  return rc;
}
