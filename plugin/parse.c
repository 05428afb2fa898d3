/* The command line parser, as pflag reads kubectl's: the command is the
 * first positional word; flags (the command's, then kubectl's global
 * ones) may come before or after it, as --name=value, --name value,
 * -c value, -cvalue or -c=value; bool flags take no separate value; "--"
 * ends the flags.  It prints nothing: problems come back as an
 * enum rs_cli_error, worded here once, in kubectl's words. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "plugin/cli.h"

/* ---- commands and their option tables ---- */

const struct rs_cmd *rs_cmd_find(const struct rs_commands *cmds, const char *name) {
  for (size_t i = 0; i < cmds->n; i++)
    if (strcmp(cmds->v[i]->name, name) == 0) return cmds->v[i];
  return NULL;
}

static int opt_cmp(const void *key, const void *elem) {
  return strcmp(key, ((const struct rs_opt *)elem)->name);
}

/* In one table: by long name (bsearch), or by short name. */
static const struct rs_opt *table_find(const struct rs_opt_table *t, const char *name, char c) {
  if (name) return bsearch(name, t->opts, t->n, sizeof *t->opts, opt_cmp);
  for (size_t i = 0; i < t->n; i++)
    if (t->opts[i].short_name == c) return &t->opts[i];
  return NULL;
}

const struct rs_opt *rs_cmd_opt(const struct rs_cmd *cmd, const char *name, char short_name,
                                size_t *ret_slot) {
  size_t base = 0;
  for (size_t k = 0; cmd && cmd->opts && cmd->opts[k]; base += cmd->opts[k]->n, k++) {
    const struct rs_opt *o = table_find(cmd->opts[k], name, short_name);
    if (!o) continue;
    if (ret_slot) *ret_slot = base + (size_t)(o - cmd->opts[k]->opts);
    return o;
  }
  return NULL;
}

const struct rs_opt *rs_flag_find(const struct rs_cmd *cmd, const char *name, char short_name,
                                  size_t *ret_slot) {
  const struct rs_opt *o = rs_cmd_opt(cmd, name, short_name, ret_slot);
  if (o) return o;
  if (ret_slot) *ret_slot = RS_GLOBAL_SLOT;
  return table_find(&rs_global_opts, name, short_name);
}

size_t rs_cmd_opt_count(const struct rs_cmd *cmd) {
  size_t n = 0;
  for (size_t k = 0; cmd && cmd->opts && cmd->opts[k]; k++) n += cmd->opts[k]->n;
  return n;
}

const struct rs_opt *rs_opt_next(struct rs_opt_iter *it, size_t *ret_slot) {
  const struct rs_opt *best = NULL;
  size_t best_k = 0, best_slot = 0, base = 0;
  for (size_t k = 0; it->cmd && it->cmd->opts && it->cmd->opts[k] && k < RS_ARRAY_SIZE(it->pos);
       base += it->cmd->opts[k]->n, k++) {
    const struct rs_opt_table *t = it->cmd->opts[k];
    if (it->pos[k] >= t->n) continue;
    const struct rs_opt *o = &t->opts[it->pos[k]];
    if (!best || strcmp(o->name, best->name) < 0) {
      best = o;
      best_k = k;
      best_slot = base + it->pos[k];
    }
  }
  if (!best) return NULL;
  it->pos[best_k]++;
  if (ret_slot) *ret_slot = best_slot;
  return best;
}

/* ---- values ---- */

const char *rs_cli_str(const struct rs_cli *cli, const char *name) {
  size_t slot;
  if (!cli->values || !rs_cmd_opt(cli->cmd, name, 0, &slot)) return NULL;
  size_t n = rs_strv_len(cli->values[slot]);
  return n ? cli->values[slot][n - 1] : NULL;
}

bool rs_cli_bool(const struct rs_cli *cli, const char *name) {
  const char *v = rs_cli_str(cli, name);
  return v && strcmp(v, "true") == 0;
}

bool rs_opt_allows(const struct rs_opt *o, const char *v) {
  if (!o->values) return true;
  for (size_t i = 0; o->values[i]; i++)
    if (strcmp(o->values[i], v) == 0) return true;
  return false;
}

void rs_cli_free(struct rs_cli *cli) {
  size_t n = rs_cmd_opt_count(cli->cmd);
  for (size_t i = 0; cli->values && i < n; i++) rs_strv_free(cli->values[i]);
  free(cli->values);
  cli->values = NULL;
  rs_strv_free(cli->args);
  cli->args = NULL;
  rs_strv_free(cli->as_groups);
  cli->as_groups = NULL;
  cli->ov.as_groups = NULL;
}

/* ---- errors ---- */

/* What the error is about: the word typed, the flag as kubectl names it
 * ("--timeout", "-o, --output") and the value. */
struct about {
  const char *word;
  const char *flag;
  const char *value;
};

static int cli_fail(rs_err_t *err, enum rs_cli_error e, const struct about *a) {
  switch (e) {
  case RS_CLI_UNKNOWN_COMMAND:
    return rs_fail(err, RS_E_USAGE, 0, "unknown command \"%s\" for \"kubectl runtime-switch\"", a->word);
  case RS_CLI_UNKNOWN_FLAG:
    return rs_fail(err, RS_E_USAGE, 0, "unknown flag: %s", a->flag);
  case RS_CLI_UNKNOWN_SHORTHAND:
    return rs_fail(err, RS_E_USAGE, 0, "unknown shorthand flag: '%c' in %s", a->word[1], a->word);
  case RS_CLI_NO_VALUE:
    return rs_fail(err, RS_E_USAGE, 0, "flag needs an argument: %s", a->flag);
  case RS_CLI_BAD_BOOL:
    return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"%s\" flag: "
                   "strconv.ParseBool: parsing \"%s\": invalid syntax", a->value, a->flag, a->value);
  case RS_CLI_BAD_LEVEL:
    return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"-v, --v\" flag", a->value);
  case RS_CLI_BAD_TIMEOUT:
    return rs_fail(err, RS_E_USAGE, 0,
                   "Invalid timeout value. Timeout must be a single integer in seconds, "
                   "or an integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)");
  case RS_CLI_NO_MEMORY:
  default:
    return rs_oom(err);
  }
}

/* ---- parsing ---- */

/* Go's strconv.ParseBool spellings, as "true" or "false"; NULL for any
 * other. */
static const char *bool_value(const char *v) {
  static const char *const yes[] = {"true", "1", "t", "T", "True", "TRUE"};
  static const char *const no[] = {"false", "0", "f", "F", "False", "FALSE"};
  if (!v) return "true";
  for (size_t i = 0; i < RS_ARRAY_SIZE(yes); i++) {
    if (strcmp(v, yes[i]) == 0) return "true";
    if (strcmp(v, no[i]) == 0) return "false";
  }
  return NULL;
}

/* A word that is not a flag: the command, or one of its arguments. */
static enum rs_cli_error positional(struct rs_cli *cli, const char *a, struct rs_cli_end *end) {
  if (cli->cmd || (end && end->unknown_cmd))
    return rs_strv_push(&cli->args, a, NULL) < 0 ? RS_CLI_NO_MEMORY : RS_CLI_OK;
  cli->cmd = rs_cmd_find(&cli->commands, a);
  if (!cli->cmd) {
    if (end) end->unknown_cmd = true;
    return RS_CLI_UNKNOWN_COMMAND;
  }
  size_t n = rs_cmd_opt_count(cli->cmd);
  cli->values = calloc(n ? n : 1, sizeof *cli->values);
  return cli->values ? RS_CLI_OK : RS_CLI_NO_MEMORY;
}

/* One flag word: the option, and the value when the word holds it. */
struct flag {
  const struct rs_opt *opt;
  size_t slot;                /* RS_GLOBAL_SLOT: one of kubectl's global flags */
  const char *value;
  char *name;                 /* as kubectl names it in errors */
};

static enum rs_cli_error find_flag(const struct rs_cli *cli, const char *a, struct flag *f) {
  if (a[1] == '-') {
    const char *eq = strchr(a + 2, '=');
    _cleanup_free_ char *name = eq ? strndup(a + 2, (size_t)(eq - a - 2)) : strdup(a + 2);
    if (!name) return RS_CLI_NO_MEMORY;
    f->value = eq ? eq + 1 : NULL;
    f->name = rs_strdup_printf("--%s", name);
    if (!f->name) return RS_CLI_NO_MEMORY;
    f->opt = rs_flag_find(cli->cmd, name, 0, &f->slot);
    return f->opt ? RS_CLI_OK : RS_CLI_UNKNOWN_FLAG;
  }
  f->opt = rs_flag_find(cli->cmd, NULL, a[1], &f->slot);
  if (!f->opt) return RS_CLI_UNKNOWN_SHORTHAND;
  if (a[2]) f->value = a[2] == '=' ? a + 3 : a + 2;
  f->name = rs_strdup_printf("-%c, --%s", a[1], f->opt->name);
  return f->name ? RS_CLI_OK : RS_CLI_NO_MEMORY;
}

int rs_cli_parse(struct rs_cli *cli, int argc, char *const *argv, struct rs_cli_end *end,
                 rs_err_t *err) {
  bool dashdash = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    struct about about = {.word = a};
    enum rs_cli_error e;
    if (!dashdash && strcmp(a, "--") == 0) {
      dashdash = true;
      if (end) end->dashdash = true;
      continue;
    }
    if (dashdash || a[0] != '-' || a[1] == '\0') {
      e = positional(cli, a, end);
      if (e && (!end || e == RS_CLI_NO_MEMORY)) return cli_fail(err, e, &about);
      continue;
    }
    struct flag f = {0};
    e = find_flag(cli, a, &f);
    _cleanup_free_ char *flagname = f.name;
    about.flag = flagname;
    about.value = f.value;
    if (e == RS_CLI_OK && f.opt->type == RS_OPT_BOOL) {
      f.value = bool_value(f.value);
      if (!f.value) e = RS_CLI_BAD_BOOL;
    } else if (e == RS_CLI_OK && !f.value) {
      if (i + 1 < argc) {
        f.value = argv[++i];
      } else if (end) {
        end->pending = f.opt;
        break;
      } else {
        e = RS_CLI_NO_VALUE;
      }
    }
    if (e == RS_CLI_OK) {
      about.value = f.value;
      if (f.slot == RS_GLOBAL_SLOT)
        e = rs_global_set(cli, f.opt, f.value);
      else if (rs_strv_push(&cli->values[f.slot], f.value, NULL) < 0)
        e = RS_CLI_NO_MEMORY;
    }
    if (e && (!end || e == RS_CLI_NO_MEMORY)) return cli_fail(err, e, &about);
  }
  return 0;
}
