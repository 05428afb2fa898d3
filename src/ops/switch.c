/* The phase machine of `node NAME --to RUNTIME` and `rollback node NAME`.
 * See include/ops/switch.h for the phases and the record on the node. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/deliver.h"
#include "ops/helper_blob.h"
#include "ops/nodes.h"
#include "ops/switch.h"

#define LOG_MAX ((size_t)8 << 20)
#define DEFAULT_NODE_TIMEOUT_MS (20 * 60 * 1000LL)
#define DEFAULT_POD_START_MS (3 * 60 * 1000LL)

struct sw {
  rs_kube_client_t *c;
  const struct rs_switch_opts *o;
  struct rs_switch_result *res;
  struct rs_sw_record rec;
  struct rs_deliver_spec spec;
  const struct rs_helper_blob *blob;
  json_t *node;            /* the node as last read */
  char id[RS_RUN_ID_MAX + 1];
  char *image;             /* preflight, switch, rollback pods */
  char *verify_image;      /* the verify pod (on the new runtime) */
  char *alt_image;         /* the verify pod's second choice */
  char *endpoint_before;   /* kubelet's CRI endpoint before the switch */
  const char *want;        /* runtime the node must end on (NULL: unknown yet) */
  char *want_buf;          /* storage for want when learnt from the report */
  int resume;              /* rank of the recorded phase; -1: a fresh run */
  long long phase_t0;
  /* the restart phase */
  long long t_notready_wall, t_ready_wall;
  bool seen_ready_want;
};

static int oom(rs_err_t *err) { return rs_fail(err, RS_E_SYS, ENOMEM, "out of memory"); }

static long long wall_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- events ---- */

static void emit(struct sw *s, int type, int phase, const char *fmt, ...) RS_PRINTF(4, 5);
static void emit(struct sw *s, int type, int phase, const char *fmt, ...) {
  if (!s->o->on_event) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
  va_end(ap);
  struct rs_sw_event ev = {.type = type, .phase = phase, .message = msg ? msg : fmt};
  s->o->on_event(s->o->ud, &ev);
  free(msg);
}

static void phase_begin(struct sw *s) { s->phase_t0 = rs_now_ms(); }

/* End a phase: one PHASE event (data is consumed). */
static void phase_end(struct sw *s, int phase, int status, json_t *data, const char *fmt, ...)
    RS_PRINTF(5, 6);
static void phase_end(struct sw *s, int phase, int status, json_t *data, const char *fmt, ...) {
  long long ms = rs_now_ms() - s->phase_t0;
  s->res->phase_ms[phase] = ms;
  char *msg = NULL;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
    va_end(ap);
  }
  if (s->o->on_event) {
    struct rs_sw_event ev = {.type = RS_SW_EV_PHASE, .phase = phase, .status = status, .ms = ms,
                             .message = msg, .data = data};
    s->o->on_event(s->o->ud, &ev);
  }
  free(msg);
  json_decref(data);
}

static void forward_drain(void *ud, const struct rs_drain_event *dev) {
  struct sw *s = ud;
  if (!s->o->on_event) return;
  struct rs_sw_event ev = {.type = RS_SW_EV_DRAIN, .phase = RS_PH_DRAIN, .message = dev->text,
                           .drain = dev};
  if (dev->type == RS_DRAIN_EV_CORDON) ev.phase = RS_PH_CORDON;
  s->o->on_event(s->o->ud, &ev);
}

/* Sleep, waking for Ctrl-C. */
static int nap(long long ms, rs_err_t *err) {
  long long end = rs_now_ms() + ms;
  while (rs_now_ms() < end) {
    if (rs_kube_cancel_flag) return rs_fail(err, RS_E_INTERRUPTED, 0, "interrupted");
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return rs_kube_cancel_flag ? rs_fail(err, RS_E_INTERRUPTED, 0, "interrupted") : 0;
}

/* ---- the node ---- */

static char *node_path(const char *node) {
  _cleanup_free_ char *en = rs_kube_escape(node);
  return en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
}

static int reload_node(struct sw *s, rs_err_t *err) {
  json_t *n = NULL;
  if (rs_node_get(s->c, s->o->node, &n, err) < 0) return -1;
  json_decref(s->node);
  s->node = n;
  return 0;
}

static const char *node_runtime_raw(const json_t *node) {
  return json_string_value(json_object_get(
      json_object_get(json_object_get(node, "status"), "nodeInfo"), "containerRuntimeVersion"));
}

/* Write the record and the contract's state annotation in one patch. */
static int record_save(struct sw *s, const char *phase, rs_err_t *err) {
  if (s->o->dry_run) return 0;
  char *p = strdup(phase);
  if (!p) return oom(err);
  free(s->rec.phase);
  s->rec.phase = p;
  json_auto_t *rj = rs_sw_record_to_json(&s->rec);
  _cleanup_free_ char *txt = rj ? json_dumps(rj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  _cleanup_free_ char *state = rs_strdup_printf("%s %s", s->rec.id, phase);
  _cleanup_free_ char *path = node_path(s->o->node);
  if (!txt || !state || !path) return oom(err);
  json_auto_t *patch = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "annotations",
                                 RS_HELPER_ANNOTATION_STATE, state, RS_ANN_RUN, txt);
  if (!patch) return oom(err);
  if (rs_kube_patch(s->c, path, RS_PATCH_MERGE, patch, NULL, err) < 0)
    return rs_wrap(err, "recording the switch's progress on node %s", s->o->node);
  return 0;
}

/* ---- Jobs and their pods ---- */

static bool backoff_limit_is_zero(int role) { return role == RS_JOB_PREFLIGHT || role == RS_JOB_SWITCH; }

/* Wait for the latest pod of a Job to start (until_exit false) or to end.
 * A pod the Job controller cannot create, or that cannot start, fails with
 * the reason; a priority class the namespace refuses is dropped once. */
static int wait_pod(struct sw *s, int phase, int role, bool until_exit, long long timeout_ms,
                    json_t **ret_pod, rs_err_t *err) {
  _cleanup_free_ char *job = rs_deliver_job_name(s->rec.id, role);
  if (!job) return oom(err);
  long long start = rs_now_ms(), end = start + timeout_ms;
  bool told = false;
  for (;;) {
    json_auto_t *pod = NULL;
    if (rs_deliver_job_pod(s->c, s->spec.ns, job, &pod, err) < 0) return -1;
    if (pod) {
      struct rs_pod_view v;
      rs_pod_view(pod, &v);
      if (v.state == RS_POD_EXITED || (!until_exit && v.state == RS_POD_RUNNING)) {
        *ret_pod = TAKE_PTR(pod);
        return 0;
      }
      if (v.state == RS_POD_BLOCKED) {
        *ret_pod = TAKE_PTR(pod);
        return rs_fail(err, RS_E_NODE, 0, "pod %s/%s cannot start: %s", s->spec.ns,
                       v.name ? v.name : "?", v.why ? v.why : "unknown reason");
      }
      if (v.state == RS_POD_GONE && backoff_limit_is_zero(role)) {
        return rs_fail(err, RS_E_NODE, 0, "pod %s/%s failed without running: %s", s->spec.ns,
                       v.name ? v.name : "?", v.why ? v.why : "unknown reason");
      }
    } else if (rs_now_ms() - start > 5000) {
      _cleanup_free_ char *why = NULL;
      if (rs_deliver_job_failed_create(s->c, s->spec.ns, job, &why, err) < 0) return -1;
      if (why && s->spec.priority && strstr(why, "riority")) {
        emit(s, RS_SW_EV_WARNING, phase, "the Job's pods may not use priorityClassName %s here (%s); "
             "creating it again without", RS_DELIVER_PRIORITY, why);
        s->spec.priority = false;
        if (rs_deliver_delete_job(s->c, s->spec.ns, job, err) < 0) return -1;
        for (int i = 0; i < 60; i++) {
          bool existed = true;
          if (rs_deliver_put_job(s->c, &s->spec, role, &existed, err) < 0) return -1;
          if (!existed) break;
          if (nap(1000, err) < 0) return -1;
        }
        start = rs_now_ms();
        continue;
      }
      if (why && rs_now_ms() - start > 15000)
        return rs_fail(err, RS_E_NODE, 0, "the Job %s/%s cannot create its pod: %s", s->spec.ns, job, why);
    }
    if (!told && rs_now_ms() - start > 10000) {
      emit(s, RS_SW_EV_INFO, phase, "waiting for the pod of Job %s/%s on node %s", s->spec.ns, job,
           s->o->node);
      told = true;
    }
    if (rs_now_ms() > end)
      return rs_fail(err, RS_E_TIMEOUT, 0, "the pod of Job %s/%s did not %s within %lld s", s->spec.ns,
                     job, until_exit ? "finish" : "start", timeout_ms / 1000);
    if (nap(1000, err) < 0) return -1;
  }
}

static int pod_log(struct sw *s, const char *pod, char **ret, size_t *ret_len, rs_err_t *err) {
  _cleanup_free_ char *ens = rs_kube_escape(s->spec.ns);
  _cleanup_free_ char *ep = rs_kube_escape(pod);
  _cleanup_free_ char *path = ens && ep ? rs_strdup_printf("/api/v1/namespaces/%s/pods/%s/log?container=%s"
                                                           "&limitBytes=%zu", ens, ep,
                                                           RS_DELIVER_CONTAINER, LOG_MAX)
                                        : NULL;
  if (!path) return oom(err);
  if (rs_kube_get_raw(s->c, path, ret, ret_len, err) < 0) return rs_wrap(err, "reading the log of pod %s", pod);
  return 0;
}

struct stream {
  struct sw *s;
  int phase;
  rs_buf_t log;
};

static int on_log_line(void *ud, const char *line, size_t len, rs_err_t *err) {
  struct stream *st = ud;
  if (!line) return 0;
  if (st->log.len + len + 1 < LOG_MAX) {
    rs_buf_append(&st->log, line, len, NULL);
    rs_buf_puts(&st->log, "\n", NULL);
  }
  if (len && line[0] != '{') emit(st->s, RS_SW_EV_HELPER, st->phase, "%.*s", (int)len, line);
  return 0;
}

/* Follow a pod's log until it ends (the container exited, or the kubelet
 * or the runtime went away under it).  The stream breaking is not an
 * error here: what happened is read from the pod and the helper after. */
static int follow_log(struct sw *s, int phase, const char *pod, char **ret_log, rs_err_t *err) {
  struct stream st = {.s = s, .phase = phase, .log = RS_BUF_INIT(LOG_MAX)};
  struct rs_kube_log_opts lo = {.container = RS_DELIVER_CONTAINER, .follow = true};
  rs_err_t e = RS_ERR_INIT;
  rs_kube_client_set_deadline(s->c, rs_now_ms() + 15 * 60 * 1000LL);
  int r = rs_kube_pod_logs(s->c, s->spec.ns, pod, &lo, on_log_line, &st, &e);
  rs_kube_client_set_deadline(s->c, 0);
  if (r < 0 && e.kind == RS_E_INTERRUPTED) {
    rs_err_move(err, &e);
    rs_buf_free(&st.log);
    return -1;
  }
  if (r < 0) emit(s, RS_SW_EV_INFO, phase, "the log stream of pod %s ended: %s", pod, e.msg ? e.msg : "?");
  rs_err_clear(&e);
  *ret_log = rs_buf_steal(&st.log, NULL);
  return 0;
}

/* ---- phases ---- */

static int fail_refused(struct sw *s, rs_err_t *err) {
  s->res->outcome = RS_SW_REFUSED;
  return -1;
  (void)err;
}

static int list_nodes(struct sw *s, json_t **ret, rs_err_t *err) {
  return rs_kube_get(s->c, "/api/v1/nodes", ret, err);
}

static int phase_check(struct sw *s, rs_err_t *err) {
  phase_begin(s);
  const struct rs_switch_opts *o = s->o;
  if (reload_node(s, err) < 0) {
    if (rs_kube_is_not_found(err)) return rs_fail(err, RS_E_INPUT, 404, "node %s not found", o->node);
    return -1;
  }
  if (rs_sw_record_from_node(s->node, &s->rec, err) < 0) return -1;
  const char *raw = node_runtime_raw(s->node);
  if (!(s->res->runtime_before = rs_strdup0(raw)) && raw) return oom(err);
  _cleanup_free_ char *current = rs_runtime_name(raw);
  bool unsched = json_is_true(json_object_get(json_object_get(s->node, "spec"), "unschedulable"));
  const char *arch = json_string_value(json_object_get(
      json_object_get(json_object_get(s->node, "status"), "nodeInfo"), "architecture"));
  bool in_progress = s->rec.id && !rs_sw_record_final(&s->rec);
  s->resume = -1;

  if (o->op == RS_OP_SWITCH) {
    if (in_progress && s->rec.op == RS_OP_ROLLBACK) {
      rs_fail(err, RS_E_INPUT, 0, "a rollback of run %s is in progress on node %s (phase %s); finish it "
              "with `kubectl runtime-switch rollback node %s`", s->rec.id, o->node, s->rec.phase, o->node);
      return fail_refused(s, err);
    }
    if (in_progress && s->rec.to && strcmp(s->rec.to, o->to) != 0) {
      rs_fail(err, RS_E_INPUT, 0, "a switch of node %s to %s (run %s) is in progress at phase %s; "
              "rerun with --to %s to finish it, or roll it back with `kubectl runtime-switch rollback "
              "node %s`", o->node, s->rec.to, s->rec.id, s->rec.phase, s->rec.to, o->node);
      return fail_refused(s, err);
    }
    if (in_progress) {
      s->resume = rs_sw_record_rank(s->rec.phase);
      s->res->resumed = true;
    } else {
      json_auto_t *nodes = NULL;
      if (list_nodes(s, &nodes, err) < 0) return -1;
      if (rs_sw_check_node(s->node, json_object_get(nodes, "items"), o->to,
                           o->force_single_control_plane, err) < 0)
        return err->kind == RS_E_USAGE ? -1 : fail_refused(s, err);
      if (rs_run_id_new(s->id, err) < 0) return -1;
      struct rs_sw_record fresh = {.op = RS_OP_SWITCH, .cordoned = !unsched,
                                   .started = (long long)time(NULL), .secret = o->use_secret};
      rs_sw_record_clear(&s->rec);
      s->rec = fresh;
      if (!(s->rec.id = strdup(s->id)) || !(s->rec.to = strdup(o->to)) ||
          !(s->rec.ns = strdup(o->ns ? o->ns : RS_DELIVER_DEFAULT_NS)) ||
          (current && !(s->rec.from = strdup(current))))
        return oom(err);
    }
    s->want = o->to;
  } else {
    /* rollback: of the node's last switch, or of --id */
    const char *id = o->id ? o->id : s->rec.id;
    if (!id) {
      rs_fail(err, RS_E_INPUT, 0, "node %s has no record of a switch (annotation %s); pass --id ID "
              "with the run id (a directory under %s on the node)", o->node, RS_ANN_RUN,
              RS_HELPER_STATE_DIR);
      return fail_refused(s, err);
    }
    if (!rs_run_id_valid(id)) return rs_fail(err, RS_E_USAGE, 0, "invalid run id \"%s\"", id);
    bool same = s->rec.id && strcmp(s->rec.id, id) == 0;
    if (s->rec.id && !same) {
      rs_fail(err, RS_E_INPUT, 0, "node %s last ran run %s, not %s: roll back the last run first",
              o->node, s->rec.id, id);
      return fail_refused(s, err);
    }
    if (same && in_progress && s->rec.op == RS_OP_SWITCH) {
      if (rs_sw_record_rank(s->rec.phase) < rs_sw_record_rank(RS_REC_LAUNCHED)) {
        rs_fail(err, RS_E_INPUT, 0, "run %s stopped at phase %s before anything changed on node %s: "
                "nothing to roll back%s", id, s->rec.phase, o->node,
                unsched ? "; the node is cordoned: `kubectl uncordon` it when ready" : "");
        return fail_refused(s, err);
      }
    }
    if (same && !in_progress && s->rec.op == RS_OP_SWITCH && s->rec.phase &&
        strcmp(s->rec.phase, RS_REC_ROLLED_BACK) == 0) {
      rs_fail(err, RS_E_INPUT, 0, "run %s was already rolled back on node %s", id, o->node);
      return fail_refused(s, err);
    }
    if (same && !in_progress && s->rec.op == RS_OP_ROLLBACK && s->rec.phase &&
        strcmp(s->rec.phase, RS_REC_DONE) == 0) {
      rs_fail(err, RS_E_INPUT, 0, "run %s was already rolled back on node %s (now %s)", id, o->node,
              raw ? raw : "?");
      return fail_refused(s, err);
    }
    if (same && in_progress && s->rec.op == RS_OP_ROLLBACK) {
      s->resume = rs_sw_record_rank(s->rec.phase);
      s->res->resumed = true;
    } else {
      /* a new rollback record for the same id: the switch's from/to swap */
      char *from = s->rec.from ? strdup(s->rec.from) : NULL;
      char *to = s->rec.to ? strdup(s->rec.to) : NULL;
      char *ns = strdup(o->ns ? o->ns : s->rec.ns ? s->rec.ns : RS_DELIVER_DEFAULT_NS);
      char *nid = strdup(id);
      rs_sw_record_clear(&s->rec);
      s->rec = (struct rs_sw_record){.op = RS_OP_ROLLBACK, .id = nid, .from = to, .to = from,
                                     .ns = ns, .cordoned = !unsched, .started = (long long)time(NULL),
                                     .secret = o->use_secret};
      if (!nid || !ns) return oom(err);
    }
    /* without a record (--id alone) the helper's report says where the
     * node goes back to */
    s->want = s->rec.to;
  }
  snprintf(s->id, sizeof s->id, "%s", s->rec.id);
  if (!(s->res->id = strdup(s->rec.id))) return oom(err);
  if (!(s->res->to = rs_strdup0(s->want)) && s->want) return oom(err);
  if (!(s->res->from = rs_strdup0(s->rec.from)) && s->rec.from) return oom(err);
  s->res->cordoned_by_us = s->rec.cordoned;
  s->blob = rs_helper_blob_for(arch);
  if (!s->blob)
    return rs_fail(err, RS_E_INPUT, 0, "node %s is %s: this build of the plugin carries no helper for it",
                   o->node, arch ? arch : "of an unknown architecture");
  json_t *data = json_pack("{s:s, s:s?, s:s?, s:s, s:b, s:s?}", "id", s->rec.id, "runtime", raw,
                           "architecture", arch, "op", o->op == RS_OP_ROLLBACK ? "rollback" : "switch",
                           "resumed", s->res->resumed, "resumeFrom", s->res->resumed ? s->rec.phase : NULL);
  if (s->res->resumed)
    phase_end(s, RS_PH_CHECK, RS_SW_DONE, data, "node %s runs %s; resuming run %s from phase %s", o->node,
              raw ? raw : "?", s->rec.id, s->rec.phase);
  else
    phase_end(s, RS_PH_CHECK, RS_SW_DONE, data, "node %s runs %s; run %s", o->node, raw ? raw : "?",
              s->rec.id);
  return 0;
}

static int pods_on_node(struct sw *s, json_t **ret, rs_err_t *err) {
  _cleanup_free_ char *sel = rs_strdup_printf("spec.nodeName=%s", s->o->node);
  _cleanup_free_ char *esel = sel ? rs_kube_escape(sel) : NULL;
  _cleanup_free_ char *path = esel ? rs_strdup_printf("/api/v1/pods?fieldSelector=%s", esel) : NULL;
  if (!path) return oom(err);
  return rs_kube_get(s->c, path, ret, err);
}

static int phase_deliver(struct sw *s, rs_err_t *err) {
  phase_begin(s);
  const struct rs_switch_opts *o = s->o;
  if (o->ns && s->rec.ns && strcmp(o->ns, s->rec.ns) != 0 && s->res->resumed)
    emit(s, RS_SW_EV_WARNING, RS_PH_DELIVER, "run %s works in namespace %s; -n %s is ignored", s->id,
         s->rec.ns, o->ns);
  s->spec = (struct rs_deliver_spec){.ns = s->rec.ns, .node = o->node, .id = s->rec.id, .to = s->want,
                                     .use_secret = s->rec.secret, .priority = true,
                                     .no_images = o->no_images, .helper_deadline_s = o->helper_deadline_s};
  _cleanup_free_ char *warning = NULL;
  if (rs_deliver_check_namespace(s->c, s->spec.ns, &warning, err) < 0)
    return err->kind == RS_E_CONFIG ? fail_refused(s, err) : -1;
  if (warning) emit(s, RS_SW_EV_WARNING, RS_PH_DELIVER, "%s", warning);
  const char *img = o->image ? o->image : s->rec.image;
  if (img) {
    if (!(s->image = strdup(img))) return oom(err);
  } else {
    json_auto_t *pods = NULL;
    if (pods_on_node(s, &pods, err) < 0) return rs_wrap(err, "listing the pods of node %s", o->node);
    if (rs_deliver_pick_image(json_object_get(pods, "items"), &s->image, err) < 0)
      return rs_wrap(err, "choosing an image for the helper's pods on node %s", o->node);
  }
  s->spec.image = s->image;
  if (!s->rec.image && !(s->rec.image = strdup(s->image))) return oom(err);
  _cleanup_free_ char *note = NULL;
  if (rs_deliver_probe(s->c, &s->spec, &note, err) < 0)
    return err->kind == RS_E_CONFIG ? fail_refused(s, err) : -1;
  if (note) emit(s, RS_SW_EV_WARNING, RS_PH_DELIVER, "%s", note);
  if (s->resume < 0 && record_save(s, RS_REC_STARTED, err) < 0) return -1;
  if (rs_deliver_put_carrier(s->c, &s->spec, s->blob, err) < 0) return -1;
  _cleanup_free_ char *cname = rs_deliver_carrier_name(s->id);
  json_t *data = json_pack("{s:s, s:s?, s:s, s:s, s:I, s:s, s:b}", "namespace", s->spec.ns, "carrier",
                           cname, "image", s->image, "architecture", s->blob->arch, "bytes",
                           (json_int_t)s->blob->size, "sha256", s->blob->sha256, "priority",
                           s->spec.priority);
  phase_end(s, RS_PH_DELIVER, RS_SW_DONE, data, "helper %s (%zu bytes, sha256 %.12s) in %s %s/%s; pods use image %s",
            s->blob->arch, s->blob->size, s->blob->sha256, s->spec.use_secret ? "Secret" : "ConfigMap",
            s->spec.ns, cname ? cname : "?", s->image);
  return 0;
}

/* The images the verify pod may use on the new runtime: one the helper
 * carries over (or one the runtime shares with the old one), else the
 * sandbox image, which the new runtime must have to run any pod. */
static int choose_verify_images(struct sw *s, rs_err_t *err) {
  const json_t *plan = s->res->plan;
  const char *sandbox = json_string_value(json_object_get(plan, "sandbox_image"));
  bool carried = false;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(json_object_get(plan, "images"), "carry"), i, v) {
    const char *r = json_string_value(v);
    if (r && strcmp(r, s->image) == 0) carried = true;
  }
  const char *first = s->o->image ? s->o->image : carried || !sandbox ? s->image : sandbox;
  const char *second = strcmp(first, s->image) == 0 ? sandbox : s->image;
  free(s->verify_image);
  free(s->alt_image);
  s->verify_image = strdup(first);
  s->alt_image = second && strcmp(second, first) != 0 ? strdup(second) : NULL;
  return s->verify_image ? 0 : oom(err);
}

static int phase_preflight(struct sw *s, rs_err_t *err) {
  phase_begin(s);
  if (s->resume >= rs_sw_record_rank(RS_REC_LAUNCHED)) {
    phase_end(s, RS_PH_PREFLIGHT, RS_SW_RESUMED, NULL, "the switch was launched already");
    return 0;
  }
  if (rs_deliver_put_job(s->c, &s->spec, RS_JOB_PREFLIGHT, NULL, err) < 0) return -1;
  json_auto_t *pod = NULL;
  long long to = s->o->pod_start_timeout_ms ? s->o->pod_start_timeout_ms : DEFAULT_POD_START_MS;
  if (wait_pod(s, RS_PH_PREFLIGHT, RS_JOB_PREFLIGHT, true, to, &pod, err) < 0)
    return rs_wrap(err, "preflight on node %s", s->o->node);
  struct rs_pod_view v;
  rs_pod_view(pod, &v);
  _cleanup_free_ char *log = NULL;
  size_t len = 0;
  if (pod_log(s, v.name, &log, &len, err) < 0) return -1;
  json_t *plan = rs_helper_json_from_log(log, len);
  if (!plan) {
    return rs_fail(err, RS_E_NODE, v.exit_code, "preflight on node %s exited %d without a plan: %s",
                   s->o->node, v.exit_code, len ? log : "(no output)");
  }
  json_decref(s->res->plan);
  s->res->plan = plan;
  const char *from = json_string_value(json_object_get(plan, RS_JSON_FROM));
  const char *eb = json_string_value(json_object_get(json_object_get(plan, "kubelet"), "endpoint_before"));
  if (from) {
    free(s->rec.from);
    if (!(s->rec.from = strdup(from))) return oom(err);
    free(s->res->from);
    if (!(s->res->from = strdup(from))) return oom(err);
  }
  free(s->endpoint_before);
  s->endpoint_before = rs_strdup0(eb);
  if (v.exit_code == RS_HX_BLOCKED || json_is_false(json_object_get(plan, RS_JSON_OK))) {
    _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(1 << 16);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(plan, RS_JSON_BLOCKERS), i, x)
      rs_buf_printf(&b, NULL, "\n  - %s", json_string_value(x) ? json_string_value(x) : "?");
    phase_end(s, RS_PH_PREFLIGHT, RS_SW_FAILED, json_incref(plan), "blocked");
    rs_fail(err, RS_E_INPUT, RS_HX_BLOCKED, "preflight on node %s found what blocks the switch to %s:%s",
            s->o->node, s->want, b.data ? b.data : " (no reason given)");
    return fail_refused(s, err);
  }
  if (v.exit_code != RS_HX_OK)
    return rs_fail(err, RS_E_NODE, v.exit_code, "preflight on node %s failed (exit %d): %s", s->o->node,
                   v.exit_code, log);
  phase_end(s, RS_PH_PREFLIGHT, RS_SW_DONE, NULL, "node %s can switch from %s to %s", s->o->node,
            from ? from : "?", s->want);
  return 0;
}

/* Copies of what would be created, for --dry-run (the helper's bytes are
 * replaced by a note: 150 kB of base64 helps no one). */
static int build_manifests(struct sw *s, rs_err_t *err) {
  json_auto_t *arr = json_array();
  json_t *carrier = rs_deliver_carrier(&s->spec, s->blob, err);
  if (!arr || !carrier) {
    json_decref(carrier);
    return arr ? -1 : oom(err);
  }
  json_t *data = json_object_get(carrier, s->spec.use_secret ? "data" : "binaryData");
  _cleanup_free_ char *note = rs_strdup_printf("<%zu bytes of rs-node-helper for %s, base64; sha256 %s>",
                                               s->blob->size, s->blob->arch, s->blob->sha256);
  if (!note) {
    json_decref(carrier);
    return oom(err);
  }
  json_object_set_new(data, RS_DELIVER_FILE, json_string(note));
  json_array_append_new(arr, carrier);
  struct rs_deliver_spec vs = s->spec;
  vs.image = s->verify_image;
  vs.wait_s = 900;
  static const int roles[] = {RS_JOB_PREFLIGHT, RS_JOB_SWITCH, RS_JOB_VERIFY};
  for (size_t i = 0; i < RS_ARRAY_SIZE(roles); i++) {
    json_t *job = rs_deliver_job(roles[i] == RS_JOB_VERIFY ? &vs : &s->spec, roles[i], err);
    if (!job) return -1;
    json_array_append_new(arr, job);
  }
  json_decref(s->res->manifests);
  s->res->manifests = TAKE_PTR(arr);
  return 0;
}

static int cleanup_objects(struct sw *s, int phase, bool wait, rs_err_t *err) {
  int n = 0;
  if (rs_deliver_cleanup(s->c, s->spec.ns, s->id, &n, err) < 0) return -1;
  if (!wait) return 0;
  /* The Jobs' pods go with them (background deletion): wait a little so
   * that nothing of ours is left when we say we are done. */
  _cleanup_free_ char *sel = rs_strdup_printf("%s=%s", RS_LABEL_ID, s->id);
  _cleanup_free_ char *esel = sel ? rs_kube_escape(sel) : NULL;
  _cleanup_free_ char *ens = rs_kube_escape(s->spec.ns);
  _cleanup_free_ char *path = esel && ens ? rs_strdup_printf("/api/v1/namespaces/%s/pods?labelSelector=%s",
                                                             ens, esel) : NULL;
  if (!path) return oom(err);
  for (int i = 0; i < 60; i++) {
    json_auto_t *list = NULL;
    if (rs_kube_get(s->c, path, &list, err) < 0) return -1;
    if (json_array_size(json_object_get(list, "items")) == 0) return 0;
    if (nap(500, err) < 0) return -1;
  }
  emit(s, RS_SW_EV_WARNING, phase, "pods of run %s are still terminating in namespace %s", s->id, s->spec.ns);
  return 0;
}

static int phase_plan(struct sw *s, rs_err_t *err) {
  phase_begin(s);
  if (!s->res->plan) {
    phase_end(s, RS_PH_PLAN, RS_SW_RESUMED, NULL, "the plan was shown before");
    return 0;
  }
  if (choose_verify_images(s, err) < 0) return -1;
  if (!s->o->dry_run) {
    phase_end(s, RS_PH_PLAN, RS_SW_DONE, json_incref(s->res->plan), NULL);
    return 0;
  }
  if (build_manifests(s, err) < 0) return -1;
  if (cleanup_objects(s, RS_PH_PLAN, false, err) < 0) return -1;
  s->res->outcome = RS_SW_DRY_RUN;
  phase_end(s, RS_PH_PLAN, RS_SW_STOPPED, json_incref(s->res->plan), "dry run: nothing was changed");
  return 0;
}

static int phase_confirm(struct sw *s, rs_err_t *err) {
  phase_begin(s);
  if (s->resume >= rs_sw_record_rank(RS_REC_CORDONED)) {
    phase_end(s, RS_PH_CONFIRM, RS_SW_RESUMED, NULL, "confirmed before");
    return 0;
  }
  if (s->o->yes) {
    phase_end(s, RS_PH_CONFIRM, RS_SW_SKIPPED, NULL, "--yes");
    return 0;
  }
  bool yes = false;
  _cleanup_free_ char *q = s->o->op == RS_OP_ROLLBACK
      ? rs_strdup_printf("Roll node %s back to %s (run %s)? It will be cordoned and drained.", s->o->node,
                         s->want ? s->want : "its runtime before", s->id)
      : rs_strdup_printf("Switch node %s to %s? It will be cordoned and drained.", s->o->node, s->want);
  if (!q) return oom(err);
  if (!s->o->confirm) {
    rs_fail(err, RS_E_INPUT, 0, "not confirmed: pass --yes (the standard input is not a terminal)");
  } else if (s->o->confirm(s->o->ud, q, s->res->plan, &yes, err) < 0) {
    return -1;
  } else if (!yes) {
    rs_fail(err, RS_E_INPUT, 0, "not confirmed: nothing was changed");
  }
  if (yes) {
    phase_end(s, RS_PH_CONFIRM, RS_SW_DONE, NULL, "confirmed");
    return 0;
  }
  rs_err_t e = RS_ERR_INIT;
  if (cleanup_objects(s, RS_PH_CONFIRM, false, &e) == 0) record_save(s, RS_REC_ABANDONED, &e);
  rs_err_clear(&e);
  phase_end(s, RS_PH_CONFIRM, RS_SW_FAILED, NULL, "not confirmed");
  return fail_refused(s, err);
}

static struct rs_drain_opts drain_opts(struct sw *s) {
  struct rs_drain_opts d = s->o->drain;
  d.ignore_daemonsets = true;
  d.dry_run = RS_DRY_RUN_NONE;
  d.on_event = forward_drain;
  d.ud = s;
  return d;
}

static int phase_cordon(struct sw *s, rs_err_t *err) {
  phase_begin(s);
  struct rs_drain_opts d = drain_opts(s);
  if (rs_drain_cordon(s->c, s->o->node, true, &d, err) < 0) return -1;
  if (s->resume < rs_sw_record_rank(RS_REC_CORDONED) && record_save(s, RS_REC_CORDONED, err) < 0) return -1;
  phase_end(s, RS_PH_CORDON, s->rec.cordoned ? RS_SW_DONE : RS_SW_SKIPPED, NULL,
            s->rec.cordoned ? "node %s cordoned" : "node %s was cordoned already (it stays so afterwards)",
            s->o->node);
  return 0;
}

static int phase_drain(struct sw *s, rs_err_t *err) {
  phase_begin(s);
  struct rs_drain_opts d = drain_opts(s);
  struct rs_drain_report rep = {0};
  int r = rs_drain_pods(s->c, s->o->node, &d, &rep, err);
  size_t evicted = 0;
  for (size_t i = 0; i < rep.npods; i++)
    if (rep.pods[i].state == RS_DRAIN_POD_GONE) evicted++;
  if (r < 0 && rep.errors && rep.errors[0] && err->kind != RS_E_INTERRUPTED) {
    /* kubectl's grouped reasons, one per line */
    _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(1 << 16);
    for (size_t i = 0; rep.errors[i]; i++) rs_buf_printf(&b, NULL, "%s%s", i ? "\n" : "", rep.errors[i]);
    if (b.data) rs_fail(err, err->kind, err->code, "%s", b.data);
  }
  rs_drain_report_clear(&rep);
  if (r < 0) {
    if (err->kind == RS_E_INTERRUPTED) return -1;
    s->res->outcome = RS_SW_DRAIN_FAILED;
    free(s->res->hint);
    s->res->hint = rs_strdup_printf("node %s stays cordoned and still runs %s; fix what blocks the drain "
                                    "and rerun the same command, or `kubectl uncordon %s`", s->o->node,
                                    s->res->runtime_before ? s->res->runtime_before : "its runtime",
                                    s->o->node);
    phase_end(s, RS_PH_DRAIN, RS_SW_FAILED, NULL, "%s", err->msg ? err->msg : "drain failed");
    return rs_wrap(err, "draining node %s", s->o->node);
  }
  if (s->resume < rs_sw_record_rank(RS_REC_DRAINED) && record_save(s, RS_REC_DRAINED, err) < 0) return -1;
  phase_end(s, RS_PH_DRAIN, RS_SW_DONE, json_pack("{s:I}", "evicted", (json_int_t)evicted),
            "node %s drained (%zu pods evicted)", s->o->node, evicted);
  return 0;
}

/* The plan printed by `launch` (when preflight was skipped on a resume). */
static void plan_from_log(struct sw *s, const char *log) {
  if (s->res->plan || !log) return;
  json_t *p = rs_helper_json_from_log(log, strlen(log));
  if (p && json_object_get(p, RS_JSON_STEPS)) s->res->plan = p;
  else json_decref(p);
}

/* Nothing changed on the node: give it back as it was. */
static int abort_unchanged(struct sw *s, int phase, rs_err_t *err) {
  rs_err_t e = RS_ERR_INIT;
  if (s->rec.cordoned && rs_node_set_unschedulable(s->c, s->o->node, false, NULL, &e) == 0)
    emit(s, RS_SW_EV_INFO, phase, "node/%s uncordoned (nothing was changed on it)", s->o->node);
  rs_err_clear(&e);
  if (cleanup_objects(s, phase, false, &e) == 0) record_save(s, RS_REC_FAILED, &e);
  rs_err_clear(&e);
  s->res->outcome = RS_SW_REFUSED;
  return -1;
  (void)err;
}

/* launch (or rollback): the Job whose pod starts the helper's work on the
 * node; its log is streamed while the pod lives. */
static int phase_launch(struct sw *s, rs_err_t *err) {
  bool rb = s->o->op == RS_OP_ROLLBACK;
  int phase = rb ? RS_PH_ROLLBACK : RS_PH_LAUNCH;
  int role = rb ? RS_JOB_ROLLBACK : RS_JOB_SWITCH;
  phase_begin(s);
  _cleanup_free_ char *job = rs_deliver_job_name(s->id, role);
  if (!job) return oom(err);
  if (s->resume >= rs_sw_record_rank(RS_REC_LAUNCHED)) {
    json_auto_t *old = NULL;
    rs_err_t e = RS_ERR_INIT;
    if (!rb && !s->res->plan && rs_deliver_job_pod(s->c, s->spec.ns, job, &old, &e) == 0 && old) {
      struct rs_pod_view v;
      rs_pod_view(old, &v);
      _cleanup_free_ char *log = NULL;
      size_t len = 0;
      if (v.name && pod_log(s, v.name, &log, &len, &e) == 0) plan_from_log(s, log);
    }
    rs_err_clear(&e);
    phase_end(s, phase, RS_SW_RESUMED, NULL, "launched before");
    return 0;
  }
  struct rs_deliver_spec spec = s->spec;
  spec.reason = "requested with kubectl runtime-switch rollback";
  if (rs_deliver_put_job(s->c, &spec, role, NULL, err) < 0) return -1;
  if (record_save(s, RS_REC_LAUNCHED, err) < 0) return -1;
  json_auto_t *pod = NULL;
  long long to = s->o->pod_start_timeout_ms ? s->o->pod_start_timeout_ms : DEFAULT_POD_START_MS;
  if (wait_pod(s, phase, role, false, to, &pod, err) < 0)
    return rs_wrap(err, "%s on node %s", rs_sw_phase_name(phase), s->o->node);
  struct rs_pod_view v;
  rs_pod_view(pod, &v);
  _cleanup_free_ char *pod_name = strdup(v.name ? v.name : "");
  _cleanup_free_ char *log = NULL;
  if (!pod_name) return oom(err);
  if (v.state == RS_POD_EXITED) {
    size_t len = 0;
    if (pod_log(s, pod_name, &log, &len, err) < 0) return -1;
    for (char *l = log, *nl; l && *l; l = nl ? nl + 1 : NULL) {
      nl = strchr(l, '\n');
      if (*l != '{') emit(s, RS_SW_EV_HELPER, phase, "%.*s", (int)(nl ? nl - l : (long)strlen(l)), l);
      if (!nl) break;
    }
  } else if (follow_log(s, phase, pod_name, &log, err) < 0) {
    return -1;
  }
  plan_from_log(s, log);
  /* What became of the pod: it exited, or its runtime went away under it
   * (then the API still shows it running, its kubelet being down). */
  json_auto_t *after = NULL;
  if (rs_deliver_job_pod(s->c, s->spec.ns, job, &after, err) < 0) return -1;
  rs_pod_view(after ? after : pod, &v);
  if (v.state == RS_POD_EXITED && v.exit_code == RS_HX_BLOCKED) {
    phase_end(s, phase, RS_SW_FAILED, NULL, "the helper found blockers; nothing was changed");
    rs_fail(err, RS_E_INPUT, RS_HX_BLOCKED, "the helper on node %s refused to start: %s", s->o->node,
            log && *log ? log : "(no output)");
    return abort_unchanged(s, phase, err);
  }
  if (v.state == RS_POD_EXITED && v.exit_code == RS_HX_NOT_FOUND) {
    phase_end(s, phase, RS_SW_FAILED, NULL, "no run %s on the node", s->id);
    rs_fail(err, RS_E_INPUT, RS_HX_NOT_FOUND, "node %s has no run %s to roll back (%s)", s->o->node, s->id,
            RS_HELPER_STATE_DIR);
    return abort_unchanged(s, phase, err);
  }
  if (v.state == RS_POD_EXITED && rb && v.exit_code == RS_HX_FAILED && log && strstr(log, "still running")) {
    phase_end(s, phase, RS_SW_FAILED, NULL, "the switch is still running on the node");
    s->res->outcome = RS_SW_REFUSED;
    return rs_fail(err, RS_E_INPUT, 0, "the switch of run %s is still running on node %s; follow it with "
                   "`kubectl runtime-switch node %s --to %s`", s->id, s->o->node, s->o->node,
                   s->rec.from ? s->rec.from : "RUNTIME");
  }
  json_t *data = json_pack("{s:s, s:s}", "pod", pod_name, "state",
                           v.state == RS_POD_EXITED ? "exited" : "running");
  if (data && v.state == RS_POD_EXITED) json_object_set_new(data, "exitCode", json_integer(v.exit_code));
  if (v.state == RS_POD_EXITED)
    phase_end(s, phase, RS_SW_DONE, data, "helper %s (exit %d); it goes on as a host unit on node %s",
              rb ? "rollback ran" : "launched", v.exit_code, s->o->node);
  else
    phase_end(s, phase, RS_SW_DONE, data, "the helper's pod went away with the old runtime; the switch goes "
              "on as a host unit on node %s", s->o->node);
  return 0;
}

/* ---- following the node ---- */

struct follow {
  struct sw *s;
  int phase;
  char *last;            /* last state shown */
  bool want_verify;      /* stop when the verify pod exited */
  const char *until_rt;  /* or: stop when the node is Ready on this runtime */
  json_t *verify_pod;    /* the verify pod, exited */
  long long next_note;
  bool switched_image;
};

static int on_node(void *ud, const char *type, json_t *obj, rs_err_t *err) {
  struct follow *f = ud;
  struct sw *s = f->s;
  if (strcmp(type, "BOOKMARK") == 0 || strcmp(type, "DELETED") == 0) return 0;
  json_decref(s->node);
  s->node = json_incref(obj);
  bool ready = rs_sw_node_ready(obj);
  const char *raw = node_runtime_raw(obj);
  long long now = wall_ms();
  if (!ready && s->t_notready_wall < 0) s->t_notready_wall = now;
  if (ready && rs_sw_runtime_is(obj, s->want) && s->t_ready_wall < 0) s->t_ready_wall = now;
  _cleanup_free_ char *state = rs_strdup_printf("%s, %s", ready ? "Ready" : "NotReady", raw ? raw : "?");
  if (state && (!f->last || strcmp(state, f->last) != 0)) {
    emit(s, RS_SW_EV_INFO, f->phase, "node/%s %s", s->o->node, state);
    free(f->last);
    f->last = TAKE_PTR(state);
  }
  return 0;
}

static int on_node_gone(void *ud, char **ret_rv, rs_err_t *err) {
  struct follow *f = ud;
  if (reload_node(f->s, err) < 0) return -1;
  const char *rv = json_string_value(json_object_get(json_object_get(f->s->node, "metadata"), "resourceVersion"));
  *ret_rv = rv ? strdup(rv) : NULL;
  return *ret_rv ? 0 : oom(err);
}

static bool image_problem(const char *why) {
  return why && (strstr(why, "ErrImageNeverPull") || strstr(why, "not present") ||
                 strstr(why, "ErrImagePull") || strstr(why, "ImagePullBackOff") || strstr(why, "pull"));
}

static int put_verify_job(struct sw *s, rs_err_t *err) {
  struct rs_deliver_spec vs = s->spec;
  vs.image = s->verify_image ? s->verify_image : s->image;
  long long to = s->o->node_timeout_ms ? s->o->node_timeout_ms : DEFAULT_NODE_TIMEOUT_MS;
  vs.wait_s = (long)(to / 1000);
  return rs_deliver_put_job(s->c, &vs, RS_JOB_VERIFY, NULL, err);
}

/* The verify pod cannot start because its image is not on the new
 * runtime: try the other candidate once. */
static int verify_other_image(struct sw *s, struct follow *f, const char *why, rs_err_t *err) {
  if (f->switched_image || !s->alt_image)
    return rs_fail(err, RS_E_NODE, 0, "the verify pod cannot start on node %s: %s; pass --image with an "
                   "image the new runtime has", s->o->node, why);
  f->switched_image = true;
  emit(s, RS_SW_EV_WARNING, f->phase, "image %s is not on the new runtime (%s); verifying with %s",
       s->verify_image ? s->verify_image : "?", why, s->alt_image);
  free(s->verify_image);
  s->verify_image = TAKE_PTR(s->alt_image);
  _cleanup_free_ char *job = rs_deliver_job_name(s->id, RS_JOB_VERIFY);
  if (!job) return oom(err);
  if (rs_deliver_delete_job(s->c, s->spec.ns, job, err) < 0) return -1;
  for (int i = 0; i < 120; i++) {
    bool existed = true;
    struct rs_deliver_spec vs = s->spec;
    vs.image = s->verify_image;
    long long to = s->o->node_timeout_ms ? s->o->node_timeout_ms : DEFAULT_NODE_TIMEOUT_MS;
    vs.wait_s = (long)(to / 1000);
    if (rs_deliver_put_job(s->c, &vs, RS_JOB_VERIFY, &existed, err) < 0) return -1;
    if (!existed) return 0;
    if (nap(500, err) < 0) return -1;
  }
  return rs_fail(err, RS_E_TIMEOUT, 0, "Job %s/%s was not deleted in time", s->spec.ns, job);
}

static int on_tick(void *ud, rs_err_t *err) {
  struct follow *f = ud;
  struct sw *s = f->s;
  if (f->until_rt && s->node && rs_sw_node_ready(s->node) && rs_sw_runtime_is(s->node, f->until_rt)) return 1;
  if (f->want_verify) {
    _cleanup_free_ char *job = rs_deliver_job_name(s->id, RS_JOB_VERIFY);
    if (!job) return oom(err);
    json_auto_t *pod = NULL;
    if (rs_deliver_job_pod(s->c, s->spec.ns, job, &pod, err) < 0) return -1;
    struct rs_pod_view v = {0};
    if (pod) rs_pod_view(pod, &v);
    if (pod && v.state == RS_POD_EXITED && v.exit_code != RS_HX_RUNNING) {
      f->verify_pod = TAKE_PTR(pod);
      return 1;
    }
    if (pod && v.state == RS_POD_BLOCKED && image_problem(v.why))
      return verify_other_image(s, f, v.why, err) < 0 ? -1 : 0;
  }
  if (rs_now_ms() >= f->next_note) {
    if (f->next_note)
      emit(s, RS_SW_EV_INFO, f->phase, "waiting for node %s%s (%s)", s->o->node,
           f->want_verify ? " and the helper's report" : " to be Ready", f->last ? f->last : "?");
    f->next_note = rs_now_ms() + 30000;
  }
  return 0;
}

static int follow_node(struct sw *s, struct follow *f, long long timeout_ms, rs_err_t *err) {
  _cleanup_free_ char *fs = rs_strdup_printf("metadata.name=%s", s->o->node);
  if (!fs) return oom(err);
  struct rs_kube_watch_opts wo = {.field_selector = fs, .timeout_seconds = 60, .on_event = on_node,
                                  .on_gone = on_node_gone, .ud = f};
  if (rs_kube_watch_start(s->c, "/api/v1/nodes", &wo, err) < 0) return -1;
  struct rs_kube_run_opts ro = {.tick = on_tick, .tick_ud = f, .tick_ms = 1000, .until_stopped = true,
                                .deadline_ms = rs_now_ms() + timeout_ms};
  int r = rs_kube_run(s->c, &ro, err);
  rs_kube_cancel_all(s->c);
  if (r < 0 && err->kind == RS_E_TIMEOUT)
    rs_fail(err, RS_E_TIMEOUT, 0, "node %s did not come back %s within %lld s (last seen: %s)", s->o->node,
            f->until_rt ? f->until_rt : "and report", timeout_ms / 1000, f->last ? f->last : "nothing");
  return r;
}

static long long node_timeout(const struct sw *s) {
  return s->o->node_timeout_ms ? s->o->node_timeout_ms : DEFAULT_NODE_TIMEOUT_MS;
}

/* Wait until the helper's report is in (the verify pod ran on whatever
 * runtime the node came back on) and the node is Ready on the runtime the
 * report implies. */
static int phase_restart(struct sw *s, json_t **ret_verify_pod, rs_err_t *err) {
  phase_begin(s);
  struct follow f = {.s = s, .phase = RS_PH_RESTART};
  long long deadline = rs_now_ms() + node_timeout(s);
  int r;
  if (s->resume >= rs_sw_record_rank(RS_REC_SWITCHED)) {
    phase_end(s, RS_PH_RESTART, RS_SW_RESUMED, NULL, "node %s was switched before", s->o->node);
    return 0;
  }
  if (!s->verify_image && !(s->verify_image = strdup(s->o->image ? s->o->image : s->image))) return oom(err);
  if (s->o->op == RS_OP_ROLLBACK) {
    /* the report is final only once the rollback ran: wait for the node
     * on the old runtime first */
    f.until_rt = s->want;
    r = s->want ? follow_node(s, &f, deadline - rs_now_ms(), err) : 0;
    if (r == 0) {
      f.until_rt = NULL;
      f.want_verify = true;
      r = put_verify_job(s, err);
      if (r == 0) r = follow_node(s, &f, deadline - rs_now_ms(), err);
    }
  } else {
    r = put_verify_job(s, err);
    f.want_verify = true;
    if (r == 0) r = follow_node(s, &f, deadline - rs_now_ms(), err);
  }
  free(f.last);
  f.last = NULL;
  if (r < 0) {
    json_decref(f.verify_pod);
    if (err->kind != RS_E_INTERRUPTED) {
      s->res->outcome = RS_SW_NEEDS_HUMAN;
      phase_end(s, RS_PH_RESTART, RS_SW_FAILED, NULL, "%s", err->msg ? err->msg : "failed");
    }
    return -1;
  }
  *ret_verify_pod = f.verify_pod;
  struct rs_pod_view v;
  rs_pod_view(f.verify_pod, &v);
  phase_end(s, RS_PH_RESTART, RS_SW_DONE, json_pack("{s:s?, s:s?}", "pod", v.name, "podRuntime", v.runtime),
            "the helper's report is in (pod %s on %s)", v.name ? v.name : "?", v.runtime ? v.runtime : "?");
  return 0;
}

/* Wait (bounded) for the node to be Ready on runtime rt. */
static int wait_ready_on(struct sw *s, int phase, const char *rt, rs_err_t *err) {
  if (reload_node(s, err) < 0) return -1;
  if (rs_sw_node_ready(s->node) && rs_sw_runtime_is(s->node, rt)) {
    if (strcmp(rt, s->want) == 0 && s->t_ready_wall < 0) s->t_ready_wall = wall_ms();
    return 0;
  }
  struct follow f = {.s = s, .phase = phase, .until_rt = rt};
  int r = follow_node(s, &f, node_timeout(s), err);
  free(f.last);
  return r;
}

static void windows(struct sw *s) {
  const json_t *rep = s->res->report;
  long long stop = rs_sw_journal_time(rep, "begin", "stop-kubelet");
  if (stop < 0) stop = rs_sw_journal_time(rep, "begin", "rb-stop-kubelet");
  long long up = rs_sw_journal_time(rep, "done", "wait-kubelet");
  if (up < 0) up = rs_sw_journal_time(rep, "done", "rb-start-kubelet");
  s->res->kubelet_down_ms = stop >= 0 && up >= stop ? (up - stop) * 1000 : -1;
  s->res->notready_ms = stop >= 0 && s->t_ready_wall >= stop * 1000 ? s->t_ready_wall - stop * 1000 : -1;
  s->res->api_notready_ms = s->t_notready_wall >= 0 && s->t_ready_wall >= s->t_notready_wall
                                ? s->t_ready_wall - s->t_notready_wall : -1;
}

static int phase_verify(struct sw *s, json_t *verify_pod, rs_err_t *err) {
  phase_begin(s);
  bool rb = s->o->op == RS_OP_ROLLBACK;
  if (s->resume >= rs_sw_record_rank(RS_REC_SWITCHED)) {
    if (reload_node(s, err) < 0) return -1;
    phase_end(s, RS_PH_VERIFY, RS_SW_RESUMED, NULL, "verified before");
    return 0;
  }
  struct rs_pod_view v;
  rs_pod_view(verify_pod, &v);
  _cleanup_free_ char *log = NULL;
  size_t len = 0;
  if (pod_log(s, v.name, &log, &len, err) < 0) return -1;
  json_t *rep = rs_helper_json_from_log(log, len);
  if (!rep) {
    s->res->outcome = RS_SW_NEEDS_HUMAN;
    return rs_fail(err, RS_E_NODE, v.exit_code, "the verify pod on node %s printed no report (exit %d): %s",
                   s->o->node, v.exit_code, len ? log : "(no output)");
  }
  json_decref(s->res->report);
  s->res->report = rep;
  const char *state = json_string_value(json_object_get(rep, RS_JSON_STATE));
  const char *reason = json_string_value(json_object_get(rep, RS_JSON_REASON));
  if (reason && !(s->res->reason = strdup(reason))) return oom(err);
  if (!state) state = "?";
  const char *ok_state = rb ? RS_STATE_ROLLED_BACK : RS_STATE_DONE;
  if (strcmp(state, ok_state) == 0 && !s->want) {
    const char *from = json_string_value(json_object_get(rep, RS_JSON_FROM));
    if (!from || !rs_sw_endpoint_for(from)) {
      s->res->outcome = RS_SW_NEEDS_HUMAN;
      return rs_fail(err, RS_E_NODE, 0, "the helper's report does not say which runtime node %s ran before",
                     s->o->node);
    }
    if (!(s->want_buf = strdup(from))) return oom(err);
    s->want = s->want_buf;
    free(s->res->to);
    if (!(s->res->to = strdup(from))) return oom(err);
  }
  if (strcmp(state, ok_state) == 0) {
    if (wait_ready_on(s, RS_PH_VERIFY, s->want, err) < 0) {
      s->res->outcome = RS_SW_NEEDS_HUMAN;
      return -1;
    }
    const char *want_pod_rt = strcmp(s->want, RS_RUNTIME_CRI_DOCKERD) == 0 ? "docker" : s->want;
    if (!v.runtime || strcmp(v.runtime, want_pod_rt) != 0) {
      s->res->outcome = RS_SW_NEEDS_HUMAN;
      return rs_fail(err, RS_E_NODE, 0, "the helper reports %s, but its verify pod ran on %s, not %s",
                     state, v.runtime ? v.runtime : "an unknown runtime", want_pod_rt);
    }
    free(s->res->runtime_after);
    s->res->runtime_after = rs_strdup0(node_runtime_raw(s->node));
    windows(s);
    if (record_save(s, RS_REC_SWITCHED, err) < 0) return -1;
    phase_end(s, RS_PH_VERIFY, RS_SW_DONE,
              json_pack("{s:s?, s:s?, s:O}", "runtime", s->res->runtime_after, "podRuntime", v.runtime,
                        "report", rep),
              "node %s is Ready on %s; a container ran there (pod %s)", s->o->node,
              s->res->runtime_after ? s->res->runtime_after : "?", v.name ? v.name : "?");
    return 0;
  }
  /* The switch failed.  A rolled-back node comes back on its old runtime. */
  bool rolled = !rb && strcmp(state, RS_STATE_ROLLED_BACK) == 0;
  const char *old = s->rec.from;
  if (rolled && old) {
    rs_err_t e = RS_ERR_INIT;
    if (wait_ready_on(s, RS_PH_VERIFY, old, &e) < 0)
      emit(s, RS_SW_EV_WARNING, RS_PH_VERIFY, "node %s is not Ready on %s yet: %s", s->o->node, old,
           e.msg ? e.msg : "?");
    rs_err_clear(&e);
  }
  free(s->res->runtime_after);
  s->res->runtime_after = rs_strdup0(node_runtime_raw(s->node));
  windows(s);
  s->res->outcome = rolled ? RS_SW_ROLLED_BACK : RS_SW_NEEDS_HUMAN;
  rs_err_t e = RS_ERR_INIT;
  if (cleanup_objects(s, RS_PH_VERIFY, false, &e) == 0)
    record_save(s, rolled ? RS_REC_ROLLED_BACK : RS_REC_FAILED, &e);
  rs_err_clear(&e);
  free(s->res->hint);
  s->res->hint = rolled
      ? rs_strdup_printf("node %s is back on %s and stays cordoned; when the cause is fixed, rerun the "
                         "switch or `kubectl uncordon %s`", s->o->node,
                         s->res->runtime_after ? s->res->runtime_after : old ? old : "its old runtime", s->o->node)
      : rs_strdup_printf("node %s needs a look: see `journalctl -u %s%s` and %s/%s on the node; it stays "
                         "cordoned", s->o->node, RS_HELPER_UNIT_PREFIX, s->id, RS_HELPER_STATE_DIR, s->id);
  phase_end(s, RS_PH_VERIFY, RS_SW_FAILED, json_incref(rep), "helper state %s: %s", state,
            reason ? reason : "no reason given");
  if (rolled)
    return rs_fail(err, RS_E_NODE, RS_HX_ROLLED_BACK, "the switch of node %s to %s failed and was rolled "
                   "back: %s", s->o->node, s->want, reason ? reason : "no reason given");
  return rs_fail(err, RS_E_NODE, v.exit_code, "%s of node %s ended in state %s: %s",
                 rb ? "the rollback" : "the switch", s->o->node, state, reason ? reason : "no reason given");
}

static int phase_annotate(struct sw *s, rs_err_t *err) {
  phase_begin(s);
  const char *cur = json_string_value(json_object_get(
      json_object_get(json_object_get(s->node, "metadata"), "annotations"), RS_ANN_CRI_SOCKET));
  const char *want = rs_sw_endpoint_for(s->want);
  if (!cur) {
    phase_end(s, RS_PH_ANNOTATE, RS_SW_SKIPPED, NULL, "no %s annotation on node %s", RS_ANN_CRI_SOCKET,
              s->o->node);
    return 0;
  }
  if (!want || strcmp(cur, want) == 0) {
    phase_end(s, RS_PH_ANNOTATE, RS_SW_SKIPPED, NULL, "%s is %s already", RS_ANN_CRI_SOCKET, cur);
    return 0;
  }
  if (rs_node_annotate(s->c, s->o->node, RS_ANN_CRI_SOCKET, want, err) < 0)
    return rs_wrap(err, "updating the %s annotation of node %s", RS_ANN_CRI_SOCKET, s->o->node);
  phase_end(s, RS_PH_ANNOTATE, RS_SW_DONE, json_pack("{s:s, s:s}", "before", cur, "after", want),
            "%s: %s -> %s", RS_ANN_CRI_SOCKET, cur, want);
  return 0;
}

static int phase_uncordon(struct sw *s, rs_err_t *err) {
  phase_begin(s);
  if (s->o->no_uncordon || !s->rec.cordoned) {
    free(s->res->hint);
    s->res->hint = rs_strdup_printf("node %s stays cordoned%s: `kubectl uncordon %s` when ready", s->o->node,
                                    s->o->no_uncordon ? " (--no-uncordon)" : " (it was before the switch)",
                                    s->o->node);
    phase_end(s, RS_PH_UNCORDON, RS_SW_SKIPPED, NULL, "node %s stays cordoned", s->o->node);
    return 0;
  }
  struct rs_drain_opts d = drain_opts(s);
  d.on_event = NULL;
  if (rs_drain_cordon(s->c, s->o->node, false, &d, err) < 0) return -1;
  s->res->uncordoned = true;
  phase_end(s, RS_PH_UNCORDON, RS_SW_DONE, NULL, "node/%s uncordoned", s->o->node);
  return 0;
}

static int phase_cleanup(struct sw *s, rs_err_t *err) {
  phase_begin(s);
  if (cleanup_objects(s, RS_PH_CLEANUP, true, err) < 0) return -1;
  if (record_save(s, RS_REC_DONE, err) < 0) return -1;
  phase_end(s, RS_PH_CLEANUP, RS_SW_DONE, NULL, "removed the Jobs and the %s of run %s",
            s->spec.use_secret ? "Secret" : "ConfigMap", s->id);
  return 0;
}

/* ---- the driver ---- */

static int run(struct sw *s, rs_err_t *err) {
  bool rb = s->o->op == RS_OP_ROLLBACK;
  if (phase_check(s, err) < 0 || phase_deliver(s, err) < 0) return -1;
  if (!rb && (phase_preflight(s, err) < 0 || phase_plan(s, err) < 0)) return -1;
  if (s->res->outcome == RS_SW_DRY_RUN) return 0;
  if (rb && s->o->dry_run) {
    if (cleanup_objects(s, RS_PH_PLAN, false, err) < 0) return -1;
    s->res->outcome = RS_SW_DRY_RUN;
    return 0;
  }
  if (phase_confirm(s, err) < 0 || phase_cordon(s, err) < 0 || phase_drain(s, err) < 0 ||
      phase_launch(s, err) < 0)
    return -1;
  json_auto_t *verify_pod = NULL;
  if (phase_restart(s, &verify_pod, err) < 0 || phase_verify(s, verify_pod, err) < 0) return -1;
  if (phase_annotate(s, err) < 0 || phase_uncordon(s, err) < 0 || phase_cleanup(s, err) < 0) return -1;
  s->res->outcome = RS_SW_OK;
  return 0;
}

int rs_switch_run(rs_kube_client_t *c, const struct rs_switch_opts *o, struct rs_switch_result *ret,
                  rs_err_t *err) {
  struct rs_switch_result res = {.outcome = RS_SW_ERROR, .notready_ms = -1, .api_notready_ms = -1,
                                 .kubelet_down_ms = -1};
  for (int i = 0; i < _RS_PH_MAX; i++) res.phase_ms[i] = -1;
  struct sw s = {.c = c, .o = o, .res = &res, .t_notready_wall = -1, .t_ready_wall = -1, .resume = -1};
  long long t0 = rs_now_ms();
  int r;
  if (o->op == RS_OP_SWITCH && !rs_sw_endpoint_for(o->to))
    r = rs_fail(err, RS_E_USAGE, 0, "--to must be containerd, cri-o or cri-dockerd (got \"%s\")",
                o->to ? o->to : "");
  else
    r = run(&s, err);
  res.total_ms = rs_now_ms() - t0;
  if (r < 0 && res.outcome == RS_SW_OK) res.outcome = RS_SW_ERROR;
  if (r < 0 && res.outcome == RS_SW_ERROR && s.rec.id && !o->dry_run && !res.hint) {
    bool interrupted = err->kind == RS_E_INTERRUPTED;
    res.hint = rs_strdup_printf("%s: run %s is recorded on node %s (phase %s); rerun the same command to "
                                "resume", interrupted ? "interrupted" : "stopped", s.rec.id, o->node,
                                s.rec.phase ? s.rec.phase : "none");
  }
  json_decref(s.node);
  rs_sw_record_clear(&s.rec);
  free(s.image);
  free(s.verify_image);
  free(s.alt_image);
  free(s.endpoint_before);
  free(s.want_buf);
  *ret = res;
  return r;
}
