/* kubectl runtime-switch rollout status [ID] | abort ID: the rollouts'
 * records (ops/rollout_record.h) in the working namespace, read from any
 * machine; abort leaves every node of one in a final state. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/deliver.h"
#include "ops/lease.h"
#include "ops/rollout.h"
#include "ops/rollout_lock.h"
#include "ops/rollout_record.h"
#include "ops/switch.h"
#include "ops/switch_record.h"
#include "rollout_cli.h"
#include "switch_cli.h"

static const struct rs_opt rollout_opts[] = {
    RS_OPT_OUTPUT("", "Output format. One of: (json). status: the record(s) as stored; resume: one event a line.",
                  "json"),
    {.name = "yes", .short_name = 'y', .type = RS_OPT_BOOL, .def = "false",
     .help = "resume: do not ask for confirmation."},
};
static const struct rs_opt_table rollout_table = RS_OPT_TABLE(rollout_opts);

static const char *ns_of(const struct rs_cli *cli) {
  return cli->ov.ns && *cli->ov.ns ? cli->ov.ns : RS_DELIVER_DEFAULT_NS;
}

static void stamp(long long t, char *buf, size_t len) {
  if (!t) {
    snprintf(buf, len, "-");
    return;
  }
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(buf, len, "?");
}

static int print_json(struct rs_cli *cli, const struct rs_ror_record *v, size_t n, rs_err_t *err) {
  for (size_t i = 0; i < n; i++) {
    _cleanup_free_ char *txt = rs_ror_dump(&v[i], err);
    if (!txt) return -1;
    fprintf(cli->out, "%s\n", txt);
  }
  return 0;
}

/* One line per rollout. */
static int print_list(struct rs_cli *cli, const struct rs_ror_record *v, size_t n, rs_err_t *err) {
  static const char *const head[] = {"ROLLOUT", "STATE", "TO", "NODES", "DONE", "FAILED", "OWNER", "UPDATED"};
  struct rs_table *t = rs_table_new(RS_ARRAY_SIZE(head));
  int rc = t ? rs_table_add(t, head) : -1;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    char nodes[24], done[24], failed[24], upd[32];
    snprintf(nodes, sizeof nodes, "%zu", v[i].nnodes);
    snprintf(done, sizeof done, "%zu", rs_ror_count(&v[i], RS_ROR_NODE_DONE));
    snprintf(failed, sizeof failed, "%zu", rs_ror_count(&v[i], RS_ROR_NODE_FAILED));
    stamp(v[i].updated, upd, sizeof upd);
    _cleanup_free_ char *owner = rs_strdup_printf("%s%s%s", v[i].owner, v[i].host ? " on " : "",
                                                  v[i].host ? v[i].host : "");
    if (!owner) rc = -1;
    const char *cells[] = {v[i].id, rs_ror_state_name(v[i].state), v[i].to, nodes, done, failed, owner, upd};
    if (rc == 0) rc = rs_table_add(t, cells);
  }
  if (rc == 0) rs_table_print(t, cli->out);
  rs_table_free(t);
  return rc < 0 ? rs_oom(err) : 0;
}

/* One rollout, node by node. */
static int print_one(struct rs_cli *cli, const struct rs_ror_record *r, rs_err_t *err) {
  char created[32], updated[32];
  stamp(r->created, created, sizeof created);
  stamp(r->updated, updated, sizeof updated);
  rs_term_printf(cli->out, "Rollout %s to %s: %s (owner %s%s%s; created %s, updated %s)\n", r->id, r->to,
                 rs_ror_state_name(r->state), r->owner, r->host ? " on " : "", r->host ? r->host : "", created,
                 updated);
  if (r->reason) rs_term_printf(cli->out, "Halted: %s\n", r->reason);
  static const char *const head[] = {"BATCH", "NODE", "STATE", "PHASE", "RUN", "STARTED", "ENDED", "REASON"};
  struct rs_table *t = rs_table_new(RS_ARRAY_SIZE(head));
  int rc = t ? rs_table_add(t, head) : -1;
  for (size_t i = 0; rc == 0 && i < r->nnodes; i++) {
    const struct rs_ror_node *n = &r->nodes[i];
    char b[24], st[32], en[32];
    snprintf(b, sizeof b, "%ld", n->batch);
    stamp(n->started, st, sizeof st);
    stamp(n->ended, en, sizeof en);
    const char *cells[] = {b, n->name, rs_ror_node_state_name(n->state), n->phase ? n->phase : "-",
                           n->run ? n->run : "-", st, en, n->reason ? n->reason : "-"};
    rc = rs_table_add(t, cells);
  }
  if (rc == 0) rs_table_print(t, cli->out);
  rs_table_free(t);
  return rc < 0 ? rs_oom(err) : 0;
}

static int status(struct rs_cli *cli, rs_kube_client_t *c, const char *id, bool json, rs_err_t *err) {
  if (id) {
    struct rs_ror_record r;
    bool found;
    if (rs_ror_read(c, ns_of(cli), id, &r, &found, err) < 0) return -1;
    if (!found) return rs_fail(err, RS_E_API, 404, "rollout %s not found in namespace %s", id, ns_of(cli));
    int rc = json ? print_json(cli, &r, 1, err) : print_one(cli, &r, err);
    rs_ror_record_clear(&r);
    return rc;
  }
  struct rs_ror_record *v = NULL;
  size_t n = 0;
  _cleanup_strv_ char **bad = NULL;
  if (rs_ror_list(c, ns_of(cli), &v, &n, &bad, err) < 0) return -1;
  for (size_t i = 0; bad[i]; i++) rs_cli_warn(cli, "a rollout record that cannot be read: %s", bad[i]);
  int rc = 0;
  if (json) rc = print_json(cli, v, n, err);
  else if (!n) fprintf(cli->errf, "No rollouts found in %s namespace.\n", ns_of(cli));
  else rc = print_list(cli, v, n, err);
  rs_ror_list_free(v, n);
  return rc;
}

/* A node of an aborted rollout: pending ones are cancelled; one that had
 * started is done or failed by the node (Ready on the target or not), and
 * one whose switch is still in progress, as the node's lock has it (its
 * annotations are only a mirror), refuses the abort. */
static int settle(rs_kube_client_t *c, const char *ns, const struct rs_ror_record *r, struct rs_ror_node *n,
                  rs_err_t *err) {
  if (rs_ror_node_final(n->state)) return 0;
  if (n->state == RS_ROR_NODE_PENDING) {
    n->state = RS_ROR_NODE_CANCELLED;
    return 0;
  }
  _cleanup_free_ char *en = rs_kube_escape(n->name);
  _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
  _cleanup_free_ char *lname = rs_lease_name(RS_LOCK_PREFIX, n->name);
  if (!path || !lname) return rs_oom(err);
  json_auto_t *node = NULL;
  if (rs_kube_get(c, path, &node, err) < 0) return rs_wrap(err, "reading node %s", n->name);
  _cleanup_(rs_lease_clear) struct rs_lease l = {0};
  bool found = false;
  if (rs_lease_read(c, ns, lname, &l, &found, err) < 0) return rs_wrap(err, "reading the lock of node %s", n->name);
  _cleanup_(rs_sw_record_clear) struct rs_sw_record locked = {0};
  _cleanup_free_ char *why = NULL;
  int st = rs_rollout_node_run(ns, n->name, node, found ? l.obj : NULL, &locked, &why, err);
  if (st < 0) return -1;
  if (st == RS_RO_RUN_HELD)
    return rs_fail(err, RS_E_INPUT, 0, "node %s is in the middle of its switch (run %s, phase %s, held by %s): finish "
                   "it with `kubectl runtime-switch node %s --to %s` (it resumes) or undo it with `kubectl "
                   "runtime-switch rollback node %s`, then abort again; nothing was changed", n->name, locked.id,
                   locked.phase ? locked.phase : RS_REC_STARTED, l.holder ? l.holder : "nobody", n->name, r->to,
                   n->name);
  n->state = rs_sw_runtime_is(node, r->to) && rs_sw_node_ready(node) ? RS_ROR_NODE_DONE : RS_ROR_NODE_FAILED;
  if (!n->ended) n->ended = (long long)time(NULL);
  return 0;
}

static int abort_rollout(struct rs_cli *cli, rs_kube_client_t *c, const char *id, rs_err_t *err) {
  struct rs_ror_record r;
  bool found;
  if (rs_ror_read(c, ns_of(cli), id, &r, &found, err) < 0) return -1;
  if (!found) return rs_fail(err, RS_E_API, 404, "rollout %s not found in namespace %s", id, ns_of(cli));
  int rc = 0;
  if (rs_ror_final(r.state)) {
    fprintf(cli->out, "rollout %s is already %s\n", r.id, rs_ror_state_name(r.state));
  } else {
    for (size_t i = 0; rc == 0 && i < r.nnodes; i++) rc = settle(c, ns_of(cli), &r, &r.nodes[i], err);
    if (rc < 0) cli->exit_code = RS_SWX_REFUSED;
    r.state = RS_ROR_ABORTED;
    if (rc == 0) rc = rs_ror_save(c, ns_of(cli), &r, err);
    if (rc == 0)
      fprintf(cli->out, "rollout %s aborted: %zu done, %zu failed, %zu cancelled\n", r.id,
              rs_ror_count(&r, RS_ROR_NODE_DONE), rs_ror_count(&r, RS_ROR_NODE_FAILED),
              rs_ror_count(&r, RS_ROR_NODE_CANCELLED));
    /* final now: the rollout's lock, if it holds it, goes with it */
    rs_err_t e2 = RS_ERR_INIT;
    bool dropped = false;
    if (rc == 0 && rs_rollout_lock_drop(c, ns_of(cli), r.id, &dropped, &e2) < 0)
      rs_cli_warn(cli, "%s: the next rollout takes it over, rollout %s being final", e2.msg ? e2.msg : "?", r.id);
    rs_err_clear(&e2);
  }
  rs_ror_record_clear(&r);
  return rc;
}

static int cmd_rollout(struct rs_cli *cli, rs_err_t *err) {
  size_t n = rs_strv_len(cli->args);
  const char *verb = n ? cli->args[0] : NULL;
  bool is_status = verb && strcmp(verb, "status") == 0, is_abort = verb && strcmp(verb, "abort") == 0;
  bool is_resume = verb && strcmp(verb, "resume") == 0;
  if (!(is_status && n <= 2) && !((is_abort || is_resume) && n == 2))
    return rs_fail(err, RS_E_USAGE, 0, "usage: rollout status [ID] | rollout resume ID | rollout abort ID");
  if (is_resume) return rs_rollout_cli_resume(cli, cli->args[1], err);
  const char *out = NULL;
  if (rs_cli_output(cli, &out, err) < 0) return -1;
  _cleanup_kube_client_ rs_kube_client_t *c = NULL;
  if (rs_cli_client(cli, &c, err) < 0) return -1;
  if (is_status) return status(cli, c, n == 2 ? cli->args[1] : NULL, out && strcmp(out, "json") == 0, err);
  return abort_rollout(cli, c, cli->args[1], err);
}

const struct rs_cmd rs_cmd_rollout = {
    .name = "rollout", .run = cmd_rollout, .opts = RS_OPT_TABLES(&rollout_table),
    .args = {.words = (const struct rs_arg_word[]){{"status", "The rollouts, or one node by node", RS_ARG_NONE},
                                                   {"resume", "Go on with a halted or paused rollout", RS_ARG_NONE},
                                                   {"abort", "Leave every node of a rollout in a final state",
                                                    RS_ARG_NONE},
                                                   {NULL, NULL, 0}}},
    .summary = "Show, resume or abort the rollouts of several nodes (node -l/--all)",
    .usage = "rollout status [ID] | rollout resume ID [--yes] | rollout abort ID [-n WORKING_NAMESPACE] [-o json]",
    .description =
        "A rollout (`node` over several nodes) keeps its record in the cluster: the ConfigMap\n"
        "runtime-switch-rollout-<id> in the working namespace.  `rollout status` lists them\n"
        "(state, nodes done and failed, owner); with an id, node by node (batch, state, phase,\n"
        "run, times, reason).\n\n"
        "`rollout resume ID` goes on with an unfinished rollout from any machine, as running its\n"
        "command again would: its selection and options (the drain's flags too) from the record,\n"
        "planned again (blockers found before anything changes), finished nodes not run again.\n\n"
        "`rollout abort ID` leaves every node in a final state: a node not started is\n"
        "cancelled; one that started is done or failed by its own record on the node; a\n"
        "node still in the middle of its switch refuses the abort (exit 3, nothing changed):\n"
        "finish or roll it back first.  A plugin still running the rollout stops at its\n"
        "next write, the record having changed under it.",
    .examples = "  kubectl runtime-switch rollout status\n"
                "  kubectl runtime-switch rollout status 20261206-104155-ab12\n"
                "  kubectl runtime-switch rollout abort 20261206-104155-ab12",
};
