/* The rollout's plan from the cluster (include/ops/rollout.h): the nodes,
 * their pods through the drain's filters, the budgets, the preflights,
 * then the planner. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/check.h"
#include "ops/deliver.h"
#include "ops/lease.h"
#include "ops/nodes.h"
#include "ops/rollout.h"
#include "ops/switch.h"
#include "ops/switch_record.h"

/* named nodes up to this many: their pods one node at a time; more: one
 * list of every pod */
#define FEW_NODES 8
#define CP_LABEL "node-role.kubernetes.io/control-plane"
#define CP_LABEL_OLD "node-role.kubernetes.io/master"

struct run {
  rs_kube_client_t *c;
  const struct rs_rollout_opts *o;
  struct rs_rollout_plan *p;
  json_t *node_objs;   /* names of the selected nodes (a set) */
  json_t *pf_objs;     /* name -> Node, of the nodes whose preflight runs */
  json_t *pods;        /* node name -> [pods] (selected nodes only) */
  json_t *ds;          /* "ns/name" -> 0 found, 1 not found, 2 error */
  json_t *cp_seen;     /* control-plane node names */
  json_t *pdb_objs;    /* [PDB] */
  json_t *locks;       /* Lease name -> the working namespace's Lease (the node locks) */
  rs_err_t *err;
};

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static const json_t *meta(const json_t *o) { return json_object_get(o, "metadata"); }
static const char *work_ns(const struct rs_rollout_opts *o) { return o->ns ? o->ns : RS_DELIVER_DEFAULT_NS; }

void rs_rollout_plan_clear(struct rs_rollout_plan *p) {
  if (!p) return;
  for (size_t i = 0; i < p->nnodes; i++) {
    struct rs_rollout_node *n = &p->nodes[i];
    free(n->name), free(n->zone), free(n->runtime), free(n->preflight_note), free(n->evict);
    json_decref(n->preflight_plan);
    rs_strv_free(n->blockers);
    rs_strv_free(n->drain_blockers);
  }
  free(p->nodes);
  for (size_t i = 0; i < p->npdbs; i++) free((char *)p->pdbs[i].ns), free((char *)p->pdbs[i].name);
  free(p->pdbs);
  rs_strv_free(p->cp_not_ready);
  rs_strv_free(p->notes);
  rs_strv_free(p->missing);
  rs_ro_plan_clear(&p->plan);
  free(p->to);
  *p = (struct rs_rollout_plan){0};
}

static bool is_cp(const json_t *node) {
  const json_t *l = json_object_get(meta(node), "labels");
  return json_object_get(l, CP_LABEL) || json_object_get(l, CP_LABEL_OLD);
}

/* ---- nodes ---- */

static int add_node(struct run *x, json_t *node) {
  struct rs_rollout_plan *p = x->p;
  const char *name = str(meta(node), "name");
  if (!name || json_object_get(x->node_objs, name)) return 0;
  if (p->nnodes >= RS_RO_MAX_NODES)
    return rs_fail(x->err, RS_E_INPUT, 0, "more than %d nodes selected: select fewer", RS_RO_MAX_NODES);
  struct rs_rollout_node *v = realloc(p->nodes, (p->nnodes + 1) * sizeof *v);
  if (!v) return rs_oom(x->err);
  p->nodes = v;
  struct rs_rollout_node *n = &p->nodes[p->nnodes++];
  *n = (struct rs_rollout_node){.preflight = -1};
  const char *zone = str(json_object_get(meta(node), "labels"), RS_RO_ZONE_LABEL);
  const char *rt = str(json_object_get(json_object_get(node, "status"), "nodeInfo"), "containerRuntimeVersion");
  n->name = strdup(name);
  n->blockers = rs_strv_new();
  n->drain_blockers = rs_strv_new();
  if (!n->name || !n->blockers || !n->drain_blockers || rs_strdup0_to(&n->zone, zone) < 0 ||
      rs_strdup0_to(&n->runtime, rt) < 0 || json_object_set_new(x->node_objs, name, json_true()) < 0)
    return rs_oom(x->err);
  n->control_plane = is_cp(node);
  n->ready = rs_sw_node_ready(node);
  n->on_target = rs_sw_runtime_is(node, x->o->to);
  if (n->on_target) return 0;
  /* what `node` would refuse on the node object itself (the control-plane
   * rules are the planner's) */
  rs_err_t e = RS_ERR_INIT;
  int rc = 0;
  if (rs_sw_check_node(node, NULL, x->o->to, true, &e) < 0) rc = rs_strv_push(&n->blockers, e.msg ? e.msg : "?", x->err);
  rs_err_clear(&e);
  /* a switch of the node in progress, as its lock has it: its own command
   * finishes it (a rollout being resumed finishes those it started) */
  _cleanup_(rs_sw_record_clear) struct rs_sw_record locked = {0};
  _cleanup_free_ char *why = NULL;
  bool ours = x->o->resume_nodes && rs_strv_contains(x->o->resume_nodes, name);
  _cleanup_free_ char *lname = rs_lease_name(RS_LOCK_PREFIX, name);
  if (!lname) return rs_oom(x->err);
  int st = rc < 0 ? -1 : rs_rollout_node_run(work_ns(x->o), name, node, json_object_get(x->locks, lname), &locked,
                                             &why, x->err);
  if (st < 0) return -1;
  bool resuming = ours && st == RS_RO_RUN_HELD;
  if (st != RS_RO_RUN_FREE && !resuming) rc = rs_strv_consume(&n->blockers, TAKE_PTR(why), x->err);
  if (rc == 0 && x->o->preflight && !n->blockers[0] && !resuming && json_object_set(x->pf_objs, name, node) < 0)
    rc = rs_oom(x->err);
  return rc;
}

int rs_rollout_node_run(const char *ns, const char *name, const json_t *node, const json_t *lease_obj,
                        struct rs_sw_record *ret_locked, char **ret_why, rs_err_t *err) {
  *ret_locked = (struct rs_sw_record){0};
  *ret_why = NULL;
  _cleanup_(rs_lease_clear) struct rs_lease l = {0};
  _cleanup_(rs_sw_record_clear) struct rs_sw_record mirror = {0};
  rs_err_t e = RS_ERR_INIT;
  bool lease = lease_obj && rs_lease_parse(lease_obj, &l, &e) == 0;
  bool readable = lease && rs_sw_record_from_lease(&l, ret_locked, &e) == 0 && ret_locked->id;
  bool marked = rs_sw_record_from_node(node, &mirror, &e) == 0 && mirror.id && !rs_sw_record_final(&mirror);
  rs_err_clear(&e);
  struct rs_sw_claim_in in = {.node = name, .ns = ns, .mirror = &mirror, .lease = lease ? &l : NULL,
                              .locked = readable ? ret_locked : NULL};
  int st = RS_RO_RUN_FREE;
  if (lease_obj && !readable) {
    st = RS_RO_RUN_UNTRUSTED;
    *ret_why = rs_sw_claim_why(RS_CLAIM_UNREADABLE, &in);
  } else if (readable && !rs_sw_record_final(ret_locked)) {
    const struct rs_sw_record *r = ret_locked;
    bool rb = r->op == RS_OP_ROLLBACK;
    st = RS_RO_RUN_HELD;
    *ret_why = rs_strdup_printf("node %s is held by %s (lock Lease %s/%s, since %s): a %s (run %s) is in progress "
                                "at phase %s: finish it with `kubectl runtime-switch %snode %s` first",
                                name, l.holder ? l.holder : "nobody", ns, l.name ? l.name : "?",
                                l.acquired ? l.acquired : "an unknown time", rb ? "rollback" : "switch", r->id,
                                r->phase ? r->phase : RS_REC_STARTED, rb ? "rollback " : "", name);
  } else if (marked) {
    st = RS_RO_RUN_UNTRUSTED;
    *ret_why = rs_sw_claim_why(RS_CLAIM_UNBACKED, &in);
  }
  if (st != RS_RO_RUN_FREE && !*ret_why) {
    rs_sw_record_clear(ret_locked);
    return rs_oom(err);
  }
  return st;
}

/* The node locks of the working namespace, by name (the lock of node N
 * is the Lease rs_lease_name(RS_LOCK_PREFIX, N)). */
static int on_lock(void *ud, json_t *lease, rs_err_t *err) {
  struct run *x = ud;
  const char *lname = str(meta(lease), "name");
  if (!lname) return 0;
  return json_object_set(x->locks, lname, lease) == 0 ? 0 : rs_oom(err);
}

static int read_locks(struct run *x) {
  _cleanup_free_ char *ens = rs_kube_escape(work_ns(x->o));
  _cleanup_free_ char *path = ens ? rs_strdup_printf("/apis/coordination.k8s.io/v1/namespaces/%s/leases", ens) : NULL;
  if (!path) return rs_oom(x->err);
  /* all of them, as a switch reads its node's by name whatever its labels */
  struct rs_kube_list_opts lo = {.limit = x->o->page_size};
  if (rs_kube_list(x->c, path, &lo, on_lock, x, NULL, x->err) < 0)
    return rs_wrap(x->err, "listing the node locks (Leases) in namespace %s", work_ns(x->o));
  return 0;
}

static int on_node(void *ud, json_t *node, rs_err_t *err) {
  (void)err;
  return add_node(ud, node);
}

static int read_nodes(struct run *x) {
  const struct rs_rollout_opts *o = x->o;
  return rs_nodes_select(x->c, o->names, o->selector, o->page_size, on_node, x, &x->p->missing, x->err);
}

static int on_cp(void *ud, json_t *node, rs_err_t *err) {
  struct run *x = ud;
  const char *name = str(meta(node), "name");
  if (!name) return 0;
  if (json_object_get(x->cp_seen, name)) return 0;
  if (json_object_set_new(x->cp_seen, name, json_true()) < 0) return rs_oom(err);
  x->p->cluster_control_plane++;
  if (!rs_sw_node_ready(node) && !json_object_get(x->node_objs, name))
    return rs_strv_push(&x->p->cp_not_ready, name, err);
  return 0;
}

/* Every control-plane node of the cluster (both labels), for the
 * planner's rules. */
static int read_control_plane(struct run *x) {
  static const char *const labels[] = {CP_LABEL, CP_LABEL_OLD};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < RS_ARRAY_SIZE(labels); i++) {
    struct rs_kube_list_opts lo = {.label_selector = labels[i], .limit = x->o->page_size};
    rc = rs_kube_list(x->c, "/api/v1/nodes", &lo, on_cp, x, NULL, x->err);
  }
  return rc;
}

/* ---- pods, the drain's filters, the budgets ---- */

static int on_pod(void *ud, json_t *pod, rs_err_t *err) {
  struct run *x = ud;
  const char *node = str(json_object_get(pod, "spec"), "nodeName");
  json_t *arr = node ? json_object_get(x->pods, node) : NULL;
  if (!arr) return 0;
  return json_array_append(arr, pod) == 0 ? 0 : rs_oom(err);
}

static int read_pods(struct run *x) {
  size_t want = 0;
  for (size_t i = 0; i < x->p->nnodes; i++) {
    if (x->p->nodes[i].on_target) continue;
    if (json_object_set_new(x->pods, x->p->nodes[i].name, json_array()) < 0) return rs_oom(x->err);
    want++;
  }
  if (!want) return 0;
  struct rs_kube_list_opts lo = {.label_selector = x->o->drain.pod_selector, .limit = x->o->page_size};
  if (want > FEW_NODES) return rs_kube_list(x->c, "/api/v1/pods", &lo, on_pod, x, NULL, x->err);
  const char *name;
  json_t *v;
  json_object_foreach(x->pods, name, v) {
    _cleanup_free_ char *fs = rs_strdup_printf("spec.nodeName=%s", name);
    if (!fs) return rs_oom(x->err);
    lo.field_selector = fs;
    if (rs_kube_list(x->c, "/api/v1/pods", &lo, on_pod, x, NULL, x->err) < 0) return -1;
  }
  return 0;
}

/* A DaemonSet's existence, as the drain's filter asks it (one GET each). */
static int ds_state(struct run *x, const char *ns, const char *ds) {
  _cleanup_free_ char *key = rs_strdup_printf("%s/%s", ns, ds);
  if (!key) return RS_DRAIN_DS_ERROR;
  json_t *have = json_object_get(x->ds, key);
  if (have) return (int)json_integer_value(have);
  _cleanup_free_ char *ens = rs_kube_escape(ns), *eds = rs_kube_escape(ds);
  _cleanup_free_ char *path = ens && eds ? rs_strdup_printf("/apis/apps/v1/namespaces/%s/daemonsets/%s", ens, eds)
                                         : NULL;
  int st = RS_DRAIN_DS_ERROR;
  rs_err_t e = RS_ERR_INIT;
  if (path) st = rs_kube_get(x->c, path, NULL, &e) == 0 ? RS_DRAIN_DS_FOUND
                 : rs_kube_is_not_found(&e)              ? RS_DRAIN_DS_NOT_FOUND
                                                         : RS_DRAIN_DS_ERROR;
  rs_err_clear(&e);
  json_object_set_new(x->ds, key, json_integer(st));
  return st;
}

static int on_pdb(void *ud, json_t *pdb, rs_err_t *err) {
  struct run *x = ud;
  if (json_array_size(x->pdb_objs) >= RS_RO_MAX_PDBS)
    return rs_fail(err, RS_E_INPUT, 0, "more than %d PodDisruptionBudgets", RS_RO_MAX_PDBS);
  return json_array_append(x->pdb_objs, pdb) == 0 ? 0 : rs_oom(err);
}

/* The budgets (not with --disable-eviction, which bypasses them); a list
 * the user may not read is a note: the batches are then not shrunk. */
static int read_pdbs(struct run *x) {
  if (x->o->drain.disable_eviction) return 0;
  struct rs_kube_list_opts lo = {.limit = x->o->page_size};
  if (rs_kube_list(x->c, "/apis/policy/v1/poddisruptionbudgets", &lo, on_pdb, x, NULL, x->err) < 0) {
    if (!rs_kube_err_is(x->err, 403) && !rs_kube_err_is(x->err, 404)) return -1;
    _cleanup_free_ char *note = rs_strdup_printf("cannot list PodDisruptionBudgets (%s): batches are not sized "
                                                 "to them", x->err->msg ? x->err->msg : "?");
    rs_err_clear(x->err);
    return note ? rs_strv_consume(&x->p->notes, TAKE_PTR(note), x->err) : rs_oom(x->err);
  }
  size_t n = json_array_size(x->pdb_objs);
  x->p->pdbs = calloc(n ? n : 1, sizeof *x->p->pdbs);
  if (!x->p->pdbs) return rs_oom(x->err);
  for (size_t i = 0; i < n; i++) {
    const json_t *b = json_array_get(x->pdb_objs, i);
    struct rs_ro_pdb *d = &x->p->pdbs[x->p->npdbs++];
    json_t *allowed = json_object_get(json_object_get(b, "status"), "disruptionsAllowed");
    d->allowed = json_is_integer(allowed) ? (long)json_integer_value(allowed) : 0;
    if (rs_strdup0_to((char **)&d->ns, str(meta(b), "namespace")) < 0 ||
        rs_strdup0_to((char **)&d->name, str(meta(b), "name")) < 0)
      return rs_oom(x->err);
    if (!d->ns || !d->name) return rs_fail(x->err, RS_E_API, 0, "a PodDisruptionBudget without a name");
  }
  return 0;
}

/* A budget that allows no disruption even with all its pods healthy
 * (maxUnavailable 0, minAvailable = all): a drain would wait forever. */
static bool pdb_never(const json_t *b) {
  const json_t *st = json_object_get(b, "status");
  json_int_t allowed = json_integer_value(json_object_get(st, "disruptionsAllowed"));
  json_int_t expected = json_integer_value(json_object_get(st, "expectedPods"));
  json_int_t desired = json_integer_value(json_object_get(st, "desiredHealthy"));
  return allowed <= 0 && expected > 0 && desired >= expected;
}

static int count_evict(struct rs_rollout_node *n, size_t pdb, rs_err_t *err) {
  for (size_t k = 0; k < n->nevict; k++)
    if (n->evict[k].pdb == pdb) {
      n->evict[k].pods++;
      return 0;
    }
  struct rs_ro_evict *v = realloc(n->evict, (n->nevict + 1) * sizeof *v);
  if (!v) return rs_oom(err);
  n->evict = v;
  n->evict[n->nevict++] = (struct rs_ro_evict){.pdb = pdb, .pods = 1};
  return 0;
}

/* One pod the drain would evict: the budgets in its namespace that select
 * it. */
static int pod_budgets(struct run *x, struct rs_rollout_node *n, const json_t *pod, struct rs_drain_groups *g) {
  const char *ns = str(meta(pod), "namespace"), *name = str(meta(pod), "name");
  const json_t *labels = json_object_get(meta(pod), "labels");
  for (size_t i = 0; i < x->p->npdbs; i++) {
    const json_t *b = json_array_get(x->pdb_objs, i);
    if (!ns || strcmp(x->p->pdbs[i].ns, ns) != 0 ||
        !rs_ro_selector_matches(json_object_get(json_object_get(b, "spec"), "selector"),
                                labels ? labels : json_object()))
      continue;
    if (count_evict(n, i, x->err) < 0) return -1;
    if (pdb_never(b)) {
      _cleanup_free_ char *why = rs_strdup_printf("cannot evict Pods whose PodDisruptionBudget %s allows no "
                                                  "disruption at all", x->p->pdbs[i].name);
      if (!why || rs_drain_groups_add(g, why, ns, name ? name : "?", x->err) < 0) return why ? -1 : rs_oom(x->err);
    }
  }
  return 0;
}

static int node_drain(struct run *x, struct rs_rollout_node *n) {
  json_t *pods = json_object_get(x->pods, n->name);
  struct rs_drain_groups *g = rs_drain_groups_new();
  if (!g) return rs_oom(x->err);
  int rc = 0;
  size_t i;
  json_t *pod;
  json_array_foreach(pods, i, pod) {
    const char *ns = str(meta(pod), "namespace"), *name = str(meta(pod), "name");
    const char *ds = rs_drain_pod_daemonset(pod);
    int st = ds && ns ? ds_state(x, ns, ds) : RS_DRAIN_DS_FOUND;
    struct rs_drain_filter_result fr = rs_drain_filter_pod(pod, &x->o->drain, st, NULL, (long long)time(NULL));
    if (fr.verdict == RS_DRAIN_ERROR && ns && name)
      rc = rs_drain_groups_add(g, fr.message ? fr.message : "cannot delete", ns, name, x->err);
    else if (fr.verdict == RS_DRAIN_DELETE || fr.verdict == RS_DRAIN_DELETE_WARN) {
      n->pods++;
      rc = pod_budgets(x, n, pod, g);
    }
    if (rc < 0) break;
  }
  rs_strv_free(n->drain_blockers);
  n->drain_blockers = rs_strv_new();
  if (rc == 0 && !n->drain_blockers) rc = rs_oom(x->err);
  if (rc == 0) rc = rs_drain_groups_errors(g, &n->drain_blockers, x->err);
  rs_drain_groups_free(g);
  return rc;
}

/* ---- preflights (as check runs them) ---- */

/* The nodes to preflight, as check's report has them. */
static int pf_nodes(struct run *x, struct rs_check_report *r, json_t *pods) {
  size_t n = json_object_size(x->pf_objs), k = 0;
  if (!(r->nodes = calloc(n ? n : 1, sizeof *r->nodes))) return rs_oom(x->err);
  const char *name;
  json_t *node;
  json_object_foreach(x->pf_objs, name, node) {
    struct rs_check_node *cn = &r->nodes[k++];
    r->nnodes = k;
    const char *arch = str(json_object_get(json_object_get(node, "status"), "nodeInfo"), "architecture");
    *cn = (struct rs_check_node){.preflight_wanted = true, .preflight = RS_PF_SKIPPED, .kubenet = -1,
                                 .obj = json_incref(node)};
    if (!(cn->name = strdup(name)) || rs_strdup0_to(&cn->arch, arch) < 0) return rs_oom(x->err);
    if (json_array_extend(pods, json_object_get(x->pods, name)) < 0) return rs_oom(x->err);
  }
  return 0;
}

/* One helper preflight per node, at once (check's: a Job each in the
 * working namespace, the plan read from its log, everything removed). */
static int preflights(struct run *x) {
  struct rs_rollout_plan *p = x->p;
  if (!json_object_size(x->pf_objs)) return 0;
  struct rs_check_report r = {.to = strdup(x->o->to), .notes = rs_strv_new(), .missing = rs_strv_new()};
  json_auto_t *pods = json_array();
  struct rs_check_opts co = {.to = x->o->to, .preflight = true, .ns = x->o->ns, .image = x->o->image,
                             .page_size = x->o->page_size, .leave_pods = x->o->leave_pods};
  int rc = !r.to || !r.notes || !r.missing || !pods ? rs_oom(x->err) : pf_nodes(x, &r, pods);
  if (rc == 0 && rs_check_preflight(x->c, &co, &r, pods, x->err) < 0) rc = rs_wrap(x->err, "the nodes' preflights");
  for (size_t k = 0; rc == 0 && k < r.nnodes; k++) {
    const struct rs_check_node *cn = &r.nodes[k];
    for (size_t i = 0; rc == 0 && i < p->nnodes; i++) {
      struct rs_rollout_node *n = &p->nodes[i];
      if (strcmp(n->name, cn->name) != 0) continue;
      n->preflight = cn->preflight;
      if (cn->preflight == RS_PF_DONE && cn->plan) n->preflight_plan = json_incref(cn->plan);
      if (rs_strdup0_to(&n->preflight_note, cn->preflight_note) < 0) rc = rs_oom(x->err);
      size_t b;
      json_t *v;
      json_array_foreach(json_object_get(cn->plan, RS_JSON_BLOCKERS), b, v) {
        if (rc == 0 && json_is_string(v)) rc = rs_strv_push(&n->blockers, json_string_value(v), x->err);
      }
      if (rc == 0 && cn->preflight == RS_PF_FAILED)
        rc = rs_strv_consume(&n->blockers, rs_strdup_printf("the preflight failed: %s",
                                                            cn->preflight_note ? cn->preflight_note : "?"), x->err);
    }
  }
  for (size_t i = 0; rc == 0 && r.notes && r.notes[i]; i++) rc = rs_strv_push(&p->notes, r.notes[i], x->err);
  rs_check_report_clear(&r);
  p->preflight_ms = rs_now_ms();
  return rc;
}

/* ---- the plan ---- */

/* The planner's view of the nodes (heap; NULL on OOM) and *ri over it. */
static struct rs_ro_node *plan_input(const struct rs_rollout_plan *p, struct rs_ro_input *ri) {
  struct rs_ro_node *in = calloc(p->nnodes ? p->nnodes : 1, sizeof *in);
  if (!in) return NULL;
  for (size_t i = 0; i < p->nnodes; i++) {
    const struct rs_rollout_node *n = &p->nodes[i];
    in[i] = (struct rs_ro_node){.name = n->name, .zone = n->zone, .control_plane = n->control_plane,
                                .ready = n->ready, .on_target = n->on_target,
                                .blocked = n->blockers[0] || (n->drain_blockers && n->drain_blockers[0]),
                                .evict = n->evict, .nevict = n->nevict};
  }
  *ri = (struct rs_ro_input){.nodes = in, .nnodes = p->nnodes, .pdbs = p->pdbs, .npdbs = p->npdbs,
                             .cluster_control_plane = p->cluster_control_plane,
                             .cluster_cp_not_ready = p->cp_not_ready};
  return in;
}

static int make_plan(struct run *x) {
  struct rs_ro_input ri;
  _cleanup_free_ struct rs_ro_node *in = plan_input(x->p, &ri);
  if (!in) return rs_oom(x->err);
  return rs_ro_plan_make(&ri, &x->o->plan, &x->p->plan, x->err);
}

int rs_rollout_plan(rs_kube_client_t *c, const struct rs_rollout_opts *o, struct rs_rollout_plan *ret,
                    rs_err_t *err) {
  struct rs_rollout_plan p = {.to = strdup(o->to ? o->to : ""), .notes = rs_strv_new(), .missing = rs_strv_new(),
                              .cp_not_ready = rs_strv_new(), .preflight = o->preflight};
  struct run x = {.c = c, .o = o, .p = &p, .node_objs = json_object(), .pods = json_object(), .ds = json_object(),
                  .cp_seen = json_object(), .pf_objs = json_object(), .pdb_objs = json_array(), .locks = json_object(), .err = err};
  int rc = -1;
  if (!p.to || !p.notes || !p.missing || !p.cp_not_ready || !x.node_objs || !x.pods || !x.ds || !x.cp_seen || !x.pf_objs || !x.pdb_objs || !x.locks) {
    rs_oom(err);
    goto out;
  }
  if (read_locks(&x) < 0 || read_nodes(&x) < 0 || read_control_plane(&x) < 0) goto out;
  if (read_pods(&x) < 0) {
    rs_wrap(err, "listing pods");
    goto out;
  }
  if (read_pdbs(&x) < 0) goto out;
  rc = 0;
  for (size_t i = 0; rc == 0 && i < p.nnodes; i++)
    if (!p.nodes[i].on_target) rc = node_drain(&x, &p.nodes[i]);
  if (rc == 0 && o->preflight) rc = preflights(&x);
  if (rc == 0) rc = make_plan(&x);
out:
  json_decref(x.node_objs);
  json_decref(x.pods);
  json_decref(x.ds);
  json_decref(x.cp_seen);
  json_decref(x.pf_objs);
  json_decref(x.pdb_objs);
  json_decref(x.locks);
  if (rc < 0) {
    rs_rollout_plan_clear(&p);
    return -1;
  }
  *ret = p;
  return 0;
}

int rs_rollout_fit(rs_kube_client_t *c, const struct rs_rollout_opts *base, const char *const *names,
                   size_t *ret_n, char **ret_note, rs_err_t *err) {
  struct rs_rollout_opts o = *base;
  o.names = names, o.selector = NULL, o.all = false, o.preflight = false;
  struct rs_rollout_plan p = {0};
  if (rs_rollout_plan(c, &o, &p, err) < 0) return -1;
  size_t want = 0;
  while (names[want]) want++;
  _cleanup_free_ size_t *cand = calloc(want ? want : 1, sizeof *cand);
  struct rs_ro_input ri;
  _cleanup_free_ struct rs_ro_node *in = cand ? plan_input(&p, &ri) : NULL;
  if (!in) {
    rs_rollout_plan_clear(&p);
    return rs_oom(err);
  }
  /* the nodes as named, up to one that is gone (its own switch says so) */
  size_t n = 0;
  for (; n < want; n++) {
    size_t i = 0;
    while (i < p.nnodes && strcmp(p.nodes[i].name, names[n]) != 0) i++;
    if (i == p.nnodes) break;
    cand[n] = i;
  }
  size_t pdb, fit = n ? rs_ro_fit(&ri, cand, n, &pdb) : 0;
  if (fit == 0) fit = 1;
  char *note = NULL;
  if (fit < want && n == want && pdb < p.npdbs &&
      !(note = rs_strdup_printf("%zu of the batch's %zu node(s) at once for now: PodDisruptionBudget %s/%s "
                                "allows %ld disruption(s) now", fit, want, p.pdbs[pdb].ns, p.pdbs[pdb].name,
                                p.pdbs[pdb].allowed))) {
    rs_rollout_plan_clear(&p);
    return rs_oom(err);
  }
  rs_rollout_plan_clear(&p);
  *ret_n = fit;
  *ret_note = note;
  return 0;
}

size_t rs_rollout_blocked(const struct rs_rollout_plan *p) {
  size_t n = 0;
  for (size_t i = 0; i < p->nnodes && i < p->plan.nnodes; i++) n += p->plan.state[i] == RS_RO_BLOCKED;
  return n;
}

/* ---- JSON ---- */

static json_t *strv_json(char *const *v) {
  json_t *a = json_array();
  for (size_t i = 0; a && v && v[i]; i++)
    if (json_array_append_new(a, json_string(v[i])) < 0) return json_decref(a), NULL;
  return a;
}

static const char *batch_kind(int k) {
  return k == RS_RO_BATCH_CANARY ? "canary" : k == RS_RO_BATCH_CONTROL_PLANE ? "control-plane" : "workers";
}

static json_t *node_json(const struct rs_rollout_plan *p, size_t i) {
  const struct rs_rollout_node *n = &p->nodes[i];
  long b = p->plan.batch_of[i];
  long evictions = n->pods;
  /* a key without a value is left out, never null (as the events) */
  return json_pack("{s:s, s:s*, s:s, s:s*, s:s, s:o*, s:s*, s:s*, s:s*, s:o, s:o, s:I}", "name", n->name, "zone",
                   n->zone, "role", n->control_plane ? "control-plane" : "worker", "runtime", n->runtime, "state",
                   rs_ro_state_name(p->plan.state[i]), "batch", b >= 0 ? json_integer(b + 1) : NULL, "reason",
                   p->plan.reason[i], "preflight", n->preflight >= 0 ? rs_preflight_state_name(n->preflight) : NULL,
                   "preflightNote", n->preflight_note, "blockers", strv_json(n->blockers), "drainBlockers",
                   strv_json(n->drain_blockers), "evictions", (json_int_t)evictions);
}

json_t *rs_rollout_plan_to_json(const struct rs_rollout_plan *p) {
  json_auto_t *batches = json_array(), *nodes = json_array();
  if (!batches || !nodes) return NULL;
  for (size_t b = 0; b < p->plan.nbatches; b++) {
    const struct rs_ro_batch *x = &p->plan.batches[b];
    json_t *names = json_array();
    for (size_t k = 0; names && k < x->n; k++)
      json_array_append_new(names, json_string(p->nodes[p->plan.order[x->start + k]].name));
    json_t *o = json_pack("{s:I, s:s, s:o, s:I, s:s*}", "batch", (json_int_t)(b + 1), "kind", batch_kind(x->kind),
                          "nodes", names ? names : json_null(), "want", (json_int_t)x->want, "note", x->note);
    if (!o || json_array_append_new(batches, o) < 0) return NULL;
  }
  for (size_t i = 0; i < p->nnodes; i++) {
    json_t *o = node_json(p, i);
    if (!o || json_array_append_new(nodes, o) < 0) return NULL;
  }
  return json_pack("{s:s, s:s, s:I, s:b, s:O, s:O, s:o, s:o}", "kind", "RolloutPlan", "to", p->to,
                   "maxUnavailable", (json_int_t)p->plan.max_unavailable, "preflight", p->preflight, "batches",
                   batches, "nodes", nodes, "notes", strv_json(p->notes), "missing", strv_json(p->missing));
}
