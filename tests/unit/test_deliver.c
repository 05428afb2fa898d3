/* ops/deliver: the Job manifests (against JSON fixtures in
 * tests/data/switch), the working namespace, Pod Security labels, the
 * image choice, pod states and the helper's JSON inside a log.  The
 * carrier: test_carrier.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "kube/kubeconfig.h"
#include "ops/deliver.h"

static struct rs_deliver_spec spec(void) {
  return (struct rs_deliver_spec){.ns = "kube-system", .node = "node-1", .id = "20261126-101500-ab12",
                                  .to = "containerd", .image = "localhost/busybox:1", .priority = true,
                                  .carrier = "rsw-helper-amd64-0123456789abcdef",
                                  .helper_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                  .helper_deadline_s = 600, .wait_s = 1200};
}

static char *data_path(const char *name) {
  const char *d = getenv("RS_TEST_DATA");
  return rs_strdup_printf("%s/switch/%s", d ? d : "tests/data", name);
}

static json_t *load(const char *name) {
  _cleanup_free_ char *p = data_path(name);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  cr_assert_not_null(j, "%s: %s (line %d)", p, je.text, je.line);
  return j;
}

/* Compare with a fixture; RS_UPDATE_GOLDEN=1 rewrites it instead. */
static void golden(const json_t *got, const char *name) {
  if (getenv("RS_UPDATE_GOLDEN")) {
    _cleanup_free_ char *p = data_path(name);
    cr_assert_eq(json_dump_file(got, p, JSON_INDENT(2) | JSON_SORT_KEYS), 0);
    return;
  }
  json_auto_t *want = load(name);
  _cleanup_free_ char *g = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
  cr_assert(json_equal(got, want), "%s differs; got:\n%s", name, g);
}

Test(deliver, run_ids) {
  char id[RS_RUN_ID_MAX + 1];
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_run_id_new(id, &e), 0);
  cr_assert_eq(strlen(id), 20, "%s", id);
  cr_assert(rs_run_id_valid(id), "%s", id);
  static const char *const bad[] = {"", "-a", "a-", "A1", "a_b", "a b",
                                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 41 */};
  for (size_t i = 0; i < RS_ARRAY_SIZE(bad); i++) cr_assert_not(rs_run_id_valid(bad[i]), "%s", bad[i]);
  cr_assert(rs_run_id_valid("a"));
  cr_assert(rs_run_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

Test(deliver, names_fit_labels) {
  const char *id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* the longest id */
  for (int r = 0; r < _RS_JOB_MAX; r++) {
    _cleanup_free_ char *n = rs_deliver_job_name(id, r);
    cr_assert_leq(strlen(n), 63, "%s", n);
  }
  _cleanup_free_ char *j = rs_deliver_job_name("x1", RS_JOB_VERIFY);
  cr_assert_str_eq(j, "rsw-x1-verify");
}

Test(deliver, secret_variant) {
  struct rs_deliver_spec s = spec();
  s.use_secret = true;
  rs_err_t e = RS_ERR_INIT;
  json_auto_t *job = rs_deliver_job(&s, RS_JOB_SWITCH, &e);
  json_t *vol = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(
                                   job, "spec"), "template"), "spec"), "volumes"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(vol, "secret"), "secretName")),
                   "rsw-helper-amd64-0123456789abcdef");
}

Test(deliver, jobs_match_fixtures) {
  struct rs_deliver_spec s = spec();
  static const struct {
    int role;
    const char *file;
  } cases[] = {{RS_JOB_PREFLIGHT, "job-preflight.json"}, {RS_JOB_SWITCH, "job-switch.json"},
               {RS_JOB_VERIFY, "job-verify.json"}, {RS_JOB_ROLLBACK, "job-rollback.json"}};
  s.reason = "requested";
  for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
    rs_err_t e = RS_ERR_INIT;
    json_auto_t *job = rs_deliver_job(&s, cases[i].role, &e);
    cr_assert_not_null(job, "%s", e.msg);
    golden(job, cases[i].file);
  }
}

/* What the pod must be, whatever the role: the properties the switch
 * depends on, checked one by one (the fixtures check the whole). */
Test(deliver, job_pod_properties) {
  struct rs_deliver_spec s = spec();
  rs_err_t e = RS_ERR_INIT;
  json_auto_t *job = rs_deliver_job(&s, RS_JOB_SWITCH, &e);
  json_t *js = json_object_get(job, "spec");
  json_t *ps = json_object_get(json_object_get(js, "template"), "spec");
  cr_assert_str_eq(json_string_value(json_object_get(ps, "nodeName")), "node-1");
  cr_assert(json_is_true(json_object_get(ps, "hostPID")));
  cr_assert(json_is_true(json_object_get(ps, "hostNetwork")));
  cr_assert_str_eq(json_string_value(json_object_get(ps, "restartPolicy")), "Never");
  cr_assert_str_eq(json_string_value(json_object_get(ps, "serviceAccountName")), "default");
  cr_assert(json_is_false(json_object_get(ps, "automountServiceAccountToken")));
  cr_assert_str_eq(json_string_value(json_object_get(ps, "priorityClassName")), "system-node-critical");
  json_t *tol = json_object_get(ps, "tolerations");
  cr_assert_eq(json_array_size(tol), 1);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tol, 0), "operator")), "Exists");
  cr_assert_null(json_object_get(json_array_get(tol, 0), "key"));
  json_t *ct = json_array_get(json_object_get(ps, "containers"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(ct, "imagePullPolicy")), "Never");
  cr_assert(json_is_true(json_object_get(json_object_get(ct, "securityContext"), "privileged")));
  json_t *cmd = json_object_get(ct, "command");
  cr_assert_str_eq(json_string_value(json_array_get(cmd, 0)), RS_DELIVER_MOUNT_DIR "/" RS_DELIVER_FILE);
  cr_assert_str_eq(json_string_value(json_array_get(cmd, 1)), "launch");
  cr_assert_eq(json_integer_value(json_object_get(js, "backoffLimit")), 0);
  json_auto_t *vjob = rs_deliver_job(&s, RS_JOB_VERIFY, &e);
  cr_assert_geq(json_integer_value(json_object_get(json_object_get(vjob, "spec"), "backoffLimit")), 1,
                "the verify Job needs retries: its first pod may die with the old runtime");
  json_t *vps = json_object_get(json_object_get(json_object_get(vjob, "spec"), "template"), "spec");
  cr_assert(json_is_false(json_object_get(vps, "hostNetwork")),
            "the verify pod proves the pod network (CNI) on the new runtime");
  cr_assert(json_is_true(json_object_get(json_object_get(vjob, "spec"), "suspend")), "created suspended");
  s.priority = false;
  json_auto_t *nop = rs_deliver_job(&s, RS_JOB_SWITCH, &e);
  cr_assert_null(json_object_get(json_object_get(json_object_get(json_object_get(nop, "spec"), "template"),
                                                 "spec"), "priorityClassName"));
}

Test(deliver, helper_argv) {
  struct rs_deliver_spec s = spec();
  s.no_images = true;
  s.kubelet_wait_s = 30;
  rs_err_t e = RS_ERR_INIT;
  _cleanup_strv_ char **v = rs_deliver_helper_argv(&s, RS_JOB_SWITCH, &e);
  const char *want[] = {RS_DELIVER_MOUNT_DIR "/" RS_DELIVER_FILE, "launch", "--to", "containerd", "--id",
                        "20261126-101500-ab12", "--no-images", "--deadline", "600", "--kubelet-wait", "30",
                        "--expect-sha256", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL};
  for (size_t i = 0; want[i]; i++) cr_assert_str_eq(v[i], want[i]);
  cr_assert_null(v[13]);
  /* every role's command line says which bytes it must be */
  for (int role = 0; role < _RS_JOB_MAX; role++) {
    _cleanup_strv_ char **a = rs_deliver_helper_argv(&s, role, &e);
    size_t n = rs_strv_len(a);
    cr_assert_geq(n, 3);
    cr_assert_str_eq(a[n - 2], RS_HELPER_OPT_EXPECT_SHA256, "%s", rs_job_role_name(role));
    cr_assert_str_eq(a[n - 1], s.helper_sha256);
  }
  _cleanup_strv_ char **r = rs_deliver_helper_argv(&s, RS_JOB_VERIFY, &e);
  cr_assert_str_eq(r[1], "report");
  cr_assert_str_eq(r[4], "--wait");
  cr_assert_str_eq(r[5], "1200");
  s.to = NULL;
  cr_assert_null(rs_deliver_helper_argv(&s, RS_JOB_PREFLIGHT, &e));
  cr_assert_eq(e.kind, RS_E_USAGE);
  rs_err_clear(&e);
  s.image = NULL;
  cr_assert_null(rs_deliver_job(&s, RS_JOB_VERIFY, &e));
  rs_err_clear(&e);
}

/* The namespace the plugin creates passes its own Pod Security check,
 * silently, and is what rbac/namespace.yaml says (its labels, line by
 * line). */
Test(deliver, working_namespace) {
  rs_err_t e = RS_ERR_INIT;
  json_auto_t *ns = rs_deliver_namespace(&e);
  cr_assert_not_null(ns);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ns, "metadata"), "name")),
                   RS_DELIVER_DEFAULT_NS);
  _cleanup_free_ char *warn = NULL;
  cr_assert_eq(rs_deliver_psa_check(ns, &warn, &e), 0, "%s", e.msg);
  cr_assert_null(warn, "%s", warn);
  const char *d = getenv("RS_TEST_DATA");
  _cleanup_free_ char *path = rs_strdup_printf("%s/../../%s", d ? d : "tests/data", RS_DELIVER_NS_MANIFEST);
  _cleanup_free_ char *yaml = NULL;
  cr_assert_eq(rs_read_file(path, 1 << 16, &yaml, NULL, &e), 0, "%s", e.msg);
  cr_assert(strstr(yaml, "\n  name: " RS_DELIVER_DEFAULT_NS "\n"), "%s", yaml);
  const char *k;
  json_t *v;
  size_t n = 0;
  json_object_foreach(json_object_get(json_object_get(ns, "metadata"), "labels"), k, v) {
    _cleanup_free_ char *line = rs_strdup_printf("\n    %s: %s\n", k, json_string_value(v));
    cr_assert(strstr(yaml, line), "%s has no line%s", RS_DELIVER_NS_MANIFEST, line);
    n++;
  }
  cr_assert_eq(n, 5);
}

struct psa_case {
  const char *labels;   /* JSON object */
  bool ok;
  const char *needle;   /* in the error, or in the warning */
};

Test(deliver, pod_security_labels) {
  static const struct psa_case cases[] = {
      {"{}", true, NULL},
      {"{\"pod-security.kubernetes.io/enforce\": \"privileged\"}", true, NULL},
      {"{\"pod-security.kubernetes.io/enforce\": \"baseline\"}", false,
       "kubectl label namespace kube-system pod-security.kubernetes.io/enforce=privileged --overwrite"},
      {"{\"pod-security.kubernetes.io/enforce\": \"restricted\", \"pod-security.kubernetes.io/enforce-version\": "
       "\"v1.30\"}", false, "enforces Pod Security \"restricted\""},
      {"{\"pod-security.kubernetes.io/enforce\": \"bogus\"}", false, "bogus"},
      {"{\"pod-security.kubernetes.io/warn\": \"baseline\"}", true, "warn=baseline"},
      {"{\"pod-security.kubernetes.io/enforce\": \"privileged\", \"pod-security.kubernetes.io/audit\": "
       "\"restricted\"}", true, "audit=restricted"},
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
    _cleanup_free_ char *txt = rs_strdup_printf("{\"metadata\": {\"name\": \"kube-system\", \"labels\": %s}}",
                                                cases[i].labels);
    json_auto_t *ns = json_loads(txt, 0, NULL);
    cr_assert_not_null(ns);
    rs_err_t e = RS_ERR_INIT;
    _cleanup_free_ char *warn = NULL;
    int r = rs_deliver_psa_check(ns, &warn, &e);
    cr_assert_eq(r == 0, cases[i].ok, "case %zu: %s", i, e.msg ? e.msg : "");
    if (!cases[i].ok) {
      cr_assert_eq(e.kind, RS_E_CONFIG);
      cr_assert(strstr(e.msg, cases[i].needle), "case %zu: %s", i, e.msg);
    } else if (cases[i].needle) {
      cr_assert(warn && strstr(warn, cases[i].needle), "case %zu: %s", i, warn ? warn : "(none)");
    } else {
      cr_assert_null(warn, "case %zu: %s", i, warn);
    }
    rs_err_clear(&e);
  }
}

Test(deliver, image_prefers_pods_that_stay) {
  json_auto_t *list = load("pods-node-1.json");
  json_t *items = json_object_get(list, "items");
  _cleanup_free_ char *img = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_deliver_pick_image(items, &img, &e), 0, "%s", e.msg);
  cr_assert_str_eq(img, "localhost/busybox:1", "the DaemonSet's running container (spec image)");
  /* without the DaemonSet pod: the most used running image */
  json_array_remove(items, 2);
  free(img);
  img = NULL;
  cr_assert_eq(rs_deliver_pick_image(items, &img, &e), 0);
  cr_assert_str_eq(img, "localhost/web:2");
  /* only terminating, pending and our own pods: nothing to borrow */
  json_array_remove(items, 0);
  json_array_remove(items, 0);
  free(img);
  img = NULL;
  cr_assert_eq(rs_deliver_pick_image(items, &img, &e), -1);
  cr_assert(strstr(e.msg, "--image"), "%s", e.msg);
  rs_err_clear(&e);
}

Test(deliver, image_from_a_static_pod) {
  const char *t = "[{\"metadata\": {\"name\": \"etcd-n\", \"annotations\": {\"kubernetes.io/config.mirror\": \"x\"}},"
                  " \"spec\": {\"containers\": [{\"name\": \"etcd\", \"image\": \"registry.k8s.io/etcd:3.6\"}]},"
                  " \"status\": {\"containerStatuses\": [{\"name\": \"etcd\", \"state\": {\"running\": {}}}]}},"
                  " {\"metadata\": {\"name\": \"a\"}, \"spec\": {\"containers\": [{\"name\": \"a\", \"image\": \"x:1\"},"
                  " {\"name\": \"b\", \"image\": \"x:1\"}]}, \"status\": {\"containerStatuses\": ["
                  " {\"name\": \"a\", \"state\": {\"running\": {}}}, {\"name\": \"b\", \"state\": {\"running\": {}}}]}}]";
  json_auto_t *pods = json_loads(t, 0, NULL);
  _cleanup_free_ char *img = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_deliver_pick_image(pods, &img, &e), 0);
  cr_assert_str_eq(img, "registry.k8s.io/etcd:3.6");
}

struct pv_case {
  const char *status;
  int state;
  int exit_code;
  const char *runtime;
  const char *why;
};

Test(deliver, pod_states) {
  static const struct pv_case cases[] = {
      {"{\"phase\": \"Pending\"}", RS_POD_PENDING, 0, NULL, NULL},
      {"{\"phase\": \"Pending\", \"containerStatuses\": [{\"name\": \"helper\", \"state\": {\"waiting\": "
       "{\"reason\": \"ContainerCreating\"}}}]}", RS_POD_PENDING, 0, NULL, NULL},
      {"{\"phase\": \"Pending\", \"containerStatuses\": [{\"name\": \"helper\", \"state\": {\"waiting\": "
       "{\"reason\": \"ErrImageNeverPull\", \"message\": \"Container image \\\"x\\\" is not present with pull "
       "policy of Never\"}}}]}", RS_POD_BLOCKED, 0, NULL, "not present"},
      {"{\"phase\": \"Running\", \"containerStatuses\": [{\"name\": \"helper\", \"containerID\": "
       "\"docker://abc\", \"state\": {\"running\": {}}}]}", RS_POD_RUNNING, 0, "docker", NULL},
      {"{\"phase\": \"Failed\", \"containerStatuses\": [{\"name\": \"helper\", \"containerID\": "
       "\"containerd://abc\", \"state\": {\"terminated\": {\"exitCode\": 7, \"reason\": \"Error\"}}}]}",
       RS_POD_EXITED, 7, "containerd", "Error"},
      {"{\"phase\": \"Succeeded\", \"containerStatuses\": [{\"name\": \"helper\", \"containerID\": "
       "\"cri-o://abc\", \"state\": {\"terminated\": {\"exitCode\": 0}}}]}", RS_POD_EXITED, 0, "cri-o", NULL},
      {"{\"phase\": \"Failed\", \"reason\": \"OutOfcpu\", \"message\": \"Node didn't have enough resource\"}",
       RS_POD_GONE, 0, NULL, "enough resource"},
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
    _cleanup_free_ char *t = rs_strdup_printf("{\"metadata\": {\"name\": \"p%zu\"}, \"status\": %s}", i,
                                              cases[i].status);
    json_auto_t *pod = json_loads(t, 0, NULL);
    cr_assert_not_null(pod, "case %zu", i);
    struct rs_pod_view v;
    rs_pod_view(pod, &v);
    cr_assert_eq(v.state, cases[i].state, "case %zu", i);
    cr_assert_eq(v.exit_code, cases[i].exit_code, "case %zu", i);
    if (cases[i].runtime) cr_assert_str_eq(v.runtime, cases[i].runtime, "case %zu", i);
    else cr_assert_null(v.runtime, "case %zu", i);
    if (cases[i].why) cr_assert(v.why && strstr(v.why, cases[i].why), "case %zu: %s", i, v.why);
  }
}

Test(deliver, helper_json_in_a_log) {
  const char *log = "rs-node-helper: entering the host\n"
                    "{not json\n"
                    "  {\"contract\": 0}\n"
                    "{\"x\": 1}\n"
                    "{\"contract\":1,\"id\":\"a\",\"state\":\"done\"}\n"
                    "trailing words\n";
  json_auto_t *j = rs_helper_json_from_log(log, strlen(log));
  cr_assert_not_null(j);
  cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "done");
  cr_assert_null(rs_helper_json_from_log("", 0));
  cr_assert_null(rs_helper_json_from_log("{\"contract\": ", 13));
}

Test(deliver, image_from_node_status) {
  const char *t = "{\"status\": {\"images\": ["
                  "{\"names\": [\"docker.io/library/big@sha256:aa\", \"docker.io/library/big:1\"], \"sizeBytes\": 900},"
                  "{\"names\": [\"registry.k8s.io/pause@sha256:bb\", \"registry.k8s.io/pause:3.10\"], \"sizeBytes\": 700},"
                  "{\"names\": [\"sha256:cc\"], \"sizeBytes\": 1}]}}";
  json_auto_t *node = json_loads(t, 0, NULL);
  cr_assert_not_null(node);
  _cleanup_free_ char *img = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_deliver_pick_node_image(node, &img, &e), 0, "%s", e.msg);
  cr_assert_str_eq(img, "registry.k8s.io/pause:3.10", "the smallest with a tag; no digest-only or id names");
  json_auto_t *empty = json_loads("{\"status\": {}}", 0, NULL);
  cr_assert_eq(rs_deliver_pick_node_image(empty, &img, &e), -1);
  cr_assert(strstr(e.msg, "--image"));
  rs_err_clear(&e);
}
