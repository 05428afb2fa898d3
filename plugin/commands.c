/* The commands, in the order `--help` lists them.  Each one is defined,
 * with its options and help, in its plugin/cmd_<verb>.c. */
#include "cmd.h"

static const struct rs_cmd *const commands[] = {
    &rs_cmd_status,
    &rs_cmd_check,
    &rs_cmd_node,
    &rs_cmd_rollback,
    &rs_cmd_rollout,
    &rs_cmd_cordon,
    &rs_cmd_uncordon,
    &rs_cmd_drain,
    &rs_cmd_version,
    &rs_cmd_completion,
    &rs_cmd_complete,
    &rs_cmd_help,
    &rs_cmd_options,
    &rs_cmd_config,
};
const struct rs_commands rs_commands = {commands, sizeof commands / sizeof commands[0]};
