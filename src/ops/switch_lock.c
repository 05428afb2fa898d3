/* The node's lock for one run of the switch (see ops/switch_record.h):
 * who asks and what holds the node, taking the lock, what a resumed run
 * finds (its Jobs, the node uncordoned since), recording progress, and
 * binding the run's Jobs to its record by their UIDs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/deliver.h"
#include "ops/lease.h"
#include "ops/switch.h"
#include "ops/switch_record.h"
#include "switch_int.h"

const char *sw_ns(const struct sw *s) { return s->o->ns ? s->o->ns : RS_DELIVER_DEFAULT_NS; }

static int refuse(struct sw *s, int claim, const struct rs_sw_claim_in *in, rs_err_t *err) {
  _cleanup_free_ char *why = rs_sw_claim_why(claim, in);
  if (!why) return rs_oom(err);
  rs_fail(err, RS_E_INPUT, 0, "%s", why);
  return sw_fail_refused(s, err);
}

/* The lock's record, parsed; an unreadable one is no record (the claim
 * then refuses it, or replaces it on --take-over). */
static int locked_record(struct sw *s, struct rs_sw_record *ret, bool *ret_ok, rs_err_t *err) {
  rs_err_t e = RS_ERR_INIT;
  *ret_ok = rs_sw_record_from_lease(&s->lock.lease, ret, &e) == 0 && ret->id;
  if (!*ret_ok && e.kind == RS_E_SYS) {
    rs_err_move(err, &e);
    return -1;
  }
  if (e.msg) sw_emit(&s->ev, RS_SW_EV_WARNING, RS_PH_CHECK, "%s", e.msg);
  rs_err_clear(&e);
  return 0;
}

int sw_lock_claim(struct sw *s, bool *ret_in_progress, rs_err_t *err) {
  *ret_in_progress = false;
  _cleanup_(rs_sw_record_clear) struct rs_sw_record mirror = {0}, locked = {0};
  if (rs_sw_record_from_node(s->node, &mirror, err) < 0) return -1;
  if (s->o->user) {
    if (rs_sw_record_set(&s->lock.me, s->o->user, err) < 0) return -1;
  } else if (rs_lease_whoami(s->c, &s->lock.me, &s->lock.me_verified, err) < 0) {
    return -1;
  }
  _cleanup_free_ char *name = rs_lease_name(RS_LOCK_PREFIX, s->o->node);
  if (!name) return rs_oom(err);
  if (rs_lease_read(s->c, sw_ns(s), name, &s->lock.lease, &s->lock.found, err) < 0) return -1;
  bool readable = false;
  if (s->lock.found && locked_record(s, &locked, &readable, err) < 0) return -1;
  struct rs_sw_claim_in in = {.node = s->o->node, .ns = sw_ns(s), .mirror = &mirror,
                              .lease = s->lock.found ? &s->lock.lease : NULL, .locked = readable ? &locked : NULL,
                              .me = s->lock.me, .take_over = s->o->take_over,
                              .holder_alive = readable && rs_sw_holder_alive(&locked)};
  int claim = rs_sw_claim(&in);
  if (claim >= RS_CLAIM_HELD) return refuse(s, claim, &in, err);
  if (claim == RS_CLAIM_TAKE_OVER)
    sw_emit(&s->ev, RS_SW_EV_WARNING, RS_PH_CHECK, "--take-over: node %s was held by %s (run %s, phase %s, since "
            "%s); its run continues as yours", s->o->node, s->lock.lease.holder ? s->lock.lease.holder : "nobody",
            locked.id, locked.phase ? locked.phase : RS_REC_STARTED,
            s->lock.lease.acquired ? s->lock.lease.acquired : "?");
  if (claim != RS_CLAIM_FREE && mirror.id && strcmp(mirror.id, locked.id) == 0 &&
      rs_sw_record_rank(mirror.phase) > rs_sw_record_rank(locked.phase))
    sw_emit(&s->ev, RS_SW_EV_WARNING, RS_PH_CHECK, "node %s's annotations say run %s got to phase %s; its lock "
            "says %s, which is what counts", s->o->node, locked.id, mirror.phase, locked.phase);
  rs_sw_record_clear(&s->rec);
  struct rs_sw_record *take = claim == RS_CLAIM_FREE ? &mirror : &locked;
  s->rec = *take;
  *take = (struct rs_sw_record){0};
  if (claim == RS_CLAIM_FREE) return 0;
  /* the lock is in this namespace: so is the run */
  if (rs_sw_record_set(&s->rec.ns, sw_ns(s), err) < 0) return -1;
  /* nothing recorded on the node yet: the run goes on as a first run */
  if (s->rec.phase && strcmp(s->rec.phase, RS_REC_STARTED) == 0 && rs_sw_record_set(&s->rec.phase, NULL, err) < 0)
    return -1;
  *ret_in_progress = true;
  return 0;
}

static const char *label(const json_t *o, const char *key) {
  return json_string_value(json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), key));
}

/* A Job found under one of the run's names: the one it recorded, or --
 * created before the run heard back -- one that carries its labels. */
static int bind_job(struct sw *s, int role, const json_t *job, rs_err_t *err) {
  const json_t *md = json_object_get(job, "metadata");
  const char *uid = json_string_value(json_object_get(md, "uid"));
  const char *name = json_string_value(json_object_get(md, "name"));
  const char *want = s->rec.job_uid[role];
  const char *id = label(job, RS_LABEL_ID), *by = label(job, RS_LABEL_MANAGED_BY);
  const char *on = json_string_value(json_object_get(json_object_get(md, "annotations"), RS_ANN_NODE));
  if (!uid) return 0;
  if (want && strcmp(uid, want) == 0) return 0;
  if (!want && id && strcmp(id, s->rec.id) == 0 && by && strcmp(by, RS_MANAGED_BY) == 0 && on &&
      strcmp(on, s->o->node) == 0)
    return rs_sw_record_set(&s->rec.job_uid[role], uid, err);
  rs_fail(err, RS_E_INPUT, 0, "Job %s/%s is not the one run %s created (its UID is %s, the run recorded %s): "
          "someone deleted and created it again.  Nothing more was done; look at it (`kubectl -n %s get job %s "
          "-o yaml`), delete it if it is not yours, and rerun", sw_ns(s), name ? name : "?", s->rec.id, uid,
          want ? want : "none and it does not carry the run's labels", sw_ns(s), name ? name : "?");
  return sw_fail_refused(s, err);
}

int sw_lock_resume_checks(struct sw *s, bool unschedulable, rs_err_t *err) {
  _cleanup_free_ char *ens = rs_kube_escape(sw_ns(s));
  _cleanup_free_ char *path = ens ? rs_strdup_printf("/apis/batch/v1/namespaces/%s/jobs", ens) : NULL;
  if (!path) return rs_oom(err);
  json_auto_t *list = NULL;
  if (rs_kube_get(s->c, path, &list, err) < 0) return rs_wrap(err, "listing the Jobs in %s", sw_ns(s));
  int launch = s->rec.op == RS_OP_ROLLBACK ? RS_JOB_ROLLBACK : RS_JOB_SWITCH;
  bool launched = false;
  for (int role = 0; role < _RS_JOB_MAX; role++) {
    _cleanup_free_ char *name = rs_deliver_job_name(s->rec.id, role);
    if (!name) return rs_oom(err);
    size_t i;
    json_t *job;
    json_array_foreach(json_object_get(list, "items"), i, job) {
      const char *n = json_string_value(json_object_get(json_object_get(job, "metadata"), "name"));
      if (!n || strcmp(n, name) != 0) continue;
      if (bind_job(s, role, job, err) < 0) return -1;
      launched |= role == launch;
    }
  }
  /* Killed after the API server created the launch Job, before the record
   * said so: the Job, not the record, says the node is switching. */
  if (launched && s->resume == rs_sw_record_rank(RS_REC_DRAINED)) {
    sw_emit(&s->ev, RS_SW_EV_INFO, RS_PH_CHECK, "run %s had launched its Job before it stopped (its record says "
            "%s): following it", s->rec.id, s->rec.phase);
    s->resume = rs_sw_record_rank(RS_REC_LAUNCHED);
  }
  if (!unschedulable && s->resume >= rs_sw_record_rank(RS_REC_CORDONED))
    sw_emit(&s->ev, RS_SW_EV_WARNING, RS_PH_CHECK, "node %s was uncordoned since run %s %s it: it is cordoned "
            "again%s", s->o->node, s->rec.id, s->rec.cordoned ? "cordoned" : "found it cordoned",
            s->resume < rs_sw_record_rank(RS_REC_LAUNCHED) ? " and drained again" : "");
  return 0;
}

/* The record as the lock carries it before anything is recorded on the
 * node: phase "started". */
static char *record_text(struct sw *s) {
  json_auto_t *j = rs_sw_record_to_json(&s->rec);
  if (!j || (!s->rec.phase && json_object_set_new(j, "phase", json_string(RS_REC_STARTED)) < 0)) return NULL;
  return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

int sw_lock_take(struct sw *s, rs_err_t *err) {
  if (s->lock.held) return 0;
  if (rs_sw_record_set(&s->rec.user, s->lock.me, err) < 0 || rs_sw_record_set_self(&s->rec, err) < 0) return -1;
  _cleanup_free_ char *holder = rs_sw_holder(&s->rec);
  _cleanup_free_ char *txt = record_text(s);
  _cleanup_free_ char *name = rs_lease_name(RS_LOCK_PREFIX, s->o->node);
  json_auto_t *ann = json_pack("{s:s}", RS_ANN_NODE, s->o->node);
  if (!holder || !txt || !name || !ann) return rs_oom(err);
  if (s->lock.found) {
    if (rs_lease_update(s->c, &s->lock.lease, holder, txt, err) < 0) return -1;
    s->lock.held = true;
    return 0;
  }
  rs_lease_clear(&s->lock.lease);
  int r = rs_lease_take(s->c, sw_ns(s), name, holder, txt, ann, &s->lock.lease, err);
  if (r < 0) return -1;
  s->lock.found = true;
  if (r == 0) {
    s->lock.held = true;
    return 0;
  }
  /* taken by another run since the check read it */
  _cleanup_(rs_sw_record_clear) struct rs_sw_record locked = {0}, none = {0};
  bool readable = false;
  if (locked_record(s, &locked, &readable, err) < 0) return -1;
  struct rs_sw_claim_in in = {.node = s->o->node, .ns = sw_ns(s), .mirror = &none, .lease = &s->lock.lease,
                              .locked = readable ? &locked : NULL, .me = s->lock.me,
                              .holder_alive = readable && rs_sw_holder_alive(&locked)};
  return refuse(s, readable ? RS_CLAIM_HELD : RS_CLAIM_UNREADABLE, &in, err);
}

void sw_lock_finish(struct sw *s) {
  if (!s->lock.held) return;
  bool over = s->o->dry_run || ((s->res->outcome == RS_SW_REFUSED || s->res->outcome == RS_SW_DRY_RUN) &&
                                (!s->rec.phase || rs_sw_record_final(&s->rec)));
  if (!over) return;
  rs_err_t e = RS_ERR_INIT;
  if (rs_lease_release(s->c, &s->lock.lease, &e) == 0) s->lock.held = false;
  else sw_emit(&s->ev, RS_SW_EV_WARNING, RS_PH_CLEANUP, "%s", e.msg ? e.msg : "releasing the lock failed");
  rs_err_clear(&e);
}

int sw_record_save(struct sw *s, const char *phase, rs_err_t *err) {
  if (s->o->dry_run) return 0;
  return rs_sw_lock_save(s->c, &s->lock, s->o->node, &s->rec, phase, err);
}

int sw_lock_bind_job(struct sw *s, int role, const json_t *job, bool existed, rs_err_t *err) {
  if (existed) return bind_job(s, role, job, err);
  return rs_sw_record_set(&s->rec.job_uid[role],
                          json_string_value(json_object_get(json_object_get(job, "metadata"), "uid")), err);
}
