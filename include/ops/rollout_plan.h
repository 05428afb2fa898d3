/* The rollout planner: which of the selected nodes switch, in which
 * batches, in which order (issue 12).  Pure: it reads what the caller
 * collected (rollout.c: the nodes, their preflight verdicts and drain
 * blockers, the PodDisruptionBudgets) and does no I/O, so every rule is
 * unit-tested (tests/unit/test_rollout_plan.c).
 *
 * The rules, in order:
 *   - a node already on the target is skipped (listed, not an error); a
 *     node with blockers (the helper's preflight, the drain's filters) is
 *     blocked: the plan is shown, nothing starts;
 *   - workers before control-plane nodes;
 *   - a canary batch first (--canary N of the workers; a control-plane
 *     node when there is no worker), then batches of at most
 *     --max-unavailable (N, or P% of the planned nodes, rounded down, at
 *     least 1);
 *   - at most max_zones zones (topology.kubernetes.io/zone) in one batch
 *     (default 1; 0: no limit): workers are ordered zone by zone;
 *   - control-plane nodes one per batch; never every control-plane node of
 *     the cluster without allow_all_control_plane (the last one is held);
 *     none while a control-plane node outside the plan is NotReady;
 *   - PDB-aware size: a batch shrinks until the evictions of its nodes fit
 *     what every budget allows (rs_ro_fit): the nodes left over start the
 *     next batch.  The plan applies it with the budgets as they are now;
 *     the engine applies the same function again before each batch with
 *     the budgets as they are then.
 *
 * ---- Part 2 (the engine, the record, the lock): the design ----
 *
 * Engine (ops/rollout_run.h, built).  One process, one coordinator
 * thread plus one worker thread per in-flight node (at most
 * max_unavailable).  Each worker owns its own
 * rs_kube_client_t (one libcurl multi loop per client, kube/client.h: the
 * loop is not shared across threads) and runs the existing single-node
 * engine, rs_switch_run(), with confirm off (the rollout confirmed once)
 * and on_event pointing at a per-node queue.  Nothing is shared between
 * nodes but that queue: a mutex-protected ring of copied events that the
 * coordinator drains (it alone prints, redraws the table and writes the
 * record).  Why threads rather than one loop driving several state
 * machines: rs_switch_run is written as straight-line code over blocking
 * calls (waits, watches, the drain), tested as such; turning each phase
 * into a resumable state machine would rewrite the engine for a gain of a
 * few MiB.  A thread costs its stack (reserved, mostly untouched) and a
 * client (a TLS connection); max_unavailable is small.  Ctrl-C
 * (common/signals.c sets a flag the loops poll): the coordinator starts no
 * node; workers run to their own safe point (rs_switch_run already stops
 * at one and records it on the node), then the record says "paused".
 *
 * Record (ops/rollout_record.h, built).  One ConfigMap in the working
 * namespace, runtime-switch-rollout-<id> (labels app.kubernetes.io/
 * managed-by and runtime-switch.kubectl.dev/rollout=<id>), key
 * rollout.json: version, id, to, state (running|paused|halted|done|
 * aborted), owner and host, created/updated, the selection as given (names,
 * -l or --all: a rerun of the same command finds its record by it), the
 * options including the drain's flags (so `rollout resume` drains as the
 * rollout began), and the nodes in plan order, each with its batch
 * number, state (pending|running|done|failed|cancelled), single-node run
 * id, last phase, times and reason.  The batches are the nodes' batch
 * numbers rather than a second list of names: smaller, and nothing to
 * keep consistent (5,000 finished nodes named node-NNNNN: 671 KB, under
 * the ConfigMap's 1 MiB; longer names make a record too big to write,
 * said as such).  Written with the resourceVersion and UID as
 * preconditions (a lost race is an error, never an overwrite).  It is
 * input others can write: a bounded parser (1 MB, 5,000 nodes, every
 * string, known states and phases only, batches 1, 2, ... in order, each
 * node once) with a fuzz target (fuzz_rollout_record).
 * A rerun of the same command (same selection and target) or `rollout
 * resume` reads it, takes the lock, and continues with the first node not
 * done: done nodes are never run again; a node "running" is handed to
 * rs_switch_run, which resumes from the node's own record.
 *
 * Lock.  The rollout's own Lease, runtime-switch-rollout-<id>, holding
 * the owner's identity (trust-lock's identity code: user, host, pid),
 * renewed by the coordinator; each in-flight node additionally holds its
 * per-node Lease as a single `node` run does.  A second rollout over any
 * of the same nodes finds a node Lease or a live rollout record naming the
 * node and is refused with the holder's name; no silent expiry (a stale
 * holder is taken over only by `rollout resume --take-over`). */
#ifndef RS_OPS_ROLLOUT_PLAN_H
#define RS_OPS_ROLLOUT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/err.h"

#define RS_RO_ZONE_LABEL "topology.kubernetes.io/zone"
/* bounds on what the planner is given */
#define RS_RO_MAX_NODES 100000
#define RS_RO_MAX_PDBS 100000

enum rs_ro_state {
  RS_RO_PLANNED,      /* in a batch */
  RS_RO_SKIPPED,      /* already on the target */
  RS_RO_BLOCKED,      /* preflight or drain blockers: the rollout cannot start */
  RS_RO_HELD,         /* a control-plane rule keeps it out of this rollout */
  _RS_RO_STATE_MAX,
};
const char *rs_ro_state_name(int state);

/* Pods of one node covered by one budget (evictions the node's drain
 * takes from it). */
struct rs_ro_evict {
  size_t pdb;         /* index into rs_ro_input.pdbs */
  long pods;
};

struct rs_ro_node {
  const char *name;
  const char *zone;           /* NULL: none */
  bool control_plane;
  bool ready;
  bool on_target;
  bool blocked;               /* the caller found blockers (say which itself) */
  const struct rs_ro_evict *evict;
  size_t nevict;
};

struct rs_ro_pdb {
  const char *ns, *name;
  long allowed;               /* status.disruptionsAllowed now */
};

struct rs_ro_opts {
  long canary;                /* nodes in the canary batch; 0: no canary */
  long max_unavailable;       /* N; ignored when percent >= 0 */
  long max_unavailable_pct;   /* P (of the planned nodes); -1: use N */
  long max_zones;             /* zones in one batch; 0: no limit */
  bool allow_all_control_plane;
};

struct rs_ro_input {
  const struct rs_ro_node *nodes;
  size_t nnodes;
  const struct rs_ro_pdb *pdbs;
  size_t npdbs;
  size_t cluster_control_plane;          /* control-plane nodes in the cluster */
  char **cluster_cp_not_ready;           /* NotReady control-plane nodes not in
                                            nodes (NULL-terminated; may be NULL) */
};

enum rs_ro_batch_kind {
  RS_RO_BATCH_CANARY,
  RS_RO_BATCH_WORKERS,
  RS_RO_BATCH_CONTROL_PLANE,
};

struct rs_ro_batch {
  size_t start, n;            /* plan.order[start .. start+n) */
  int kind;                   /* enum rs_ro_batch_kind */
  long want;                  /* its size before the budgets shrank it */
  char *note;                 /* why it shrank; NULL: it did not */
};

struct rs_ro_plan {
  size_t *order;              /* planned node indexes, batch after batch */
  size_t norder;
  struct rs_ro_batch *batches;
  size_t nbatches;
  int *state;                 /* per input node: enum rs_ro_state */
  long *batch_of;             /* per input node: its batch, -1: none */
  char **reason;              /* per input node: why held (NULL otherwise) */
  size_t nnodes;              /* of the input: the length of the three above */
  long max_unavailable;       /* resolved */
};
void rs_ro_plan_clear(struct rs_ro_plan *p);

/* "2" or "25%" (0% < P <= 100%, 1 <= N <= 100000); -1 with RS_E_USAGE. */
int rs_ro_parse_max_unavailable(const char *s, long *ret_n, long *ret_pct, rs_err_t *err);
/* The batch size for max_unavailable over planned nodes (>= 1). */
long rs_ro_resolve_max_unavailable(long n, long pct, size_t planned);

/* How many of cand[0..n) (node indexes, in order) can drain together: the
 * longest prefix whose evictions fit every budget's allowed disruptions
 * (a node alone always fits: its drain waits for the budget).  *ret_pdb is
 * the budget that stopped it, or (size_t)-1. */
size_t rs_ro_fit(const struct rs_ro_input *in, const size_t *cand, size_t n, size_t *ret_pdb);

/* Match a LabelSelector (matchLabels, matchExpressions In/NotIn/Exists/
 * DoesNotExist) against labels.  An empty selector matches everything (as
 * for policy/v1 PDBs); a malformed one matches nothing. */
bool rs_ro_selector_matches(const json_t *selector, const json_t *labels);

int rs_ro_plan_make(const struct rs_ro_input *in, const struct rs_ro_opts *o, struct rs_ro_plan *ret,
                    rs_err_t *err);

#endif
