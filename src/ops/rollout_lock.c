/* The rollout's own lock (include/ops/rollout_lock.h): one Lease per
 * working namespace, naming the rollout that holds it. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube/exec_auth.h"
#include "ops/deliver.h"
#include "ops/rollout_lock.h"
#include "ops/rollout_record.h"

enum { LK_OURS, LK_STALE, LK_HELD };

char *rs_rollout_lock_id(const struct rs_lease *l, char **ret_why) {
  if (ret_why) *ret_why = NULL;
  const char *why = "no record";
  json_auto_t *j = l->record ? json_loadb(l->record, strlen(l->record), JSON_REJECT_DUPLICATES, NULL) : NULL;
  const char *id = json_string_value(json_object_get(j, "rollout"));
  if (l->record && !j) why = "its record is not JSON";
  else if (l->record && !id) why = "its record names no rollout";
  else if (id && !rs_run_id_valid(id)) why = "its record's rollout is not a rollout id";
  else if (id) return strdup(id);
  if (ret_why) *ret_why = strdup(why);
  return NULL;
}

void rs_rollout_me_host(char *buf, size_t n) {
  if (!n) return;
  if (gethostname(buf, n - 1) < 0) buf[0] = '\0';
  buf[n - 1] = '\0';
}

static const char *or_none(const char *s, const char *none) { return s && *s ? s : none; }

/* Whether the lock l, naming this process's rollout, is held by another
 * plugin that is running it now: its record says active, and it was
 * renewed less than RS_ROLLOUT_LOCK_LIVE_S ago (by the clocks of both
 * machines) from another host or process.  *ret_why (heap) the refusal. */
static int live_elsewhere(const struct rs_lease *l, const char *ns, const struct rs_rollout_me *me, char **ret_why) {
  *ret_why = NULL;
  json_auto_t *j = l->record ? json_loadb(l->record, strlen(l->record), JSON_REJECT_DUPLICATES, NULL) : NULL;
  if (!json_is_true(json_object_get(j, "active"))) return 0;
  const char *host = json_string_value(json_object_get(j, "host"));
  json_int_t pid = json_integer_value(json_object_get(j, "pid"));
  bool here = host && me && me->host && strcmp(host, me->host) == 0;
  if (here && pid == (json_int_t)me->pid) return 0;
  /* on this host, a plugin that is gone is seen at once */
  if (here && (pid <= 0 || pid > INT32_MAX || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))) return 0;
  long long renewed;
  if (!l->renewed || rs_parse_rfc3339(l->renewed, &renewed) < 0) return 0;
  long long age = (long long)time(NULL) - renewed;
  if (age >= RS_ROLLOUT_LOCK_LIVE_S || age <= -RS_ROLLOUT_LOCK_LIVE_S) return 0;
  const char *id = json_string_value(json_object_get(j, "rollout"));
  *ret_why = rs_strdup_printf("rollout %s is running now: its lock (Lease %s/%s) is held by %s on %s (pid %lld), "
                              "renewed %lld s ago; one plugin drives a rollout at a time: wait for it, or stop it "
                              "there (Ctrl-C pauses it); if that plugin is gone (killed, its machine asleep), run "
                              "this again after %d s", id ? id : "?", ns, RS_ROLLOUT_LOCK,
                              l->holder ? l->holder : "nobody", host ? host : "an unknown host", (long long)pid,
                              age < 0 ? 0 : age, RS_ROLLOUT_LOCK_LIVE_S);
  return *ret_why ? 1 : -1;
}

/* What the lock l (found) means for rollout id (NULL: a rollout not made
 * yet): LK_OURS, LK_STALE (*ret_note), LK_HELD (*ret_why); -1 error. */
static int judge(rs_kube_client_t *c, const char *ns, const char *id, const struct rs_rollout_me *me,
                 const struct rs_lease *l, char **ret_why, char **ret_note, rs_err_t *err) {
  *ret_why = NULL;
  if (ret_note) *ret_note = NULL;
  const char *holder = or_none(l->holder, "nobody"), *since = or_none(l->acquired, "an unknown time");
  _cleanup_free_ char *bad = NULL;
  _cleanup_free_ char *other = rs_rollout_lock_id(l, &bad);
  if (!other && !bad) return rs_oom(err);
  if (!other) {
    *ret_why = rs_strdup_printf("the rollout lock (Lease %s/%s) is held by %s with a record this plugin cannot "
                                "read (%s): not trusted; look at it (`kubectl -n %s get lease %s -o yaml`) and "
                                "delete it if no rollout runs", ns, RS_ROLLOUT_LOCK, holder, bad, ns,
                                RS_ROLLOUT_LOCK);
    return *ret_why ? LK_HELD : rs_oom(err);
  }
  if (id && strcmp(other, id) == 0) {
    int lv = live_elsewhere(l, ns, me, ret_why);
    return lv < 0 ? rs_oom(err) : lv ? LK_HELD : LK_OURS;
  }
  struct rs_ror_record r = {0};
  bool found = false;
  if (rs_ror_read(c, ns, other, &r, &found, err) < 0)
    return rs_wrap(err, "reading rollout %s, which holds the rollout lock", other);
  int st = LK_HELD;
  if (found && rs_ror_final(r.state)) {
    st = LK_STALE;
    if (ret_note && !(*ret_note = rs_strdup_printf("the rollout lock (Lease %s/%s) still named rollout %s, which "
                                                   "is %s: taken over", ns, RS_ROLLOUT_LOCK, other,
                                                   rs_ror_state_name(r.state))))
      st = -1;
  } else if (found) {
    *ret_why = rs_strdup_printf("rollout %s (%s, owner %s%s%s) holds the rollout lock (Lease %s/%s, held by %s "
                                "since %s): one rollout at a time in namespace %s; let it end, resume it "
                                "(`kubectl runtime-switch rollout resume %s`) or stop it (`kubectl runtime-switch "
                                "rollout abort %s`)", other, rs_ror_state_name(r.state), r.owner,
                                r.host ? " on " : "", r.host ? r.host : "", ns, RS_ROLLOUT_LOCK, holder, since, ns,
                                other, other);
    if (!*ret_why) st = -1;
  } else {
    *ret_why = rs_strdup_printf("the rollout lock (Lease %s/%s) is held by %s since %s for rollout %s, whose "
                                "record (ConfigMap %s/%s%s) is not there: a rollout starting, or one whose record "
                                "was deleted; if none runs, delete the Lease (`kubectl -n %s delete lease %s`)",
                                ns, RS_ROLLOUT_LOCK, holder, since, other, ns, RS_ROR_PREFIX, other, ns,
                                RS_ROLLOUT_LOCK);
    if (!*ret_why) st = -1;
  }
  rs_ror_record_clear(&r);
  return st < 0 ? rs_oom(err) : st;
}

static char *lock_record(const char *id, const struct rs_rollout_me *me, bool active) {
  json_auto_t *j = json_pack("{s:s, s:s, s:s*, s:I, s:b}", "rollout", id, "user", me->user, "host", me->host,
                             "pid", (json_int_t)me->pid, "active", active);
  return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

int rs_rollout_lock_take(rs_kube_client_t *c, const char *ns, const char *id, const struct rs_rollout_me *me,
                         struct rs_lease *ret, char **ret_note, rs_err_t *err) {
  *ret_note = NULL;
  *ret = (struct rs_lease){0};
  _cleanup_free_ char *holder = rs_strdup_printf("%s (rollout %s)", me->user, id);
  _cleanup_free_ char *txt = lock_record(id, me, true);
  if (!holder || !txt) return rs_oom(err);
  _cleanup_(rs_lease_clear) struct rs_lease l = {0};
  int r = rs_lease_take(c, ns, RS_ROLLOUT_LOCK, holder, txt, NULL, &l, err);
  if (r < 0) return rs_wrap(err, "taking the rollout lock");
  if (r == 1) {
    _cleanup_free_ char *why = NULL, *note = NULL;
    int st = judge(c, ns, id, me, &l, &why, &note, err);
    if (st < 0) return -1;
    if (st == LK_HELD) return rs_fail(err, RS_E_INPUT, 0, "%s", why);
    if (st == LK_OURS && l.holder && strcmp(l.holder, holder) != 0 &&
        !(note = rs_strdup_printf("rollout %s was held by %s: it is yours now", id, l.holder)))
      return rs_oom(err);
    /* at the resourceVersion read: a rollout that took it meanwhile wins */
    if (rs_lease_update(c, &l, holder, txt, err) < 0) return rs_wrap(err, "taking the rollout lock");
    *ret_note = TAKE_PTR(note);
  }
  *ret = l;
  l = (struct rs_lease){0};
  return 0;
}

int rs_rollout_lock_check(rs_kube_client_t *c, const char *ns, const char *own_id, const struct rs_rollout_me *me,
                          char **ret_why, rs_err_t *err) {
  *ret_why = NULL;
  _cleanup_(rs_lease_clear) struct rs_lease l = {0};
  bool found = false;
  if (rs_lease_read(c, ns, RS_ROLLOUT_LOCK, &l, &found, err) < 0) return rs_wrap(err, "reading the rollout lock");
  if (!found) return 0;
  _cleanup_free_ char *why = NULL;
  int st = judge(c, ns, own_id, me, &l, &why, NULL, err);
  if (st < 0) return -1;
  *ret_why = TAKE_PTR(why);
  return 0;
}

int rs_rollout_lock_renew(rs_kube_client_t *c, struct rs_lease *l, const char *id, const struct rs_rollout_me *me,
                          bool active, rs_err_t *err) {
  if (!l->name) return 0;
  _cleanup_free_ char *holder = rs_strdup_printf("%s (rollout %s)", me->user, id);
  _cleanup_free_ char *txt = lock_record(id, me, active);
  if (!holder || !txt) return rs_oom(err);
  if (rs_lease_update(c, l, holder, txt, err) < 0) return rs_wrap(err, "renewing the rollout lock");
  return 0;
}

int rs_rollout_lock_release(rs_kube_client_t *c, struct rs_lease *l, rs_err_t *err) {
  if (!l->name) return 0;
  if (rs_lease_release(c, l, err) < 0) return rs_wrap(err, "releasing the rollout lock");
  return 0;
}

int rs_rollout_lock_drop(rs_kube_client_t *c, const char *ns, const char *id, bool *ret_dropped, rs_err_t *err) {
  *ret_dropped = false;
  _cleanup_(rs_lease_clear) struct rs_lease l = {0};
  bool found = false;
  if (rs_lease_read(c, ns, RS_ROLLOUT_LOCK, &l, &found, err) < 0) return rs_wrap(err, "reading the rollout lock");
  if (!found) return 0;
  _cleanup_free_ char *other = rs_rollout_lock_id(&l, NULL);
  if (!other || strcmp(other, id) != 0) return 0;
  if (rs_lease_release(c, &l, err) < 0) return rs_wrap(err, "releasing the rollout lock");
  *ret_dropped = true;
  return 0;
}
