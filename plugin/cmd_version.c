/* kubectl runtime-switch version */
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"

const struct rs_opt cmd_version_opts[] = {
    {"client", 0, RS_OPT_BOOL, NULL, "false", "If true, shows client version only (no server required)."},
    {"output", 'o', RS_OPT_STRING, "FORMAT", "", "One of 'yaml' or 'json'."},
    {NULL, 0, 0, NULL, NULL, NULL},
};

int cmd_version(struct rs_cli *cli, rs_err_t *err) {
  const char *out = rs_cli_str(cli, "output");
  if (out && *out && strcmp(out, "json") != 0 && strcmp(out, "yaml") != 0)
    return rs_fail(err, RS_E_USAGE, 0, "--output must be 'yaml' or 'json'");
  if (cli->args && cli->args[0])
    return rs_fail(err, RS_E_USAGE, 0, "unexpected argument \"%s\"", cli->args[0]);
  json_auto_t *doc = json_pack("{s:{s:s}}", "clientVersion", "gitVersion", "v" RS_VERSION);
  if (!doc) return rs_fail(err, RS_E_SYS, 12, "out of memory");
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
    const char *sv = json_string_value(json_object_get(json_object_get(doc, "serverVersion"), "gitVersion"));
    if (sv) fprintf(cli->out, "Server Version: %s\n", sv);
  }
  if (r < 0) rs_err_move(err, &serr);
  rs_err_clear(&serr);
  return r;
}
