/* The hidden __complete command behind `completion bash|zsh` and kubectl's
 * plugin completion (kubectl_complete-runtime_switch, kubectl >= 1.26).
 *
 * It gets the words typed after the plugin's name, the last one being the
 * word under the cursor (often ""), and prints Cobra's protocol:
 * candidates, one per line as "name\tdescription", then ":<directive>".
 * The words before the cursor go through the command line parser
 * (leniently), and every candidate comes from the tables the parser
 * reads: commands, their flags and kubectl's global ones, the values an
 * option lists, a command's keywords; node and namespace names come from
 * the cluster that the --kubeconfig/--context/... flags already typed
 * select.  It never fails loudly: a shell has nowhere to show an error, so
 * problems go to $BASH_COMP_DEBUG_FILE when set, as Cobra's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "plugin/completion.h"

#define COMPLETE_TIMEOUT_MS 5000 /* a TAB must not hang on a dead cluster */

/* ---- the argument vector ---- */

/* Reachable until exit on purpose (LeakSanitizer scans it; "used" keeps the
 * store the optimiser would otherwise drop). */
static char **completion_argv __attribute__((used));
static char *completion_fallback[] = {(char *)"kubectl-runtime_switch", (char *)"__complete",
                                      (char *)"--", NULL};

void rs_completion_argv(int *argc, char ***argv) {
  if (*argc < 1 || !(*argv)[0]) return;
  const char *a0 = (*argv)[0];
  const char *base = strrchr(a0, '/');
  base = base ? base + 1 : a0;
  int skip;
  if (rs_startswith(base, "kubectl_complete-"))
    skip = 1;
  else if (*argc > 1 && strcmp((*argv)[1], "__complete") == 0)
    skip = 2;
  else
    return;
  char **v = calloc((size_t)(*argc - skip) + 4, sizeof *v);
  if (!v) {
    /* Never fall through to running the typed words as a command. */
    *argc = 3;
    *argv = completion_fallback;
    return;
  }
  v[0] = (*argv)[0];
  v[1] = (char *)"__complete";
  v[2] = (char *)"--";
  for (int i = skip; i < *argc; i++) v[3 + i - skip] = (*argv)[i];
  *argc = 3 + *argc - skip;
  *argv = completion_argv = v;
}

/* ---- output ---- */

struct emit {
  FILE *f;
  const char *prefix;  /* the word under the cursor */
};

/* One candidate if it starts with the current word; the description is
 * cut at its first sentence and kept on one line. */
static void emit(struct emit *e, const char *name, const char *desc) {
  if (!name || !*name || !rs_startswith(name, e->prefix)) return;
  fputs(name, e->f);
  if (desc && *desc) {
    fputc('\t', e->f);
    for (const char *p = desc; *p && *p != '\n'; p++) {
      if (p[0] == '.' && (p[1] == ' ' || p[1] == '\0')) break;
      fputc(*p == '\t' ? ' ' : *p, e->f);
    }
  }
  fputc('\n', e->f);
}

static void debug(const char *fmt, ...) RS_PRINTF(1, 2);
static void debug(const char *fmt, ...) {
  const char *path = getenv("BASH_COMP_DEBUG_FILE");
  if (!path || !*path) return;
  _cleanup_fclose_ FILE *f = fopen(path, "ae");
  if (!f) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("kubectl-runtime_switch __complete: ", f);
  vfprintf(f, fmt, ap);
  fputc('\n', f);
  va_end(ap);
}

/* ---- candidates from the tables ---- */

static void emit_commands(struct emit *e, const struct rs_commands *cmds) {
  for (size_t i = 0; i < cmds->n; i++)
    if (!cmds->v[i]->hidden) emit(e, cmds->v[i]->name, cmds->v[i]->summary);
}

static void emit_flag(struct emit *e, const struct rs_opt *o, bool shorts) {
  char buf[128];
  if (shorts && o->short_name) {
    snprintf(buf, sizeof buf, "-%c", o->short_name);
    emit(e, buf, o->help);
  }
  snprintf(buf, sizeof buf, "--%s", o->name);
  emit(e, buf, o->help);
}

/* The command's flags, then kubectl's global ones. */
static void emit_flags(struct emit *e, const struct rs_cmd *cmd) {
  bool shorts = e->prefix[1] != '-';  /* "-" or "-x": short forms too */
  struct rs_opt_iter it = {.cmd = cmd};
  for (const struct rs_opt *o; (o = rs_opt_next(&it, NULL));) emit_flag(e, o, shorts);
  for (size_t i = 0; i < rs_global_opts.n; i++) emit_flag(e, &rs_global_opts.opts[i], shorts);
}

/* ---- candidates from the cluster ---- */

struct names_ctx {
  struct emit *e;
  char *const *skip;
  bool runtime;  /* describe nodes by their container runtime */
};

static int name_item(void *ud, json_t *item, rs_err_t *err) {
  (void)err;
  struct names_ctx *x = ud;
  const char *name = json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
  if (!name || rs_strv_contains(x->skip, name)) return 0;
  const char *desc = NULL;
  if (x->runtime)
    desc = json_string_value(json_object_get(
        json_object_get(json_object_get(item, "status"), "nodeInfo"), "containerRuntimeVersion"));
  emit(x->e, name, desc);
  return 0;
}

/* Names of a cluster-scoped list (nodes, namespaces) from the cluster the
 * typed flags select; the names typed already are left out. */
static int emit_cluster_names(struct emit *e, const struct rs_cli *typed, const char *path,
                              bool runtime, rs_err_t *err) {
  _cleanup_kube_config_ rs_kube_config_t *cfg = NULL;
  _cleanup_kube_client_ rs_kube_client_t *c = NULL;
  if (rs_kube_config_resolve(&typed->ov, NULL, &cfg, err) < 0) return -1;
  long long timeout_ms = 0;
  if (typed->ov.request_timeout && rs_parse_duration_ms(typed->ov.request_timeout, &timeout_ms) < 0)
    timeout_ms = 0;
  struct rs_kube_client_opts o = {
      .deadline_ms = rs_now_ms() + (timeout_ms > 0 ? timeout_ms : COMPLETE_TIMEOUT_MS),
      .max_retries = -1,
  };
  if (rs_kube_client_new(cfg, &o, &c, err) < 0) return -1;
  struct names_ctx x = {.e = e, .skip = typed->args, .runtime = runtime};
  struct rs_kube_list_opts lo = {.limit = 500};
  return rs_kube_list(c, path, &lo, name_item, &x, NULL, err);
}

static void emit_nodes(struct emit *e, const struct rs_cli *typed) {
  _cleanup_err_ rs_err_t err = RS_ERR_INIT;
  if (emit_cluster_names(e, typed, "/api/v1/nodes", true, &err) < 0)
    debug("nodes: %s", err.msg ? err.msg : "failed");
}

/* ---- what to complete ---- */

/* The value of option o (lead: "--flag=" when the value shares the word
 * with its flag).  Returns the directive. */
static int complete_value(struct emit *e, const struct rs_cli *typed, const struct rs_opt *o,
                          const char *lead) {
  if (o->complete == RS_COMPLETE_FILE) return RS_COMP_DEFAULT;
  if (o->complete == RS_COMPLETE_NAMESPACE && !*lead) {
    _cleanup_err_ rs_err_t err = RS_ERR_INIT;
    if (emit_cluster_names(e, typed, "/api/v1/namespaces", false, &err) < 0)
      debug("namespaces: %s", err.msg ? err.msg : "failed");
    return RS_COMP_NOFILE;
  }
  for (size_t i = 0; o->values && o->values[i]; i++) {
    char word[96];
    int n = snprintf(word, sizeof word, "%s%s", lead, o->values[i]);
    if (n > 0 && (size_t)n < sizeof word) emit(e, word, NULL);
  }
  return RS_COMP_NOFILE;
}

/* A positional word of typed->cmd: a keyword, then what follows it. */
static int complete_arg(struct emit *e, const struct rs_cli *typed) {
  const struct rs_args *a = &typed->cmd->args;
  size_t npos = rs_strv_len(typed->args);
  int kind = a->kind;
  if (a->words) {
    if (npos == 0) {
      for (size_t i = 0; a->words[i].name; i++) emit(e, a->words[i].name, a->words[i].help);
      return RS_COMP_NOFILE;
    }
    kind = RS_ARG_NONE;
    for (size_t i = 0; a->words[i].name; i++)
      if (strcmp(a->words[i].name, typed->args[0]) == 0) kind = a->words[i].then;
    npos--;
  }
  switch (kind) {
  case RS_ARG_NODES:
    emit_nodes(e, typed);
    break;
  case RS_ARG_NODE:
    if (npos == 0) emit_nodes(e, typed);
    break;
  case RS_ARG_COMMAND:
    if (npos == 0) emit_commands(e, &typed->commands);
    break;
  case RS_ARG_PATH:
    if (npos == 0) return RS_COMP_DEFAULT;
    break;
  default:
    break;
  }
  return RS_COMP_NOFILE;
}

/* cur is the word under the cursor; typed holds the words before it. */
static int complete(struct emit *e, const struct rs_cli *typed, const struct rs_cli_end *end,
                    const char *cur) {
  if (end->pending) return complete_value(e, typed, end->pending, "");
  if (!end->dashdash && cur[0] == '-') {
    const char *eq = strchr(cur, '=');
    if (!eq || cur[1] != '-') {
      emit_flags(e, typed->cmd);
      return RS_COMP_NOFILE;
    }
    _cleanup_free_ char *name = strndup(cur + 2, (size_t)(eq - cur - 2));
    _cleanup_free_ char *lead = strndup(cur, (size_t)(eq - cur + 1));
    if (!name || !lead) return RS_COMP_NOFILE;
    const struct rs_opt *o = rs_flag_find(typed->cmd, name, 0, NULL);
    return o && o->type != RS_OPT_BOOL ? complete_value(e, typed, o, lead) : RS_COMP_NOFILE;
  }
  if (end->unknown_cmd) return RS_COMP_NOFILE;
  if (!typed->cmd) {
    emit_commands(e, &typed->commands);
    return RS_COMP_NOFILE;
  }
  return complete_arg(e, typed);
}

static int cmd_complete(struct rs_cli *cli, rs_err_t *err) {
  (void)err;
  size_t n = rs_strv_len(cli->args);
  const char *cur = n ? cli->args[n - 1] : "";
  struct rs_cli typed = {.commands = cli->commands, .ov = RS_KUBE_OVERRIDES_INIT};
  struct rs_cli_end end = {0};
  _cleanup_err_ rs_err_t perr = RS_ERR_INIT;
  struct emit e = {.f = cli->out, .prefix = cur};
  int directive = RS_COMP_NOFILE;
  if (rs_cli_parse(&typed, n ? (int)n - 1 : 0, cli->args, &end, &perr) == 0)
    directive = complete(&e, &typed, &end, cur);
  else
    debug("%s", perr.msg ? perr.msg : "failed");
  fprintf(cli->out, ":%d\n", directive);
  rs_cli_free(&typed);
  return 0;
}

const struct rs_cmd rs_cmd_complete = {
    .name = "__complete", .run = cmd_complete, .hidden = true,
    .summary = "Completion candidates (Cobra protocol)",
    .usage = "__complete [WORD...] CURRENT",
    .description = "Print the completions of the last word; " RS_COMPLETE_HELPER " runs this.",
};
