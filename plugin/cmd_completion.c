/* kubectl runtime-switch completion bash|zsh|helper [DIR]: the shell
 * scripts, which ask the plugin's hidden __complete command
 * (cmd_complete.c) for every candidate, and the link kubectl's own
 * completion runs (kubectl >= 1.26). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "plugin/completion.h"

#define PLUGIN_BIN "kubectl-runtime_switch"

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

static int cmd_completion(struct rs_cli *cli, rs_err_t *err) {
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

const struct rs_cmd rs_cmd_completion = {
    .name = "completion", .run = cmd_completion,
    .summary = "Output shell completion code for bash or zsh, or link kubectl's completion helper",
    .usage = "completion bash|zsh|helper [DIR]",
    .description =
        "Print a completion script for bash or zsh (for the kubectl-runtime_switch command), or,\n"
        "with `helper`, link " RS_COMPLETE_HELPER " next to the plugin (or into DIR):\n"
        "kubectl 1.26 and later run it to complete `kubectl runtime-switch ...`.",
    .examples = "  source <(kubectl runtime-switch completion bash)\n"
                "  kubectl runtime-switch completion helper\n"
                "  kubectl runtime-switch completion helper ~/.local/bin",
    .args = {.words = (const struct rs_arg_word[]){
                 {"bash", "bash completion for kubectl-runtime_switch", RS_ARG_NONE},
                 {"zsh", "zsh completion for kubectl-runtime_switch", RS_ARG_NONE},
                 {"helper", "link " RS_COMPLETE_HELPER " for kubectl's own completion", RS_ARG_PATH},
                 {NULL, NULL, 0}}},
};
