/* The phases after the drain: launch (or rollback), following the node
 * through its restart, verifying on the new runtime, the kubeadm
 * annotation, uncordon and cleanup. */
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
#include "ops/switch_record.h"
#include "switch_int.h"

/* The plan printed by `launch` (when preflight was skipped on a resume). */
static void plan_from_log(struct sw *s, const char *log) {
  if (s->res->plan || !log) return;
  json_t *p = rs_helper_json_from_log(log, strlen(log));
  if (p && json_object_get(p, RS_JSON_STEPS)) s->res->plan = p;
  else json_decref(p);
}

/* A resumed run that launched before: the plan from the launch pod's log,
 * and whether that pod has still to run or its Job to start (then it is
 * followed as a first run's).  1: nothing to do (the phase ended), 0:
 * launch. */
static int launched_before(struct sw *s, int phase, const char *job) {
  json_auto_t *old = NULL, *j = NULL;
  rs_err_t e = RS_ERR_INIT;
  /* created but never started (the run stopped before it let it start):
   * started now, the guarded way */
  if (rs_deliver_get_job(s->c, s->spec.ns, job, &j, &e) == 0 &&
      json_is_true(json_object_get(json_object_get(j, "spec"), "suspend")))
    return 0;
  rs_err_clear(&e);
  struct rs_pod_view v = {.state = RS_POD_GONE};
  if (rs_deliver_job_pod(s->c, s->spec.ns, job, &old, &e) == 0 && old) rs_pod_view(old, &v);
  if (s->o->op == RS_OP_SWITCH && !s->res->plan && old && v.name) {
    _cleanup_free_ char *log = NULL;
    size_t len = 0;
    if (sw_pod_log(s, v.name, &log, &len, &e) == 0) plan_from_log(s, log);
  }
  rs_err_clear(&e);
  bool again = old && (v.state == RS_POD_PENDING || v.state == RS_POD_RUNNING) && rs_sw_node_ready(s->node) &&
               !rs_sw_runtime_is(s->node, s->want);
  if (again) return 0;
  sw_phase_end(&s->ev, phase, RS_SW_RESUMED, NULL, "launched before");
  return 1;
}

/* The launch pod's log: read once when it exited already (a courtesy: the
 * kubelet that serves it may be stopping), else streamed while it lives. */
static int launch_log(struct sw *s, int phase, const struct rs_pod_view *v, char **ret, rs_err_t *err) {
  if (v->state != RS_POD_EXITED) return sw_follow_log(s, phase, v->name, ret, err);
  size_t len = 0;
  rs_err_t le = RS_ERR_INIT;
  if (sw_pod_log(s, v->name, ret, &len, &le) < 0) {
    if (le.kind == RS_E_INTERRUPTED) {
      rs_err_move(err, &le);
      return -1;
    }
    sw_emit(&s->ev, RS_SW_EV_INFO, phase, "the log of pod %s is not available: %s", v->name, le.msg ? le.msg : "?");
    rs_err_clear(&le);
  }
  for (char *l = *ret, *nl; l && *l; l = nl ? nl + 1 : NULL) {
    nl = strchr(l, '\n');
    if (*l != '{') sw_emit(&s->ev, RS_SW_EV_HELPER, phase, "%.*s", (int)(nl ? nl - l : (long)strlen(l)), l);
    if (!nl) break;
  }
  return 0;
}

/* What became of the launch pod (it exited, or its runtime went away under
 * it: then the API still shows it running, its kubelet being down). */
static int launch_outcome(struct sw *s, int phase, const struct rs_pod_view *v, const char *log, rs_err_t *err) {
  bool rb = s->o->op == RS_OP_ROLLBACK;
  bool exited = v->state == RS_POD_EXITED;
  if (exited && v->exit_code == RS_HX_BLOCKED) {
    sw_phase_end(&s->ev, phase, RS_SW_FAILED, NULL, "the helper found blockers; nothing was changed");
    rs_fail(err, RS_E_INPUT, RS_HX_BLOCKED, "the helper on node %s refused to start: %s", s->o->node,
            log && *log ? log : "(no output)");
    return sw_abort_unchanged(s, phase, err);
  }
  if (exited && v->exit_code == RS_HX_INTEGRITY) return sw_integrity_refused(s, phase, false, log, err);
  if (exited && rb && v->exit_code == RS_HX_EDITED) {
    sw_phase_end(&s->ev, phase, RS_SW_FAILED, NULL, "files were edited since the switch; nothing was changed");
    rs_fail(err, RS_E_INPUT, RS_HX_EDITED, "the helper on node %s did not roll back: files were edited since the "
            "switch and would be overwritten; nothing was changed: %s", s->o->node, log && *log ? log : "(no output)");
    return sw_abort_unchanged(s, phase, err);
  }
  if (exited && v->exit_code == RS_HX_NOT_FOUND) {
    sw_phase_end(&s->ev, phase, RS_SW_FAILED, NULL, "no run %s on the node", s->id);
    rs_fail(err, RS_E_INPUT, RS_HX_NOT_FOUND, "node %s has no run %s to roll back (%s)", s->o->node, s->id,
            RS_HELPER_STATE_DIR);
    return sw_abort_unchanged(s, phase, err);
  }
  if (exited && rb && v->exit_code == RS_HX_FAILED && log && strstr(log, "still running")) {
    sw_phase_end(&s->ev, phase, RS_SW_FAILED, NULL, "the switch is still running on the node");
    s->res->outcome = RS_SW_REFUSED;
    return rs_fail(err, RS_E_INPUT, 0, "the switch of run %s is still running on node %s; follow it with "
                   "`kubectl runtime-switch node %s --to %s`", s->id, s->o->node, s->o->node,
                   s->rec.from ? s->rec.from : "RUNTIME");
  }
  json_t *data = json_pack("{s:s?, s:s}", "pod", v->name, "state", exited ? "exited" : "running");
  if (data && exited) json_object_set_new(data, "exitCode", json_integer(v->exit_code));
  if (exited)
    sw_phase_end(&s->ev, phase, RS_SW_DONE, data, "helper %s (exit %d); it goes on as a host unit on node %s",
                 rb ? "rollback ran" : "launched", v->exit_code, s->o->node);
  else if (rb)
    sw_phase_end(&s->ev, phase, RS_SW_DONE, data, "the helper rolls node %s back (its kubelet is stopped)", s->o->node);
  else
    sw_phase_end(&s->ev, phase, RS_SW_DONE, data, "the helper's pod went away with the old runtime; the switch goes "
                 "on as a host unit on node %s", s->o->node);
  return 0;
}

/* launch (or rollback): the Job whose pod starts the helper's work on the
 * node; its log is streamed while the pod lives. */
int sw_phase_launch(struct sw *s, rs_err_t *err) {
  bool rb = s->o->op == RS_OP_ROLLBACK;
  int phase = rb ? RS_PH_ROLLBACK : RS_PH_LAUNCH;
  int role = rb ? RS_JOB_ROLLBACK : RS_JOB_SWITCH;
  sw_phase_begin(&s->ev);
  _cleanup_free_ char *job = rs_deliver_job_name(s->id, role);
  if (!job) return rs_oom(err);
  bool again = s->resume >= rs_sw_record_rank(RS_REC_LAUNCHED);
  if (again && launched_before(s, phase, job)) return 0;
  /* watched from now on: the node may be back before the pod is seen */
  if (sw_watch_node(s, phase, err) < 0) return -1;
  struct rs_deliver_spec spec = s->spec;
  spec.reason = "requested with kubectl runtime-switch rollback";
  if (sw_put_job(s, &spec, role, NULL, err) < 0) return sw_carrier_refused(s, phase, false, err);
  if (!again && sw_record_save(s, RS_REC_LAUNCHED, err) < 0) return -1;
  json_auto_t *pod = NULL;
  long long to = s->o->pod_start_timeout_ms ? s->o->pod_start_timeout_ms : SW_DEFAULT_POD_START_MS;
  rs_err_t we = RS_ERR_INIT;
  if (sw_wait_pod(s, phase, role, false, to, &pod, &we) < 0) {
    rs_err_move(err, &we);
    if (s->car.trip != RS_CARRIER_OK) return sw_carrier_refused(s, phase, true, err);
    if (err->kind == RS_E_INTERRUPTED || !pod) return rs_wrap(err, "%s on node %s", rs_sw_phase_name(phase), s->o->node);
    /* The helper may have done its part so fast that its pod was never
     * seen running: the kubelet on the new runtime starts it again and it
     * may not start there (no image).  The helper's report tells. */
    sw_phase_end(&s->ev, phase, RS_SW_DONE, NULL, "its pod was not seen running (%s); the helper's report will tell",
                 err->msg ? err->msg : "?");
    rs_err_clear(err);
    return 0;
  }
  /* the container started: from the carrier checked before the Job */
  if (sw_pod_started(s, role, true, err) < 0) return sw_carrier_refused(s, phase, true, err);
  struct rs_pod_view v;
  rs_pod_view(pod, &v);
  _cleanup_free_ char *log = NULL;
  if (launch_log(s, phase, &v, &log, err) < 0) return -1;
  plan_from_log(s, log);
  json_auto_t *after = NULL;
  if (rs_deliver_job_pod(s->c, s->spec.ns, job, &after, err) < 0) return -1;
  rs_pod_view(after ? after : pod, &v);
  return launch_outcome(s, phase, &v, log, err);
}

/* ---- following the node ---- */

struct follow {
  struct sw *s;
  int phase;
  bool want_verify;      /* stop when the verify pod exited */
  const char *until_rt;  /* or: stop when the node is Ready on this runtime */
  json_t *verify_pod;    /* the verify pod, exited */
  long long next_note;
  bool switched_image;
};

/* Is the node Ready on runtime rt?  As its Node object says; where that
 * cannot tell (docker:// on a kubelet before 1.24 is dockershim or
 * cri-dockerd alike), once the helper's report, which says what the kubelet
 * was restarted on, is in. */
static bool ready_on(const struct sw *s, const json_t *node, const char *rt) {
  if (!node || !rt || !rs_sw_node_ready(node)) return false;
  return rs_sw_runtime_is(node, rt) || (s->res->report && rs_sw_runtime_ambiguous(node, rt));
}

/* The node, as one watch tells it, from before the launch to the end: the
 * NotReady window is measured here, whatever else the run is waiting for. */
static int on_node(void *ud, const char *type, json_t *obj, rs_err_t *err) {
  struct sw *s = ud;
  if (strcmp(type, "BOOKMARK") == 0 || strcmp(type, "DELETED") == 0) return 0;
  json_decref(s->node);
  s->node = json_incref(obj);
  bool ready = rs_sw_node_ready(obj);
  const char *raw = sw_node_runtime_raw(obj);
  long long now = sw_wall_ms();
  bool there = ready_on(s, obj, s->want);
  if (!ready && s->t_notready_wall < 0) s->t_notready_wall = now;
  /* the window closes when the node is seen back, after it was seen away
   * (a resumed run that finds it there already cannot tell when) */
  if (!there) s->seen_away = true;
  else if (s->seen_away && s->t_ready_wall < 0) s->t_ready_wall = now;
  _cleanup_free_ char *state = rs_strdup_printf("%s, %s", ready ? "Ready" : "NotReady", raw ? raw : "?");
  if (state && (!s->node_shown || strcmp(state, s->node_shown) != 0)) {
    sw_emit(&s->ev, RS_SW_EV_INFO, s->watch_phase, "node/%s %s", s->o->node, state);
    free(s->node_shown);
    s->node_shown = TAKE_PTR(state);
  }
  return 0;
}

static int on_node_gone(void *ud, char **ret_rv, rs_err_t *err) {
  struct sw *s = ud;
  if (sw_reload_node(s, err) < 0) return -1;
  const char *rv = json_string_value(json_object_get(json_object_get(s->node, "metadata"), "resourceVersion"));
  *ret_rv = rv ? strdup(rv) : NULL;
  return *ret_rv ? 0 : rs_oom(err);
}

/* The watch ended (an error the client could not retry): it is started
 * again by the next wait. */
static int on_node_end(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct sw *s = ud;
  s->watching = false;
  if (err->kind != RS_E_NONE && err->kind != RS_E_INTERRUPTED)
    sw_emit(&s->ev, RS_SW_EV_INFO, s->watch_phase, "the watch of node %s ended (%s); watching again", s->o->node,
            err->msg ? err->msg : "?");
  return err->kind == RS_E_INTERRUPTED ? -1 : 0;
}

int sw_watch_node(struct sw *s, int phase, rs_err_t *err) {
  s->watch_phase = phase;
  if (s->watching) return 0;
  free(s->watch_selector);
  s->watch_selector = rs_strdup_printf("metadata.name=%s", s->o->node);
  if (!s->watch_selector) return rs_oom(err);
  struct rs_kube_watch_opts wo = {.field_selector = s->watch_selector, .timeout_seconds = 60,
                                  .on_event = on_node, .on_gone = on_node_gone, .on_end = on_node_end, .ud = s};
  if (rs_kube_watch_start(s->c, "/api/v1/nodes", &wo, err) < 0) return -1;
  s->watching = true;
  return 0;
}

static bool image_problem(const char *why) {
  return why && (strstr(why, "ErrImageNeverPull") || strstr(why, "not present") ||
                 strstr(why, "ErrImagePull") || strstr(why, "ImagePullBackOff") || strstr(why, "pull"));
}

static int put_verify_job(struct sw *s, bool *ret_existed, rs_err_t *err) {
  struct rs_deliver_spec vs = s->spec;
  vs.image = s->verify_image ? s->verify_image : s->image;
  vs.wait_s = (long)(sw_node_timeout(s) / 1000);
  return sw_put_job(s, &vs, RS_JOB_VERIFY, ret_existed, err);
}

/* The verify pod cannot start because its image is not on the new
 * runtime: try the other candidate once. */
static int verify_other_image(struct sw *s, struct follow *f, const char *why, rs_err_t *err) {
  if (f->switched_image || !s->alt_image)
    return rs_fail(err, RS_E_NODE, 0, "the verify pod cannot start on node %s: %s; pass --image with an "
                   "image the new runtime has", s->o->node, why);
  f->switched_image = true;
  sw_emit(&s->ev, RS_SW_EV_WARNING, f->phase, "image %s is not on the new runtime (%s); verifying with %s",
       s->verify_image ? s->verify_image : "?", why, s->alt_image);
  free(s->verify_image);
  s->verify_image = TAKE_PTR(s->alt_image);
  _cleanup_free_ char *job = rs_deliver_job_name(s->id, RS_JOB_VERIFY);
  if (!job) return rs_oom(err);
  if (rs_deliver_delete_job(s->c, s->spec.ns, job, err) < 0) return -1;
  for (int i = 0; i < 120; i++) {
    bool existed = true;
    if (put_verify_job(s, &existed, err) < 0) return -1;
    if (!existed) return 0;
    if (sw_nap(s, 500, err) < 0) return -1;
  }
  return rs_fail(err, RS_E_TIMEOUT, 0, "Job %s/%s was not deleted in time", s->spec.ns, job);
}

/* A report of "no such run" is only an answer once the launch pod can no
 * longer create the run: it exited, or it cannot start. */
static bool launch_settled(struct sw *s) {
  if (s->o->op != RS_OP_SWITCH) return true;
  _cleanup_free_ char *job = rs_deliver_job_name(s->id, RS_JOB_SWITCH);
  json_auto_t *pod = NULL;
  rs_err_t e = RS_ERR_INIT;
  int r = job ? rs_deliver_job_pod(s->c, s->spec.ns, job, &pod, &e) : -1;
  rs_err_clear(&e);
  if (r < 0) return false;
  if (!pod) return true;
  struct rs_pod_view v;
  rs_pod_view(pod, &v);
  return v.state != RS_POD_PENDING && v.state != RS_POD_RUNNING;
}

static int on_tick(void *ud, rs_err_t *err) {
  struct follow *f = ud;
  struct sw *s = f->s;
  /* the carrier's guard: tripped, or its watch to open again */
  if (rs_carrier_guard_start(s->c, &s->car, err) < 0) return -1;
  if (f->until_rt && ready_on(s, s->node, f->until_rt)) return 1;
  if (f->want_verify) {
    _cleanup_free_ char *job = rs_deliver_job_name(s->id, RS_JOB_VERIFY);
    if (!job) return rs_oom(err);
    json_auto_t *pod = NULL;
    if (rs_deliver_job_pod(s->c, s->spec.ns, job, &pod, err) < 0) return -1;
    struct rs_pod_view v = {0};
    if (pod) rs_pod_view(pod, &v);
    /* A pod killed with the old runtime (exit 128+N, or the kubelet's
     * ContainerStatusUnknown) says nothing: the Job makes another. */
    if (pod && v.state == RS_POD_EXITED && v.exit_code != RS_HX_RUNNING && v.exit_code < 128 &&
        !(v.why && strstr(v.why, "ContainerStatusUnknown")) &&
        (v.exit_code != RS_HX_NOT_FOUND || launch_settled(s))) {
      /* it ran: from the carrier checked before its Job (the Job may
       * still make pods: not settled) */
      if (sw_pod_started(s, RS_JOB_VERIFY, false, err) < 0) return -1;
      f->verify_pod = TAKE_PTR(pod);
      return 1;
    }
    if (pod && v.state == RS_POD_BLOCKED && image_problem(v.why))
      return verify_other_image(s, f, v.why, err) < 0 ? -1 : 0;
  }
  if (rs_now_ms() >= f->next_note) {
    if (f->next_note)
      sw_emit(&s->ev, RS_SW_EV_INFO, f->phase, "waiting for node %s%s (%s)", s->o->node,
           f->want_verify ? " and the helper's report" : " to be Ready", s->node_shown ? s->node_shown : "?");
    f->next_note = rs_now_ms() + 30000;
  }
  return 0;
}

static int follow_node(struct sw *s, struct follow *f, long long timeout_ms, rs_err_t *err) {
  if (sw_watch_node(s, f->phase, err) < 0) return -1;
  struct rs_kube_run_opts ro = {.tick = on_tick, .tick_ud = f, .tick_ms = 1000, .until_stopped = true,
                                .deadline_ms = rs_now_ms() + timeout_ms};
  int r = rs_kube_run(s->c, &ro, err);
  if (r < 0 && err->kind == RS_E_TIMEOUT)
    rs_fail(err, RS_E_TIMEOUT, 0, "node %s did not come back %s within %lld s (last seen: %s)", s->o->node,
            f->until_rt ? f->until_rt : "and report", timeout_ms / 1000,
            s->node_shown ? s->node_shown : "nothing");
  return r;
}

/* Wait until the helper's report is in (the verify pod ran on whatever
 * runtime the node came back on) and the node is Ready on the runtime the
 * report implies. */
int sw_phase_restart(struct sw *s, json_t **ret_verify_pod, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  struct follow f = {.s = s, .phase = RS_PH_RESTART};
  long long deadline = rs_now_ms() + sw_node_timeout(s);
  int r;
  if (s->resume >= rs_sw_record_rank(RS_REC_SWITCHED)) {
    sw_phase_end(&s->ev, RS_PH_RESTART, RS_SW_RESUMED, NULL, "node %s was switched before", s->o->node);
    return 0;
  }
  if (!s->verify_image && sw_choose_verify_images(s, err) < 0) return -1;
  if (s->o->op == RS_OP_ROLLBACK) {
    /* the report is final only once the rollback ran: wait for the node
     * on the old runtime first */
    f.until_rt = s->want;
    r = s->want ? follow_node(s, &f, deadline - rs_now_ms(), err) : 0;
    if (r == 0) {
      f.until_rt = NULL;
      f.want_verify = true;
      r = put_verify_job(s, NULL, err);
      if (r == 0) r = follow_node(s, &f, deadline - rs_now_ms(), err);
    }
  } else {
    r = put_verify_job(s, NULL, err);
    f.want_verify = true;
    if (r == 0) r = follow_node(s, &f, deadline - rs_now_ms(), err);
  }
  if (r < 0) {
    json_decref(f.verify_pod);
    if (s->car.trip != RS_CARRIER_OK) return sw_carrier_refused(s, RS_PH_RESTART, true, err);
    if (err->kind != RS_E_INTERRUPTED) {
      s->res->outcome = RS_SW_NEEDS_HUMAN;
      sw_phase_end(&s->ev, RS_PH_RESTART, RS_SW_FAILED, NULL, "%s", err->msg ? err->msg : "failed");
    }
    return -1;
  }
  *ret_verify_pod = f.verify_pod;
  struct rs_pod_view v;
  rs_pod_view(f.verify_pod, &v);
  sw_phase_end(&s->ev, RS_PH_RESTART, RS_SW_DONE, json_pack("{s:s?, s:s?}", "pod", v.name, "podRuntime", v.runtime),
            "the helper's report is in (pod %s on %s)", v.name ? v.name : "?", v.runtime ? v.runtime : "?");
  return 0;
}

/* Wait (bounded) for the node to be Ready on runtime rt. */
static int wait_ready_on(struct sw *s, int phase, const char *rt, rs_err_t *err) {
  if (sw_reload_node(s, err) < 0) return -1;
  if (ready_on(s, s->node, rt)) {
    if (strcmp(rt, s->want) == 0 && s->seen_away && s->t_ready_wall < 0) s->t_ready_wall = sw_wall_ms();
    return 0;
  }
  s->seen_away = true;
  struct follow f = {.s = s, .phase = phase, .until_rt = rt};
  return follow_node(s, &f, sw_node_timeout(s), err);
}

static void windows(struct sw *s) {
  rs_sw_windows(s->res->report, s->o->op, s->t_ready_wall, s->t_notready_wall, s->res);
}

/* A rollback by --id alone: where the node goes back to, from the report. */
static int want_from_report(struct sw *s, const json_t *rep, rs_err_t *err) {
  const char *from = json_string_value(json_object_get(rep, RS_JSON_FROM));
  if (!from || !rs_sw_endpoint_for(from)) {
    s->res->outcome = RS_SW_NEEDS_HUMAN;
    return rs_fail(err, RS_E_NODE, 0, "the helper's report does not say which runtime node %s ran before",
                   s->o->node);
  }
  if (!(s->want_buf = strdup(from))) return rs_oom(err);
  s->want = s->want_buf;
  free(s->res->to);
  return (s->res->to = strdup(from)) ? 0 : rs_oom(err);
}

/* The helper reports the state asked for: the node Ready on the runtime,
 * and the verify pod ran on it. */
static int verified(struct sw *s, const struct rs_pod_view *v, const char *state, rs_err_t *err) {
  if (wait_ready_on(s, RS_PH_VERIFY, s->want, err) < 0) {
    s->res->outcome = RS_SW_NEEDS_HUMAN;
    return -1;
  }
  /* the runtime's name in a pod's containerID (cri-dockerd's is docker) */
  const struct rs_rt_info *wi = rs_rt_info(rs_rt_by_name(s->want));
  const char *want_pod_rt = wi ? wi->node_scheme : s->want;
  if (!v->runtime || strcmp(v->runtime, want_pod_rt) != 0) {
    s->res->outcome = RS_SW_NEEDS_HUMAN;
    return rs_fail(err, RS_E_NODE, 0, "the helper reports %s, but its verify pod ran on %s, not %s", state,
                   v->runtime ? v->runtime : "an unknown runtime", want_pod_rt);
  }
  free(s->res->runtime_after);
  s->res->runtime_after = rs_strdup0(sw_node_runtime_raw(s->node));
  windows(s);
  if (sw_record_save(s, RS_REC_SWITCHED, err) < 0) return -1;
  sw_phase_end(&s->ev, RS_PH_VERIFY, RS_SW_DONE,
               json_pack("{s:s?, s:s?, s:O}", "runtime", s->res->runtime_after, "podRuntime", v->runtime,
                         "report", s->res->report),
               "node %s is Ready on %s; a container ran there (pod %s)", s->o->node,
               s->res->runtime_after ? s->res->runtime_after : "?", v->name ? v->name : "?");
  return 0;
}

/* The switch (or rollback) failed; a rolled-back node comes back on its
 * old runtime and stays cordoned. */
static int not_verified(struct sw *s, int exit_code, const char *state, const char *reason, rs_err_t *err) {
  bool rb = s->o->op == RS_OP_ROLLBACK;
  bool rolled = !rb && strcmp(state, RS_STATE_ROLLED_BACK) == 0;
  const char *old = s->rec.from;
  if (rolled && old) {
    rs_err_t e = RS_ERR_INIT;
    if (wait_ready_on(s, RS_PH_VERIFY, old, &e) < 0)
      sw_emit(&s->ev, RS_SW_EV_WARNING, RS_PH_VERIFY, "node %s is not Ready on %s yet: %s", s->o->node, old,
              e.msg ? e.msg : "?");
    rs_err_clear(&e);
  }
  free(s->res->runtime_after);
  s->res->runtime_after = rs_strdup0(sw_node_runtime_raw(s->node));
  windows(s);
  s->res->outcome = rolled ? RS_SW_ROLLED_BACK : RS_SW_NEEDS_HUMAN;
  rs_err_t e = RS_ERR_INIT;
  if (sw_cleanup_objects(s, RS_PH_VERIFY, false, &e) == 0)
    sw_record_save(s, rolled ? RS_REC_ROLLED_BACK : RS_REC_FAILED, &e);
  rs_err_clear(&e);
  free(s->res->hint);
  s->res->hint = rolled
      ? rs_strdup_printf("node %s is back on %s and stays cordoned; when the cause is fixed, rerun the "
                         "switch or `kubectl uncordon %s`", s->o->node,
                         s->res->runtime_after ? s->res->runtime_after : old ? old : "its old runtime", s->o->node)
      : rs_strdup_printf("node %s needs a look: see `journalctl -u %s%s` and %s/%s on the node; it stays "
                         "cordoned", s->o->node, RS_HELPER_UNIT_PREFIX, s->id, RS_HELPER_STATE_DIR, s->id);
  sw_phase_end(&s->ev, RS_PH_VERIFY, RS_SW_FAILED, json_incref(s->res->report), "helper state %s: %s", state,
               reason ? reason : "no reason given");
  if (rolled)
    return rs_fail(err, RS_E_NODE, RS_HX_ROLLED_BACK, "the switch of node %s to %s failed and was rolled "
                   "back: %s", s->o->node, s->want, reason ? reason : "no reason given");
  return rs_fail(err, RS_E_NODE, exit_code, "%s of node %s ended in state %s: %s",
                 rb ? "the rollback" : "the switch", s->o->node, state, reason ? reason : "no reason given");
}

/* The launch never ran (no such run on the node): make sure it never
 * will, then give the node back. */
static int never_started(struct sw *s, rs_err_t *err) {
  _cleanup_free_ char *job = rs_deliver_job_name(s->id, RS_JOB_SWITCH);
  rs_err_t e = RS_ERR_INIT;
  if (job) rs_deliver_delete_job(s->c, s->spec.ns, job, &e);
  rs_err_clear(&e);
  sw_phase_end(&s->ev, RS_PH_VERIFY, RS_SW_FAILED, NULL, "the helper never started run %s", s->id);
  rs_fail(err, RS_E_NODE, RS_HX_NOT_FOUND, "the helper never started the switch on node %s (its pod could not "
          "run); nothing was changed", s->o->node);
  return sw_abort_unchanged(s, RS_PH_VERIFY, err);
}

int sw_phase_verify(struct sw *s, json_t *verify_pod, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  bool rb = s->o->op == RS_OP_ROLLBACK;
  if (s->resume >= rs_sw_record_rank(RS_REC_SWITCHED)) {
    if (sw_reload_node(s, err) < 0) return -1;
    sw_phase_end(&s->ev, RS_PH_VERIFY, RS_SW_RESUMED, NULL, "verified before");
    return 0;
  }
  /* the kubelet serving the log may be settling after its restart */
  _cleanup_(sw_output_clear) struct sw_output out = {0};
  if (sw_helper_output(s, RS_PH_VERIFY, true, verify_pod, 10, &out, err) < 0) return -1;
  const struct rs_pod_view v = out.v;
  json_t *rep = TAKE_PTR(out.json);
  if (!rep && v.exit_code == RS_HX_NOT_FOUND && !rb) return never_started(s, err);
  if (!rep) {
    s->res->outcome = RS_SW_NEEDS_HUMAN;
    return rs_fail(err, RS_E_NODE, v.exit_code, "the verify pod on node %s printed no report (exit %d): %s",
                   s->o->node, v.exit_code, out.len ? out.log : "(no output)");
  }
  json_decref(s->res->report);
  s->res->report = rep;
  const char *state = json_string_value(json_object_get(rep, RS_JSON_STATE));
  const char *reason = json_string_value(json_object_get(rep, RS_JSON_REASON));
  if (reason && !(s->res->reason = strdup(reason))) return rs_oom(err);
  if (!state) state = "?";
  if (strcmp(state, rb ? RS_STATE_ROLLED_BACK : RS_STATE_DONE) != 0)
    return not_verified(s, v.exit_code, state, reason, err);
  if (!s->want && want_from_report(s, rep, err) < 0) return -1;
  return verified(s, &v, state, err);
}
