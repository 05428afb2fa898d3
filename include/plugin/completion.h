/* Shell completion: `completion bash|zsh|helper` (plugin/cmd_completion.c)
 * and the hidden `__complete` entry point (plugin/cmd_complete.c) that
 * speaks Cobra's protocol (one candidate per line, "name\tdescription",
 * then ":<directive>").  kubectl >= 1.26 runs
 * `kubectl_complete-runtime_switch ARGS... CURRENT` for plugin
 * completions; that name is a link to the plugin itself. */
#ifndef RS_PLUGIN_COMPLETION_H
#define RS_PLUGIN_COMPLETION_H

/* The helper's name, as kubectl derives it from the plugin's. */
#define RS_COMPLETE_HELPER "kubectl_complete-runtime_switch"

/* Cobra's ShellCompDirective bits. */
enum {
  RS_COMP_DEFAULT = 0,
  RS_COMP_ERROR = 1,
  RS_COMP_NOSPACE = 2,
  RS_COMP_NOFILE = 4,
};

/* Called first thing in main(): when run as the completion helper (by
 * argv[0]) or as `__complete`, rewrite the argument vector to
 * {argv0, "__complete", "--", words...} so that no word the user typed is
 * parsed as a flag of ours.  Leaves every other command line alone.  The
 * new vector lives until exit. */
void rs_completion_argv(int *argc, char ***argv);

#endif
