/* The helper's pods: waiting for a Job's pod, reading and following its
 * log, the verify pod's images, and removing the run's objects. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/deliver.h"
#include "ops/nodes.h"
#include "ops/switch.h"
#include "ops/switch_record.h"
#include "switch_int.h"

static bool sw_backoff_limit_is_zero(int role) { return role == RS_JOB_PREFLIGHT || role == RS_JOB_SWITCH; }

/* Wait for the latest pod of a Job to start (until_exit false) or to end.
 * A pod the Job controller cannot create, or that cannot start, fails with
 * the reason; a priority class the namespace refuses is dropped once. */
int sw_wait_pod(struct sw *s, int phase, int role, bool until_exit, long long timeout_ms,
                    json_t **ret_pod, rs_err_t *err) {
  _cleanup_free_ char *job = rs_deliver_job_name(s->rec.id, role);
  if (!job) return rs_oom(err);
  long long start = rs_now_ms(), end = start + timeout_ms;
  bool told = false;
  for (;;) {
    if (s->car.trip != RS_CARRIER_OK) return rs_carrier_trip_error(&s->car, err);
    if (rs_carrier_guard_start(s->c, &s->car, err) < 0) return -1; /* again, if its watch ended */
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
      if (v.state == RS_POD_GONE && sw_backoff_limit_is_zero(role)) {
        return rs_fail(err, RS_E_NODE, 0, "pod %s/%s failed without running: %s", s->spec.ns,
                       v.name ? v.name : "?", v.why ? v.why : "unknown reason");
      }
    } else if (rs_now_ms() - start > 5000) {
      _cleanup_free_ char *why = NULL;
      if (rs_deliver_job_failed_create(s->c, s->spec.ns, job, &why, err) < 0) return -1;
      if (why && s->spec.priority && strstr(why, "riority")) {
        sw_emit(&s->ev, RS_SW_EV_WARNING, phase, "the Job's pods may not use priorityClassName %s here (%s); "
             "creating it again without", RS_DELIVER_PRIORITY, why);
        s->spec.priority = false;
        if (rs_deliver_delete_job(s->c, s->spec.ns, job, err) < 0) return -1;
        for (int i = 0; i < 60; i++) {
          bool existed = true;
          if (sw_put_job(s, &s->spec, role, &existed, err) < 0) return -1;
          if (!existed) break;
          if (sw_nap(s, 1000, err) < 0) return -1;
        }
        start = rs_now_ms();
        continue;
      }
      if (why && rs_now_ms() - start > 15000)
        return rs_fail(err, RS_E_NODE, 0, "the Job %s/%s cannot create its pod: %s", s->spec.ns, job, why);
    }
    if (!told && rs_now_ms() - start > 10000) {
      sw_emit(&s->ev, RS_SW_EV_INFO, phase, "waiting for the pod of Job %s/%s on node %s", s->spec.ns, job,
           s->o->node);
      told = true;
    }
    if (rs_now_ms() > end)
      return rs_fail(err, RS_E_TIMEOUT, 0, "the pod of Job %s/%s did not %s within %lld s", s->spec.ns,
                     job, until_exit ? "finish" : "start", timeout_ms / 1000);
    if (sw_nap(s, 1000, err) < 0) return -1;
  }
}

int sw_pod_log(struct sw *s, const char *pod, char **ret, size_t *ret_len, rs_err_t *err) {
  _cleanup_free_ char *ens = rs_kube_escape(s->spec.ns);
  _cleanup_free_ char *ep = rs_kube_escape(pod);
  _cleanup_free_ char *path = ens && ep ? rs_strdup_printf("/api/v1/namespaces/%s/pods/%s/log?container=%s"
                                                           "&limitBytes=%zu", ens, ep,
                                                           RS_DELIVER_CONTAINER, SW_LOG_MAX)
                                        : NULL;
  if (!path) return rs_oom(err);
  if (rs_kube_get_raw(s->c, path, ret, ret_len, err) < 0) return rs_wrap(err, "reading the log of pod %s", pod);
  return 0;
}

struct stream {
  struct sw_events *ev;
  int phase;
  rs_buf_t log;
};

static int on_log_line(void *ud, const char *line, size_t len, rs_err_t *err) {
  struct stream *st = ud;
  if (!line) return 0;
  if (st->log.len + len + 1 < SW_LOG_MAX) {
    rs_buf_append(&st->log, line, len, NULL);
    rs_buf_puts(&st->log, "\n", NULL);
  }
  if (len && line[0] != '{') sw_emit(st->ev, RS_SW_EV_HELPER, st->phase, "%.*s", (int)len, line);
  return 0;
}

/* Follow a pod's log until it ends (the container exited, or the kubelet
 * or the runtime went away under it).  The stream breaking is not an
 * error here: what happened is read from the pod and the helper after. */
int sw_follow_log(struct sw *s, int phase, const char *pod, char **ret_log, rs_err_t *err) {
  struct stream st = {.ev = &s->ev, .phase = phase, .log = RS_BUF_INIT(SW_LOG_MAX)};
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
  if (r < 0) sw_emit(&s->ev, RS_SW_EV_INFO, phase, "the log stream of pod %s ended: %s", pod, e.msg ? e.msg : "?");
  rs_err_clear(&e);
  *ret_log = rs_buf_steal(&st.log, NULL);
  return 0;
}

long long sw_node_timeout(const struct sw *s) {
  return s->o->node_timeout_ms ? s->o->node_timeout_ms : SW_DEFAULT_NODE_TIMEOUT_MS;
}

/* ---- the guarded start of a Job (ops/carrier.h) ---- */

static int note_job(struct sw *s, const char *uid, rs_err_t *err) {
  if (!s->job_uids && !(s->job_uids = rs_strv_new())) return rs_oom(err);
  return rs_strv_contains(s->job_uids, uid) ? 0 : rs_strv_push(&s->job_uids, uid, err);
}

int sw_put_job(struct sw *s, const struct rs_deliver_spec *spec, int role, bool *ret_existed, rs_err_t *err) {
  static const int phase_of[_RS_JOB_MAX] = {RS_PH_PREFLIGHT, RS_PH_LAUNCH, RS_PH_RESTART, RS_PH_ROLLBACK};
  s->job_phase = role >= 0 && role < _RS_JOB_MAX ? phase_of[role] : RS_PH_CHECK;
  unsigned bit = 1u << role;
  /* live from before its start: a trip while it starts counts it */
  s->live_jobs |= bit;
  _cleanup_free_ char *uid = NULL;
  int started = RS_CARRIER_JOB_NOT_STARTED;
  int r = rs_carrier_start_job(s->c, &s->car, spec, role, &uid, ret_existed, &started, err);
  if (started == RS_CARRIER_JOB_NOT_STARTED) {
    s->live_jobs &= ~bit;
    s->trip_live &= ~bit;
  }
  if (uid && note_job(s, uid, r < 0 ? NULL : err) < 0 && r == 0) return -1;
  return r;
}

int sw_on_job(void *ud, int role, const json_t *job, bool existed, rs_err_t *err) {
  return sw_lock_bind_job(ud, role, job, existed, err);
}

int sw_note_run_jobs(struct sw *s, rs_err_t *err) {
  for (int role = 0; role < _RS_JOB_MAX; role++) {
    _cleanup_free_ char *job = rs_deliver_job_name(s->id, role);
    _cleanup_free_ char *uid = NULL;
    if (!job) return rs_oom(err);
    if (rs_deliver_job_uid(s->c, s->spec.ns, job, &uid, err) < 0) return -1;
    if (uid && note_job(s, uid, err) < 0) return -1;
  }
  return 0;
}

int sw_pod_started(struct sw *s, int role, bool settled, rs_err_t *err) {
  if (rs_carrier_still(s->c, &s->car, err) < 0) return -1;
  if (settled) s->live_jobs &= ~(1u << role);
  return 0;
}

/* The run's pods (label run id) as the API lists them now. */
static int run_pods(struct sw *s, json_t **ret, rs_err_t *err) {
  _cleanup_free_ char *sel = rs_strdup_printf("%s=%s", RS_LABEL_ID, s->id);
  _cleanup_free_ char *esel = sel ? rs_kube_escape(sel) : NULL;
  _cleanup_free_ char *coll = rs_deliver_path("/api/v1", s->spec.ns, "pods", NULL);
  _cleanup_free_ char *path = esel && coll ? rs_strdup_printf("%s?labelSelector=%s", coll, esel) : NULL;
  if (!path) return rs_oom(err);
  return rs_kube_get(s->c, path, ret, err);
}

/* The run's Jobs and their pods, now. */
static void kill_run_jobs(struct sw *s) {
  rs_err_t e = RS_ERR_INIT;
  rs_deliver_kill_run(s->c, s->spec.ns, s->id, &e);
  rs_err_clear(&e);
  s->live_jobs = 0;
}

void sw_on_carrier_trip(void *ud, const struct rs_carrier *car) {
  struct sw *s = ud;
  s->trip_live = s->live_jobs;
  kill_run_jobs(s);
  sw_emit(&s->ev, RS_SW_EV_WARNING, s->job_phase, "%s %s/%s, the helper's carrier, %s: the Jobs of run %s and their pods "
          "were deleted", car->secret ? "Secret" : "ConfigMap", car->ns, car->name,
          car->trip_why ? car->trip_why : "changed", s->id);
}

int sw_carrier_refused(struct sw *s, int phase, bool ran, rs_err_t *err) {
  if (s->car.trip == RS_CARRIER_OK) return -1; /* another error: *err says it */
  /* what tripped, not what failed after it (a Job it deleted: 404) */
  rs_err_clear(err);
  rs_carrier_trip_error(&s->car, err);
  /* a Job created after the guard's own deletion (its request was on the
   * way): none may stay */
  kill_run_jobs(s);
  sw_phase_end(&s->ev, phase, RS_SW_FAILED, NULL, "the helper's carrier failed its check");
  free(s->res->hint);
  s->res->hint = NULL;
  if (s->trip_live) {
    /* a pod of ours was let start after the last good check */
    s->res->outcome = RS_SW_NEEDS_HUMAN;
    s->res->hint = rs_strdup_printf("a pod of run %s was allowed to start before the change was seen: if it "
                                    "started, node %s ran other bytes as root; treat it as compromised (who "
                                    "changed the carrier: the API server's audit log)", s->id, s->o->node);
    return -1;
  }
  if (!ran) return phase == RS_PH_PREFLIGHT ? sw_fail_refused(s, err) : sw_abort_unchanged(s, phase, err);
  /* our helper acted on the node; only the proof is missing: a rerun
   * resumes there */
  s->res->hint = rs_strdup_printf("the %s of node %s (run %s) ran but was not verified: remove the object named "
                                  "above (after looking at it), then rerun the same command",
                                  s->o->op == RS_OP_ROLLBACK ? "rollback" : "switch", s->o->node, s->id);
  return -1;
}

void sw_output_clear(struct sw_output *o) {
  free(o->log);
  json_decref(o->json);
  *o = (struct sw_output){0};
}

static int log_with_tries(struct sw *s, const char *pod, int attempts, char **ret, size_t *ret_len, rs_err_t *err) {
  for (int attempt = 1;; attempt++) {
    rs_err_t le = RS_ERR_INIT;
    if (sw_pod_log(s, pod, ret, ret_len, &le) == 0) return 0;
    if (le.kind == RS_E_INTERRUPTED || attempt >= attempts) {
      rs_err_move(err, &le);
      return -1;
    }
    rs_err_clear(&le);
    if (sw_nap(s, 1000, err) < 0) return -1;
  }
}

int sw_helper_output(struct sw *s, int phase, bool ran, const json_t *pod, int attempts, struct sw_output *ret,
                     rs_err_t *err) {
  rs_pod_view(pod, &ret->v);
  if (log_with_tries(s, ret->v.name, attempts, &ret->log, &ret->len, err) < 0) return -1;
  if (ret->v.exit_code != RS_HX_INTEGRITY) {
    ret->json = rs_helper_json_from_log(ret->log, ret->len);
    return 0;
  }
  return sw_integrity_refused(s, phase, ran, ret->log, err);
}

int sw_integrity_refused(struct sw *s, int phase, bool ran, const char *log, rs_err_t *err) {
  sw_phase_end(&s->ev, phase, RS_SW_FAILED, NULL, "the helper's bytes are not the plugin's");
  rs_fail(err, RS_E_NODE, RS_HX_INTEGRITY, "the helper on node %s refused to act: its own executable is not the "
          "plugin's helper (sha256 %s): %s", s->o->node, s->blob->sha256, log && *log ? log : "(no output)");
  free(s->res->hint);
  s->res->hint = NULL;
  if (!ran) return phase == RS_PH_PREFLIGHT ? sw_fail_refused(s, err) : sw_abort_unchanged(s, phase, err);
  s->res->outcome = RS_SW_NEEDS_HUMAN;
  s->res->hint = rs_strdup_printf("run %s acted on node %s, but the helper that was to report on it carried other "
                                  "bytes: look at the carrier %s/%s and the node before you rerun", s->id,
                                  s->o->node, s->spec.ns, s->car.name ? s->car.name : "?");
  return -1;
}

/* The carrier of this run, released (the last user deletes it). */
static int release_carrier(struct sw *s, rs_err_t *err) {
  if (!s->car.name || !s->car.uid) return 0; /* never acquired */
  return rs_carrier_release(s->c, &s->car, s->id, NULL, err);
}

int sw_cleanup_objects(struct sw *s, int phase, bool wait, rs_err_t *err) {
  int n = 0;
  if (rs_deliver_cleanup(s->c, s->spec.ns, s->id, &n, err) < 0) return -1;
  /* no Job of the run is left to start a pod: the guard may end */
  s->live_jobs = 0;
  rs_carrier_guard_stop(s->c, &s->car);
  if (release_carrier(s, err) < 0) return -1;
  if (!wait) return 0;
  /* The Jobs' pods go with them (background deletion): wait a little so
   * that nothing of ours is left when we say we are done. */
  for (int i = 0; i < 60; i++) {
    json_auto_t *list = NULL;
    if (run_pods(s, &list, err) < 0) return -1;
    json_t *items = json_object_get(list, "items");
    if (json_array_size(items) == 0) return 0;
    /* Pods whose containers lived in the old runtime wait for a kubelet
     * that cannot find them any more: their work is done, remove them. */
    if (i == 4) kill_run_jobs(s);
    if (sw_nap(s, 500, err) < 0) return -1;
  }
  sw_emit(&s->ev, RS_SW_EV_WARNING, phase, "pods of run %s are still terminating in namespace %s", s->id, s->spec.ns);
  return 0;
}

/* The images the verify pod may use on the new runtime: one the helper
 * carries over (or one the runtime shares with the old one), else the
 * sandbox image, which the new runtime must have to run any pod. */
int sw_choose_verify_images(struct sw *s, rs_err_t *err) {
  const json_t *plan = s->res->plan;
  const char *sandbox = json_string_value(json_object_get(plan, "sandbox_image"));
  if (!sandbox) sandbox = s->rec.sandbox;
  else if (!s->rec.sandbox && !(s->rec.sandbox = strdup(sandbox))) return rs_oom(err);
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
  return s->verify_image ? 0 : rs_oom(err);
}
