/* The rollout's plan through the plugin against the fake API server
 * (tests/fakes/fakeapi.py: node-00000 the control plane on dockershim with
 * a pod without a controller, node-00001 containerd, node-00002 cri-dockerd
 * with a pod of a DaemonSet that no longer exists, node-00003 CRI-O,
 * node-00004 dockershim, node-00005 containerd): selection, skipped,
 * blocked by the drain's filters found before anything changes, the
 * control-plane rule, -o json, missing names.  The planner's rules are
 * test_rollout_plan.c's. */
#include <criterion/criterion.h>

#include "kube_fixture.h"

static struct fake F;
static char kc[1024];

static void start(void) {
  const char *a[] = {"--nodes", "6", NULL};
  fake_start(&F, a);
  fake_kubeconfig(&F, NULL, "    token: x\n", kc, sizeof kc);
}
static void stop(void) { fake_stop(&F); }

static json_t *plan_json(const char *const *args, int want_status) {
  struct rs_proc_result r = {0};
  fake_run_plugin(kc, args, &r);
  cr_assert_eq(r.status, want_status, "%s%s", r.out, r.errout);
  json_t *doc = json_loads(r.out, 0, NULL);
  cr_assert(doc, "%s", r.out);
  cr_assert_eq(strchr(r.out, '\n') - r.out + 1, (long)r.out_len, "one line: %s", r.out);
  rs_proc_result_free(&r);
  return doc;
}

static const json_t *node_of(const json_t *doc, const char *name) {
  size_t i;
  const json_t *n;
  json_array_foreach(json_object_get(doc, "nodes"), i, n) {
    if (strcmp(json_string_value(json_object_get(n, "name")), name) == 0) return n;
  }
  cr_assert_fail("no node %s in the plan", name);
  return NULL;
}

static const char *state_of(const json_t *doc, const char *name) {
  return json_string_value(json_object_get(node_of(doc, name), "state"));
}

Test(rollout_cli, plan_blockers_and_batches, .init = start, .fini = stop) {
  /* the drain's filters: blocked, exit 3, nothing changed */
  const char *a[] = {"node", "--all", "--to", "containerd", "--dry-run", "--skip-preflight", "-o", "json", NULL};
  json_auto_t *doc = plan_json(a, 3);
  cr_assert_str_eq(json_string_value(json_object_get(doc, "kind")), "RolloutPlan");
  cr_assert_str_eq(state_of(doc, "node-00001"), "skipped");
  cr_assert_str_eq(state_of(doc, "node-00005"), "skipped");
  cr_assert_str_eq(state_of(doc, "node-00000"), "blocked");
  const char *why = json_string_value(json_array_get(json_object_get(node_of(doc, "node-00000"), "drainBlockers"), 0));
  cr_assert(why && strstr(why, "Pods that declare no controller (use --force to override): ci/dind"), "%s", why);
  cr_assert_str_eq(state_of(doc, "node-00002"), "blocked");
  cr_assert_str_eq(state_of(doc, "node-00003"), "planned");
  cr_assert_str_eq(state_of(doc, "node-00004"), "planned");

  /* --force lets both go; the only control-plane node is held; the canary
   * first, then one at a time */
  const char *f[] = {"node", "--all", "--to", "containerd", "--dry-run", "--skip-preflight", "--force", "-o", "json",
                     NULL};
  json_auto_t *ok = plan_json(f, 0);
  cr_assert_str_eq(state_of(ok, "node-00000"), "held");
  cr_assert(strstr(json_string_value(json_object_get(node_of(ok, "node-00000"), "reason")), "--all-control-plane"));
  json_t *batches = json_object_get(ok, "batches");
  cr_assert_eq(json_array_size(batches), 3);
  const char *want[] = {"node-00002", "node-00003", "node-00004"};
  for (size_t i = 0; i < 3; i++) {
    json_t *b = json_array_get(batches, i);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(b, "nodes"), 0)), want[i]);
    cr_assert_str_eq(json_string_value(json_object_get(b, "kind")), i ? "workers" : "canary");
  }

  /* with the flag, the control plane comes last, alone; three at a time */
  const char *all[] = {"node", "--all", "--to", "containerd", "--dry-run", "--skip-preflight", "--force",
                       "--all-control-plane", "--canary", "0", "--max-unavailable", "3", "-o", "json", NULL};
  json_auto_t *cp = plan_json(all, 0);
  batches = json_object_get(cp, "batches");
  cr_assert_eq(json_array_size(batches), 2);
  cr_assert_eq(json_array_size(json_object_get(json_array_get(batches, 0), "nodes")), 3);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(batches, 1), "kind")), "control-plane");
}

Test(rollout_cli, table_missing_and_confirm, .init = start, .fini = stop) {
  struct rs_proc_result r = {0};
  /* the table; names that do not exist end it as kubectl get does */
  const char *m[] = {"node", "node-00004", "node-00099", "node-00098", "--to", "containerd", "--dry-run",
                     "--skip-preflight", NULL};
  fake_run_plugin(kc, m, &r);
  cr_assert_eq(r.status, 1, "%s%s", r.out, r.errout);
  cr_assert(strstr(r.out, "Rollout to containerd: 1 node(s) in 1 batch(es)"), "%s", r.out);
  cr_assert(strstr(r.out, "1 (canary)   node-00004   -      worker"), "%s", r.out);
  cr_assert(strstr(r.errout, "Error from server (NotFound): nodes \"node-00098\" not found"), "%s", r.errout);
  cr_assert(strstr(r.errout, "nodes \"node-00099\" not found"), "%s", r.errout);
  rs_proc_result_free(&r);
  /* without --dry-run, --yes and a terminal: the plan, then a refusal that
   * changes nothing (the engine is test_rollout_run.c's) */
  const char *run[] = {"node", "node-00003", "node-00004", "--to", "containerd", "--skip-preflight", NULL};
  fake_run_plugin(kc, run, &r);
  cr_assert_eq(r.status, 3, "%s%s", r.out, r.errout);
  cr_assert(strstr(r.out, "2 node(s) in 2 batch(es)"), "%s", r.out);
  cr_assert(strstr(r.errout, "a rollout changes 2 node(s): confirm it with --yes"), "%s", r.errout);
  rs_proc_result_free(&r);
}
