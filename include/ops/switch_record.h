/* The record of a run, and the node's lock that holds it.
 *
 * The authoritative record lives with the lock: a coordination.k8s.io/v1
 * Lease per node in the working namespace (ops/lease.h), named
 * RS_LOCK_PREFIX + node, holderIdentity "<user> (run <id>)", the record as
 * its RS_ANN_LEASE_RECORD annotation.  Only the tool's operators can write
 * that namespace.  The node carries a mirror of the record for humans and
 * `status`: the contract's RS_HELPER_ANNOTATION_STATE ("<id> <phase>") and
 * RS_ANN_RUN (the same JSON).  Anyone who may patch the node (its own
 * kubelet included) can write the mirror, so it is only compared, never
 * trusted: a run is resumed from the lock's record.
 *
 * Writes go lock first, mirror second (the mirror lags by at most one
 * write); a final record is written, mirrored, then the lock is released.
 * Every parser here bounds and checks its input. */
#ifndef RS_OPS_SWITCH_RECORD_H
#define RS_OPS_SWITCH_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"
#include "ops/deliver.h"
#include "ops/lease.h"

#define RS_ANN_RUN "runtime-switch.kubectl.dev/run"
/* The lock of node N is the Lease RS_LOCK_PREFIX N (rs_lease_name). */
#define RS_LOCK_PREFIX "rsw-node-"

enum rs_sw_op { RS_OP_SWITCH, RS_OP_ROLLBACK };

/* One run's record. */
struct rs_sw_record {
  char *id;
  int op;                       /* enum rs_sw_op */
  char *phase;                  /* see RS_REC_*; NULL: nothing recorded yet */
  char *from, *to;
  char *ns;
  char *image;
  char *sandbox;                /* the plan's sandbox image (verify fallback) */
  bool secret;
  bool cordoned;                /* we cordoned the node (so we uncordon it) */
  long long started;            /* unix seconds */
  long long cordoned_at;        /* unix seconds we cordoned it; 0: we did not */
  char *user;                   /* who ran it (the lock's holder) */
  char *host;                   /* where its plugin ran, and its process id */
  long pid;
  char *carrier;                /* the helper's carrier: name, UID, sha256 */
  char *carrier_uid;
  char *carrier_sha256;
  char *job_uid[_RS_JOB_MAX];   /* the UIDs of the Jobs created so far */
};
/* Phases recorded, in order; the last four are final. */
#define RS_REC_STARTED "started"
#define RS_REC_CORDONED "cordoned"
#define RS_REC_DRAINED "drained"
#define RS_REC_LAUNCHED "launched"
#define RS_REC_SWITCHED "switched"
#define RS_REC_DONE "done"
#define RS_REC_ROLLED_BACK "rolled-back"
#define RS_REC_FAILED "failed"
#define RS_REC_ABANDONED "abandoned"
bool rs_sw_record_final(const struct rs_sw_record *r);
/* Order of a recorded phase (0 started ... 4 switched, 5 final); -1 unknown. */
int rs_sw_record_rank(const char *phase);
void rs_sw_record_clear(struct rs_sw_record *r);
json_t *rs_sw_record_to_json(const struct rs_sw_record *r);
/* A record from its JSON object (bounded, type-checked; what names the
 * source goes in front of errors).  *ret zeroed first. */
int rs_sw_record_from_json(const json_t *j, const char *source, struct rs_sw_record *ret,
                           rs_err_t *err);
/* The node's mirror; *ret zeroed (no id) when absent. */
int rs_sw_record_from_node(const json_t *node, struct rs_sw_record *ret,
                           rs_err_t *err);
/* The lock's record; *ret zeroed (no id) when the Lease carries none. */
int rs_sw_record_from_lease(const struct rs_lease *l, struct rs_sw_record *ret,
                            rs_err_t *err);
/* Set a string field of the record (a copy; NULL clears it). */
int rs_sw_record_set(char **field, const char *value, rs_err_t *err);

/* ---- who may do what with a node: the claim ---- */

enum rs_sw_claim {
  RS_CLAIM_FREE,       /* no run holds the node: a new run takes the lock */
  RS_CLAIM_RESUME,     /* this user's own run, as the lock records it */
  RS_CLAIM_TAKE_OVER,  /* --take-over: another holder's run, continued as ours */
  RS_CLAIM_HELD,       /* refused: another holder's run is in progress */
  RS_CLAIM_UNBACKED,   /* refused: the node's annotations claim a run that no
                          lock backs (forged, or left by a run whose lock is gone) */
  RS_CLAIM_MISMATCH,   /* refused: the annotations and the lock name different runs */
  RS_CLAIM_UNREADABLE, /* refused: the lock carries no record this plugin reads */
};

struct rs_sw_claim_in {
  const char *node;
  const char *ns;                    /* the working namespace (the lock's) */
  const struct rs_sw_record *mirror; /* the node's annotations (id NULL: none) */
  const struct rs_lease *lease;      /* the lock; NULL: no Lease */
  const struct rs_sw_record *locked; /* its record; NULL: none or unreadable */
  const char *me;                    /* who asks */
  bool holder_alive;                 /* the locked run's plugin is a live process
                                        on this machine (rs_sw_holder_alive) */
  bool take_over;
};

/* "Same run" is decided by the lock's record: its user is the one who
 * asks, and the node's annotations name its run id -- or name no run in
 * progress while the lock's run has not got past its cordon (the
 * annotations lag the lock by one write) -- and its plugin is not still
 * running on this machine (two terminals of one user).  A lock holding a
 * final record (left by a run that ended before it released it) is free. */
int rs_sw_claim(const struct rs_sw_claim_in *in);
/* Whether the record's plugin is a live process here: same host name, its
 * pid alive and running the same program as this one (this process is
 * not: a run of it that returned is over). */
bool rs_sw_holder_alive(const struct rs_sw_record *r);
/* This process, as a record names it. */
int rs_sw_record_set_self(struct rs_sw_record *r, rs_err_t *err);
/* Why a claim is refused, what was found and what to do (heap). */
char *rs_sw_claim_why(int claim, const struct rs_sw_claim_in *in);
/* The Lease's holderIdentity for a run: "<user> (run <id>, pid <pid> on
 * <host>)". */
char *rs_sw_holder(const struct rs_sw_record *r);

/* ---- the lock held by one run ---- */

struct rs_sw_lock {
  struct rs_lease lease;  /* as last read or written */
  bool found;             /* the Lease exists (lease is filled) */
  bool held;              /* this run holds it */
  char *me;               /* the user who asks, and holds it */
  bool me_verified;       /* the API server said so (SelfSubjectReview) */
};
void rs_sw_lock_clear(struct rs_sw_lock *l);
/* Set rec->phase and record it: the lock (at its resourceVersion), then
 * the node's two annotations in one patch; a final phase then releases
 * the lock. */
int rs_sw_lock_save(rs_kube_client_t *c, struct rs_sw_lock *l, const char *node,
                    struct rs_sw_record *rec, const char *phase, rs_err_t *err);

#endif
