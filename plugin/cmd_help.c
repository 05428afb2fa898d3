/* kubectl runtime-switch help [COMMAND], and options (the global flags). */
#include "cmd.h"

static int cmd_help(struct rs_cli *cli, rs_err_t *err) {
  if (!cli->args || !cli->args[0]) {
    rs_help_root(cli->out, &cli->commands);
    return 0;
  }
  const struct rs_cmd *c = rs_cmd_find(&cli->commands, cli->args[0]);
  if (!c) return rs_fail(err, RS_E_USAGE, 0, "unknown help topic \"%s\"", cli->args[0]);
  rs_help_cmd(cli->out, c);
  return 0;
}

const struct rs_cmd rs_cmd_help = {
    .name = "help", .run = cmd_help, .args = {.kind = RS_ARG_COMMAND},
    .summary = "Help about any command",
    .usage = "help [COMMAND]",
    .description = "Print the help of the plugin or of one command.",
    .examples = "  kubectl runtime-switch help status",
};

static int cmd_options(struct rs_cli *cli, rs_err_t *err) {
  (void)err;
  rs_help_options(cli->out);
  return 0;
}

const struct rs_cmd rs_cmd_options = {
    .name = "options", .run = cmd_options,
    .summary = "Print the list of flags inherited by all commands",
    .usage = "options",
    .description = "Print the kubectl flags every command accepts.",
    .examples = "  kubectl runtime-switch options",
};
