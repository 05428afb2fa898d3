/* Help text in kubectl's layout, from the command and option tables. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

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

void rs_help_root(FILE *f, const struct rs_commands *cmds) {
  fprintf(f,
          "kubectl runtime-switch moves nodes off Docker (dockershim or cri-dockerd) onto containerd,\n"
          "one node at a time: status first, then cordon, drain, switch and verify.\n\n"
          "Commands:\n");
  for (size_t i = 0; i < cmds->n; i++)
    if (!cmds->v[i]->hidden) fprintf(f, "  %-14s%s\n", cmds->v[i]->name, cmds->v[i]->summary);
  fprintf(f,
          "\nUsage:\n  kubectl runtime-switch [flags] [options]\n\n"
          "Use \"kubectl runtime-switch <command> --help\" for more information about a given command.\n"
          "Use \"kubectl runtime-switch options\" for a list of global command-line options (applies to all commands).\n");
}

void rs_help_cmd(FILE *f, const struct rs_cmd *cmd) {
  fprintf(f, "%s\n\n", cmd->description);
  if (cmd->examples) fprintf(f, "Examples:\n%s\n\n", cmd->examples);
  struct rs_opt_iter it = {.cmd = cmd};
  const struct rs_opt *o = rs_opt_next(&it, NULL);
  if (o) fprintf(f, "Options:\n");
  for (; o; o = rs_opt_next(&it, NULL)) print_opt(f, o);
  fprintf(f, "Usage:\n  kubectl runtime-switch %s [options]\n\n", cmd->usage);
  fprintf(f, "Use \"kubectl runtime-switch options\" for a list of global command-line options "
             "(applies to all commands).\n");
}

void rs_help_options(FILE *f) {
  fprintf(f, "The following options can be passed to any command:\n\n");
  for (size_t i = 0; i < rs_global_opts.n; i++)
    if (strcmp(rs_global_opts.opts[i].name, "help") != 0) print_opt(f, &rs_global_opts.opts[i]);
}
