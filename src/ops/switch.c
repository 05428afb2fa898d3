/* The phase machine of `node NAME --to RUNTIME` and `rollback node NAME`:
 * the order of the phases, resuming, the outcome.  See include/ops/switch.h
 * for the phases and switch_int.h for where each one lives. */
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

/* Refused before anything changed, or a dry run that failed (it records
 * nothing a rerun could resume): leave nothing of ours behind.  A dry run
 * whose preflight could not read its pod's log (a role without pods/log)
 * left its Job, pod and carrier -- the carrier marked for deletion with our
 * finalizer still on, in the namespace for good. */
static void tidy_unresumable(struct sw *s) {
  if (!s->spec.ns) return;
  if (!s->o->dry_run &&
      (!s->owns_record || rs_sw_record_rank(s->rec.phase) > rs_sw_record_rank(RS_REC_STARTED)))
    return;
  rs_err_t e = RS_ERR_INIT;
  if (sw_cleanup_objects(s, RS_PH_CHECK, false, &e) == 0 && s->rec.phase && !s->o->dry_run)
    sw_record_save(s, RS_REC_ABANDONED, &e);
  rs_err_clear(&e);
}

static int run(struct sw *s, rs_err_t *err) {
  bool rb = s->o->op == RS_OP_ROLLBACK;
  if (sw_phase_check(s, err) < 0 || sw_phase_deliver(s, err) < 0) return -1;
  if (!rb && (sw_phase_preflight(s, err) < 0 || sw_phase_plan(s, err) < 0)) return -1;
  if (s->res->outcome == RS_SW_DRY_RUN) return 0;
  if (rb && sw_rollback_precheck(s, err) < 0) return -1;
  if (rb && s->o->dry_run) {
    if (sw_cleanup_objects(s, RS_PH_PLAN, false, err) < 0) return -1;
    s->res->outcome = RS_SW_DRY_RUN;
    return 0;
  }
  if (sw_phase_confirm(s, err) < 0 || sw_phase_cordon(s, err) < 0 || sw_phase_drain(s, err) < 0 ||
      sw_phase_launch(s, err) < 0)
    return -1;
  json_auto_t *verify_pod = NULL;
  if (sw_phase_restart(s, &verify_pod, err) < 0 || sw_phase_verify(s, verify_pod, err) < 0) return -1;
  if (sw_phase_annotate(s, err) < 0 || sw_phase_uncordon(s, err) < 0 || sw_phase_cleanup(s, err) < 0) return -1;
  s->res->outcome = RS_SW_OK;
  return 0;
}

int rs_switch_run(rs_kube_client_t *c, const struct rs_switch_opts *o, struct rs_switch_result *ret,
                  rs_err_t *err) {
  struct rs_switch_result res = {.outcome = RS_SW_ERROR, .notready_ms = -1, .api_notready_ms = -1,
                                 .kubelet_down_ms = -1};
  for (int i = 0; i < _RS_PH_MAX; i++) res.phase_ms[i] = -1;
  struct sw s = {.c = c, .o = o, .res = &res, .t_notready_wall = -1, .t_ready_wall = -1, .resume = -1,
                 .ev = {.on_event = o->on_event, .ud = o->ud, .phase_ms = res.phase_ms}};
  long long t0 = rs_now_ms();
  int r;
  if (o->op == RS_OP_SWITCH && rs_rt_target(o->to) == RS_RT_NONE)
    r = rs_fail(err, RS_E_USAGE, 0, "--to must be " RS_RUNTIME_TARGETS " (got \"%s\")",
                o->to ? o->to : "");
  else
    r = run(&s, err);
  if (r < 0 && (res.outcome == RS_SW_REFUSED || o->dry_run)) tidy_unresumable(&s);
  sw_lock_finish(&s);
  res.total_ms = rs_now_ms() - t0;
  if (r < 0 && res.outcome == RS_SW_OK) res.outcome = RS_SW_ERROR;
  if (r < 0 && (res.outcome == RS_SW_ERROR || res.outcome == RS_SW_NEEDS_HUMAN) && s.owns_record &&
      s.rec.phase && !o->dry_run && !res.hint) {
    bool interrupted = err->kind == RS_E_INTERRUPTED;
    res.hint = rs_strdup_printf("%s: run %s is recorded on node %s (phase %s); rerun the same command to "
                                "resume", interrupted ? "interrupted" : "stopped", s.rec.id, o->node,
                                s.rec.phase ? s.rec.phase : "none");
  }
  json_decref(s.node);
  rs_carrier_guard_stop(c, &s.car);
  rs_carrier_clear(&s.car);
  rs_strv_free(s.job_uids);
  rs_sw_record_clear(&s.rec);
  rs_sw_lock_clear(&s.lock);
  free(s.image);
  free(s.verify_image);
  free(s.alt_image);
  free(s.endpoint_before);
  free(s.want_buf);
  rs_strv_free(s.drain_blockers);
  if (s.watching) rs_kube_cancel_all(c);
  free(s.watch_selector);
  free(s.node_shown);
  *ret = res;
  return r;
}
