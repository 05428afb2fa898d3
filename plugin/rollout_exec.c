/* Running a rollout's plan (rollout_cli.h): confirmed once (or --yes), its
 * record found (a rerun of the same command resumes it) or created,
 * another unfinished rollout over the same nodes refused, then the engine
 * (ops/rollout_run.h) with its progress: on a terminal a table of the
 * nodes (last phase, elapsed, result) redrawn in place at each event, the
 * batches, gates and failures as lines above it; otherwise kubectl-style
 * lines (-o json: one event per line); then a summary with each node's own
 * figures. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/strutil.h"
#include "ops/deliver.h"
#include "ops/lease.h"
#include "ops/rollout_run.h"
#include "rollout_cli.h"
#include "switch_cli.h"

/* A node's row of the live table. */
struct row {
  const char *name;
  const char *phase;         /* static names (rs_sw_phase_name ...) */
  const char *result;
  long long t0, t1;          /* rs_now_ms(); 0: not yet */
};

struct view {
  struct rs_cli *cli;
  bool json;
  long long t0;
  bool live;                 /* a terminal: the table redrawn in place */
  struct row *rows;
  size_t nrows;
  int drawn;                 /* lines of the table on screen */
  pthread_mutex_t mu;        /* the table on screen: events and the ticker */
  pthread_cond_t cv;
  bool stop;                 /* the ticker ends */
};

static double secs(long long ms) { return (double)ms / 1000.0; }

static void json_line(struct view *v, json_t *j) {
  if (!j) return;
  json_dumpf(j, v->cli->out, JSON_COMPACT | JSON_SORT_KEYS);
  fputc('\n', v->cli->out);
  json_decref(j);
}

static const char *const ev_names[_RS_RR_EV_MAX] = {"batch", "node-start", "phase", "node-end", "gate", "note"};

/* ---- the live table (a terminal) ---- */

static struct row *row_of(struct view *v, const char *name) {
  for (size_t i = 0; name && i < v->nrows; i++)
    if (strcmp(v->rows[i].name, name) == 0) return &v->rows[i];
  return NULL;
}

static void erase(struct view *v) {
  if (v->drawn) fprintf(v->cli->out, "\033[%dA\033[J", v->drawn);
  v->drawn = 0;
}

static void draw(struct view *v) {
  FILE *f = v->cli->out;
  long long now = rs_now_ms();
  fprintf(f, "%-24s %-10s %9s   %s\n", "NODE", "LAST PHASE", "ELAPSED", "RESULT");
  for (size_t i = 0; i < v->nrows; i++) {
    const struct row *r = &v->rows[i];
    char el[24] = "-";
    if (r->t0) snprintf(el, sizeof el, "%.1fs", secs((r->t1 ? r->t1 : now) - r->t0));
    rs_term_printf(f, "%-24s %-10s %9s   %s\n", r->name, r->phase ? r->phase : "-", el, r->result ? r->result : "");
  }
  v->drawn = (int)v->nrows + 1;
  fflush(f);
}

/* The event into the table; true when it needs no line of its own. */
static bool live_update(struct view *v, const struct rs_rr_event *ev) {
  struct row *r = row_of(v, ev->node);
  if (!r) return false;
  const struct rs_sw_event *sw = ev->sw;
  switch (ev->type) {
  case RS_RR_EV_NODE_START: r->t0 = rs_now_ms(), r->phase = "check", r->result = "switching"; return true;
  case RS_RR_EV_SWITCH:
    if (sw->type != RS_SW_EV_PHASE) return false;
    r->phase = rs_sw_phase_name(sw->phase);
    return sw->status != RS_SW_FAILED;
  case RS_RR_EV_NODE_END:
    r->t1 = rs_now_ms(), r->result = rs_sw_outcome_name(ev->outcome);
    return ev->outcome == RS_SW_OK;
  case RS_RR_EV_GATE: r->result = ev->ok ? "gates passed" : "gate failed"; return ev->ok;
  default: return false;
  }
}

static void on_event(void *ud, const struct rs_rr_event *ev) {
  struct view *v = ud;
  FILE *f = v->cli->out;
  const struct rs_sw_event *sw = ev->sw;
  if (sw && sw->type != RS_SW_EV_PHASE && sw->type != RS_SW_EV_WARNING) return;
  if (v->live) {
    pthread_mutex_lock(&v->mu);
    erase(v);
    bool quiet = live_update(v, ev);
    if (!quiet) {
      v->live = false; /* the line below, as without a terminal */
      on_event(ud, ev);
      v->live = true;
    }
    draw(v);
    pthread_mutex_unlock(&v->mu);
    return;
  }
  if (v->json) {
    /* a key without a value is left out, never null (no node: the batch's
     * events; no batch: a note before the first) */
    json_t *j = json_pack("{s:s, s:s, s:s*, s:s*, s:f}", "kind", "RolloutEvent", "type", ev_names[ev->type], "node",
                          ev->node, "message", sw ? sw->message : ev->message, "elapsedSeconds",
                          secs(rs_now_ms() - v->t0));
    if (j && ev->batch > 0) json_object_set_new(j, "batch", json_integer(ev->batch));
    if (j && sw && sw->type == RS_SW_EV_PHASE) {
      json_object_set_new(j, "phase", json_string(rs_sw_phase_name(sw->phase)));
      json_object_set_new(j, "status", json_string(rs_sw_status_name(sw->status)));
      json_object_set_new(j, "seconds", json_real(secs(sw->ms)));
    }
    if (j && sw && sw->type == RS_SW_EV_WARNING) json_object_set_new(j, "warning", json_true());
    if (j && ev->type == RS_RR_EV_NODE_END) {
      json_object_set_new(j, "outcome", json_string(rs_sw_outcome_name(ev->outcome)));
      json_object_set_new(j, "seconds", json_real(secs(ev->ms)));
    }
    if (j && ev->type == RS_RR_EV_GATE) json_object_set_new(j, "passed", json_boolean(ev->ok));
    json_line(v, j);
    fflush(f);
    return;
  }
  switch (ev->type) {
  case RS_RR_EV_BATCH: rs_term_printf(f, "batch %ld: %s\n", ev->batch, ev->message); break;
  case RS_RR_EV_NODE_START: rs_term_printf(f, "node/%s switching\n", ev->node); break;
  case RS_RR_EV_SWITCH:
    if (sw->type == RS_SW_EV_WARNING)
      rs_term_printf(f, "node/%s warning: %s\n", ev->node, sw->message ? sw->message : "");
    else
      rs_term_printf(f, "node/%s %s: %s (%.1fs)%s%s\n", ev->node, rs_sw_phase_name(sw->phase),
                     rs_sw_status_name(sw->status), secs(sw->ms), sw->message ? ": " : "",
                     sw->message ? sw->message : "");
    break;
  case RS_RR_EV_NODE_END:
    if (ev->outcome == RS_SW_OK) rs_term_printf(f, "node/%s switched (%.1fs)\n", ev->node, secs(ev->ms));
    else rs_term_printf(f, "node/%s %s\n", ev->node, ev->message ? ev->message : rs_sw_outcome_name(ev->outcome));
    break;
  case RS_RR_EV_GATE:
    rs_term_printf(f, "%s%s gates %s%s%s\n", ev->node ? "node/" : "batch", ev->node ? ev->node : "",
                   ev->ok ? "passed" : "failed", ev->message ? ": " : "", ev->message ? ev->message : "");
    break;
  default: rs_term_printf(f, "note: %s\n", ev->message ? ev->message : ""); break;
  }
  fflush(f);
}

/* On a terminal the table is drawn again every second between events
 * (the elapsed times of long phases and gates run on). */
static void *ticker(void *ud) {
  struct view *v = ud;
  pthread_mutex_lock(&v->mu);
  while (!v->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&v->cv, &v->mu, &ts);
    if (v->stop || !v->drawn) continue;
    erase(v);
    draw(v);
  }
  pthread_mutex_unlock(&v->mu);
  return NULL;
}

/* The ticker on its own thread, which takes no signal (Ctrl-C is the
 * coordinator's).  false: none (the table is then drawn at events only). */
static bool ticker_start(struct view *v, pthread_t *th) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  bool ok = pthread_create(th, NULL, ticker, v) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return ok;
}

static void ticker_stop(struct view *v, pthread_t th) {
  pthread_mutex_lock(&v->mu);
  v->stop = true;
  pthread_cond_signal(&v->cv);
  pthread_mutex_unlock(&v->mu);
  pthread_join(th, NULL);
}

/* ---- the record: found, refused or made ---- */

static bool same_names(char *const *a, char *const *b) {
  if (rs_strv_len(a) != rs_strv_len(b)) return false;
  for (size_t i = 0; a[i]; i++)
    if (!rs_strv_contains(b, a[i])) return false;
  return true;
}

/* Is r the record of this command (same target, same selection)? */
static bool same_rollout(const struct rs_ror_record *r, const struct rs_rollout_opts *o) {
  if (strcmp(r->to, o->to) != 0) return false;
  if (o->all) return r->all;
  if (o->selector) return r->selector && strcmp(r->selector, o->selector) == 0;
  return r->names && same_names(r->names, (char *const *)o->names);
}

/* Another unfinished rollout with one of the selected nodes (planned or
 * blocked: all but those already on the target) not final: refused,
 * naming it and its owner. */
int rs_rollout_cli_overlap(const struct rs_rollout_found *f, const struct rs_rollout_plan *p, rs_err_t *err) {
  for (size_t k = 0; k < f->nothers; k++) {
    const struct rs_ror_record *r = &f->others[k];
    for (size_t i = 0; i < p->nnodes && i < p->plan.nnodes; i++) {
      if (p->plan.state[i] == RS_RO_SKIPPED) continue;
      const char *name = p->nodes[i].name;
      const struct rs_ror_node *n = rs_ror_node_find(r, name);
      if (!n || rs_ror_node_final(n->state)) continue;
      return rs_fail(err, RS_E_INPUT, 0, "node %s is in rollout %s (%s, %s by %s%s%s): wait for it to end, or stop "
                     "it with `kubectl runtime-switch rollout abort %s`", name, r->id, rs_ror_state_name(r->state),
                     rs_ror_node_state_name(n->state), r->owner, r->host ? " on " : "", r->host ? r->host : "",
                     r->id);
    }
  }
  return 0;
}

void rs_rollout_found_clear(struct rs_rollout_found *f) {
  if (f->found) rs_ror_record_clear(&f->own);
  rs_ror_list_free(f->others, f->nothers);
  *f = (struct rs_rollout_found){0};
}

int rs_rollout_cli_find(struct rs_cli *cli, rs_kube_client_t *c, const char *ns, const struct rs_rollout_opts *o,
                        struct rs_rollout_found *ret, rs_err_t *err) {
  struct rs_ror_record *v = NULL;
  size_t n = 0;
  _cleanup_strv_ char **bad = NULL;
  *ret = (struct rs_rollout_found){0};
  if (rs_ror_list(c, ns, &v, &n, &bad, err) < 0) return -1;
  for (size_t i = 0; bad[i]; i++) rs_cli_warn(cli, "ignoring a rollout record: %s", bad[i]);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (rs_ror_final(v[i].state)) {
      rs_ror_record_clear(&v[i]);
    } else if (!ret->found && same_rollout(&v[i], o)) {
      ret->own = v[i];
      ret->found = true;
    } else {
      v[k++] = v[i];
    }
  }
  ret->others = v;
  ret->nothers = k;
  return 0;
}

/* Who runs the rollout: the API server's name for the user (a
 * SelfSubjectReview, as the node's lock names its holder); without that
 * API, the kubeconfig's, said to be unverified. */
static char *owner_of(rs_kube_client_t *c, rs_err_t *err) {
  _cleanup_free_ char *who = NULL;
  bool verified = false;
  if (rs_lease_whoami(c, &who, &verified, err) < 0) return NULL;
  char *o = verified ? TAKE_PTR(who) : rs_strdup_printf("%s (unverified: the kubeconfig's)", who ? who : "?");
  if (!o) rs_oom(err);
  return o;
}

static int new_record(rs_kube_client_t *c, const char *mu, const struct rs_rr_opts *ro,
                      const struct rs_rollout_plan *p, struct rs_ror_record *r, rs_err_t *err) {
  const struct rs_rollout_opts *o = &ro->plan;
  char id[RS_RUN_ID_MAX + 1];
  if (rs_run_id_new(id, err) < 0) return -1;
  _cleanup_free_ char *owner = owner_of(c, err);
  if (!owner) return -1;
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) < 0) host[0] = '\0';
  const struct rs_drain_opts *d = &o->drain;
  *r = (struct rs_ror_record){
      .id = strdup(id), .to = strdup(o->to), .state = RS_ROR_RUNNING,
      .owner = TAKE_PTR(owner),
      .host = host[0] ? strdup(host) : NULL, .created = (long long)time(NULL), .all = o->all,
      .opts = {.canary = o->plan.canary, .max_unavailable = strdup(mu && *mu ? mu : "1"),
               .max_zones = o->plan.max_zones, .max_failures = ro->max_failures,
               .soak_s = (long)(ro->soak_ms / 1000), .all_control_plane = o->plan.allow_all_control_plane,
               .drain = {.force = d->force, .ignore_daemonsets = d->ignore_daemonsets,
                         .delete_emptydir_data = d->delete_emptydir_data, .disable_eviction = d->disable_eviction,
                         .grace_period = d->grace_period, .timeout_s = (long)(d->timeout_ms / 1000)}},
      .nodes = calloc(p->plan.norder, sizeof *r->nodes)};
  r->updated = r->created;
  int rc = !r->id || !r->to || !r->owner || !r->opts.max_unavailable || !r->nodes ? rs_oom(err) : 0;
  if (rc == 0 && o->selector && !(r->selector = strdup(o->selector))) rc = rs_oom(err);
  if (rc == 0 && o->names && !(r->names = rs_strv_dup((char *const *)o->names))) rc = rs_oom(err);
  if (rc == 0 && d->pod_selector && *d->pod_selector && !(r->opts.drain.pod_selector = strdup(d->pod_selector)))
    rc = rs_oom(err);
  for (size_t b = 0; rc == 0 && b < p->plan.nbatches; b++) {
    const struct rs_ro_batch *x = &p->plan.batches[b];
    for (size_t k = 0; rc == 0 && k < x->n; k++) {
      struct rs_ror_node *n = &r->nodes[r->nnodes++];
      *n = (struct rs_ror_node){.batch = (long)b + 1, .state = RS_ROR_NODE_PENDING,
                                .name = strdup(p->nodes[p->plan.order[x->start + k]].name)};
      if (!n->name) rc = rs_oom(err);
    }
  }
  if (rc < 0) rs_ror_record_clear(r);
  return rc;
}

/* The record goes first into the working namespace: the plugin's own is
 * created when absent, as a switch does (before, a rollout planned with
 * --skip-preflight on a cluster that never had it failed to write its
 * record: the preflights had been what created it); another (-n) must
 * exist. */
static int working_namespace(struct rs_cli *cli, rs_kube_client_t *c, const struct rs_rollout_opts *o,
                             rs_err_t *err) {
  bool created = false;
  _cleanup_free_ char *warning = NULL;
  const char *ns = o->ns ? o->ns : RS_DELIVER_DEFAULT_NS;
  if (rs_deliver_check_namespace(c, ns, strcmp(ns, RS_DELIVER_DEFAULT_NS) == 0, &created, &warning, err) < 0)
    return -1;
  if (warning) rs_cli_warn(cli, "%s", warning);
  return 0;
}

/* ---- confirm, summary ---- */

/* Without --yes, no terminal to ask on (or -o json): refused before
 * anything is read or written. */
static int can_confirm(struct rs_cli *cli, const struct rs_rollout_plan *p, bool json, bool yes, rs_err_t *err) {
  if (yes || (!json && isatty(STDIN_FILENO))) return 0;
  cli->exit_code = RS_SWX_REFUSED;
  return rs_fail(err, RS_E_INPUT, 0, "a rollout changes %zu node(s): confirm it with --yes", p->plan.norder);
}

static int confirm(struct rs_cli *cli, const struct rs_rollout_plan *p, bool resume, bool yes, rs_err_t *err) {
  if (yes) return 0;
  cli->exit_code = RS_SWX_REFUSED;
  fflush(cli->out);
  rs_term_printf(cli->errf, "%s the rollout: switch %zu node(s) to %s in %zu batch(es)? [y/N]: ",
                 resume ? "Resume" : "Run", p->plan.norder, p->to, p->plan.nbatches);
  fflush(cli->errf);
  char line[64];
  if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y'))
    return rs_fail(err, RS_E_INPUT, 0, "not confirmed: nothing was changed");
  cli->exit_code = 0;
  return 0;
}

static void summary(struct view *v, const struct rs_ror_record *r, const struct rs_rr_result *res) {
  FILE *f = v->cli->out;
  if (v->json) {
    json_t *nodes = json_array();
    for (size_t i = 0; nodes && i < res->nnodes; i++) {
      const struct rs_rr_node *n = &res->nodes[i];
      json_t *o = json_pack("{s:s, s:s, s:f, s:s*}", "name", n->name, "outcome", rs_sw_outcome_name(n->outcome),
                            "totalSeconds", secs(n->total_ms), "reason", n->reason);
      if (o && n->notready_ms >= 0) json_object_set_new(o, "notReadySeconds", json_real(secs(n->notready_ms)));
      json_array_append_new(nodes, o);
    }
    json_line(v, json_pack("{s:s, s:s, s:s, s:o, s:I, s:s*, s:f}", "kind", "RolloutSummary", "id", r->id, "state",
                           rs_ror_state_name(r->state), "nodes", nodes, "failed",
                           (json_int_t)res->failed, "halted", res->halted, "totalSeconds",
                           secs(rs_now_ms() - v->t0)));
    return;
  }
  rs_term_printf(f, "Rollout %s %s in %.1fs: %zu done, %zu failed, %zu pending\n", r->id, rs_ror_state_name(r->state),
                 secs(rs_now_ms() - v->t0), rs_ror_count(r, RS_ROR_NODE_DONE), rs_ror_count(r, RS_ROR_NODE_FAILED),
                 rs_ror_count(r, RS_ROR_NODE_PENDING) + rs_ror_count(r, RS_ROR_NODE_RUNNING));
  if (!res->nnodes) return;
  static const char *const head[] = {"NODE", "RESULT", "TIME", "NOTREADY"};
  struct rs_table *t = rs_table_new(RS_ARRAY_SIZE(head));
  if (!t || rs_table_add(t, head) < 0) return rs_table_free(t);
  for (size_t i = 0; i < res->nnodes; i++) {
    const struct rs_rr_node *n = &res->nodes[i];
    char tm[32], nr[32];
    snprintf(tm, sizeof tm, "%.1fs", secs(n->total_ms));
    if (n->notready_ms >= 0) snprintf(nr, sizeof nr, "%.1fs", secs(n->notready_ms));
    else snprintf(nr, sizeof nr, "-");
    const char *cells[] = {n->name, rs_sw_outcome_name(n->outcome), tm, nr};
    rs_table_add(t, cells);
  }
  rs_table_print(t, f);
  rs_table_free(t);
}

static int exit_code(const struct rs_rr_result *res) {
  int code = 0;
  for (size_t i = 0; i < res->nnodes; i++) {
    int o = res->nodes[i].outcome, c = o == RS_SW_NEEDS_HUMAN    ? RS_SWX_HUMAN
                                       : o == RS_SW_ROLLED_BACK  ? RS_SWX_ROLLED_BACK
                                       : o == RS_SW_DRAIN_FAILED ? RS_SWX_DRAIN
                                       : o == RS_SW_REFUSED      ? RS_SWX_REFUSED
                                                                 : 0;
    if (c > code) code = c;
  }
  return code;
}

int rs_rollout_cli_execute(struct rs_cli *cli, const struct rs_rollout_opts *o, const struct rs_rollout_plan *p,
                           rs_kube_client_t *c, const struct rs_rollout_exec *x, struct rs_rollout_found *f,
                           rs_err_t *err) {
  bool json = x->json;
  if (can_confirm(cli, p, json, x->sw.yes, err) < 0) return -1;
  _cleanup_kube_config_ rs_kube_config_t *cfg = NULL;
  struct rs_rr_opts ro = {.ns = o->ns ? o->ns : RS_DELIVER_DEFAULT_NS, .plan = *o, .sw = x->sw,
                          .max_failures = x->max_failures, .soak_ms = x->soak_ms};
  if (rs_cli_client_config(cli, &cfg, &ro.client, err) < 0) return -1;
  ro.cfg = cfg;
  /* each node's switch takes the plan's preflight of it */
  json_auto_t *pf = json_object();
  if (!pf) return rs_oom(err);
  for (size_t i = 0; i < p->nnodes; i++)
    if (p->nodes[i].preflight_plan && json_object_set(pf, p->nodes[i].name, p->nodes[i].preflight_plan) < 0)
      return rs_oom(err);
  ro.preflights = pf;
  ro.preflights_ms = p->preflight_ms;
  ro.on_event = on_event;
  struct rs_ror_record r = {0};
  bool found = f->found;
  if (found) r = f->own, f->own = (struct rs_ror_record){0}, f->found = false;
  int rc = confirm(cli, p, found, x->sw.yes, err);
  if (rc == 0 && !found) rc = new_record(c, x->max_unavailable, &ro, p, &r, err);
  if (rc == 0 && !found) rc = working_namespace(cli, c, o, err);
  if (rc == 0 && !found) rc = rs_ror_create(c, ro.ns, &r, err);
  if (rc < 0) {
    rs_ror_record_clear(&r);
    return -1;
  }
  struct view v = {.cli = cli, .json = json, .t0 = rs_now_ms(), .live = !json && isatty(fileno(cli->out)),
                   .rows = calloc(r.nnodes ? r.nnodes : 1, sizeof *v.rows), .nrows = r.nnodes};
  if (!v.rows) {
    rs_ror_record_clear(&r);
    return rs_oom(err);
  }
  for (size_t i = 0; i < r.nnodes; i++) {
    v.rows[i].name = r.nodes[i].name;
    v.rows[i].result = rs_ror_node_state_name(r.nodes[i].state);
  }
  if (!json)
    rs_term_printf(cli->out, "%s rollout %s (record: ConfigMap %s/%s%s)\n", found ? "Resuming" : "Starting", r.id,
                   ro.ns, RS_ROR_PREFIX, r.id);
  ro.ud = &v;
  struct rs_rr_result res = {0};
  pthread_mutex_init(&v.mu, NULL);
  pthread_cond_init(&v.cv, NULL);
  pthread_t tick;
  bool ticking = false;
  if (v.live) {
    draw(&v);
    ticking = ticker_start(&v, &tick);
  }
  rc = rs_rollout_run(&ro, &r, &res, err);
  if (ticking) ticker_stop(&v, tick);
  if (v.live) erase(&v);
  pthread_cond_destroy(&v.cv);
  pthread_mutex_destroy(&v.mu);
  if (res.refused) {
    /* another rollout took the lock since the check: the record this run
     * just made goes, nothing else was written */
    rs_err_t e2 = RS_ERR_INIT;
    if (!found && rs_ror_delete(c, ro.ns, &r, &e2) < 0)
      rs_cli_warn(cli, "the new record ConfigMap %s/%s%s was left behind (%s): `kubectl runtime-switch rollout "
                  "abort %s` closes it", ro.ns, RS_ROR_PREFIX, r.id, e2.msg ? e2.msg : "?", r.id);
    rs_err_clear(&e2);
    cli->exit_code = RS_SWX_REFUSED;
  } else {
    summary(&v, &r, &res);
  }
  fflush(cli->out);
  if (rc < 0 && err->kind != RS_E_INTERRUPTED && !res.refused) cli->exit_code = exit_code(&res);
  rs_rr_result_clear(&res);
  free(v.rows);
  rs_ror_record_clear(&r);
  return rc;
}
