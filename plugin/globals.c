/* kubectl's global flags: every command takes them, before or after its
 * name, and they choose the cluster, the credentials and the log level. */
#include <stddef.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "plugin/cli.h"

static const struct rs_opt globals[] = {
    {.name = "as", .type = RS_OPT_STRING, .arg = "USER",
     .help = "Username to impersonate for the operation. User could be a regular user or a service account in a namespace."},
    {.name = "as-group", .type = RS_OPT_MULTI, .arg = "GROUP",
     .help = "Group to impersonate for the operation, this flag can be repeated to specify multiple groups."},
    {.name = "as-uid", .type = RS_OPT_STRING, .arg = "UID",
     .help = "UID to impersonate for the operation."},
    {.name = "certificate-authority", .type = RS_OPT_STRING, .arg = "FILE",
     .help = "Path to a cert file for the certificate authority", .complete = RS_COMPLETE_FILE},
    {.name = "client-certificate", .type = RS_OPT_STRING, .arg = "FILE",
     .help = "Path to a client certificate file for TLS", .complete = RS_COMPLETE_FILE},
    {.name = "client-key", .type = RS_OPT_STRING, .arg = "FILE",
     .help = "Path to a client key file for TLS", .complete = RS_COMPLETE_FILE},
    {.name = "cluster", .type = RS_OPT_STRING, .arg = "NAME",
     .help = "The name of the kubeconfig cluster to use"},
    {.name = "context", .type = RS_OPT_STRING, .arg = "NAME",
     .help = "The name of the kubeconfig context to use"},
    {.name = "help", .short_name = 'h', .type = RS_OPT_BOOL, .help = "help for the command"},
    {.name = "insecure-skip-tls-verify", .type = RS_OPT_BOOL, .def = "false",
     .help = "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure"},
    {.name = "kubeconfig", .type = RS_OPT_STRING, .arg = "FILE",
     .help = "Path to the kubeconfig file to use for CLI requests.", .complete = RS_COMPLETE_FILE},
    {.name = "namespace", .short_name = 'n', .type = RS_OPT_STRING, .arg = "NAMESPACE",
     .help = "If present, the namespace scope for this CLI request", .complete = RS_COMPLETE_NAMESPACE},
    {.name = "password", .type = RS_OPT_STRING, .arg = "PASSWORD",
     .help = "Password for basic authentication to the API server"},
    {.name = "request-timeout", .type = RS_OPT_STRING, .arg = "DURATION", .def = "0",
     .help = "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests."},
    {.name = "server", .short_name = 's', .type = RS_OPT_STRING, .arg = "URL",
     .help = "The address and port of the Kubernetes API server"},
    {.name = "tls-server-name", .type = RS_OPT_STRING, .arg = "NAME",
     .help = "Server name to use for server certificate validation. If it is not provided, the hostname used to contact the server is used"},
    {.name = "token", .type = RS_OPT_STRING, .arg = "TOKEN",
     .help = "Bearer token for authentication to the API server"},
    {.name = "user", .type = RS_OPT_STRING, .arg = "NAME",
     .help = "The name of the kubeconfig user to use"},
    {.name = "username", .type = RS_OPT_STRING, .arg = "USER",
     .help = "Username for basic authentication to the API server"},
    {.name = "v", .short_name = 'v', .type = RS_OPT_STRING, .arg = "LEVEL", .def = "0",
     .help = "number for the log level verbosity (6: requests, 7: request headers, 8: bodies, 9: response headers; credentials are never logged)"},
};
const struct rs_opt_table rs_global_opts = RS_OPT_TABLE(globals);

/* The global flags that are plain strings in the overrides; sorted. */
static const struct {
  const char *name;
  size_t off;
} string_flags[] = {
    {"as", offsetof(struct rs_kube_overrides, as)},
    {"as-uid", offsetof(struct rs_kube_overrides, as_uid)},
    {"certificate-authority", offsetof(struct rs_kube_overrides, certificate_authority)},
    {"client-certificate", offsetof(struct rs_kube_overrides, client_certificate)},
    {"client-key", offsetof(struct rs_kube_overrides, client_key)},
    {"cluster", offsetof(struct rs_kube_overrides, cluster)},
    {"context", offsetof(struct rs_kube_overrides, context)},
    {"kubeconfig", offsetof(struct rs_kube_overrides, kubeconfig)},
    {"namespace", offsetof(struct rs_kube_overrides, ns)},
    {"password", offsetof(struct rs_kube_overrides, password)},
    {"server", offsetof(struct rs_kube_overrides, server)},
    {"tls-server-name", offsetof(struct rs_kube_overrides, tls_server_name)},
    {"token", offsetof(struct rs_kube_overrides, token)},
    {"user", offsetof(struct rs_kube_overrides, user)},
    {"username", offsetof(struct rs_kube_overrides, username)},
};

/* o is an entry of rs_global_opts; v its value ("true"/"false" for a
 * bool), which must live as long as cli. */
enum rs_cli_error rs_global_set(struct rs_cli *cli, const struct rs_opt *o, const char *v) {
  struct rs_kube_overrides *ov = &cli->ov;
  const char *n = o->name;
  if (strcmp(n, "help") == 0) {
    cli->want_help = strcmp(v, "true") == 0;
    return RS_CLI_OK;
  }
  if (strcmp(n, "insecure-skip-tls-verify") == 0) {
    ov->insecure_skip_tls_verify = strcmp(v, "true") == 0;
    return RS_CLI_OK;
  }
  if (strcmp(n, "v") == 0) {
    long lv;
    if (rs_parse_long(v, 0, 100, &lv) < 0) return RS_CLI_BAD_LEVEL;
    cli->verbosity = (int)lv;
    return RS_CLI_OK;
  }
  if (strcmp(n, "as-group") == 0) {
    if (rs_strv_push(&cli->as_groups, v, NULL) < 0) return RS_CLI_NO_MEMORY;
    ov->as_groups = (const char *const *)cli->as_groups;
    return RS_CLI_OK;
  }
  if (strcmp(n, "request-timeout") == 0) {
    long long ms;
    if (rs_parse_duration_ms(v, &ms) < 0) return RS_CLI_BAD_TIMEOUT;
    ov->request_timeout = v;
    return RS_CLI_OK;
  }
  for (size_t i = 0; i < RS_ARRAY_SIZE(string_flags); i++)
    if (strcmp(string_flags[i].name, n) == 0) {
      *(const char **)((char *)ov + string_flags[i].off) = v;
      break;
    }
  return RS_CLI_OK;
}
