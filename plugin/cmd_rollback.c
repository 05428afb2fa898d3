/* kubectl runtime-switch rollback node NAME [--id ID]: put the runtime the
 * node ran before its last switch back, from the helper's backups. */
#include <string.h>

#include "cmd.h"
#include "common/strutil.h"
#include "ops/deliver.h"
#include "switch_cli.h"

/* and rs_drain_step_flags, rs_switch_flags */
static const struct rs_opt rollback_opts[] = {
    {.name = "dry-run", .type = RS_OPT_BOOL, .def = "false",
     .help = "Check what would be rolled back; change nothing."},
    {.name = "id", .type = RS_OPT_STRING, .arg = "ID", .def = "",
     .help = "The run to roll back (default: the node's last switch, from its annotation)."},
    {.name = "image", .type = RS_OPT_STRING, .arg = "IMAGE", .def = "",
     .help = "Image for the helper's pods; it must already be on the node. Default: one that a pod on the node runs."},
    {.name = "no-uncordon", .type = RS_OPT_BOOL, .def = "false",
     .help = "Leave the node cordoned after the rollback."},
    {.name = "node-timeout", .type = RS_OPT_STRING, .arg = "DURATION", .def = "20m",
     .help = "How long to wait for the node to come back on its old runtime."},
    RS_OPT_OUTPUT("", "Output format. One of: (json). json prints one event per phase, then a summary.", "json"),
};
static const struct rs_opt_table rollback_table = RS_OPT_TABLE(rollback_opts);

static int cmd_rollback(struct rs_cli *cli, rs_err_t *err) {
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

const struct rs_cmd rs_cmd_rollback = {
    .name = "rollback", .run = cmd_rollback,
    .summary = "Put back the runtime a node ran before its last switch",
    .usage = "rollback node NAME [--id ID] [flags]",
    .description =
        "Restore the node's previous runtime from the helper's backups (every file byte for\n"
        "byte, the services as they were): cordon, drain, run the helper's rollback, follow\n"
        "the node back to Ready on its old runtime, verify, restore kubeadm's cri-socket\n"
        "annotation, uncordon.  The run is the node's last switch (its annotation) unless\n"
        "--id names one.  Exit codes as for `node`.",
    .examples = "  kubectl runtime-switch rollback node node-1 --yes",
    .opts = RS_OPT_TABLES(&rollback_table, &rs_drain_step_flags, &rs_switch_flags),
    .args = {.words = (const struct rs_arg_word[]){{"node", NULL, RS_ARG_NODE}, {NULL, NULL, 0}}},
};
