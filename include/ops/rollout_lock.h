/* The rollout's own lock (issue 12): one Lease per working namespace,
 * RS_ROLLOUT_LOCK, held by the rollout that runs there (ops/lease.h: taken
 * with a POST, changed only at the resourceVersion read, never expiring by
 * itself).
 *
 * Why one per namespace and not one per node set: a rollout's promises
 * are cluster-wide -- at most --max-unavailable nodes away, one zone in
 * flight, control-plane nodes one at a time with the others Ready, batches
 * sized to the budgets -- and two rollouts at once break them even over
 * different nodes.  Reading the other rollouts' records before starting
 * (rs_rollout_cli_overlap) leaves a race: two rollouts that start at the
 * same moment both find nothing.  The Lease's POST has one winner.
 *
 * Order: the record (a ConfigMap) is created first, then the lock taken
 * for its id; a loser deletes the record it just made.  So a Lease always
 * names a rollout whose record was made, and the lock is released only
 * when that record is final (done, aborted):
 *
 *   - absent: taken (POST);
 *   - naming this rollout: kept, resumed by whoever resumes the rollout
 *     (the holder changes to them, leaseTransitions + 1);
 *   - naming a rollout whose record is final: taken over (it ended
 *     without releasing: killed after its last write, or aborted by
 *     someone who may not delete Leases), said in *ret_note;
 *   - naming another rollout that is not final, or one whose record is
 *     gone, or unreadable: refused (RS_E_INPUT), naming the holder, the
 *     rollout, its state and owner, and what to do.
 *
 * One plugin drives a rollout at a time: while it runs, it renews the
 * Lease (renewTime) every RS_ROLLOUT_LOCK_RENEW_S with "active": true in
 * its record; halted, paused or interrupted it writes "active": false.  The
 * same rollout run again (the same command, `rollout resume`) from
 * another host or process while the lock is active and was renewed less
 * than RS_ROLLOUT_LOCK_LIVE_S ago is refused, naming host and pid: two
 * plugins would drive the same switches.  A plugin killed (or a machine
 * asleep) leaves it active: it counts as gone once not renewed for that
 * long.  The clocks of the two machines are compared: they must agree
 * within that much.
 *
 * The Lease carries {"rollout": ID, "user": WHO, "host": HOST, "pid": PID,
 * "active": BOOL} in its record annotation (RS_ANN_LEASE_RECORD),
 * holderIdentity "WHO (rollout ID)".  Library code: no printing. */
#ifndef RS_OPS_ROLLOUT_LOCK_H
#define RS_OPS_ROLLOUT_LOCK_H

#include <stdbool.h>

#include "common/err.h"
#include "kube/client.h"
#include "ops/lease.h"

#define RS_ROLLOUT_LOCK "rsw-rollout"
#define RS_ROLLOUT_LOCK_RENEW_S 10
#define RS_ROLLOUT_LOCK_LIVE_S 45

/* Who takes the lock: the API server's name for the user, the host
 * (may be NULL) and the process. */
struct rs_rollout_me {
  const char *user;
  const char *host;
  long pid;
};

/* This machine's name into buf (n bytes; "" when it has none). */
void rs_rollout_me_host(char *buf, size_t n);

/* The rollout id a lock names (heap; NULL: it names none this plugin
 * reads, *ret_why says why when not NULL). */
char *rs_rollout_lock_id(const struct rs_lease *l, char **ret_why);

/* Take, keep or take over the lock for rollout id as me.  0: held, *ret
 * the Lease as written (active), *ret_note (heap, may be NULL) what
 * happened when it was not a plain take.  -1: refused (RS_E_INPUT) or an
 * error. */
int rs_rollout_lock_take(rs_kube_client_t *c, const char *ns, const char *id, const struct rs_rollout_me *me,
                         struct rs_lease *ret, char **ret_note, rs_err_t *err);

/* The held lock l written again at its resourceVersion: renewTime now,
 * active or not (a 409: someone else changed it). */
int rs_rollout_lock_renew(rs_kube_client_t *c, struct rs_lease *l, const char *id, const struct rs_rollout_me *me,
                          bool active, rs_err_t *err);

/* Whether a rollout may start here, before anything is written: 0 and
 * *ret_why NULL when the lock is absent, names own_id (may be NULL; not
 * driven by another plugin now, see above) or a final rollout; 0 and
 * *ret_why the refusal (heap) otherwise.  me: this process. */
int rs_rollout_lock_check(rs_kube_client_t *c, const char *ns, const char *own_id, const struct rs_rollout_me *me,
                          char **ret_why, rs_err_t *err);

/* Release the lock l (as taken) if it still names rollout id: a DELETE
 * with its UID and resourceVersion as preconditions. */
int rs_rollout_lock_release(rs_kube_client_t *c, struct rs_lease *l, rs_err_t *err);

/* The lock of ns, released if it names rollout id (rollout abort); absent
 * or another's: 0, nothing done.  *ret_dropped says whether it was. */
int rs_rollout_lock_drop(rs_kube_client_t *c, const char *ns, const char *id, bool *ret_dropped,
                         rs_err_t *err);

#endif
