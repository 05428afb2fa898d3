/* The helper's carrier: the ConfigMap (or, with --use-secret, Secret) whose
 * bytes the helper's privileged, hostPID pods run as root on a node.
 *
 * Design: only the plugin's own bytes may run.  What is checked where:
 *
 *  1. Content-addressed and immutable.  The carrier is named after the
 *     bytes it must hold, "rsw-helper-<arch>-<first 16 hex of sha256>", in
 *     the working namespace; it is created `immutable: true` (the API server
 *     then refuses any change of its data: only a DELETE and a new object
 *     under the same name remain) with our finalizer RS_CARRIER_FINALIZER
 *     (a DELETE then only marks it: an identity that may delete ConfigMaps
 *     but not update them cannot make the name free for another object).
 *  2. Compared byte for byte, never trusted by its annotation: before each
 *     helper pod (preflight, launch, verify, rollback: each Job) the
 *     carrier is read (GET), its one key decoded and compared with the
 *     embedded blob (size + memcmp); it must also be immutable, not marked
 *     for deletion, and the object (UID) this run created or joined.  A
 *     carrier found under our name with other bytes is refused: never
 *     reused, never deleted (the name says which bytes it must hold, so an
 *     object with others is not ours); the message says how to remove it.
 *  3. Guarded from that check until the pod's container has started
 *     (ops/switch: each Job is created suspended): a watch on the carrier
 *     (field selector on its name, from the resourceVersion just verified)
 *     is opened before the Job is created; after the Job exists the carrier
 *     is read again (same UID, not being deleted, nothing seen on the
 *     watch) and only then is the Job un-suspended; once the container has
 *     started it is read a last time.  A DELETE, another UID, a deletion
 *     mark, data that differ or a carrier no longer immutable, on the watch
 *     or on a read, trips the guard: the run's Jobs are deleted (their pods
 *     with grace 0) and the run stops ("... changed/replaced between
 *     verification and pod start: refusing to run it as root").  The last
 *     read closes the race the watch alone leaves (an event still in
 *     flight when the container starts): a name holds one object at a time
 *     and UIDs are never reused, so the same UID before the Job and after
 *     the container started means no other object was there when the
 *     kubelet read it.  The watch is what stops a pod that has not started
 *     yet.
 *  4. The helper checks itself: every helper command line carries
 *     --expect-sha256 (helper/contract.h); the helper refuses to act when
 *     its own executable hashes otherwise, and checks its host copy the
 *     same way (the helper's side).
 *
 * Shared by design: the name depends on the bytes only, not on a run, and
 * a metadata-only change under the same UID (a reference added or
 * removed) is not a change of the bytes.  Each run that uses the carrier
 * records itself in an annotation RS_CARRIER_REF_PREFIX "<run id>" (value:
 * its node) when it creates or joins it, and removes it when it is done;
 * the last one deletes the carrier (DELETE preconditioned on the UID and
 * resourceVersion it saw, so a run joining meanwhile keeps it) and removes
 * the finalizer.  A fleet rollout (several nodes' runs at once, one carrier
 * per architecture) needs nothing more of the carrier.  A run killed for
 * good leaves its reference behind: the next run on the same node removes
 * it (one run per node at a time).
 *
 * Residual risk (who could still subvert this, and why):
 *  - an identity that may update (or patch) AND delete AND create
 *    ConfigMaps (Secrets with --use-secret) in the working namespace can
 *    remove the finalizer, delete the carrier and create another in the
 *    window between our last read before un-suspending a Job and the
 *    kubelet's read of the volume (usually well under a second; longer
 *    when the kubelet is slow to start the pod).  The watch sees it and the
 *    pod is deleted with grace 0, and the read after the start reports it,
 *    but a container that already started cannot be un-run: its bytes ran
 *    as root.  The helper's own --expect-sha256 check does not help there:
 *    foreign bytes need not honour it;
 *  - an identity that may create pods (or Jobs, DaemonSets ...) in the
 *    working namespace, which admits privileged pods, is root on any node
 *    anyway; so is one that may create pods in any namespace that admits
 *    privileged pods, or relabel a namespace's Pod Security level;
 *  - cluster admins, the API server and etcd, the node itself (its root
 *    can change the mounted file), and the machine that runs the plugin.
 *
 * Library code: nothing here prints. */
#ifndef RS_OPS_CARRIER_H
#define RS_OPS_CARRIER_H

#include <stdbool.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"
#include "ops/deliver.h"
#include "ops/helper_blob.h"

#define RS_CARRIER_FINALIZER "runtime-switch.kubectl.dev/carrier"
/* one annotation per run that uses the carrier: RS_CARRIER_REF_PREFIX ID = node */
#define RS_CARRIER_REF_PREFIX "run.runtime-switch.kubectl.dev/"
#define RS_LABEL_ARCH "runtime-switch.kubectl.dev/arch"

/* Why the guard tripped. */
enum rs_carrier_trip {
  RS_CARRIER_OK,
  RS_CARRIER_DELETED,     /* DELETE seen, or gone on a read */
  RS_CARRIER_REPLACED,    /* another object (UID) under the name */
  RS_CARRIER_DELETING,    /* marked for deletion */
  RS_CARRIER_CHANGED,     /* its data differ, or it is no longer immutable */
  RS_CARRIER_UNWATCHED,   /* the watch failed and could not be renewed */
};

struct rs_carrier {
  char *ns;
  bool secret;                     /* a Secret, not a ConfigMap */
  const struct rs_helper_blob *blob;
  char *name;
  char *uid;                       /* the object this run created or joined */
  char *rv;                        /* resourceVersion at the last check */
  /* the guard */
  bool watching;
  int trip;                        /* enum rs_carrier_trip */
  char *trip_why;                  /* what was seen (heap) */
  /* called once, from the watch, when it trips (may make API calls) */
  void (*on_trip)(void *ud, const struct rs_carrier *car);
  /* called by rs_carrier_start_job with each Job it made or found
   * (existed), before that Job may start: a refusal (-1, *err) leaves it
   * unstarted.  NULL: every Job is taken. */
  int (*on_job)(void *ud, int role, const json_t *job, bool existed, rs_err_t *err);
  void *ud;
  char *selector;
  rs_kube_client_t *client;        /* the watch's (borrowed) */
  rs_err_t watch_err;              /* the API refused the watch (403 ...) */
};

/* "rsw-helper-<arch>-<16 hex>" (heap). */
char *rs_carrier_name(const struct rs_helper_blob *blob);

/* Fill car (owned strings; blob borrowed).  0, or -1 (OOM). */
int rs_carrier_init(struct rs_carrier *car, const char *ns, bool secret,
                    const struct rs_helper_blob *blob, rs_err_t *err);
/* Stops nothing (see rs_carrier_guard_stop): frees the strings. */
void rs_carrier_clear(struct rs_carrier *car);

/* The object to create: immutable, our finalizer, the bytes under
 * RS_DELIVER_FILE, a reference for run id on node (id NULL: none). */
json_t *rs_carrier_manifest(const struct rs_carrier *car, const char *id,
                            const char *node, rs_err_t *err);

/* Does obj (a GET answer or a watch event's object) hold exactly the
 * blob's bytes, as the only key, immutable and not being deleted?  0 when
 * it does; else -1, *err RS_E_INPUT saying what differs, and *ret_trip
 * (may be NULL) the enum rs_carrier_trip for it. */
int rs_carrier_check_object(const json_t *obj, bool secret,
                            const struct rs_helper_blob *blob, int *ret_trip,
                            rs_err_t *err);

/* Create the carrier, or join the one already there when it holds our
 * bytes (adding run id's reference and, if missing, the finalizer); one
 * being deleted and held only by us is let go and made again.  Sets
 * car->uid and car->rv.  Other bytes: -1, RS_E_INPUT (refused). */
int rs_carrier_acquire(rs_kube_client_t *c, struct rs_carrier *car,
                       const char *id, const char *node, rs_err_t *err);

/* Before each pod: GET, compare byte for byte, same UID as acquired.
 * Updates car->rv.  A mismatch trips the guard (car->trip) and fails
 * RS_E_INPUT. */
int rs_carrier_verify(rs_kube_client_t *c, struct rs_carrier *car,
                      rs_err_t *err);
/* Between the Job and its pod's start, and after the start: still the
 * same object (metadata only), not being deleted, the guard not tripped. */
int rs_carrier_still(rs_kube_client_t *c, struct rs_carrier *car,
                     rs_err_t *err);

/* Open the watch (once) from car->rv; events trip the guard as above and
 * call car->on_trip.  It lives in the client's loop until _stop. */
int rs_carrier_guard_start(rs_kube_client_t *c, struct rs_carrier *car,
                           rs_err_t *err);
void rs_carrier_guard_stop(rs_kube_client_t *c, struct rs_carrier *car);
/* The error of a tripped guard (RS_E_INPUT), naming the carrier. */
int rs_carrier_trip_error(const struct rs_carrier *car, rs_err_t *err);


/* What became of a Job rs_carrier_start_job made or found. */
enum rs_carrier_job {
  RS_CARRIER_JOB_NOT_STARTED, /* no pod can come of it */
  RS_CARRIER_JOB_STARTED,     /* un-suspended (or on its way to be) here */
  RS_CARRIER_JOB_RUNNING,     /* found started (a resumed run's) */
};

/* A helper Job, the guarded way: the carrier compared byte for byte, its
 * watch open, the Job created suspended, the carrier read again, then the
 * Job started.  A Job of that name that exists is followed as it is (or,
 * never started and naming another carrier, made again).  *ret_uid (may be
 * NULL; heap) gets the Job's UID whenever there is a Job; *ret_started the
 * enum rs_carrier_job, also on failure -- a caller marks the Job as live
 * before the call (a trip during it must count it) and unmarks it unless
 * it started.  The pod's start is to be followed by rs_carrier_still. */
int rs_carrier_start_job(rs_kube_client_t *c, struct rs_carrier *car,
                         const struct rs_deliver_spec *spec, int role,
                         char **ret_uid, bool *ret_existed, int *ret_started,
                         rs_err_t *err);

/* Remove run id's reference; the last user deletes the carrier (and
 * removes the finalizer).  Only the object car->uid names (none: nothing
 * to do); another under the name is left alone.  *ret_deleted (may be NULL) says whether it went. */
int rs_carrier_release(rs_kube_client_t *c, struct rs_carrier *car,
                       const char *id, bool *ret_deleted, rs_err_t *err);

/* Every carrier in ns (ConfigMaps and Secrets labelled as ours): drop the
 * references of runs on node other than keep_id (killed runs: one run
 * per node at a time), deleting carriers nobody uses any more.
 * *ret_count (may be NULL) gets how many references were dropped. */
int rs_carrier_release_stale(rs_kube_client_t *c, const char *ns,
                             const char *node, const char *keep_id,
                             int *ret_count, rs_err_t *err);

#endif
