/* kubectl runtime-switch config resolve (hidden): the kubeconfig as this
 * plugin resolves it, for debugging and for the oracle test against
 * `kubectl config view --minify --raw --flatten`. */
#include <string.h>

#include "cmd.h"
#include "common/cleanup.h"

static const struct rs_opt config_opts[] = {
    RS_OPT_OUTPUT("json", "One of 'json' or 'yaml'.", "json", "yaml"),
    {.name = "raw", .type = RS_OPT_BOOL, .def = "false", .help = "Show tokens, passwords and keys."},
};
static const struct rs_opt_table config_table = RS_OPT_TABLE(config_opts);

static int cmd_config(struct rs_cli *cli, rs_err_t *err) {
  if (!cli->args || !cli->args[0] || strcmp(cli->args[0], "resolve") != 0 || cli->args[1])
    return rs_fail(err, RS_E_USAGE, 0, "usage: config resolve [-o json|yaml] [--raw]");
  const char *out = rs_cli_str(cli, "output");
  _cleanup_kube_config_ rs_kube_config_t *cfg = NULL;
  if (rs_kube_config_resolve(&cli->ov, NULL, &cfg, err) < 0) return -1;
  if (rs_kube_config_load_files(cfg, err) < 0) return -1;
  json_auto_t *j = rs_kube_config_to_json(cfg, rs_cli_bool(cli, "raw"));
  if (!j) return rs_oom(err);
  if (out && strcmp(out, "yaml") == 0) return rs_print_yaml(cli->out, j, err);
  return rs_print_json(cli->out, j, err);
}

const struct rs_cmd rs_cmd_config = {
    .name = "config", .run = cmd_config, .opts = RS_OPT_TABLES(&config_table), .hidden = true,
    .summary = "Debug: show how the kubeconfig resolves",
    .usage = "config resolve [-o json] [--raw]",
    .description = "Print the server, namespace, CA and credentials this plugin would use,\n"
                   "after the kubeconfig merge and the command-line overrides.  Secrets are\n"
                   "shown only with --raw.",
    .examples = "  kubectl runtime-switch config resolve -o json",
};
