/* The node as the switch sees it: read again, its runtime, waiting on it
 * (a nap that keeps the node watch read), and how it is drained. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/signals.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/deliver.h"
#include "ops/nodes.h"
#include "ops/switch.h"
#include "ops/switch_record.h"
#include "switch_int.h"

/* Sleep, waking for Ctrl-C. */
static int nap_tick(void *ud, rs_err_t *err) { return 1; }

int sw_nap(struct sw *s, long long ms, rs_err_t *err) {
  if (s && (s->watching || s->car.watching)) {
    /* turn the loop: the node's and the carrier's watches keep being read */
    struct rs_kube_run_opts ro = {.tick = nap_tick, .tick_ms = ms, .until_stopped = true};
    return rs_kube_run(s->c, &ro, err);
  }
  long long end = rs_now_ms() + ms;
  while (rs_now_ms() < end) {
    if (rs_cancelled) return rs_fail(err, RS_E_INTERRUPTED, 0, "interrupted");
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return rs_cancelled ? rs_fail(err, RS_E_INTERRUPTED, 0, "interrupted") : 0;
}

int sw_reload_node(struct sw *s, rs_err_t *err) {
  json_t *n = NULL;
  if (rs_node_get(s->c, s->o->node, &n, err) < 0) return -1;
  json_decref(s->node);
  s->node = n;
  return 0;
}

const char *sw_node_runtime_raw(const json_t *node) {
  return json_string_value(json_object_get(
      json_object_get(json_object_get(node, "status"), "nodeInfo"), "containerRuntimeVersion"));
}

struct rs_drain_opts sw_drain_opts(struct sw *s) {
  struct rs_drain_opts d = s->o->drain;
  /* never our own helper pods (a resumed run's verify pod, ...): the pods
   * of the Jobs this run created or found, by UID -- not a label, which
   * anyone may set to have a pod skipped here and then force-removed by
   * the helper without its PodDisruptionBudget */
  d.own_ns = s->spec.ns;
  d.own_job_uids = s->job_uids;
  d.ignore_daemonsets = true;
  d.dry_run = RS_DRY_RUN_NONE;
  d.on_event = sw_forward_drain;
  d.ud = &s->ev;
  return d;
}
