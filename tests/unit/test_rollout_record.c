/* ops/rollout_record: the rollout's record read with its bounds and
 * checks (input others can write), written back as read, and kept in a
 * ConfigMap written with preconditions, against the fake API server's
 * ConfigMap store (tests/fakes/fakeapi.py, namespace rs: it answers 409 to
 * a stale resourceVersion or UID as the API server does). */
#include <criterion/criterion.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube_fixture.h"
#include "ops/rollout_record.h"

static const char SAMPLE[] =
    "{\"version\":1,\"id\":\"20261206-104155-ab12\",\"to\":\"containerd\",\"state\":\"running\","
    "\"owner\":\"kubernetes-admin\",\"host\":\"laptop\",\"created\":1765017715,\"updated\":1765017800,"
    "\"selection\":{\"selector\":\"pool=old\"},"
    "\"options\":{\"canary\":1,\"maxUnavailable\":\"2\",\"maxZones\":1,\"maxFailures\":0,\"soakSeconds\":30,"
    "\"allControlPlane\":false,\"drain\":{\"force\":true,\"ignoreDaemonsets\":true,\"deleteEmptydirData\":false,"
    "\"disableEviction\":false,\"gracePeriod\":-1,\"timeoutSeconds\":600}},"
    "\"nodes\":[{\"name\":\"node-1\",\"batch\":1,\"state\":\"done\",\"run\":\"20261206-104201-0a0b\","
    "\"phase\":\"done\",\"started\":1765017721,\"ended\":1765017790},"
    "{\"name\":\"node-3\",\"batch\":2,\"state\":\"running\",\"run\":\"20261206-104300-0c0d\",\"phase\":\"drain\","
    "\"started\":1765017780},"
    "{\"name\":\"node-4\",\"batch\":2,\"state\":\"pending\"}]}";

/* SAMPLE with the first `from` replaced by `to` (heap). */
static char *subst(const char *from, const char *to) {
  const char *at = strstr(SAMPLE, from);
  cr_assert(at, "no \"%s\" in the sample", from);
  return rs_strdup_printf("%.*s%s%s", (int)(at - SAMPLE), SAMPLE, to, at + strlen(from));
}

static void parse_ok(const char *txt, struct rs_ror_record *r) {
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_ror_parse(txt, strlen(txt), r, &e), 0, "%s", e.msg);
}

Test(rollout_record, reads_every_field) {
  struct rs_ror_record r;
  parse_ok(SAMPLE, &r);
  cr_assert_str_eq(r.id, "20261206-104155-ab12");
  cr_assert_str_eq(r.to, "containerd");
  cr_assert_eq(r.state, RS_ROR_RUNNING);
  cr_assert_str_eq(r.owner, "kubernetes-admin");
  cr_assert_str_eq(r.selector, "pool=old");
  cr_assert(!r.all && !r.names);
  cr_assert_str_eq(r.opts.max_unavailable, "2");
  cr_assert_eq(r.opts.soak_s, 30);
  cr_assert(r.opts.drain.force && r.opts.drain.ignore_daemonsets && !r.opts.drain.delete_emptydir_data);
  cr_assert_eq(r.opts.drain.grace_period, -1);
  cr_assert_eq(r.opts.drain.timeout_s, 600);
  cr_assert_eq(r.nnodes, 3);
  cr_assert_eq(r.nodes[1].batch, 2);
  cr_assert_eq(r.nodes[1].state, RS_ROR_NODE_RUNNING);
  cr_assert_str_eq(r.nodes[1].phase, "drain");
  cr_assert_eq(r.nodes[0].ended, 1765017790);
  cr_assert_eq(rs_ror_node_find(&r, "node-4"), &r.nodes[2]);
  cr_assert_null(rs_ror_node_find(&r, "node-2"));
  cr_assert_eq(rs_ror_count(&r, RS_ROR_NODE_PENDING), 1);
  rs_ror_record_clear(&r);
}

Test(rollout_record, writes_back_what_it_read) {
  struct rs_ror_record r;
  parse_ok(SAMPLE, &r);
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *out = rs_ror_dump(&r, &e);
  cr_assert_not_null(out, "%s", e.msg);
  cr_assert_str_eq(out, SAMPLE);
  rs_ror_record_clear(&r);
  /* a selection by names, and defaults left out of the input */
  _cleanup_free_ char *names = subst("{\"selector\":\"pool=old\"}", "{\"names\":[\"node-1\",\"node-3\",\"node-4\"]}");
  parse_ok(names, &r);
  cr_assert_eq(rs_strv_len(r.names), 3);
  _cleanup_free_ char *again = rs_ror_dump(&r, &e);
  cr_assert_str_eq(again, names);
  rs_ror_record_clear(&r);
}

struct bad_case {
  const char *from, *to, *says;
  int kind;
};

Test(rollout_record, refuses_what_it_cannot_trust) {
  static const struct bad_case cases[] = {
      {"{\"version\":1,", "[", "not JSON", RS_E_INPUT},
      {"\"version\":1", "\"version\":2", "version: written by a newer", RS_E_INPUT},
      {"\"version\":1,", "", "version: missing", RS_E_INPUT},
      {"\"id\":\"20261206-104155-ab12\"", "\"id\":\"../x\"", "id: not a run id", RS_E_INPUT},
      {"\"to\":\"containerd\"", "\"to\":\"docker\"", "to: not a runtime the switch goes to", RS_E_INPUT},
      {"\"state\":\"running\"", "\"state\":\"Running\"", "state: not a rollout state", RS_E_INPUT},
      {"\"owner\":\"kubernetes-admin\",", "", "owner: missing", RS_E_INPUT},
      {"{\"selector\":\"pool=old\"}", "{\"selector\":\"pool=old\",\"all\":true}", "exactly one of", RS_E_INPUT},
      {"{\"selector\":\"pool=old\"}", "{}", "exactly one of", RS_E_INPUT},
      {"{\"selector\":\"pool=old\"}", "{\"names\":[\"Node_1\"]}", "not a node name", RS_E_INPUT},
      {"\"maxUnavailable\":\"2\"", "\"maxUnavailable\":\"0\"", "maxUnavailable: not N or P%", RS_E_INPUT},
      {"\"soakSeconds\":30", "\"soakSeconds\":-1", "soakSeconds: -1 is outside", RS_E_INPUT},
      {"\"gracePeriod\":-1", "\"gracePeriod\":\"x\"", "gracePeriod: not an integer", RS_E_INPUT},
      {"\"force\":true", "\"force\":1", "force: not true or false", RS_E_INPUT},
      {"\"name\":\"node-3\"", "\"name\":\"node-1\"", "nodes[1] (node-1).name: named twice", RS_E_INPUT},
      {"\"name\":\"node-3\"", "\"name\":\"-node\"", "nodes[1].name: missing or not a node name", RS_E_INPUT},
      {"\"name\":\"node-4\",\"batch\":2", "\"name\":\"node-4\",\"batch\":4", "(node-4).batch: out of order",
       RS_E_INPUT},
      {"\"name\":\"node-1\",\"batch\":1", "\"name\":\"node-1\",\"batch\":2", "(node-1).batch: the first is not 1",
       RS_E_INPUT},
      {"\"state\":\"pending\"", "\"state\":\"skipped\"", "(node-4).state: not a node state", RS_E_INPUT},
      {"\"state\":\"pending\"", "\"state\":\"pending\",\"run\":\"20261206-104300-0c0d\"",
       "(node-4).run: set for a node that never started", RS_E_INPUT},
      {"\"phase\":\"drain\"", "\"phase\":\"Drain\\u001b[2J\"", "(node-3).phase: not a phase name", RS_E_INPUT},
      {"\"phase\":\"drain\"", "\"phase\":\"drain\",\"reason\":\"a\\u0000b\"", "not JSON", RS_E_INPUT},
      {"\"state\":\"running\"", "\"state\":\"done\"", "state: final, but a node is not", RS_E_INPUT},
      {"\"started\":1765017780", "\"started\":1e20", "started: not an integer", RS_E_INPUT},
      {"\"id\":\"20261206-104155-ab12\"", "\"id\":\"20261206-104155-ab12\",\"id\":\"x\"", "not JSON", RS_E_INPUT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    _cleanup_free_ char *txt = subst(cases[i].from, cases[i].to);
    struct rs_ror_record r;
    rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_ror_parse(txt, strlen(txt), &r, &e), -1, "case %zu accepted: %s", i, txt);
    cr_assert_eq(e.kind, cases[i].kind, "case %zu: %s", i, e.msg);
    cr_assert(strstr(e.msg, cases[i].says), "case %zu: \"%s\" does not say \"%s\"", i, e.msg, cases[i].says);
    cr_assert_null(r.id, "case %zu: left half-read", i);
    rs_err_clear(&e);
  }
}

Test(rollout_record, bounds) {
  /* an owner longer than the bound */
  char owner[RS_ROR_MAX_TEXT + 2];
  memset(owner, 'a', sizeof owner - 1);
  owner[sizeof owner - 1] = '\0';
  _cleanup_free_ char *q = rs_strdup_printf("\"owner\":\"%s\"", owner);
  _cleanup_free_ char *txt = subst("\"owner\":\"kubernetes-admin\"", q);
  struct rs_ror_record r;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_ror_parse(txt, strlen(txt), &r, &e), -1);
  cr_assert_eq(e.kind, RS_E_LIMIT, "%s", e.msg);
  rs_err_clear(&e);
  /* the size of the text, before it is parsed */
  cr_assert_eq(rs_ror_parse(SAMPLE, RS_ROR_MAX_BYTES + 1, &r, &e), -1);
  cr_assert_eq(e.kind, RS_E_LIMIT, "%s", e.msg);
  rs_err_clear(&e);
  /* more nodes than a record holds */
  rs_buf_t b = RS_BUF_INIT(2 * RS_ROR_MAX_BYTES);
  _cleanup_free_ char *head = strndup(SAMPLE, (size_t)(strstr(SAMPLE, "\"nodes\":[") - SAMPLE) + 9);
  rs_buf_printf(&b, NULL, "%s", head);
  for (int i = 0; i <= RS_ROR_MAX_NODES; i++)
    rs_buf_printf(&b, NULL, "%s{\"name\":\"n%d\",\"batch\":1,\"state\":\"pending\"}", i ? "," : "", i);
  rs_buf_printf(&b, NULL, "]}");
  cr_assert_eq(rs_ror_parse(b.data, b.len, &r, &e), -1);
  cr_assert_eq(e.kind, RS_E_LIMIT, "%s", e.msg);
  cr_assert(strstr(e.msg, "nodes: more than"), "%s", e.msg);
  rs_err_clear(&e);
  rs_buf_free(&b);
}

Test(rollout_record, does_not_write_what_it_would_refuse) {
  struct rs_ror_record r;
  parse_ok(SAMPLE, &r);
  r.nodes[2].batch = 7;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_null(rs_ror_dump(&r, &e));
  cr_assert(strstr(e.msg, "refusing to write the rollout record") && strstr(e.msg, "out of order"), "%s", e.msg);
  rs_err_clear(&e);
  rs_ror_record_clear(&r);
}

/* ---- the ConfigMap, against the fake's store ---- */

static struct fake F;
static rs_kube_client_t *C;

static void start(void) {
  fake_start(&F, NULL);
  rs_err_t e = RS_ERR_INIT;
  C = fake_client(&F, NULL, NULL, &e);
  cr_assert_not_null(C, "%s", e.msg);
}
static void stop(void) {
  rs_kube_client_free(C);
  fake_stop(&F);
}

Test(rollout_record, kept_with_preconditions, .init = start, .fini = stop) {
  struct rs_ror_record r, mine, theirs;
  rs_err_t e = RS_ERR_INIT;
  bool found = true;
  cr_assert_eq(rs_ror_read(C, "rs", "20261206-104155-ab12", &r, &found, &e), 0, "%s", e.msg);
  cr_assert(!found);
  parse_ok(SAMPLE, &r);
  cr_assert_eq(rs_ror_create(C, "rs", &r, &e), 0, "%s", e.msg);
  cr_assert(r.uid && r.rv);
  /* one record per id */
  cr_assert_eq(rs_ror_create(C, "rs", &r, &e), -1);
  cr_assert(rs_kube_is_conflict(&e), "%s", e.msg);
  rs_err_clear(&e);
  /* two readers; the first to write wins, the second is refused */
  cr_assert_eq(rs_ror_read(C, "rs", r.id, &mine, &found, &e), 0, "%s", e.msg);
  cr_assert(found);
  cr_assert_eq(rs_ror_read(C, "rs", r.id, &theirs, &found, &e), 0, "%s", e.msg);
  cr_assert_str_eq(mine.rv, r.rv);
  mine.nodes[1].state = RS_ROR_NODE_DONE;
  cr_assert_eq(rs_ror_save(C, "rs", &mine, &e), 0, "%s", e.msg);
  cr_assert_str_neq(mine.rv, theirs.rv);
  theirs.state = RS_ROR_PAUSED;
  cr_assert_eq(rs_ror_save(C, "rs", &theirs, &e), -1);
  cr_assert(rs_kube_is_conflict(&e), "%s", e.msg);
  cr_assert(strstr(e.msg, "changed by someone else since it was read"), "%s", e.msg);
  rs_err_clear(&e);
  /* what the winner wrote is what is there */
  struct rs_ror_record now;
  cr_assert_eq(rs_ror_read(C, "rs", r.id, &now, &found, &e), 0, "%s", e.msg);
  cr_assert_eq(now.state, RS_ROR_RUNNING);
  cr_assert_eq(now.nodes[1].state, RS_ROR_NODE_DONE);
  cr_assert_str_eq(now.rv, mine.rv);
  /* a stale delete is refused too; the current one goes */
  cr_assert_eq(rs_ror_delete(C, "rs", &theirs, &e), -1);
  cr_assert(rs_kube_is_conflict(&e), "%s", e.msg);
  rs_err_clear(&e);
  cr_assert_eq(rs_ror_delete(C, "rs", &now, &e), 0, "%s", e.msg);
  cr_assert_eq(rs_ror_delete(C, "rs", &now, &e), 0, "gone already: %s", e.msg);
  rs_ror_record_clear(&theirs);
  cr_assert_eq(rs_ror_read(C, "rs", r.id, &theirs, &found, &e), 0, "%s", e.msg);
  cr_assert(!found);
  /* a record never read or written has no precondition to write with */
  rs_ror_record_clear(&r);
  parse_ok(SAMPLE, &r);
  cr_assert_eq(rs_ror_save(C, "rs", &r, &e), -1);
  rs_err_clear(&e);
  rs_ror_record_clear(&r), rs_ror_record_clear(&mine), rs_ror_record_clear(&now);
}

static void post_cm(const char *name, const char *id, const char *data) {
  json_auto_t *cm = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                              "metadata", "name", name, "labels", RS_ROR_LABEL, id, "data", RS_ROR_KEY, data);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_post(C, "/api/v1/namespaces/rs/configmaps", cm, NULL, &e), 0, "%s", e.msg);
}

Test(rollout_record, list_says_which_records_it_cannot_read, .init = start, .fini = stop) {
  struct rs_ror_record r;
  parse_ok(SAMPLE, &r);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_ror_create(C, "rs", &r, &e), 0, "%s", e.msg);
  post_cm("runtime-switch-rollout-broken", "broken", "{\"version\":1");
  /* a good record under another rollout's name: not taken for it */
  post_cm("runtime-switch-rollout-20990101-000000-ffff", "20990101-000000-ffff", SAMPLE);
  struct rs_ror_record *v = NULL;
  size_t n = 0;
  char **bad = NULL;
  cr_assert_eq(rs_ror_list(C, "rs", &v, &n, &bad, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(v[0].id, r.id);
  cr_assert_eq(rs_strv_len(bad), 2);
  cr_assert(strstr(bad[0], "ConfigMap runtime-switch-rollout-20990101-000000-ffff holds the record of rollout "
                           "20261206-104155-ab12"), "%s", bad[0]);
  cr_assert(strstr(bad[1], "ConfigMap runtime-switch-rollout-broken: rollout record: not JSON"), "%s", bad[1]);
  rs_ror_list_free(v, n);
  rs_strv_free(bad);
  rs_ror_record_clear(&r);
}
