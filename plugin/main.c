/* kubectl runtime-switch: parse the command line, run one command, print
 * its error once, choose the exit code. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "plugin/completion.h"

/* Exit codes (README): */
enum {
  EXIT_OK = 0,
  EXIT_ERROR = 1,       /* any failure: API, kubeconfig, auth, network */
  EXIT_USAGE = 2,       /* unknown command or flag, bad arguments */
  EXIT_INTERRUPTED = 130,
};


/* The command table, in the order `--help` lists them. */
const struct rs_cmd rs_commands[] = {
    {.name = "status", .run = cmd_status, .opts = cmd_status_opts,
     .summary = "Show the container runtime of every node and what to do about it",
     .usage = "status [NODE...] [-l SELECTOR] [-o wide|json|yaml] [--pods]",
     .description =
         "Show, for each node, its readiness, roles, kubelet version, container runtime and\n"
         "version, the CRI endpoint it records (the kubeadm cri-socket annotation, and the\n"
         "kubelet's /configz read through the API server's node proxy where permitted), and a\n"
         "verdict: whether the node must switch runtime before its kubelet can be upgraded.\n\n"
         "With --pods, also list the pods on each node that mount the Docker socket: they\n"
         "break when the node stops running Docker.",
     .examples =
         "  # All nodes\n"
         "  kubectl runtime-switch status\n\n"
         "  # Worker nodes, with OS, kernel, IP and cgroup driver\n"
         "  kubectl runtime-switch status -l '!node-role.kubernetes.io/control-plane' -o wide\n\n"
         "  # Two nodes, as JSON, with the pods that use /var/run/docker.sock\n"
         "  kubectl runtime-switch status node-1 node-2 --pods -o json"},
    {.name = "node", .run = cmd_node, .opts = cmd_node_opts,
     .summary = "Switch a node's container runtime: cordon, drain, switch, verify, uncordon",
     .usage = "node NAME --to containerd|cri-o|cri-dockerd [flags]",
     .description =
         "Move one node to another container runtime, through the API only (no SSH):\n"
         "read the node and refuse what cannot work; deliver the node helper (in a ConfigMap\n"
         "in the working namespace, -n, default kube-system) and run its read-only preflight in\n"
         "a privileged pod pinned to the node; show the plan (--dry-run stops here, printing\n"
         "the manifests too); ask (unless --yes); cordon; drain (kubectl drain's flags;\n"
         "--ignore-daemonsets is implied); launch the switch, which goes on as a host unit\n"
         "when the old runtime takes the pod down; follow the node NotReady -> Ready; verify\n"
         "with a pod on the new runtime; update kubeadm's cri-socket annotation; uncordon;\n"
         "remove the Jobs and the ConfigMap; print the time of each phase.\n\n"
         "On failure the helper restores every file and service; the node comes back on its\n"
         "old runtime and stays cordoned.  Interrupted, the same command resumes: progress is\n"
         "recorded on the node (annotation runtime-switch.kubectl.dev/state).\n\n"
         "Exit codes: 0 done; 1 error; 2 usage; 3 refused, nothing changed; 4 drain failed\n"
         "(node cordoned, not switched); 5 switch failed and rolled back (node cordoned);\n"
         "6 needs a human (rollback failed, or the node did not come back); 130 interrupted.",
     .examples =
         "  # Look first: the plan, the manifests and the file changes, nothing changed\n"
         "  kubectl runtime-switch node node-1 --to containerd --dry-run\n\n"
         "  # Switch without asking; pods without a controller and emptyDir pods go too\n"
         "  kubectl runtime-switch node node-1 --to containerd --yes --force --delete-emptydir-data\n\n"
         "  # One JSON event per phase, for automation\n"
         "  kubectl runtime-switch node node-1 --to containerd --yes -o json"},
    {.name = "rollback", .run = cmd_rollback, .opts = cmd_rollback_opts,
     .summary = "Put back the runtime a node ran before its last switch",
     .usage = "rollback node NAME [--id ID] [flags]",
     .description =
         "Restore the node's previous runtime from the helper's backups (every file byte for\n"
         "byte, the services as they were): cordon, drain, run the helper's rollback, follow\n"
         "the node back to Ready on its old runtime, verify, restore kubeadm's cri-socket\n"
         "annotation, uncordon.  The run is the node's last switch (its annotation) unless\n"
         "--id names one.  Exit codes as for `node`.",
     .examples = "  kubectl runtime-switch rollback node node-1 --yes"},
    {.name = "cordon", .run = cmd_cordon, .opts = cmd_cordon_opts,
     .summary = "Mark a node as unschedulable, as kubectl cordon",
     .usage = "cordon NODE... [-l SELECTOR] [--dry-run=none|client|server]",
     .description = "Mark node as unschedulable (a strategic merge patch of spec.unschedulable).",
     .examples = "  # Mark node \"foo\" as unschedulable\n  kubectl runtime-switch cordon foo"},
    {.name = "uncordon", .run = cmd_uncordon, .opts = cmd_cordon_opts,
     .summary = "Mark a node as schedulable, as kubectl uncordon",
     .usage = "uncordon NODE... [-l SELECTOR] [--dry-run=none|client|server]",
     .description = "Mark node as schedulable.",
     .examples = "  # Mark node \"foo\" as schedulable\n  kubectl runtime-switch uncordon foo"},
    {.name = "drain", .run = cmd_drain, .opts = cmd_drain_opts,
     .summary = "Drain a node as kubectl drain does, only faster",
     .usage = "drain NODE... [flags]",
     .description =
         "Drain node in preparation for maintenance, with kubectl drain's flags, filters,\n"
         "messages and exit codes.  The node is cordoned, its pods are checked by kubectl's\n"
         "filters (DaemonSet pods need --ignore-daemonsets, pods with emptyDir\n"
         "--delete-emptydir-data, pods without a controller --force; mirror pods stay), then\n"
         "every pod is evicted at once over one connection.  A PodDisruptionBudget that refuses\n"
         "(429) is retried every 5 seconds until --timeout; one watch tells when each pod is\n"
         "gone.  Ctrl-C stops evicting, leaves the node cordoned and says what was evicted.",
     .examples =
         "  # Drain node \"foo\", leaving DaemonSet pods in place\n"
         "  kubectl runtime-switch drain foo --ignore-daemonsets\n\n"
         "  # Give up after 2 minutes; print one JSON event per line\n"
         "  kubectl runtime-switch drain foo --ignore-daemonsets --timeout=2m -o json"},
    {.name = "version", .run = cmd_version, .opts = cmd_version_opts,
     .summary = "Print the plugin and the server version",
     .usage = "version [--client] [-o json|yaml]",
     .description = "Print the version of kubectl-runtime-switch and, unless --client is given,\n"
                    "of the Kubernetes API server it talks to.",
     .examples = "  kubectl runtime-switch version\n  kubectl runtime-switch version --client -o json"},
    {.name = "completion", .run = cmd_completion,
     .summary = "Output shell completion code for bash or zsh, or link kubectl's completion helper",
     .usage = "completion bash|zsh|helper [DIR]",
     .description =
         "Print a completion script for bash or zsh (for the kubectl-runtime_switch command), or,\n"
         "with `helper`, link " RS_COMPLETE_HELPER " next to the plugin (or into DIR):\n"
         "kubectl 1.26 and later run it to complete `kubectl runtime-switch ...`.",
     .examples = "  source <(kubectl runtime-switch completion bash)\n"
                 "  kubectl runtime-switch completion helper\n"
                 "  kubectl runtime-switch completion helper ~/.local/bin"},
    {.name = "__complete", .run = cmd_complete, .hidden = true,
     .summary = "Completion candidates (Cobra protocol)", .usage = "__complete [WORD...] CURRENT",
     .description = "Print the completions of the last word; " RS_COMPLETE_HELPER " runs this."},
    {.name = "help", .run = cmd_help,
     .summary = "Help about any command",
     .usage = "help [COMMAND]",
     .description = "Print the help of the plugin or of one command.",
     .examples = "  kubectl runtime-switch help status"},
    {.name = "options", .run = cmd_options,
     .summary = "Print the list of flags inherited by all commands",
     .usage = "options",
     .description = "Print the kubectl flags every command accepts.",
     .examples = "  kubectl runtime-switch options"},
    {.name = "config", .run = cmd_config, .opts = cmd_config_opts, .hidden = true,
     .summary = "Debug: show how the kubeconfig resolves",
     .usage = "config resolve [-o json] [--raw]",
     .description = "Print the server, namespace, CA and credentials this plugin would use,\n"
                    "after the kubeconfig merge and the command-line overrides.  Secrets are\n"
                    "shown only with --raw.",
     .examples = "  kubectl runtime-switch config resolve -o json"},
};
const size_t rs_commands_count = RS_ARRAY_SIZE(rs_commands);

/* kubectl's global flags; sorted by name. */
const struct rs_opt rs_global_opts[] = {
    {"as", 0, RS_OPT_STRING, "USER", NULL,
     "Username to impersonate for the operation. User could be a regular user or a service account in a namespace."},
    {"as-group", 0, RS_OPT_MULTI, "GROUP", NULL,
     "Group to impersonate for the operation, this flag can be repeated to specify multiple groups."},
    {"as-uid", 0, RS_OPT_STRING, "UID", NULL, "UID to impersonate for the operation."},
    {"certificate-authority", 0, RS_OPT_STRING, "FILE", NULL,
     "Path to a cert file for the certificate authority"},
    {"client-certificate", 0, RS_OPT_STRING, "FILE", NULL, "Path to a client certificate file for TLS"},
    {"client-key", 0, RS_OPT_STRING, "FILE", NULL, "Path to a client key file for TLS"},
    {"cluster", 0, RS_OPT_STRING, "NAME", NULL, "The name of the kubeconfig cluster to use"},
    {"context", 0, RS_OPT_STRING, "NAME", NULL, "The name of the kubeconfig context to use"},
    {"help", 'h', RS_OPT_BOOL, NULL, NULL, "help for the command"},
    {"insecure-skip-tls-verify", 0, RS_OPT_BOOL, NULL, "false",
     "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure"},
    {"kubeconfig", 0, RS_OPT_STRING, "FILE", NULL, "Path to the kubeconfig file to use for CLI requests."},
    {"namespace", 'n', RS_OPT_STRING, "NAMESPACE", NULL, "If present, the namespace scope for this CLI request"},
    {"password", 0, RS_OPT_STRING, "PASSWORD", NULL, "Password for basic authentication to the API server"},
    {"request-timeout", 0, RS_OPT_STRING, "DURATION", "0",
     "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests."},
    {"server", 's', RS_OPT_STRING, "URL", NULL, "The address and port of the Kubernetes API server"},
    {"tls-server-name", 0, RS_OPT_STRING, "NAME", NULL,
     "Server name to use for server certificate validation. If it is not provided, the hostname used to contact the server is used"},
    {"token", 0, RS_OPT_STRING, "TOKEN", NULL, "Bearer token for authentication to the API server"},
    {"user", 0, RS_OPT_STRING, "NAME", NULL, "The name of the kubeconfig user to use"},
    {"username", 0, RS_OPT_STRING, "USER", NULL, "Username for basic authentication to the API server"},
    {"v", 'v', RS_OPT_STRING, "LEVEL", "0",
     "number for the log level verbosity (6: requests, 7: request headers, 8: bodies, 9: response headers; credentials are never logged)"},
};
const size_t rs_global_opts_count = RS_ARRAY_SIZE(rs_global_opts);

const struct rs_cmd *rs_cmd_find(const char *name) {
  for (size_t i = 0; i < rs_commands_count; i++)
    if (strcmp(rs_commands[i].name, name) == 0) return &rs_commands[i];
  return NULL;
}

static int opt_cmp(const void *key, const void *elem) {
  return strcmp(key, ((const struct rs_opt *)elem)->name);
}

static const struct rs_opt *find_long(const struct rs_opt *t, size_t n, const char *name) {
  return t ? bsearch(name, t, n, sizeof *t, opt_cmp) : NULL;
}

static const struct rs_opt *find_short(const struct rs_opt *t, size_t n, char c) {
  for (size_t i = 0; t && i < n; i++)
    if (t[i].short_name == c) return &t[i];
  return NULL;
}

/* Option tables end with a {NULL} entry. */
static size_t opts_len(const struct rs_opt *t) {
  size_t n = 0;
  while (t && t[n].name) n++;
  return n;
}

static size_t cmd_index(const struct rs_cli *cli, const char *name) {
  const struct rs_opt *o = find_long(cli->cmd->opts, opts_len(cli->cmd->opts), name);
  return o ? (size_t)(o - cli->cmd->opts) : (size_t)-1;
}

const char *rs_cli_str(const struct rs_cli *cli, const char *name) {
  size_t i = cmd_index(cli, name);
  return i == (size_t)-1 ? NULL : cli->values[i];
}

bool rs_cli_bool(const struct rs_cli *cli, const char *name) {
  const char *v = rs_cli_str(cli, name);
  return v && strcmp(v, "true") == 0;
}

char *const *rs_cli_multi(const struct rs_cli *cli, const char *name) {
  size_t i = cmd_index(cli, name);
  return i == (size_t)-1 ? NULL : cli->multi[i];
}

/* ---- logging and warnings ---- */

void rs_cli_warn(struct rs_cli *cli, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (cli->err_is_tty) fputs("\033[33;1m", cli->errf);
  fputs("Warning: ", cli->errf);
  vfprintf(cli->errf, fmt, ap);
  if (cli->err_is_tty) fputs("\033[0m", cli->errf);
  fputc('\n', cli->errf);
  va_end(ap);
}

static void log_line(void *ud, int level, const char *line) {
  struct rs_cli *cli = ud;
  if (level == 0) {
    if (rs_startswith(line, "Warning: ")) line += 9;
    rs_cli_warn(cli, "%s", line);
    return;
  }
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  fprintf(cli->errf, "I%02d%02d %02d:%02d:%02d.%06ld %7d kube] %s\n", tm.tm_mon + 1,
          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec, (int)getpid(),
          line);
}

int rs_cli_client(struct rs_cli *cli, rs_kube_client_t **ret, rs_err_t *err) {
  _cleanup_kube_config_ rs_kube_config_t *cfg = NULL;
  if (rs_kube_config_resolve(&cli->ov, NULL, &cfg, err) < 0) return -1;
  struct rs_kube_client_opts o = {
      .verbosity = cli->verbosity,
      .log = log_line,
      .log_ud = cli,
  };
  return rs_kube_client_new(cfg, &o, ret, err);
}

/* ---- parsing ---- */

/* The global flags that are plain strings in the overrides, by name: one
 * table for the command line and for completion.  Returns false for a name
 * that is not one of them. */
bool rs_cli_set_string_override(struct rs_kube_overrides *ov, const char *name,
                                const char *v) {
  static const struct {
    const char *name;
    size_t off;
  } map[] = {
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
  for (size_t i = 0; i < RS_ARRAY_SIZE(map); i++)
    if (strcmp(map[i].name, name) == 0) {
      *(const char **)((char *)ov + map[i].off) = v;
      return true;
    }
  return false;
}

static int set_global(struct rs_cli *cli, const struct rs_opt *o, const char *v,
                      rs_err_t *err) {
  struct rs_kube_overrides *ov = &cli->ov;
  const char *n = o->name;
  if (strcmp(n, "help") == 0) return 0;
  if (strcmp(n, "insecure-skip-tls-verify") == 0) {
    ov->insecure_skip_tls_verify = strcmp(v, "true") == 0;
    return 0;
  }
  if (strcmp(n, "v") == 0) {
    long lv;
    if (rs_parse_long(v, 0, 100, &lv) < 0)
      return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"-v, --v\" flag", v);
    cli->verbosity = (int)lv;
    return 0;
  }
  if (strcmp(n, "as-group") == 0) {
    if (rs_strv_push(&cli->as_groups, v, err) < 0) return -1;
    ov->as_groups = (const char *const *)cli->as_groups;
    return 0;
  }
  if (strcmp(n, "request-timeout") == 0) {
    long long ms;
    if (rs_parse_duration_ms(v, &ms) < 0)
      return rs_fail(err, RS_E_USAGE, 0,
                     "Invalid timeout value. Timeout must be a single integer in seconds, "
                     "or an integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)");
    ov->request_timeout = v;
    return 0;
  }
  (void)rs_cli_set_string_override(ov, n, v);
  return 0;
}

static int set_cmd_opt(struct rs_cli *cli, const struct rs_opt *o, const char *v,
                       rs_err_t *err) {
  size_t i = (size_t)(o - cli->cmd->opts);
  if (o->type == RS_OPT_MULTI) return rs_strv_push(&cli->multi[i], v, err);
  free(cli->values[i]);
  cli->values[i] = strdup(v);
  return cli->values[i] ? 0 : rs_oom(err);
}

static int bool_value(const char *flag, const char *v, const char **ret, rs_err_t *err) {
  if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "t") == 0 ||
      strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0) {
    *ret = "true";
    return 0;
  }
  if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "f") == 0 ||
      strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0) {
    *ret = "false";
    return 0;
  }
  return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"%s\" flag: "
                 "strconv.ParseBool: parsing \"%s\": invalid syntax", v, flag, v);
}

static int parse(struct rs_cli *cli, int argc, char **argv, bool *want_help,
                 rs_err_t *err) {
  bool dashdash = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!dashdash && strcmp(a, "--") == 0) {
      dashdash = true;
      continue;
    }
    if (dashdash || a[0] != '-' || a[1] == '\0') {
      if (!cli->cmd) {
        cli->cmd = rs_cmd_find(a);
        if (!cli->cmd)
          return rs_fail(err, RS_E_USAGE, 1, "unknown command \"%s\" for \"kubectl runtime-switch\"", a);
        size_t n = opts_len(cli->cmd->opts) ? opts_len(cli->cmd->opts) : 1;
        cli->values = calloc(n, sizeof(char *));
        cli->multi = calloc(n, sizeof(char **));
        if (!cli->values || !cli->multi) return rs_oom(err);
        continue;
      }
      if (rs_strv_push(&cli->args, a, err) < 0) return -1;
      continue;
    }
    const struct rs_opt *o = NULL;
    const char *val = NULL;
    _cleanup_free_ char *name = NULL;
    _cleanup_free_ char *flagname = NULL;
    bool is_cmd = false;
    if (a[1] == '-') {
      const char *eq = strchr(a + 2, '=');
      name = eq ? strndup(a + 2, (size_t)(eq - a - 2)) : strdup(a + 2);
      if (!name) return rs_oom(err);
      if (eq) val = eq + 1;
      if (cli->cmd) o = find_long(cli->cmd->opts, opts_len(cli->cmd->opts), name);
      is_cmd = o != NULL;
      if (!o) o = find_long(rs_global_opts, rs_global_opts_count, name);
      if (!o) return rs_fail(err, RS_E_USAGE, 0, "unknown flag: --%s", name);
      flagname = rs_strdup_printf("--%s", name);
    } else {
      char c = a[1];
      if (cli->cmd) o = find_short(cli->cmd->opts, opts_len(cli->cmd->opts), c);
      is_cmd = o != NULL;
      if (!o) o = find_short(rs_global_opts, rs_global_opts_count, c);
      if (!o) return rs_fail(err, RS_E_USAGE, 0, "unknown shorthand flag: '%c' in %s", c, a);
      if (a[2]) val = a[2] == '=' ? a + 3 : a + 2;
      flagname = rs_strdup_printf("-%c, --%s", c, o->name);
    }
    if (!flagname) return rs_oom(err);
    if (o->type == RS_OPT_BOOL) {
      if (bool_value(flagname, val, &val, err) < 0) return -1;
    } else if (!val) {
      if (i + 1 >= argc)
        return rs_fail(err, RS_E_USAGE, 0, "flag needs an argument: %s", flagname);
      val = argv[++i];
    }
    if (strcmp(o->name, "help") == 0 && !is_cmd) {
      *want_help = strcmp(val, "true") == 0;
      continue;
    }
    if (is_cmd ? set_cmd_opt(cli, o, val, err) < 0 : set_global(cli, o, val, err) < 0)
      return -1;
  }
  return 0;
}

static void cli_free(struct rs_cli *cli) {
  size_t n = cli->cmd && opts_len(cli->cmd->opts) ? opts_len(cli->cmd->opts) : 1;
  for (size_t i = 0; cli->values && i < n; i++) free(cli->values[i]);
  for (size_t i = 0; cli->multi && i < n; i++) rs_strv_free(cli->multi[i]);
  free(cli->values);
  free(cli->multi);
  rs_strv_free(cli->args);
  rs_strv_free(cli->as_groups);
}

static int print_error(struct rs_cli *cli, rs_err_t *e) {
  /* no message: the command printed its error itself (drain, as kubectl) */
  if (!e->msg && e->kind != RS_E_NONE)
    return e->kind == RS_E_INTERRUPTED ? EXIT_INTERRUPTED : EXIT_ERROR;
  const char *msg = e->msg ? e->msg : "unknown error";
  switch (e->kind) {
  case RS_E_USAGE:
    fprintf(cli->errf, "error: %s\n", msg);
    if (cli->cmd)
      fprintf(cli->errf, "See 'kubectl runtime-switch %s --help' for usage.\n", cli->cmd->name);
    else
      fprintf(cli->errf, "Run 'kubectl runtime-switch --help' for usage.\n");
    return EXIT_USAGE;
  case RS_E_INTERRUPTED:
    fprintf(cli->errf, "error: %s\n", msg);
    return EXIT_INTERRUPTED;
  case RS_E_API:
    if (e->code == 401)
      fprintf(cli->errf, "error: You must be logged in to the server (%s)\n", msg);
    else
      fprintf(cli->errf, "Error from server (%s): %s\n", e->reason ? e->reason : "InternalError", msg);
    return EXIT_ERROR;
  default:
    fprintf(cli->errf, "error: %s\n", msg);
    return EXIT_ERROR;
  }
}

int main(int argc, char **argv) {
  struct rs_cli cli = {.ov = RS_KUBE_OVERRIDES_INIT, .out = stdout, .errf = stderr};
  cli.err_is_tty = isatty(STDERR_FILENO);
  _cleanup_err_ rs_err_t err = RS_ERR_INIT;
  bool want_help = false;
  int code = EXIT_OK;
  rs_completion_argv(&argc, &argv);
  if (rs_kube_install_signals(&err) < 0 || parse(&cli, argc, argv, &want_help, &err) < 0) {
    code = print_error(&cli, &err);
    cli_free(&cli);
    return code;
  }
  if (want_help) {
    if (cli.cmd) rs_help_cmd(stdout, cli.cmd);
    else rs_help_root(stdout);
  } else if (!cli.cmd) {
    rs_help_root(stdout);
  } else if (cli.cmd->run(&cli, &err) < 0) {
    fflush(stdout);
    code = print_error(&cli, &err);
    if (cli.exit_code) code = cli.exit_code;
  }
  if (fflush(stdout) != 0 && code == EXIT_OK) {
    fprintf(stderr, "error: writing the output: %s\n", strerror(errno));
    code = EXIT_ERROR;
  }
  cli_free(&cli);
  return code;
}
