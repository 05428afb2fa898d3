/* kubectl runtime-switch cordon|uncordon|drain NODE...: kubectl's commands
 * of the same names, over ops/drain.  Output and exit codes as kubectl's;
 * -o json prints one JSON event per line instead. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/drain.h"
#include "ops/nodes.h"

#define DRY_RUN_HELP                                                                              \
  "Must be \"none\", \"server\", or \"client\". If client strategy, only print the object that "  \
  "would be sent, without sending it. If server strategy, submit server-side request without "    \
  "persisting the resource."

#define DRY_RUN_OPT                                                                     \
  {.name = "dry-run", .type = RS_OPT_STRING, .arg = "STRATEGY", .def = "none", .help = DRY_RUN_HELP, \
   .values = RS_VALUES("none", "client", "server")}
#define SELECTOR_OPT                                                                     \
  {.name = "selector", .short_name = 'l', .type = RS_OPT_STRING, .arg = "SELECTOR", .def = "", \
   .help = "Selector (label query) to filter on"}

static const struct rs_opt cordon_opts[] = {
    DRY_RUN_OPT,
    SELECTOR_OPT,
};
static const struct rs_opt_table cordon_table = RS_OPT_TABLE(cordon_opts);

/* and rs_drain_flags */
static const struct rs_opt drain_opts[] = {
    {.name = "delete-local-data", .type = RS_OPT_BOOL, .def = "false",
     .help = "Deprecated: use --delete-emptydir-data."},
    DRY_RUN_OPT,
    RS_OPT_OUTPUT("", "Output format. One of: (json). json prints one event per line (evicting, retry, evicted, drained, ...).",
                  "json"),
    SELECTOR_OPT,
};
static const struct rs_opt_table drain_table = RS_OPT_TABLE(drain_opts);

struct out {
  struct rs_cli *cli;
  bool json;
};

static void print_json_line(struct out *o, json_t *ev) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char ts[64];
  snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000);
  json_object_set_new(ev, "time", json_string(ts));
  json_dumpf(ev, o->cli->out, JSON_COMPACT | JSON_SORT_KEYS);
  fputc('\n', o->cli->out);
  fflush(o->cli->out);
}

static void on_event(void *ud, const struct rs_drain_event *ev) {
  struct out *o = ud;
  struct rs_cli *cli = o->cli;
  if (o->json) {
    json_t *j = rs_drain_event_to_json(ev);
    if (j) print_json_line(o, j);
    json_decref(j);
    return;
  }
  switch (ev->type) {
  case RS_DRAIN_EV_POD_FAILED:
    return; /* kubectl prints these with the final error */
  case RS_DRAIN_EV_WARNING:
    fflush(cli->out);
    rs_cli_warn(cli, "%s", ev->text);
    return;
  default:
    break;
  }
  FILE *f = ev->to_stderr ? cli->errf : cli->out;
  if (ev->to_stderr) fflush(cli->out);
  rs_term_printf(f, "%s\n", ev->text);
  fflush(f);
}

/* ---- options ---- */

static int dry_run_opt(struct rs_cli *cli, int *ret, rs_err_t *err) {
  const char *v = rs_cli_str(cli, "dry-run");
  int d = rs_dry_run_parse(v);
  if (d < 0)
    return rs_fail(err, RS_E_INPUT, 0, "Invalid dry-run value (%s). Must be \"none\", \"server\", or \"client\".", v);
  *ret = d;
  return 0;
}

/* ---- nodes ---- */

static int on_node_item(void *ud, json_t *item, rs_err_t *err) {
  const char *name = json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
  return name ? rs_strv_push(ud, name, err) : 0;
}

/* The nodes named (each must exist, as kubectl's builder checks) or
 * selected by -l. */
static int resolve_nodes(struct rs_cli *cli, rs_kube_client_t *c, const char *verbname,
                         char ***ret, rs_err_t *err) {
  const char *sel = rs_cli_str(cli, "selector");
  bool have_sel = sel && *sel;
  bool have_args = cli->args && cli->args[0];
  if (!have_args && !have_sel) return rs_fail(err, RS_E_USAGE, 0, "USAGE: %s NODE [flags]", verbname);
  if (have_args && have_sel)
    return rs_fail(err, RS_E_USAGE, 0, "cannot specify both a node name and a --selector option");
  _cleanup_strv_ char **names = rs_strv_new();
  if (!names) return rs_oom(err);
  if (have_sel) {
    struct rs_kube_list_opts lo = {.label_selector = sel};
    if (rs_kube_list(c, "/api/v1/nodes", &lo, on_node_item, &names, NULL, err) < 0) return -1;
  } else {
    for (size_t i = 0; cli->args[i]; i++) {
      json_auto_t *n = NULL;
      if (rs_node_get(c, cli->args[i], &n, err) < 0) return -1;
      if (!rs_strv_contains(names, cli->args[i]) && rs_strv_push(&names, cli->args[i], err) < 0) return -1;
    }
  }
  *ret = TAKE_PTR(names);
  return 0;
}

/* A command that printed its own error returns this: main prints nothing
 * more (no message) and exits with the code. */
static int printed(rs_err_t *err, int kind) {
  rs_err_clear(err);
  err->kind = kind;
  err->code = 0;
  return -1;
}

/* ---- cordon / uncordon ---- */

static int cordon_cmd(struct rs_cli *cli, bool on, rs_err_t *err) {
  struct rs_drain_opts o = RS_DRAIN_OPTS_INIT;
  if (dry_run_opt(cli, &o.dry_run, err) < 0) return -1;
  struct out out = {cli, false};
  o.on_event = on_event;
  o.ud = &out;
  _cleanup_kube_client_ rs_kube_client_t *c = NULL;
  if (rs_cli_client(cli, &c, err) < 0) return -1;
  _cleanup_strv_ char **nodes = NULL;
  if (resolve_nodes(cli, c, on ? "cordon" : "uncordon", &nodes, err) < 0) return -1;
  for (size_t i = 0; nodes[i]; i++) {
    rs_err_t e = RS_ERR_INIT;
    if (rs_drain_cordon(c, nodes[i], on, &o, &e) < 0) {
      if (e.kind == RS_E_INTERRUPTED) {
        rs_err_move(err, &e);
        return -1;
      }
      /* kubectl reports it and goes on, and still exits 0 */
      rs_term_printf(cli->errf, "error: unable to %s node \"%s\": %s\n", on ? "cordon" : "uncordon",
              nodes[i], e.msg ? e.msg : "unknown error");
      rs_err_clear(&e);
    }
  }
  return 0;
}

static int cmd_cordon(struct rs_cli *cli, rs_err_t *err) { return cordon_cmd(cli, true, err); }
static int cmd_uncordon(struct rs_cli *cli, rs_err_t *err) { return cordon_cmd(cli, false, err); }

/* cordon and uncordon: the same but for the verb and its adjective */
#define CORDON_CMD(verb, run_, adj, description_)                                                   \
  {.name = #verb, .run = run_, .opts = RS_OPT_TABLES(&cordon_table), .args = {.kind = RS_ARG_NODES}, \
   .summary = "Mark a node as " adj ", as kubectl " #verb,                                          \
   .usage = #verb " NODE... [-l SELECTOR] [--dry-run=none|client|server]",                          \
   .description = description_,                                                                    \
   .examples = "  # Mark node \"foo\" as " adj "\n  kubectl runtime-switch " #verb " foo"}

const struct rs_cmd rs_cmd_cordon = CORDON_CMD(
    cordon, cmd_cordon, "unschedulable",
    "Mark node as unschedulable (a strategic merge patch of spec.unschedulable).");
const struct rs_cmd rs_cmd_uncordon = CORDON_CMD(uncordon, cmd_uncordon, "schedulable", "Mark node as schedulable.");

/* ---- drain ---- */

/* The flags given, to repeat them in "how to continue". */
static char *flags_text(struct rs_cli *cli) {
  rs_buf_t b = RS_BUF_INIT(0);
  struct rs_opt_iter it = {.cmd = cli->cmd};
  const struct rs_opt *op;
  size_t slot;
  while ((op = rs_opt_next(&it, &slot))) {
    size_t nv = rs_strv_len(cli->values[slot]);
    const char *v = nv ? cli->values[slot][nv - 1] : NULL;
    if (!v || strcmp(op->name, "output") == 0 || strcmp(op->name, "selector") == 0) continue;
    if (op->type == RS_OPT_BOOL) {
      if (strcmp(v, "true") == 0) rs_buf_printf(&b, NULL, " --%s", op->name);
    } else {
      rs_buf_printf(&b, NULL, " --%s=%s", op->name, v);
    }
  }
  return rs_buf_steal(&b, NULL);
}

static void list_state(struct rs_cli *cli, const struct rs_drain_report *r, int state, const char *label,
                       const char *note) {
  size_t n = 0;
  for (size_t i = 0; i < r->npods; i++) {
    const struct rs_drain_pod *p = &r->pods[i];
    if (p->state != state) continue;
    rs_term_printf(cli->errf, "%s%s/%s", n++ ? ", " : label, p->ns, p->name);
  }
  if (n) rs_term_printf(cli->errf, "%s\n", note ? note : "");
}

static void interrupted_summary(struct rs_cli *cli, const char *node, const struct rs_drain_report *r) {
  _cleanup_free_ char *flags = flags_text(cli);
  rs_term_printf(cli->errf, "Interrupted: stopped evicting pods from node \"%s\"; the node stays cordoned.\n", node);
  list_state(cli, r, RS_DRAIN_POD_GONE, "  evicted:      ", NULL);
  list_state(cli, r, RS_DRAIN_POD_SKIPPED, "  skipped:      ", NULL);
  list_state(cli, r, RS_DRAIN_POD_EVICTING, "  terminating:  ", "  (eviction accepted, still shutting down)");
  list_state(cli, r, RS_DRAIN_POD_REQUESTED, "  unknown:      ",
             "  (a request was in flight; `kubectl get pods` tells)");
  list_state(cli, r, RS_DRAIN_POD_FAILED, "  failed:       ", NULL);
  list_state(cli, r, RS_DRAIN_POD_PENDING, "  not evicted:  ", NULL);
  rs_term_printf(cli->errf, "To continue:  kubectl runtime-switch drain %s%s\n", node, flags ? flags : "");
  rs_term_printf(cli->errf, "To put the node back in service:  kubectl runtime-switch uncordon %s\n", node);
}

static json_t *report_json(const char *event, const char *node, const struct rs_drain_report *r,
                           const rs_err_t *e) {
  json_t *pods = json_array(), *errs = json_array();
  for (size_t i = 0; pods && r && i < r->npods; i++) {
    const struct rs_drain_pod *p = &r->pods[i];
    json_array_append_new(pods, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s?}", "namespace", p->ns, "name",
                                          p->name, "uid", p->uid, "state", rs_drain_pod_state_name(p->state),
                                          "attempts", (int)p->attempts, "error", p->error));
  }
  for (size_t i = 0; errs && r && r->errors && r->errors[i]; i++)
    json_array_append_new(errs, json_string(r->errors[i]));
  if (errs && json_array_size(errs) == 0 && e && e->msg) json_array_append_new(errs, json_string(e->msg));
  return json_pack("{s:s, s:s, s:o*, s:o*}", "event", event, "node", node, "pods", pods, "errors", errs);
}

/* kubectl's error line for a node's failure (the first line of CheckErr
 * when it is not an aggregate). */
static void print_plain_error(struct rs_cli *cli, const rs_err_t *e) {
  if (e->kind == RS_E_API && e->code == 401)
    rs_term_printf(cli->errf, "error: You must be logged in to the server (%s)\n", e->msg ? e->msg : "");
  else if (e->kind == RS_E_API && e->reason)
    rs_term_printf(cli->errf, "Error from server (%s): %s\n", e->reason, e->msg ? e->msg : "");
  else
    rs_term_printf(cli->errf, "error: %s\n", e->msg ? e->msg : "unknown error");
}

/* A node the drain failed on. */
struct failed {
  const char *node;
  char *agg;          /* the node's error as kubectl's aggregate text */
  char **lines;       /* its errors one per line, or NULL for a plain error */
  char *check_err;    /* the delete path: the DELETE's error as CheckErr prints it */
  rs_err_t err;
};

/* kubectl cordons every node first; a failure is reported, not fatal. */
static int cordon_all(rs_kube_client_t *c, char *const *nodes, const struct rs_drain_opts *o,
                      struct out *out, rs_err_t *err) {
  for (size_t i = 0; nodes[i]; i++) {
    rs_err_t e = RS_ERR_INIT;
    if (rs_drain_cordon(c, nodes[i], true, o, &e) == 0) continue;
    if (e.kind == RS_E_INTERRUPTED) {
      rs_err_move(err, &e);
      return -1;
    }
    _cleanup_free_ char *text = rs_strdup_printf("error: unable to cordon node \"%s\": %s", nodes[i],
                                                 e.msg ? e.msg : "unknown error");
    struct rs_drain_event ev = {.type = RS_DRAIN_EV_CORDON_ERROR, .node = nodes[i],
                                .text = text ? text : "", .to_stderr = true, .message = e.msg};
    on_event(out, &ev);
    rs_err_clear(&e);
  }
  return 0;
}

static void drained(struct out *out, const char *node, int dry_run) {
  const char *sfx = dry_run == RS_DRY_RUN_CLIENT ? " (dry run)"
                    : dry_run == RS_DRY_RUN_SERVER ? " (server dry run)" : "";
  _cleanup_free_ char *text = rs_strdup_printf("node/%s drained%s", node, sfx);
  struct rs_drain_event ev = {.type = RS_DRAIN_EV_DRAINED, .node = node, .text = text ? text : ""};
  on_event(out, &ev);
}

/* Record into f why the drain of node failed (taking what it needs from r
 * and e) and tell it as kubectl does, then go on with the next node. */
static void node_failed(struct out *out, const char *node, struct rs_drain_report *r, rs_err_t *e,
                        struct failed *f) {
  struct rs_cli *cli = out->cli;
  bool agg = r->errors && r->errors[0];
  f->node = node;
  f->agg = agg ? rs_drain_aggregate_text(r->errors) : strdup(e->msg ? e->msg : "unknown error");
  if (agg) f->lines = TAKE_PTR(r->errors);
  /* kubectl's delete path ends at its first error and returns it as it
   * is (not an aggregate), so CheckErr prints it as an API error */
  for (size_t k = 0; !r->eviction && k < r->npods && !f->check_err; k++)
    if (r->pods[k].state == RS_DRAIN_POD_FAILED && r->pods[k].check_err)
      f->check_err = TAKE_PTR(r->pods[k].check_err);
  if (out->json) {
    json_t *j = report_json("failed", node, r, e);
    if (j) print_json_line(out, j);
    json_decref(j);
  }
  if (!r->refused && rs_drain_report_pending(r)) {
    rs_term_printf(cli->errf, "There are pending pods in node \"%s\" when an error occurred: %s\n", node,
            f->agg ? f->agg : "");
    for (size_t k = 0; k < r->npods; k++)
      if (r->pods[k].state != RS_DRAIN_POD_GONE && r->pods[k].state != RS_DRAIN_POD_SKIPPED)
        rs_term_printf(cli->errf, "pod/%s\n", r->pods[k].name);
  }
  rs_term_printf(cli->errf, "error: unable to drain node \"%s\" due to error: %s, continuing command...\n",
          node, f->agg ? f->agg : "");
  rs_err_move(&f->err, e);
}

/* The end of a drain that failed on some nodes, as kubectl's CheckErr: one
 * failed node prints its errors one per line; several print one aggregate
 * line each. */
static void print_failed(struct rs_cli *cli, const struct failed *fails, size_t nfail) {
  rs_term_printf(cli->errf, "There are pending nodes to be drained:\n");
  for (size_t k = 0; k < nfail; k++) rs_term_printf(cli->errf, " %s\n", fails[k].node);
  if (nfail == 1 && fails[0].check_err) {
    rs_term_printf(cli->errf, "%s\n", fails[0].check_err);
  } else if (nfail == 1 && fails[0].lines) {
    for (size_t k = 0; fails[0].lines[k]; k++) rs_term_printf(cli->errf, "%s\n", fails[0].lines[k]);
  } else if (nfail == 1) {
    print_plain_error(cli, &fails[0].err);
  } else {
    for (size_t k = 0; k < nfail; k++) rs_term_printf(cli->errf, "%s\n", fails[k].agg ? fails[k].agg : "");
  }
}

static int cmd_drain(struct rs_cli *cli, rs_err_t *err) {
  struct rs_drain_opts o = RS_DRAIN_OPTS_INIT;
  const char *output;
  if (rs_cli_output(cli, &output, err) < 0 || dry_run_opt(cli, &o.dry_run, err) < 0 ||
      rs_drain_flags_read(cli, false, &o, err) < 0)
    return -1;
  o.delete_emptydir_data |= rs_cli_bool(cli, "delete-local-data");
  struct out out = {cli, output && strcmp(output, "json") == 0};
  o.on_event = on_event;
  o.ud = &out;
  _cleanup_kube_client_ rs_kube_client_t *c = NULL;
  _cleanup_strv_ char **nodes = NULL;
  if (rs_cli_client(cli, &c, err) < 0 || resolve_nodes(cli, c, "drain", &nodes, err) < 0 ||
      cordon_all(c, nodes, &o, &out, err) < 0)
    return -1;
  _cleanup_free_ struct failed *fails = calloc(rs_strv_len(nodes) + 1, sizeof *fails);
  if (!fails) return rs_oom(err);
  size_t nfail = 0;
  int rc = 0;
  for (size_t i = 0; nodes[i]; i++) {
    struct rs_drain_report r = {0};
    rs_err_t e = RS_ERR_INIT;
    if (rs_drain_pods(c, nodes[i], &o, &r, &e) == 0) {
      drained(&out, nodes[i], o.dry_run);
    } else if (e.kind == RS_E_INTERRUPTED) {
      if (out.json) {
        json_t *j = report_json("interrupted", nodes[i], &r, &e);
        if (j) print_json_line(&out, j);
        json_decref(j);
      }
      interrupted_summary(cli, nodes[i], &r);
      rs_err_clear(&e);
      rc = printed(err, RS_E_INTERRUPTED);
    } else {
      node_failed(&out, nodes[i], &r, &e, &fails[nfail++]);
    }
    rs_drain_report_clear(&r);
    if (rc < 0) break;
  }
  if (rc == 0 && nfail) {
    print_failed(cli, fails, nfail);
    rc = printed(err, RS_E_API);
  }
  for (size_t k = 0; k < nfail; k++) {
    free(fails[k].agg);
    free(fails[k].check_err);
    rs_strv_free(fails[k].lines);
    rs_err_clear(&fails[k].err);
  }
  return rc;
}

const struct rs_cmd rs_cmd_drain = {
    .name = "drain", .run = cmd_drain, .args = {.kind = RS_ARG_NODES},
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
        "  kubectl runtime-switch drain foo --ignore-daemonsets --timeout=2m -o json",
    .opts = RS_OPT_TABLES(&drain_table, &rs_drain_flags),
};
