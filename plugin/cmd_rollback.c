/* kubectl runtime-switch rollback node NAME [--id ID]: put the runtime the
 * node ran before its last switch back, from the helper's backups. */
#include <string.h>

#include "cli.h"
#include "common/strutil.h"
#include "ops/deliver.h"
#include "switch_cli.h"

const struct rs_opt cmd_rollback_opts[] = {
    {"chunk-size", 0, RS_OPT_STRING, "N", "500", "Drain: list the node's pods in chunks of N (0: all at once)."},
    {"delete-emptydir-data", 0, RS_OPT_BOOL, NULL, "false",
     "Drain: continue even if there are pods using emptyDir (local data that will be deleted when the node is drained)."},
    {"disable-eviction", 0, RS_OPT_BOOL, NULL, "false",
     "Drain: delete pods instead of evicting them. This bypasses PodDisruptionBudgets, use with caution."},
    {"dry-run", 0, RS_OPT_BOOL, NULL, "false", "Check what would be rolled back; change nothing."},
    {"force", 0, RS_OPT_BOOL, NULL, "false", "Drain: continue even if there are pods that do not declare a controller."},
    {"grace-period", 0, RS_OPT_STRING, "SECONDS", "-1",
     "Drain: seconds given to each pod to terminate gracefully; negative: the pod's own."},
    {"id", 0, RS_OPT_STRING, "ID", "",
     "The run to roll back (default: the node's last switch, from its annotation)."},
    {"ignore-daemonsets", 0, RS_OPT_BOOL, NULL, "true", "Drain: ignore DaemonSet-managed pods (always on)."},
    {"image", 0, RS_OPT_STRING, "IMAGE", "",
     "Image for the helper's pods; it must already be on the node. Default: one that a pod on the node runs."},
    {"no-uncordon", 0, RS_OPT_BOOL, NULL, "false", "Leave the node cordoned after the rollback."},
    {"node-timeout", 0, RS_OPT_STRING, "DURATION", "20m",
     "How long to wait for the node to come back on its old runtime."},
    {"output", 'o', RS_OPT_STRING, "FORMAT", "",
     "Output format. One of: (json). json prints one event per phase, then a summary."},
    {"pod-selector", 0, RS_OPT_STRING, "SELECTOR", "", "Drain: label selector to filter pods on the node."},
    {"skip-wait-for-delete-timeout", 0, RS_OPT_STRING, "SECONDS", "0",
     "Drain: if a pod's DeletionTimestamp is older than N seconds, skip waiting for the pod."},
    {"timeout", 0, RS_OPT_STRING, "DURATION", "0s", "Drain: give up after this long; zero means infinite."},
    {"use-secret", 0, RS_OPT_BOOL, NULL, "false", "Carry the helper in a Secret instead of a ConfigMap."},
    {"yes", 'y', RS_OPT_BOOL, NULL, "false", "Do not ask for confirmation."},
    {NULL, 0, 0, NULL, NULL, NULL},
};

int cmd_rollback(struct rs_cli *cli, rs_err_t *err) {
  size_t nargs = rs_strv_len(cli->args);
  if (nargs != 2 || strcmp(cli->args[0], "node") != 0)
    return rs_fail(err, RS_E_USAGE, 0, "usage: rollback node NAME");
  struct rs_switch_opts o = {.op = RS_OP_ROLLBACK, .node = cli->args[1]};
  if (rs_switch_cli_opts(cli, &o, err) < 0) return -1;
  const char *id = rs_cli_str(cli, "id");
  if (id && *id) {
    if (!rs_run_id_valid(id)) return rs_fail(err, RS_E_USAGE, 0, "invalid run id \"%s\"", id);
    o.id = id;
  }
  return rs_switch_cli_run(cli, &o, err);
}
