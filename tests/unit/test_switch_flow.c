/* ops/switch: the whole phase machine against a fake API server that plays
 * one node (tests/fakes/switch_fakeapi.py): the happy path, a switch
 * the helper rolled back, refusals (blockers, Pod Security, kubectl drain's
 * filters, already there), the priority-class fallback, the verify image
 * fallback, and a rerun that resumes from the node's record. */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "ops/carrier.h"
#include "ops/deliver.h"
#include "ops/helper_blob.h"
#include "ops/nodes.h"
#include "ops/switch.h"
#include "ops/switch_record.h"

struct fake {
  pid_t pid;
  char dir[64];
  char kubeconfig[128];
};

static void fake_start_swap(struct fake *f, const char *scenario, const char *swap, int nth);
static void fake_start(struct fake *f, const char *scenario) { fake_start_swap(f, scenario, NULL, 1); }

/* The fake, playing an attacker who swaps the carrier on the first
 * request that matches swap (see switch_fakeapi.py). */
static void fake_start_swap(struct fake *f, const char *scenario, const char *swap, int nth) {
  snprintf(f->dir, sizeof f->dir, "/tmp/rs-switch-flow-%d-XXXXXX", (int)getpid());
  cr_assert(mkdtemp(f->dir));
  const char *data = getenv("RS_TEST_DATA");
  char script[PATH_MAX];
  if (data) snprintf(script, sizeof script, "%s/../fakes/switch_fakeapi.py", data);
  else snprintf(script, sizeof script, "tests/fakes/switch_fakeapi.py");
  char portfile[128];
  snprintf(portfile, sizeof portfile, "%s/port", f->dir);
  f->pid = fork();
  cr_assert(f->pid >= 0);
  if (f->pid == 0) {
    char n[16];
    snprintf(n, sizeof n, "%d", nth);
    execlp("python3", "python3", script, "--port-file", portfile, "--scenario", scenario, "--lifetime", "90",
           "--swap", swap ? swap : "", "--swap-nth", n, (char *)NULL);
    _exit(127);
  }
  char *port = NULL;
  for (int i = 0; i < 300 && rs_read_file(portfile, 32, &port, NULL, NULL) < 0; i++) usleep(20000);
  cr_assert_not_null(port, "the fake API server did not start");
  snprintf(f->kubeconfig, sizeof f->kubeconfig, "%s/kubeconfig", f->dir);
  _cleanup_free_ char *kc = rs_strdup_printf(
      "apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: c\n  cluster:\n"
      "    server: http://127.0.0.1:%s\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n"
      "- name: t\n  context: {cluster: c, user: u}\n", port);
  free(port);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_write_file_atomic(f->kubeconfig, kc, strlen(kc), 0600, &e), 0);
}

static void fake_stop(struct fake *f) {
  if (f->pid > 0) {
    kill(f->pid, SIGTERM);
    waitpid(f->pid, NULL, 0);
  }
  char p[160];
  snprintf(p, sizeof p, "%s/port", f->dir);
  unlink(p);
  unlink(f->kubeconfig);
  rmdir(f->dir);
}

static rs_kube_client_t *client(struct fake *f) {
  struct rs_kube_overrides ov = RS_KUBE_OVERRIDES_INIT;
  ov.kubeconfig = f->kubeconfig;
  _cleanup_kube_config_ rs_kube_config_t *cfg = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_config_resolve(&ov, NULL, &cfg, &e), 0, "%s", e.msg);
  rs_kube_client_t *c = NULL;
  struct rs_kube_client_opts o = {.max_retries = -1};
  cr_assert_eq(rs_kube_client_new(cfg, &o, &c, &e), 0, "%s", e.msg);
  return c;
}

/* Every event as one line: "phase:status" for phases, "info", "warn:MSG". */
struct rec {
  rs_buf_t lines;
};

static void on_event(void *ud, const struct rs_sw_event *ev) {
  struct rec *r = ud;
  if (ev->type == RS_SW_EV_PHASE)
    rs_buf_printf(&r->lines, NULL, "%s:%s\n", rs_sw_phase_name(ev->phase), rs_sw_status_name(ev->status));
  else if (ev->type == RS_SW_EV_WARNING)
    rs_buf_printf(&r->lines, NULL, "warn:%s\n", ev->message ? ev->message : "");
}

static struct rs_switch_opts opts(struct rec *r) {
  struct rs_switch_opts o = {.op = RS_OP_SWITCH, .node = "node-1", .to = "containerd", .yes = true,
                             .node_timeout_ms = 30000, .pod_start_timeout_ms = 20000, .on_event = on_event,
                             .ud = r};
  struct rs_drain_opts d = RS_DRAIN_OPTS_INIT;
  o.drain = d;
  return o;
}

static json_t *get(rs_kube_client_t *c, const char *path) {
  json_t *j = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_get(c, path, &j, &e), 0, "%s: %s", path, e.msg);
  return j;
}

static const char *node_ann(const json_t *node, const char *key) {
  return json_string_value(json_object_get(json_object_get(json_object_get(node, "metadata"), "annotations"), key));
}

/* How many objects of ours the fake still holds. */
static size_t ours_left(rs_kube_client_t *c) {
  json_auto_t *store = get(c, "/test/store");
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(store, k, v) {
    if (strncmp(k, "namespaces/", 11) == 0) continue; /* the working namespace stays */
    const char *m = json_string_value(json_object_get(
        json_object_get(json_object_get(v, "metadata"), "labels"), RS_LABEL_MANAGED_BY));
    if (m && strcmp(m, RS_MANAGED_BY) == 0) n++;
  }
  return n;
}

Test(switch_flow, switches_and_cleans_up, .timeout = 60) {
  struct fake f;
  fake_start(&f, "ok");
  rs_kube_client_t *c = client(&f);
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  struct rs_switch_result res;
  rs_err_t e = RS_ERR_INIT;
  int rc = rs_switch_run(c, &o, &res, &e);
  cr_assert_eq(rc, 0, "%s\nevents:\n%s", e.msg ? e.msg : "", r.lines.data);
  cr_assert_eq(res.outcome, RS_SW_OK);
  cr_assert_str_eq(res.runtime_before, "docker://20.10.24");
  cr_assert_str_eq(res.runtime_after, "containerd://1.6.20");
  cr_assert_str_eq(res.from, "cri-dockerd");
  cr_assert(res.uncordoned);
  cr_assert_geq(res.notready_ms, 0, "the NotReady window is measured");
  cr_assert_geq(res.kubelet_down_ms, 0);
  static const char *const want =
      "check:done\ndeliver:done\npreflight:done\nplan:done\nconfirm:skipped\ncordon:done\ndrain:done\n"
      "launch:done\nrestart:done\nverify:done\nannotate:done\nuncordon:done\ncleanup:done\n";
  cr_assert_str_eq(r.lines.data, want);
  json_auto_t *node = get(c, "/api/v1/nodes/node-1");
  cr_assert_null(json_object_get(json_object_get(node, "spec"), "unschedulable"));
  cr_assert_str_eq(node_ann(node, RS_ANN_CRI_SOCKET), rs_runtimes[RS_RT_CONTAINERD].endpoint);
  _cleanup_free_ char *state = rs_strdup_printf("%s done", res.id);
  cr_assert_str_eq(node_ann(node, RS_HELPER_ANNOTATION_STATE), state);
  cr_assert_eq(ours_left(c), 0, "no Job, ConfigMap or pod left");
  /* the working namespace it created stays, with its Pod Security labels */
  json_auto_t *ns = get(c, "/api/v1/namespaces/" RS_DELIVER_DEFAULT_NS);
  json_t *labels = json_object_get(json_object_get(ns, "metadata"), "labels");
  cr_assert_str_eq(json_string_value(json_object_get(labels, "pod-security.kubernetes.io/enforce")), "privileged");
  cr_assert_str_eq(json_string_value(json_object_get(labels, RS_LABEL_MANAGED_BY)), RS_MANAGED_BY);
  /* a second run: already there */
  struct rec r2 = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o2 = opts(&r2);
  struct rs_switch_result res2;
  rs_err_t e2 = RS_ERR_INIT;
  cr_assert_eq(rs_switch_run(c, &o2, &res2, &e2), -1);
  cr_assert_eq(res2.outcome, RS_SW_REFUSED);
  cr_assert(strstr(e2.msg, "already runs containerd"), "%s", e2.msg);
  rs_err_clear(&e2);
  rs_switch_result_clear(&res2);
  rs_buf_free(&r2.lines);
  /* rollback node: of the last switch, by its record; then once more: refused */
  for (int i = 0; i < 2; i++) {
    r2 = (struct rec){RS_BUF_INIT(1 << 20)};
    o2 = opts(&r2);
    o2.op = RS_OP_ROLLBACK;
    o2.to = NULL;
    int rc2 = rs_switch_run(c, &o2, &res2, &e2);
    if (i == 0) {
      cr_assert_eq(rc2, 0, "%s\n%s", e2.msg, r2.lines.data);
      cr_assert_str_eq(res2.id, res.id, "the last switch's run");
      cr_assert_str_eq(res2.runtime_after, "docker://20.10.24");
      json_auto_t *back = get(c, "/api/v1/nodes/node-1");
      _cleanup_free_ char *rstate = rs_strdup_printf("%s done", res.id);
      cr_assert_str_eq(node_ann(back, RS_HELPER_ANNOTATION_STATE), rstate);
      cr_assert(strstr(node_ann(back, RS_ANN_RUN), "\"op\":\"rollback\""), "%s", node_ann(back, RS_ANN_RUN));
      cr_assert_eq(ours_left(c), 0, "no Job, ConfigMap or lock left");
    } else {
      cr_assert_eq(rc2, -1);
      cr_assert(strstr(e2.msg, "was already rolled back"), "%s", e2.msg);
    }
    rs_err_clear(&e2);
    rs_switch_result_clear(&res2);
    rs_buf_free(&r2.lines);
  }
  rs_switch_result_clear(&res);
  rs_buf_free(&r.lines);
  rs_kube_client_free(c);
  fake_stop(&f);
}

Test(switch_flow, rolled_back_stays_cordoned, .timeout = 60) {
  struct fake f;
  fake_start(&f, "rolledback");
  rs_kube_client_t *c = client(&f);
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  struct rs_switch_result res;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_switch_run(c, &o, &res, &e), -1);
  cr_assert_eq(res.outcome, RS_SW_ROLLED_BACK, "%s", e.msg);
  cr_assert(strstr(e.msg, "failed and was rolled back: wait-runtime: containerd did not answer"), "%s", e.msg);
  cr_assert(res.hint && strstr(res.hint, "kubectl uncordon node-1"), "%s", res.hint ? res.hint : "(none)");
  cr_assert_str_eq(res.runtime_after, "docker://20.10.24");
  json_auto_t *node = get(c, "/api/v1/nodes/node-1");
  cr_assert(json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable")), "left cordoned");
  cr_assert_str_eq(node_ann(node, RS_ANN_CRI_SOCKET), "unix:///var/run/cri-dockerd.sock", "untouched");
  _cleanup_free_ char *state = rs_strdup_printf("%s rolled-back", res.id);
  cr_assert_str_eq(node_ann(node, RS_HELPER_ANNOTATION_STATE), state);
  cr_assert_eq(ours_left(c), 0);
  rs_err_clear(&e);
  rs_switch_result_clear(&res);
  rs_buf_free(&r.lines);
  rs_kube_client_free(c);
  fake_stop(&f);
}

struct refusal {
  const char *scenario;
  const char *needle;
  bool force;
};

static void refused(const struct refusal *k) {
  struct fake f;
  fake_start(&f, k->scenario);
  rs_kube_client_t *c = client(&f);
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  o.drain.force = k->force;
  struct rs_switch_result res;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_switch_run(c, &o, &res, &e), -1, "%s", r.lines.data);
  cr_assert_eq(res.outcome, RS_SW_REFUSED, "%s: %s", k->scenario, e.msg);
  cr_assert(strstr(e.msg, k->needle), "%s: %s", k->scenario, e.msg);
  json_auto_t *node = get(c, "/api/v1/nodes/node-1");
  cr_assert_null(json_object_get(json_object_get(node, "spec"), "unschedulable"), "%s: not cordoned", k->scenario);
  cr_assert_null(node_ann(node, RS_HELPER_ANNOTATION_STATE), "%s: no record", k->scenario);
  cr_assert_eq(ours_left(c), 0, "%s: nothing left", k->scenario);
  rs_err_clear(&e);
  rs_switch_result_clear(&res);
  rs_buf_free(&r.lines);
  rs_kube_client_free(c);
  fake_stop(&f);
}

Test(switch_flow, refuses_blockers, .timeout = 60) {
  refused(&(struct refusal){"blocked", "cri-o is not installed", false});
}

Test(switch_flow, refuses_pod_security, .timeout = 60) {
  refused(&(struct refusal){"psa", "pod-security.kubernetes.io/enforce=privileged", false});
}

Test(switch_flow, refuses_a_helper_that_is_not_ours, .timeout = 60) {
  refused(&(struct refusal){"integrity", "its own executable is not the plugin's helper", false});
}

Test(switch_flow, refuses_what_drain_refuses, .timeout = 60) {
  refused(&(struct refusal){"bare", "cannot delete Pods that declare no controller (use --force to override): demo/bare",
                            false});
}

/* rollback node finds the drain's blockers before its cordon (it had
 * cordoned and only then refused, leaving the node cordoned) */
Test(switch_flow, rollback_refuses_what_drain_refuses, .timeout = 60) {
  struct fake f;
  fake_start(&f, "bare");
  rs_kube_client_t *c = client(&f);
  rs_err_t e = RS_ERR_INIT;
  /* the node's mirror of a finished switch (no lock: the run is over) */
  json_auto_t *done = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "annotations", RS_HELPER_ANNOTATION_STATE,
                                "20260101-000000-abcd done", RS_ANN_RUN,
                                "{\"id\":\"20260101-000000-abcd\",\"op\":\"switch\",\"phase\":\"done\",\"from\":"
                                "\"docker\",\"to\":\"containerd\",\"namespace\":\"" RS_DELIVER_DEFAULT_NS "\","
                                "\"cordoned\":true,\"started\":1}");
  cr_assert_eq(rs_kube_patch(c, "/api/v1/nodes/node-1", RS_PATCH_MERGE, done, NULL, &e), 0, "%s", e.msg);
  json_auto_t *before = get(c, "/api/v1/nodes/node-1");
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  o.op = RS_OP_ROLLBACK;
  o.to = NULL;
  struct rs_switch_result res;
  cr_assert_eq(rs_switch_run(c, &o, &res, &e), -1, "%s", r.lines.data);
  cr_assert_eq(res.outcome, RS_SW_REFUSED, "%s", e.msg);
  cr_assert(strstr(e.msg, "cannot delete Pods that declare no controller (use --force to override): demo/bare"),
            "%s", e.msg);
  json_auto_t *node = get(c, "/api/v1/nodes/node-1");
  cr_assert_null(json_object_get(json_object_get(node, "spec"), "unschedulable"), "not cordoned");
  cr_assert_str_eq(node_ann(node, RS_ANN_RUN), node_ann(before, RS_ANN_RUN), "the record as it was");
  cr_assert_eq(ours_left(c), 0, "nothing left");
  rs_err_clear(&e);
  rs_switch_result_clear(&res);
  rs_buf_free(&r.lines);
  rs_kube_client_free(c);
  fake_stop(&f);
}

Test(switch_flow, priority_fallback_and_verify_image_fallback, .timeout = 60) {
  static const char *const scenarios[] = {"priority", "noimage"};
  for (size_t i = 0; i < RS_ARRAY_SIZE(scenarios); i++) {
    struct fake f;
    fake_start(&f, scenarios[i]);
    rs_kube_client_t *c = client(&f);
    struct rec r = {RS_BUF_INIT(1 << 20)};
    struct rs_switch_opts o = opts(&r);
    struct rs_switch_result res;
    rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_switch_run(c, &o, &res, &e), 0, "%s: %s\n%s", scenarios[i], e.msg, r.lines.data);
    if (i == 0) {
      cr_assert(strstr(r.lines.data, "warn:priorityClassName system-node-critical is not allowed"), "%s",
                r.lines.data);
      json_auto_t *reqs = get(c, "/test/requests");
      (void)reqs;
    } else {
      cr_assert(strstr(r.lines.data, "verifying with registry.k8s.io/pause:3.10"), "%s", r.lines.data);
    }
    rs_switch_result_clear(&res);
    rs_buf_free(&r.lines);
    rs_kube_client_free(c);
    fake_stop(&f);
  }
}

/* A first run (as `user`; NULL: who the API server says) that stops right
 * after the launch phase (it gives up at once while following the node);
 * its run id. */
static char *run_stopped_after_launch(rs_kube_client_t *c, const char *user) {
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  o.user = user;
  struct rs_switch_result res;
  rs_err_t e = RS_ERR_INIT;
  o.node_timeout_ms = 1;
  cr_assert_eq(rs_switch_run(c, &o, &res, &e), -1);
  cr_assert(strstr(r.lines.data, "launch:done"), "%s", r.lines.data);
  cr_assert(res.hint && strstr(res.hint, "rerun the same command"), "%s", res.hint ? res.hint : "(none)");
  char *id = strdup(res.id);
  cr_assert_not_null(id);
  rs_err_clear(&e);
  rs_switch_result_clear(&res);
  rs_buf_free(&r.lines);
  return id;
}

/* The same command again: it resumes run `id`, skips what was done and
 * completes. */
static void rerun_resumes(rs_kube_client_t *c, const char *id) {
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  struct rs_switch_result res;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_switch_run(c, &o, &res, &e), 0, "%s\n%s", e.msg, r.lines.data);
  cr_assert(res.resumed);
  cr_assert_str_eq(res.id, id, "the same run");
  static const char *const want =
      "check:done\ndeliver:done\npreflight:resumed\nplan:resumed\nconfirm:resumed\ncordon:done\ndrain:resumed\n"
      "launch:resumed\nrestart:done\nverify:done\nannotate:done\nuncordon:done\ncleanup:done\n";
  cr_assert_str_eq(r.lines.data, want);
  rs_switch_result_clear(&res);
  rs_buf_free(&r.lines);
}

/* Job creations the fake saw from request number `from` on. */
static size_t jobs_created(rs_kube_client_t *c, size_t from) {
  json_auto_t *reqs = get(c, "/test/requests");
  size_t n = 0, i;
  json_t *x;
  json_array_foreach(json_object_get(reqs, "requests"), i, x) {
    const char *s = json_string_value(x);
    if (i >= from && s && rs_startswith(s, "POST /apis/batch/v1/namespaces/" RS_DELIVER_DEFAULT_NS "/jobs")) n++;
  }
  return n;
}

/* The plugin killed after the launch: the node's record says "launched";
 * a rerun skips what was done and completes. */
Test(switch_flow, resumes_from_the_record, .timeout = 60) {
  struct fake f;
  fake_start(&f, "ok");
  rs_kube_client_t *c = client(&f);
  _cleanup_free_ char *id = run_stopped_after_launch(c, NULL);
  json_auto_t *node = get(c, "/api/v1/nodes/node-1");
  _cleanup_free_ char *state = rs_strdup_printf("%s launched", id);
  cr_assert_str_eq(node_ann(node, RS_HELPER_ANNOTATION_STATE), state);
  cr_assert(json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable")));
  rerun_resumes(c, id);
  /* preflight + switch + verify (first run), verify exists on the rerun */
  size_t launches = jobs_created(c, 0);
  cr_assert_leq(launches, 5, "%zu Job creations", launches);
  json_auto_t *after = get(c, "/api/v1/nodes/node-1");
  cr_assert_null(json_object_get(json_object_get(after, "spec"), "unschedulable"));
  cr_assert_eq(ours_left(c), 0);
  rs_kube_client_free(c);
  fake_stop(&f);
}

/* Killed after the API server created the launch Job but before the record
 * said "launched" (the answer to the POST never came): the rerun finds the
 * Job and follows it, without a second preflight or launch. */
Test(switch_flow, resumes_a_launch_it_never_recorded, .timeout = 60) {
  struct fake f;
  fake_start(&f, "ok");
  rs_kube_client_t *c = client(&f);
  _cleanup_free_ char *id = run_stopped_after_launch(c, NULL);
  /* the record as it was before the launch's answer */
  _cleanup_free_ char *state = rs_strdup_printf("%s drained", id);
  json_auto_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", RS_HELPER_ANNOTATION_STATE, state);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_patch(c, "/api/v1/nodes/node-1", RS_PATCH_MERGE, patch, NULL, &e), 0, "%s", e.msg);
  json_auto_t *before = get(c, "/test/requests");
  size_t seen = json_array_size(json_object_get(before, "requests"));
  rerun_resumes(c, id);
  /* at most the verify Job again (it exists: AlreadyExists), never a preflight or launch */
  size_t jobs = jobs_created(c, seen);
  cr_assert_leq(jobs, 1, "the rerun created %zu Jobs", jobs);
  cr_assert_eq(ours_left(c), 0);
  rs_kube_client_free(c);
  fake_stop(&f);
}

/* ---- the carrier (ops/carrier.h) against the fake ---- */

/* A fake (scenario ok) and a client of it; end() stops both. */
static rs_kube_client_t *begin(struct fake *f) {
  fake_start(f, "ok");
  return client(f);
}
static void end(struct fake *f, rs_kube_client_t *c) {
  rs_kube_client_free(c);
  fake_stop(f);
}

static struct rs_carrier carrier(void) {
  struct rs_carrier car;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_carrier_init(&car, RS_DELIVER_DEFAULT_NS, false, rs_helper_blob_for("amd64"), &e), 0);
  return car;
}

static json_t *carrier_obj(rs_kube_client_t *c, const struct rs_carrier *car) {
  _cleanup_free_ char *p = rs_strdup_printf("/api/v1/namespaces/%s/configmaps/%s", car->ns, car->name);
  json_t *j = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_kube_get(c, p, &j, &e) < 0) rs_err_clear(&e);
  return j;
}

/* The carrier's lifetime: two runs share it and the last to release it
 * deletes it; a killed run's reference (and a DELETE that only marked it)
 * is dropped by the next run on the node, which lets it go; one marked for
 * deletion and used by nobody else is let go and made again. */
Test(switch_flow, carrier_shared_released_and_let_go, .timeout = 60) {
  struct fake f;
  rs_kube_client_t *c = begin(&f);
  struct rs_carrier a = carrier(), b = carrier(), now = carrier();
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_carrier_acquire(c, &a, "run-a", "node-1", &e), 0, "%s", e.msg);
  cr_assert_eq(rs_carrier_acquire(c, &b, "run-b", "node-2", &e), 0, "%s", e.msg);
  cr_assert_str_eq(a.uid, b.uid, "joined, not made twice");
  json_auto_t *o = carrier_obj(c, &a);
  json_t *ann = json_object_get(json_object_get(o, "metadata"), "annotations");
  cr_assert_str_eq(json_string_value(json_object_get(ann, RS_CARRIER_REF_PREFIX "run-a")), "node-1");
  cr_assert_str_eq(json_string_value(json_object_get(ann, RS_CARRIER_REF_PREFIX "run-b")), "node-2");
  cr_assert_eq(json_array_size(json_object_get(json_object_get(o, "metadata"), "finalizers")), 1);
  cr_assert_eq(rs_carrier_verify(c, &a, &e), 0, "%s", e.msg);
  bool gone = true;
  cr_assert_eq(rs_carrier_release(c, &a, "run-a", &gone, &e), 0, "%s", e.msg);
  cr_assert_not(gone, "run-b still uses it");
  /* run-b is killed; someone DELETEs the carrier: only marked */
  _cleanup_free_ char *p = rs_strdup_printf("/api/v1/namespaces/%s/configmaps/%s", b.ns, b.name);
  cr_assert_eq(rs_kube_delete(c, p, NULL, NULL, &e), 0, "%s", e.msg);
  json_auto_t *marked = carrier_obj(c, &b);
  cr_assert_not_null(json_object_get(json_object_get(marked, "metadata"), "deletionTimestamp"), "the finalizer keeps it");
  int n = 0;
  cr_assert_eq(rs_carrier_release_stale(c, RS_DELIVER_DEFAULT_NS, "node-1", "next", &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 0, "node-1's runs left no reference");
  cr_assert_eq(rs_carrier_release_stale(c, RS_DELIVER_DEFAULT_NS, "node-2", "next", &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 1, "run-b's");
  json_auto_t *after = carrier_obj(c, &a);
  cr_assert_null(after, "deleted, finalizer and all");
  cr_assert_eq(rs_carrier_acquire(c, &now, "next", "node-2", &e), 0, "%s", e.msg);
  cr_assert_str_neq(now.uid, a.uid);
  /* marked for deletion, used by no other run: let go and made again */
  cr_assert_eq(rs_kube_delete(c, p, NULL, NULL, &e), 0, "%s", e.msg);
  _cleanup_free_ char *was = strdup(now.uid);
  cr_assert_eq(rs_carrier_acquire(c, &now, "next", "node-2", &e), 0, "%s", e.msg);
  cr_assert_str_neq(now.uid, was);
  cr_assert_eq(rs_carrier_verify(c, &now, &e), 0, "%s", e.msg);
  cr_assert_eq(rs_carrier_verify(c, &a, &e), -1, "the first object's UID is not the one there");
  cr_assert_eq(a.trip, RS_CARRIER_REPLACED);
  rs_err_clear(&e);
  rs_carrier_clear(&a);
  rs_carrier_clear(&b);
  rs_carrier_clear(&now);
  end(&f, c);
}

/* No helper pod was started from a carrier the fake's attacker made. */
static void nothing_ran_from_swapped(rs_kube_client_t *c) {
  json_auto_t *st = get(c, "/test/started");
  size_t i, j;
  json_t *p, *u;
  json_array_foreach(json_object_get(st, "started"), i, p) {
    const char *cu = json_string_value(json_object_get(p, "carrier"));
    json_array_foreach(json_object_get(st, "swapped"), j, u)
      cr_assert(!cu || strcmp(cu, json_string_value(u)) != 0, "pod %s was started from the swapped carrier",
                json_string_value(json_object_get(p, "pod")));
  }
  cr_assert_gt(json_array_size(json_object_get(st, "swapped")), 0, "the attacker did swap it");
}

/* A ConfigMap under the carrier's name with other bytes: refused, neither
 * used nor deleted. */
Test(switch_flow, carrier_with_other_bytes_is_refused, .timeout = 60) {
  struct fake f;
  rs_kube_client_t *c = begin(&f);
  struct rs_carrier car = carrier();
  _cleanup_free_ char *coll = rs_strdup_printf("/api/v1/namespaces/%s/configmaps", car.ns);
  json_auto_t *foreign = json_pack("{s:s, s:s, s:{s:s}, s:b, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                                   "metadata", "name", car.name, "immutable", 1, "binaryData", RS_DELIVER_FILE,
                                   "f0VMRiBub3QgdGhlIGhlbHBlcg==");
  json_auto_t *made = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_post(c, coll, foreign, &made, &e), 0, "%s", e.msg);
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  struct rs_switch_result res;
  cr_assert_eq(rs_switch_run(c, &o, &res, &e), -1);
  cr_assert_eq(res.outcome, RS_SW_REFUSED, "%s", e.msg);
  cr_assert(strstr(e.msg, "not made by this plugin, or was tampered with; it is neither used nor deleted"), "%s",
            e.msg);
  json_auto_t *still = carrier_obj(c, &car);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(still, "metadata"), "uid")),
                   json_string_value(json_object_get(json_object_get(made, "metadata"), "uid")), "left alone");
  json_auto_t *st = get(c, "/test/started");
  cr_assert_eq(json_array_size(json_object_get(st, "started")), 0, "no helper pod at all");
  json_auto_t *node = get(c, "/api/v1/nodes/node-1");
  cr_assert_null(json_object_get(json_object_get(node, "spec"), "unschedulable"));
  rs_err_clear(&e);
  rs_switch_result_clear(&res);
  rs_buf_free(&r.lines);
  rs_carrier_clear(&car);
  end(&f, c);
}

struct swap_case {
  const char *trigger;  /* the request before which the attacker swaps */
  int nth;              /* its n-th match (0: the first) */
  int outcome;
  bool cordoned;        /* the node stays cordoned */
  const char *hint;     /* in the hint, or NULL */
};

static void swapped(const struct swap_case *k) {
  struct fake f;
  fake_start_swap(&f, "ok", k->trigger, k->nth ? k->nth : 1);
  rs_kube_client_t *c = client(&f);
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  struct rs_switch_result res;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_switch_run(c, &o, &res, &e), -1, "%s: switched\n%s", k->trigger, r.lines.data);
  cr_assert_eq(res.outcome, k->outcome, "%s: outcome %d: %s", k->trigger, res.outcome, e.msg);
  cr_assert(strstr(e.msg, "refusing to run it as root"), "%s: %s", k->trigger, e.msg);
  if (k->outcome == RS_SW_NEEDS_HUMAN) {
    /* the race the design leaves open: seen and said, not silent */
    cr_assert(res.hint && strstr(res.hint, "treat it as compromised"), "%s", res.hint ? res.hint : "-");
  } else {
    nothing_ran_from_swapped(c);
  }
  json_auto_t *jobs = get(c, "/apis/batch/v1/namespaces/" RS_DELIVER_DEFAULT_NS "/jobs");
  cr_assert_eq(json_array_size(json_object_get(jobs, "items")), 0, "%s: the run's Jobs were deleted", k->trigger);
  json_auto_t *node = get(c, "/api/v1/nodes/node-1");
  cr_assert_eq(json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable")), k->cordoned,
               "%s", k->trigger);
  if (k->hint) cr_assert(res.hint && strstr(res.hint, k->hint), "%s: %s", k->trigger, res.hint ? res.hint : "-");
  rs_err_clear(&e);
  rs_switch_result_clear(&res);
  rs_buf_free(&r.lines);
  end(&f, c);
}

/* Swapped after delivery, before the launch Job: refused before it, the
 * node given back. */
Test(switch_flow, carrier_swapped_before_launch, .timeout = 60) {
  swapped(&(struct swap_case){"^PATCH /api/v1/nodes/node-1", 0, RS_SW_REFUSED, false, NULL});
}

/* Swapped after the launch, before the verify Job: the node switched, its
 * proof refused; a rerun verifies once the object is removed. */
Test(switch_flow, carrier_swapped_before_verify, .timeout = 60) {
  swapped(&(struct swap_case){"^GET .*-switch-p[0-9]+/log", 0, RS_SW_ERROR, true, "rerun the same command"});
}

/* Swapped while a Job exists, suspended (between the check and the Job's
 * creation, seen by the watch or the read after it): the Job is deleted
 * before any pod; preflight (1st Job), launch (2nd), verify (3rd). */
#define JOB_POST "^POST /apis/batch/v1/namespaces/[^/]+/jobs"
Test(switch_flow, carrier_swapped_at_the_preflight_job, .timeout = 60) {
  swapped(&(struct swap_case){JOB_POST, 1, RS_SW_REFUSED, false, NULL});
}
Test(switch_flow, carrier_swapped_at_the_launch_job, .timeout = 60) {
  swapped(&(struct swap_case){JOB_POST, 2, RS_SW_REFUSED, false, NULL});
}
Test(switch_flow, carrier_swapped_at_the_verify_job, .timeout = 60) {
  swapped(&(struct swap_case){JOB_POST, 3, RS_SW_ERROR, true, "rerun the same command"});
}

/* Swapped at the very moment the Job is let start: its pod may read the
 * other bytes (the race left open).  It is seen, the pod deleted, and the
 * run ends saying the node may have run them. */
Test(switch_flow, carrier_swapped_as_the_pod_starts, .timeout = 60) {
  swapped(&(struct swap_case){"^PATCH /apis/batch/v1/namespaces/[^/]+/jobs/", 1, RS_SW_NEEDS_HUMAN, false, NULL});
}

/* A pod that wears our label is drained like any other (the drain skips
 * only the pods of the run's own Jobs, by UID). */
Test(switch_flow, our_label_does_not_exempt_a_pod, .timeout = 60) {
  struct fake f;
  rs_kube_client_t *c = begin(&f);
  json_auto_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:s}]}, s:{s:s}}", "apiVersion",
                               "v1", "kind", "Pod", "metadata", "name", "disguised", "namespace", "demo", "labels",
                               RS_LABEL_MANAGED_BY, RS_MANAGED_BY, "spec", "nodeName", "node-1", "containers",
                               "name", "c", "image", "localhost/busybox:1", "status", "phase", "Running");
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_post(c, "/api/v1/namespaces/demo/pods", pod, NULL, &e), 0, "%s", e.msg);
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  o.drain.force = true;
  o.node_timeout_ms = 15000;
  o.drain.timeout_ms = 10000;
  struct rs_switch_result res;
  int rc = rs_switch_run(c, &o, &res, &e);
  json_auto_t *reqs = get(c, "/test/requests");
  _cleanup_free_ char *rt = json_dumps(reqs, JSON_INDENT(1));
  cr_assert_eq(rc, 0, "%s\n%s\n%s", e.msg, r.lines.data, rt);
  json_auto_t *gone = NULL;
  cr_assert_eq(rs_kube_get(c, "/api/v1/namespaces/demo/pods/disguised", &gone, &e), -1, "it was evicted");
  cr_assert(rs_kube_is_not_found(&e));
  rs_err_clear(&e);
  rs_switch_result_clear(&res);
  rs_buf_free(&r.lines);
  end(&f, c);
}

/* ---- the node's lock ---- */

/* Forget a run's result, its error and its events. */
static void forget(struct rs_switch_result *res, rs_err_t *e, rs_buf_t *lines) {
  rs_err_clear(e);
  rs_switch_result_clear(res);
  rs_buf_free(lines);
}

/* A fake API server of one scenario and a client of it. */
struct session {
  struct fake f;
  rs_kube_client_t *c;
};
static rs_kube_client_t *session_start(struct session *x, const char *scenario) {
  fake_start(&x->f, scenario);
  return x->c = client(&x->f);
}
static void session_end(struct session *x) {
  rs_kube_client_free(x->c);
  fake_stop(&x->f);
}

/* One run of the switch as `user` (NULL: who the API server says: the
 * fake's "user-t"); its events in *lines (caller frees). */
static int run_as(rs_kube_client_t *c, const char *user, bool take_over, struct rs_switch_result *res,
                  rs_err_t *e, rs_buf_t *lines) {
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  o.user = user;
  o.take_over = take_over;
  int rc = rs_switch_run(c, &o, res, e);
  *lines = r.lines;
  return rc;
}

static json_t *node_lock(rs_kube_client_t *c) {
  json_t *j = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_kube_get(c, "/apis/coordination.k8s.io/v1/namespaces/" RS_DELIVER_DEFAULT_NS "/leases/rsw-node-node-1", &j, &e) < 0)
    cr_assert(rs_kube_is_not_found(&e), "%s", e.msg);
  rs_err_clear(&e);
  return j;
}

static void patch_node(rs_kube_client_t *c, json_t *patch) {
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_patch(c, "/api/v1/nodes/node-1", RS_PATCH_MERGE, patch, NULL, &e), 0, "%s", e.msg);
  json_decref(patch);
}

static bool has_lock(rs_kube_client_t *c) {
  json_auto_t *l = node_lock(c);
  return l != NULL;
}

/* The node's annotations say what they are told. */
static void set_mirror(rs_kube_client_t *c, const char *id, const char *phase) {
  _cleanup_free_ char *state = rs_strdup_printf("%s %s", id, phase);
  _cleanup_free_ char *run = rs_strdup_printf("{\"id\":\"%s\",\"op\":\"switch\",\"phase\":\"%s\",\"to\":\"containerd\","
                                              "\"cordoned\":true}", id, phase);
  patch_node(c, json_pack("{s:{s:{s:s, s:s}}}", "metadata", "annotations", RS_HELPER_ANNOTATION_STATE, state,
                          RS_ANN_RUN, run));
}

/* Set the lock's record phase as a run would have written it. */
static void set_lock_phase(rs_kube_client_t *c, const char *phase) {
  json_auto_t *l = node_lock(c);
  cr_assert_not_null(l);
  json_t *ann = json_object_get(json_object_get(l, "metadata"), "annotations");
  json_auto_t *rec = json_loads(json_string_value(json_object_get(ann, "runtime-switch.kubectl.dev/record")), 0, NULL);
  json_object_set_new(rec, "phase", json_string(phase));
  _cleanup_free_ char *txt = json_dumps(rec, JSON_COMPACT);
  json_object_set_new(ann, "runtime-switch.kubectl.dev/record", json_string(txt));
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_put(c, "/apis/coordination.k8s.io/v1/namespaces/" RS_DELIVER_DEFAULT_NS "/leases/rsw-node-node-1", l, NULL,
                           &e), 0, "%s", e.msg);
}

/* A lock as a run of `user` at `phase` left it (a run killed there). */
static void seed_lock(rs_kube_client_t *c, const char *id, const char *phase, const char *user) {
  _cleanup_free_ char *rec = rs_strdup_printf("{\"id\":\"%s\",\"op\":\"switch\",\"phase\":\"%s\",\"from\":"
                                              "\"cri-dockerd\",\"to\":\"containerd\",\"namespace\":\"" RS_DELIVER_DEFAULT_NS "\","
                                              "\"cordoned\":true,\"started\":1790000000,\"user\":\"%s\"}", id, phase, user);
  _cleanup_free_ char *holder = rs_strdup_printf("%s (run %s)", user, id);
  json_auto_t *l = json_pack("{s:s, s:s, s:{s:s, s:{s:s}, s:{s:s}}, s:{s:s}}", "apiVersion", "coordination.k8s.io/v1",
                             "kind", "Lease", "metadata", "name", "rsw-node-node-1", "labels", RS_LABEL_MANAGED_BY,
                             RS_MANAGED_BY, "annotations", "runtime-switch.kubectl.dev/record", rec, "spec",
                             "holderIdentity", holder);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_post(c, "/apis/coordination.k8s.io/v1/namespaces/" RS_DELIVER_DEFAULT_NS "/leases", l, NULL, &e), 0, "%s",
               e.msg);
}

static bool unschedulable(rs_kube_client_t *c) {
  json_auto_t *n = get(c, "/api/v1/nodes/node-1");
  return json_is_true(json_object_get(json_object_get(n, "spec"), "unschedulable"));
}


/* The lock names its holder and no expiry; a second operator is refused
 * with the holder's name and nothing is done; --take-over continues the
 * run and says whose it was; the lock is gone at the end. */
Test(switch_lock, another_holder_then_take_over, .timeout = 60) {
  struct session ses;
  rs_kube_client_t *c = session_start(&ses, "ok");
  _cleanup_free_ char *id = run_stopped_after_launch(c, "bob");
  json_auto_t *l = node_lock(c);
  cr_assert_not_null(l, "the run holds the node's lock");
  const json_t *spec = json_object_get(l, "spec");
  _cleanup_free_ char *holder = rs_strdup_printf("bob (run %s, pid %d on ", id, (int)getpid());
  cr_assert(rs_startswith(json_string_value(json_object_get(spec, "holderIdentity")), holder), "%s",
            json_string_value(json_object_get(spec, "holderIdentity")));
  cr_assert_null(json_object_get(spec, "leaseDurationSeconds"), "no expiry");
  json_auto_t *before = get(c, "/test/requests");
  size_t seen = json_array_size(json_object_get(before, "requests"));
  struct rs_switch_result res;
  rs_err_t e = RS_ERR_INIT;
  rs_buf_t lines;
  cr_assert_eq(run_as(c, NULL, false, &res, &e, &lines), -1);
  cr_assert_eq(res.outcome, RS_SW_REFUSED, "%s", e.msg);
  cr_assert(strstr(e.msg, holder) && strstr(e.msg, "phase launched") && strstr(e.msg, "--take-over"), "%s", e.msg);
  cr_assert_eq(jobs_created(c, seen), 0);
  cr_assert(unschedulable(c), "the holder's cordon stays");
  forget(&res, &e, &lines);
  cr_assert_eq(run_as(c, NULL, true, &res, &e, &lines), 0, "%s\n%s", e.msg, lines.data);
  cr_assert(res.resumed);
  cr_assert_str_eq(res.id, id);
  _cleanup_free_ char *took = rs_strdup_printf("node node-1 was held by %s", holder);
  cr_assert(strstr(lines.data, took), "%s", lines.data);
  cr_assert_not(has_lock(c), "released at the end");
  cr_assert_eq(ours_left(c), 0);
  forget(&res, &e, &lines);
  session_end(&ses);
}

/* Annotations are compared, never trusted: a run they claim without a
 * lock is refused before anything changes; annotations naming another run
 * than the lock are refused (--take-over follows the lock); a Job under
 * the run's name that is not the one it created is refused. */
Test(switch_lock, forged_stale_and_foreign, .timeout = 60) {
  struct session ses;
  rs_kube_client_t *c = session_start(&ses, "ok");
  struct rs_switch_result res;
  rs_err_t e = RS_ERR_INIT;
  rs_buf_t lines;
  /* what the node's kubelet could write: a run at "drained" */
  set_mirror(c, "20260101-000000-f0f0", RS_REC_DRAINED);
  cr_assert_eq(run_as(c, NULL, true, &res, &e, &lines), -1);
  cr_assert_eq(res.outcome, RS_SW_REFUSED, "%s", e.msg);
  cr_assert(strstr(e.msg, "no lock Lease backs it") && strstr(e.msg, "not trusted"), "%s", e.msg);
  cr_assert_not(unschedulable(c), "no cordon, no drain");
  cr_assert_eq(jobs_created(c, 0), 0);
  cr_assert_not(has_lock(c));
  forget(&res, &e, &lines);
  patch_node(c, json_pack("{s:{s:{s:n, s:n}}}", "metadata", "annotations", RS_HELPER_ANNOTATION_STATE, RS_ANN_RUN));
  /* a real run, stopped; then its annotations overwritten */
  _cleanup_free_ char *id = run_stopped_after_launch(c, NULL);
  set_mirror(c, "20260101-000000-f0f0", RS_REC_DRAINED);
  cr_assert_eq(run_as(c, NULL, false, &res, &e, &lines), -1);
  cr_assert(strstr(e.msg, "name run 20260101-000000-f0f0") && strstr(e.msg, id), "%s", e.msg);
  forget(&res, &e, &lines);
  set_mirror(c, id, RS_REC_LAUNCHED);
  /* its launch Job deleted and created again by someone else */
  _cleanup_free_ char *jpath = rs_strdup_printf("/apis/batch/v1/namespaces/" RS_DELIVER_DEFAULT_NS "/jobs/rsw-%s-switch", id);
  json_auto_t *job = get(c, jpath);
  json_object_set_new(json_object_get(job, "metadata"), "uid", json_string("someone-elses"));
  json_object_del(json_object_get(job, "metadata"), "resourceVersion");
  cr_assert_eq(rs_kube_put(c, jpath, job, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(run_as(c, NULL, false, &res, &e, &lines), -1);
  cr_assert_eq(res.outcome, RS_SW_REFUSED, "%s", e.msg);
  cr_assert(strstr(e.msg, "is not the one run") && strstr(e.msg, "someone-elses"), "%s", e.msg);
  cr_assert(has_lock(c), "the run keeps its lock");
  forget(&res, &e, &lines);
  session_end(&ses);
}

/* A run that recorded "drained" and launched nothing, whose node was
 * uncordoned since: cordoned and drained again, not skipped. */
Test(switch_lock, uncordoned_since_drains_again, .timeout = 60) {
  struct session ses;
  rs_kube_client_t *c = session_start(&ses, "ok");
  static const char id[] = "20260101-000000-d1d1";
  seed_lock(c, id, RS_REC_DRAINED, "user-t");
  set_mirror(c, id, RS_REC_DRAINED);
  struct rs_switch_result res;
  rs_err_t e = RS_ERR_INIT;
  rs_buf_t lines;
  cr_assert_eq(run_as(c, NULL, false, &res, &e, &lines), 0, "%s\n%s", e.msg, lines.data);
  cr_assert_str_eq(res.id, id);
  cr_assert(strstr(lines.data, "was uncordoned since run") && strstr(lines.data, "drained again"), "%s", lines.data);
  cr_assert(strstr(lines.data, "cordon:done\ndrain:done\n"), "%s", lines.data);
  /* the drain listed the node's pods again */
  json_auto_t *reqs = get(c, "/test/requests");
  size_t lists = 0, i;
  json_t *x;
  json_array_foreach(json_object_get(reqs, "requests"), i, x)
    if (strstr(json_string_value(x), "GET /api/v1/pods?") && strstr(json_string_value(x), "node-1") &&
        !strstr(json_string_value(x), "watch")) lists++;
  cr_assert_geq(lists, 2, "the preflight's drain check and the drain itself: %zu", lists);
  forget(&res, &e, &lines);
  session_end(&ses);
}

/* Someone else writes the lock between this run's read and its write: the
 * run stops and says so (at the take, at an update, at the release). */
Test(switch_lock, precondition_failures, .timeout = 60) {
  static const struct {
    const char *scenario, *needle;
    int outcome;
  } cases[] = {
      {"racetake", "held by intruder (run 20990101-000000-beef)", RS_SW_REFUSED},
      {"raceupdate", "was changed by someone else since this run read it", RS_SW_ERROR},
      {"racerelease", "was changed by someone else since this run wrote it", RS_SW_ERROR},
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
    struct session ses;
    rs_kube_client_t *c = session_start(&ses, cases[i].scenario);
    struct rs_switch_result res;
    rs_err_t e = RS_ERR_INIT;
    rs_buf_t lines;
    cr_assert_eq(run_as(c, NULL, false, &res, &e, &lines), -1, "%s", cases[i].scenario);
    cr_assert_eq(res.outcome, cases[i].outcome, "%s: %s", cases[i].scenario, e.msg);
    cr_assert(strstr(e.msg, cases[i].needle), "%s: %s", cases[i].scenario, e.msg);
    if (i < 2) cr_assert_not(unschedulable(c), "%s: nothing was changed", cases[i].scenario);
    forget(&res, &e, &lines);
    session_end(&ses);
  }
}

/* A dry run holds the lock while it runs and leaves none; a dry run of a
 * node in the middle of a run is refused; the user's own run killed
 * before it wrote anything on the node is resumed under its id. */
Test(switch_lock, dry_run_and_own_first_steps, .timeout = 60) {
  struct session ses;
  rs_kube_client_t *c = session_start(&ses, "ok");
  struct rec r = {RS_BUF_INIT(1 << 20)};
  struct rs_switch_opts o = opts(&r);
  o.dry_run = true;
  struct rs_switch_result res;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_switch_run(c, &o, &res, &e), 0, "%s", e.msg);
  cr_assert_not(has_lock(c), "a dry run leaves no lock");
  json_auto_t *reqs = get(c, "/test/requests");
  bool took = false;
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(reqs, "requests"), i, x)
    took |= rs_startswith(json_string_value(x), "POST /apis/coordination.k8s.io/v1/namespaces/" RS_DELIVER_DEFAULT_NS "/leases");
  cr_assert(took, "it took the lock while it ran");
  forget(&res, &e, &r.lines);
  static const char id[] = "20260101-000000-e2e2";
  seed_lock(c, id, RS_REC_LAUNCHED, "user-t");
  set_mirror(c, id, RS_REC_LAUNCHED);
  r = (struct rec){RS_BUF_INIT(1 << 20)};
  cr_assert_eq(rs_switch_run(c, &o, &res, &e), -1);
  cr_assert(strstr(e.msg, "a dry run has nothing to show"), "%s", e.msg);
  forget(&res, &e, &r.lines);
  /* the same run as if killed before it wrote on the node */
  set_lock_phase(c, RS_REC_STARTED);
  patch_node(c, json_pack("{s:{s:{s:n, s:n}}}", "metadata", "annotations", RS_HELPER_ANNOTATION_STATE, RS_ANN_RUN));
  rs_buf_t lines;
  cr_assert_eq(run_as(c, NULL, false, &res, &e, &lines), 0, "%s\n%s", e.msg, lines.data);
  cr_assert_str_eq(res.id, id, "its own run, under its id");
  cr_assert_not(has_lock(c));
  forget(&res, &e, &lines);
  session_end(&ses);
}
