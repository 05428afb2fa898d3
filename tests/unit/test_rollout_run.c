/* The rollout engine through the plugin (`node node-1 --canary 1 ...`,
 * `rollout ...`) against the fake API server that plays one switching node
 * (tests/fakes/switch_fakeapi.py), sharing switches between checks: a
 * rollout that ends done with its record (-o json events); refusals that
 * change nothing (no --yes without a terminal, another rollout's node); a
 * node whose switch fails and is rolled back halts it, then status and
 * abort; resume by id on a terminal (the live table); a rerun resumes its
 * own switch in progress; Ctrl-C pauses (keeping the rollout's lock) and a
 * rerun finishes (releasing it); one rollout at a time by that lock (two
 * at once, another's held, one left by a final rollout); --soak: a batch
 * with no restart goes on, a container restarting halts it.  The
 * record's parser is test_rollout_record.c's, the planner
 * test_rollout_plan.c's. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pty.h>
#include <spawn.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "kube_fixture.h"
#include "ops/lease.h"
#include "ops/rollout_lock.h"
#include "ops/rollout_record.h"

#define NS "kubectl-runtime-switch"

static pid_t fake_pid;
static char dir[64], kc[128];

/* The fake in scenario sc, with more of its options (extra,
 * NULL-terminated; may be NULL), on a port of its own; kc points at it. */
static void up_with(const char *sc, const char *const *extra) {
  snprintf(dir, sizeof dir, "/tmp/rs-rollout-run-%d-XXXXXX", (int)getpid());
  cr_assert(mkdtemp(dir));
  const char *data = getenv("RS_TEST_DATA");
  _cleanup_free_ char *script = data ? rs_strdup_printf("%s/../fakes/switch_fakeapi.py", data)
                                     : strdup("tests/fakes/switch_fakeapi.py");
  _cleanup_free_ char *portfile = rs_strdup_printf("%s/port", dir);
  char *argv[16] = {"python3", script, "--port-file", portfile, "--scenario", (char *)sc, "--lifetime", "90"};
  size_t n = 8;
  for (size_t i = 0; extra && extra[i] && n < RS_ARRAY_SIZE(argv) - 1; i++) argv[n++] = (char *)extra[i];
  argv[n] = NULL;
  extern char **environ;
  cr_assert_eq(posix_spawnp(&fake_pid, "python3", NULL, NULL, argv, environ), 0);
  char *port = NULL;
  for (int i = 0; i < 300 && rs_read_file(portfile, 32, &port, NULL, NULL) < 0; i++) usleep(20000);
  cr_assert_not_null(port, "the fake API server did not start");
  _cleanup_free_ char *text = rs_strdup_printf(
      "apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: c\n  cluster:\n"
      "    server: http://127.0.0.1:%s\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n"
      "- name: t\n  context: {cluster: c, user: u}\n", port);
  free(port);
  snprintf(kc, sizeof kc, "%s/kubeconfig", dir);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_write_file_atomic(kc, text, strlen(text), 0600, &e), 0);
}

static void up(const char *sc) { up_with(sc, NULL); }

static void down(void) {
  if (fake_pid > 0) kill(fake_pid, SIGTERM), waitpid(fake_pid, NULL, 0);
  char p[160];
  snprintf(p, sizeof p, "%s/port", dir);
  unlink(p);
  unlink(kc);
  rmdir(dir);
}
static void up_ok(void) { up("ok"); }
static void up_rolledback(void) { up("rolledback"); }

/* The test's own client of the fake, as the plugin resolves it. */
static rs_kube_client_t *client(void) {
  rs_err_t e = RS_ERR_INIT;
  rs_kube_config_t *cfg = NULL;
  rs_kube_client_t *c = NULL;
  struct rs_kube_overrides ov = RS_KUBE_OVERRIDES_INIT;
  ov.kubeconfig = kc;
  int rc = rs_kube_config_resolve(&ov, NULL, &cfg, &e);
  if (rc == 0) rc = rs_kube_client_new(cfg, &(struct rs_kube_client_opts){.max_retries = -1}, &c, &e);
  rs_kube_config_free(cfg);
  cr_assert_eq(rc, 0, "%s", e.msg);
  return c;
}

/* One of the fake's test endpoints (/test/requests, /test/started). */
static json_t *fake_test(const char *path) {
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  json_t *got = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_get(c, path, &got, &e), 0, "%s", e.msg);
  return got;
}

static void run(const char *const *args, int want, struct rs_proc_result *r) {
  fake_run_plugin(kc, args, r);
  cr_assert_eq(r->status, want, "exit %d, not %d:\n%s%s", r->status, want, r->out, r->errout);
}

/* The rollout of node-1 (canary 1, confirmed, preflights skipped). */
static void rollout(int want, struct rs_proc_result *r) {
  const char *a[] = {"node", "node-1", "--to", "containerd", "--canary", "1", "--yes", "--skip-preflight", NULL};
  run(a, want, r);
}

/* How many records the fake holds (all readable); *first (may be NULL)
 * takes the first. */
static size_t records(struct rs_ror_record *first) {
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  struct rs_ror_record *v = NULL;
  size_t n = 0;
  _cleanup_strv_ char **bad = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_ror_list(c, NS, &v, &n, &bad, &e), 0, "%s", e.msg);
  cr_assert_null(bad[0], "%s", bad[0]);
  if (first && n) {
    *first = v[0];
    v[0] = (struct rs_ror_record){0};
  }
  rs_ror_list_free(v, n);
  return n;
}

static void one_record(struct rs_ror_record *ret) { cr_assert_eq(records(ret), 1); }

static bool node_unschedulable(void) {
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  json_auto_t *n = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_get(c, "/api/v1/nodes/node-1", &n, &e), 0, "%s", e.msg);
  return json_is_true(json_object_get(json_object_get(n, "spec"), "unschedulable"));
}

/* A key of an event or summary (-o json) is left out when it has no value:
 * no null anywhere in v.  The JSON path of the first null, or NULL. */
static char *null_in(const json_t *v, const char *at) {
  if (json_is_null(v)) return strdup(at);
  const char *k;
  size_t i;
  json_t *x;
  char *got = NULL;
  if (json_is_object(v)) {
    json_object_foreach((json_t *)v, k, x) {
      _cleanup_free_ char *p = rs_strdup_printf("%s.%s", at, k);
      if ((got = null_in(x, p))) return got;
    }
  }
  if (json_is_array(v)) {
    json_array_foreach(v, i, x) {
      _cleanup_free_ char *p = rs_strdup_printf("%s[%zu]", at, i);
      if ((got = null_in(x, p))) return got;
    }
  }
  return NULL;
}

/* Each line of a rollout's -o json output (its plan, the events, the
 * summary) checked for nulls; how many events of type had no "node" key
 * (the batch's own). */
static size_t no_nulls(const char *out, const char *type) {
  _cleanup_free_ char *copy = strdup(out);
  char *save = NULL;
  size_t without_node = 0;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    json_auto_t *j = json_loads(line, 0, NULL);
    cr_assert(j, "not JSON: %s", line);
    _cleanup_free_ char *at = null_in(j, "");
    cr_assert_null(at, "null at %s: %s", at, line);
    const char *t = json_string_value(json_object_get(j, "type"));
    without_node += t && strcmp(t, type) == 0 && !json_object_get(j, "node");
  }
  return without_node;
}

Test(rollout_run, done_with_its_record, .init = up_ok, .fini = down) {
  const char *a[] = {"node", "node-1", "--to", "containerd", "--canary", "1", "--yes", "--skip-preflight",
                     "-o", "json", NULL};
  struct rs_proc_result r = {0};
  run(a, 0, &r);
  /* a key without a value is left out (the batch's event has no node, the
   * summary of a rollout not halted no "halted") */
  cr_assert_eq(no_nulls(r.out, "batch"), 1, "%s", r.out);
  /* the plan, then one event per line, the summary last */
  char *save = NULL, *line = strtok_r(r.out, "\n", &save);
  size_t ends = 0, lines = 0;
  json_t *last = NULL;
  for (; line; line = strtok_r(NULL, "\n", &save), lines++) {
    json_decref(last);
    last = json_loads(line, 0, NULL);
    cr_assert(last, "not JSON: %s", line);
    const char *type = json_string_value(json_object_get(last, "type"));
    if (type && strcmp(type, "node-end") == 0) {
      ends++;
      cr_assert_str_eq(json_string_value(json_object_get(last, "outcome")), "switched");
    }
  }
  cr_assert_eq(ends, 1);
  cr_assert(lines > 10, "%zu lines", lines);
  cr_assert_str_eq(json_string_value(json_object_get(last, "kind")), "RolloutSummary");
  cr_assert_str_eq(json_string_value(json_object_get(last, "state")), "done");
  const json_t *n0 = json_array_get(json_object_get(last, "nodes"), 0);
  cr_assert(json_real_value(json_object_get(n0, "notReadySeconds")) > 0, "the node's own NotReady window");
  json_decref(last);
  rs_proc_result_free(&r);
  struct rs_ror_record rec;
  one_record(&rec);
  cr_assert_eq(rec.state, RS_ROR_DONE);
  cr_assert_eq(rec.nnodes, 1);
  cr_assert_eq(rec.nodes[0].state, RS_ROR_NODE_DONE);
  cr_assert(rec.nodes[0].run && rec.nodes[0].started && rec.nodes[0].ended >= rec.nodes[0].started);
  cr_assert_str_eq(rec.names[0], "node-1");
  cr_assert_str_eq(rec.owner, "user-t", "the API server's name for the user (the fake's SelfSubjectReview)");
  rs_ror_record_clear(&rec);
  cr_assert(!node_unschedulable());
  /* the working namespace was made before the record went into it (the
   * fake does not refuse a ConfigMap in a missing namespace; the API
   * server does) */
  json_auto_t *reqs = fake_test("/test/requests");
  long ns_at = -1, cm_at = -1;
  size_t i;
  json_t *q;
  json_array_foreach(json_object_get(reqs, "requests"), i, q) {
    const char *req = json_string_value(q);
    if (ns_at < 0 && rs_startswith(req, "POST /api/v1/namespaces") && !strchr(req + 24, '/')) ns_at = (long)i;
    if (cm_at < 0 && rs_startswith(req, "POST /api/v1/namespaces/" NS "/configmaps")) cm_at = (long)i;
  }
  cr_assert(ns_at >= 0 && cm_at > ns_at, "namespace created at request %ld, the record at %ld", ns_at, cm_at);
}

/* A record written by someone: of this command (names node-1) or another
 * rollout's (-l pool=a), node-1 pending. */
static void seed_record_opts(const char *id, bool same, const char *owner, const char *node_state,
                             const char *options) {
  _cleanup_free_ char *txt = rs_strdup_printf(
      "{\"version\":1,\"id\":\"%s\",\"to\":\"containerd\",\"state\":\"paused\",\"owner\":\"%s\",\"host\":\"laptop\","
      "\"created\":1765017715,\"updated\":1765017715,\"selection\":%s,\"options\":%s,"
      "\"nodes\":[{\"name\":\"node-1\",\"batch\":1,\"state\":\"%s\"}]}", id, owner,
      same ? "{\"names\":[\"node-1\"]}" : "{\"selector\":\"pool=a\"}", options, node_state);
  struct rs_ror_record rec;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_ror_parse(txt, strlen(txt), &rec, &e), 0, "%s", e.msg);
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  json_auto_t *ns = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", NS);
  rs_kube_post(c, "/api/v1/namespaces", ns, NULL, &e);
  rs_err_clear(&e);
  cr_assert_eq(rs_ror_create(c, NS, &rec, &e), 0, "%s", e.msg);
  rs_ror_record_clear(&rec);
}

static void seed_record_in(const char *id, bool same, const char *owner, const char *node_state) {
  seed_record_opts(id, same, owner, node_state, "{\"maxUnavailable\":\"1\"}");
}

static void seed_record(const char *id, bool same, const char *owner) {
  seed_record_in(id, same, owner, "pending");
}

/* How many Jobs the fake was asked to create. */
static size_t job_posts(void) {
  json_auto_t *reqs = fake_test("/test/requests");
  size_t i, n = 0;
  json_t *q;
  json_array_foreach(json_object_get(reqs, "requests"), i, q)
    n += rs_startswith(json_string_value(q), "POST /apis/batch/v1/namespaces/" NS "/jobs");
  return n;
}

/* Nothing starts without --yes and a terminal; another unfinished
 * rollout over the node refuses, naming it. */
Test(rollout_run, refusals_change_nothing, .init = up_ok, .fini = down) {
  const char *a[] = {"node", "node-1", "--to", "containerd", "--canary", "1", "--skip-preflight", NULL};
  struct rs_proc_result r = {0};
  run(a, 3, &r);
  cr_assert(strstr(r.errout, "a rollout changes 1 node(s): confirm it with --yes"), "%s", r.errout);
  rs_proc_result_free(&r);
  cr_assert_eq(records(NULL), 0);
  seed_record("20261206-090000-bbbb", false, "alice");
  rollout(3, &r);
  cr_assert(strstr(r.errout, "node node-1 is in rollout 20261206-090000-bbbb (paused, pending by alice on laptop)"),
            "%s", r.errout);
  rs_proc_result_free(&r);
  /* with the plan's preflights: refused before any of them starts */
  const char *pf[] = {"node", "node-1", "--to", "containerd", "--canary", "1", "--yes", NULL};
  run(pf, 3, &r);
  cr_assert(strstr(r.errout, "node node-1 is in rollout 20261206-090000-bbbb"), "%s", r.errout);
  rs_proc_result_free(&r);
  cr_assert_eq(job_posts(), 0, "no preflight Job for a refused rollout");
  struct rs_ror_record rec;
  one_record(&rec);
  cr_assert_str_eq(rec.id, "20261206-090000-bbbb");
  rs_ror_record_clear(&rec);
  cr_assert(!node_unschedulable(), "nothing changed");
  /* the node's run as its lock has it, never as its annotations do: a
   * lock held by another with the annotations gone blocks the node naming
   * the Lease's holder; annotations that claim a run no lock backs block
   * it as not trusted */
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  rs_err_t e = RS_ERR_INIT;
  const char *rec_txt = "{\"id\":\"20261206-100000-0007\",\"op\":\"switch\",\"phase\":\"drained\",\"from\":"
                        "\"cri-dockerd\",\"to\":\"containerd\",\"namespace\":\"" NS "\",\"started\":1765017715,"
                        "\"user\":\"mallory\"}";
  json_auto_t *lock = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s, s:s}}", "apiVersion",
                                "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", "rsw-node-node-1",
                                "annotations", "runtime-switch.kubectl.dev/record", rec_txt, "spec",
                                "holderIdentity", "mallory (run 20261206-100000-0007, pid 4242 on desk)",
                                "acquireTime", "2026-12-06T10:00:00.000000Z");
  cr_assert_eq(rs_kube_post(c, "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases", lock, NULL, &e), 0, "%s",
               e.msg);
  const char *plan[] = {"node", "node-1", "--to", "containerd", "--canary", "1", "--skip-preflight", "--dry-run",
                        "-o", "json", NULL};
  run(plan, 3, &r);
  cr_assert(strstr(r.out, "node node-1 is held by mallory (run 20261206-100000-0007, pid 4242 on desk) (lock "
                          "Lease " NS "/rsw-node-node-1, since 2026-12-06T10:00:00.000000Z): a switch (run "
                          "20261206-100000-0007) is in progress at phase drained"), "%s", r.out);
  rs_proc_result_free(&r);
  cr_assert_eq(rs_kube_delete(c, "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases/rsw-node-node-1", NULL, NULL, &e),
               0, "%s", e.msg);
  json_auto_t *forged = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "annotations",
                                  "runtime-switch.kubectl.dev/state", "20261206-100000-0008 launched",
                                  "runtime-switch.kubectl.dev/run",
                                  "{\"id\":\"20261206-100000-0008\",\"op\":\"switch\",\"phase\":\"launched\","
                                  "\"from\":\"cri-dockerd\",\"to\":\"containerd\",\"namespace\":\"" NS "\"}");
  cr_assert_eq(rs_kube_patch(c, "/api/v1/nodes/node-1", RS_PATCH_MERGE, forged, NULL, &e), 0, "%s", e.msg);
  run(plan, 3, &r);
  cr_assert(strstr(r.out, "but no lock Lease backs it in namespace " NS) && strstr(r.out, "are not trusted"), "%s",
            r.out);
  cr_assert(!strstr(r.out, "mallory"), "%s", r.out);
  rs_proc_result_free(&r);
}

/* A failed node (rolled back by its helper) halts the rollout and stays
 * cordoned; then `rollout status` and `rollout abort` on its record. */
Test(rollout_run, a_failed_node_halts_it_status_abort, .init = up_rolledback, .fini = down) {
  struct rs_proc_result r = {0};
  rollout(5, &r);
  cr_assert(strstr(r.errout, "halted: 1 node(s) failed, more than --max-failures 0 allows"), "%s", r.errout);
  cr_assert(strstr(r.out, "node-1   rolled-back"), "%s", r.out);
  rs_proc_result_free(&r);
  struct rs_ror_record rec;
  one_record(&rec);
  cr_assert_eq(rec.state, RS_ROR_HALTED);
  cr_assert_eq(rec.nodes[0].state, RS_ROR_NODE_FAILED);
  cr_assert(rec.nodes[0].reason && strstr(rec.nodes[0].reason, "rolled-back"), "%s", rec.nodes[0].reason);
  cr_assert(node_unschedulable(), "a failed node stays cordoned");
  const char *st[] = {"rollout", "status", NULL};
  run(st, 0, &r);
  cr_assert(strstr(r.out, rec.id) && strstr(r.out, "halted"), "%s", r.out);
  rs_proc_result_free(&r);
  const char *one[] = {"rollout", "status", rec.id, NULL};
  run(one, 0, &r);
  cr_assert(strstr(r.out, "1       node-1   failed   failed"), "%s", r.out);
  rs_proc_result_free(&r);
  /* a node mid-switch, as its lock has it, refuses the abort, nothing
   * changed */
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  rs_err_t e = RS_ERR_INIT;
  const char *busy_rec = "{\"id\":\"20261206-110000-0001\",\"op\":\"switch\",\"phase\":\"drained\",\"from\":"
                         "\"cri-dockerd\",\"to\":\"containerd\",\"namespace\":\"" NS "\",\"started\":1765017715,"
                         "\"user\":\"bob\"}";
  json_auto_t *lock = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "coordination.k8s.io/v1",
                                "kind", "Lease", "metadata", "name", "rsw-node-node-1", "annotations",
                                "runtime-switch.kubectl.dev/record", busy_rec, "spec", "holderIdentity",
                                "bob (run 20261206-110000-0001)");
  cr_assert_eq(rs_kube_post(c, "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases", lock, NULL, &e), 0, "%s",
               e.msg);
  seed_record_in("20261206-090000-cccc", false, "bob", "running");
  const char *busy_ab[] = {"rollout", "abort", "20261206-090000-cccc", NULL};
  run(busy_ab, 3, &r);
  cr_assert(strstr(r.errout, "node node-1 is in the middle of its switch (run 20261206-110000-0001, phase drained, "
                             "held by bob (run 20261206-110000-0001))"), "%s", r.errout);
  rs_proc_result_free(&r);
  /* the lock gone, annotations that claim the run are not trusted: the
   * node settles by what it is (failed: still on Docker) */
  cr_assert_eq(rs_kube_delete(c, "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases/rsw-node-node-1", NULL, NULL,
                              &e), 0, "%s", e.msg);
  json_auto_t *busy = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "annotations", "runtime-switch.kubectl.dev/state",
                                "20261206-110000-0001 drained", "runtime-switch.kubectl.dev/run",
                                "{\"id\":\"20261206-110000-0001\",\"phase\":\"drained\"}");
  cr_assert_eq(rs_kube_patch(c, "/api/v1/nodes/node-1", RS_PATCH_MERGE, busy, NULL, &e), 0, "%s", e.msg);
  run(busy_ab, 0, &r);
  cr_assert(strstr(r.out, "aborted: 0 done, 1 failed, 0 cancelled"), "%s", r.out);
  rs_proc_result_free(&r);
  /* one not started is cancelled */
  seed_record("20261206-090000-dddd", false, "bob");
  const char *ab2[] = {"rollout", "abort", "20261206-090000-dddd", NULL};
  run(ab2, 0, &r);
  cr_assert(strstr(r.out, "aborted: 0 done, 0 failed, 1 cancelled"), "%s", r.out);
  rs_proc_result_free(&r);
  /* the node's own switch over: the failed one stays failed */
  json_auto_t *idle = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "annotations", "runtime-switch.kubectl.dev/state",
                                "20261206-110000-0001 rolled-back", "runtime-switch.kubectl.dev/run",
                                "{\"id\":\"20261206-110000-0001\",\"phase\":\"rolled-back\"}");
  cr_assert_eq(rs_kube_patch(c, "/api/v1/nodes/node-1", RS_PATCH_MERGE, idle, NULL, &e), 0, "%s", e.msg);
  const char *ab[] = {"rollout", "abort", rec.id, NULL};
  run(ab, 0, &r);
  cr_assert(strstr(r.out, "aborted: 0 done, 1 failed, 0 cancelled"), "%s", r.out);
  rs_proc_result_free(&r);
  run(ab, 0, &r);
  cr_assert(strstr(r.out, "is already aborted"), "%s", r.out);
  rs_proc_result_free(&r);
  /* --max-failures 1: the node fails again, and the rollout is not halted
   * by it (it goes on past it: here, to its end) */
  const char *mf[] = {"node", "node-1", "--to", "containerd", "--canary", "1", "--yes", "--skip-preflight",
                      "--max-failures", "1", NULL};
  run(mf, 5, &r);
  cr_assert(strstr(r.out, "node-1   rolled-back"), "%s%s", r.out, r.errout);
  cr_assert(!strstr(r.errout, "halted"), "%s", r.errout);
  rs_proc_result_free(&r);
  rs_ror_record_clear(&rec);
}

/* The plugin with args on a terminal (a pty): its exit status, its output
 * in *out (NUL-terminated). */
static int pty_run(const char *const *args, rs_buf_t *out) {
  const char *plugin = getenv("RS_TEST_PLUGIN");
  cr_assert(plugin);
  char *argv[16] = {(char *)plugin};
  for (size_t i = 0; args[i] && i < 14; i++) argv[i + 1] = (char *)args[i];
  int fd = -1;
  pid_t pid = forkpty(&fd, NULL, NULL, NULL);
  cr_assert(pid >= 0);
  if (pid == 0) {
    char env[160];
    snprintf(env, sizeof env, "KUBECONFIG=%s", kc);
    char *const envp[] = {env, "PATH=/usr/bin:/bin", "HOME=/nonexistent", NULL};
    execve(plugin, argv, envp);
    _exit(127);
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) rs_buf_append(out, buf, (size_t)n, NULL);
  int st;
  waitpid(pid, &st, 0);
  close(fd);
  rs_buf_append(out, "", 1, NULL);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(rollout_run, resume_by_id_on_a_terminal, .init = up_ok, .fini = down) {
  struct rs_proc_result r = {0};
  const char *no[] = {"rollout", "resume", "20261206-090000-ffff", "--yes", NULL};
  run(no, 1, &r);
  cr_assert(strstr(r.errout, "rollout 20261206-090000-ffff not found"), "%s", r.errout);
  rs_proc_result_free(&r);
  /* its selection and options from the record (the resume has no flags of
   * its own but --yes and -o) */
  seed_record_opts("20261206-090000-abcd", true, "carol", "pending", "{\"maxUnavailable\":\"1\",\"soakSeconds\":2}");
  const char *a[] = {"rollout", "resume", "20261206-090000-abcd", "--yes", "--skip-preflight", NULL};
  run(a, 2, &r);
  rs_proc_result_free(&r);
  /* on a terminal: the table of nodes redrawn in place (cursor up, erase),
   * then the summary */
  const char *b[] = {"rollout", "resume", "20261206-090000-abcd", "--yes", NULL};
  rs_buf_t out = RS_BUF_INIT(1 << 20);
  cr_assert_eq(pty_run(b, &out), 0, "%s", out.data);
  cr_assert(strstr(out.data, "Resuming rollout 20261206-090000-abcd"), "%s", out.data);
  cr_assert(strstr(out.data, "LAST PHASE") && strstr(out.data, "\033[2A\033[J"), "%s", out.data);
  cr_assert(strstr(out.data, "gates passed"), "%s", out.data);
  cr_assert(strstr(out.data, "node-1   switched"), "the summary after the table: %s", out.data);
  /* --soak 2s (the record's) after the node's gates: no event until the
   * batch's, and the table is drawn again each second all the same */
  const char *node_gate = strstr(out.data, "   gates passed");
  const char *soaked = node_gate ? strstr(node_gate, "batch gates passed: soak: no container restarted") : NULL;
  cr_assert(soaked, "%s", out.data);
  int draws = 0;
  for (const char *q = node_gate; (q = strstr(q, "LAST PHASE")) && q < soaked; q++) draws++;
  cr_assert_geq(draws, 1, "drawn %d times during the soak: %s", draws, out.data);
  rs_buf_free(&out);
  /* one preflight ran on node-1: the plan's, which its switch took */
  json_auto_t *started = fake_test("/test/started");
  size_t i, preflights = 0;
  json_t *st;
  json_array_foreach(json_object_get(started, "started"), i, st) {
    const char *pod = json_string_value(json_object_get(st, "pod"));
    preflights += pod && strstr(pod, "preflight");
  }
  _cleanup_free_ char *dump = json_dumps(started, JSON_COMPACT);
  cr_assert_eq(preflights, 1, "%zu preflight pods: %s", preflights, dump);
  const char *again[] = {"rollout", "resume", "20261206-090000-abcd", NULL};
  run(again, 0, &r);
  cr_assert(strstr(r.out, "is done: nothing to resume"), "%s", r.out);
  rs_proc_result_free(&r);
}

/* The plugin killed while node-1 switched: its record says running, the
 * node's own record says a switch is in progress.  Another rollout would be
 * blocked by that switch; the same command resumes it. */
Test(rollout_run, its_own_switch_in_progress_is_resumed, .init = up_ok, .fini = down) {
  seed_record_in("20261206-090000-1234", true, "dave", "running");
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  json_auto_t *busy = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "annotations", "runtime-switch.kubectl.dev/state",
                                "20261206-110000-0002 started", "runtime-switch.kubectl.dev/run",
                                "{\"id\":\"20261206-110000-0002\",\"op\":\"switch\",\"phase\":\"started\","
                                "\"from\":\"cri-dockerd\",\"to\":\"containerd\",\"namespace\":\"kubectl-runtime-switch\"}");
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_patch(c, "/api/v1/nodes/node-1", RS_PATCH_MERGE, busy, NULL, &e), 0, "%s", e.msg);
  /* the node's lock, as the killed run left it (the annotations alone are
   * only a mirror, not trusted): the fake names this client user-t */
  const char *run_rec = "{\"id\":\"20261206-110000-0002\",\"op\":\"switch\",\"phase\":\"started\",\"from\":"
                    "\"cri-dockerd\",\"to\":\"containerd\",\"namespace\":\"" NS "\",\"started\":1765017715,"
                    "\"user\":\"user-t\"}";
  json_auto_t *lock = json_pack("{s:s, s:s, s:{s:s, s:{s:s}, s:{s:s}}, s:{s:s}}", "apiVersion",
                                "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", "rsw-node-node-1",
                                "labels", "app.kubernetes.io/managed-by", "kubectl-runtime-switch", "annotations",
                                "runtime-switch.kubectl.dev/record", run_rec, "spec", "holderIdentity",
                                "user-t (run 20261206-110000-0002)");
  cr_assert_eq(rs_kube_post(c, "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases", lock, NULL, &e), 0, "%s",
               e.msg);
  struct rs_proc_result r = {0};
  const char *other[] = {"node", "node-1", "node-2", "--to", "containerd", "--yes", "--skip-preflight", NULL};
  run(other, 3, &r);
  cr_assert(strstr(r.errout, "node node-1 is in rollout 20261206-090000-1234"), "%s", r.errout);
  rs_proc_result_free(&r);
  rollout(0, &r);
  cr_assert(strstr(r.out, "Resuming rollout 20261206-090000-1234"), "%s", r.out);
  rs_proc_result_free(&r);
  struct rs_ror_record rec;
  one_record(&rec);
  cr_assert_eq(rec.state, RS_ROR_DONE);
  cr_assert_str_eq(rec.nodes[0].run, "20261206-110000-0002", "the run in progress was resumed, not another");
  rs_ror_record_clear(&rec);
}

static json_t *lock_record(void);

/* The rollout's lock as the fake holds it: its rollout id (heap), NULL
 * when there is none. */
static char *lock_names(char **ret_holder) {
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  _cleanup_(rs_lease_clear) struct rs_lease l = {0};
  bool found = false;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_lease_read(c, NS, RS_ROLLOUT_LOCK, &l, &found, &e), 0, "%s", e.msg);
  if (ret_holder) *ret_holder = found && l.holder ? strdup(l.holder) : NULL;
  return found ? rs_rollout_lock_id(&l, NULL) : NULL;
}

/* A record of rollout id over node-2 in state (its node pending, or done
 * with it), and the rollout's lock naming it, held by owner. */
static void seed_lock(const char *id, const char *state, const char *owner) {
  bool fin = strcmp(state, "done") == 0;
  _cleanup_free_ char *txt = rs_strdup_printf(
      "{\"version\":1,\"id\":\"%s\",\"to\":\"containerd\",\"state\":\"%s\",\"owner\":\"%s\",\"host\":\"desk\","
      "\"created\":1765017715,\"updated\":1765017715,\"selection\":{\"names\":[\"node-2\"]},"
      "\"options\":{\"maxUnavailable\":\"1\"},\"nodes\":[{\"name\":\"node-2\",\"batch\":1,\"state\":\"%s\"}]}",
      id, state, owner, fin ? "done" : "pending");
  struct rs_ror_record rec;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_ror_parse(txt, strlen(txt), &rec, &e), 0, "%s", e.msg);
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  bool found = false;
  struct rs_ror_record had;
  cr_assert_eq(rs_ror_read(c, NS, id, &had, &found, &e), 0, "%s", e.msg);
  if (found) rs_ror_record_clear(&had);
  else cr_assert_eq(rs_ror_create(c, NS, &rec, &e), 0, "%s", e.msg);
  rs_ror_record_clear(&rec);
  _cleanup_free_ char *holder = rs_strdup_printf("%s (rollout %s)", owner, id);
  _cleanup_free_ char *lrec = rs_strdup_printf("{\"host\":\"desk\",\"rollout\":\"%s\",\"user\":\"%s\"}", id, owner);
  _cleanup_(rs_lease_clear) struct rs_lease l = {0};
  cr_assert_eq(rs_lease_take(c, NS, RS_ROLLOUT_LOCK, holder, lrec, NULL, &l, &e), 0, "%s", e.msg);
}

static void drop_lock(void) {
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_delete(c, "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases/" RS_ROLLOUT_LOCK, NULL,
                              NULL, &e), 0, "%s", e.msg);
}

/* How many times the rollout's lock was written (PUT) in the fake. */
static size_t lock_writes(void) {
  json_auto_t *reqs = fake_test("/test/requests");
  size_t i, n = 0;
  json_t *q;
  json_array_foreach(json_object_get(reqs, "requests"), i, q)
    n += strcmp(json_string_value(q), "PUT /apis/coordination.k8s.io/v1/namespaces/" NS "/leases/rsw-rollout") == 0;
  return n;
}

static void up_racetake(void) { up("racetake"); }

/* One rollout at a time in a working namespace, by its Lease: two that
 * start at once (the fake plants another's lock just before this one's
 * POST) -- the second refused naming the holder, its new record gone,
 * nothing changed; another rollout holding it refuses even over other
 * nodes, until it is aborted (which releases it); a lock left naming a
 * final rollout is taken over, saying so; released when the rollout is
 * done. */
Test(rollout_run, one_rollout_at_a_time, .init = up_racetake, .fini = down) {
  struct rs_proc_result r = {0};
  rollout(3, &r);
  cr_assert(strstr(r.errout, "the rollout lock (Lease " NS "/rsw-rollout) is held by intruder (rollout "
                             "20990101-000000-beef)") && strstr(r.errout, "whose record (ConfigMap " NS
                             "/runtime-switch-rollout-20990101-000000-beef) is not there"), "%s", r.errout);
  rs_proc_result_free(&r);
  cr_assert_eq(records(NULL), 0, "the refused rollout's record was deleted");
  cr_assert(!node_unschedulable(), "nothing changed");
  _cleanup_free_ char *held = lock_names(NULL);
  cr_assert_str_eq(held, "20990101-000000-beef", "the winner's lock is left alone");
  drop_lock();
  /* a halted rollout over node-2 alone holds it: refused before anything
   * is written */
  seed_lock("20261206-080000-eeee", "halted", "erin");
  rollout(3, &r);
  cr_assert(strstr(r.errout, "rollout 20261206-080000-eeee (halted, owner erin on desk) holds the rollout lock "
                             "(Lease " NS "/rsw-rollout, held by erin (rollout 20261206-080000-eeee) since"),
            "%s", r.errout);
  cr_assert(strstr(r.errout, "rollout abort 20261206-080000-eeee"), "%s", r.errout);
  rs_proc_result_free(&r);
  const char *pf[] = {"node", "node-1", "--to", "containerd", "--canary", "1", "--yes", NULL};
  run(pf, 3, &r);
  cr_assert(strstr(r.errout, "rollout 20261206-080000-eeee (halted, owner erin on desk) holds the rollout lock"),
            "%s", r.errout);
  rs_proc_result_free(&r);
  cr_assert_eq(job_posts(), 0, "with the plan's preflights: refused before any of them starts");
  cr_assert_eq(records(NULL), 1);
  cr_assert(!node_unschedulable(), "nothing changed");
  /* its abort releases it */
  const char *ab[] = {"rollout", "abort", "20261206-080000-eeee", NULL};
  run(ab, 0, &r);
  rs_proc_result_free(&r);
  cr_assert_null(lock_names(NULL), "the aborted rollout's lock is released");
  /* left behind naming it (final now): taken over, then released at done */
  seed_lock("20261206-080000-eeee", "halted", "erin");
  rollout(0, &r);
  cr_assert(strstr(r.out, "note: the rollout lock (Lease " NS "/rsw-rollout) still named rollout "
                          "20261206-080000-eeee, which is aborted: taken over"), "%s", r.out);
  rs_proc_result_free(&r);
  cr_assert_null(lock_names(NULL), "released once the rollout is done");
  cr_assert_eq(lock_writes(), 1, "taken over by one write at the resourceVersion read");
}

static void up_slow(void) { up("slow"); }

static bool node_phase_is(const char *phase) {
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  json_auto_t *n = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_kube_get(c, "/api/v1/nodes/node-1", &n, &e) < 0) return rs_err_clear(&e), false;
  const char *st = json_string_value(json_object_get(json_object_get(json_object_get(n, "metadata"), "annotations"),
                                                     "runtime-switch.kubectl.dev/state"));
  return st && strstr(st, phase);
}

/* Ctrl-C while node-1 switches: the switch stops at a safe point, the
 * record says paused (node-1 still running), exit 130; the same command
 * then finishes it. */
Test(rollout_run, ctrl_c_pauses, .init = up_slow, .fini = down) {
  const char *plugin = getenv("RS_TEST_PLUGIN");
  cr_assert(plugin);
  char env[160];
  snprintf(env, sizeof env, "KUBECONFIG=%s", kc);
  char *const envp[] = {env, "PATH=/usr/bin:/bin", "HOME=/nonexistent", NULL};
  char *const argv[] = {(char *)plugin, "node", "node-1", "--to", "containerd", "--canary", "1", "--yes",
                        "--skip-preflight", NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  cr_assert_eq(posix_spawn(&pid, plugin, &fa, NULL, argv, envp), 0);
  posix_spawn_file_actions_destroy(&fa);
  for (int i = 0; i < 300 && !node_phase_is("launched"); i++) usleep(20000);
  cr_assert(node_phase_is("launched"), "the switch never launched");
  kill(pid, SIGINT);
  int st;
  waitpid(pid, &st, 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 130, "exit %d", WEXITSTATUS(st));
  struct rs_ror_record rec;
  one_record(&rec);
  cr_assert_eq(rec.state, RS_ROR_PAUSED);
  cr_assert_eq(rec.nodes[0].state, RS_ROR_NODE_RUNNING);
  /* paused, the rollout keeps its lock for its resume */
  _cleanup_free_ char *holder = NULL;
  _cleanup_free_ char *held = lock_names(&holder);
  cr_assert(held && strcmp(held, rec.id) == 0, "the lock names %s", held ? held : "nothing");
  _cleanup_free_ char *want = rs_strdup_printf("user-t (rollout %s)", rec.id);
  cr_assert_str_eq(holder, want);
  /* no plugin drives it now: a resume from anywhere may take it at once */
  json_auto_t *lr = lock_record();
  cr_assert(json_is_false(json_object_get(lr, "active")) && json_integer_value(json_object_get(lr, "pid")) == pid,
            "the lock's record: %s", lr ? json_dumps(lr, JSON_COMPACT) : "none");
  rs_ror_record_clear(&rec);
  struct rs_proc_result r = {0};
  rollout(0, &r);
  cr_assert(strstr(r.out, "Resuming rollout"), "%s", r.out);
  rs_proc_result_free(&r);
  one_record(&rec);
  cr_assert_eq(rec.state, RS_ROR_DONE);
  rs_ror_record_clear(&rec);
  cr_assert_null(lock_names(NULL), "released once the rollout is done");
}

/* The lock of rollout id (whose record exists) as another plugin left it:
 * its record says active, from host and pid, renewed secs_ago. */
static void plant_live_lock(const char *id, const char *host, long pid, long secs_ago) {
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  rs_err_t e = RS_ERR_INIT;
  rs_kube_delete(c, "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases/" RS_ROLLOUT_LOCK, NULL, NULL, &e);
  rs_err_clear(&e);
  _cleanup_free_ char *holder = rs_strdup_printf("user-t (rollout %s)", id);
  _cleanup_free_ char *rec = rs_strdup_printf("{\"active\":true,\"host\":\"%s\",\"pid\":%ld,\"rollout\":\"%s\","
                                              "\"user\":\"user-t\"}", host, pid, id);
  _cleanup_(rs_lease_clear) struct rs_lease l = {0};
  cr_assert_eq(rs_lease_take(c, NS, RS_ROLLOUT_LOCK, holder, rec, NULL, &l, &e), 0, "%s", e.msg);
  char when[32];
  time_t t = time(NULL) - secs_ago;
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000000Z", gmtime(&t));
  json_t *obj = json_deep_copy(l.obj);
  json_object_set_new(json_object_get(obj, "spec"), "renewTime", json_string(when));
  cr_assert_eq(rs_kube_put(c, "/apis/coordination.k8s.io/v1/namespaces/" NS "/leases/" RS_ROLLOUT_LOCK, obj, NULL,
                           &e), 0, "%s", e.msg);
  json_decref(obj);
}

/* The lock's record annotation, parsed (NULL: no lock). */
static json_t *lock_record(void) {
  _cleanup_kube_client_ rs_kube_client_t *c = client();
  _cleanup_(rs_lease_clear) struct rs_lease l = {0};
  bool found = false;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_lease_read(c, NS, RS_ROLLOUT_LOCK, &l, &found, &e), 0, "%s", e.msg);
  return found && l.record ? json_loads(l.record, 0, NULL) : NULL;
}

/* One plugin drives a rollout: the same command while another plugin
 * runs it (its lock active, renewed just now, from another host) is
 * refused naming host and pid, nothing changed; one not renewed for
 * longer than RS_ROLLOUT_LOCK_LIVE_S, or from this host by a process that
 * is gone, is resumed; the lock says active while it runs (pid, host) and
 * is released at done. */
Test(rollout_run, one_plugin_drives_a_rollout, .init = up_ok, .fini = down) {
  const char *id = "20261206-090000-abcd";
  seed_record(id, true, "user-t");
  plant_live_lock(id, "elsewhere", 4242, 2);
  struct rs_proc_result r = {0};
  rollout(3, &r);
  cr_assert(strstr(r.errout, "rollout 20261206-090000-abcd is running now: its lock (Lease " NS "/rsw-rollout) is "
                             "held by user-t (rollout 20261206-090000-abcd) on elsewhere (pid 4242), renewed"),
            "%s", r.errout);
  cr_assert(strstr(r.errout, "run this again after 45 s"), "%s", r.errout);
  rs_proc_result_free(&r);
  cr_assert(!node_unschedulable(), "nothing changed");
  struct rs_ror_record rec;
  one_record(&rec);
  cr_assert_eq(rec.state, RS_ROR_PAUSED, "the record untouched");
  rs_ror_record_clear(&rec);
  /* this host, a process that is gone: at once */
  char host[256];
  rs_rollout_me_host(host, sizeof host);
  pid_t gone = fork();
  if (gone == 0) _exit(0);
  waitpid(gone, NULL, 0);
  plant_live_lock(id, host, gone, 2);
  rollout(0, &r);
  cr_assert(strstr(r.out, "Resuming rollout 20261206-090000-abcd"), "%s", r.out);
  rs_proc_result_free(&r);
  cr_assert_null(lock_names(NULL), "released at done");
  /* another host, not renewed for a minute: gone too */
  const char *id2 = "20261206-091500-abce";
  seed_record(id2, true, "user-t");
  plant_live_lock(id2, "elsewhere", 4242, 60);
  rollout(0, &r);
  cr_assert(strstr(r.out, "Resuming rollout 20261206-091500-abce"), "%s", r.out);
  rs_proc_result_free(&r);
  cr_assert_null(lock_names(NULL), "released at done");
  cr_assert_eq(lock_writes(), 5, "the three planted locks and the two takes over, each one write");
}

/* Node-3 added, its pods in a crash loop once it runs containerd: each list
 * of them finds their containers restarted once more (the fake's
 * --crashloop), so the soak's two reads differ however short it is. */
static void up_crashloop(void) {
  const char *x[] = {"--nodes", "node-3", "--crashloop", "node-3", NULL};
  up_with("ok", x);
}

/* --soak: batch 1 (node-1, no restart during its soak) goes on to batch 2
 * (node-3), whose DaemonSet pod's container restarts during the soak: the
 * soak's gate fails and the rollout halts, both nodes switched; the
 * events, the summary and the record say so, and the halted rollout keeps
 * its lock. */
Test(rollout_run, a_restart_in_the_soak_halts_it, .init = up_crashloop, .fini = down) {
  const char *a[] = {"node", "node-1", "node-3", "--to", "containerd", "--canary", "1", "--yes", "--soak", "100ms",
                     "-o", "json", NULL};
  struct rs_proc_result r = {0};
  run(a, 1, &r);
  cr_assert(strstr(r.errout, "halted: soak: demo/agent-node-3/c restarted 1 time(s)"), "%s", r.errout);
  cr_assert_eq(no_nulls(r.out, "gate"), 2, "the two soaks, the batches' own gates: %s", r.out);
  /* the soaks' gates, batch by batch, and what ran after the first */
  rs_buf_t soaks = RS_BUF_INIT(1 << 16);
  bool batch2 = false, node3 = false;
  json_t *last = NULL;
  char *save = NULL;
  for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    json_decref(last);
    last = json_loads(line, 0, NULL);
    const char *type = json_string_value(json_object_get(last, "type"));
    const char *node = json_string_value(json_object_get(last, "node"));
    long batch = (long)json_integer_value(json_object_get(last, "batch"));
    if (type && strcmp(type, "gate") == 0 && !node)
      rs_buf_printf(&soaks, NULL, "%ld %s %s; ", batch, json_is_true(json_object_get(last, "passed")) ? "passed" : "failed",
                    json_string_value(json_object_get(last, "message")));
    batch2 |= type && strcmp(type, "batch") == 0 && batch == 2;
    node3 |= type && strcmp(type, "node-end") == 0 && node && strcmp(node, "node-3") == 0 &&
             strcmp(json_string_value(json_object_get(last, "outcome")), "switched") == 0;
  }
  cr_assert_str_eq(soaks.data, "1 passed soak: no container restarted; "
                               "2 failed soak: demo/agent-node-3/c restarted 1 time(s); ");
  cr_assert(batch2 && node3, "batch 2 ran after batch 1's soak: %s", r.out);
  cr_assert_str_eq(json_string_value(json_object_get(last, "kind")), "RolloutSummary");
  cr_assert_str_eq(json_string_value(json_object_get(last, "state")), "halted");
  cr_assert_str_eq(json_string_value(json_object_get(last, "halted")), "soak: demo/agent-node-3/c restarted 1 time(s)");
  cr_assert_eq(json_integer_value(json_object_get(last, "failed")), 0);
  json_decref(last);
  rs_buf_free(&soaks);
  rs_proc_result_free(&r);
  struct rs_ror_record rec;
  one_record(&rec);
  cr_assert_eq(rec.state, RS_ROR_HALTED);
  cr_assert_eq(rec.nnodes, 2);
  cr_assert(rec.nodes[0].state == RS_ROR_NODE_DONE && rec.nodes[1].state == RS_ROR_NODE_DONE);
  /* the record says why, and so does `rollout status` from any machine */
  cr_assert_str_eq(rec.reason, "soak: demo/agent-node-3/c restarted 1 time(s)");
  const char *st[] = {"rollout", "status", rec.id, NULL};
  run(st, 0, &r);
  cr_assert(strstr(r.out, "Halted: soak: demo/agent-node-3/c restarted 1 time(s)\n"), "%s", r.out);
  rs_proc_result_free(&r);
  _cleanup_free_ char *held = lock_names(NULL);
  cr_assert(held && strcmp(held, rec.id) == 0, "the lock names %s", held ? held : "nothing");
  rs_ror_record_clear(&rec);
}
