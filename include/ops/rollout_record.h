/* The rollout's record (issue 12, part 2): one ConfigMap in the working
 * namespace, runtime-switch-rollout-<id>, key rollout.json, holding the
 * rollout's selection, options, plan (each node's batch) and each node's
 * state, with the owner's identity.  It lives in the cluster so that a
 * rerun, `rollout status` or `rollout resume` on any machine finds it.
 *
 * Why a ConfigMap and not the rollout's Lease (which holds the lock): a
 * record for a few thousand nodes is hundreds of KiB; a ConfigMap's data
 * takes up to 1 MiB, a Lease's annotations 256 KiB in all (and lease.h
 * bounds its record at 64 KiB).  The Lease says who holds the rollout;
 * the record says where it is.
 *
 * Every write is a PUT carrying the resourceVersion and UID it was read
 * at: a write that lost a race fails (409), never overwrites.  The record
 * is input others can write: the parser bounds its size, the node count,
 * every string, accepts known states and phases only and checks that the
 * batches are in order and every node named once.  Library code: never
 * prints. */
#ifndef RS_OPS_ROLLOUT_RECORD_H
#define RS_OPS_ROLLOUT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"

#define RS_ROR_PREFIX "runtime-switch-rollout-"
#define RS_ROR_KEY "rollout.json"
#define RS_ROR_LABEL "runtime-switch.kubectl.dev/rollout"
#define RS_ROR_VERSION 1
/* bounds on a record read back: under a ConfigMap's 1 MiB */
#define RS_ROR_MAX_BYTES 1000000
#define RS_ROR_MAX_NODES 5000
#define RS_ROR_MAX_TEXT 1024       /* owner, reason, selector */
#define RS_ROR_MAX_TIME 100000000000LL /* unix seconds */

/* The rollout as a whole. */
enum rs_ror_state {
  RS_ROR_RUNNING,     /* an owner is (or was, if it died) working on it */
  RS_ROR_PAUSED,      /* stopped on request (Ctrl-C): resumable */
  RS_ROR_HALTED,      /* stopped by a failure or a gate: resumable */
  RS_ROR_DONE,        /* every node final */
  RS_ROR_ABORTED,     /* `rollout abort`: every node final */
  _RS_ROR_STATE_MAX,
};
/* One node. */
enum rs_ror_node_state {
  RS_ROR_NODE_PENDING,   /* not started */
  RS_ROR_NODE_RUNNING,   /* its switch started (its own record is on the node) */
  RS_ROR_NODE_DONE,      /* on the target, verified, gates passed */
  RS_ROR_NODE_FAILED,    /* its switch failed (rolled back, left cordoned) */
  RS_ROR_NODE_CANCELLED, /* never started: the rollout was aborted */
  _RS_ROR_NODE_STATE_MAX,
};
const char *rs_ror_state_name(int state);
const char *rs_ror_node_state_name(int state);
int rs_ror_state_from_name(const char *s);      /* -1: unknown */
int rs_ror_node_state_from_name(const char *s); /* -1: unknown */
bool rs_ror_final(int state);                   /* done, aborted */
bool rs_ror_node_final(int state);              /* done, failed, cancelled */

struct rs_ror_node {
  char *name;
  long batch;             /* 1-based */
  int state;              /* enum rs_ror_node_state */
  char *run;              /* its single-node run id; NULL: none yet */
  char *phase;            /* the last phase seen (a switch phase name); NULL */
  char *reason;           /* why it failed; NULL */
  long long started, ended; /* unix seconds; 0: not yet */
};

/* The drain's flags, kept so that `rollout resume` drains as the rollout
 * began. */
struct rs_ror_drain {
  bool force, ignore_daemonsets, delete_emptydir_data, disable_eviction;
  long grace_period;      /* -1: the pod's own */
  long timeout_s;         /* 0: none */
  char *pod_selector;     /* NULL: all */
};

struct rs_ror_opts {
  long canary;
  char *max_unavailable;  /* "N" or "P%" */
  long max_zones;
  long max_failures;
  long soak_s;
  bool all_control_plane;
  struct rs_ror_drain drain;
};

struct rs_ror_record {
  char *id;               /* the rollout's id (a run id) */
  char *to;
  int state;              /* enum rs_ror_state */
  char *owner;            /* who runs it (the API server's name for the user) */
  char *host;             /* where; NULL: unknown */
  char *reason;           /* why it halted (a gate, a failed node); NULL: none */
  long long created, updated;
  /* the selection, exactly one of: */
  char **names;           /* node names as given (NULL-terminated) */
  char *selector;         /* -l */
  bool all;               /* --all */
  struct rs_ror_opts opts;
  struct rs_ror_node *nodes; /* in plan order, batch after batch */
  size_t nnodes;
  /* the ConfigMap it was read from or written to (not in the text) */
  char *uid, *rv;
};
void rs_ror_record_clear(struct rs_ror_record *r);
/* The ConfigMap's name for a rollout id (heap; NULL on OOM). */
char *rs_ror_name(const char *id);
/* A node of the record by name; NULL: not in it. */
struct rs_ror_node *rs_ror_node_find(const struct rs_ror_record *r, const char *name);
/* How many nodes are in state. */
size_t rs_ror_count(const struct rs_ror_record *r, int state);

/* Parse rollout.json (len bytes, need not be NUL-terminated).  *ret is
 * zeroed first; on -1 it stays cleared, *err (RS_E_INPUT or RS_E_LIMIT)
 * naming the field, and the node for a node's field. */
int rs_ror_parse(const char *text, size_t len, struct rs_ror_record *ret, rs_err_t *err);
/* The record as rollout.json (compact; heap).  A record the parser would
 * refuse (too big: RS_E_LIMIT, or invalid) is an error here, not a write. */
char *rs_ror_dump(const struct rs_ror_record *r, rs_err_t *err);
/* The record of a ConfigMap: its name must be rs_ror_name(id) of the id
 * inside; uid and rv come from its metadata. */
int rs_ror_from_configmap(const json_t *cm, struct rs_ror_record *ret, rs_err_t *err);

/* Create the record (POST); on success r->uid and r->rv are the new
 * object's.  A record of that id already there: -1, a 409 error. */
int rs_ror_create(rs_kube_client_t *c, const char *ns, struct rs_ror_record *r, rs_err_t *err);
/* Read the record of id: 0 with *ret_found false when there is none. */
int rs_ror_read(rs_kube_client_t *c, const char *ns, const char *id, struct rs_ror_record *ret,
                bool *ret_found, rs_err_t *err);
/* Write r (updated = now) with r->uid and r->rv as preconditions (PUT);
 * on success r->rv is the new one.  Changed or deleted since: -1 with the
 * API's 409/404 and a message saying so. */
int rs_ror_save(rs_kube_client_t *c, const char *ns, struct rs_ror_record *r, rs_err_t *err);
/* Delete the record (preconditions uid and rv); gone already: 0. */
int rs_ror_delete(rs_kube_client_t *c, const char *ns, const struct rs_ror_record *r, rs_err_t *err);

/* Every rollout record in ns (the label RS_ROR_LABEL): the ones that parse
 * in *ret (heap array of *ret_n), one line for each that does not in
 * *ret_bad ("NAME: why"; NULL-terminated). */
int rs_ror_list(rs_kube_client_t *c, const char *ns, struct rs_ror_record **ret, size_t *ret_n,
                char ***ret_bad, rs_err_t *err);
void rs_ror_list_free(struct rs_ror_record *v, size_t n);

#endif
