/* kubectl runtime-switch completion bash|zsh|helper [DIR], and the hidden
 * __complete entry point behind them and behind kubectl's plugin
 * completion (kubectl_complete-runtime_switch, kubectl >= 1.26).
 *
 * __complete gets the words typed after the plugin's name, the last one
 * being the word under the cursor (often ""), and prints Cobra's protocol:
 * candidates, one per line as "name\tdescription", then ":<directive>".
 * It completes subcommands, flags (the command's and kubectl's global
 * ones), values listed in a flag's help ("One of 'a' or 'b'"), namespaces,
 * and node names from the cluster, using the --kubeconfig/--context/...
 * flags already typed.  It never fails loudly: a shell has nowhere to show
 * an error, so problems go to $BASH_COMP_DEBUG_FILE when set, as Cobra's. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "plugin/completion.h"

#define PLUGIN_BIN "kubectl-runtime_switch"
#define COMPLETE_TIMEOUT_MS 5000 /* a TAB must not hang on a dead cluster */

/* ---- the argument vector ---- */

/* Reachable until exit on purpose (LeakSanitizer scans it; "used" keeps the
 * store the optimiser would otherwise drop). */
static char **completion_argv __attribute__((used));
static char *completion_fallback[] = {(char *)PLUGIN_BIN, (char *)"__complete",
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
  size_t count;
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
  e->count++;
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

/* ---- what the typed words say ---- */

struct typed {
  const struct rs_cmd *cmd;
  char **pos;                 /* positional words after the command */
  const struct rs_opt *want;  /* the last full word was a flag awaiting a value */
  bool dashdash;
  bool unknown_cmd;
  struct rs_kube_overrides ov;
  char **groups;
  long long timeout_ms;
};

static size_t opts_len(const struct rs_opt *t) {
  size_t n = 0;
  while (t && t[n].name) n++;
  return n;
}

/* The command's flag first, then kubectl's global one; by long name, or by
 * short name when name is NULL. */
static const struct rs_opt *flag_find(const struct rs_cmd *cmd, const char *name, char shortc) {
  const struct rs_opt *tables[2] = {cmd ? cmd->opts : NULL, rs_global_opts};
  size_t lens[2] = {cmd ? opts_len(cmd->opts) : 0, rs_global_opts_count};
  for (size_t t = 0; t < 2; t++)
    for (size_t i = 0; i < lens[t]; i++) {
      const struct rs_opt *o = &tables[t][i];
      if (name ? strcmp(o->name, name) == 0 : o->short_name == shortc) return o;
    }
  return NULL;
}

static bool is_global(const struct rs_opt *o) {
  return o >= rs_global_opts && o < rs_global_opts + rs_global_opts_count;
}

/* The global flags that choose the cluster and the credentials. */
static void note_global(struct typed *t, const struct rs_opt *o, const char *v) {
  if (!is_global(o)) return;
  if (strcmp(o->name, "insecure-skip-tls-verify") == 0) {
    t->ov.insecure_skip_tls_verify = !v || strcmp(v, "false") != 0;
    return;
  }
  if (strcmp(o->name, "request-timeout") == 0) {
    long long ms;
    if (rs_parse_duration_ms(v, &ms) == 0 && ms > 0) t->timeout_ms = ms;
    return;
  }
  if (strcmp(o->name, "as-group") == 0) {
    if (rs_strv_push(&t->groups, v, NULL) == 0)
      t->ov.as_groups = (const char *const *)t->groups;
    return;
  }
  (void)rs_cli_set_string_override(&t->ov, o->name, v);
}

/* Walk the fully typed words (all but the last). */
static void read_words(struct typed *t, char *const *w, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *a = w[i];
    if (t->want) {
      note_global(t, t->want, a);
      t->want = NULL;
      continue;
    }
    if (!t->dashdash && strcmp(a, "--") == 0) {
      t->dashdash = true;
      continue;
    }
    if (t->dashdash || a[0] != '-' || a[1] == '\0') {
      if (!t->cmd && !t->unknown_cmd) {
        t->cmd = rs_cmd_find(a);
        t->unknown_cmd = !t->cmd;
      } else {
        rs_strv_push(&t->pos, a, NULL);
      }
      continue;
    }
    const struct rs_opt *o;
    const char *val = NULL;
    if (a[1] == '-') {
      const char *eq = strchr(a + 2, '=');
      _cleanup_free_ char *name = eq ? strndup(a + 2, (size_t)(eq - a - 2)) : strdup(a + 2);
      if (!name) continue;
      o = flag_find(t->cmd, name, 0);
      if (eq) val = eq + 1;
    } else {
      o = flag_find(t->cmd, NULL, a[1]);
      if (a[2]) val = a[2] == '=' ? a + 3 : a + 2;
    }
    if (!o) continue;
    if (o->type == RS_OPT_BOOL || val)
      note_global(t, o, val);
    else
      t->want = o;
  }
}

/* ---- candidates ---- */

static void emit_commands(struct emit *e) {
  for (size_t i = 0; i < rs_commands_count; i++)
    if (!rs_commands[i].hidden) emit(e, rs_commands[i].name, rs_commands[i].summary);
}

static void emit_flags_of(struct emit *e, const struct rs_opt *t, size_t n, bool shorts) {
  for (size_t i = 0; i < n; i++) {
    char buf[128];
    if (shorts && t[i].short_name) {
      snprintf(buf, sizeof buf, "-%c", t[i].short_name);
      emit(e, buf, t[i].help);
    }
    snprintf(buf, sizeof buf, "--%s", t[i].name);
    emit(e, buf, t[i].help);
  }
}

static void emit_flags(struct emit *e, const struct rs_cmd *cmd) {
  bool shorts = e->prefix[1] != '-';  /* "-" or "-x": short forms too */
  if (cmd) emit_flags_of(e, cmd->opts, opts_len(cmd->opts), shorts);
  emit_flags_of(e, rs_global_opts, rs_global_opts_count, shorts);
}

/* Flags whose values the help text does not list in a parseable way. */
static const struct {
  const char *flag;
  const char *values[4];
} flag_values[] = {
    {"dry-run", {"none", "client", "server", NULL}},  /* string-typed ones only */
    {"to", {"containerd", "cri-o", "cri-dockerd", NULL}},
};

static void emit_value(struct emit *e, const char *lead, const char *v, size_t len) {
  char word[96];
  if (len == 0 || len > 64) return;
  int n = snprintf(word, sizeof word, "%s%.*s", lead, (int)len, v);
  if (n > 0 && (size_t)n < sizeof word) emit(e, word, NULL);
}

/* Values a flag's help spells out: "One of 'yaml' or 'json'." or
 * "One of: (json, yaml, wide)." */
static void emit_listed_values(struct emit *e, const struct rs_opt *o, const char *lead) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(flag_values); i++)
    if (strcmp(o->name, flag_values[i].flag) == 0) {
      for (size_t j = 0; flag_values[i].values[j]; j++)
        emit_value(e, lead, flag_values[i].values[j], strlen(flag_values[i].values[j]));
      return;
    }
  const char *p = o->help ? strstr(o->help, "One of") : NULL;
  if (!p) return;
  p += 6;
  const char *q = strchr(p, '\'');
  if (q && q < p + 4) {
    while ((p = strchr(p, '\''))) {
      const char *end = strchr(++p, '\'');
      if (!end) break;
      emit_value(e, lead, p, (size_t)(end - p));
      p = end + 1;
      if (*p == '.') break;
    }
    return;
  }
  static const char word_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
  p += strspn(p, ": (");
  while (*p && *p != '.' && *p != ')') {
    size_t len = strspn(p, word_chars);
    if (len == 0) break;
    if (!(len == 2 && strncmp(p, "or", 2) == 0)) emit_value(e, lead, p, len);
    p += len;
    p += strspn(p, ", ");
  }
}

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
 * typed flags select. */
static int emit_cluster_names(struct emit *e, const struct typed *t, const char *path,
                              bool runtime, rs_err_t *err) {
  _cleanup_kube_config_ rs_kube_config_t *cfg = NULL;
  _cleanup_kube_client_ rs_kube_client_t *c = NULL;
  if (rs_kube_config_resolve(&t->ov, NULL, &cfg, err) < 0) return -1;
  struct rs_kube_client_opts o = {
      .deadline_ms = rs_now_ms() + (t->timeout_ms ? t->timeout_ms : COMPLETE_TIMEOUT_MS),
      .max_retries = -1,
  };
  if (rs_kube_client_new(cfg, &o, &c, err) < 0) return -1;
  struct names_ctx x = {.e = e, .skip = t->pos, .runtime = runtime};
  struct rs_kube_list_opts lo = {.limit = 500};
  return rs_kube_list(c, path, &lo, name_item, &x, NULL, err);
}

/* The value of flag o, being typed as `cur` (lead: "--flag=" when the value
 * shares the word with its flag).  Returns the directive. */
static int complete_value(struct emit *e, const struct typed *t, const struct rs_opt *o,
                          const char *lead) {
  static const char *const file_flags[] = {"certificate-authority", "client-certificate",
                                           "client-key", "kubeconfig"};
  for (size_t i = 0; i < RS_ARRAY_SIZE(file_flags); i++)
    if (strcmp(o->name, file_flags[i]) == 0) return RS_COMP_DEFAULT;  /* files */
  if (is_global(o) && strcmp(o->name, "namespace") == 0 && !*lead) {
    _cleanup_err_ rs_err_t err = RS_ERR_INIT;
    if (emit_cluster_names(e, t, "/api/v1/namespaces", false, &err) < 0)
      debug("namespaces: %s", err.msg ? err.msg : "failed");
    return RS_COMP_NOFILE;
  }
  emit_listed_values(e, o, lead);
  return RS_COMP_NOFILE;
}

/* Commands whose positional words are node names: many of them, exactly
 * one, or one after a fixed keyword ("rollback node NAME"). */
enum node_args { NODES_MANY, NODES_ONE };
static const struct {
  const char *cmd;
  const char *keyword;  /* NULL: none */
  int kind;             /* enum node_args */
} node_cmds[] = {
    {"cordon", NULL, NODES_MANY},   {"drain", NULL, NODES_MANY},
    {"node", NULL, NODES_ONE},      {"rollback", "node", NODES_ONE},
    {"status", NULL, NODES_MANY},   {"uncordon", NULL, NODES_MANY},
};

static void emit_nodes(struct emit *e, const struct typed *t) {
  _cleanup_err_ rs_err_t err = RS_ERR_INIT;
  if (emit_cluster_names(e, t, "/api/v1/nodes", true, &err) < 0)
    debug("nodes: %s", err.msg ? err.msg : "failed");
}

/* A positional word of t->cmd. */
static int complete_arg(struct emit *e, const struct typed *t) {
  const struct rs_cmd *cmd = t->cmd;
  size_t npos = rs_strv_len(t->pos);
  if (strcmp(cmd->name, "completion") == 0) {
    if (npos == 0) {
      emit(e, "bash", "bash completion for kubectl-runtime_switch");
      emit(e, "zsh", "zsh completion for kubectl-runtime_switch");
      emit(e, "helper", "link " RS_COMPLETE_HELPER " for kubectl's own completion");
      return RS_COMP_NOFILE;
    }
    return npos == 1 && strcmp(t->pos[0], "helper") == 0 ? RS_COMP_DEFAULT : RS_COMP_NOFILE;
  }
  if (strcmp(cmd->name, "help") == 0) {
    if (npos == 0) emit_commands(e);
    return RS_COMP_NOFILE;
  }
  for (size_t i = 0; i < RS_ARRAY_SIZE(node_cmds); i++) {
    if (strcmp(cmd->name, node_cmds[i].cmd) != 0) continue;
    size_t first = 0;
    if (node_cmds[i].keyword) {
      if (npos == 0) {
        emit(e, node_cmds[i].keyword, NULL);
        return RS_COMP_NOFILE;
      }
      first = 1;
    }
    if (node_cmds[i].kind == NODES_MANY || npos == first) emit_nodes(e, t);
    return RS_COMP_NOFILE;
  }
  /* A command not in the table: its usage line says whether it takes nodes. */
  const char *u = cmd->usage ? strstr(cmd->usage, "NODE") : NULL;
  if (u && (rs_startswith(u, "NODE...") || npos == 0)) emit_nodes(e, t);
  return RS_COMP_NOFILE;
}

int cmd_complete(struct rs_cli *cli, rs_err_t *err) {
  (void)err;
  char *const *w = cli->args;
  size_t n = rs_strv_len(w);
  const char *cur = n ? w[n - 1] : "";
  struct typed t = {.ov = RS_KUBE_OVERRIDES_INIT};
  read_words(&t, w, n ? n - 1 : 0);
  struct emit e = {.f = cli->out, .prefix = cur};
  int directive = RS_COMP_NOFILE;

  if (t.want) {
    directive = complete_value(&e, &t, t.want, "");
  } else if (!t.dashdash && cur[0] == '-') {
    const char *eq = strchr(cur, '=');
    if (eq && cur[1] == '-') {
      _cleanup_free_ char *name = strndup(cur + 2, (size_t)(eq - cur - 2));
      _cleanup_free_ char *lead = strndup(cur, (size_t)(eq - cur + 1));
      const struct rs_opt *o = name ? flag_find(t.cmd, name, 0) : NULL;
      if (o && lead && o->type != RS_OPT_BOOL) directive = complete_value(&e, &t, o, lead);
    } else {
      emit_flags(&e, t.cmd);
    }
  } else if (t.unknown_cmd) {
    directive = RS_COMP_NOFILE;
  } else if (!t.cmd) {
    emit_commands(&e);
  } else {
    directive = complete_arg(&e, &t);
  }
  fprintf(cli->out, ":%d\n", directive);
  rs_strv_free(t.pos);
  rs_strv_free(t.groups);
  return 0;
}

/* ---- completion bash|zsh ---- */

/* Both scripts ask the plugin itself (`__complete`) and only turn its
 * answer into the shell's form, so they never go stale. */
static const char bash_script[] =
    "# bash completion for kubectl-runtime_switch (kubectl runtime-switch).\n"
    "# Load it in this shell:   source <(kubectl runtime-switch completion bash)\n"
    "# or for every shell:      kubectl runtime-switch completion bash \\\n"
    "#     > ~/.local/share/bash-completion/completions/kubectl-runtime_switch\n"
    "# `kubectl runtime-switch <TAB>` itself is completed by kubectl's own\n"
    "# completion (kubectl >= 1.26) through " RS_COMPLETE_HELPER ":\n"
    "# see `kubectl runtime-switch completion helper`.\n"
    "\n"
    "__kubectl_runtime_switch_complete() {\n"
    "    local cur words cword\n"
    "    if declare -F _get_comp_words_by_ref >/dev/null; then\n"
    "        _get_comp_words_by_ref -n =: cur words cword\n"
    "    else\n"
    "        cur=${COMP_WORDS[COMP_CWORD]} words=(\"${COMP_WORDS[@]}\") cword=$COMP_CWORD\n"
    "    fi\n"
    "    local out directive line\n"
    "    out=$(\"${words[0]}\" __complete \"${words[@]:1:cword-1}\" \"$cur\" 2>/dev/null) || return\n"
    "    directive=${out##*:}\n"
    "    [[ $directive =~ ^[0-9]+$ ]] || directive=0\n"
    "    out=${out%:*}\n"
    "    (( directive & 1 )) && return\n"
    "    COMPREPLY=()\n"
    "    while IFS= read -r line; do\n"
    "        [[ -n $line ]] && COMPREPLY+=(\"${line%%$'\\t'*}\")\n"
    "    done <<<\"$out\"\n"
    "    (( directive & 2 )) && compopt -o nospace 2>/dev/null\n"
    "    if (( ${#COMPREPLY[@]} == 0 )) && (( directive & 4 )); then\n"
    "        compopt +o default 2>/dev/null\n"
    "    fi\n"
    "    # --flag=value and host:port words: offer what follows the break.\n"
    "    if declare -F __ltrim_colon_completions >/dev/null; then\n"
    "        __ltrim_colon_completions \"$cur\"\n"
    "    fi\n"
    "}\n"
    "complete -o default -F __kubectl_runtime_switch_complete kubectl-runtime_switch\n";

static const char zsh_script[] =
    "#compdef kubectl-runtime_switch\n"
    "# zsh completion for kubectl-runtime_switch (kubectl runtime-switch).\n"
    "# Load it in this shell:   source <(kubectl runtime-switch completion zsh)\n"
    "# or put it in $fpath as _kubectl-runtime_switch.  `kubectl runtime-switch\n"
    "# <TAB>` is completed by kubectl's own completion (kubectl >= 1.26) through\n"
    "# " RS_COMPLETE_HELPER ": see `kubectl runtime-switch completion helper`.\n"
    "\n"
    "_kubectl_runtime_switch() {\n"
    "    local out directive line name desc\n"
    "    local -a lines comps\n"
    "    out=$(\"${words[1]}\" __complete \"${(@)words[2,CURRENT-1]}\" \"${words[CURRENT]}\" 2>/dev/null) || return 1\n"
    "    lines=(\"${(@f)out}\")\n"
    "    directive=${lines[-1]#:}\n"
    "    [[ $directive == <-> ]] || directive=0\n"
    "    lines=(\"${(@)lines[1,-2]}\")\n"
    "    (( directive & 1 )) && return 1\n"
    "    for line in \"${lines[@]}\"; do\n"
    "        [[ -z $line ]] && continue\n"
    "        name=${line%%$'\\t'*}\n"
    "        desc=${line#*$'\\t'}\n"
    "        [[ $desc == \"$line\" ]] && desc=''\n"
    "        comps+=(\"${name//:/\\\\:}${desc:+:$desc}\")\n"
    "    done\n"
    "    if (( ${#comps} )); then\n"
    "        if (( directive & 2 )); then\n"
    "            _describe -t values 'completions' comps -S ''\n"
    "        else\n"
    "            _describe -t values 'completions' comps\n"
    "        fi\n"
    "    elif (( ! (directive & 4) )); then\n"
    "        _files\n"
    "    fi\n"
    "}\n"
    "\n"
    "if [[ $funcstack[1] == _kubectl_runtime_switch ]]; then\n"
    "    _kubectl_runtime_switch \"$@\"\n"
    "else\n"
    "    compdef _kubectl_runtime_switch kubectl-runtime_switch\n"
    "fi\n";

/* ---- completion helper [DIR] ---- */

/* The directory kubectl would find the plugin in: the first PATH entry
 * holding an executable kubectl-runtime_switch. */
static char *plugin_dir(rs_err_t *err) {
  const char *path = getenv("PATH");
  for (const char *p = path; p && *p;) {
    size_t len = strcspn(p, ":");
    if (len > 0) {
      _cleanup_free_ char *cand = rs_strdup_printf("%.*s/" PLUGIN_BIN, (int)len, p);
      if (!cand) return rs_oom(err), NULL;
      if (access(cand, X_OK) == 0) return strndup(p, len);
    }
    p += len;
    if (*p == ':') p++;
  }
  rs_fail(err, RS_E_USAGE, 0, PLUGIN_BIN " is not on PATH: name the directory, "
          "e.g. `kubectl runtime-switch completion helper ~/.local/bin`");
  return NULL;
}

/* DIR/kubectl_complete-runtime_switch -> the plugin (a relative link when
 * the plugin is in DIR, so krew upgrades keep it working), replaced
 * atomically. */
static int install_helper(struct rs_cli *cli, const char *dir_arg, rs_err_t *err) {
  _cleanup_free_ char *dir = dir_arg ? strdup(dir_arg) : plugin_dir(err);
  if (!dir) return dir_arg ? rs_oom(err) : -1;
  struct stat st;
  if (stat(dir, &st) < 0) return rs_fail_errno(err, errno, "%s", dir);
  if (!S_ISDIR(st.st_mode)) return rs_fail(err, RS_E_USAGE, 0, "%s is not a directory", dir);
  _cleanup_free_ char *next_to = rs_strdup_printf("%s/" PLUGIN_BIN, dir);
  _cleanup_free_ char *self = NULL;
  const char *target = PLUGIN_BIN;
  if (!next_to) return rs_oom(err);
  if (access(next_to, X_OK) != 0) {
    self = realpath("/proc/self/exe", NULL);
    if (!self) return rs_fail_errno(err, errno, "finding this program (/proc/self/exe)");
    target = self;
  }
  _cleanup_free_ char *link = rs_strdup_printf("%s/" RS_COMPLETE_HELPER, dir);
  _cleanup_free_ char *tmp = rs_strdup_printf("%s/." RS_COMPLETE_HELPER ".%ld", dir, (long)getpid());
  if (!link || !tmp) return rs_oom(err);
  (void)unlink(tmp);
  if (symlink(target, tmp) < 0) return rs_fail_errno(err, errno, "creating %s", link);
  if (rename(tmp, link) < 0) {
    int e = errno;
    (void)unlink(tmp);
    return rs_fail_errno(err, e, "creating %s", link);
  }
  fprintf(cli->out, "%s -> %s\n", link, target);
  return 0;
}

int cmd_completion(struct rs_cli *cli, rs_err_t *err) {
  size_t n = rs_strv_len(cli->args);
  const char *shell = n ? cli->args[0] : NULL;
  if (!shell)
    return rs_fail(err, RS_E_USAGE, 0, "Shell not specified: bash, zsh, or helper [DIR]");
  if (strcmp(shell, "helper") == 0) {
    if (n > 2) return rs_fail(err, RS_E_USAGE, 0, "too many arguments: helper takes one DIR");
    return install_helper(cli, n == 2 ? cli->args[1] : NULL, err);
  }
  if (n > 1) return rs_fail(err, RS_E_USAGE, 0, "too many arguments: expected only the shell type");
  if (strcmp(shell, "bash") == 0)
    fputs(bash_script, cli->out);
  else if (strcmp(shell, "zsh") == 0)
    fputs(zsh_script, cli->out);
  else
    return rs_fail(err, RS_E_USAGE, 0, "Unsupported shell type \"%s\": bash, zsh or helper", shell);
  return 0;
}
