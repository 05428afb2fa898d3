/* Fuzz target: the rollout planner over what the API gave (any JSON): a
 * PodDisruptionBudget's label selector against a pod's labels, a
 * --max-unavailable value, and a plan over nodes, budgets and options read
 * from the input, checked against the planner's promises (every planned
 * node in exactly one batch, batch sizes, one control-plane node a batch,
 * the zones in a batch). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/rollout_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_NODES 64
#define MAX_PDBS 8

static long num(const json_t *o, const char *k, long lo, long hi) {
  json_int_t v = json_integer_value(json_object_get(o, k));
  return v < lo ? lo : v > hi ? hi : (long)v;
}

static void check_plan(const struct rs_ro_input *in, const struct rs_ro_opts *o, const struct rs_ro_plan *p) {
  size_t seen[MAX_NODES] = {0}, planned = 0;
  for (size_t i = 0; i < in->nnodes; i++) planned += p->state[i] == RS_RO_PLANNED;
  if (planned != p->norder) abort();
  for (size_t b = 0; b < p->nbatches; b++) {
    const struct rs_ro_batch *x = &p->batches[b];
    if (!x->n || x->start + x->n > p->norder || (long)x->n > x->want) abort();
    if (x->kind == RS_RO_BATCH_CONTROL_PLANE && x->n != 1) abort();
    if (x->kind == RS_RO_BATCH_WORKERS && (long)x->n > p->max_unavailable) abort();
    size_t zones = 0;
    for (size_t k = 0; k < x->n; k++) {
      size_t i = p->order[x->start + k];
      if (i >= in->nnodes || p->state[i] != RS_RO_PLANNED || p->batch_of[i] != (long)b) abort();
      seen[i]++;
      const char *z = in->nodes[i].zone ? in->nodes[i].zone : "";
      const char *prev = k ? in->nodes[p->order[x->start + k - 1]].zone : NULL;
      if (!k || strcmp(z, prev ? prev : "") != 0) zones++;
    }
    if (o->max_zones > 0 && zones > (size_t)o->max_zones) abort();
  }
  for (size_t i = 0; i < in->nnodes; i++)
    if ((p->state[i] == RS_RO_PLANNED) != (seen[i] == 1)) abort();
}

static void plan(const json_t *doc) {
  const json_t *nodes = json_object_get(doc, "nodes"), *pdbs = json_object_get(doc, "pdbs");
  struct rs_ro_node nv[MAX_NODES];
  struct rs_ro_evict ev[MAX_NODES][MAX_PDBS];
  struct rs_ro_pdb pv[MAX_PDBS];
  char names[MAX_NODES][8];
  size_t nn = json_array_size(nodes) < MAX_NODES ? json_array_size(nodes) : MAX_NODES;
  size_t np = json_array_size(pdbs) < MAX_PDBS ? json_array_size(pdbs) : MAX_PDBS;
  for (size_t k = 0; k < np; k++)
    pv[k] = (struct rs_ro_pdb){"ns", "pdb", (long)json_integer_value(json_array_get(pdbs, k)) % 100};
  for (size_t i = 0; i < nn; i++) {
    const json_t *n = json_array_get(nodes, i);
    snprintf(names[i], sizeof names[i], "n%02ld", num(n, "name", 0, 99));
    size_t ne = 0;
    const json_t *e = json_object_get(n, "evict");
    for (size_t k = 0; k < json_array_size(e) && k < MAX_PDBS; k++)
      ev[i][ne++] = (struct rs_ro_evict){(size_t)num(json_array_get(e, k), "pdb", 0, MAX_PDBS),
                                         num(json_array_get(e, k), "pods", -5, 50)};
    nv[i] = (struct rs_ro_node){.name = names[i], .zone = json_string_value(json_object_get(n, "zone")),
                                .control_plane = json_is_true(json_object_get(n, "cp")),
                                .ready = !json_is_false(json_object_get(n, "ready")),
                                .on_target = json_is_true(json_object_get(n, "on")),
                                .blocked = json_is_true(json_object_get(n, "blocked")), .evict = ev[i], .nevict = ne};
  }
  const json_t *oo = json_object_get(doc, "opts");
  struct rs_ro_opts o = {.canary = num(oo, "canary", 0, 100), .max_unavailable = num(oo, "n", 1, 100),
                         .max_unavailable_pct = num(oo, "pct", -1, 100), .max_zones = num(oo, "zones", 0, 5),
                         .allow_all_control_plane = json_is_true(json_object_get(oo, "allcp"))};
  if (o.max_unavailable_pct == 0) o.max_unavailable_pct = -1;
  char *down[] = {"x", NULL};
  struct rs_ro_input in = {.nodes = nv, .nnodes = nn, .pdbs = pv, .npdbs = np,
                           .cluster_control_plane = (size_t)num(doc, "cp", 0, 100),
                           .cluster_cp_not_ready = json_is_true(json_object_get(doc, "down")) ? down : NULL};
  struct rs_ro_plan p = {0};
  rs_err_t err = RS_ERR_INIT;
  if (rs_ro_plan_make(&in, &o, &p, &err) == 0) check_plan(&in, &o, &p);
  rs_ro_plan_clear(&p);
  rs_err_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  long n, pct;
  rs_err_t err = RS_ERR_INIT;
  (void)rs_ro_parse_max_unavailable(s, &n, &pct, &err);
  rs_err_clear(&err);
  json_t *doc = json_loadb((const char *)data, size, 0, NULL);
  if (doc) {
    (void)rs_ro_selector_matches(json_object_get(doc, "selector"), json_object_get(doc, "labels"));
    plan(doc);
    json_decref(doc);
  }
  free(s);
  return 0;
}
