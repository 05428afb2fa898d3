/* What `node` and `rollback node` share: options, progress output, the
 * confirmation prompt and the exit codes (switch_cli.c). */
#ifndef RS_PLUGIN_SWITCH_CLI_H
#define RS_PLUGIN_SWITCH_CLI_H

#include "cmd.h"
#include "ops/switch.h"

/* Exit codes of `node` and `rollback node` (README):
 *   0  switched (or rolled back) and verified; --dry-run shown
 *   1  error: API, kubeconfig, network, an unexpected answer
 *   2  usage
 *   3  refused, nothing changed: already on the target, unknown runtime,
 *      only Ready control-plane node, Pod Security, preflight blockers,
 *      not confirmed, another run in progress
 *   4  the drain did not finish: the node is cordoned, still on its runtime
 *   5  the switch failed and the helper rolled it back: the node is on its
 *      old runtime, cordoned
 *   6  needs a human: the rollback failed, or the node did not come back
 *      in time (the helper may still be working)
 *   130 interrupted: rerun the same command to resume */
enum {
  RS_SWX_REFUSED = 3,
  RS_SWX_DRAIN = 4,
  RS_SWX_ROLLED_BACK = 5,
  RS_SWX_HUMAN = 6,
};

/* --use-secret and --yes, as both commands take them. */
extern const struct rs_opt_table rs_switch_flags;

/* Fill the common part of the options from the command line (drain flags,
 * timeouts, image, output, yes ...).  Usage errors fail with RS_E_USAGE. */
int rs_switch_cli_opts(struct rs_cli *cli, struct rs_switch_opts *o, rs_err_t *err);

/* Run the switch or rollback with progress output and map the outcome to
 * the exit code (cli->exit_code). */
int rs_switch_cli_run(struct rs_cli *cli, struct rs_switch_opts *o, rs_err_t *err);

#endif
