/* The command line of kubectl runtime-switch as data: commands, their
 * option tables and positional words, and the one parser that reads argv
 * into a struct rs_cli (plugin/parse.c).  Help (plugin/help.c) and
 * completion (plugin/cmd_complete.c) read the same tables, so a command or
 * an option added to a table is parsed, shown and completed alike.
 *
 * A command is one plugin/cmd_<verb>.c defining a `const struct rs_cmd`
 * (name, handler, help, option tables, positional words), plus one line in
 * the table of plugin/commands.c.  An option is one entry in a table. */
#ifndef RS_PLUGIN_CLI_H
#define RS_PLUGIN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "kube/kubeconfig.h"

enum rs_opt_type { RS_OPT_BOOL, RS_OPT_STRING, RS_OPT_MULTI };

/* What completion offers for an option's value besides opt->values. */
enum rs_opt_complete {
  RS_COMPLETE_VALUES = 0, /* opt->values, or nothing */
  RS_COMPLETE_FILE,       /* the shell's file completion */
  RS_COMPLETE_NAMESPACE,  /* namespaces of the cluster */
};

/* One option.  A table is sorted by name (it is searched with bsearch). */
struct rs_opt {
  const char *name;           /* long name without "--" */
  char short_name;            /* 0: none */
  int type;                   /* enum rs_opt_type */
  const char *arg;            /* placeholder, e.g. "SELECTOR" */
  const char *def;            /* default shown in help; NULL: none */
  const char *help;
  const char *const *values;  /* the values it takes, NULL-terminated, in
                                 the order completion offers them; NULL: any */
  int complete;               /* enum rs_opt_complete */
};
#define RS_VALUES(...) ((const char *const[]){__VA_ARGS__, NULL})

struct rs_opt_table {
  const struct rs_opt *opts;
  size_t n;
};
#define RS_OPT_TABLE(a) {(a), sizeof(a) / sizeof((a)[0])}
/* A command's tables: its own, then shared groups (rs_drain_flags ...). */
#define RS_OPT_TABLES(...) ((const struct rs_opt_table *const[]){__VA_ARGS__, NULL})

/* A command's positional words, for completion. */
enum rs_arg_kind {
  RS_ARG_NONE = 0,
  RS_ARG_NODE,      /* one node name */
  RS_ARG_NODES,     /* node names, any number */
  RS_ARG_COMMAND,   /* one command name */
  RS_ARG_PATH,      /* one file or directory */
};
/* A keyword the first positional word must be ("rollback node", "completion
 * bash"), and what follows it. */
struct rs_arg_word {
  const char *name;
  const char *help;           /* NULL: none */
  int then;                   /* enum rs_arg_kind */
};
struct rs_args {
  const struct rs_arg_word *words; /* ends with {NULL}; NULL: no keyword */
  int kind;                   /* without keywords: enum rs_arg_kind */
};

struct rs_cli;
typedef int (*rs_cmd_fn)(struct rs_cli *cli, rs_err_t *err);

struct rs_cmd {
  const char *name;
  rs_cmd_fn run;
  const char *summary;        /* one line for the command list */
  const char *usage;          /* "status [NODE...] [flags]" */
  const char *description;    /* paragraphs */
  const char *examples;       /* indented lines; NULL: none */
  const struct rs_opt_table *const *opts; /* RS_OPT_TABLES(...); NULL: none */
  struct rs_args args;
  bool hidden;                /* not listed (still runs and has help) */
};

struct rs_commands {
  const struct rs_cmd *const *v; /* in the order help lists them */
  size_t n;
};
/* The plugin's commands (plugin/commands.c).  main() hands them to the
 * parser; commands read them as cli->commands. */
extern const struct rs_commands rs_commands;

/* Everything parsed from argv. */
struct rs_cli {
  struct rs_commands commands;  /* set before parsing */
  const struct rs_cmd *cmd;
  struct rs_kube_overrides ov;
  char **as_groups;           /* storage for ov.as_groups */
  int verbosity;
  bool want_help;             /* -h/--help */
  char **args;                /* positional words after the command */
  char ***values;             /* per command option slot: the values given */
  FILE *out;
  FILE *errf;
  bool err_is_tty;
  int exit_code;              /* set by a failing command: its exit code */
};

/* What can be wrong with a command line; the parser words each one, once. */
enum rs_cli_error {
  RS_CLI_OK = 0,
  RS_CLI_UNKNOWN_COMMAND,
  RS_CLI_UNKNOWN_FLAG,
  RS_CLI_UNKNOWN_SHORTHAND,
  RS_CLI_NO_VALUE,            /* a flag that takes a value came last */
  RS_CLI_BAD_BOOL,
  RS_CLI_BAD_LEVEL,           /* -v */
  RS_CLI_BAD_TIMEOUT,         /* --request-timeout */
  RS_CLI_NO_MEMORY,
};

/* How a leniently parsed command line ended (for completion). */
struct rs_cli_end {
  const struct rs_opt *pending; /* the last word was a flag awaiting its value */
  bool dashdash;                /* "--" was seen */
  bool unknown_cmd;             /* the first positional word is no command */
};

/* Parse argv[0..argc) (the words after the program's name) into cli, whose
 * commands, ov and out/errf are set.  Strict (end == NULL): the first
 * problem fails with RS_E_USAGE and kubectl's words.  Lenient (end set):
 * unknown words and bad values are passed over, and *end tells how the
 * words ended; only running out of memory fails.  Frees nothing of cli:
 * rs_cli_free() does, after success or failure. */
int rs_cli_parse(struct rs_cli *cli, int argc, char *const *argv, struct rs_cli_end *end,
                 rs_err_t *err);
void rs_cli_free(struct rs_cli *cli);

const struct rs_cmd *rs_cmd_find(const struct rs_commands *cmds, const char *name);

/* A command's option by long name (or, name NULL, by short name), and its
 * slot in cli->values; NULL when the command has none such. */
const struct rs_opt *rs_cmd_opt(const struct rs_cmd *cmd, const char *name, char short_name,
                                size_t *ret_slot);
/* The command's option, else kubectl's global flag of that name (*ret_slot
 * is then RS_GLOBAL_SLOT); cmd may be NULL. */
#define RS_GLOBAL_SLOT ((size_t)-1)
const struct rs_opt *rs_flag_find(const struct rs_cmd *cmd, const char *name, char short_name,
                                  size_t *ret_slot);
/* kubectl's global flags (plugin/globals.c), sorted, and what one of them
 * given as value v does to cli. */
extern const struct rs_opt_table rs_global_opts;
enum rs_cli_error rs_global_set(struct rs_cli *cli, const struct rs_opt *o, const char *v);

/* A command's options in name order across its tables:
 *   struct rs_opt_iter it = {.cmd = cmd}; while ((o = rs_opt_next(&it, &slot))) ... */
struct rs_opt_iter {
  const struct rs_cmd *cmd;
  size_t pos[8];
};
const struct rs_opt *rs_opt_next(struct rs_opt_iter *it, size_t *ret_slot);
size_t rs_cmd_opt_count(const struct rs_cmd *cmd);

/* Command options by name: the last value given, or NULL when not given
 * (bool options read "true" or "false"). */
const char *rs_cli_str(const struct rs_cli *cli, const char *name);
bool rs_cli_bool(const struct rs_cli *cli, const char *name);
/* Whether v is one of o's values (any v when o lists none). */
bool rs_opt_allows(const struct rs_opt *o, const char *v);

#endif
