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

int sw_put_job(struct sw *s, const struct rs_deliver_spec *spec, int role, bool *ret_existed, rs_err_t *err) {
  if (rs_carrier_verify(s->c, &s->car, err) < 0) return -1;
  return rs_deliver_put_job(s->c, spec, role, ret_existed, err);
}

int sw_carrier_refused(struct sw *s, int phase, rs_err_t *err) {
  if (s->car.trip == RS_CARRIER_OK) return -1; /* another error: *err says it */
  sw_phase_end(&s->ev, phase, RS_SW_FAILED, NULL, "the helper's carrier failed its check");
  if (phase == RS_PH_PREFLIGHT) return sw_fail_refused(s, err);
  if (phase == RS_PH_LAUNCH || phase == RS_PH_ROLLBACK) return sw_abort_unchanged(s, phase, err);
  /* the switch ran; only its proof is missing: a rerun verifies */
  free(s->res->hint);
  s->res->hint = rs_strdup_printf("node %s was switched by run %s but not verified: remove the object named above "
                                  "(after looking at it), then rerun the same command", s->o->node, s->id);
  return -1;
}

/* The carrier of this run, released (the last user deletes it). */
static int release_carrier(struct sw *s, rs_err_t *err) {
  if (!s->car.name || !s->car.uid) return 0; /* never acquired */
  return rs_carrier_release(s->c, &s->car, s->id, NULL, err);
}

int sw_cleanup_objects(struct sw *s, int phase, bool wait, rs_err_t *err) {
  int n = 0;
  if (rs_deliver_cleanup(s->c, s->spec.ns, s->id, &n, err) < 0 || release_carrier(s, err) < 0) return -1;
  if (!wait) return 0;
  /* The Jobs' pods go with them (background deletion): wait a little so
   * that nothing of ours is left when we say we are done. */
  _cleanup_free_ char *sel = rs_strdup_printf("%s=%s", RS_LABEL_ID, s->id);
  _cleanup_free_ char *esel = sel ? rs_kube_escape(sel) : NULL;
  _cleanup_free_ char *ens = rs_kube_escape(s->spec.ns);
  _cleanup_free_ char *path = esel && ens ? rs_strdup_printf("/api/v1/namespaces/%s/pods?labelSelector=%s",
                                                             ens, esel) : NULL;
  if (!path) return rs_oom(err);
  for (int i = 0; i < 60; i++) {
    json_auto_t *list = NULL;
    if (rs_kube_get(s->c, path, &list, err) < 0) return -1;
    json_t *items = json_object_get(list, "items");
    if (json_array_size(items) == 0) return 0;
    if (i == 4) {
      /* Pods whose containers lived in the old runtime wait for a kubelet
       * that cannot find them any more: their work is done, remove them. */
      json_auto_t *now = json_pack("{s:s, s:s, s:i}", "apiVersion", "v1", "kind", "DeleteOptions",
                                   "gracePeriodSeconds", 0);
      size_t k;
      json_t *pod;
      json_array_foreach(items, k, pod) {
        const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
        _cleanup_free_ char *en = name ? rs_kube_escape(name) : NULL;
        _cleanup_free_ char *pp = en ? rs_strdup_printf("/api/v1/namespaces/%s/pods/%s", ens, en) : NULL;
        rs_err_t e = RS_ERR_INIT;
        if (pp && now) rs_kube_delete(s->c, pp, now, NULL, &e);
        rs_err_clear(&e);
      }
    }
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
