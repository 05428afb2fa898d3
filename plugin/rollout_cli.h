/* `node` over several nodes: the rollout's plan (rollout_cli.c). */
#ifndef RS_PLUGIN_ROLLOUT_CLI_H
#define RS_PLUGIN_ROLLOUT_CLI_H

#include <stdbool.h>

#include "cmd.h"

/* Several node names, or any of the rollout's flags (-l, --all, --canary,
 * --max-unavailable, --max-zones, --all-control-plane, --skip-preflight):
 * without them `node NAME` is the single-node switch, as it always was. */
bool rs_rollout_cli_wanted(const struct rs_cli *cli);

/* Select, plan, print; --dry-run stops there. */
int rs_rollout_cli_run(struct rs_cli *cli, rs_err_t *err);

#endif
