/* Inside the switch (src/ops/switch*.c only): the state of one run and
 * the helpers its phases share.  One struct sw per run, nothing global:
 * several runs may go on at once, each with its own client.
 *
 *   switch.c          the phase machine (order, resume, outcome)
 *   switch_prepare.c  check, deliver, preflight, plan, confirm, cordon, drain
 *   switch_follow.c   launch, the node watch, restart, verify
 *   switch_finish.c   annotate, uncordon, cleanup; stopping unchanged
 *   switch_jobs.c     the helper's pods: wait, logs, verify images, removal
 *   switch_record.c   the run's record and the node's lock (ops/switch_record.h)
 *   switch_lock.c     the lock for one run: claim, take, a resumed run's
 *                     Jobs, recording progress
 *   switch_node.c     the node: read again, its runtime, naps, drain options
 *   switch_events.c   progress and PHASE events, the refused outcome
 *   switch_state.c    the pure parts: names, refusals, runtimes, journal */
#ifndef RS_OPS_SWITCH_INT_H
#define RS_OPS_SWITCH_INT_H

#include <stdbool.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"
#include "ops/carrier.h"
#include "ops/deliver.h"
#include "ops/drain.h"
#include "ops/helper_blob.h"
#include "ops/switch.h"
#include "ops/switch_record.h"

#define SW_LOG_MAX ((size_t)8 << 20)
#define SW_DEFAULT_NODE_TIMEOUT_MS (20 * 60 * 1000LL)
#define SW_DEFAULT_POD_START_MS (3 * 60 * 1000LL)

/* Where a run reports: the caller's callback and the result's phase
 * times (all that events need of a run). */
struct sw_events {
  rs_sw_event_fn on_event;
  void *ud;
  long long *phase_ms; /* [_RS_PH_MAX] */
  long long phase_t0;
};

struct sw {
  rs_kube_client_t *c;
  struct sw_events ev;
  const struct rs_switch_opts *o;
  struct rs_switch_result *res;
  struct rs_sw_record rec;
  struct rs_sw_lock lock;  /* the node's lock (switch_lock.c) */
  struct rs_deliver_spec spec;
  const struct rs_helper_blob *blob;
  struct rs_carrier car;   /* the carrier of blob (ops/carrier.h) */
  unsigned live_jobs;      /* roles (bits) of Jobs un-suspended whose pods may still start */
  unsigned trip_live;      /* live_jobs when the carrier's guard tripped */
  int job_phase;           /* the phase that made the last Job */
  char **job_uids;         /* the run's Jobs (created or found): the drain skips their pods */
  json_t *node;            /* the node as last read */
  char id[RS_RUN_ID_MAX + 1];
  char *image;             /* preflight, switch, rollback pods */
  char *verify_image;      /* the verify pod (on the new runtime) */
  char *alt_image;         /* the verify pod's second choice */
  char *endpoint_before;   /* kubelet's CRI endpoint before the switch */
  const char *want;        /* runtime the node must end on (NULL: unknown yet) */
  char *want_buf;          /* storage for want when learnt from the report */
  int resume;              /* rank of the recorded phase; -1: a fresh run */
  bool owns_record;        /* rec is this run's (not another run's we refused) */
  char **drain_blockers;   /* kubectl drain's refusals, found in preflight */
  /* the restart phase */
  long long t_notready_wall, t_ready_wall;
  bool seen_away;           /* the node was seen not Ready on the target */
  bool watching;            /* the node watch runs (switch_follow.c) */
  int watch_phase;          /* the phase its events belong to */
  char *watch_selector;
  char *node_shown;         /* the node's state as last shown */
};

long long sw_wall_ms(void);
/* One progress event (INFO, WARNING, HELPER). */
void sw_emit(struct sw_events *ev, int type, int phase, const char *fmt, ...) RS_PRINTF(4, 5);
void sw_phase_begin(struct sw_events *ev);
/* End a phase with its one PHASE event; data (may be NULL) is consumed. */
void sw_phase_end(struct sw_events *ev, int phase, int status, json_t *data, const char *fmt, ...)
    RS_PRINTF(5, 6);
/* A drain event as the run's event (ud: struct sw_events). */
void sw_forward_drain(void *ud, const struct rs_drain_event *dev);
/* Sleep, waking up for Ctrl-C (RS_E_INTERRUPTED). */
int sw_nap(struct sw *s, long long ms, rs_err_t *err);
int sw_reload_node(struct sw *s, rs_err_t *err);
const char *sw_node_runtime_raw(const json_t *node);
/* ---- the node's lock and the run's record (switch_lock.c) ---- */

/* Who asks, and what holds the node: refuses a node another run holds
 * (or whose annotations no lock backs); *ret_in_progress when the lock's
 * run is ours to continue (its record is then s->rec; else s->rec is the
 * node's last, finished run, if any). */
int sw_lock_claim(struct sw *s, bool *ret_in_progress, rs_err_t *err);
/* A resumed run: the Jobs found under its names are the ones it created;
 * what the node went through since it stopped. */
int sw_lock_resume_checks(struct sw *s, bool unschedulable, rs_err_t *err);
/* Take the lock (POST; PUT at its resourceVersion when it is there). */
int sw_lock_take(struct sw *s, rs_err_t *err);
/* At the end of a run that recorded nothing on the node (a dry run, a
 * refusal): release the lock it took. */
void sw_lock_finish(struct sw *s);
/* Record the phase: the lock, then the node's annotations; nothing in a
 * dry run.  A final phase releases the lock. */
int sw_record_save(struct sw *s, const char *phase, rs_err_t *err);
/* Bind a Job of the run (as created, or found under its name) to the
 * record by its UID: one found must be the one recorded (or, created
 * before the run heard back, carry the run's labels). */
int sw_lock_bind_job(struct sw *s, int role, const json_t *job, bool existed, rs_err_t *err);
/* The working namespace: -n, or the default. */
const char *sw_ns(const struct sw *s);
/* Wait for the latest pod of a Job to start (or, until_exit, to end). */
int sw_wait_pod(struct sw *s, int phase, int role, bool until_exit, long long timeout_ms,
                json_t **ret_pod, rs_err_t *err);
int sw_pod_log(struct sw *s, const char *pod, char **ret, size_t *ret_len, rs_err_t *err);
/* Stream a pod's log (helper lines become events) until it ends. */
int sw_follow_log(struct sw *s, int phase, const char *pod, char **ret_log, rs_err_t *err);
/* Create the Job of a role the guarded way (ops/carrier.h): the carrier
 * compared byte for byte, its watch open, the Job created suspended, the
 * carrier read again, then the Job un-suspended; its UID bound to the
 * run's record (sw_lock_bind_job).  An existing Job (a resumed run) is
 * followed as it is. */
int sw_put_job(struct sw *s, const struct rs_deliver_spec *spec, int role, bool *ret_existed, rs_err_t *err);
/* The pod of role's Job has started (or ended): the carrier is still the
 * object checked before (the kubelet read no other). */
int sw_pod_started(struct sw *s, int role, bool settled, rs_err_t *err);
/* The carrier failed its check (s->car.trip): end the run as the phase
 * allows (ran: our helper may have acted on the node already) and say
 * whether a pod may have run other bytes; returns -1 with *err.  Any
 * other error: -1, *err as it was. */
int sw_carrier_refused(struct sw *s, int phase, bool ran, rs_err_t *err);
/* Note the UIDs of the run's Jobs that exist (an earlier process's too):
 * the drain leaves their pods alone. */
int sw_note_run_jobs(struct sw *s, rs_err_t *err);
/* What a helper pod left: its state, its log, the plan or report in it. */
struct sw_output {
  struct rs_pod_view v;    /* borrowed from the pod */
  char *log;
  size_t len;
  json_t *json;            /* NULL: none in the log */
};
void sw_output_clear(struct sw_output *o);
/* Read it (the log with `attempts` tries: a kubelet may be settling),
 * unless the helper exited RS_HX_INTEGRITY -- its own bytes are not the
 * plugin's helper: then -1, *err naming both, with the outcome the phase
 * allows (ran: our helper acted on the node before). */
int sw_helper_output(struct sw *s, int phase, bool ran, const json_t *pod, int attempts, struct sw_output *ret,
                     rs_err_t *err);
/* The helper exited RS_HX_INTEGRITY (its log says why): as above. */
int sw_integrity_refused(struct sw *s, int phase, bool ran, const char *log, rs_err_t *err);
/* Called by the carrier's guard when it trips: the run's Jobs, then their
 * pods with grace 0. */
void sw_on_carrier_trip(void *ud, const struct rs_carrier *car);
/* Called by the guarded start with each Job before it may start: binds it
 * to the run's record (sw_lock_bind_job; a Job the run did not create is
 * refused). */
int sw_on_job(void *ud, int role, const json_t *job, bool existed, rs_err_t *err);
/* Delete the run's Jobs, release the carrier; wait for the pods when asked. */
int sw_cleanup_objects(struct sw *s, int phase, bool wait, rs_err_t *err);
struct rs_drain_opts sw_drain_opts(struct sw *s);
/* Mark the outcome "refused" and return -1 (*err holds why). */
int sw_fail_refused(struct sw *s, rs_err_t *err);
long long sw_node_timeout(const struct sw *s);
/* The verify pod's image and its fallback: one the helper carries over,
 * else the sandbox image (from the plan, or the record on a resume). */
int sw_choose_verify_images(struct sw *s, rs_err_t *err);
/* Nothing changed on the node: uncordon it if we cordoned it, remove our
 * objects, record "failed"; outcome refused, returns -1 (*err kept). */
int sw_abort_unchanged(struct sw *s, int phase, rs_err_t *err);

/* Start the node watch (once; its events update s->node and the NotReady
 * window while any wait or call of the run turns the loop). */
int sw_watch_node(struct sw *s, int phase, rs_err_t *err);

/* The phases, in order. */
int sw_phase_check(struct sw *s, rs_err_t *err);
int sw_phase_deliver(struct sw *s, rs_err_t *err);
int sw_phase_preflight(struct sw *s, rs_err_t *err);
int sw_phase_plan(struct sw *s, rs_err_t *err);
int sw_rollback_precheck(struct sw *s, rs_err_t *err);
int sw_phase_confirm(struct sw *s, rs_err_t *err);
int sw_phase_cordon(struct sw *s, rs_err_t *err);
int sw_phase_drain(struct sw *s, rs_err_t *err);
int sw_phase_launch(struct sw *s, rs_err_t *err);
int sw_phase_restart(struct sw *s, json_t **ret_verify_pod, rs_err_t *err);
int sw_phase_verify(struct sw *s, json_t *verify_pod, rs_err_t *err);
int sw_phase_annotate(struct sw *s, rs_err_t *err);
int sw_phase_uncordon(struct sw *s, rs_err_t *err);
int sw_phase_cleanup(struct sw *s, rs_err_t *err);

#endif
