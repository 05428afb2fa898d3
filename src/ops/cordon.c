/* Cordon and uncordon with kubectl's output and dry runs; the patch itself
 * is rs_node_set_unschedulable (ops/nodes.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/drain.h"
#include "ops/nodes.h"

static const char *dry_suffix(int dry) {
  return dry == RS_DRY_RUN_CLIENT ? " (dry run)" : dry == RS_DRY_RUN_SERVER ? " (server dry run)" : "";
}

/* A server dry run sends the patch with dryRun=All: the API checks it
 * (RBAC, admission) and persists nothing. */
static int patch_dry_run(rs_kube_client_t *c, const char *node, bool on, rs_err_t *err) {
  _cleanup_free_ char *en = rs_kube_escape(node);
  _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/nodes/%s?dryRun=All", en) : NULL;
  json_auto_t *patch = on ? json_pack("{s:{s:b}}", "spec", "unschedulable", 1)
                          : json_pack("{s:{s:n}}", "spec", "unschedulable");
  if (!path || !patch) return rs_oom(err);
  return rs_kube_patch(c, path, RS_PATCH_STRATEGIC, patch, NULL, err);
}

int rs_drain_cordon(rs_kube_client_t *c, const char *node, bool on,
                    const struct rs_drain_opts *o, rs_err_t *err) {
  int dry = o ? o->dry_run : RS_DRY_RUN_NONE;
  bool changed = false;
  if (dry == RS_DRY_RUN_NONE) {
    if (rs_node_set_unschedulable(c, node, on, &changed, err) < 0) return -1;
  } else {
    json_auto_t *n = NULL;
    if (rs_node_get(c, node, &n, err) < 0) return -1;
    bool now = json_is_true(json_object_get(json_object_get(n, "spec"), "unschedulable"));
    changed = now != on;
    if (changed && dry == RS_DRY_RUN_SERVER && patch_dry_run(c, node, on, err) < 0) return -1;
  }
  if (!o || !o->on_event) return 0;
  _cleanup_free_ char *text = rs_strdup_printf("node/%s %s%s%s", node, changed ? "" : "already ",
                                               on ? "cordoned" : "uncordoned", dry_suffix(dry));
  if (!text) return rs_oom(err);
  struct rs_drain_event ev = {.type = RS_DRAIN_EV_CORDON, .node = node, .text = text,
                              .message = changed ? (on ? "cordoned" : "uncordoned")
                                                 : (on ? "already cordoned" : "already uncordoned")};
  o->on_event(o->ud, &ev);
  return 0;
}
