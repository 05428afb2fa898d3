#include "ops/verdict.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "ops/nodes.h"

static const char *const kind_names[_RS_VERDICT_MAX] = {
    [RS_VERDICT_DOCKERSHIM] = "dockershim", [RS_VERDICT_CRI_DOCKERD] = "cri-dockerd",
    [RS_VERDICT_CONTAINERD] = "containerd", [RS_VERDICT_CRIO] = "cri-o",
    [RS_VERDICT_UNKNOWN] = "unknown",
};
static const char *const action_names[_RS_ACTION_MAX] = {
    [RS_ACTION_NONE] = "none", [RS_ACTION_RECOMMENDED] = "recommended",
    [RS_ACTION_REQUIRED] = "required", [RS_ACTION_CHECK] = "check",
};

const char *rs_verdict_kind_name(int k) {
  return k >= 0 && k < _RS_VERDICT_MAX ? kind_names[k] : "unknown";
}
const char *rs_verdict_action_name(int a) {
  return a >= 0 && a < _RS_ACTION_MAX ? action_names[a] : "check";
}

void rs_verdict_clear(struct rs_verdict *v) {
  free(v->message);
  v->message = NULL;
}

static bool kubelet_at_least(const char *v, int maj, int min) {
  int a, b;
  if (rs_version_major_minor(v, &a, &b) < 0) return false;
  return a > maj || (a == maj && b >= min);
}

int rs_verdict_for(const struct rs_node_status *n, struct rs_verdict *ret,
                   rs_err_t *err) {
  const char *rt = n->runtime ? n->runtime : "";
  const char *ep = rs_node_endpoint(n);
  bool ep_dockerd = ep && strstr(ep, "cri-dockerd");
  bool ep_shim = ep && strstr(ep, "dockershim");
  struct rs_verdict v = {RS_VERDICT_UNKNOWN, RS_ACTION_CHECK, NULL};
  if (strcmp(rt, "docker") == 0) {
    if (ep_dockerd) {
      v = (struct rs_verdict){RS_VERDICT_CRI_DOCKERD, RS_ACTION_RECOMMENDED,
                              strdup("cri-dockerd — works with kubelet 1.24+; switch to containerd to drop the extra shim")};
    } else if (kubelet_at_least(n->kubelet_version, 1, 24) && !ep_shim) {
      v = (struct rs_verdict){RS_VERDICT_CRI_DOCKERD, RS_ACTION_RECOMMENDED,
                              strdup("cri-dockerd (kubelet 1.24+ has no dockershim) — switch to containerd to drop the extra shim")};
    } else {
      v = (struct rs_verdict){RS_VERDICT_DOCKERSHIM, RS_ACTION_REQUIRED,
                              strdup("dockershim — must switch before upgrading kubelet to 1.24")};
    }
  } else if (strcmp(rt, "containerd") == 0) {
    v = (struct rs_verdict){RS_VERDICT_CONTAINERD, RS_ACTION_NONE,
                            strdup("containerd — nothing to do")};
  } else if (strcmp(rt, "cri-o") == 0 || strcmp(rt, "crio") == 0) {
    v = (struct rs_verdict){RS_VERDICT_CRIO, RS_ACTION_NONE, strdup("cri-o — nothing to do")};
  } else if (!*rt) {
    v.message = strdup("runtime not reported by the kubelet — check the node");
  } else {
    v.message = rs_strdup_printf("unknown runtime \"%s\" — check the node", rt);
  }
  if (!v.message) return rs_oom(err);
  *ret = v;
  return 0;
}
