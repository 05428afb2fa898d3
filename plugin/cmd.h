/* What a command file (plugin/cmd_<verb>.c) needs besides the command line
 * model (include/plugin/cli.h): the commands it defines, the option groups
 * several commands share, the API client and the output helpers.  Only
 * plugin/ prints and chooses exit codes. */
#ifndef RS_PLUGIN_CMD_H
#define RS_PLUGIN_CMD_H

#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "ops/drain.h"
#include "plugin/cli.h"
#include "plugin/term.h"

/* ---- the commands, one per cmd_<verb>.c; listed in commands.c ---- */
extern const struct rs_cmd rs_cmd_status, rs_cmd_check, rs_cmd_node, rs_cmd_rollback, rs_cmd_rollout, rs_cmd_cordon,
    rs_cmd_uncordon, rs_cmd_drain, rs_cmd_version, rs_cmd_completion, rs_cmd_complete,
    rs_cmd_help, rs_cmd_options, rs_cmd_config;

/* ---- shared option groups ---- */

/* kubectl drain's flags (drain_flags.c): as `drain` shows them, and as
 * `node` and `rollback node` show them, where draining is one step. */
extern const struct rs_opt_table rs_drain_flags;
extern const struct rs_opt_table rs_drain_step_flags;
/* Fill o (from RS_DRAIN_OPTS_INIT) from either group; `drain` checks the
 * values with kubectl's words, a step with the switch's. */
int rs_drain_flags_read(const struct rs_cli *cli, bool step, struct rs_drain_opts *o, rs_err_t *err);

/* -o/--output taking the given values (output.c). */
#define RS_OPT_OUTPUT(def_, help_, ...)                                                      \
  {.name = "output", .short_name = 'o', .type = RS_OPT_STRING, .arg = "FORMAT", .def = def_, \
   .help = help_, .values = RS_VALUES(__VA_ARGS__)}
/* The -o given, checked against the command's values as kubectl's
 * printers do; *ret is NULL when none was given. */
int rs_cli_output(const struct rs_cli *cli, const char **ret, rs_err_t *err);
/* Node names asked for that do not exist, as kubectl get ends: one error
 * line each on stderr after the first, which becomes *err (404 NotFound).
 * 0 when missing is empty. */
int rs_cli_nodes_not_found(struct rs_cli *cli, char *const *missing, rs_err_t *err);

/* ---- client.c ---- */

/* Resolve the kubeconfig with the global flags and open a client whose
 * logging goes to stderr as kubectl's -v does. */
int rs_cli_client(struct rs_cli *cli, rs_kube_client_t **ret, rs_err_t *err);
/* What rs_cli_client makes a client of, for a command that makes several
 * (the rollout: one per node in flight). */
int rs_cli_client_config(struct rs_cli *cli, rs_kube_config_t **ret_cfg, struct rs_kube_client_opts *ret_opts,
                         rs_err_t *err);
/* "Warning: ..." on stderr (yellow on a terminal, as kubectl). */
void rs_cli_warn(struct rs_cli *cli, const char *fmt, ...) RS_PRINTF(2, 3);

/* ---- help.c ---- */
void rs_help_root(FILE *f, const struct rs_commands *cmds);
void rs_help_cmd(FILE *f, const struct rs_cmd *cmd);
void rs_help_options(FILE *f);

/* ---- output.c ---- */

/* A text table: rows of cells, columns padded with three spaces. */
struct rs_table;
struct rs_table *rs_table_new(size_t ncols);
int rs_table_add(struct rs_table *t, const char *const *cells);
void rs_table_print(const struct rs_table *t, FILE *f);
void rs_table_free(struct rs_table *t);

/* -o json (4-space indent, as kubectl) and -o yaml. */
int rs_print_json(FILE *f, const json_t *v, rs_err_t *err);
int rs_print_yaml(FILE *f, const json_t *v, rs_err_t *err);

#endif
