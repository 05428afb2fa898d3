/* ops/rollout_plan: batching, canary, percentages, zones, the control-plane
 * rules, PDB shrinking, label selectors. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/rollout_plan.h"

#define W(n_, z_) {.name = (n_), .zone = (z_), .ready = true}
#define CP(n_) {.name = (n_), .control_plane = true, .ready = true}

/* The plan as text: batches separated by " | ", nodes by ",", a canary
 * batch prefixed with "c:" and a control-plane one with "cp:". */
static char *render(const struct rs_ro_input *in, const struct rs_ro_plan *p) {
  char *s = strdup("");
  for (size_t b = 0; s && b < p->nbatches; b++) {
    const struct rs_ro_batch *x = &p->batches[b];
    char *t = rs_strdup_printf("%s%s%s", s, b ? " | " : "",
                               x->kind == RS_RO_BATCH_CANARY ? "c:" : x->kind == RS_RO_BATCH_CONTROL_PLANE ? "cp:" : "");
    free(s);
    s = t;
    for (size_t k = 0; s && k < x->n; k++) {
      t = rs_strdup_printf("%s%s%s", s, k ? "," : "", in->nodes[p->order[x->start + k]].name);
      free(s);
      s = t;
    }
  }
  cr_assert_not_null(s);
  return s;
}

static char *plan(const struct rs_ro_input *in, struct rs_ro_opts o, struct rs_ro_plan *p) {
  rs_err_t err = RS_ERR_INIT;
  cr_assert_eq(rs_ro_plan_make(in, &o, p, &err), 0, "%s", err.msg ? err.msg : "");
  return render(in, p);
}

static const struct rs_ro_opts defaults = {.canary = 1, .max_unavailable = 1, .max_unavailable_pct = -1,
                                           .max_zones = 1};

/* Options and the plan they give, over the nodes of one test. */
struct plan_case {
  long canary, max_unavailable, max_zones;
  const char *want;
};

static void plans(const struct rs_ro_input *in, const struct plan_case *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    struct rs_ro_opts o = defaults;
    o.canary = v[i].canary;
    o.max_unavailable = v[i].max_unavailable;
    o.max_zones = v[i].max_zones;
    struct rs_ro_plan p = {0};
    _cleanup_free_ char *s = plan(in, o, &p);
    cr_assert_str_eq(s, v[i].want, "case %zu", i);
    rs_ro_plan_clear(&p);
  }
}

Test(rollout_plan, canary_then_batches) {
  struct rs_ro_node n[] = {W("w3", NULL), W("w1", NULL), W("w2", NULL), W("w4", NULL), W("w5", NULL)};
  struct rs_ro_input in = {.nodes = n, .nnodes = 5};
  static const struct plan_case cases[] = {
      {1, 2, 1, "c:w1 | w2,w3 | w4,w5"},
      {0, 2, 1, "w1,w2 | w3,w4 | w5"},
      {2, 3, 1, "c:w1,w2 | w3,w4,w5"},
      {9, 3, 1, "c:w1,w2,w3,w4,w5"}, /* more than there are: every worker is the canary */
  };
  plans(&in, cases, RS_ARRAY_SIZE(cases));
  struct rs_ro_plan p = {0};
  struct rs_ro_opts o = defaults;
  o.max_unavailable = 2;
  _cleanup_free_ char *s = plan(&in, o, &p);
  cr_assert_eq(p.batch_of[0], 1); /* w3 */
  cr_assert_eq(p.max_unavailable, 2);
  rs_ro_plan_clear(&p);
}

Test(rollout_plan, percentages) {
  rs_err_t err = RS_ERR_INIT;
  long n, pct;
  cr_assert_eq(rs_ro_parse_max_unavailable("25%", &n, &pct, &err), 0);
  cr_assert_eq(pct, 25);
  cr_assert_eq(rs_ro_parse_max_unavailable("3", &n, &pct, &err), 0);
  cr_assert(n == 3 && pct == -1);
  static const char *const bad[] = {"", "0", "-1", "0%", "101%", "x%", "%", "1.5", "2 ", "100000000%", "100001"};
  for (size_t i = 0; i < RS_ARRAY_SIZE(bad); i++) {
    cr_assert_lt(rs_ro_parse_max_unavailable(bad[i], &n, &pct, &err), 0, "%s", bad[i]);
    cr_assert_eq(err.kind, RS_E_USAGE);
    rs_err_clear(&err);
  }
  cr_assert_eq(rs_ro_resolve_max_unavailable(0, 25, 10), 2);  /* rounded down */
  cr_assert_eq(rs_ro_resolve_max_unavailable(0, 10, 5), 1);   /* at least one */
  cr_assert_eq(rs_ro_resolve_max_unavailable(0, 100, 5000), 5000);
  cr_assert_eq(rs_ro_resolve_max_unavailable(7, -1, 3), 7);

  struct rs_ro_node nd[8];
  char names[8][4];
  for (int i = 0; i < 8; i++) {
    snprintf(names[i], sizeof names[i], "w%d", i);
    nd[i] = (struct rs_ro_node){.name = names[i], .ready = true};
  }
  struct rs_ro_input in = {.nodes = nd, .nnodes = 8};
  struct rs_ro_opts o = defaults;
  o.max_unavailable_pct = 50; /* of 8 planned: 4 */
  struct rs_ro_plan p = {0};
  _cleanup_free_ char *s = plan(&in, o, &p);
  cr_assert_str_eq(s, "c:w0 | w1,w2,w3,w4 | w5,w6,w7");
  rs_ro_plan_clear(&p);
}

Test(rollout_plan, skipped_and_blocked) {
  struct rs_ro_node n[] = {W("a", NULL), W("b", NULL), W("c", NULL), W("d", NULL)};
  n[1].on_target = true;
  n[2].blocked = true;
  struct rs_ro_input in = {.nodes = n, .nnodes = 4};
  struct rs_ro_plan p = {0};
  _cleanup_free_ char *s = plan(&in, defaults, &p);
  cr_assert_str_eq(s, "c:a | d");
  cr_assert_eq(p.state[1], RS_RO_SKIPPED);
  cr_assert_eq(p.state[2], RS_RO_BLOCKED);
  cr_assert_eq(p.batch_of[1], -1);
  cr_assert_str_eq(rs_ro_state_name(p.state[2]), "blocked");
  rs_ro_plan_clear(&p);

  struct rs_ro_input none = {.nodes = n, .nnodes = 0};
  _cleanup_free_ char *e = plan(&none, defaults, &p);
  cr_assert_str_eq(e, "");
  cr_assert_eq(p.nbatches, 0);
  rs_ro_plan_clear(&p);
}

Test(rollout_plan, one_zone_in_flight) {
  struct rs_ro_node n[] = {W("a1", "zone-a"), W("b1", "zone-b"), W("a2", "zone-a"), W("b2", "zone-b"),
                           W("b3", "zone-b"), W("x", NULL)};
  struct rs_ro_input in = {.nodes = n, .nnodes = 6};
  static const struct plan_case cases[] = {
      {1, 3, 1, "c:x | a1,a2 | b1,b2,b3"},  /* no zone sorts first; a batch never spans two zones */
      {1, 3, 0, "c:x | a1,a2,b1 | b2,b3"},  /* told otherwise */
      {1, 10, 2, "c:x | a1,a2,b1,b2,b3"},
  };
  plans(&in, cases, RS_ARRAY_SIZE(cases));
}

Test(rollout_plan, control_plane) {
  struct rs_ro_node n[] = {CP("cp2"), W("w1", NULL), CP("cp1"), W("w2", NULL), CP("cp3")};
  struct rs_ro_input in = {.nodes = n, .nnodes = 5, .cluster_control_plane = 3};
  struct rs_ro_opts o = defaults;
  o.max_unavailable = 5;
  struct rs_ro_plan p = {0};
  /* workers first; control plane one at a time; never all three */
  _cleanup_free_ char *s = plan(&in, o, &p);
  cr_assert_str_eq(s, "c:w1 | w2 | cp:cp1 | cp:cp2");
  cr_assert_eq(p.state[4], RS_RO_HELD);
  cr_assert_not_null(p.reason[4]);
  cr_assert(strstr(p.reason[4], "--all-control-plane"));
  rs_ro_plan_clear(&p);

  o.allow_all_control_plane = true;
  _cleanup_free_ char *all = plan(&in, o, &p);
  cr_assert_str_eq(all, "c:w1 | w2 | cp:cp1 | cp:cp2 | cp:cp3");
  rs_ro_plan_clear(&p);

  /* a fourth control-plane node outside the selection: all three may go */
  in.cluster_control_plane = 4;
  o.allow_all_control_plane = false;
  _cleanup_free_ char *some = plan(&in, o, &p);
  cr_assert_str_eq(some, "c:w1 | w2 | cp:cp1 | cp:cp2 | cp:cp3");
  rs_ro_plan_clear(&p);

  /* ... unless it is NotReady */
  char *down[] = {"cp4", NULL};
  in.cluster_cp_not_ready = down;
  _cleanup_free_ char *held = plan(&in, o, &p);
  cr_assert_str_eq(held, "c:w1 | w2");
  cr_assert_eq(p.state[0], RS_RO_HELD);
  cr_assert(strstr(p.reason[0], "cp4 is NotReady"));
  rs_ro_plan_clear(&p);
  in.cluster_cp_not_ready = NULL;

  /* a NotReady control-plane node of the plan is held itself */
  n[2].ready = false;
  _cleanup_free_ char *nr = plan(&in, o, &p);
  cr_assert_str_eq(nr, "c:w1 | w2 | cp:cp2 | cp:cp3");
  cr_assert_eq(p.state[2], RS_RO_HELD);
  rs_ro_plan_clear(&p);
  n[2].ready = true;

  /* only control-plane nodes: the canary is one of them */
  struct rs_ro_input cpo = {.nodes = (struct rs_ro_node[]){CP("b"), CP("a")}, .nnodes = 2,
                            .cluster_control_plane = 3};
  _cleanup_free_ char *c = plan(&cpo, o, &p);
  cr_assert_str_eq(c, "c:a | cp:b");
  rs_ro_plan_clear(&p);

  /* the only control-plane node */
  struct rs_ro_input one = {.nodes = (struct rs_ro_node[]){CP("a"), W("w", NULL)}, .nnodes = 2,
                            .cluster_control_plane = 1};
  _cleanup_free_ char *o1 = plan(&one, o, &p);
  cr_assert_str_eq(o1, "c:w");
  cr_assert_eq(p.state[0], RS_RO_HELD);
  rs_ro_plan_clear(&p);
}

Test(rollout_plan, pdb_shrinks_batches) {
  /* web: 3 pods on w1..w3 (one each), allows 1; db: 2 pods on w4, allows 2 */
  struct rs_ro_pdb pdbs[] = {{"default", "web", 1}, {"default", "db", 2}};
  struct rs_ro_evict e_web[] = {{0, 1}}, e_db[] = {{1, 2}};
  struct rs_ro_node n[] = {W("w1", NULL), W("w2", NULL), W("w3", NULL), W("w4", NULL), W("w5", NULL)};
  for (int i = 0; i < 3; i++) n[i].evict = e_web, n[i].nevict = 1;
  n[3].evict = e_db, n[3].nevict = 1;
  struct rs_ro_input in = {.nodes = n, .nnodes = 5, .pdbs = pdbs, .npdbs = 2};
  struct rs_ro_opts o = defaults;
  o.canary = 0;
  o.max_unavailable = 3;
  struct rs_ro_plan p = {0};
  _cleanup_free_ char *s = plan(&in, o, &p);
  /* w1 and w2 share web's one disruption: w2 goes to the next batch */
  cr_assert_str_eq(s, "w1 | w2 | w3,w4,w5");
  cr_assert_eq(p.batches[0].want, 3);
  cr_assert_not_null(p.batches[0].note);
  cr_assert(strstr(p.batches[0].note, "default/web allows 1"), "%s", p.batches[0].note);
  cr_assert_null(p.batches[2].note);
  rs_ro_plan_clear(&p);

  /* as a function of the budgets: web allows 2 -> two of them together */
  pdbs[0].allowed = 2;
  _cleanup_free_ char *s2 = plan(&in, o, &p);
  cr_assert_str_eq(s2, "w1,w2 | w3,w4,w5");
  rs_ro_plan_clear(&p);

  /* a budget that allows nothing: one node at a time (its drain waits) */
  pdbs[0].allowed = 0;
  _cleanup_free_ char *s0 = plan(&in, o, &p);
  cr_assert_str_eq(s0, "w1 | w2 | w3,w4,w5");
  rs_ro_plan_clear(&p);

  /* rs_ro_fit alone: db's two pods fit its 2; one more would not */
  size_t cand[] = {3, 4}, pdb;
  cr_assert_eq(rs_ro_fit(&in, cand, 2, &pdb), 2);
  cr_assert_eq(pdb, (size_t)-1);
  pdbs[1].allowed = 1;
  size_t cand2[] = {4, 3};
  cr_assert_eq(rs_ro_fit(&in, cand2, 2, &pdb), 1);
  cr_assert_eq(pdb, 1);
  cr_assert_eq(rs_ro_fit(&in, cand, 2, &pdb), 2); /* w4 first: alone it always fits */
}

Test(rollout_plan, selectors) {
  json_auto_t *labels = json_pack("{s:s, s:s}", "app", "web", "tier", "front");
  static const struct {
    const char *sel;
    bool match;
  } cases[] = {
      {"{}", true},
      {"{\"matchLabels\":{\"app\":\"web\"}}", true},
      {"{\"matchLabels\":{\"app\":\"db\"}}", false},
      {"{\"matchLabels\":{\"app\":\"web\",\"x\":\"y\"}}", false},
      {"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"back\",\"front\"]}]}", true},
      {"{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"NotIn\",\"values\":[\"front\"]}]}", false},
      {"{\"matchExpressions\":[{\"key\":\"zz\",\"operator\":\"NotIn\",\"values\":[\"front\"]}]}", true},
      {"{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Exists\"}]}", true},
      {"{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"DoesNotExist\"}]}", false},
      {"{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"In\",\"values\":[]}]}", false},
      {"{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}", false},
      {"{\"matchLabels\":[]}", false},
      {"[]", false},
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
    json_auto_t *sel = json_loads(cases[i].sel, 0, NULL);
    cr_assert_not_null(sel, "%s", cases[i].sel);
    cr_assert_eq(rs_ro_selector_matches(sel, labels), cases[i].match, "%s", cases[i].sel);
  }
  cr_assert(!rs_ro_selector_matches(NULL, labels));
}
