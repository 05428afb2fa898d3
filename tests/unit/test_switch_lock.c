/* ops/lease and the pure parts of ops/switch_record: the lock's name and
 * parser, the run record both ways (node mirror and lock), and the claim
 * on a node for every case a rerun meets: free, its own run, another
 * holder, --take-over, a forged or stale annotation, annotations and lock
 * naming different runs, an unreadable lock. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/lease.h"
#include "ops/switch_record.h"

#define ID_A "20261126-101500-ab12"
#define ID_B "20261127-090000-cd34"

/* ---- the Lease ---- */

Test(lease, names) {
  _cleanup_free_ char *plain = rs_lease_name(RS_LOCK_PREFIX, "node-1.example.com");
  cr_assert_str_eq(plain, "rsw-node-node-1.example.com");
  /* too long, or not a subdomain: a piece and a hash, still the same each time */
  char longname[300];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  _cleanup_free_ char *l1 = rs_lease_name(RS_LOCK_PREFIX, longname);
  _cleanup_free_ char *l2 = rs_lease_name(RS_LOCK_PREFIX, longname);
  cr_assert_str_eq(l1, l2);
  cr_assert_leq(strlen(l1), 253);
  longname[10] = 'b';
  _cleanup_free_ char *l3 = rs_lease_name(RS_LOCK_PREFIX, longname);
  cr_assert_str_neq(l1, l3, "a different node, a different lock");
  _cleanup_free_ char *odd = rs_lease_name(RS_LOCK_PREFIX, "Node_1.");
  cr_assert(rs_startswith(odd, "rsw-node-node-1-"), "%s", odd);
  for (const char *p = odd; *p; p++) cr_assert(strchr("abcdefghijklmnopqrstuvwxyz0123456789-", *p), "%s", odd);
  _cleanup_free_ char *empty = rs_lease_name(RS_LOCK_PREFIX, "");
  cr_assert(rs_startswith(empty, "rsw-node-") && strlen(empty) == 9 + 16, "%s", empty);
}

static json_t *lease_obj(const char *holder, const char *record) {
  json_t *l = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:{}}, s:{s:s?, s:s, s:s, s:i}}", "apiVersion",
                        "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", "rsw-node-n1", "namespace",
                        "kube-system", "uid", "u-1", "resourceVersion", "42", "annotations", "spec",
                        "holderIdentity", holder, "acquireTime", "2026-11-26T10:15:00.000000Z", "renewTime",
                        "2026-11-26T10:20:00.000000Z", "leaseTransitions", 2);
  cr_assert_not_null(l);
  if (record)
    json_object_set_new(json_object_get(json_object_get(l, "metadata"), "annotations"), RS_ANN_LEASE_RECORD,
                        json_string(record));
  return l;
}

Test(lease, parse) {
  json_auto_t *o = lease_obj("alice (run " ID_A ")", "{}");
  struct rs_lease l;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_lease_parse(o, &l, &e), 0, "%s", e.msg);
  cr_assert_str_eq(l.name, "rsw-node-n1");
  cr_assert_str_eq(l.ns, "kube-system");
  cr_assert_str_eq(l.uid, "u-1");
  cr_assert_str_eq(l.rv, "42");
  cr_assert_str_eq(l.holder, "alice (run " ID_A ")");
  cr_assert_str_eq(l.acquired, "2026-11-26T10:15:00.000000Z");
  cr_assert_eq(l.transitions, 2);
  cr_assert_str_eq(l.record, "{}");
  cr_assert_not_null(l.obj);
  rs_lease_clear(&l);
}

Test(lease, parse_refuses_what_is_not_a_lease) {
  static const char *const bad[] = {
      "[]", "{}", "{\"metadata\": []}", "{\"metadata\": {}}", "{\"metadata\": {\"name\": 7}}",
      "{\"metadata\": {\"name\": \"x\"}, \"spec\": 1}",
      "{\"metadata\": {\"name\": \"x\"}, \"spec\": {\"holderIdentity\": true}}",
      "{\"metadata\": {\"name\": \"x\"}, \"spec\": {\"leaseTransitions\": -1}}",
      "{\"metadata\": {\"name\": \"x\"}, \"spec\": {\"leaseTransitions\": \"2\"}}",
      "{\"metadata\": {\"name\": \"x\", \"annotations\": []}}",
      "{\"metadata\": {\"name\": \"x\", \"annotations\": {\"" RS_ANN_LEASE_RECORD "\": {}}}}",
      "{\"metadata\": {\"name\": \"x\\u0000y\"}}",
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(bad); i++) {
    json_auto_t *o = json_loads(bad[i], JSON_ALLOW_NUL, NULL);
    struct rs_lease l;
    rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_lease_parse(o, &l, &e), -1, "%s", bad[i]);
    cr_assert(rs_startswith(e.msg, "Lease"), "%s: %s", bad[i], e.msg);
    cr_assert_null(l.name);
    rs_err_clear(&e);
  }
  /* bounded: a holder longer than any user name */
  char big[RS_LEASE_FIELD_MAX + 2];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  json_auto_t *o = lease_obj(big, NULL);
  struct rs_lease l;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_lease_parse(o, &l, &e), -1);
  cr_assert_eq(e.kind, RS_E_LIMIT, "%s", e.msg);
  rs_err_clear(&e);
}

/* ---- the record ---- */

static struct rs_sw_record full_record(void) {
  struct rs_sw_record r = {.id = ID_A, .op = RS_OP_SWITCH, .phase = RS_REC_DRAINED, .from = "cri-dockerd",
                           .to = "containerd", .ns = "kubectl-runtime-switch", .image = "localhost/busybox:1",
                           .cordoned = true, .started = 1790000000, .cordoned_at = 1790000012, .user = "alice",
                           .carrier = "rsw-" ID_A, .carrier_uid = "c-uid", .carrier_sha256 = "ab12",
                           .host = "laptop", .pid = 4242};
  r.job_uid[RS_JOB_SWITCH] = "j-uid";
  return r;
}

Test(switch_record, json_round_trip) {
  struct rs_sw_record r = full_record();
  json_auto_t *j = rs_sw_record_to_json(&r);
  struct rs_sw_record got;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_sw_record_from_json(j, "t", &got, &e), 0, "%s", e.msg);
  cr_assert_str_eq(got.id, ID_A);
  cr_assert_str_eq(got.user, "alice");
  cr_assert_str_eq(got.carrier, "rsw-" ID_A);
  cr_assert_str_eq(got.carrier_uid, "c-uid");
  cr_assert_str_eq(got.carrier_sha256, "ab12");
  cr_assert_str_eq(got.job_uid[RS_JOB_SWITCH], "j-uid");
  cr_assert_null(got.job_uid[RS_JOB_VERIFY]);
  cr_assert_eq(got.cordoned_at, 1790000012);
  cr_assert_str_eq(got.host, "laptop");
  cr_assert_eq(got.pid, 4242);
  cr_assert(got.cordoned);
  cr_assert_eq(got.op, RS_OP_SWITCH);
  rs_sw_record_clear(&got);
}

Test(switch_record, refuses_what_no_run_wrote) {
  static const char *const bad[] = {
      "{\"id\": \"Not A Run\"}",          "{\"id\": 12}",
      "{\"id\": \"" ID_A "\", \"op\": \"delete\"}", "{\"id\": \"" ID_A "\", \"cordoned\": \"yes\"}",
      "{\"id\": \"" ID_A "\", \"started\": -5}", "{\"id\": \"" ID_A "\", \"jobs\": [\"x\"]}",
      "{\"id\": \"" ID_A "\", \"jobs\": {\"switch\": 1}}", "{\"id\": \"" ID_A "\", \"carrier\": \"x\"}",
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(bad); i++) {
    json_auto_t *j = json_loads(bad[i], 0, NULL);
    cr_assert_not_null(j, "%s", bad[i]);
    struct rs_sw_record got;
    rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_sw_record_from_json(j, "the lock's record", &got, &e), -1, "%s", bad[i]);
    cr_assert(rs_startswith(e.msg, "the lock's record: "), "%s", e.msg);
    cr_assert_null(got.id);
    rs_err_clear(&e);
  }
}

Test(switch_record, from_lease) {
  struct rs_sw_record r = full_record();
  json_auto_t *j = rs_sw_record_to_json(&r);
  _cleanup_free_ char *txt = json_dumps(j, JSON_COMPACT);
  json_auto_t *o = lease_obj("alice (run " ID_A ")", txt);
  struct rs_lease l;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_lease_parse(o, &l, &e), 0);
  struct rs_sw_record got;
  cr_assert_eq(rs_sw_record_from_lease(&l, &got, &e), 0, "%s", e.msg);
  cr_assert_str_eq(got.id, ID_A);
  cr_assert_str_eq(got.phase, RS_REC_DRAINED);
  rs_sw_record_clear(&got);
  free(l.record);
  l.record = strdup("{\"id\": \"" ID_A "\", \"id\": \"" ID_B "\"}");
  cr_assert_eq(rs_sw_record_from_lease(&l, &got, &e), -1, "a duplicate key is not a record");
  rs_err_clear(&e);
  free(l.record);
  l.record = strdup("{\"phase\": \"drained\"}");
  cr_assert_eq(rs_sw_record_from_lease(&l, &got, &e), -1, "a record without a run");
  cr_assert(strstr(e.msg, "names no run"), "%s", e.msg);
  rs_err_clear(&e);
  free(l.record);
  l.record = NULL;
  cr_assert_eq(rs_sw_record_from_lease(&l, &got, &e), 0);
  cr_assert_null(got.id);
  rs_lease_clear(&l);
}

/* ---- the claim ---- */

struct claim_case {
  const char *what;
  const char *mirror_id, *mirror_phase; /* NULL: no annotations */
  bool lease;
  const char *lock_id, *lock_phase;     /* NULL id: an unreadable record */
  const char *lock_user;
  bool take_over;
  int want;
  bool alive;                           /* the holder's plugin runs here */
};

static const struct claim_case claim_cases[] = {
    {"nothing anywhere", NULL, NULL, false, NULL, NULL, NULL, false, RS_CLAIM_FREE, false},
    {"the last run finished", ID_A, RS_REC_DONE, false, NULL, NULL, NULL, false, RS_CLAIM_FREE, false},
    {"forged: annotations, no lock", ID_A, RS_REC_DRAINED, false, NULL, NULL, NULL, false, RS_CLAIM_UNBACKED, false},
    {"forged, even with --take-over", ID_A, RS_REC_LAUNCHED, false, NULL, NULL, NULL, true, RS_CLAIM_UNBACKED, false},
    {"own run", ID_A, RS_REC_DRAINED, true, ID_A, RS_REC_DRAINED, "alice", false, RS_CLAIM_RESUME, false},
    {"own run, annotations one write behind", ID_A, RS_REC_DRAINED, true, ID_A, RS_REC_LAUNCHED, "alice", false,
     RS_CLAIM_RESUME, false},
    {"own run killed before any annotation", NULL, NULL, true, ID_A, RS_REC_STARTED, "alice", false,
     RS_CLAIM_RESUME, false},
    {"own run, first annotation not written", ID_B, RS_REC_DONE, true, ID_A, RS_REC_CORDONED, "alice", false,
     RS_CLAIM_RESUME, false},
    {"annotations erased after the drain", NULL, NULL, true, ID_A, RS_REC_DRAINED, "alice", false,
     RS_CLAIM_MISMATCH, false},
    {"stale: annotations of another run", ID_B, RS_REC_DRAINED, true, ID_A, RS_REC_DRAINED, "alice", false,
     RS_CLAIM_MISMATCH, false},
    {"mismatch, --take-over", ID_B, RS_REC_DRAINED, true, ID_A, RS_REC_DRAINED, "alice", true, RS_CLAIM_TAKE_OVER, false},
    {"another holder", ID_A, RS_REC_DRAINED, true, ID_A, RS_REC_DRAINED, "bob", false, RS_CLAIM_HELD, false},
    {"another holder before any annotation", NULL, NULL, true, ID_A, RS_REC_STARTED, "bob", false, RS_CLAIM_HELD, false},
    {"another holder, --take-over", ID_A, RS_REC_DRAINED, true, ID_A, RS_REC_DRAINED, "bob", true,
     RS_CLAIM_TAKE_OVER, false},
    {"a holder without a user", ID_A, RS_REC_DRAINED, true, ID_A, RS_REC_DRAINED, NULL, false, RS_CLAIM_HELD, false},
    {"a lock left with a finished record", ID_A, RS_REC_DONE, true, ID_A, RS_REC_DONE, "bob", false, RS_CLAIM_FREE, false},
    {"a finished lock, annotations one behind", ID_A, RS_REC_SWITCHED, true, ID_A, RS_REC_DONE, "bob", false,
     RS_CLAIM_FREE, false},
    {"a finished lock, forged annotations", ID_B, RS_REC_DRAINED, true, ID_A, RS_REC_DONE, "bob", false,
     RS_CLAIM_UNBACKED, false},
    {"an unreadable lock", NULL, NULL, true, NULL, NULL, NULL, false, RS_CLAIM_UNREADABLE, false},
    {"an unreadable lock, --take-over", NULL, NULL, true, NULL, NULL, NULL, true, RS_CLAIM_FREE, false},
    {"own user, its plugin still running here", ID_A, RS_REC_DRAINED, true, ID_A, RS_REC_DRAINED, "alice", false,
     RS_CLAIM_HELD, true},
    {"own user, still running here, --take-over", ID_A, RS_REC_DRAINED, true, ID_A, RS_REC_DRAINED, "alice", true,
     RS_CLAIM_TAKE_OVER, true},
};

static struct rs_lease claim_lease(void) {
  return (struct rs_lease){.ns = "kube-system", .name = "rsw-node-n1", .holder = "bob (run " ID_A ")",
                           .acquired = "2026-11-26T10:15:00.000000Z", .renewed = "2026-11-26T10:20:00.000000Z"};
}

Test(switch_record, claims) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(claim_cases); i++) {
    const struct claim_case *k = &claim_cases[i];
    struct rs_sw_record mirror = {.id = (char *)k->mirror_id, .phase = (char *)k->mirror_phase, .to = "containerd"};
    struct rs_sw_record locked = {.id = (char *)k->lock_id, .phase = (char *)k->lock_phase,
                                  .user = (char *)k->lock_user, .to = "containerd"};
    struct rs_lease l = claim_lease();
    struct rs_sw_claim_in in = {.node = "n1", .ns = "kube-system", .mirror = &mirror, .lease = k->lease ? &l : NULL,
                                .locked = k->lock_id ? &locked : NULL, .me = "alice", .take_over = k->take_over,
                                .holder_alive = k->alive};
    cr_assert_eq(rs_sw_claim(&in), k->want, "%s: claim %d, want %d", k->what, rs_sw_claim(&in), k->want);
  }
}

Test(switch_record, refusals_say_what_was_found_and_what_to_do) {
  struct rs_sw_record mirror = {.id = ID_A, .phase = RS_REC_DRAINED, .to = "containerd", .ns = "evil"};
  struct rs_sw_record locked = {.id = ID_A, .phase = RS_REC_DRAINED, .user = "bob", .to = "containerd"};
  struct rs_lease l = claim_lease();
  struct rs_sw_claim_in in = {.node = "n1", .ns = "kube-system", .mirror = &mirror, .lease = &l, .locked = &locked,
                              .me = "alice"};
  _cleanup_free_ char *held = rs_sw_claim_why(RS_CLAIM_HELD, &in);
  cr_assert(strstr(held, "held by bob (run " ID_A ")"), "%s", held);
  in.holder_alive = true;
  _cleanup_free_ char *alive = rs_sw_claim_why(RS_CLAIM_HELD, &in);
  cr_assert(strstr(alive, "still running on this machine"), "%s", alive);
  in.holder_alive = false;
  cr_assert(strstr(held, "phase drained"), "%s", held);
  cr_assert(strstr(held, "since 2026-11-26T10:15:00.000000Z"), "%s", held);
  cr_assert(strstr(held, "--take-over"), "%s", held);
  in.lease = NULL;
  in.locked = NULL;
  _cleanup_free_ char *unbacked = rs_sw_claim_why(RS_CLAIM_UNBACKED, &in);
  cr_assert(strstr(unbacked, "no lock Lease backs it in namespace kube-system"), "%s", unbacked);
  cr_assert(strstr(unbacked, "not trusted"), "%s", unbacked);
  cr_assert(strstr(unbacked, "kubectl annotate node n1 " RS_HELPER_ANNOTATION_STATE "- " RS_ANN_RUN "-"), "%s",
            unbacked);
  cr_assert(strstr(unbacked, "rollback node n1 --id " ID_A), "%s", unbacked);
  cr_assert(strstr(unbacked, "working namespace evil"), "%s", unbacked);
  in.lease = &l;
  in.locked = &locked;
  mirror.id = ID_B;
  _cleanup_free_ char *mismatch = rs_sw_claim_why(RS_CLAIM_MISMATCH, &in);
  cr_assert(strstr(mismatch, "name run " ID_B) && strstr(mismatch, "holds run " ID_A), "%s", mismatch);
  _cleanup_free_ char *unreadable = rs_sw_claim_why(RS_CLAIM_UNREADABLE, &in);
  cr_assert(strstr(unreadable, "lock Lease kube-system/rsw-node-n1"), "%s", unreadable);
}

/* The holder's plugin, alive or not, on this machine. */
Test(switch_record, holder_alive) {
  struct rs_sw_record r = {.id = ID_A};
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_sw_record_set_self(&r, &e), 0);
  cr_assert_not(rs_sw_holder_alive(&r), "this very process: its run returned");
  _cleanup_free_ char *holder = rs_sw_holder(&r);
  _cleanup_free_ char *want = rs_strdup_printf("unknown user (run " ID_A ", pid %ld on %s)", r.pid, r.host);
  cr_assert_str_eq(holder, want);
  pid_t child = fork();
  cr_assert_geq(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  r.pid = child;
  cr_assert(rs_sw_holder_alive(&r), "a live process of the same program");
  char *here = r.host;
  r.host = "another-machine";
  cr_assert_not(rs_sw_holder_alive(&r), "another machine: nothing to tell it by");
  r.host = here;
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  cr_assert_not(rs_sw_holder_alive(&r), "a dead one");
  pid_t other = fork();
  cr_assert_geq(other, 0);
  if (other == 0) {
    execl("/bin/sleep", "sleep", "30", (char *)NULL);
    _exit(127);
  }
  r.pid = other;
  usleep(200000);
  cr_assert_not(rs_sw_holder_alive(&r), "another program (sleep)");
  kill(other, SIGKILL);
  waitpid(other, NULL, 0);
  free(r.host);
}

Test(switch_record, node_mirror) {
  struct rs_sw_record r = full_record();
  json_auto_t *j = rs_sw_record_to_json(&r);
  _cleanup_free_ char *txt = json_dumps(j, JSON_COMPACT);
  json_auto_t *n = json_pack("{s:{s:s, s:{s:s, s:s}}}", "metadata", "name", "n1", "annotations", RS_ANN_RUN, txt,
                             RS_HELPER_ANNOTATION_STATE, ID_A " launched");
  struct rs_sw_record got;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_sw_record_from_node(n, &got, &e), 0, "%s", e.msg);
  cr_assert_str_eq(got.phase, RS_REC_LAUNCHED, "the contract's annotation wins for the same run");
  rs_sw_record_clear(&got);
  /* a state annotation naming no valid run is ignored */
  json_object_set_new(json_object_get(json_object_get(n, "metadata"), "annotations"), RS_HELPER_ANNOTATION_STATE,
                      json_string("../etc launched"));
  cr_assert_eq(rs_sw_record_from_node(n, &got, &e), 0);
  cr_assert_str_eq(got.phase, RS_REC_DRAINED);
  rs_sw_record_clear(&got);
  json_object_set_new(json_object_get(json_object_get(n, "metadata"), "annotations"), RS_ANN_RUN,
                      json_string("{\"id\": \"" ID_A "\", \"op\": 3}"));
  cr_assert_eq(rs_sw_record_from_node(n, &got, &e), -1);
  cr_assert(strstr(e.msg, "node n1; remove it with `kubectl annotate node NODE"), "%s", e.msg);
  rs_err_clear(&e);
}
