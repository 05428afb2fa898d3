/* The rollout engine (issue 12, part 2): the record's nodes, batch after
 * batch, each node through the single-node switch (rs_switch_run) on a
 * worker thread of its own with a client of its own; health gates between
 * batches; the record written as nodes start and end.
 *
 * Threads.  The coordinator (the caller's thread) creates every client
 * (kubeconfig parsing and libcurl's global init stay on one thread),
 * starts one worker per node in flight and alone writes the record and
 * calls on_event: a worker shares nothing with another and with the
 * coordinator only a mutex-guarded queue of copied events.  Workers'
 * clients stop on Ctrl-C (rs_cancelled) at the switch's own safe points,
 * which the node's annotations record; the coordinator's client does not,
 * so it can still write "paused".
 *
 * Batches.  Before a batch drains, its nodes' pods and the
 * PodDisruptionBudgets are read again (rs_rollout_plan over those nodes)
 * and the batch runs in as many parts as the budgets allow now
 * (rs_ro_fit), said as a note.  After each part, the gates, per node
 * switched: the node Ready on the target; its DaemonSet pods Ready; each
 * ReplicaSet and StatefulSet that had pods on it back to the ready
 * replicas it had before the drain (or its wanted replicas, if fewer);
 * with soak, no container on the part's nodes restarting for that long.
 * A gate that fails halts the rollout.  A node whose switch fails (the
 * helper rolled it back, it stays cordoned) is "failed"; the other nodes
 * of its part finish; more than max_failures failed nodes halt it.
 *
 * Library code: never prints. */
#ifndef RS_OPS_ROLLOUT_RUN_H
#define RS_OPS_ROLLOUT_RUN_H

#include <stdbool.h>

#include "common/err.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "ops/rollout.h"
#include "ops/rollout_record.h"
#include "ops/switch.h"

enum rs_rr_ev {
  RS_RR_EV_BATCH,      /* a batch (part) starts: batch, message (its nodes, a note) */
  RS_RR_EV_NODE_START, /* node */
  RS_RR_EV_SWITCH,     /* node, sw: an event of its switch */
  RS_RR_EV_NODE_END,   /* node, outcome (enum rs_sw_outcome), ms, message (why it failed) */
  RS_RR_EV_GATE,       /* node (NULL: the part), ok, message */
  RS_RR_EV_NOTE,       /* message */
  _RS_RR_EV_MAX,
};

struct rs_rr_event {
  int type;
  long batch;                     /* 1-based */
  const char *node;
  const struct rs_sw_event *sw;
  int outcome;
  bool ok;
  long long ms;
  const char *message;
};
typedef void (*rs_rr_event_fn)(void *ud, const struct rs_rr_event *ev);

/* How old a plan's preflight may be for a switch to take it (a later
 * batch runs its own: the node may have changed since). */
#define RS_RR_PREFLIGHT_FRESH_MS (10LL * 60 * 1000)

struct rs_rr_opts {
  const rs_kube_config_t *cfg;    /* every client is made from it */
  struct rs_kube_client_opts client; /* their options (cancel is set here) */
  const char *ns;                 /* the record's (and the switch's) namespace */
  struct rs_switch_opts sw;       /* each node's switch: node, yes, on_event,
                                     ud and confirm are set per node */
  struct rs_rollout_opts plan;    /* how a batch is read again (names set here) */
  long max_failures;
  long long soak_ms;
  const json_t *preflights;       /* node name -> the helper's plan from the
                                     rollout's plan, given to a node's switch
                                     that starts within RS_RR_PREFLIGHT_FRESH_MS
                                     of preflights_ms (then it runs no
                                     preflight of its own); NULL: none */
  long long preflights_ms;        /* rs_now_ms() when they ended */
  long long gate_timeout_ms;      /* a gate waits this long; 0: 10 min */
  rs_rr_event_fn on_event;
  void *ud;
};

/* Each node's own figures, for the summary. */
struct rs_rr_node {
  char *name;
  int outcome;                    /* enum rs_sw_outcome; -1: not run now */
  long long total_ms, notready_ms;
  char *reason;
};

struct rs_rr_result {
  struct rs_rr_node *nodes;
  size_t nnodes;
  size_t failed;
  bool interrupted;
  bool refused;                   /* the rollout's lock is another's: nothing
                                     was run or written */
  char *halted;                   /* why it halted (a gate, failures); NULL */
};
void rs_rr_result_clear(struct rs_rr_result *r);

/* Run every node of rec that is not final, batch after batch, writing rec
 * (its resourceVersion must be current: rs_ror_create or rs_ror_read),
 * under the rollout's lock (ops/rollout_lock.h): taken first (refused:
 * -1, ret->refused, nothing written), kept while the rollout is halted or
 * paused, released once rec is written final.
 * 0: every node done (rec "done"); -1 with *err otherwise, rec "halted"
 * (a failure, a gate) or "paused" (Ctrl-C), saved, *ret filled in both
 * cases. */
int rs_rollout_run(const struct rs_rr_opts *o, struct rs_ror_record *rec, struct rs_rr_result *ret,
                   rs_err_t *err);

#endif
