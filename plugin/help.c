/* Help text in kubectl's layout. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_opt(FILE *f, const struct rs_opt *o) {
  char sh[8] = "";
  if (o->short_name) snprintf(sh, sizeof sh, "-%c, ", o->short_name);
  const char *def = o->def ? o->def : o->type == RS_OPT_BOOL ? "false" : "";
  if (o->type == RS_OPT_MULTI)
    fprintf(f, "    %s--%s=[]:\n", sh, o->name);
  else if (o->type == RS_OPT_BOOL)
    fprintf(f, "    %s--%s=%s:\n", sh, o->name, def);
  else
    fprintf(f, "    %s--%s='%s':\n", sh, o->name, def);
  fprintf(f, "\t%s\n\n", o->help);
}

void rs_help_root(FILE *f) {
  fprintf(f,
          "kubectl runtime-switch moves nodes off Docker (dockershim or cri-dockerd) onto containerd,\n"
          "one node at a time: status first, then cordon, drain, switch and verify.\n\n"
          "Commands:\n");
  for (size_t i = 0; i < rs_commands_count; i++)
    if (!rs_commands[i].hidden)
      fprintf(f, "  %-14s%s\n", rs_commands[i].name, rs_commands[i].summary);
  fprintf(f,
          "\nUsage:\n  kubectl runtime-switch [flags] [options]\n\n"
          "Use \"kubectl runtime-switch <command> --help\" for more information about a given command.\n"
          "Use \"kubectl runtime-switch options\" for a list of global command-line options (applies to all commands).\n");
}

void rs_help_cmd(FILE *f, const struct rs_cmd *cmd) {
  fprintf(f, "%s\n\n", cmd->description);
  if (cmd->examples) fprintf(f, "Examples:\n%s\n\n", cmd->examples);
  if (cmd->opts && cmd->opts[0].name) {
    fprintf(f, "Options:\n");
    for (size_t i = 0; cmd->opts[i].name; i++) print_opt(f, &cmd->opts[i]);
  }
  fprintf(f, "Usage:\n  kubectl runtime-switch %s [options]\n\n", cmd->usage);
  fprintf(f, "Use \"kubectl runtime-switch options\" for a list of global command-line options "
             "(applies to all commands).\n");
}

void rs_help_options(FILE *f) {
  fprintf(f, "The following options can be passed to any command:\n\n");
  for (size_t i = 0; i < rs_global_opts_count; i++)
    if (strcmp(rs_global_opts[i].name, "help") != 0) print_opt(f, &rs_global_opts[i]);
}

int cmd_help(struct rs_cli *cli, rs_err_t *err) {
  if (!cli->args || !cli->args[0]) {
    rs_help_root(cli->out);
    return 0;
  }
  const struct rs_cmd *c = rs_cmd_find(cli->args[0]);
  if (!c)
    return rs_fail(err, RS_E_USAGE, 0, "unknown help topic \"%s\"", cli->args[0]);
  rs_help_cmd(cli->out, c);
  return 0;
}

int cmd_options(struct rs_cli *cli, rs_err_t *err) {
  (void)err;
  rs_help_options(cli->out);
  return 0;
}
