/* The rollout planner (include/ops/rollout_plan.h): pure functions over
 * what rollout.c collected. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/rollout_plan.h"

const char *rs_ro_state_name(int state) {
  static const char *const names[] = {"planned", "skipped", "blocked", "held"};
  return state >= 0 && state < _RS_RO_STATE_MAX ? names[state] : "?";
}

void rs_ro_plan_clear(struct rs_ro_plan *p) {
  if (!p) return;
  for (size_t i = 0; i < p->nbatches; i++) free(p->batches[i].note);
  free(p->batches);
  free(p->order);
  free(p->state);
  free(p->batch_of);
  for (size_t i = 0; p->reason && i < p->nnodes; i++) free(p->reason[i]);
  free(p->reason);
  *p = (struct rs_ro_plan){0};
}

int rs_ro_parse_max_unavailable(const char *s, long *ret_n, long *ret_pct, rs_err_t *err) {
  if (!s || !*s) return rs_fail(err, RS_E_USAGE, 0, "--max-unavailable needs a value: N or P%%");
  size_t len = strlen(s);
  long v;
  if (s[len - 1] == '%') {
    if (len > 8) return rs_fail(err, RS_E_USAGE, 0, "invalid --max-unavailable \"%s\" (1%%..100%%)", s);
    char buf[8];
    memcpy(buf, s, len - 1);
    buf[len - 1] = '\0';
    if (rs_parse_long(buf, 1, 100, &v) < 0)
      return rs_fail(err, RS_E_USAGE, 0, "invalid --max-unavailable \"%s\" (1%%..100%%)", s);
    *ret_n = 0;
    *ret_pct = v;
    return 0;
  }
  if (rs_parse_long(s, 1, RS_RO_MAX_NODES, &v) < 0)
    return rs_fail(err, RS_E_USAGE, 0, "invalid --max-unavailable \"%s\" (a count of nodes 1..%d, or P%%)", s,
                   RS_RO_MAX_NODES);
  *ret_n = v;
  *ret_pct = -1;
  return 0;
}

long rs_ro_resolve_max_unavailable(long n, long pct, size_t planned) {
  long k = pct >= 0 ? (long)(((unsigned long long)planned * (unsigned long)pct) / 100) : n;
  return k < 1 ? 1 : k;
}

size_t rs_ro_fit(const struct rs_ro_input *in, const size_t *cand, size_t n, size_t *ret_pdb) {
  *ret_pdb = (size_t)-1;
  if (n <= 1 || !in->npdbs) return n;
  _cleanup_free_ long *used = calloc(in->npdbs, sizeof *used);
  if (!used) return 1; /* without memory to count, one at a time is safe */
  for (size_t k = 0; k < n; k++) {
    const struct rs_ro_node *nd = &in->nodes[cand[k]];
    for (size_t e = 0; e < nd->nevict; e++) {
      size_t p = nd->evict[e].pdb;
      if (p >= in->npdbs || nd->evict[e].pods <= 0) continue;
      long allowed = in->pdbs[p].allowed < 0 ? 0 : in->pdbs[p].allowed;
      if (k > 0 && used[p] + nd->evict[e].pods > allowed) {
        *ret_pdb = p;
        return k;
      }
    }
    for (size_t e = 0; e < nd->nevict; e++)
      if (nd->evict[e].pdb < in->npdbs && nd->evict[e].pods > 0) used[nd->evict[e].pdb] += nd->evict[e].pods;
  }
  return n;
}

/* ---- label selectors ---- */

static bool in_values(const json_t *values, const char *v) {
  size_t i;
  const json_t *x;
  json_array_foreach(values, i, x) {
    if (json_is_string(x) && v && strcmp(json_string_value(x), v) == 0) return true;
  }
  return false;
}

bool rs_ro_selector_matches(const json_t *selector, const json_t *labels) {
  if (!json_is_object(selector)) return false;
  const json_t *ml = json_object_get(selector, "matchLabels");
  const json_t *me = json_object_get(selector, "matchExpressions");
  if ((ml && !json_is_object(ml)) || (me && !json_is_array(me))) return false;
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)ml, k, v) {
    const char *have = json_string_value(json_object_get(labels, k));
    if (!json_is_string(v) || !have || strcmp(have, json_string_value(v)) != 0) return false;
  }
  size_t i;
  const json_t *x;
  json_array_foreach(me, i, x) {
    const char *key = json_string_value(json_object_get(x, "key"));
    const char *op = json_string_value(json_object_get(x, "operator"));
    const json_t *vals = json_object_get(x, "values");
    if (!key || !op) return false;
    const char *have = json_string_value(json_object_get(labels, key));
    if (strcmp(op, "In") == 0) {
      if (!json_is_array(vals) || !json_array_size(vals) || !in_values(vals, have)) return false;
    } else if (strcmp(op, "NotIn") == 0) {
      if (!json_is_array(vals) || !json_array_size(vals) || in_values(vals, have)) return false;
    } else if (strcmp(op, "Exists") == 0) {
      if (!have) return false;
    } else if (strcmp(op, "DoesNotExist") == 0) {
      if (have) return false;
    } else {
      return false;
    }
  }
  return true;
}

/* ---- the plan ---- */

static const char *zone_of(const struct rs_ro_input *in, size_t i) {
  return in->nodes[i].zone ? in->nodes[i].zone : "";
}

static int by_zone_name(const void *a, const void *b, void *ud) {
  const struct rs_ro_input *sort_in = ud;
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  int c = strcmp(zone_of(sort_in, x), zone_of(sort_in, y));
  if (c) return c;
  c = strcmp(sort_in->nodes[x].name, sort_in->nodes[y].name);
  return c ? c : (x < y ? -1 : x > y);
}

static int add_batch(struct rs_ro_plan *p, size_t start, size_t n, int kind, long want, char *note, rs_err_t *err) {
  struct rs_ro_batch *v = realloc(p->batches, (p->nbatches + 1) * sizeof *v);
  if (!v) {
    free(note);
    return rs_oom(err);
  }
  p->batches = v;
  p->batches[p->nbatches] = (struct rs_ro_batch){.start = start, .n = n, .kind = kind, .want = want, .note = note};
  for (size_t k = start; k < start + n; k++) p->batch_of[p->order[k]] = (long)p->nbatches;
  p->nbatches++;
  return 0;
}

/* Cut q[0..nq) (in order) into batches of at most size, zone by zone
 * (max_zones), shrunk to fit the budgets; appends to p->order. */
static int cut(const struct rs_ro_input *in, const struct rs_ro_opts *o, struct rs_ro_plan *p, const size_t *q,
               size_t nq, long size, int kind, rs_err_t *err) {
  size_t i = 0;
  while (i < nq) {
    size_t n = 0, zones = 0;
    const char *last = NULL;
    while (i + n < nq && (long)n < size) {
      const char *z = zone_of(in, q[i + n]);
      if (!last || strcmp(z, last) != 0) {
        if (o->max_zones > 0 && zones == (size_t)o->max_zones) break;
        zones++;
        last = z;
      }
      n++;
    }
    size_t pdb;
    size_t fit = rs_ro_fit(in, q + i, n, &pdb);
    char *note = NULL;
    if (fit < n) {
      const struct rs_ro_pdb *b = &in->pdbs[pdb];
      note = rs_strdup_printf("shrunk from %zu to %zu node(s): PodDisruptionBudget %s/%s allows %ld disruption(s) "
                              "now", n, fit, b->ns, b->name, b->allowed < 0 ? 0 : b->allowed);
      if (!note) return rs_oom(err);
    }
    size_t start = p->norder;
    for (size_t k = 0; k < fit; k++) p->order[p->norder++] = q[i + k];
    if (add_batch(p, start, fit, kind, (long)n, note, err) < 0) return -1;
    i += fit;
  }
  return 0;
}

/* reason: owned (NULL: out of memory) */
static int hold(struct rs_ro_plan *p, size_t i, char *reason, rs_err_t *err) {
  p->state[i] = RS_RO_HELD;
  free(p->reason[i]);
  p->reason[i] = reason;
  return reason ? 0 : rs_oom(err);
}

int rs_ro_plan_make(const struct rs_ro_input *in, const struct rs_ro_opts *o, struct rs_ro_plan *ret,
                    rs_err_t *err) {
  if (in->nnodes > RS_RO_MAX_NODES || in->npdbs > RS_RO_MAX_PDBS)
    return rs_fail(err, RS_E_INPUT, 0, "too many nodes (%zu) or budgets (%zu) for one rollout", in->nnodes,
                   in->npdbs);
  size_t nn = in->nnodes ? in->nnodes : 1;
  struct rs_ro_plan p = {.order = calloc(nn, sizeof *p.order), .state = calloc(nn, sizeof *p.state),
                         .batch_of = calloc(nn, sizeof *p.batch_of), .reason = calloc(nn, sizeof *p.reason)};
  _cleanup_free_ size_t *workers = calloc(nn, sizeof *workers);
  _cleanup_free_ size_t *cps = calloc(nn, sizeof *cps);
  if (!p.order || !p.state || !p.batch_of || !p.reason || !workers || !cps) {
    free(p.order), free(p.state), free(p.batch_of), free(p.reason);
    return rs_oom(err);
  }
  p.nnodes = in->nnodes;
  size_t nw = 0, ncp = 0;
  int rc = 0;
  for (size_t i = 0; i < in->nnodes; i++) {
    const struct rs_ro_node *nd = &in->nodes[i];
    p.batch_of[i] = -1;
    p.state[i] = nd->on_target ? RS_RO_SKIPPED : nd->blocked ? RS_RO_BLOCKED : RS_RO_PLANNED;
    if (p.state[i] != RS_RO_PLANNED) continue;
    if (nd->control_plane) cps[ncp++] = i;
    else workers[nw++] = i;
  }
  qsort_r(workers, nw, sizeof *workers, by_zone_name, (void *)in);
  qsort_r(cps, ncp, sizeof *cps, by_zone_name, (void *)in);
  /* control-plane rules: one NotReady elsewhere holds them all; the whole
   * control plane only when asked */
  const char *down = in->cluster_cp_not_ready ? in->cluster_cp_not_ready[0] : NULL;
  for (size_t k = 0; rc == 0 && down && k < ncp; k++)
    rc = hold(&p, cps[k], rs_strdup_printf("control-plane node %s is NotReady: control-plane nodes switch only "
                                           "while the others are Ready", down), err);
  if (rc == 0 && down) ncp = 0;
  if (rc == 0 && ncp && ncp >= in->cluster_control_plane && !o->allow_all_control_plane) {
    rc = hold(&p, cps[ncp - 1], strdup("the last control-plane node of the cluster: the rollout would switch "
                                       "every one of them; pass --all-control-plane to allow it (one at a time)"),
              err);
    ncp--;
  }
  for (size_t k = 0; rc == 0 && k < ncp; k++)
    if (!in->nodes[cps[k]].ready)
      rc = hold(&p, cps[k], strdup("this control-plane node is NotReady"), err);
  size_t kept = 0;
  for (size_t k = 0; k < ncp; k++)
    if (p.state[cps[k]] == RS_RO_PLANNED) cps[kept++] = cps[k];
  ncp = kept;
  if (rc == 0) {
    p.max_unavailable = rs_ro_resolve_max_unavailable(o->max_unavailable, o->max_unavailable_pct, nw + ncp);
    size_t canary = o->canary > 0 ? (size_t)o->canary : 0;
    if (canary > nw) canary = nw;
    if (canary) rc = cut(in, o, &p, workers, canary, (long)canary, RS_RO_BATCH_CANARY, err);
    else if (o->canary > 0 && ncp) rc = cut(in, o, &p, cps, 1, 1, RS_RO_BATCH_CANARY, err);
    size_t cp0 = (!canary && o->canary > 0 && ncp) ? 1 : 0;
    if (rc == 0) rc = cut(in, o, &p, workers + canary, nw - canary, p.max_unavailable, RS_RO_BATCH_WORKERS, err);
    if (rc == 0) rc = cut(in, o, &p, cps + cp0, ncp - cp0, 1, RS_RO_BATCH_CONTROL_PLANE, err);
  }
  if (rc < 0) {
    rs_ro_plan_clear(&p);
    return -1;
  }
  *ret = p;
  return 0;
}
