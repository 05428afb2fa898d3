/* Cordon, uncordon and drain as kubectl does them (kubectl pkg/drain),
 * over one client: the node's pods are listed once, kubectl's filters run
 * in kubectl's order and refuse the drain before anything is evicted, then
 * every eviction goes out at once (one multiplexed connection), 429s are
 * retried every 5 s (or after the server's Retry-After), and one watch on
 * the node's pods tells when each pod is gone or replaced.  The delete path
 * (--disable-eviction, or no eviction API) is kubectl's: one DELETE at a
 * time in list order, and the first failure ends the drain, leaving the
 * pods after it alone.
 *
 * Library code: nothing here prints or exits.  Progress goes to the event
 * callback, whose events carry kubectl's exact line (rs_drain_event.text)
 * and where kubectl prints it; the CLI and the `node` command print them.
 *
 * Safety under faults: every eviction (and delete) carries a UID
 * precondition, so a retry can never hit a replacement pod of the same
 * name; an answer that may hide a success (a reset connection, a 5xx) is
 * resolved by reading the pod before anything is sent again. */
#ifndef RS_OPS_DRAIN_H
#define RS_OPS_DRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"

enum rs_dry_run {
  RS_DRY_RUN_NONE,
  RS_DRY_RUN_CLIENT,  /* print what would be done, send nothing that changes */
  RS_DRY_RUN_SERVER,  /* send with dryRun=All: the server checks, persists nothing */
  _RS_DRY_RUN_MAX,
};

/* "none", "client", "server" (kubectl also takes "unchanged" for a bare
 * --dry-run, meaning client); -1 when unknown. */
int rs_dry_run_parse(const char *s);

enum rs_drain_ev {
  RS_DRAIN_EV_CORDON,       /* node/x cordoned | uncordoned | already ... */
  RS_DRAIN_EV_CORDON_ERROR, /* error: unable to cordon node "x": <msg> (drain goes on) */
  RS_DRAIN_EV_WARNING,      /* <msg>: ns/p, ns/q; <msg2>: ... (print after "Warning: ") */
  RS_DRAIN_EV_EVICTING,     /* evicting pod ns/p, on every attempt */
  RS_DRAIN_EV_RETRY,        /* error when evicting pods/"p" -n "ns" (will retry after 5s): <msg> */
  RS_DRAIN_EV_EVICTED,      /* pod/p evicted (or deleted) */
  RS_DRAIN_EV_SKIPPED,      /* pod "p" has DeletionTimestamp older than N seconds, skipping */
  RS_DRAIN_EV_POD_FAILED,   /* the pod's final error (kubectl prints these at the end) */
  RS_DRAIN_EV_DRAINED,      /* node/x drained */
  _RS_DRAIN_EV_MAX,
};

struct rs_drain_event {
  int type;              /* enum rs_drain_ev */
  const char *node;
  const char *ns;        /* pod events; NULL otherwise */
  const char *pod;
  const char *uid;
  const char *text;      /* kubectl's line, no newline */
  bool to_stderr;        /* where kubectl prints it (text mode) */
  const char *message;   /* the API's message (RETRY, POD_FAILED), the
                            warning text (WARNING), else NULL */
  long long retry_ms;    /* RETRY: delay before the next attempt */
  unsigned attempt;      /* EVICTING/RETRY: 1 for the first attempt */
};

typedef void (*rs_drain_event_fn)(void *ud, const struct rs_drain_event *ev);

/* kubectl drain's flags.  Zero-initialised is not kubectl's default for
 * grace_period: use RS_DRAIN_OPTS_INIT. */
struct rs_drain_opts {
  bool force;                   /* --force: pods without a controller, orphans */
  bool ignore_daemonsets;       /* --ignore-daemonsets */
  bool delete_emptydir_data;    /* --delete-emptydir-data */
  int grace_period;             /* --grace-period seconds; <0: the pod's own */
  long long timeout_ms;         /* --timeout; 0: infinite */
  long skip_wait_for_delete_timeout; /* seconds; <=0: never skip */
  const char *pod_selector;     /* --pod-selector; NULL or "": all */
  bool disable_eviction;        /* --disable-eviction: DELETE, no PDB check */
  int dry_run;                  /* enum rs_dry_run */
  long chunk_size;              /* --chunk-size; 0: 500 */
  long long retry_delay_ms;     /* kubectl's EvictErrorRetryDelay; 0: 5000 */
  rs_drain_event_fn on_event;   /* NULL: no events */
  void *ud;
  /* The caller's own pods, left alone (the switch's helper pods): those in
   * own_ns whose controller is a batch/v1 Job with one of these UIDs --
   * what the caller created, never a label anyone can set.  NULL: none. */
  const char *own_ns;
  char *const *own_job_uids;
};
#define RS_DRAIN_OPTS_INIT {.grace_period = -1}

/* Where a pod selected for eviction ended up. */
enum rs_drain_pod_state {
  RS_DRAIN_POD_PENDING,    /* not evicted: not tried yet, or refused and waiting to retry */
  RS_DRAIN_POD_REQUESTED,  /* a request was in flight when the drain stopped: outcome unknown */
  RS_DRAIN_POD_EVICTING,   /* the server accepted; the pod was still terminating */
  RS_DRAIN_POD_GONE,       /* deleted or replaced (UID changed) */
  RS_DRAIN_POD_SKIPPED,    /* --skip-wait-for-delete-timeout, or accepted by a server dry run */
  RS_DRAIN_POD_FAILED,     /* error holds kubectl's message */
  _RS_DRAIN_POD_MAX,
};
const char *rs_drain_pod_state_name(int state);

struct rs_drain_pod {
  char *ns;
  char *name;
  char *uid;
  int state;               /* enum rs_drain_pod_state */
  unsigned attempts;       /* eviction (or delete) requests sent */
  char *error;             /* RS_DRAIN_POD_FAILED: kubectl's message */
  char *check_err;         /* the delete path's failure as kubectl's CheckErr
                              prints it last ("Error from server (Forbidden):
                              ...", "The pods \"p\" is invalid: ..."); else NULL */
};

struct rs_drain_report {
  char *node;
  bool eviction;               /* evictions (true) or DELETEs */
  struct rs_drain_pod *pods;   /* the pods the filters selected */
  size_t npods;
  char **errors;               /* kubectl's aggregate, one message each; never NULL */
  bool refused;                /* the filters refused: nothing was evicted */
  bool interrupted;
  bool timed_out;
};
void rs_drain_report_clear(struct rs_drain_report *r);
/* The pods still on the node that the drain meant to remove (kubectl's
 * "There are pending pods" list): every state but GONE and SKIPPED. */
size_t rs_drain_report_pending(const struct rs_drain_report *r);

/* Cordon (on=true) or uncordon `node` with a strategic-merge patch of
 * spec.unschedulable, as kubectl; dry runs as kubectl's --dry-run.  Emits
 * one RS_DRAIN_EV_CORDON event on success (opts may be NULL). */
int rs_drain_cordon(rs_kube_client_t *c, const char *node, bool on,
                    const struct rs_drain_opts *o, rs_err_t *err);

/* Evict (or delete) the pods of one node and wait until they are gone;
 * does not cordon.  Returns 0 when drained; -1 otherwise with *err:
 *   RS_E_INPUT        the filters refused (report.errors, nothing evicted)
 *   RS_E_API          some pods failed (report.errors), others went on
 *   RS_E_TIMEOUT      --timeout (report.errors has kubectl's messages)
 *   RS_E_INTERRUPTED  the cancel flag was set: nothing more was sent
 *   anything else     listing, discovery or the transport failed
 * *ret is filled in every case once the pods were listed (clear it with
 * rs_drain_report_clear; zeroed when nothing was listed). */
int rs_drain_pods(rs_kube_client_t *c, const char *node,
                  const struct rs_drain_opts *o, struct rs_drain_report *ret,
                  rs_err_t *err);

/* kubectl drain for one node: GET it (a missing node fails), cordon (a
 * failure is an RS_DRAIN_EV_CORDON_ERROR event and the drain goes on, as
 * kubectl), rs_drain_pods, then RS_DRAIN_EV_DRAINED.  The node stays
 * cordoned whatever happens. */
int rs_drain_node(rs_kube_client_t *c, const char *node,
                  const struct rs_drain_opts *o, struct rs_drain_report *ret,
                  rs_err_t *err);

/* ---- the pure parts, for tests and for a preflight ---- */

enum rs_drain_verdict {
  RS_DRAIN_DELETE,         /* evict it */
  RS_DRAIN_DELETE_WARN,    /* evict it, with a warning */
  RS_DRAIN_SKIP,           /* leave it, silently (mirror pods, long-deleted pods) */
  RS_DRAIN_SKIP_WARN,      /* leave it, with a warning (DaemonSet pods) */
  RS_DRAIN_ERROR,          /* refuse the drain */
  _RS_DRAIN_VERDICT_MAX,
};

/* What the DaemonSet GET answered, for the daemonSet filter. */
enum rs_drain_ds_state {
  RS_DRAIN_DS_FOUND,
  RS_DRAIN_DS_NOT_FOUND,
  RS_DRAIN_DS_ERROR,
};

struct rs_drain_filter_result {
  int verdict;             /* enum rs_drain_verdict */
  const char *message;     /* warning or error text (static or ds_message) */
};

/* The name of the DaemonSet controlling pod (controller ownerReference of
 * kind DaemonSet in apps/v1), or NULL. */
const char *rs_drain_pod_daemonset(const json_t *pod);

/* kubectl's filter chain for one pod, after the caller's own pods (skipped
 * silently, see own_job_uids): skipDeleted, daemonSet, mirror,
 * localStorage, unreplicated; the first non-delete verdict stops it and the
 * last evaluated status wins.  ds_state/ds_message describe the DaemonSet
 * GET for pods rs_drain_pod_daemonset() names (ds_message: the API's
 * message on an error).  now_s is the wall clock (for skipDeleted). */
struct rs_drain_filter_result rs_drain_filter_pod(const json_t *pod,
                                                  const struct rs_drain_opts *o,
                                                  int ds_state,
                                                  const char *ds_message,
                                                  long long now_s);

/* Groups "<msg>" -> [ns/pod...], in order of first appearance. */
struct rs_drain_groups;
struct rs_drain_groups *rs_drain_groups_new(void);
int rs_drain_groups_add(struct rs_drain_groups *g, const char *msg,
                        const char *ns, const char *name, rs_err_t *err);
size_t rs_drain_groups_count(const struct rs_drain_groups *g);
/* Warnings: "m1: a/p, a/q; m2: b/r" (NULL when empty, else heap). */
char *rs_drain_groups_warnings(const struct rs_drain_groups *g);
/* Errors, kubectl's way: "cannot delete <msg>: a/p, a/q" (the prefix is
 * not doubled when msg starts with "cannot delete"); appended to *v. */
int rs_drain_groups_errors(const struct rs_drain_groups *g, char ***v,
                           rs_err_t *err);
void rs_drain_groups_free(struct rs_drain_groups *g);

/* Go's time.Duration text for milliseconds: "5s", "1m30s", "1h0m0s",
 * "250ms", "1.5s", "0s". */
char *rs_drain_duration_text(long long ms, char *buf, size_t len);

/* utilerrors.Aggregate's text: one message as is, several as "[a, b]"
 * (duplicates dropped).  Heap; NULL on OOM. */
char *rs_drain_aggregate_text(char *const *errors);

/* Does s parse as a Kubernetes label selector (labels.Parse)? */
bool rs_label_selector_valid(const char *s);

/* An event as one JSON object (for -o json): {"event":..., "node":..., ...}. */
json_t *rs_drain_event_to_json(const struct rs_drain_event *ev);
const char *rs_drain_ev_name(int type);

/* RFC 3339 ("2026-11-26T16:10:00Z", fractions and offsets allowed) to Unix
 * seconds; -1 when it does not parse. */
long long rs_rfc3339_seconds(const char *s);

#endif
