/* What `status` concludes for one node: which runtime path it is on and
 * whether it must switch before the kubelet can go to 1.24 or later. */
#ifndef RS_OPS_VERDICT_H
#define RS_OPS_VERDICT_H

#include "common/err.h"

struct rs_node_status;

enum rs_verdict_kind {
  RS_VERDICT_DOCKERSHIM,  /* Docker through the kubelet's built-in dockershim */
  RS_VERDICT_CRI_DOCKERD, /* Docker through cri-dockerd */
  RS_VERDICT_CONTAINERD,
  RS_VERDICT_CRIO,
  RS_VERDICT_UNKNOWN,
  _RS_VERDICT_MAX,
};

enum rs_verdict_action {
  RS_ACTION_NONE,        /* nothing to do */
  RS_ACTION_RECOMMENDED, /* works, but switching is advised */
  RS_ACTION_REQUIRED,    /* must switch before upgrading the kubelet to 1.24 */
  RS_ACTION_CHECK,       /* not enough information */
  _RS_ACTION_MAX,
};

struct rs_verdict {
  int kind;           /* enum rs_verdict_kind */
  int action;         /* enum rs_verdict_action */
  char *message;      /* "dockershim — must switch before upgrading kubelet to 1.24" */
};

/* Never fails on odd input (unknown runtimes get RS_VERDICT_UNKNOWN);
 * -1 only on OOM. */
int rs_verdict_for(const struct rs_node_status *n, struct rs_verdict *ret,
                   rs_err_t *err);
void rs_verdict_clear(struct rs_verdict *v);
const char *rs_verdict_kind_name(int kind);     /* "dockershim", ... */
const char *rs_verdict_action_name(int action); /* "none", "recommended", ... */

#endif
