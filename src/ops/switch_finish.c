/* How a run ends: the cri-socket annotation, the uncordon and the cleanup
 * of our objects; or, when nothing changed, an orderly stop. */
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

/* Nothing changed on the node: give it back as it was. */
int sw_abort_unchanged(struct sw *s, int phase, rs_err_t *err) {
  rs_err_t e = RS_ERR_INIT;
  if (s->rec.cordoned && rs_node_set_unschedulable(s->c, s->o->node, false, NULL, &e) == 0)
    sw_emit(&s->ev, RS_SW_EV_INFO, phase, "node/%s uncordoned (nothing was changed on it)", s->o->node);
  rs_err_clear(&e);
  if (sw_cleanup_objects(s, phase, false, &e) == 0) sw_record_save(s, RS_REC_FAILED, &e);
  rs_err_clear(&e);
  s->res->outcome = RS_SW_REFUSED;
  return -1;
  (void)err;
}

int sw_phase_annotate(struct sw *s, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  const char *cur = json_string_value(json_object_get(
      json_object_get(json_object_get(s->node, "metadata"), "annotations"), RS_ANN_CRI_SOCKET));
  const char *want = rs_sw_endpoint_for(s->want);
  if (!cur) {
    sw_phase_end(&s->ev, RS_PH_ANNOTATE, RS_SW_SKIPPED, NULL, "no %s annotation on node %s", RS_ANN_CRI_SOCKET,
              s->o->node);
    return 0;
  }
  if (!want || strcmp(cur, want) == 0) {
    sw_phase_end(&s->ev, RS_PH_ANNOTATE, RS_SW_SKIPPED, NULL, "%s is %s already", RS_ANN_CRI_SOCKET, cur);
    return 0;
  }
  /* cur lives in s->node, which the node watch may replace while the
   * annotation request turns the loop: keep a copy. */
  _cleanup_free_ char *before = strdup(cur);
  if (!before) return rs_oom(err);
  if (rs_node_annotate(s->c, s->o->node, RS_ANN_CRI_SOCKET, want, err) < 0)
    return rs_wrap(err, "updating the %s annotation of node %s", RS_ANN_CRI_SOCKET, s->o->node);
  sw_phase_end(&s->ev, RS_PH_ANNOTATE, RS_SW_DONE, json_pack("{s:s, s:s}", "before", before, "after", want),
            "%s: %s -> %s", RS_ANN_CRI_SOCKET, before, want);
  return 0;
}

int sw_phase_uncordon(struct sw *s, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  if (s->o->no_uncordon || !s->rec.cordoned) {
    free(s->res->hint);
    s->res->hint = rs_strdup_printf("node %s stays cordoned%s: `kubectl uncordon %s` when ready", s->o->node,
                                    s->o->no_uncordon ? " (--no-uncordon)" : " (it was before the switch)",
                                    s->o->node);
    sw_phase_end(&s->ev, RS_PH_UNCORDON, RS_SW_SKIPPED, NULL, "node %s stays cordoned", s->o->node);
    return 0;
  }
  struct rs_drain_opts d = sw_drain_opts(s);
  d.on_event = NULL;
  if (rs_drain_cordon(s->c, s->o->node, false, &d, err) < 0) return -1;
  s->res->uncordoned = true;
  sw_phase_end(&s->ev, RS_PH_UNCORDON, RS_SW_DONE, NULL, "node/%s uncordoned", s->o->node);
  return 0;
}

int sw_phase_cleanup(struct sw *s, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  if (sw_cleanup_objects(s, RS_PH_CLEANUP, true, err) < 0) return -1;
  if (sw_record_save(s, RS_REC_DONE, err) < 0) return -1;
  sw_phase_end(&s->ev, RS_PH_CLEANUP, RS_SW_DONE, NULL, "removed the Jobs and the %s of run %s",
            s->spec.use_secret ? "Secret" : "ConfigMap", s->id);
  return 0;
}
