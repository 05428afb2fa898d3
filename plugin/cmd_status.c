/* kubectl runtime-switch status [NODE...] [-l SELECTOR] [-o wide|json|yaml] [--pods] */
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cmd.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/nodes.h"

static const struct rs_opt status_opts[] = {
    {.name = "chunk-size", .type = RS_OPT_STRING, .arg = "N", .def = "500",
     .help = "Return large lists in chunks rather than all at once. Pass 0 to disable."},
    {.name = "configz", .type = RS_OPT_BOOL, .def = "false",
     .help = "Also read each Ready node's kubelet configuration (/configz: CRI endpoint, cgroup driver) through the API server's node proxy. Needs nodes/proxy get, which reaches the kubelet API of every node."},
    {.name = "no-headers", .type = RS_OPT_BOOL, .def = "false",
     .help = "When using the default or wide output format, don't print headers."},
    RS_OPT_OUTPUT("", "Output format. One of: (json, yaml, wide).", "json", "yaml", "wide"),
    {.name = "pods", .type = RS_OPT_BOOL, .def = "false",
     .help = "Also list the pods on each node that mount the Docker socket."},
    {.name = "selector", .short_name = 'l', .type = RS_OPT_STRING, .arg = "SELECTOR", .def = "",
     .help = "Selector (label query) to filter nodes on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2)."},
};
static const struct rs_opt_table status_table = RS_OPT_TABLE(status_opts);

static int print_table(struct rs_cli *cli, const struct rs_nodes_report *r, bool wide,
                       bool headers, bool pods, rs_err_t *err) {
  static const char *const head[] = {"NAME", "STATUS", "ROLES", "VERSION", "RUNTIME",
                                     "CRI-ENDPOINT", "VERDICT", "OS-IMAGE", "KERNEL-VERSION",
                                     "INTERNAL-IP", "CGROUP-DRIVER", "ARCH"};
  size_t ncols = wide ? 12 : 7;
  struct rs_table *t = rs_table_new(ncols);
  if (!t) return rs_oom(err);
  int rc = 0;
  if (headers) rc = rs_table_add(t, head);
  for (size_t i = 0; rc == 0 && i < r->n; i++) {
    const struct rs_node_status *n = &r->items[i];
    char rb[64];
    const char *cells[12] = {n->name, rs_node_ready_text(n, rb, sizeof rb), n->roles,
                             n->kubelet_version, n->runtime_raw, rs_node_endpoint(n),
                             n->verdict.message, n->os_image, n->kernel, n->internal_ip,
                             n->cgroup_driver, n->arch};
    rc = rs_table_add(t, cells);
  }
  if (rc < 0) {
    rs_table_free(t);
    return rs_oom(err);
  }
  rs_table_print(t, cli->out);
  rs_table_free(t);
  if (!pods) return 0;
  struct rs_table *p = rs_table_new(2);
  if (!p) return rs_oom(err);
  static const char *const phead[] = {"NODE", "PODS MOUNTING THE DOCKER SOCKET"};
  rc = rs_table_add(p, phead);
  size_t count = 0;
  for (size_t i = 0; rc == 0 && i < r->n; i++)
    for (size_t j = 0; rc == 0 && r->items[i].docker_sock_pods[j]; j++, count++) {
      const char *cells[2] = {r->items[i].name, r->items[i].docker_sock_pods[j]};
      rc = rs_table_add(p, cells);
    }
  fputc('\n', cli->out);
  if (count) rs_table_print(p, cli->out);
  else rs_term_printf(cli->out, "No pods mount the Docker socket on these nodes.\n");
  rs_table_free(p);
  return rc < 0 ? rs_oom(err) : 0;
}

static int cmd_status(struct rs_cli *cli, rs_err_t *err) {
#ifdef __GLIBC__
  /* Pages of a big node list are MiB-sized buffers, two at a time: keep
   * them mmapped, so each goes back to the system when freed.  (glibc
   * raises its mmap threshold after the first such free, and the next
   * pages then fragment the heap: 20-30% more peak RSS on 5,000 nodes.) */
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
  const char *out;
  if (rs_cli_output(cli, &out, err) < 0) return -1;
  const char *sel = rs_cli_str(cli, "selector");
  if (sel && *sel && cli->args && cli->args[0])
    return rs_fail(err, RS_E_USAGE, 0, "cannot specify both node names and a --selector option");
  long chunk = 500;
  const char *cs = rs_cli_str(cli, "chunk-size");
  if (cs && rs_parse_long(cs, 0, 100000, &chunk) < 0)
    return rs_fail(err, RS_E_USAGE, 0, "invalid --chunk-size \"%s\"", cs);
  _cleanup_kube_client_ rs_kube_client_t *c = NULL;
  if (rs_cli_client(cli, &c, err) < 0) return -1;
  const char *cz = rs_cli_str(cli, "configz");
  struct rs_nodes_query q = {
      .names = (const char *const *)cli->args,
      .selector = sel && *sel ? sel : NULL,
      .configz = cz && strcmp(cz, "true") == 0,
      .pods = rs_cli_bool(cli, "pods"),
      .page_size = chunk ? chunk : 100000,
      .brief = !out || !*out, /* the default table */
      .wide = out && strcmp(out, "wide") == 0,
  };
  struct rs_nodes_report r = {0};
  if (rs_nodes_collect(c, &q, &r, err) < 0) return -1;
  for (size_t i = 0; r.warnings[i]; i++) rs_cli_warn(cli, "%s", r.warnings[i]);
  int rc = 0;
  if (out && (strcmp(out, "json") == 0 || strcmp(out, "yaml") == 0)) {
    json_auto_t *items = json_array();
    for (size_t i = 0; items && i < r.n; i++)
      json_array_append_new(items, rs_node_status_to_json(&r.items[i]));
    json_auto_t *doc = json_pack("{s:s, s:s, s:O}", "apiVersion", "runtime-switch.k8s.io/v1alpha1",
                                 "kind", "NodeRuntimeStatusList", "items", items);
    if (!doc) rc = rs_oom(err);
    else rc = strcmp(out, "json") == 0 ? rs_print_json(cli->out, doc, err)
                                       : rs_print_yaml(cli->out, doc, err);
  } else if (r.n == 0 && !r.missing[0]) {
    rs_term_printf(cli->errf, "No resources found\n");
  } else if (r.n) {
    rc = print_table(cli, &r, out && strcmp(out, "wide") == 0, !rs_cli_bool(cli, "no-headers"),
                     q.pods, err);
  }
  /* kubectl get prints what it found, then one error per missing name. */
  if (rc == 0) rc = rs_cli_nodes_not_found(cli, r.missing, err);
  rs_nodes_report_clear(&r);
  return rc;
}

const struct rs_cmd rs_cmd_status = {
    .name = "status", .run = cmd_status, .opts = RS_OPT_TABLES(&status_table), .args = {.kind = RS_ARG_NODES},
    .summary = "Show the container runtime of every node and what to do about it",
    .usage = "status [NODE...] [-l SELECTOR] [-o wide|json|yaml] [--pods]",
    .description =
        "Show, for each node, its readiness, roles, kubelet version, container runtime and\n"
        "version, the CRI endpoint it records (the kubeadm cri-socket annotation; with\n"
        "--configz, the kubelet's own, read from /configz through the API server's node\n"
        "proxy), and a verdict: whether the node must switch runtime before its kubelet can be\n"
        "upgraded.\n\n"
        "--configz needs nodes/proxy get, which reaches the kubelet API of every node; without\n"
        "it status reads nodes and their metadata only, and says when a node's verdict rests on\n"
        "its kubelet version alone.\n\n"
        "With --pods, also list the pods on each node that mount the Docker socket: they\n"
        "break when the node stops running Docker.",
    .examples =
        "  # All nodes\n"
        "  kubectl runtime-switch status\n\n"
        "  # Worker nodes, with OS, kernel, IP, and the cgroup driver from /configz\n"
        "  kubectl runtime-switch status -l '!node-role.kubernetes.io/control-plane' -o wide --configz\n\n"
        "  # Two nodes, as JSON, with the pods that use /var/run/docker.sock\n"
        "  kubectl runtime-switch status node-1 node-2 --pods -o json",
};
