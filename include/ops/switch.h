/* The phase machine of `kubectl runtime-switch node NAME --to RUNTIME` and
 * of `rollback node NAME`.
 *
 *   check → deliver → preflight → plan → confirm → cordon → drain →
 *   launch → restart → verify → annotate → uncordon → cleanup
 *
 * (rollback: check → deliver → confirm → cordon → drain → rollback →
 * restart → verify → annotate → uncordon → cleanup).
 *
 * A run holds the node's lock, a Lease in the working namespace that
 * carries the run's record (ops/switch_record.h), so a rerun of the same
 * command after Ctrl-C, a lost connection or a killed plugin resumes where
 * the node is and never repeats a destructive step, and a second operator
 * is refused with the holder's name.  The node carries a mirror of the
 * record for humans: the contract's RS_HELPER_ANNOTATION_STATE
 * ("<id> <phase>") and RS_ANN_RUN (the record's JSON).  On the node itself
 * the helper keeps its own journal under RS_HELPER_STATE_DIR/<id>;
 * `launch` and `rollback` of an existing id resume rather than start
 * again.
 *
 * Library code: it never prints.  Every phase ends with one
 * RS_SW_EV_PHASE event (what -o json streams); progress lines, helper log
 * lines and drain events go to the same callback. */
#ifndef RS_OPS_SWITCH_H
#define RS_OPS_SWITCH_H

#include <stdbool.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"
#include "ops/drain.h"
#include "ops/switch_record.h"

enum rs_sw_phase {
  RS_PH_CHECK,
  RS_PH_DELIVER,
  RS_PH_PREFLIGHT,
  RS_PH_PLAN,
  RS_PH_CONFIRM,
  RS_PH_CORDON,
  RS_PH_DRAIN,
  RS_PH_LAUNCH,
  RS_PH_ROLLBACK,
  RS_PH_RESTART,
  RS_PH_VERIFY,
  RS_PH_ANNOTATE,
  RS_PH_UNCORDON,
  RS_PH_CLEANUP,
  _RS_PH_MAX,
};
const char *rs_sw_phase_name(int phase);

enum rs_sw_status {
  RS_SW_DONE,
  RS_SW_SKIPPED,   /* not needed (e.g. no cri-socket annotation) */
  RS_SW_RESUMED,   /* done by an earlier run of the same id */
  RS_SW_FAILED,
  RS_SW_STOPPED,   /* --dry-run ends here */
  _RS_SW_STATUS_MAX,
};
const char *rs_sw_status_name(int status);

enum rs_sw_ev {
  RS_SW_EV_PHASE,    /* a phase ended: phase, status, ms, message, data */
  RS_SW_EV_INFO,     /* a progress line: message */
  RS_SW_EV_WARNING,  /* message */
  RS_SW_EV_HELPER,   /* one line of the helper's log: message */
  RS_SW_EV_DRAIN,    /* drain: the drain engine's event */
  _RS_SW_EV_MAX,
};

struct rs_sw_event {
  int type;                          /* enum rs_sw_ev */
  int phase;                         /* enum rs_sw_phase */
  int status;                        /* RS_SW_EV_PHASE: enum rs_sw_status */
  long long ms;                      /* RS_SW_EV_PHASE: the phase's wall time */
  const char *message;
  const json_t *data;                /* RS_SW_EV_PHASE: extra fields, or NULL */
  const struct rs_drain_event *drain;/* RS_SW_EV_DRAIN */
};
typedef void (*rs_sw_event_fn)(void *ud, const struct rs_sw_event *ev);

/* Ask the user (on a terminal); *ret_yes true to go on.  plan is the
 * helper's plan (NULL for a rollback). */
typedef int (*rs_sw_confirm_fn)(void *ud, const char *question,
                                const json_t *plan, bool *ret_yes,
                                rs_err_t *err);

struct rs_switch_opts {
  int op;                       /* enum rs_sw_op */
  const char *node;
  const char *to;               /* switch: containerd, cri-o, cri-dockerd */
  const char *ns;               /* working namespace; NULL: RS_DELIVER_DEFAULT_NS */
  const char *image;            /* --image; NULL: borrow one from the node */
  const char *id;               /* rollback: run id (NULL: the node's last) */
  bool dry_run;
  bool yes;
  bool no_uncordon;
  bool force_single_control_plane;
  bool use_secret;
  bool no_images;
  bool take_over;               /* continue the run another holder left */
  const char *user;             /* who runs it; NULL: ask the API server */
  long helper_deadline_s;       /* helper launch --deadline; 0: 900 */
  long long node_timeout_ms;    /* wait for the node / the helper; 0: 20 min */
  long long pod_start_timeout_ms; /* a helper pod that does not start; 0: 3 min */
  struct rs_drain_opts drain;   /* passed through (events are ours) */
  const json_t *preflight_plan; /* the helper's plan from a preflight that
                                   ran on this node moments ago (a rollout's
                                   plan, which refused the node if it had
                                   blockers): taken instead of running the
                                   preflight Job again; NULL: run it */
  rs_sw_event_fn on_event;
  rs_sw_confirm_fn confirm;     /* NULL: treated as "no" unless yes */
  void *ud;
};

/* How it ended (also for the exit code). */
enum rs_sw_outcome {
  RS_SW_OK,            /* switched (or rolled back on request) and verified */
  RS_SW_DRY_RUN,       /* --dry-run: plan shown, nothing changed */
  RS_SW_REFUSED,       /* nothing changed: already there, only control plane,
                          Pod Security, preflight blockers, not confirmed */
  RS_SW_DRAIN_FAILED,  /* the node is cordoned, not switched */
  RS_SW_ROLLED_BACK,   /* the switch failed; the helper restored the old runtime */
  RS_SW_NEEDS_HUMAN,   /* rollback failed, or the node did not come back */
  RS_SW_ERROR,         /* anything else (API, transport, interrupted) */
  _RS_SW_OUTCOME_MAX,
};
const char *rs_sw_outcome_name(int outcome);

struct rs_switch_result {
  int outcome;                  /* enum rs_sw_outcome */
  char *id;
  char *from, *to;              /* runtime names */
  char *runtime_before;         /* containerRuntimeVersion */
  char *runtime_after;
  bool resumed;
  bool cordoned_by_us;
  bool uncordoned;
  long long phase_ms[_RS_PH_MAX]; /* -1: not run */
  long long total_ms;
  long long notready_ms;        /* kubelet stopped → node Ready again; -1: unknown */
  long long api_notready_ms;    /* NotReady as the API showed it; -1: never seen */
  long long kubelet_down_ms;    /* helper journal: stop-kubelet → kubelet healthy */
  json_t *plan;                 /* the helper's plan */
  json_t *report;               /* the helper's final report */
  json_t *manifests;            /* --dry-run: the objects it would create */
  char *reason;                 /* why it failed (the helper's reason) */
  char *hint;                   /* what to do now (e.g. the uncordon command) */
};
void rs_switch_result_clear(struct rs_switch_result *r);

/* Run the whole thing.  0 when the outcome is RS_SW_OK or RS_SW_DRY_RUN;
 * else -1 with *err and ret->outcome saying how it ended (ret is filled in
 * both cases). */
int rs_switch_run(rs_kube_client_t *c, const struct rs_switch_opts *o,
                  struct rs_switch_result *ret, rs_err_t *err);

/* ---- the pure parts (unit tests) ---- */

/* "docker", "containerd", "cri-o" ... from containerRuntimeVersion. */
char *rs_runtime_name(const char *runtime_version);

/* The refusals of the check phase, on the node object and the list of
 * all nodes (for the control-plane rule).  0 to go on; -1 with *err
 * (RS_E_INPUT) and the reason in the message. */
int rs_sw_check_node(const json_t *node, const json_t *nodes, const char *to,
                     bool force_single_control_plane, rs_err_t *err);
/* Does the node's containerRuntimeVersion name runtime `to` (cri-dockerd
 * shows as docker://, and so does dockershim before kubelet 1.24)? */
bool rs_sw_runtime_is(const json_t *node, const char *to);
/* Could the node be on `to` without its Node object being able to say so?
 * docker:// on a kubelet before 1.24 is dockershim or cri-dockerd alike:
 * true for `to` cri-dockerd there (only the kubelet's flags tell). */
bool rs_sw_runtime_ambiguous(const json_t *node, const char *to);
/* Node Ready condition is True. */
bool rs_sw_node_ready(const json_t *node);

/* The CRI endpoint the kubeadm annotation should name for a runtime. */
const char *rs_sw_endpoint_for(const char *runtime);

/* From a helper report: the unix seconds of a journal event for step (or
 * state) name; -1 when absent. */
long long rs_sw_journal_time(const json_t *report, const char *event,
                             const char *name);
/* The run's windows from its helper report and the wall times (ms) this
 * run saw the node NotReady and Ready again (-1: not seen): kubelet_down_ms,
 * notready_ms, api_notready_ms of *res, each -1 when unknown. */
void rs_sw_windows(const json_t *report, int op, long long ready_wall, long long notready_wall,
                   struct rs_switch_result *res);

#endif
