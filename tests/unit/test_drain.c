/* ops/drain: kubectl's filters, grouping and messages on JSON fixtures;
 * the delete path's order against the fake API server (tests/fakes/fakeapi.py
 * --drain-pods). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/drain.h"
#include "kube_fixture.h"

#define NOW 1800000000LL /* 2027-01-15T08:00:00Z */

static json_t *pod(const char *json) {
  json_error_t je;
  json_t *p = json_loads(json, 0, &je);
  cr_assert(p, "fixture: %s", je.text);
  return p;
}

#define RS_OWNER(kind, av, name)                                                                  \
  "\"ownerReferences\":[{\"apiVersion\":\"" av "\",\"kind\":\"" kind "\",\"name\":\"" name        \
  "\",\"controller\":true}]"

struct fcase {
  const char *name;
  const char *pod;
  struct rs_drain_opts opts;
  int ds_state;
  const char *ds_message;
  int verdict;
  const char *message;
};

static const struct fcase fcases[] = {
    {"replicaset pod", "{\"metadata\":{" RS_OWNER("ReplicaSet", "apps/v1", "web-1") "}}",
     RS_DRAIN_OPTS_INIT, 0, NULL, RS_DRAIN_DELETE, NULL},
    {"bare pod refused", "{\"metadata\":{}}", RS_DRAIN_OPTS_INIT, 0, NULL, RS_DRAIN_ERROR,
     "cannot delete Pods that declare no controller (use --force to override)"},
    {"bare pod forced", "{\"metadata\":{}}", {.force = true, .grace_period = -1}, 0, NULL,
     RS_DRAIN_DELETE_WARN, "deleting Pods that declare no controller"},
    {"owner without controller flag is bare",
     "{\"metadata\":{\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"apiVersion\":\"apps/v1\",\"name\":\"x\"}]}}",
     RS_DRAIN_OPTS_INIT, 0, NULL, RS_DRAIN_ERROR,
     "cannot delete Pods that declare no controller (use --force to override)"},
    {"finished bare pod", "{\"metadata\":{},\"status\":{\"phase\":\"Succeeded\"}}", RS_DRAIN_OPTS_INIT, 0,
     NULL, RS_DRAIN_DELETE, NULL},
    {"daemonset refused", "{\"metadata\":{" RS_OWNER("DaemonSet", "apps/v1", "ds") "}}", RS_DRAIN_OPTS_INIT,
     RS_DRAIN_DS_FOUND, NULL, RS_DRAIN_ERROR, "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"},
    {"daemonset ignored", "{\"metadata\":{" RS_OWNER("DaemonSet", "apps/v1", "ds") "}}",
     {.ignore_daemonsets = true, .grace_period = -1}, RS_DRAIN_DS_FOUND, NULL, RS_DRAIN_SKIP_WARN,
     "ignoring DaemonSet-managed Pods"},
    {"finished daemonset pod is deleted",
     "{\"metadata\":{" RS_OWNER("DaemonSet", "apps/v1", "ds") "},\"status\":{\"phase\":\"Failed\"}}",
     RS_DRAIN_OPTS_INIT, RS_DRAIN_DS_FOUND, NULL, RS_DRAIN_DELETE, NULL},
    {"orphaned daemonset pod", "{\"metadata\":{" RS_OWNER("DaemonSet", "apps/v1", "gone") "}}",
     {.ignore_daemonsets = true, .grace_period = -1}, RS_DRAIN_DS_NOT_FOUND,
     "daemonsets.apps \"gone\" not found", RS_DRAIN_ERROR, "daemonsets.apps \"gone\" not found"},
    /* --force deletes the orphan; the mirror filter's Okay then erases the
     * warning, as in kubectl */
    {"orphaned daemonset pod forced", "{\"metadata\":{" RS_OWNER("DaemonSet", "apps/v1", "gone") "}}",
     {.force = true, .grace_period = -1}, RS_DRAIN_DS_NOT_FOUND, "daemonsets.apps \"gone\" not found",
     RS_DRAIN_DELETE, NULL},
    {"daemonset of another group is a plain controller",
     "{\"metadata\":{" RS_OWNER("DaemonSet", "apps.kruise.io/v1alpha1", "k") "}}", RS_DRAIN_OPTS_INIT, 0,
     NULL, RS_DRAIN_DELETE, NULL},
    {"mirror pod skipped silently",
     "{\"metadata\":{\"annotations\":{\"kubernetes.io/config.mirror\":\"abc\"}}}", RS_DRAIN_OPTS_INIT, 0,
     NULL, RS_DRAIN_SKIP, NULL},
    {"emptyDir refused",
     "{\"metadata\":{" RS_OWNER("ReplicaSet", "apps/v1", "r") "},\"spec\":{\"volumes\":[{\"name\":\"c\",\"emptyDir\":{}}]}}",
     RS_DRAIN_OPTS_INIT, 0, NULL, RS_DRAIN_ERROR,
     "Pods with local storage (use --delete-emptydir-data to override)"},
    /* the localStorage warning is overwritten by unreplicated's Okay */
    {"emptyDir allowed",
     "{\"metadata\":{" RS_OWNER("ReplicaSet", "apps/v1", "r") "},\"spec\":{\"volumes\":[{\"name\":\"c\",\"emptyDir\":{}}]}}",
     {.delete_emptydir_data = true, .grace_period = -1}, 0, NULL, RS_DRAIN_DELETE, NULL},
    {"hostPath is not local storage",
     "{\"metadata\":{" RS_OWNER("ReplicaSet", "apps/v1", "r") "},\"spec\":{\"volumes\":[{\"name\":\"h\",\"hostPath\":{\"path\":\"/x\"}}]}}",
     RS_DRAIN_OPTS_INIT, 0, NULL, RS_DRAIN_DELETE, NULL},
    {"bare emptyDir pod needs both flags: emptyDir first",
     "{\"metadata\":{},\"spec\":{\"volumes\":[{\"name\":\"c\",\"emptyDir\":{}}]}}", {.force = true, .grace_period = -1},
     0, NULL, RS_DRAIN_ERROR, "Pods with local storage (use --delete-emptydir-data to override)"},
    {"bare emptyDir pod with both flags",
     "{\"metadata\":{},\"spec\":{\"volumes\":[{\"name\":\"c\",\"emptyDir\":{}}]}}",
     {.force = true, .delete_emptydir_data = true, .grace_period = -1}, 0, NULL, RS_DRAIN_DELETE_WARN,
     "deleting Pods that declare no controller"},
    {"long deleted pod skipped",
     "{\"metadata\":{\"deletionTimestamp\":\"2027-01-15T07:59:00Z\"}}",
     {.skip_wait_for_delete_timeout = 30, .grace_period = -1}, 0, NULL, RS_DRAIN_SKIP, NULL},
    {"recently deleted pod still filtered",
     "{\"metadata\":{\"deletionTimestamp\":\"2027-01-15T07:59:50Z\"}}",
     {.skip_wait_for_delete_timeout = 30, .grace_period = -1}, 0, NULL, RS_DRAIN_ERROR,
     "cannot delete Pods that declare no controller (use --force to override)"},
};

Test(drain, filters) {
  for (size_t i = 0; i < sizeof fcases / sizeof *fcases; i++) {
    const struct fcase *c = &fcases[i];
    json_auto_t *p = pod(c->pod);
    struct rs_drain_filter_result r = rs_drain_filter_pod(p, &c->opts, c->ds_state, c->ds_message, NOW);
    cr_assert_eq(r.verdict, c->verdict, "%s: verdict %d", c->name, r.verdict);
    if (c->message) cr_assert_str_eq(r.message ? r.message : "(null)", c->message, "%s", c->name);
    else cr_assert_null(r.message, "%s: %s", c->name, r.message);
  }
}

/* The switch's own helper pods are skipped by what it created (namespace
 * and Job UID), never by a label anyone can set. */
Test(drain, own_pods_by_job_uid) {
  static char *const uids[] = {"u-ours", NULL};
  struct rs_drain_opts o = RS_DRAIN_OPTS_INIT;
  o.own_ns = "kubectl-runtime-switch";
  o.own_job_uids = uids;
  static const struct {
    const char *pod;
    int verdict;
  } cases[] = {
      /* ours: in our namespace, controlled by our Job */
      {"{\"metadata\":{\"namespace\":\"kubectl-runtime-switch\",\"ownerReferences\":[{\"apiVersion\":"
       "\"batch/v1\",\"kind\":\"Job\",\"name\":\"rsw-x-verify\",\"uid\":\"u-ours\",\"controller\":true}]}}",
       RS_DRAIN_SKIP},
      /* our label, no owner: kubectl's filters as for any pod */
      {"{\"metadata\":{\"namespace\":\"kubectl-runtime-switch\",\"labels\":{\"app.kubernetes.io/managed-by\":"
       "\"kubectl-runtime-switch\"}}}", RS_DRAIN_ERROR},
      /* our Job's UID from another namespace */
      {"{\"metadata\":{\"namespace\":\"demo\",\"ownerReferences\":[{\"apiVersion\":\"batch/v1\",\"kind\":"
       "\"Job\",\"name\":\"j\",\"uid\":\"u-ours\",\"controller\":true}]}}", RS_DRAIN_DELETE},
      /* another Job in our namespace */
      {"{\"metadata\":{\"namespace\":\"kubectl-runtime-switch\",\"ownerReferences\":[{\"apiVersion\":"
       "\"batch/v1\",\"kind\":\"Job\",\"name\":\"j\",\"uid\":\"u-other\",\"controller\":true}]}}",
       RS_DRAIN_DELETE},
      /* our UID, but not as a batch/v1 Job's */
      {"{\"metadata\":{\"namespace\":\"kubectl-runtime-switch\",\"ownerReferences\":[{\"apiVersion\":"
       "\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"r\",\"uid\":\"u-ours\",\"controller\":true}]}}",
       RS_DRAIN_DELETE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    json_auto_t *p = pod(cases[i].pod);
    struct rs_drain_filter_result r = rs_drain_filter_pod(p, &o, RS_DRAIN_DS_FOUND, NULL, NOW);
    cr_assert_eq(r.verdict, cases[i].verdict, "case %zu: verdict %d", i, r.verdict);
  }
  /* without the caller's Jobs nothing is skipped for being ours */
  o.own_job_uids = NULL;
  json_auto_t *p = pod(cases[0].pod);
  cr_assert_eq(rs_drain_filter_pod(p, &o, RS_DRAIN_DS_FOUND, NULL, NOW).verdict, RS_DRAIN_DELETE);
}

Test(drain, daemonset_name) {
  json_auto_t *p = pod("{\"metadata\":{" RS_OWNER("DaemonSet", "apps/v1", "kube-proxy") "}}");
  cr_assert_str_eq(rs_drain_pod_daemonset(p), "kube-proxy");
  json_auto_t *q = pod("{\"metadata\":{" RS_OWNER("ReplicaSet", "apps/v1", "r") "}}");
  cr_assert_null(rs_drain_pod_daemonset(q));
}

Test(drain, groups) {
  struct rs_drain_groups *g = rs_drain_groups_new();
  cr_assert(g);
  cr_assert_null(rs_drain_groups_warnings(g));
  rs_drain_groups_add(g, "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)", "kube-system", "proxy-a", NULL);
  rs_drain_groups_add(g, "cannot delete Pods that declare no controller (use --force to override)", "demo", "bare", NULL);
  rs_drain_groups_add(g, "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)", "demo", "ds-b", NULL);
  cr_assert_eq(rs_drain_groups_count(g), 2);
  _cleanup_strv_ char **errs = rs_strv_new();
  cr_assert_eq(rs_drain_groups_errors(g, &errs, NULL), 0);
  cr_assert_str_eq(errs[0], "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "
                            "kube-system/proxy-a, demo/ds-b");
  /* not "cannot delete cannot delete ..." */
  cr_assert_str_eq(errs[1], "cannot delete Pods that declare no controller (use --force to override): demo/bare");
  cr_assert_null(errs[2]);
  _cleanup_free_ char *w = rs_drain_groups_warnings(g);
  cr_assert_str_eq(w, "DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/proxy-a, "
                      "demo/ds-b; cannot delete Pods that declare no controller (use --force to override): demo/bare");
  rs_drain_groups_free(g);
}

struct dcase { long long ms; const char *text; };
static const struct dcase dcases[] = {
    {0, "0s"}, {250, "250ms"}, {1000, "1s"}, {5000, "5s"}, {1500, "1.5s"}, {90000, "1m30s"},
    {60000, "1m0s"}, {3600000, "1h0m0s"}, {3661500, "1h1m1.5s"}, {10, "10ms"}, {1010, "1.01s"},
};

Test(drain, duration_text) {
  char buf[64];
  for (size_t i = 0; i < sizeof dcases / sizeof *dcases; i++)
    cr_assert_str_eq(rs_drain_duration_text(dcases[i].ms, buf, sizeof buf), dcases[i].text, "%lld", dcases[i].ms);
}

Test(drain, aggregate_text) {
  char *one[] = {"a", NULL};
  char *two[] = {"a", "b", NULL};
  char *dup[] = {"a", "a", NULL};
  char *none[] = {NULL};
  _cleanup_free_ char *t1 = rs_drain_aggregate_text(one);
  _cleanup_free_ char *t2 = rs_drain_aggregate_text(two);
  _cleanup_free_ char *t3 = rs_drain_aggregate_text(dup);
  _cleanup_free_ char *t4 = rs_drain_aggregate_text(none);
  cr_assert_str_eq(t1, "a");
  cr_assert_str_eq(t2, "[a, b]");
  cr_assert_str_eq(t3, "a");
  cr_assert_str_eq(t4, "");
}

struct scase { const char *sel; bool ok; };
static const struct scase scases[] = {
    {"", true}, {"app=web", true}, {"app==web", true}, {"app!=web", true}, {"app", true},
    {"!app", true}, {"app in (a, b)", true}, {"app notin (a)", true}, {"a=b,c!=d,!e,f", true},
    {"example.com/tier=front", true}, {"app=", true}, {" app = web , tier ", true}, {"n>5", true},
    {"n<-3", true}, {"app in ()", false}, {"app=web=x", false}, {"=web", false}, {"app in a", false},
    {"app=we b", false}, {"-app=x", false}, {"app=-x", false}, {"a/b/c=d", false}, {"Bad_/x=y", false},
    {"n>x", false}, {"app,", false}, {",app", false}, {"!app=x", false}, {"app in (a,b", false},
    {"app=(", false}, {"app!", false},
};

Test(drain, label_selector) {
  for (size_t i = 0; i < sizeof scases / sizeof *scases; i++)
    cr_assert_eq(rs_label_selector_valid(scases[i].sel), scases[i].ok, "\"%s\"", scases[i].sel);
  char *long_name = malloc(100);
  memset(long_name, 'a', 99);
  long_name[99] = '\0';
  cr_assert_not(rs_label_selector_valid(long_name), "a 99-character key");
  free(long_name);
}

Test(drain, rfc3339) {
  cr_assert_eq(rs_rfc3339_seconds("1970-01-01T00:00:00Z"), 0);
  cr_assert_eq(rs_rfc3339_seconds("2027-01-15T08:00:00Z"), NOW);
  cr_assert_eq(rs_rfc3339_seconds("2027-01-15T08:00:00.123456Z"), NOW);
  cr_assert_eq(rs_rfc3339_seconds("2027-01-15T09:00:00+01:00"), NOW);
  cr_assert_eq(rs_rfc3339_seconds("2027-01-15 08:00:00Z"), -1);
  cr_assert_eq(rs_rfc3339_seconds("2027-01-15T08:00:00"), -1);
  cr_assert_eq(rs_rfc3339_seconds("2027-13-15T08:00:00Z"), -1);
  cr_assert_eq(rs_rfc3339_seconds(NULL), -1);
}

Test(drain, dry_run_parse) {
  cr_assert_eq(rs_dry_run_parse(NULL), RS_DRY_RUN_NONE);
  cr_assert_eq(rs_dry_run_parse("none"), RS_DRY_RUN_NONE);
  cr_assert_eq(rs_dry_run_parse("client"), RS_DRY_RUN_CLIENT);
  cr_assert_eq(rs_dry_run_parse("unchanged"), RS_DRY_RUN_CLIENT);
  cr_assert_eq(rs_dry_run_parse("server"), RS_DRY_RUN_SERVER);
  cr_assert_eq(rs_dry_run_parse("bogus"), -1);
}

Test(drain, event_json) {
  struct rs_drain_event ev = {.type = RS_DRAIN_EV_RETRY, .node = "n1", .ns = "demo", .pod = "web-1",
                              .uid = "u1", .text = "error when evicting pods/\"web-1\" -n \"demo\" (will retry after 5s): no",
                              .to_stderr = true, .message = "no", .retry_ms = 5000, .attempt = 2};
  json_auto_t *j = rs_drain_event_to_json(&ev);
  cr_assert(j);
  cr_assert_str_eq(json_string_value(json_object_get(j, "event")), "retry");
  cr_assert_str_eq(json_string_value(json_object_get(j, "pod")), "web-1");
  cr_assert_eq(json_real_value(json_object_get(j, "retryAfterSeconds")), 5.0);
  cr_assert_eq(json_integer_value(json_object_get(j, "attempt")), 2);
  struct rs_drain_event d = {.type = RS_DRAIN_EV_DRAINED, .node = "n1", .text = "node/n1 drained"};
  json_auto_t *k = rs_drain_event_to_json(&d);
  cr_assert_str_eq(json_string_value(json_object_get(k, "event")), "drained");
  cr_assert_null(json_object_get(k, "pod"));
  cr_assert_str_eq(rs_drain_pod_state_name(RS_DRAIN_POD_GONE), "gone");
}

/* ---- the delete path (--disable-eviction) against the fake API ---- */

static struct fake F;
static void stop(void) { fake_stop(&F); }
static void start_five(void) {
  const char *a[] = {"--drain-pods", "5", NULL};
  fake_start(&F, a);
}
static void start_five_third_denies(void) {
  const char *a[] = {"--drain-pods", "5", "--drain-deny", "2", NULL};
  fake_start(&F, a);
}
static void start_three_first_invalid(void) {
  const char *a[] = {"--drain-pods", "3", "--drain-invalid", "0", NULL};
  fake_start(&F, a);
}

struct seen_events {
  char deleted[256];
  unsigned evicting;
};

static void collect(void *ud, const struct rs_drain_event *ev) {
  struct seen_events *s = ud;
  if (ev->type == RS_DRAIN_EV_EVICTED) {
    strncat(s->deleted, ev->text, sizeof s->deleted - strlen(s->deleted) - 2);
    strcat(s->deleted, ";");
  }
  if (ev->type == RS_DRAIN_EV_EVICTING) s->evicting++;
}

static json_t *stats(rs_kube_client_t *c) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  json_t *st = NULL;
  cr_assert_eq(rs_kube_get(c, "/test/stats", &st, &e), 0, "%s", e.msg);
  return st;
}

static const char *deletes_text(json_t *st, char *buf, size_t len) {
  size_t i;
  json_t *v;
  buf[0] = '\0';
  json_array_foreach(json_object_get(st, "deletes"), i, v) {
    strncat(buf, json_string_value(v), len - strlen(buf) - 2);
    strcat(buf, " ");
  }
  return buf;
}

/* kubectl deletes one pod after the other, in list order. */
Test(drain_delete, one_at_a_time, .init = start_five, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct seen_events s = {0};
  struct rs_drain_opts o = RS_DRAIN_OPTS_INIT;
  o.disable_eviction = true;
  o.on_event = collect;
  o.ud = &s;
  struct rs_drain_report r = {0};
  cr_assert_eq(rs_drain_pods(c, "node-00002", &o, &r, &e), 0, "%s", e.msg);
  cr_assert_eq(r.npods, 5);
  cr_assert_not(r.eviction);
  for (size_t i = 0; i < r.npods; i++)
    cr_assert_eq(r.pods[i].state, RS_DRAIN_POD_GONE, "%s", r.pods[i].name);
  cr_assert_eq(s.evicting, 0, "no 'evicting pod' lines on the delete path");
  cr_assert(strstr(s.deleted, "pod/d-0 deleted;"), "%s", s.deleted);
  json_auto_t *st = stats(c);
  char buf[256];
  cr_assert_str_eq(deletes_text(st, buf, sizeof buf), "d-0 d-1 d-2 d-3 d-4 ");
  cr_assert_eq(json_integer_value(json_object_get(st, "max_inflight_deletes")), 1);
  rs_drain_report_clear(&r);
}

/* The first failure ends the drain: the pods after it are not touched. */
Test(drain_delete, stops_at_the_first_error, .init = start_five_third_denies, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct seen_events s = {0};
  struct rs_drain_opts o = RS_DRAIN_OPTS_INIT;
  o.disable_eviction = true;
  o.on_event = collect;
  o.ud = &s;
  struct rs_drain_report r = {0};
  cr_assert_eq(rs_drain_pods(c, "node-00002", &o, &r, &e), -1);
  cr_assert_eq(e.kind, RS_E_API);
  cr_assert_eq(r.npods, 5);
  cr_assert_str_eq(r.pods[2].name, "d-2-deny");
  cr_assert_eq(r.pods[2].state, RS_DRAIN_POD_FAILED);
  /* kubectl returns the DELETE's error as it is, and CheckErr prints it */
  cr_assert_str_eq(r.pods[2].error, "pods \"d-2-deny\" is forbidden: denied by the test");
  cr_assert_str_eq(r.pods[2].check_err,
                   "Error from server (Forbidden): pods \"d-2-deny\" is forbidden: denied by the test");
  cr_assert_eq(r.pods[3].state, RS_DRAIN_POD_PENDING);
  cr_assert_eq(r.pods[4].state, RS_DRAIN_POD_PENDING);
  cr_assert_eq(r.pods[3].attempts, 0);
  cr_assert_eq(r.pods[4].attempts, 0);
  cr_assert_null(r.errors[1], "one error: the first");
  for (size_t i = 0; i < 2; i++)
    cr_assert(r.pods[i].state == RS_DRAIN_POD_GONE || r.pods[i].state == RS_DRAIN_POD_EVICTING,
              "%s: deleted (nothing waits for it after the error)", r.pods[i].name);
  json_auto_t *st = stats(c);
  char buf[256];
  cr_assert_str_eq(deletes_text(st, buf, sizeof buf), "d-0 d-1 d-2-deny ");
  cr_assert_eq(json_integer_value(json_object_get(st, "max_inflight_deletes")), 1);
  rs_drain_report_clear(&r);
}

/* An Invalid answer (an admission policy's) as kubectl's CheckErr prints it. */
Test(drain_delete, invalid_as_kubectl_prints_it, .init = start_three_first_invalid, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct rs_drain_opts o = RS_DRAIN_OPTS_INIT;
  o.disable_eviction = true;
  struct rs_drain_report r = {0};
  cr_assert_eq(rs_drain_pods(c, "node-00002", &o, &r, &e), -1);
  cr_assert_eq(r.pods[0].state, RS_DRAIN_POD_FAILED);
  cr_assert_str_eq(r.pods[0].error, "pods \"d-0-invalid\" is forbidden: denied by a policy");
  cr_assert_str_eq(r.pods[0].check_err, "The pods \"d-0-invalid\" is invalid: : denied by a policy");
  cr_assert_eq(r.pods[1].attempts, 0);
  cr_assert_eq(r.pods[2].attempts, 0);
  json_auto_t *st = stats(c);
  char buf[256];
  cr_assert_str_eq(deletes_text(st, buf, sizeof buf), "d-0-invalid ");
  rs_drain_report_clear(&r);
}
