/* The record of a run and the node's lock that holds it (see
 * ops/switch_record.h): the record's JSON both ways, the node's mirror,
 * the claim on a node, and writing the record. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/deliver.h"
#include "ops/nodes.h"
#include "ops/switch_record.h"

#define REC_FIELD_MAX 1024
#define REC_TEXT_MAX 16384

static const char *const rec_phases[] = {RS_REC_STARTED, RS_REC_CORDONED, RS_REC_DRAINED,
                                         RS_REC_LAUNCHED, RS_REC_SWITCHED};
static const char *const rec_finals[] = {RS_REC_DONE, RS_REC_ROLLED_BACK, RS_REC_FAILED, RS_REC_ABANDONED};

int rs_sw_record_rank(const char *phase) {
  if (!phase) return -1;
  for (size_t i = 0; i < RS_ARRAY_SIZE(rec_phases); i++)
    if (strcmp(phase, rec_phases[i]) == 0) return (int)i;
  for (size_t i = 0; i < RS_ARRAY_SIZE(rec_finals); i++)
    if (strcmp(phase, rec_finals[i]) == 0) return (int)RS_ARRAY_SIZE(rec_phases);
  return -1;
}

bool rs_sw_record_final(const struct rs_sw_record *r) {
  return !r->id || rs_sw_record_rank(r->phase) >= (int)RS_ARRAY_SIZE(rec_phases) ||
         rs_sw_record_rank(r->phase) < 0;
}

void rs_sw_record_clear(struct rs_sw_record *r) {
  char **strs[] = {&r->id,   &r->phase,   &r->from,    &r->to,          &r->ns,
                   &r->image, &r->sandbox, &r->user,   &r->carrier,     &r->carrier_uid,
                   &r->carrier_sha256, &r->host};
  for (size_t i = 0; i < RS_ARRAY_SIZE(strs); i++) free(*strs[i]);
  for (size_t i = 0; i < _RS_JOB_MAX; i++) free(r->job_uid[i]);
  *r = (struct rs_sw_record){0};
}

int rs_sw_record_set(char **field, const char *value, rs_err_t *err) {
  char *v = NULL;
  if (value && !(v = strdup(value))) return rs_oom(err);
  free(*field);
  *field = v;
  return 0;
}

/* ---- JSON ---- */

json_t *rs_sw_record_to_json(const struct rs_sw_record *r) {
  json_auto_t *j = json_pack("{s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:b, s:b, s:I, s:s?}", "id", r->id,
                             "op", r->op == RS_OP_ROLLBACK ? "rollback" : "switch", "phase", r->phase, "from",
                             r->from, "to", r->to, "namespace", r->ns, "image", r->image, "sandbox", r->sandbox,
                             "secret", r->secret, "cordoned", r->cordoned, "started", (json_int_t)r->started,
                             "user", r->user);
  if (!j) return NULL;
  if (r->cordoned_at && json_object_set_new(j, "cordonedAt", json_integer(r->cordoned_at)) < 0) return NULL;
  if (r->host && (json_object_set_new(j, "host", json_string(r->host)) < 0 ||
                  json_object_set_new(j, "pid", json_integer(r->pid)) < 0))
    return NULL;
  if (r->carrier || r->carrier_uid || r->carrier_sha256) {
    json_t *c = json_pack("{s:s?, s:s?, s:s?}", "name", r->carrier, "uid", r->carrier_uid, "sha256",
                          r->carrier_sha256);
    if (!c || json_object_set_new(j, "carrier", c) < 0) return NULL;
  }
  json_t *jobs = NULL;
  for (int i = 0; i < _RS_JOB_MAX; i++) {
    if (!r->job_uid[i]) continue;
    if (!jobs && (!(jobs = json_object()) || json_object_set_new(j, "jobs", jobs) < 0)) return NULL;
    if (json_object_set_new(jobs, rs_job_role_name(i), json_string(r->job_uid[i])) < 0) return NULL;
  }
  return TAKE_PTR(j);
}

static int take(const json_t *o, const char *key, const char *source, char **dst, rs_err_t *err) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v)) return rs_fail(err, RS_E_INPUT, 0, "%s: %s is not a string", source, key);
  if (json_string_length(v) > REC_FIELD_MAX || strlen(json_string_value(v)) != json_string_length(v))
    return rs_fail(err, RS_E_LIMIT, 0, "%s: %s is too long or holds a NUL byte", source, key);
  return rs_sw_record_set(dst, json_string_value(v), err);
}

static int take_bool(const json_t *o, const char *key, const char *source, bool *dst, rs_err_t *err) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_boolean(v)) return rs_fail(err, RS_E_INPUT, 0, "%s: %s is not true or false", source, key);
  *dst = json_is_true(v);
  return 0;
}

static int take_time(const json_t *o, const char *key, const char *source, long long *dst, rs_err_t *err) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1LL << 40)
    return rs_fail(err, RS_E_INPUT, 0, "%s: %s is not a time in unix seconds", source, key);
  *dst = json_integer_value(v);
  return 0;
}

static int take_jobs(const json_t *jobs, const char *source, struct rs_sw_record *r, rs_err_t *err) {
  if (!jobs || json_is_null(jobs)) return 0;
  if (!json_is_object(jobs)) return rs_fail(err, RS_E_INPUT, 0, "%s: jobs is not an object", source);
  for (int i = 0; i < _RS_JOB_MAX; i++)
    if (take(jobs, rs_job_role_name(i), source, &r->job_uid[i], err) < 0) return -1;
  return 0;
}

static int take_all(const json_t *j, const char *src, struct rs_sw_record *r, rs_err_t *err) {
  static const struct {
    const char *key;
    size_t off;
  } strs[] = {
      {"id", offsetof(struct rs_sw_record, id)},       {"phase", offsetof(struct rs_sw_record, phase)},
      {"from", offsetof(struct rs_sw_record, from)},   {"to", offsetof(struct rs_sw_record, to)},
      {"namespace", offsetof(struct rs_sw_record, ns)}, {"image", offsetof(struct rs_sw_record, image)},
      {"sandbox", offsetof(struct rs_sw_record, sandbox)}, {"user", offsetof(struct rs_sw_record, user)},
      {"host", offsetof(struct rs_sw_record, host)},
  };
  long long pid = 0;
  for (size_t i = 0; i < RS_ARRAY_SIZE(strs); i++)
    if (take(j, strs[i].key, src, (char **)((char *)r + strs[i].off), err) < 0) return -1;
  const json_t *op = json_object_get(j, "op"), *carrier = json_object_get(j, "carrier");
  if (op && !(json_is_string(op) && (strcmp(json_string_value(op), "switch") == 0 ||
                                     strcmp(json_string_value(op), "rollback") == 0)))
    return rs_fail(err, RS_E_INPUT, 0, "%s: op is neither \"switch\" nor \"rollback\"", src);
  r->op = op && strcmp(json_string_value(op), "rollback") == 0 ? RS_OP_ROLLBACK : RS_OP_SWITCH;
  if (carrier && !json_is_null(carrier) && !json_is_object(carrier))
    return rs_fail(err, RS_E_INPUT, 0, "%s: carrier is not an object", src);
  if (take(carrier, "name", src, &r->carrier, err) < 0 || take(carrier, "uid", src, &r->carrier_uid, err) < 0 ||
      take(carrier, "sha256", src, &r->carrier_sha256, err) < 0 ||
      take_bool(j, "secret", src, &r->secret, err) < 0 || take_bool(j, "cordoned", src, &r->cordoned, err) < 0 ||
      take_time(j, "started", src, &r->started, err) < 0 ||
      take_time(j, "cordonedAt", src, &r->cordoned_at, err) < 0 || take_time(j, "pid", src, &pid, err) < 0 ||
      take_jobs(json_object_get(j, "jobs"), src, r, err) < 0)
    return -1;
  if (pid > 4194304) return rs_fail(err, RS_E_INPUT, 0, "%s: pid %lld is not a process id", src, pid);
  r->pid = (long)pid;
  if (r->id && !rs_run_id_valid(r->id))
    return rs_fail(err, RS_E_INPUT, 0, "%s: id \"%.64s\" is not a run id", src, r->id);
  if (r->phase && strlen(r->phase) > 64) return rs_fail(err, RS_E_INPUT, 0, "%s: phase is too long", src);
  return 0;
}

int rs_sw_record_from_json(const json_t *j, const char *source, struct rs_sw_record *ret, rs_err_t *err) {
  *ret = (struct rs_sw_record){0};
  if (!json_is_object(j)) return rs_fail(err, RS_E_INPUT, 0, "%s is not a JSON object", source);
  struct rs_sw_record r = {0};
  if (take_all(j, source, &r, err) < 0) {
    rs_sw_record_clear(&r);
    return -1;
  }
  *ret = r;
  return 0;
}

static json_t *load_text(const char *text, const char *source, rs_err_t *err) {
  if (strlen(text) > REC_TEXT_MAX) {
    rs_fail(err, RS_E_LIMIT, 0, "%s is longer than %d bytes", source, REC_TEXT_MAX);
    return NULL;
  }
  json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
  if (json_is_object(j)) return j;
  json_decref(j);
  rs_fail(err, RS_E_INPUT, 0, "%s is not a JSON object", source);
  return NULL;
}

/* The contract's state annotation, "<id> <phase>": it wins over the run
 * annotation's phase when the two name the same run (or the run
 * annotation is missing). */
static int apply_state(const char *state, struct rs_sw_record *r, rs_err_t *err) {
  const char *sp = strchr(state, ' ');
  if (!sp || sp == state || strlen(sp + 1) >= 64 || (size_t)(sp - state) > RS_RUN_ID_MAX) return 0;
  _cleanup_free_ char *id = strndup(state, (size_t)(sp - state));
  if (!id) return rs_oom(err);
  if (!rs_run_id_valid(id) || (r->id && strcmp(r->id, id) != 0)) return 0;
  if (rs_sw_record_set(&r->phase, sp + 1, err) < 0) return -1;
  if (!r->id) r->id = TAKE_PTR(id);
  return 0;
}

int rs_sw_record_from_node(const json_t *node, struct rs_sw_record *ret, rs_err_t *err) {
  const json_t *ann = json_object_get(json_object_get(node, "metadata"), "annotations");
  const char *state = json_string_value(json_object_get(ann, RS_HELPER_ANNOTATION_STATE));
  const char *run = json_string_value(json_object_get(ann, RS_ANN_RUN));
  *ret = (struct rs_sw_record){0};
  struct rs_sw_record r = {0};
  if (run) {
    json_auto_t *j = load_text(run, "annotation " RS_ANN_RUN, err);
    if (!j || rs_sw_record_from_json(j, "annotation " RS_ANN_RUN, &r, err) < 0)
      return rs_wrap(err, "node %s; remove it with `kubectl annotate node NODE %s- %s-`",
                     json_string_value(json_object_get(json_object_get(node, "metadata"), "name"))
                         ? json_string_value(json_object_get(json_object_get(node, "metadata"), "name"))
                         : "?",
                     RS_ANN_RUN, RS_HELPER_ANNOTATION_STATE);
  }
  if (state && strlen(state) <= 128 && apply_state(state, &r, err) < 0) {
    rs_sw_record_clear(&r);
    return -1;
  }
  *ret = r;
  return 0;
}

int rs_sw_record_from_lease(const struct rs_lease *l, struct rs_sw_record *ret, rs_err_t *err) {
  *ret = (struct rs_sw_record){0};
  if (!l->record) return 0;
  json_auto_t *j = load_text(l->record, "the lock's record", err);
  if (!j || rs_sw_record_from_json(j, "the lock's record", ret, err) < 0)
    return rs_wrap(err, "Lease %s/%s", l->ns ? l->ns : "?", l->name ? l->name : "?");
  if (ret->id) return 0;
  rs_sw_record_clear(ret);
  return rs_fail(err, RS_E_INPUT, 0, "Lease %s/%s: the lock's record names no run", l->ns ? l->ns : "?",
                 l->name ? l->name : "?");
}

/* ---- the claim ---- */

static bool live(const struct rs_sw_record *r) { return r && r->id && !rs_sw_record_final(r); }

int rs_sw_claim(const struct rs_sw_claim_in *in) {
  const struct rs_sw_record *m = in->mirror, *k = in->locked;
  if (!in->lease) return live(m) ? RS_CLAIM_UNBACKED : RS_CLAIM_FREE;
  if (!k || !k->id) return in->take_over ? RS_CLAIM_FREE : RS_CLAIM_UNREADABLE;
  if (!live(k)) return live(m) && strcmp(m->id, k->id) != 0 ? RS_CLAIM_UNBACKED : RS_CLAIM_FREE;
  bool consistent = live(m) ? strcmp(m->id, k->id) == 0
                            : rs_sw_record_rank(k->phase) <= rs_sw_record_rank(RS_REC_CORDONED);
  if (!consistent) return in->take_over ? RS_CLAIM_TAKE_OVER : RS_CLAIM_MISMATCH;
  if (k->user && in->me && strcmp(k->user, in->me) == 0 && !in->holder_alive) return RS_CLAIM_RESUME;
  return in->take_over ? RS_CLAIM_TAKE_OVER : RS_CLAIM_HELD;
}

char *rs_sw_holder(const struct rs_sw_record *r) {
  return rs_strdup_printf("%s (run %s, pid %ld on %s)", r->user ? r->user : "unknown user", r->id ? r->id : "?",
                          r->pid, r->host ? r->host : "?");
}

int rs_sw_record_set_self(struct rs_sw_record *r, rs_err_t *err) {
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) < 0) snprintf(host, sizeof host, "unknown host");
  r->pid = (long)getpid();
  return rs_sw_record_set(&r->host, host, err);
}

bool rs_sw_holder_alive(const struct rs_sw_record *r) {
  char host[256] = "", self[PATH_MAX], other[PATH_MAX], link[64];
  if (!r->host || r->pid <= 0 || gethostname(host, sizeof host - 1) < 0 || strcmp(host, r->host) != 0) return false;
  /* this process: its earlier run has returned (a rollout resuming a node) */
  if (r->pid == (long)getpid()) return false;
  if (kill((pid_t)r->pid, 0) < 0 && errno != EPERM) return false;
  snprintf(link, sizeof link, "/proc/%ld/exe", r->pid);
  ssize_t a = readlink("/proc/self/exe", self, sizeof self - 1), b = readlink(link, other, sizeof other - 1);
  /* a process we may not inspect: alive, of whatever program */
  if (b < 0) return errno == EACCES;
  if (a < 0) return true;
  return (size_t)a == (size_t)b && memcmp(self, other, (size_t)a) == 0;
}

/* "run ID (switch to T), phase P" */
static char *describe(const struct rs_sw_record *r) {
  return rs_strdup_printf("run %s (%s%s%s), phase %s", r->id ? r->id : "?",
                          r->op == RS_OP_ROLLBACK ? "rollback" : "switch", r->to ? " to " : "", r->to ? r->to : "",
                          r->phase ? r->phase : RS_REC_STARTED);
}

char *rs_sw_claim_why(int claim, const struct rs_sw_claim_in *in) {
  const struct rs_lease *l = in->lease;
  const char *node = in->node;
  _cleanup_free_ char *m = in->mirror && in->mirror->id ? describe(in->mirror) : NULL;
  _cleanup_free_ char *k = in->locked && in->locked->id ? describe(in->locked) : NULL;
  _cleanup_free_ char *where = l ? rs_strdup_printf("lock Lease %s/%s", l->ns ? l->ns : "?", l->name ? l->name : "?")
                                 : NULL;
  const char *holder = l && l->holder ? l->holder : "nobody";
  const char *since = l && l->acquired ? l->acquired : "an unknown time";
  switch (claim) {
  case RS_CLAIM_HELD:
    return rs_strdup_printf("node %s is held by %s: %s, since %s (%s, last written %s)%s; another run of this "
                            "node is in progress and nothing was changed.  Wait for it to finish; if its "
                            "plugin is gone for good, rerun with --take-over to continue that run as yours",
                            node, holder, k ? k : "?", since, where ? where : "?",
                            l && l->renewed ? l->renewed : "?",
                            in->holder_alive ? "; its plugin is still running on this machine" : "");
  case RS_CLAIM_UNBACKED: {
    const char *mns = in->mirror->ns;
    _cleanup_free_ char *other = mns && in->ns && strcmp(mns, in->ns) != 0
        ? rs_strdup_printf("  They name working namespace %s: if only your operators can write it and the "
                           "run was started there, rerun with -n %s.", mns, mns)
        : NULL;
    return rs_strdup_printf(
        "node %s's annotations (%s, %s) say %s is in progress, but %s backs it in namespace %s: they were "
        "written by something else than a run of this plugin (anyone who may patch the node can write them, "
        "its own kubelet included) or left by a run whose lock was removed, and are not trusted.  Nothing "
        "was changed.%s  If no switch is running on the node, remove them with `kubectl annotate node %s %s- "
        "%s-` and run again (if run %s did change the node, `kubectl runtime-switch rollback node %s --id %s` "
        "then puts it back)",
        node, RS_HELPER_ANNOTATION_STATE, RS_ANN_RUN, m ? m : "a run",
        l ? "no run in its lock" : "no lock Lease", in->ns ? in->ns : "?", other ? other : "", node,
        RS_HELPER_ANNOTATION_STATE, RS_ANN_RUN, in->mirror->id, node, in->mirror->id);
  }
  case RS_CLAIM_MISMATCH:
    return rs_strdup_printf(
        "node %s's annotations name %s, but its %s holds %s of %s (since %s): one of them was changed "
        "by hand.  Nothing was changed.  The lock is the record this plugin trusts: rerun with --take-over "
        "to continue the lock's run (the annotations are written again from it)",
        node, m ? m : "no run in progress", where ? where : "lock", k ? k : "?", holder, since);
  case RS_CLAIM_UNREADABLE:
    return rs_strdup_printf("the %s of node %s (holder %s, since %s) carries no run record this plugin can "
                            "read.  Nothing was changed.  If no switch of the node is running, rerun with "
                            "--take-over to replace it", where ? where : "lock", node, holder, since);
  default:
    return rs_strdup_printf("node %s: no refusal", node);
  }
}

/* ---- the lock held by one run ---- */

void rs_sw_lock_clear(struct rs_sw_lock *l) {
  rs_lease_clear(&l->lease);
  free(l->me);
  *l = (struct rs_sw_lock){0};
}

static char *node_path(const char *node) {
  _cleanup_free_ char *en = rs_kube_escape(node);
  return en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
}

int rs_sw_lock_save(rs_kube_client_t *c, struct rs_sw_lock *l, const char *node, struct rs_sw_record *rec,
                    const char *phase, rs_err_t *err) {
  if (rs_sw_record_set(&rec->phase, phase, err) < 0 || rs_sw_record_set(&rec->user, l->me, err) < 0 ||
      rs_sw_record_set_self(rec, err) < 0)
    return -1;
  json_auto_t *rj = rs_sw_record_to_json(rec);
  _cleanup_free_ char *txt = rj ? json_dumps(rj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  _cleanup_free_ char *state = rs_strdup_printf("%s %s", rec->id, phase);
  _cleanup_free_ char *path = node_path(node);
  if (!txt || !state || !path) return rs_oom(err);
  if (!l->held)
    return rs_fail(err, RS_E_INPUT, 0, "run %s does not hold the lock of node %s", rec->id, node);
  if (rs_lease_update(c, &l->lease, NULL, txt, err) < 0) return -1;
  json_auto_t *patch = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "annotations",
                                 RS_HELPER_ANNOTATION_STATE, state, RS_ANN_RUN, txt);
  if (!patch) return rs_oom(err);
  if (rs_kube_patch(c, path, RS_PATCH_MERGE, patch, NULL, err) < 0)
    return rs_wrap(err, "recording the switch's progress on node %s", node);
  if (rs_sw_record_rank(phase) < (int)RS_ARRAY_SIZE(rec_phases)) return 0;
  if (rs_lease_release(c, &l->lease, err) < 0) return -1;
  l->held = l->found = false;
  return 0;
}
