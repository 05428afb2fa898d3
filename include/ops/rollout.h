/* The rollout's plan from the cluster (issue 12, part 1): select the nodes
 * (names, -l, --all), read what the planner needs, and find, before
 * anything changes, every node's blockers: the helper's preflight (one
 * per node, concurrently, as `check` runs it; skipped on request) and the
 * drain's (pods that need --force or --delete-emptydir-data, a
 * PodDisruptionBudget that allows no disruption at all).  Reads only, but
 * for the preflight's objects, which it removes.  Library code: never
 * prints.  The batches come from ops/rollout_plan.h. */
#ifndef RS_OPS_ROLLOUT_H
#define RS_OPS_ROLLOUT_H

#include <stdbool.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"
#include "ops/drain.h"
#include "ops/rollout_plan.h"

struct rs_rollout_opts {
  const char *const *names;   /* nodes; NULL/empty with selector or all */
  const char *selector;       /* -l */
  bool all;                   /* --all */
  const char *to;
  bool preflight;             /* false: --skip-preflight */
  const char *ns;             /* working namespace of the preflights */
  const char *image;          /* their image; NULL: borrowed per node */
  bool leave_pods;            /* a plan that goes on: its preflights' pods are not
                                 waited for (ops/check.h) */
  struct rs_drain_opts drain; /* the drain's flags (its filters) */
  struct rs_ro_opts plan;
  long page_size;             /* list chunks; 0: 500 */
  char *const *resume_nodes;  /* nodes whose switch in progress is this rollout's
                                 own (being resumed): not a blocker; NULL: none */
};

struct rs_rollout_node {
  char *name;
  char *zone;
  char *runtime;              /* containerRuntimeVersion */
  bool control_plane, ready, on_target;
  int preflight;              /* enum rs_preflight_state (ops/check.h); -1: not asked */
  char *preflight_note;
  json_t *preflight_plan;     /* the helper's plan (RS_PF_DONE), for its switch */
  char **blockers;            /* the helper's and the node's own (NULL-terminated) */
  char **drain_blockers;      /* kubectl's grouped reasons (NULL-terminated) */
  struct rs_ro_evict *evict;  /* evictions per budget */
  size_t nevict;
  long pods;                  /* pods the drain would evict */
};

struct rs_rollout_plan {
  char *to;
  struct rs_rollout_node *nodes;
  size_t nnodes;
  struct rs_ro_pdb *pdbs;     /* ns and name owned */
  size_t npdbs;
  char **cp_not_ready;        /* NotReady control-plane nodes outside the selection */
  size_t cluster_control_plane;
  struct rs_ro_plan plan;
  char **notes;               /* what could not be read (NULL-terminated) */
  char **missing;             /* names asked for that do not exist */
  bool preflight;
  long long preflight_ms;     /* rs_now_ms() when the preflights ended */
};
void rs_rollout_plan_clear(struct rs_rollout_plan *p);

/* A node's switch as its lock has it: the lock Lease of the node
 * (lease_obj as read from the API server, NULL: none) is the record; the
 * node's annotations (node) are a mirror anyone who may patch the node can
 * write, only compared.  ns: the working namespace.
 *   RS_RO_RUN_FREE: no run of the lock in progress and the annotations
 *     claim none;
 *   RS_RO_RUN_HELD: the lock's run is in progress: *ret_locked is its
 *     record, *ret_why (heap) says who holds it (the Lease's holder) and
 *     what to do;
 *   RS_RO_RUN_UNTRUSTED: the lock carries no record this plugin reads, or
 *     the annotations claim a run in progress that the lock does not back;
 *     *ret_why says which.
 * -1: an error (OOM). */
enum rs_rollout_run_state { RS_RO_RUN_FREE, RS_RO_RUN_HELD, RS_RO_RUN_UNTRUSTED };
struct rs_sw_record;
int rs_rollout_node_run(const char *ns, const char *name, const json_t *node, const json_t *lease_obj,
                        struct rs_sw_record *ret_locked, char **ret_why, rs_err_t *err);

int rs_rollout_plan(rs_kube_client_t *c, const struct rs_rollout_opts *o, struct rs_rollout_plan *ret,
                    rs_err_t *err);

/* How many of names (in order) can drain together now: their pods and
 * the PodDisruptionBudgets read again (base's drain filters), the longest
 * prefix whose evictions fit (rs_ro_fit; at least 1).  *ret_note says
 * which budget stopped it (heap; NULL when all fit). */
int rs_rollout_fit(rs_kube_client_t *c, const struct rs_rollout_opts *base, const char *const *names,
                   size_t *ret_n, char **ret_note, rs_err_t *err);

/* Nodes with blockers (the rollout cannot start). */
size_t rs_rollout_blocked(const struct rs_rollout_plan *p);

/* The plan as -o json prints it (NULL on OOM):
 * {"kind":"RolloutPlan","to":..,"maxUnavailable":N,"preflight":bool,
 *  "batches":[{"batch":1,"kind":"canary|workers|control-plane","nodes":[..],
 *              "want":N,"note":..}],
 *  "nodes":[{"name","zone","role","runtime","state","batch","reason",
 *            "preflight","preflightNote","blockers":[..],"drainBlockers":[..],
 *            "evictions":N}],
 *  "notes":[..]} */
json_t *rs_rollout_plan_to_json(const struct rs_rollout_plan *p);

#endif
