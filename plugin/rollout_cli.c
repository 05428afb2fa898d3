/* `node NODE... | -l SELECTOR | --all --to T` with the rollout's flags: the
 * plan (ops/rollout.h), printed before anything changes, as a table or as
 * one JSON document on one line (-o json); confirmed once (or --yes);
 * --dry-run stops there. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/runtimes.h"
#include "ops/check.h"
#include "ops/deliver.h"
#include "ops/rollout_lock.h"
#include "ops/rollout_record.h"
#include "ops/rollout.h"
#include "rollout_cli.h"
#include "switch_cli.h"

static const char *const rollout_flag_names[] = {"all",       "all-control-plane", "canary", "max-failures",
                                                 "max-unavailable", "max-zones", "selector", "skip-preflight",
                                                 "soak"};

bool rs_rollout_cli_wanted(const struct rs_cli *cli) {
  if (rs_strv_len(cli->args) > 1) return true;
  for (size_t i = 0; i < RS_ARRAY_SIZE(rollout_flag_names); i++)
    if (rs_cli_str(cli, rollout_flag_names[i])) return true;
  return false;
}

/* ---- options ---- */

static int long_opt(const struct rs_cli *cli, const char *name, long min, long max, long def, long *ret,
                    rs_err_t *err) {
  const char *v = rs_cli_str(cli, name);
  *ret = def;
  if (!v) return 0;
  if (rs_parse_long(v, min, max, ret) < 0)
    return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"--%s\" flag: a number %ld..%ld is expected",
                   v, name, min, max);
  return 0;
}

static int read_opts(struct rs_cli *cli, struct rs_rollout_opts *o, rs_err_t *err) {
  const char *sel = rs_cli_str(cli, "selector");
  bool all = rs_cli_bool(cli, "all");
  bool names = cli->args && cli->args[0];
  if (names && sel && *sel)
    return rs_fail(err, RS_E_USAGE, 0, "cannot specify both a node name and a --selector option");
  if (all && (names || (sel && *sel)))
    return rs_fail(err, RS_E_USAGE, 0, "--all selects every node: give no node name and no --selector with it");
  if (!names && !all && !(sel && *sel))
    return rs_fail(err, RS_E_USAGE, 0, "which nodes? name them, or use -l SELECTOR or --all");
  const char *to = rs_cli_str(cli, "to");
  if (!to || !*to) return rs_fail(err, RS_E_USAGE, 0, "--to is required: " RS_RUNTIME_TARGETS);
  if (rs_rt_target(to) == RS_RT_NONE)
    return rs_fail(err, RS_E_USAGE, 0, "--to must be " RS_RUNTIME_TARGETS " (got \"%s\")", to);
  struct rs_switch_opts so = {.op = RS_OP_SWITCH, .to = to};
  if (rs_switch_cli_opts(cli, &so, err) < 0) return -1;
  *o = (struct rs_rollout_opts){.names = names ? (const char *const *)cli->args : NULL,
                                .selector = sel && *sel ? sel : NULL, .all = all, .to = to,
                                .preflight = !rs_cli_bool(cli, "skip-preflight"), .ns = so.ns, .image = so.image,
                                .drain = so.drain};
  const char *mu = rs_cli_str(cli, "max-unavailable");
  o->plan.max_unavailable = 1;
  o->plan.max_unavailable_pct = -1;
  if (mu && rs_ro_parse_max_unavailable(mu, &o->plan.max_unavailable, &o->plan.max_unavailable_pct, err) < 0)
    return -1;
  if (long_opt(cli, "canary", 0, RS_RO_MAX_NODES, 1, &o->plan.canary, err) < 0 ||
      long_opt(cli, "max-zones", 0, 1000, 1, &o->plan.max_zones, err) < 0)
    return -1;
  o->plan.allow_all_control_plane = rs_cli_bool(cli, "all-control-plane");
  return 0;
}

/* ---- the table ---- */

static const char *dash(const char *s) { return s && *s ? s : "-"; }

static int print_batches(struct rs_cli *cli, const struct rs_rollout_plan *p, rs_err_t *err) {
  static const char *const head[] = {"BATCH", "NODE", "ZONE", "ROLE", "RUNTIME", "PREFLIGHT", "EVICTIONS"};
  struct rs_table *t = rs_table_new(RS_ARRAY_SIZE(head));
  if (!t) return rs_oom(err);
  int rc = rs_table_add(t, head);
  for (size_t b = 0; rc == 0 && b < p->plan.nbatches; b++) {
    const struct rs_ro_batch *x = &p->plan.batches[b];
    for (size_t k = 0; rc == 0 && k < x->n; k++) {
      const struct rs_rollout_node *n = &p->nodes[p->plan.order[x->start + k]];
      char bn[32], ev[24];
      snprintf(bn, sizeof bn, "%zu%s", b + 1, x->kind == RS_RO_BATCH_CANARY ? " (canary)" : "");
      snprintf(ev, sizeof ev, "%ld", n->pods);
      const char *cells[] = {bn, n->name, dash(n->zone), n->control_plane ? "control-plane" : "worker",
                             dash(n->runtime), n->preflight >= 0 ? rs_preflight_state_name(n->preflight) : "skipped",
                             ev};
      rc = rs_table_add(t, cells);
    }
  }
  if (rc == 0) rs_table_print(t, cli->out);
  rs_table_free(t);
  return rc < 0 ? rs_oom(err) : 0;
}

static void print_others(struct rs_cli *cli, const struct rs_rollout_plan *p) {
  for (size_t b = 0; b < p->plan.nbatches; b++)
    if (p->plan.batches[b].note) fprintf(cli->out, "batch %zu: %s\n", b + 1, p->plan.batches[b].note);
  for (int st = RS_RO_SKIPPED; st < _RS_RO_STATE_MAX; st++) {
    for (size_t i = 0; i < p->nnodes; i++) {
      const struct rs_rollout_node *n = &p->nodes[i];
      if (p->plan.state[i] != st) continue;
      if (st == RS_RO_SKIPPED) {
        fprintf(cli->out, "skipped: node %s already runs %s (%s)\n", n->name, p->to, dash(n->runtime));
      } else if (st == RS_RO_HELD) {
        fprintf(cli->out, "held: node %s: %s\n", n->name, dash(p->plan.reason[i]));
      } else {
        fprintf(cli->out, "blocked: node %s:\n", n->name);
        for (size_t k = 0; n->blockers && n->blockers[k]; k++) fprintf(cli->out, "  - %s\n", n->blockers[k]);
        for (size_t k = 0; n->drain_blockers && n->drain_blockers[k]; k++)
          fprintf(cli->out, "  - the drain would refuse: %s\n", n->drain_blockers[k]);
      }
    }
  }
}

static size_t count_state(const struct rs_rollout_plan *p, int st) {
  size_t n = 0;
  for (size_t i = 0; i < p->nnodes; i++) n += p->plan.state[i] == st;
  return n;
}

static int print_text(struct rs_cli *cli, const struct rs_rollout_plan *p, rs_err_t *err) {
  size_t planned = p->plan.norder;
  fprintf(cli->out, "Rollout to %s: %zu node(s) in %zu batch(es), at most %ld unavailable at a time; %zu skipped, "
          "%zu blocked, %zu held%s\n", p->to, planned, p->plan.nbatches, p->plan.max_unavailable,
          count_state(p, RS_RO_SKIPPED), count_state(p, RS_RO_BLOCKED), count_state(p, RS_RO_HELD),
          p->preflight ? "" : " (preflights skipped)");
  if (planned && print_batches(cli, p, err) < 0) return -1;
  print_others(cli, p);
  return 0;
}

/* The rollout's lock (ops/rollout_lock.h) refuses this rollout (f.own
 * when it resumes one): -1, *err says why, exit 3. */
static int refused_by_lock(struct rs_cli *cli, rs_kube_client_t *c, const struct rs_rollout_opts *o,
                           const struct rs_rollout_found *f, rs_err_t *err) {
  _cleanup_free_ char *why = NULL;
  char host[256];
  rs_rollout_me_host(host, sizeof host);
  struct rs_rollout_me me = {.host = host[0] ? host : NULL, .pid = (long)getpid()};
  if (rs_rollout_lock_check(c, o->ns ? o->ns : RS_DELIVER_DEFAULT_NS, f->found ? f->own.id : NULL, &me, &why,
                            err) < 0)
    return -1;
  if (!why) return 0;
  cli->exit_code = RS_SWX_REFUSED;
  return rs_fail(err, RS_E_INPUT, 0, "%s", why);
}

/* Before the plan's preflights (privileged Jobs on every node): another
 * unfinished rollout over these nodes, then the lock, from a plan without
 * them (lists only).  A refusal says the same as after the plan. */
static int refused_early(struct rs_cli *cli, rs_kube_client_t *c, const struct rs_rollout_opts *o,
                         const struct rs_rollout_found *f, rs_err_t *err) {
  if (!o->preflight) return 0; /* the plan itself is the cheap one */
  if (f->nothers) {
    struct rs_rollout_opts q = *o;
    q.preflight = false;
    struct rs_rollout_plan cheap = {0};
    if (rs_rollout_plan(c, &q, &cheap, err) < 0) return -1;
    int rc = rs_rollout_cli_overlap(f, &cheap, err);
    rs_rollout_plan_clear(&cheap);
    if (rc < 0) {
      cli->exit_code = RS_SWX_REFUSED;
      return -1;
    }
  }
  return refused_by_lock(cli, c, o, f, err);
}

/* Plan o, print it, and unless dry (or blocked) run it with x. */
static int plan_and_run(struct rs_cli *cli, rs_kube_client_t *c, const struct rs_rollout_opts *ro, bool dry,
                        const struct rs_rollout_exec *x, rs_err_t *err) {
  struct rs_rollout_opts o = *ro;
  bool json = x->json;
  /* a run that may start reads the records first: its own (a rerun
   * resumes it, its switches in progress are its own to finish) and the
   * others (refused over their nodes) */
  bool may_run = !dry && (x->sw.yes || (!json && isatty(STDIN_FILENO)));
  struct rs_rollout_found f = {0};
  _cleanup_strv_ char **resume = rs_strv_new();
  if (!resume) return rs_oom(err);
  if (may_run && rs_rollout_cli_find(cli, c, o.ns ? o.ns : RS_DELIVER_DEFAULT_NS, &o, &f, err) < 0) return -1;
  for (size_t i = 0; f.found && i < f.own.nnodes; i++)
    if (f.own.nodes[i].state == RS_ROR_NODE_RUNNING && rs_strv_push(&resume, f.own.nodes[i].name, err) < 0) {
      rs_rollout_found_clear(&f);
      return -1;
    }
  o.resume_nodes = resume;
  /* a plan that may go on does not wait for its preflights' pods to go (the
   * Jobs are deleted; the pods leave while the first batch cordons) */
  o.leave_pods = may_run;
  /* a rollout that will be refused starts no preflight on any node */
  if (may_run && refused_early(cli, c, &o, &f, err) < 0) {
    rs_rollout_found_clear(&f);
    return -1;
  }
  struct rs_rollout_plan p = {0};
  if (rs_rollout_plan(c, &o, &p, err) < 0) {
    rs_rollout_found_clear(&f);
    return -1;
  }
  for (size_t i = 0; p.notes[i]; i++) rs_cli_warn(cli, "%s", p.notes[i]);
  int rc = 0;
  if (json) {
    json_auto_t *doc = rs_rollout_plan_to_json(&p);
    if (!doc) rc = rs_oom(err);
    else if (json_dumpf(doc, cli->out, JSON_COMPACT | JSON_SORT_KEYS) < 0 || fputc('\n', cli->out) == EOF)
      rc = rs_fail_errno(err, errno, "writing the plan");
  } else {
    rc = print_text(cli, &p, err);
  }
  fflush(cli->out);
  size_t blocked = rs_rollout_blocked(&p), planned = p.plan.norder;
  if (rc == 0) rc = rs_cli_nodes_not_found(cli, p.missing, err);
  if (rc == 0 && may_run && rs_rollout_cli_overlap(&f, &p, err) < 0) {
    rc = -1;
    cli->exit_code = RS_SWX_REFUSED;
  }
  if (rc == 0 && blocked) {
    rc = rs_fail(err, RS_E_INPUT, 0, "%zu node(s) have blockers (above); nothing was changed", blocked);
    cli->exit_code = RS_SWX_REFUSED;
  }
  /* again after the plan (a rollout may have started meanwhile; the
   * engine takes the lock: one that took it since is refused there) */
  if (rc == 0 && may_run && (planned || f.found)) rc = refused_by_lock(cli, c, &o, &f, err);
  if (rc == 0 && !dry && (planned || f.found)) rc = rs_rollout_cli_execute(cli, &o, &p, c, x, &f, err);
  rs_rollout_found_clear(&f);
  rs_rollout_plan_clear(&p);
  return rc;
}

int rs_rollout_cli_run(struct rs_cli *cli, rs_err_t *err) {
  struct rs_rollout_opts o;
  if (read_opts(cli, &o, err) < 0) return -1;
  const char *out = NULL;
  if (rs_cli_output(cli, &out, err) < 0) return -1;
  struct rs_rollout_exec x = {.sw = {.op = RS_OP_SWITCH, .to = o.to}, .json = out && strcmp(out, "json") == 0,
                              .max_unavailable = rs_cli_str(cli, "max-unavailable")};
  const char *mf = rs_cli_str(cli, "max-failures"), *soak = rs_cli_str(cli, "soak");
  if (mf && rs_parse_long(mf, 0, RS_RO_MAX_NODES, &x.max_failures) < 0)
    return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"--max-failures\" flag: a count is expected",
                   mf);
  if (soak && *soak && rs_parse_duration_ms(soak, &x.soak_ms) < 0)
    return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"--soak\" flag: a duration is expected", soak);
  if (rs_switch_cli_opts(cli, &x.sw, err) < 0) return -1;
  _cleanup_kube_client_ rs_kube_client_t *c = NULL;
  if (rs_cli_client(cli, &c, err) < 0) return -1;
  return plan_and_run(cli, c, &o, rs_cli_bool(cli, "dry-run"), &x, err);
}

/* The record's options as the command line had them. */
static int opts_from_record(const struct rs_ror_record *r, const char *ns, struct rs_rollout_opts *o,
                            struct rs_rollout_exec *x, rs_err_t *err) {
  const struct rs_ror_drain *g = &r->opts.drain;
  struct rs_drain_opts d = RS_DRAIN_OPTS_INIT;
  /* a switch always leaves DaemonSet pods (node implies --ignore-daemonsets) */
  d.force = g->force, d.ignore_daemonsets = true, d.delete_emptydir_data = g->delete_emptydir_data;
  d.disable_eviction = g->disable_eviction, d.grace_period = (int)g->grace_period;
  d.timeout_ms = (long long)g->timeout_s * 1000, d.pod_selector = g->pod_selector;
  *o = (struct rs_rollout_opts){.names = (const char *const *)r->names, .selector = r->selector, .all = r->all,
                                .to = r->to, .preflight = true, .ns = ns, .drain = d,
                                .plan = {.canary = r->opts.canary, .max_zones = r->opts.max_zones,
                                         .allow_all_control_plane = r->opts.all_control_plane}};
  if (rs_ro_parse_max_unavailable(r->opts.max_unavailable, &o->plan.max_unavailable,
                                  &o->plan.max_unavailable_pct, err) < 0)
    return -1;
  x->sw.op = RS_OP_SWITCH, x->sw.to = r->to, x->sw.ns = ns, x->sw.drain = d;
  x->max_failures = r->opts.max_failures, x->soak_ms = r->opts.soak_s * 1000LL;
  x->max_unavailable = r->opts.max_unavailable;
  return 0;
}

int rs_rollout_cli_resume(struct rs_cli *cli, const char *id, rs_err_t *err) {
  const char *out = NULL;
  if (rs_cli_output(cli, &out, err) < 0) return -1;
  const char *ns = cli->ov.ns && *cli->ov.ns ? cli->ov.ns : NULL;
  _cleanup_kube_client_ rs_kube_client_t *c = NULL;
  if (rs_cli_client(cli, &c, err) < 0) return -1;
  struct rs_ror_record r;
  bool found;
  if (rs_ror_read(c, ns ? ns : RS_DELIVER_DEFAULT_NS, id, &r, &found, err) < 0) return -1;
  if (!found) return rs_fail(err, RS_E_API, 404, "rollout %s not found in namespace %s", id,
                             ns ? ns : RS_DELIVER_DEFAULT_NS);
  int rc = 0;
  if (rs_ror_final(r.state)) {
    fprintf(cli->out, "rollout %s is %s: nothing to resume\n", r.id, rs_ror_state_name(r.state));
  } else {
    struct rs_rollout_opts o;
    struct rs_rollout_exec x = {.json = out && strcmp(out, "json") == 0, .sw = {.yes = rs_cli_bool(cli, "yes")}};
    rc = opts_from_record(&r, ns, &o, &x, err);
    if (rc == 0) rc = plan_and_run(cli, c, &o, false, &x, err);
  }
  rs_ror_record_clear(&r);
  return rc;
}
