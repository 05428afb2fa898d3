/* Inside the rollout engine: its health gates (rollout_gate.c), used by
 * rollout_run.c. */
#ifndef RS_OPS_ROLLOUT_INT_H
#define RS_OPS_ROLLOUT_INT_H

#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"

/* Before a node's drain: the ReplicaSets and StatefulSets with pods on it
 * and their available replicas ({"kind/ns/name": N}). */
int rs_rr_gate_snapshot(rs_kube_client_t *c, const char *node, json_t **ret, rs_err_t *err);

/* After its switch, wait (at most timeout_ms, Ctrl-C stops it) until the
 * node is Ready on runtime `to`, its DaemonSet pods Ready and every
 * workload of before back to what it had (or to its replicas, if fewer
 * now).  0: passed; 1: failed, *ret_why says what is not back; -1: error. */
int rs_rr_gate_node(rs_kube_client_t *c, const char *node, const char *to, const json_t *before,
                    long long timeout_ms, char **ret_why, rs_err_t *err);

/* The restart counts of every container of the pods on nodes
 * ({"ns/pod/container": N}). */
int rs_rr_gate_restarts(rs_kube_client_t *c, char *const *nodes, json_t **ret, rs_err_t *err);
/* What restarted between two counts ("soak: ..." heap text; NULL: none). */
char *rs_rr_gate_restarted(const json_t *before, const json_t *after);

#endif
