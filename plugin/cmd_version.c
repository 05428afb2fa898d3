/* kubectl runtime-switch version */
#include <string.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "helper/contract.h"
#include "ops/helper_blob.h"

static const struct rs_opt version_opts[] = {
    {.name = "client", .type = RS_OPT_BOOL, .def = "false",
     .help = "If true, shows client version only (no server required)."},
    RS_OPT_OUTPUT("", "One of 'yaml' or 'json'.", "yaml", "json"),
};
static const struct rs_opt_table version_table = RS_OPT_TABLE(version_opts);

static int cmd_version(struct rs_cli *cli, rs_err_t *err) {
  const char *out = rs_cli_str(cli, "output");
  if (out && *out && !rs_opt_allows(rs_cmd_opt(cli->cmd, "output", 0, NULL), out))
    return rs_fail(err, RS_E_USAGE, 0, "--output must be 'yaml' or 'json'");  /* kubectl version's words */
  if (cli->args && cli->args[0])
    return rs_fail(err, RS_E_USAGE, 0, "unexpected argument \"%s\"", cli->args[0]);
  json_auto_t *doc = json_pack("{s:{s:s}}", "clientVersion", "gitVersion", "v" RS_VERSION);
  if (!doc) return rs_oom(err);
  /* The embedded node helpers: built from the same tree, so they carry the
   * plugin's version; the sha256 lets an operator check what runs on nodes. */
  json_t *helpers = json_array();
  if (!helpers || json_object_set_new(doc, "nodeHelper", helpers) < 0)
    return rs_oom(err);
  for (size_t i = 0; i < rs_helper_blobs_count; i++) {
    const struct rs_helper_blob *b = &rs_helper_blobs[i];
    json_t *h = json_pack("{s:s,s:s,s:I,s:s,s:i}", "version", "v" RS_VERSION,
                          "arch", b->arch, "size", (json_int_t)b->size,
                          "sha256", b->sha256, "contract", RS_HELPER_CONTRACT_VERSION);
    if (!h || json_array_append_new(helpers, h) < 0)
      return rs_oom(err);
  }
  int r = 0;
  rs_err_t serr = RS_ERR_INIT;
  if (!rs_cli_bool(cli, "client")) {
    _cleanup_kube_client_ rs_kube_client_t *c = NULL;
    json_t *v = NULL;
    if (rs_cli_client(cli, &c, &serr) == 0 && rs_kube_get(c, "/version", &v, &serr) == 0)
      json_object_set_new(doc, "serverVersion", v);
    else
      r = -1;
  }
  if (out && strcmp(out, "json") == 0) {
    rs_print_json(cli->out, doc, err);
  } else if (out && strcmp(out, "yaml") == 0) {
    rs_print_yaml(cli->out, doc, err);
  } else {
    fprintf(cli->out, "Client Version: v%s\n", RS_VERSION);
    for (size_t i = 0; i < rs_helper_blobs_count; i++)
      fprintf(cli->out, "Node Helper: v%s linux/%s %zu bytes sha256:%s\n", RS_VERSION,
              rs_helper_blobs[i].arch, rs_helper_blobs[i].size, rs_helper_blobs[i].sha256);
    const char *sv = json_string_value(json_object_get(json_object_get(doc, "serverVersion"), "gitVersion"));
    if (sv) fprintf(cli->out, "Server Version: %s\n", sv);
  }
  if (r < 0) rs_err_move(err, &serr);
  rs_err_clear(&serr);
  return r;
}

const struct rs_cmd rs_cmd_version = {
    .name = "version", .run = cmd_version, .opts = RS_OPT_TABLES(&version_table),
    .summary = "Print the plugin and the server version",
    .usage = "version [--client] [-o json|yaml]",
    .description = "Print the version of kubectl-runtime-switch and, unless --client is given,\n"
                   "of the Kubernetes API server it talks to.",
    .examples = "  kubectl runtime-switch version\n  kubectl runtime-switch version --client -o json",
};
