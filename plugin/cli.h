/* The CLI layer: option tables, the parsed command line, the command table
 * and output helpers.  Only plugin/ prints and chooses exit codes.
 *
 * Adding a command: write plugin/cmd_<verb>.c exporting
 * `int cmd_<verb>(struct rs_cli *cli, rs_err_t *err)` and its option table,
 * declare both below, and add one line to the table in main.c. */
#ifndef RS_PLUGIN_CLI_H
#define RS_PLUGIN_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

enum rs_opt_type { RS_OPT_BOOL, RS_OPT_STRING, RS_OPT_MULTI };

/* One option.  Tables are sorted by name (bsearch) and end with {NULL}. */
struct rs_opt {
  const char *name;     /* long name without "--" */
  char short_name;      /* 0: none */
  int type;             /* enum rs_opt_type */
  const char *arg;      /* placeholder in help, e.g. "SELECTOR" */
  const char *def;      /* default shown in help; NULL: none */
  const char *help;
};

struct rs_cli;
typedef int (*rs_cmd_fn)(struct rs_cli *cli, rs_err_t *err);

struct rs_cmd {
  const char *name;
  rs_cmd_fn run;
  const char *summary;        /* one line for the command list */
  const char *usage;          /* "status [NODE...] [flags]" */
  const char *description;    /* paragraphs */
  const char *examples;       /* indented lines */
  const struct rs_opt *opts;  /* sorted by name, ends with {NULL}; NULL: none */
  bool hidden;
};

/* Everything parsed from argv. */
struct rs_cli {
  const struct rs_cmd *cmd;
  struct rs_kube_overrides ov;
  char **as_groups;           /* storage for ov.as_groups */
  int verbosity;
  char **args;                /* positional arguments after the command */
  char **values;              /* per command option: NULL unset, else value */
  char ***multi;              /* per command option of type MULTI */
  FILE *out;
  FILE *errf;
  bool err_is_tty;
  int exit_code;              /* set by a failing command: its exit code */
};

/* Command options by name. */
const char *rs_cli_str(const struct rs_cli *cli, const char *name);
bool rs_cli_bool(const struct rs_cli *cli, const char *name);
char *const *rs_cli_multi(const struct rs_cli *cli, const char *name);

/* Resolve the kubeconfig with the global flags and open a client whose
 * logging goes to stderr as kubectl's -v does. */
int rs_cli_client(struct rs_cli *cli, rs_kube_client_t **ret, rs_err_t *err);
/* "Warning: ..." on stderr (yellow on a terminal, as kubectl). */
void rs_cli_warn(struct rs_cli *cli, const char *fmt, ...) RS_PRINTF(2, 3);

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

/* ---- help.c ---- */
extern const struct rs_cmd rs_commands[];
extern const size_t rs_commands_count;
extern const struct rs_opt rs_global_opts[];
extern const size_t rs_global_opts_count;
void rs_help_root(FILE *f);
void rs_help_cmd(FILE *f, const struct rs_cmd *cmd);
void rs_help_options(FILE *f);
const struct rs_cmd *rs_cmd_find(const char *name);

/* ---- commands ---- */
int cmd_status(struct rs_cli *cli, rs_err_t *err);
int cmd_version(struct rs_cli *cli, rs_err_t *err);
int cmd_help(struct rs_cli *cli, rs_err_t *err);
int cmd_options(struct rs_cli *cli, rs_err_t *err);
int cmd_config(struct rs_cli *cli, rs_err_t *err);
extern const struct rs_opt cmd_status_opts[];
extern const struct rs_opt cmd_version_opts[];
extern const struct rs_opt cmd_config_opts[];
int cmd_cordon(struct rs_cli *cli, rs_err_t *err);
int cmd_uncordon(struct rs_cli *cli, rs_err_t *err);
int cmd_drain(struct rs_cli *cli, rs_err_t *err);
extern const struct rs_opt cmd_cordon_opts[];
extern const struct rs_opt cmd_drain_opts[];
int cmd_node(struct rs_cli *cli, rs_err_t *err);
int cmd_rollback(struct rs_cli *cli, rs_err_t *err);
extern const struct rs_opt cmd_node_opts[];
extern const struct rs_opt cmd_rollback_opts[];

/* Set a string-valued global override (--server, --token, ...) by flag
 * name; false when the name is not one of them. */
bool rs_cli_set_string_override(struct rs_kube_overrides *ov, const char *name,
                                const char *v);

#endif
