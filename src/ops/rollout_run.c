/* The rollout engine (include/ops/rollout_run.h): the coordinator, its
 * workers and the queue between them.  The gates are rollout_gate.c's. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/signals.h"
#include "common/strutil.h"
#include "ops/deliver.h"
#include "ops/lease.h"
#include "ops/rollout.h"
#include "ops/rollout_lock.h"
#include "ops/rollout_run.h"
#include "ops/switch_record.h"
#include "rollout_int.h"

/* One event a worker passed on (copied: the worker's own are gone when
 * its callback returns). */
struct item {
  struct item *next;
  struct worker *w;
  bool end;                  /* the worker finished */
  struct rs_sw_event ev;     /* message and data owned */
};

struct worker {
  struct eng *e;
  size_t idx;                /* in rec->nodes */
  pthread_t th;
  bool running;              /* the thread exists (join it) */
  rs_kube_client_t *c;
  struct rs_switch_opts so;
  struct rs_switch_result res;
  rs_err_t err;
  json_t *before;            /* the gates' snapshot of its workloads */
};

struct eng {
  const struct rs_rr_opts *o;
  struct rs_ror_record *rec;
  struct rs_rr_result *res;
  rs_kube_client_t *c;       /* the coordinator's: not stopped by Ctrl-C */
  volatile sig_atomic_t never;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct item *head, *tail;
  long batch;
  bool final_saved;          /* the record was written done or aborted */
  struct rs_rollout_me me;   /* who holds the rollout's lock */
};

void rs_rr_result_clear(struct rs_rr_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nnodes; i++) free(r->nodes[i].name), free(r->nodes[i].reason);
  free(r->nodes);
  free(r->halted);
  *r = (struct rs_rr_result){0};
}

static void emit(struct eng *e, struct rs_rr_event ev) {
  ev.batch = e->batch;
  if (e->o->on_event) e->o->on_event(e->o->ud, &ev);
}

static void note(struct eng *e, const char *msg) {
  emit(e, (struct rs_rr_event){.type = RS_RR_EV_NOTE, .message = msg});
}

/* ---- the queue ---- */

static void push(struct eng *e, struct item *it) {
  pthread_mutex_lock(&e->mu);
  if (e->tail) e->tail->next = it;
  else e->head = it;
  e->tail = it;
  pthread_cond_signal(&e->cv);
  pthread_mutex_unlock(&e->mu);
}

/* The next item, waiting at most ms (NULL: none came). */
static struct item *pop(struct eng *e, long ms) {
  pthread_mutex_lock(&e->mu);
  if (!e->head) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&e->cv, &e->mu, &ts);
  }
  struct item *it = e->head;
  if (it) {
    e->head = it->next;
    if (!e->head) e->tail = NULL;
  }
  pthread_mutex_unlock(&e->mu);
  return it;
}

static void item_free(struct item *it) {
  if (!it) return;
  free((char *)it->ev.message);
  json_decref((json_t *)it->ev.data);
  free(it);
}

/* A worker's switch event, copied for the coordinator: phases, progress
 * and warnings (the helper's log lines and the drain's events are the
 * single-node command's detail; the rollout shows phases). */
static void on_switch_event(void *ud, const struct rs_sw_event *ev) {
  struct worker *w = ud;
  if (ev->type != RS_SW_EV_PHASE && ev->type != RS_SW_EV_INFO && ev->type != RS_SW_EV_WARNING) return;
  struct item *it = calloc(1, sizeof *it);
  if (!it) return;
  it->w = w;
  it->ev = *ev;
  it->ev.drain = NULL;
  it->ev.message = ev->message ? strdup(ev->message) : NULL;
  it->ev.data = ev->data ? json_deep_copy(ev->data) : NULL;
  push(w->e, it);
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  rs_switch_run(w->c, &w->so, &w->res, &w->err);
  struct item *it = calloc(1, sizeof *it);
  /* without memory for the last item, the coordinator still finds the
   * worker ended when it joins the rest */
  if (it) {
    it->w = w;
    it->end = true;
    push(w->e, it);
  }
  return NULL;
}

/* ---- the record ---- */

static int save(struct eng *e, rs_err_t *err) { return rs_ror_save(e->c, e->o->ns, e->rec, err); }

static int set_str(char **dst, const char *s, rs_err_t *err) {
  char *v = s ? strdup(s) : NULL;
  if (s && !v) return rs_oom(err);
  free(*dst);
  *dst = v;
  return 0;
}

/* The record's reason text: the error, bounded as the parser bounds it. */
static char *reason_of(const struct worker *w) {
  const char *why = w->res.reason ? w->res.reason : w->err.msg ? w->err.msg : rs_sw_outcome_name(w->res.outcome);
  return rs_strdup_printf("%s: %.900s", rs_sw_outcome_name(w->res.outcome), why);
}

static bool interrupted(const struct worker *w) {
  return w->res.outcome == RS_SW_ERROR && w->err.kind == RS_E_INTERRUPTED;
}

static int record_end(struct eng *e, struct worker *w, rs_err_t *err) {
  struct rs_ror_node *n = &e->rec->nodes[w->idx];
  if (interrupted(w)) return 0; /* still running: a resume picks it up */
  n->state = w->res.outcome == RS_SW_OK ? RS_ROR_NODE_DONE : RS_ROR_NODE_FAILED;
  n->ended = (long long)time(NULL);
  _cleanup_free_ char *why = n->state == RS_ROR_NODE_FAILED ? reason_of(w) : NULL;
  if (n->state == RS_ROR_NODE_FAILED && !why) return rs_oom(err);
  if (set_str(&n->reason, why, err) < 0 || set_str(&n->phase, n->state == RS_ROR_NODE_DONE ? "done" : "failed", err) < 0)
    return -1;
  if (w->res.id && rs_run_id_valid(w->res.id) && set_str(&n->run, w->res.id, err) < 0) return -1;
  return save(e, err);
}

/* ---- workers ---- */

static int result_node(struct eng *e, const struct worker *w, rs_err_t *err) {
  struct rs_rr_result *r = e->res;
  struct rs_rr_node *v = realloc(r->nodes, (r->nnodes + 1) * sizeof *v);
  if (!v) return rs_oom(err);
  r->nodes = v;
  struct rs_rr_node *x = &r->nodes[r->nnodes++];
  *x = (struct rs_rr_node){.outcome = w->res.outcome, .total_ms = w->res.total_ms,
                           .notready_ms = w->res.notready_ms};
  x->name = strdup(e->rec->nodes[w->idx].name);
  x->reason = w->res.outcome != RS_SW_OK ? reason_of(w) : NULL;
  if (!x->name || (w->res.outcome != RS_SW_OK && !x->reason)) return rs_oom(err);
  return 0;
}

static int start(struct eng *e, struct worker *w, rs_err_t *err) {
  struct rs_ror_node *n = &e->rec->nodes[w->idx];
  const struct rs_rr_opts *o = e->o;
  w->so = o->sw;
  w->so.node = n->name;
  /* the plan's preflight of the node, when it is fresh and was run as the
   * switch would run it (--no-images changes the helper's plan) */
  if (o->preflights && !o->sw.no_images && rs_now_ms() - o->preflights_ms < RS_RR_PREFLIGHT_FRESH_MS)
    w->so.preflight_plan = json_object_get(o->preflights, n->name);
  w->so.yes = true;
  w->so.confirm = NULL;
  w->so.on_event = on_switch_event;
  w->so.ud = w;
  w->err = (rs_err_t)RS_ERR_INIT;
  if (rs_rr_gate_snapshot(e->c, n->name, &w->before, err) < 0) return -1;
  n->state = RS_ROR_NODE_RUNNING;
  if (!n->started) n->started = (long long)time(NULL);
  if (set_str(&n->phase, "started", err) < 0 || save(e, err) < 0) return -1;
  struct rs_kube_client_opts co = o->client;
  co.cancel = NULL; /* rs_cancelled: Ctrl-C stops the switch at a safe point */
  if (rs_kube_client_new(o->cfg, &co, &w->c, err) < 0) return -1;
  emit(e, (struct rs_rr_event){.type = RS_RR_EV_NODE_START, .node = n->name});
  int rc = pthread_create(&w->th, NULL, worker_main, w);
  if (rc != 0) return rs_fail_errno(err, rc, "starting the switch of node %s", n->name);
  w->running = true;
  return 0;
}

static void worker_clear(struct worker *w) {
  if (w->running) pthread_join(w->th, NULL);
  w->running = false;
  rs_kube_client_free(w->c);
  w->c = NULL;
  rs_switch_result_clear(&w->res);
  rs_err_clear(&w->err);
  json_decref(w->before);
  w->before = NULL;
}

/* Follow the part's workers until each has ended; the record and the
 * events as they come.  -1 only when the record could not be written. */
static int follow(struct eng *e, struct worker *ws, size_t n, rs_err_t *err) {
  size_t left = 0;
  for (size_t i = 0; i < n; i++) left += ws[i].running;
  int rc = 0;
  while (left) {
    struct item *it = pop(e, 1000);
    if (!it) continue;
    struct worker *w = it->w;
    const char *name = e->rec->nodes[w->idx].name;
    if (!it->end) {
      emit(e, (struct rs_rr_event){.type = RS_RR_EV_SWITCH, .node = name, .sw = &it->ev});
      item_free(it);
      continue;
    }
    item_free(it);
    pthread_join(w->th, NULL);
    w->running = false;
    left--;
    if (rc == 0) rc = record_end(e, w, err);
    if (rc == 0) rc = result_node(e, w, err);
    e->res->failed += w->res.outcome != RS_SW_OK && !interrupted(w);
    e->res->interrupted |= interrupted(w);
    _cleanup_free_ char *why = w->res.outcome != RS_SW_OK ? reason_of(w) : NULL;
    emit(e, (struct rs_rr_event){.type = RS_RR_EV_NODE_END, .node = name, .outcome = w->res.outcome,
                                 .ms = w->res.total_ms, .message = why});
  }
  return rc;
}

/* ---- gates ---- */

static int halt(struct eng *e, const char *why, rs_err_t *err) {
  if (!e->res->halted && !(e->res->halted = strdup(why))) return rs_oom(err);
  return 0;
}

static void gate_event(struct eng *e, const char *node, bool ok, const char *msg) {
  emit(e, (struct rs_rr_event){.type = RS_RR_EV_GATE, .node = node, .ok = ok, .message = msg});
}

/* Sleep ms unless Ctrl-C comes first. */
static void nap(long long ms) {
  long long end = rs_now_ms() + ms;
  while (!rs_cancelled && rs_now_ms() < end) {
    long long left = end - rs_now_ms();
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (left > 200 ? 200 : left > 0 ? left : 0) * 1000000L};
    nanosleep(&ts, NULL);
  }
}

/* After a part: each switched node's gates, then the soak over them. */
static int gates(struct eng *e, struct worker *ws, size_t n, rs_err_t *err) {
  const struct rs_rr_opts *o = e->o;
  long long timeout = o->gate_timeout_ms > 0 ? o->gate_timeout_ms : 10 * 60 * 1000LL;
  _cleanup_strv_ char **ok = rs_strv_new();
  if (!ok) return rs_oom(err);
  for (size_t i = 0; i < n; i++) {
    if (ws[i].res.outcome != RS_SW_OK) continue;
    const char *name = e->rec->nodes[ws[i].idx].name;
    _cleanup_free_ char *why = NULL;
    int g = rs_rr_gate_node(e->c, name, o->sw.to, ws[i].before, timeout, &why, err);
    if (g < 0) return -1;
    gate_event(e, name, g == 0, why);
    if (g == 1 && halt(e, why, err) < 0) return -1;
    if (g == 0 && rs_strv_push(&ok, name, err) < 0) return -1;
  }
  if (!ok[0] || o->soak_ms <= 0 || e->res->halted || rs_cancelled) return 0;
  json_auto_t *before = NULL, *after = NULL;
  if (rs_rr_gate_restarts(e->c, ok, &before, err) < 0) return -1;
  nap(o->soak_ms);
  if (rs_cancelled) return 0;
  if (rs_rr_gate_restarts(e->c, ok, &after, err) < 0) return -1;
  _cleanup_free_ char *why = rs_rr_gate_restarted(before, after);
  gate_event(e, NULL, !why, why ? why : "soak: no container restarted");
  return why ? halt(e, why, err) : 0;
}

/* ---- batches ---- */

/* The nodes of batch b that are not final, in record order (*ret heap). */
static size_t batch_nodes(const struct rs_ror_record *r, long b, size_t **ret) {
  size_t n = 0;
  *ret = calloc(r->nnodes ? r->nnodes : 1, sizeof **ret);
  for (size_t i = 0; *ret && i < r->nnodes; i++)
    if (r->nodes[i].batch == b && !rs_ror_node_final(r->nodes[i].state)) (*ret)[n++] = i;
  return n;
}

/* How many of cand can drain together now, by the budgets as they are. */
static int fit_now(struct eng *e, const size_t *cand, size_t n, size_t *ret, rs_err_t *err) {
  _cleanup_strv_ char **names = rs_strv_new();
  if (!names) return rs_oom(err);
  for (size_t i = 0; i < n; i++)
    if (rs_strv_push(&names, e->rec->nodes[cand[i]].name, err) < 0) return -1;
  _cleanup_free_ char *why = NULL;
  if (rs_rollout_fit(e->c, &e->o->plan, (const char *const *)names, ret, &why, err) < 0)
    return rs_wrap(err, "reading batch %ld's PodDisruptionBudgets again", e->batch);
  if (why) note(e, why);
  return 0;
}

static int run_part(struct eng *e, const size_t *cand, size_t n, rs_err_t *err) {
  _cleanup_free_ struct worker *ws = calloc(n, sizeof *ws);
  if (!ws) return rs_oom(err);
  rs_buf_t names = RS_BUF_INIT(64 * 1024);
  for (size_t i = 0; i < n; i++) rs_buf_printf(&names, NULL, "%s%s", i ? ", " : "", e->rec->nodes[cand[i]].name);
  emit(e, (struct rs_rr_event){.type = RS_RR_EV_BATCH, .message = names.data});
  rs_buf_free(&names);
  int rc = 0;
  size_t started = 0;
  for (; rc == 0 && started < n && !rs_cancelled; started++) {
    ws[started] = (struct worker){.e = e, .idx = cand[started]};
    rc = start(e, &ws[started], err);
  }
  rs_err_t e2 = RS_ERR_INIT;
  int frc = follow(e, ws, started, rc < 0 ? &e2 : err);
  if (rc == 0) rc = frc;
  rs_err_clear(&e2);
  if (rc == 0 && !rs_cancelled) rc = gates(e, ws, started, err);
  for (size_t i = 0; i < started; i++) worker_clear(&ws[i]);
  return rc;
}

/* A node of the record found Ready on the target with no switch of its
 * own in progress (its switch ended while no one followed it -- the plugin
 * was killed -- or someone switched it by hand): done, without running it
 * again.  1: it was. */
static int already_there(struct eng *e, size_t idx, rs_err_t *err) {
  struct rs_ror_node *n = &e->rec->nodes[idx];
  _cleanup_free_ char *en = rs_kube_escape(n->name);
  _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
  if (!path) return rs_oom(err);
  json_auto_t *node = NULL;
  rs_err_t e2 = RS_ERR_INIT;
  if (rs_kube_get(e->c, path, &node, &e2) < 0) {
    rs_err_clear(&e2); /* its own switch says what is wrong */
    return 0;
  }
  /* idle as its lock has it (the annotations only compared): no run of
   * the lock in progress, none claimed by them */
  _cleanup_free_ char *lname = rs_lease_name(RS_LOCK_PREFIX, n->name);
  if (!lname) return rs_oom(err);
  _cleanup_(rs_lease_clear) struct rs_lease l = {0};
  bool found = false;
  if (rs_lease_read(e->c, e->o->ns, lname, &l, &found, &e2) < 0) {
    rs_err_clear(&e2); /* its own switch says what is wrong */
    return 0;
  }
  _cleanup_(rs_sw_record_clear) struct rs_sw_record locked = {0};
  _cleanup_free_ char *why = NULL;
  int st = rs_rollout_node_run(e->o->ns, n->name, node, found ? l.obj : NULL, &locked, &why, err);
  if (st < 0) return -1;
  bool idle = st == RS_RO_RUN_FREE;
  if (!idle || !rs_sw_runtime_is(node, e->o->sw.to) || !rs_sw_node_ready(node)) return 0;
  n->state = RS_ROR_NODE_DONE;
  n->ended = (long long)time(NULL);
  if (set_str(&n->phase, "done", err) < 0 || save(e, err) < 0) return -1;
  _cleanup_free_ char *msg = rs_strdup_printf("node %s is already on %s with no switch in progress: done", n->name,
                                              e->o->sw.to);
  if (!msg) return rs_oom(err);
  note(e, msg);
  return 1;
}

/* Batch b, in parts the budgets allow, until it is done or the rollout
 * stops. */
static int run_batch(struct eng *e, long b, rs_err_t *err) {
  e->batch = b;
  _cleanup_free_ size_t *cand = NULL;
  size_t n = batch_nodes(e->rec, b, &cand), k = 0;
  if (!cand) return rs_oom(err);
  for (size_t i = 0; i < n; i++) {
    int there = already_there(e, cand[i], err);
    if (there < 0) return -1;
    if (!there) cand[k++] = cand[i];
  }
  n = k;
  while (n && !rs_cancelled && !e->res->halted) {
    size_t fit = n;
    if (n > 1 && fit_now(e, cand, n, &fit, err) < 0) return -1;
    if (fit == 0 || fit > n) fit = 1;
    if (run_part(e, cand, fit, err) < 0) return -1;
    memmove(cand, cand + fit, (n - fit) * sizeof *cand);
    n -= fit;
    if (e->res->failed > (size_t)e->o->max_failures) {
      _cleanup_free_ char *why = rs_strdup_printf("%zu node(s) failed, more than --max-failures %ld allows",
                                                  e->res->failed, e->o->max_failures);
      if (!why || halt(e, why, err) < 0) return rs_oom(err);
    }
  }
  return 0;
}

static bool all_final(const struct rs_ror_record *r) {
  for (size_t i = 0; i < r->nnodes; i++)
    if (!rs_ror_node_final(r->nodes[i].state)) return false;
  return true;
}

/* The record's last word, written even after an error (with an error of
 * its own, which the caller's stays ahead of). */
static int finish(struct eng *e, int rc, rs_err_t *err) {
  struct rs_ror_record *r = e->rec;
  r->state = rs_cancelled || e->res->interrupted ? RS_ROR_PAUSED
             : rc < 0 || e->res->halted          ? RS_ROR_HALTED
             : all_final(r)                      ? RS_ROR_DONE
                                                 : RS_ROR_HALTED;
  /* why it halted, for `rollout status` (bounded as the parser bounds it);
   * running again, the last halt's reason is gone */
  free(r->reason);
  r->reason = r->state == RS_ROR_HALTED && e->res->halted ? rs_strdup_printf("%.900s", e->res->halted)
              : r->state == RS_ROR_HALTED && rc < 0 && err->msg ? rs_strdup_printf("%.900s", err->msg)
                                                                 : NULL;
  rs_err_t e2 = RS_ERR_INIT;
  int src = save(e, rc < 0 ? &e2 : err);
  if (src < 0 && rc == 0) rc = -1;
  rs_err_clear(&e2);
  e->final_saved = src == 0 && rs_ror_final(r->state);
  if (rc < 0) return -1;
  if (r->state == RS_ROR_PAUSED)
    return rs_fail(err, RS_E_INTERRUPTED, 0, "interrupted: rollout %s paused (nodes in flight stopped at a safe "
                   "point); run the same command again, or `kubectl runtime-switch rollout resume %s`, to go on",
                   r->id, r->id);
  if (e->res->halted)
    return rs_fail(err, RS_E_NODE, 0, "rollout %s halted: %s", r->id, e->res->halted);
  if (e->res->failed)
    return rs_fail(err, RS_E_NODE, 0, "rollout %s done with %zu failed node(s) (--max-failures %ld)", r->id,
                   e->res->failed, e->o->max_failures);
  return 0;
}

/* ---- the rollout's lock ---- */

/* Who holds it: the API server's name for this user, this host and
 * process (*me points into who and host). */
static int whoami(struct eng *e, char **who, char *host, size_t hostsz, struct rs_rollout_me *me, rs_err_t *err) {
  _cleanup_free_ char *name = NULL;
  bool verified = false;
  if (rs_lease_whoami(e->c, &name, &verified, err) < 0) return -1;
  *who = verified ? TAKE_PTR(name) : rs_strdup_printf("%s (unverified: the kubeconfig's)", name);
  if (!*who) return rs_oom(err);
  rs_rollout_me_host(host, hostsz);
  *me = (struct rs_rollout_me){.user = *who, .host = host[0] ? host : NULL, .pid = (long)getpid()};
  return 0;
}

/* The rollout's lock for rec (ops/rollout_lock.h), as whoami says;
 * refused: nothing written. */
static int lock(struct eng *e, struct rs_lease *ret, rs_err_t *err) {
  _cleanup_free_ char *said = NULL;
  if (rs_rollout_lock_take(e->c, e->o->ns, e->rec->id, &e->me, ret, &said, err) < 0) {
    /* held by another, or taken by another between the read and the write */
    e->res->refused = err->kind == RS_E_INPUT || rs_kube_err_is(err, 409);
    return -1;
  }
  if (said) note(e, said);
  return 0;
}

/* While the rollout runs, a thread of its own renews the lock every
 * RS_ROLLOUT_LOCK_RENEW_S (the gates may wait for minutes), with a client
 * of its own; a failure is said once (another plugin that took it over
 * also changes the record, which stops this one at its next write). */
struct renewer {
  struct eng *e;
  struct rs_lease *held;
  rs_kube_client_t *c;
  volatile sig_atomic_t never;
  pthread_t th;
  bool running, stop;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char *failed;              /* the first failure (heap) */
};

static void *renew_main(void *arg) {
  struct renewer *r = arg;
  pthread_mutex_lock(&r->mu);
  while (!r->stop && !r->failed) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RS_ROLLOUT_LOCK_RENEW_S;
    while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &until) != ETIMEDOUT) {
    }
    if (r->stop) break;
    pthread_mutex_unlock(&r->mu);
    rs_err_t e = RS_ERR_INIT;
    char *why = NULL;
    if (rs_rollout_lock_renew(r->c, r->held, r->e->rec->id, &r->e->me, true, &e) < 0)
      why = rs_strdup_printf("%s (the rollout goes on; its record's writes say whether it still owns it)",
                             e.msg ? e.msg : "renewing the rollout lock failed");
    rs_err_clear(&e);
    pthread_mutex_lock(&r->mu);
    r->failed = why;
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

static int renewer_start(struct renewer *r, struct eng *e, struct rs_lease *held, rs_err_t *err) {
  *r = (struct renewer){.e = e, .held = held};
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  struct rs_kube_client_opts co = e->o->client;
  co.cancel = &r->never;
  if (rs_kube_client_new(e->o->cfg, &co, &r->c, err) < 0) return -1;
  int rc = pthread_create(&r->th, NULL, renew_main, r);
  if (rc != 0) return rs_fail_errno(err, rc, "starting the rollout lock's renewal");
  r->running = true;
  return 0;
}

/* Stopped and joined: the lock is the caller's again. */
static void renewer_stop(struct renewer *r) {
  if (r->running) {
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    r->running = false;
  }
  if (r->failed) note(r->e, r->failed);
  free(r->failed);
  r->failed = NULL;
  rs_kube_client_free(r->c);
  r->c = NULL;
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
}

int rs_rollout_run(const struct rs_rr_opts *o, struct rs_ror_record *rec, struct rs_rr_result *ret,
                   rs_err_t *err) {
  *ret = (struct rs_rr_result){0};
  if (!rec->nnodes) return rs_fail(err, RS_E_INPUT, 0, "rollout %s has no node", rec->id);
  struct eng e = {.o = o, .rec = rec, .res = ret};
  struct rs_kube_client_opts co = o->client;
  co.cancel = &e.never;
  if (rs_kube_client_new(o->cfg, &co, &e.c, err) < 0) return -1;
  pthread_mutex_init(&e.mu, NULL);
  pthread_cond_init(&e.cv, NULL);
  _cleanup_(rs_lease_clear) struct rs_lease held = {0};
  _cleanup_free_ char *who = NULL;
  char host[256];
  int rc = whoami(&e, &who, host, sizeof host, &e.me, err);
  if (rc == 0) rc = lock(&e, &held, err);
  bool locked = rc == 0;
  struct renewer rn = {0};
  if (rc == 0) rc = renewer_start(&rn, &e, &held, err);
  if (rc == 0) {
    rec->state = RS_ROR_RUNNING;
    free(rec->reason);
    rec->reason = NULL;
    rc = save(&e, err);
    long last = rec->nodes[rec->nnodes - 1].batch;
    for (long b = 1; rc == 0 && b <= last && !rs_cancelled && !ret->halted; b++) rc = run_batch(&e, b, err);
  }
  if (locked) {
    renewer_stop(&rn);
    rc = finish(&e, rc, err);
  }
  /* released at a final state only: halted or paused, the rollout keeps
   * it for its resume, marked not active (no plugin drives it now) */
  rs_err_t e2 = RS_ERR_INIT;
  if (locked && e.final_saved && rs_rollout_lock_release(e.c, &held, &e2) < 0) {
    _cleanup_free_ char *w = rs_strdup_printf("%s (rollout %s is %s all the same)", e2.msg ? e2.msg : "?",
                                              rec->id, rs_ror_state_name(rec->state));
    if (w) note(&e, w);
  } else if (locked && !e.final_saved && rs_rollout_lock_renew(e.c, &held, rec->id, &e.me, false, &e2) < 0) {
    _cleanup_free_ char *w = rs_strdup_printf("%s: the lock still says rollout %s is driven by this plugin; a "
                                              "resume elsewhere waits %d s", e2.msg ? e2.msg : "?", rec->id,
                                              RS_ROLLOUT_LOCK_LIVE_S);
    if (w) note(&e, w);
  }
  rs_err_clear(&e2);
  for (struct item *it = e.head, *next; it; it = next) next = it->next, item_free(it);
  pthread_cond_destroy(&e.cv);
  pthread_mutex_destroy(&e.mu);
  rs_kube_client_free(e.c);
  return rc;
}
