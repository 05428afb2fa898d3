/* kubectl runtime-switch check [NODE... | -l SELECTOR | --all] [--to T] [-o wide|json|yaml]:
 * what changes or breaks when those nodes leave Docker (ops/check.h). */
#include <string.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/runtimes.h"
#include "ops/check.h"

/* Exit codes of `check` (README), clear of the other commands' 1-6:
 *   0  nothing warns or blocks (info findings only, or none)
 *   10 warnings, no blocker
 *   11 at least one blocker */
enum {
  RS_CHECKX_WARNINGS = 10,
  RS_CHECKX_BLOCKERS = 11,
};

static const struct rs_opt check_opts[] = {
    {.name = "all", .type = RS_OPT_BOOL, .def = "false", .help = "Check every node of the cluster."},
    {.name = "image", .type = RS_OPT_STRING, .arg = "IMAGE", .def = "",
     .help = "Image for the preflight pods; it must already be on the nodes (it is never pulled). Default: one that "
         "a pod on each node runs."},
    RS_OPT_OUTPUT("", "Output format. One of: (json, yaml, wide). wide adds the evidence and what to do.", "json",
                  "yaml", "wide"),
    {.name = "preflight", .type = RS_OPT_BOOL, .def = "true",
     .help = "Run the helper's read-only preflight on each node that leaves Docker (a Job in the working namespace, "
         "-n; removed after). Skipped with a note when you may not."},
    {.name = "preflight-timeout", .type = RS_OPT_STRING, .arg = "DURATION", .def = "3m",
     .help = "How long one node's preflight may take."},
    {.name = "selector", .short_name = 'l', .type = RS_OPT_STRING, .arg = "SELECTOR", .def = "",
     .help = "Selector (label query) to filter nodes on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l "
         "key1=value1,key2=value2)."},
    {.name = "to", .type = RS_OPT_STRING, .arg = "RUNTIME", .def = RS_RUNTIME_CONTAINERD,
     .help = "The runtime the nodes would switch to: " RS_RUNTIME_TARGETS ".",
     .values = RS_VALUES(RS_RUNTIME_CONTAINERD, RS_RUNTIME_CRIO, RS_RUNTIME_CRI_DOCKERD)},
};
static const struct rs_opt_table check_table = RS_OPT_TABLE(check_opts);

/* ---- the table ---- */

static bool on_node(const struct rs_check_finding *f, const char *node) {
  return rs_strv_contains(f->nodes, node);
}

static int table_done(struct rs_table *t, struct rs_cli *cli, int rc, rs_err_t *err) {
  if (rc == 0) rs_table_print(t, cli->out);
  rs_table_free(t);
  return rc < 0 ? rs_oom(err) : 0;
}

static int print_nodes(struct rs_cli *cli, const struct rs_check_report *r, rs_err_t *err) {
  static const char *const head[] = {"NODE", "RUNTIME", "PREFLIGHT", "KUBENET", "BLOCKERS", "WARNINGS", "INFO"};
  struct rs_table *t = rs_table_new(RS_ARRAY_SIZE(head));
  if (!t) return rs_oom(err);
  int rc = rs_table_add(t, head);
  for (size_t i = 0; rc == 0 && i < r->nnodes; i++) {
    const struct rs_check_node *n = &r->nodes[i];
    size_t cnt[_RS_SEV_MAX] = {0};
    for (size_t k = 0; k < r->n; k++)
      if (on_node(&r->v[k], n->name)) cnt[r->v[k].severity]++;
    char b[3][24];
    for (int s = 0; s < _RS_SEV_MAX; s++) snprintf(b[s], sizeof b[s], "%zu", cnt[s]);
    const char *cells[] = {n->name, n->runtime, rs_preflight_state_name(n->preflight),
                           n->kubenet > 0 ? "yes" : n->kubenet == 0 ? "no" : "unknown", b[RS_SEV_BLOCKER],
                           b[RS_SEV_WARNING], b[RS_SEV_INFO]};
    rc = rs_table_add(t, cells);
  }
  return table_done(t, cli, rc, err);
}

static char *evidence(const struct rs_check_finding *f) {
  return rs_strdup_printf("%s/%s%s%s %s=%s", f->object.kind, f->object.ns ? f->object.ns : "",
                          f->object.ns ? "/" : "", f->object.name ? f->object.name : "", f->field ? f->field : "",
                          f->value ? f->value : "");
}

/* Findings about nodes (workload false) or about workloads, in the
 * report's order (grouped). */
static int print_findings(struct rs_cli *cli, const struct rs_check_report *r, bool workload, bool wide,
                          rs_err_t *err) {
  static const char *const nhead[] = {"NODE", "SEVERITY", "CHECK", "FINDING", "EVIDENCE", "ACTION"};
  static const char *const whead[] = {"NAMESPACE", "WORKLOAD", "NODES", "SEVERITY", "CHECK", "FINDING", "EVIDENCE",
                                      "ACTION"};
  size_t base = workload ? 6 : 4;
  struct rs_table *t = rs_table_new(base + (wide ? 2 : 0));
  if (!t) return rs_oom(err);
  int rc = rs_table_add(t, workload ? whead : nhead);
  size_t shown = 0;
  for (size_t i = 0; rc == 0 && i < r->n; i++) {
    const struct rs_check_finding *f = &r->v[i];
    if ((f->workload.kind != NULL) != workload) continue;
    _cleanup_free_ char *wl = workload ? rs_strdup_printf("%s/%s", f->workload.kind, f->workload.name) : NULL;
    _cleanup_free_ char *nodes = NULL;
    bool oom = false;
    for (size_t k = 0; !oom && f->nodes[k]; k++) {
      char *s = rs_strdup_printf("%s%s%s", nodes ? nodes : "", nodes ? "," : "", f->nodes[k]);
      free(nodes);
      nodes = s;
      oom = !s;
    }
    _cleanup_free_ char *ev = wide ? evidence(f) : NULL;
    const char *sev = rs_check_sev_name(f->severity);
    const char *wcells[] = {f->workload.ns, wl, nodes ? nodes : "(template)", sev, f->check, f->message, ev, f->action};
    const char *ncells[] = {f->nodes[0], sev, f->check, f->message, ev, f->action};
    if (oom || (workload && !wl) || (wide && !ev)) rc = -1;
    else rc = rs_table_add(t, workload ? wcells : ncells);
    shown++;
  }
  if (rc == 0 && shown) fputc('\n', cli->out);
  if (rc == 0 && !shown) {
    rs_table_free(t);
    return 0;
  }
  return table_done(t, cli, rc, err);
}

static int print_table(struct rs_cli *cli, const struct rs_check_report *r, bool wide, rs_err_t *err) {
  if (print_nodes(cli, r, err) < 0 || print_findings(cli, r, false, wide, err) < 0 ||
      print_findings(cli, r, true, wide, err) < 0)
    return -1;
  size_t cnt[_RS_SEV_MAX];
  rs_check_counts(r, cnt);
  fprintf(cli->out, "\n%zu blocker(s), %zu warning(s), %zu info on %zu node(s)\n", cnt[RS_SEV_BLOCKER],
          cnt[RS_SEV_WARNING], cnt[RS_SEV_INFO], r->nnodes);
  return 0;
}

/* ---- the command ---- */

/* Printed already: main() adds nothing and exits with cli->exit_code. */
static int exit_with(struct rs_cli *cli, int code, rs_err_t *err) {
  rs_err_clear(err);
  err->kind = RS_E_INPUT;
  cli->exit_code = code;
  return -1;
}

static int cmd_check(struct rs_cli *cli, rs_err_t *err) {
  const char *out;
  if (rs_cli_output(cli, &out, err) < 0) return -1;
  const char *sel = rs_cli_str(cli, "selector");
  bool all = rs_cli_bool(cli, "all");
  bool names = cli->args && cli->args[0];
  int ways = names + (sel && *sel) + all;
  if (ways == 0)
    return rs_fail(err, RS_E_USAGE, 0, "which nodes? name them, or use -l SELECTOR or --all");
  if (ways > 1)
    return rs_fail(err, RS_E_USAGE, 0, "use one of node names, -l SELECTOR and --all");
  const char *to = rs_cli_str(cli, "to");
  if (!to || !*to) to = RS_RUNTIME_CONTAINERD;
  if (rs_rt_target(to) == RS_RT_NONE)
    return rs_fail(err, RS_E_USAGE, 0, "--to must be " RS_RUNTIME_TARGETS " (got \"%s\")", to);
  long long pf_ms = 0;
  const char *pt = rs_cli_str(cli, "preflight-timeout");
  if (pt && (rs_parse_duration_ms(pt, &pf_ms) < 0 || pf_ms <= 0))
    return rs_fail(err, RS_E_USAGE, 0, "invalid --preflight-timeout \"%s\"", pt);
  const char *pf = rs_cli_str(cli, "preflight");
  const char *image = rs_cli_str(cli, "image");
  struct rs_check_opts o = {
      .names = (const char *const *)cli->args,
      .selector = sel && *sel ? sel : NULL,
      .all = all,
      .to = to,
      .preflight = !pf || strcmp(pf, "true") == 0,
      .ns = cli->ov.ns,
      .image = image && *image ? image : NULL,
      .preflight_timeout_ms = pf_ms,
  };
  _cleanup_kube_client_ rs_kube_client_t *c = NULL;
  if (rs_cli_client(cli, &c, err) < 0) return -1;
  struct rs_check_report r = {0};
  if (rs_check_run(c, &o, &r, err) < 0) return -1;
  for (size_t i = 0; r.notes[i]; i++) rs_cli_warn(cli, "%s", r.notes[i]);
  for (size_t i = 0; i < r.nnodes; i++)
    if ((r.nodes[i].preflight == RS_PF_SKIPPED || r.nodes[i].preflight == RS_PF_FAILED) && r.nodes[i].preflight_note)
      rs_cli_warn(cli, "node %s: preflight %s: %s", r.nodes[i].name, rs_preflight_state_name(r.nodes[i].preflight),
                  r.nodes[i].preflight_note);
  int rc = 0;
  if (out && (strcmp(out, "json") == 0 || strcmp(out, "yaml") == 0)) {
    json_auto_t *doc = rs_check_report_to_json(&r);
    if (!doc) rc = rs_oom(err);
    else rc = strcmp(out, "json") == 0 ? rs_print_json(cli->out, doc, err) : rs_print_yaml(cli->out, doc, err);
  } else if (r.nnodes == 0 && !r.missing[0]) {
    fprintf(cli->errf, "No resources found\n");
  } else if (r.nnodes) {
    rc = print_table(cli, &r, out && strcmp(out, "wide") == 0, err);
  }
  if (rc == 0) rc = rs_cli_nodes_not_found(cli, r.missing, err);
  int worst = rs_check_worst(&r);
  rs_check_report_clear(&r);
  if (rc < 0) return -1;
  if (worst == RS_SEV_BLOCKER) return exit_with(cli, RS_CHECKX_BLOCKERS, err);
  if (worst == RS_SEV_WARNING) return exit_with(cli, RS_CHECKX_WARNINGS, err);
  return 0;
}

const struct rs_cmd rs_cmd_check = {
    .name = "check", .run = cmd_check, .opts = RS_OPT_TABLES(&check_table), .args = {.kind = RS_ARG_NODES},
    .summary = "Report what changes or breaks when nodes leave Docker, without changing anything",
    .usage = "check [NODE... | -l SELECTOR | --all] [--to RUNTIME] [-o wide|json|yaml]",
    .description =
        "Report, per node and per workload, what leans on Docker on the nodes named, each finding\n"
        "with a severity (info, warning, blocker), the evidence (object, field, value) and what to\n"
        "do: hostPath mounts that reach the Docker socket, its directory (/run, /var/run), Docker's\n"
        "files or state, resolved as the kernel would (.., //, subPath); docker-in-docker; agents\n"
        "known to bind to Docker; log collectors whose configuration (in the ConfigMaps they mount)\n"
        "reads Docker's JSON logs; and, through the helper's read-only preflight on each node (a\n"
        "Job in the working namespace, -n, removed after; skipped with a note when you may not),\n"
        "the plan's warnings and blockers, each daemon.json setting and whether it is carried\n"
        "over, kubenet and /etc/crictl.yaml.  Pod templates of workloads with no pod on those\n"
        "nodes now are checked where their nodeSelector lets them run there.\n\n"
        "Reads only: nodes, pods, replicasets, jobs, deployments, daemonsets, statefulsets,\n"
        "cronjobs, configmaps; the preflight needs the node command's rights in the working\n"
        "namespace.\n\n"
        "Exit codes: 0 nothing warns or blocks; 10 warnings; 11 blockers; 1 error; 2 usage.",
    .examples =
        "  # One node, the default table\n"
        "  kubectl runtime-switch check node-1\n\n"
        "  # Every node, for CI: the JSON report, exit 10 on warnings, 11 on blockers\n"
        "  kubectl runtime-switch check --all -o json\n\n"
        "  # Worker nodes, with the evidence and what to do, without the node preflight\n"
        "  kubectl runtime-switch check -l '!node-role.kubernetes.io/control-plane' -o wide --preflight=false",
};
