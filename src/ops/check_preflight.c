/* The helper's read-only preflight on every node that leaves Docker, as
 * `node --dry-run` runs it on one: the helper's carrier (one per
 * architecture, shared by the nodes' runs: ops/carrier.h), a Job pinned to
 * the node started the guarded way, the plan read from its log, every
 * object removed after.  The nodes go at once (at most o->parallel Jobs at
 * a time); one list of our preflight pods a second follows them all, the
 * carriers' watches read meanwhile.
 *
 * What the user may not do is not a failure: without the rights to read
 * the working namespace or to create the ConfigMap, the Job or the pod
 * there, or where Pod Security refuses the privileged pod, every node's
 * preflight is "skipped" with a note that says why. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/signals.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/carrier.h"
#include "ops/check.h"
#include "ops/deliver.h"
#include "ops/helper_blob.h"

#define PF_PARALLEL 16
#define PF_TIMEOUT_MS (180 * 1000LL)
#define PF_FAILED_CREATE_MS (15 * 1000LL)
#define PF_LOG_MAX ((size_t)4 << 20)
#define PF_GONE_WAIT_MS (10 * 1000LL)
/* how often the preflight pods are listed (and the carriers' watches read) */
#define PF_POLL_MS 250

enum { PF_QUEUED, PF_RUNNING, PF_FINISHED };

struct pf {
  struct rs_check_node *n;
  struct rs_deliver_spec spec;
  char id[RS_RUN_ID_MAX + 1];
  char *image;
  char *job;
  char *cname;         /* its carrier's name */
  int stage;
  bool created;        /* objects of ours may exist: remove them */
  bool started;        /* its Job was let start; its pod not yet checked */
  struct rs_carrier *car; /* the carrier it joined (NULL: none yet) */
  long long t0;
};

struct run {
  rs_kube_client_t *c;
  const struct rs_check_opts *o;
  struct rs_check_report *r;
  const char *ns;
  struct pf *v;
  size_t n;
  struct rs_carrier *cars; /* one per embedded helper (rs_helper_blobs) */
  rs_err_t *err;
};

static int state(struct rs_check_node *n, int st, const char *fmt, ...) RS_PRINTF(3, 4);
static int state(struct rs_check_node *n, int st, const char *fmt, ...) {
  n->preflight = st;
  free(n->preflight_note);
  n->preflight_note = NULL;
  if (!fmt) return 0;
  va_list ap;
  va_start(ap, fmt);
  int k = vasprintf(&n->preflight_note, fmt, ap);
  va_end(ap);
  if (k < 0) n->preflight_note = NULL;
  return k < 0 ? -1 : 0;
}

/* Errors that end the command, not one node's preflight. */
static bool fatal(const rs_err_t *e) {
  return e->kind == RS_E_INTERRUPTED || (e->kind == RS_E_SYS && e->code == ENOMEM);
}

/* Refused by RBAC, or by Pod Security (deliver.h words it): the user's
 * rights, not a failure of the node. */
static bool not_allowed(const rs_err_t *e) {
  return rs_kube_err_is(e, 403) || rs_kube_err_is(e, 401) || e->kind == RS_E_CONFIG;
}

/* Mark every node not yet finished (queued ones only when all is set). */
static int skip_rest(struct run *x, const char *why) {
  for (size_t i = 0; i < x->n; i++)
    if (x->v[i].stage == PF_QUEUED && state(x->v[i].n, RS_PF_SKIPPED, "%s", why) < 0) return rs_oom(x->err);
  for (size_t i = 0; i < x->n; i++)
    if (x->v[i].stage == PF_QUEUED) x->v[i].stage = PF_FINISHED;
  return 0;
}

static int remove_objects(struct run *x, struct pf *p) {
  if (!p->created) return 0;
  rs_err_t e = RS_ERR_INIT;
  int r = rs_deliver_cleanup(x->c, x->ns, p->id, NULL, &e);
  if (r == 0 && p->car) r = rs_carrier_release(x->c, p->car, p->id, NULL, &e);
  if (r < 0 && fatal(&e)) {
    rs_err_move(x->err, &e);
    return -1;
  }
  if (r < 0 && rs_check_note(x->r, x->err, "could not remove the preflight objects of node %s (run %s) from "
                             "namespace %s: %s", p->n->name, p->id, x->ns, e.msg ? e.msg : "?") < 0) {
    rs_err_clear(&e);
    return -1;
  }
  rs_err_clear(&e);
  p->created = r < 0;
  return 0;
}

static int finish(struct run *x, struct pf *p) {
  p->stage = PF_FINISHED;
  return remove_objects(x, p);
}

/* ---- choosing what each node runs ---- */

static json_t *pods_on(const json_t *pods, const char *node) {
  json_t *a = json_array();
  size_t i;
  json_t *pod;
  json_array_foreach(pods, i, pod) {
    const char *nn = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
    if (a && nn && strcmp(nn, node) == 0 && json_array_append(a, pod) < 0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

static int prepare(struct run *x, struct pf *p, size_t k, const char *base, const json_t *pods) {
  struct rs_check_node *n = p->n;
  if ((size_t)snprintf(p->id, sizeof p->id, "%.24s-%zu", base, k) >= sizeof p->id)
    return rs_fail(x->err, RS_E_LIMIT, 0, "too many nodes for run ids");
  p->job = rs_deliver_job_name(p->id, RS_JOB_PREFLIGHT);
  if (!p->job) return rs_oom(x->err);
  if (x->o->image) {
    if (!(p->image = strdup(x->o->image))) return rs_oom(x->err);
  } else {
    json_t *mine = pods_on(pods, n->name);
    if (!mine) return rs_oom(x->err);
    rs_err_t e = RS_ERR_INIT;
    int r = rs_deliver_pick_image(mine, &p->image, &e);
    json_decref(mine);
    if (r < 0 && e.kind == RS_E_INPUT) {
      rs_err_clear(&e);
      r = rs_deliver_pick_node_image(n->obj, &p->image, &e);
    }
    if (r < 0) {
      if (fatal(&e) || e.kind == RS_E_SYS) {
        rs_err_move(x->err, &e);
        return -1;
      }
      p->stage = PF_FINISHED;
      int s = state(n, RS_PF_FAILED, "%s", e.msg ? e.msg : "no image for the helper's pod");
      rs_err_clear(&e);
      return s < 0 ? rs_oom(x->err) : 0;
    }
  }
  const struct rs_helper_blob *blob = rs_helper_blob_for(n->arch);
  if (blob && !(p->cname = rs_carrier_name(blob))) return rs_oom(x->err);
  p->spec = (struct rs_deliver_spec){.ns = x->ns, .node = n->name, .id = p->id, .to = x->r->to,
                                     .image = p->image, .priority = true, .carrier = p->cname,
                                     .helper_sha256 = blob ? blob->sha256 : NULL};
  return 0;
}

/* ---- the carriers ---- */

/* Its carrier changed: every preflight that runs from it stops now. */
static void on_trip(void *ud, const struct rs_carrier *car) {
  struct run *x = ud;
  rs_err_t why = RS_ERR_INIT;
  rs_carrier_trip_error(car, &why);
  for (size_t i = 0; i < x->n; i++) {
    struct pf *p = &x->v[i];
    if (p->car != car || p->stage != PF_RUNNING) continue;
    rs_err_t e = RS_ERR_INIT;
    rs_deliver_kill_run(x->c, x->ns, p->id, &e);
    rs_err_clear(&e);
    /* a pod let start after the last good check may have read the others */
    if (state(p->n, RS_PF_FAILED, "%s%s", why.msg ? why.msg : "the helper's carrier changed",
              p->started ? "; its pod had been let start: if it started, this node ran other bytes as root "
                           "(treat it as compromised)" : "") < 0)
      rs_oom(x->err);
    p->stage = PF_FINISHED;
  }
  rs_err_clear(&why);
}

/* The carrier for blob, made or joined for run p (the nodes share one per
 * architecture; each preflight holds its own reference). */
static int join_carrier(struct run *x, struct pf *p, const struct rs_helper_blob *blob, rs_err_t *err) {
  struct rs_carrier *car = &x->cars[blob - rs_helper_blobs];
  if (!car->name) {
    if (rs_carrier_init(car, x->ns, false, blob, err) < 0) return -1;
    car->on_trip = on_trip;
    car->ud = x;
  }
  if (rs_carrier_acquire(x->c, car, p->id, p->n->name, err) < 0) return -1;
  p->car = car;
  return 0;
}

/* ---- running ---- */

static int start(struct run *x, struct pf *p) {
  const struct rs_helper_blob *blob = rs_helper_blob_for(p->n->arch);
  if (!blob) {
    p->stage = PF_FINISHED;
    return state(p->n, RS_PF_FAILED, "this build of the plugin carries no helper for %s nodes",
                 p->n->arch ? p->n->arch : "this architecture") < 0 ? rs_oom(x->err) : 0;
  }
  rs_err_t e = RS_ERR_INIT;
  p->created = true;
  p->t0 = rs_now_ms();
  p->stage = PF_RUNNING; /* a trip while it starts must find it */
  p->started = true;
  int started = RS_CARRIER_JOB_NOT_STARTED;
  int r = join_carrier(x, p, blob, &e);
  if (r == 0) r = rs_carrier_start_job(x->c, p->car, &p->spec, RS_JOB_PREFLIGHT, NULL, NULL, &started, &e);
  p->started = started != RS_CARRIER_JOB_NOT_STARTED;
  if (r == 0) return 0;
  if (p->stage == PF_FINISHED) { /* the guard stopped it, and said why */
    rs_err_clear(&e);
    return remove_objects(x, p);
  }
  if (fatal(&e)) {
    rs_err_move(x->err, &e);
    return -1;
  }
  bool denied = not_allowed(&e);
  r = state(p->n, denied ? RS_PF_SKIPPED : RS_PF_FAILED, "%s%s", denied ? "not allowed: " : "", e.msg ? e.msg : "?");
  rs_err_clear(&e);
  if (r < 0) return rs_oom(x->err);
  if (finish(x, p) < 0) return -1;
  /* the rights are the namespace's: the other nodes would be refused too */
  return denied ? skip_rest(x, p->n->preflight_note) : 0;
}

static const json_t *latest_pod(const json_t *items, const char *job) {
  const json_t *best = NULL;
  const char *bt = "";
  size_t i;
  json_t *pod;
  json_array_foreach(items, i, pod) {
    const json_t *meta = json_object_get(pod, "metadata");
    const char *jn = json_string_value(json_object_get(json_object_get(meta, "labels"), "job-name"));
    const char *t = json_string_value(json_object_get(meta, "creationTimestamp"));
    if (!jn || strcmp(jn, job) != 0) continue;
    if (!t) t = "";
    if (!best || strcmp(t, bt) > 0) {
      best = pod;
      bt = t;
    }
  }
  return best;
}

static int read_plan(struct run *x, struct pf *p, const struct rs_pod_view *v) {
  _cleanup_free_ char *ens = rs_kube_escape(x->ns), *ep = v->name ? rs_kube_escape(v->name) : NULL;
  _cleanup_free_ char *path = ens && ep ? rs_strdup_printf("/api/v1/namespaces/%s/pods/%s/log?container=%s&limitBytes=%zu",
                                                           ens, ep, RS_DELIVER_CONTAINER, PF_LOG_MAX)
                                        : NULL;
  if (!path) return rs_oom(x->err);
  _cleanup_free_ char *log = NULL;
  size_t len = 0;
  rs_err_t e = RS_ERR_INIT;
  if (rs_kube_get_raw(x->c, path, &log, &len, &e) < 0) {
    if (fatal(&e)) {
      rs_err_move(x->err, &e);
      return -1;
    }
    int s = state(p->n, RS_PF_FAILED, "reading the log of pod %s/%s: %s", x->ns, v->name, e.msg ? e.msg : "?");
    rs_err_clear(&e);
    return s < 0 ? rs_oom(x->err) : 0;
  }
  json_t *plan = rs_helper_json_from_log(log, len);
  if (!plan || (v->exit_code != RS_HX_OK && v->exit_code != RS_HX_BLOCKED)) {
    json_decref(plan);
    /* the last line says why */
    size_t end = len;
    while (end && (log[end - 1] == '\n' || log[end - 1] == '\r')) end--;
    size_t beg = end;
    while (beg && log[beg - 1] != '\n') beg--;
    return state(p->n, RS_PF_FAILED, "the helper exited %d without a plan%s%.*s", v->exit_code,
                 end > beg ? ": " : "", (int)(end - beg > 400 ? 400 : end - beg), log + beg) < 0
               ? rs_oom(x->err) : 0;
  }
  json_decref(p->n->plan);
  p->n->plan = plan;
  bool blocked = v->exit_code == RS_HX_BLOCKED || json_is_false(json_object_get(plan, RS_JSON_OK));
  return state(p->n, blocked ? RS_PF_BLOCKED : RS_PF_DONE, NULL) < 0 ? rs_oom(x->err) : 0;
}

/* One look at a running preflight. */
static int follow(struct run *x, struct pf *p, const json_t *items) {
  const json_t *pod = latest_pod(items, p->job);
  long long age = rs_now_ms() - p->t0;
  if (pod) {
    struct rs_pod_view v;
    rs_pod_view(pod, &v);
    if (v.state == RS_POD_EXITED) {
      /* it ran: from the carrier checked before its Job */
      rs_err_t e = RS_ERR_INIT;
      if (rs_carrier_still(x->c, p->car, &e) < 0) {
        if (fatal(&e)) {
          rs_err_move(x->err, &e);
          return -1;
        }
        int st = p->stage == PF_FINISHED ? 0 : state(p->n, RS_PF_FAILED, "%s", e.msg ? e.msg : "?");
        rs_err_clear(&e);
        return st < 0 ? rs_oom(x->err) : finish(x, p);
      }
      p->started = false;
      if (read_plan(x, p, &v) < 0) return -1;
      return finish(x, p);
    }
    if (v.state == RS_POD_BLOCKED || v.state == RS_POD_GONE) {
      if (state(p->n, RS_PF_FAILED, "pod %s/%s %s: %s", x->ns, v.name ? v.name : "?",
                v.state == RS_POD_BLOCKED ? "cannot start" : "ended without running",
                v.why ? v.why : "unknown reason") < 0)
        return rs_oom(x->err);
      return finish(x, p);
    }
  } else if (age > PF_FAILED_CREATE_MS) {
    _cleanup_free_ char *why = NULL;
    rs_err_t e = RS_ERR_INIT;
    if (rs_deliver_job_failed_create(x->c, x->ns, p->job, &why, &e) < 0 && fatal(&e)) {
      rs_err_move(x->err, &e);
      return -1;
    }
    rs_err_clear(&e);
    if (why) {
      if (state(p->n, strstr(why, "forbidden") ? RS_PF_SKIPPED : RS_PF_FAILED, "the Job %s/%s cannot create its "
                "pod: %s", x->ns, p->job, why) < 0)
        return rs_oom(x->err);
      return finish(x, p);
    }
  }
  long long limit = x->o->preflight_timeout_ms > 0 ? x->o->preflight_timeout_ms : PF_TIMEOUT_MS;
  if (age > limit) {
    if (state(p->n, RS_PF_FAILED, "the preflight did not finish within %lld s", limit / 1000) < 0)
      return rs_oom(x->err);
    return finish(x, p);
  }
  return 0;
}

static char *our_pods_path(const char *ns, const char *role) {
  _cleanup_free_ char *sel = rs_strdup_printf("%s=%s,%s=%s", RS_LABEL_MANAGED_BY, RS_MANAGED_BY, RS_LABEL_ROLE, role);
  _cleanup_free_ char *esel = sel ? rs_kube_escape(sel) : NULL;
  _cleanup_free_ char *ens = rs_kube_escape(ns);
  return esel && ens ? rs_strdup_printf("/api/v1/namespaces/%s/pods?labelSelector=%s", ens, esel) : NULL;
}

static int loop(struct run *x) {
  _cleanup_free_ char *path = our_pods_path(x->ns, rs_job_role_name(RS_JOB_PREFLIGHT));
  if (!path) return rs_oom(x->err);
  size_t par = x->o->parallel > 0 ? (size_t)x->o->parallel : PF_PARALLEL;
  for (;;) {
    size_t running = 0, queued = 0;
    for (size_t i = 0; i < x->n; i++) running += x->v[i].stage == PF_RUNNING;
    for (size_t i = 0; i < x->n && running < par; i++) {
      if (x->v[i].stage != PF_QUEUED) continue;
      if (start(x, &x->v[i]) < 0) return -1;
      running += x->v[i].stage == PF_RUNNING;
    }
    for (size_t i = 0; i < x->n; i++) queued += x->v[i].stage == PF_QUEUED;
    if (!running && !queued) return 0;
    if (rs_deliver_nap(x->c, PF_POLL_MS, x->err) < 0) return -1; /* the carriers' watches are read */
    json_auto_t *list = NULL;
    if (rs_kube_get(x->c, path, &list, x->err) < 0) {
      if (fatal(x->err)) return -1;
      /* cannot see the pods: every running preflight fails the same way */
      for (size_t i = 0; i < x->n; i++)
        if (x->v[i].stage == PF_RUNNING) {
          if (state(x->v[i].n, not_allowed(x->err) ? RS_PF_SKIPPED : RS_PF_FAILED, "listing the preflight pods in "
                    "%s: %s", x->ns, x->err->msg ? x->err->msg : "?") < 0)
            return rs_oom(x->err);
          if (finish(x, &x->v[i]) < 0) return -1;
        }
      rs_err_clear(x->err);
      continue;
    }
    const json_t *items = json_object_get(list, "items");
    for (size_t i = 0; i < x->n; i++)
      if (x->v[i].stage == PF_RUNNING && follow(x, &x->v[i], items) < 0) return -1;
    /* a guard that tripped has stopped its preflights; the others' watch
     * is opened again when it ended */
    for (size_t i = 0; i < x->n; i++) {
      struct rs_carrier *car = x->v[i].car;
      rs_err_t e = RS_ERR_INIT;
      if (car && x->v[i].stage == PF_RUNNING && car->trip == RS_CARRIER_OK &&
          rs_carrier_guard_start(x->c, car, &e) < 0 && fatal(&e)) {
        rs_err_move(x->err, &e);
        return -1;
      }
      rs_err_clear(&e);
    }
  }
}

/* The Jobs' pods go with them (background deletion): wait a little, so
 * that nothing of ours is left when check ends. */
static void wait_pods_gone(struct run *x) {
  _cleanup_free_ char *path = our_pods_path(x->ns, rs_job_role_name(RS_JOB_PREFLIGHT));
  for (long long end = rs_now_ms() + PF_GONE_WAIT_MS; path && rs_now_ms() < end;) {
    json_auto_t *list = NULL;
    rs_err_t e = RS_ERR_INIT;
    int r = rs_kube_get(x->c, path, &list, &e);
    rs_err_clear(&e);
    bool ours = false;
    size_t i, k;
    json_t *pod;
    json_array_foreach(json_object_get(list, "items"), i, pod) {
      const char *jn = json_string_value(json_object_get(json_object_get(json_object_get(pod, "metadata"), "labels"),
                                                         "job-name"));
      for (k = 0; jn && k < x->n; k++)
        if (strcmp(jn, x->v[k].job) == 0) ours = true;
    }
    if (r < 0 || !ours) return;
    nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
  }
}

/* Remove what is left, also after Ctrl-C (the client stops at a set
 * cancel flag: it is lowered for the removal, then raised again). */
static int cleanup_all(struct run *x, int rc) {
  sig_atomic_t was = rs_cancelled;
  rs_cancelled = 0;
  rs_err_t keep = RS_ERR_INIT;
  if (rc < 0) rs_err_move(&keep, x->err);
  bool any = false;
  for (size_t i = 0; i < x->n; i++) {
    any = any || x->v[i].job != NULL;
    if (remove_objects(x, &x->v[i]) < 0) rs_err_clear(x->err);
  }
  if (any && !x->o->leave_pods) wait_pods_gone(x);
  for (size_t i = 0; x->cars && i < rs_helper_blobs_count; i++) {
    rs_carrier_guard_stop(x->c, &x->cars[i]);
    rs_carrier_clear(&x->cars[i]);
  }
  if (was) rs_cancelled = was;
  if (rc < 0) rs_err_move(x->err, &keep);
  return rc;
}

int rs_check_preflight(rs_kube_client_t *c, const struct rs_check_opts *o, struct rs_check_report *r,
                       const json_t *pods, rs_err_t *err) {
  size_t n = 0;
  for (size_t i = 0; i < r->nnodes; i++) n += r->nodes[i].preflight_wanted;
  if (!n) return 0;
  struct run x = {.c = c, .o = o, .r = r, .ns = o->ns ? o->ns : RS_DELIVER_DEFAULT_NS, .err = err};
  _cleanup_free_ struct pf *v = calloc(n, sizeof *v);
  _cleanup_free_ struct rs_carrier *cars = calloc(rs_helper_blobs_count, sizeof *cars);
  if (!v || !cars) return rs_oom(err);
  x.v = v;
  x.cars = cars;
  for (size_t i = 0, k = 0; i < r->nnodes; i++)
    if (r->nodes[i].preflight_wanted) v[k++].n = &r->nodes[i];
  x.n = n;
  int rc = 0;
  _cleanup_free_ char *warning = NULL, *note = NULL;
  rs_err_t e = RS_ERR_INIT;
  struct rs_deliver_spec *probe = NULL;
  char base[RS_RUN_ID_MAX + 1];
  if (!o->preflight) {
    rc = skip_rest(&x, "not run (--preflight=false)");
    goto out;
  }
  if (rs_deliver_check_namespace(c, x.ns, strcmp(x.ns, RS_DELIVER_DEFAULT_NS) == 0, NULL, &warning, &e) < 0) {
    if (fatal(&e)) {
      rs_err_move(err, &e);
      rc = -1;
      goto out;
    }
    _cleanup_free_ char *why = rs_strdup_printf("not run: %s", e.msg ? e.msg : "?");
    rs_err_clear(&e);
    rc = why ? skip_rest(&x, why) : rs_oom(err);
    goto out;
  }
  if (warning && rs_check_note(r, err, "%s", warning) < 0) {
    rc = -1;
    goto out;
  }
  if (rs_run_id_new(base, err) < 0) {
    rc = -1;
    goto out;
  }
  for (size_t k = 0; rc == 0 && k < n; k++) {
    rc = prepare(&x, &v[k], k, base, pods);
    if (rc == 0 && v[k].stage == PF_QUEUED && v[k].cname && !probe) probe = &v[k].spec;
  }
  if (rc < 0 || !probe) goto out;
  /* Pod Security and the priority class, asked once (dryRun): the answer
   * is the namespace's, the same for every node */
  if (rs_deliver_probe(c, probe, &note, &e) < 0) {
    if (fatal(&e)) {
      rs_err_move(err, &e);
      rc = -1;
      goto out;
    }
    _cleanup_free_ char *why = rs_strdup_printf("%s%s", not_allowed(&e) ? "not allowed: " : "", e.msg ? e.msg : "?");
    bool denied = not_allowed(&e);
    rs_err_clear(&e);
    if (!why) {
      rc = rs_oom(err);
      goto out;
    }
    if (denied) rc = skip_rest(&x, why);
    for (size_t k = 0; rc == 0 && k < n; k++)
      if (v[k].stage == PF_QUEUED) {
        v[k].stage = PF_FINISHED;
        rc = state(v[k].n, RS_PF_FAILED, "%s", why) < 0 ? rs_oom(err) : 0;
      }
    goto out;
  }
  if (note && rs_check_note(r, err, "%s", note) < 0) {
    rc = -1;
    goto out;
  }
  for (size_t k = 0; k < n; k++) v[k].spec.priority = probe->priority;
  rc = loop(&x);
out:
  rc = cleanup_all(&x, rc);
  for (size_t k = 0; k < n; k++) {
    free(v[k].image);
    free(v[k].job);
    free(v[k].cname);
  }
  return rc;
}
