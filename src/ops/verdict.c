#include "ops/verdict.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "helper/runtimes.h"
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

/* The runtime a containerRuntimeVersion scheme names ("docker" is Docker
 * Engine, behind dockershim or cri-dockerd: the endpoint tells which). */
static enum rs_rt runtime_of(const char *scheme) {
  for (int i = RS_RT_NONE + 1; i < _RS_RT_MAX; i++)
    if (strcmp(scheme, rs_runtimes[i].node_scheme) == 0) return (enum rs_rt)i;
  return RS_RT_NONE;
}

int rs_verdict_for(const struct rs_node_status *n, struct rs_verdict *ret,
                   rs_err_t *err) {
  const char *scheme = n->runtime ? n->runtime : "";
  enum rs_rt rt = runtime_of(scheme);
  enum rs_rt on = rs_rt_by_endpoint(rs_node_endpoint(n));
  struct rs_verdict v = {RS_VERDICT_UNKNOWN, RS_ACTION_CHECK, NULL};
  if (rt != RS_RT_NONE && rs_runtimes[rt].docker_engine) {
    if (on == RS_RT_CRI_DOCKERD) {
      v = (struct rs_verdict){RS_VERDICT_CRI_DOCKERD, RS_ACTION_RECOMMENDED,
                              strdup("cri-dockerd — works with kubelet 1.24+; switch to containerd to drop the extra shim")};
    } else if (kubelet_at_least(n->kubelet_version, 1, 24) && on != RS_RT_DOCKER) {
      v = (struct rs_verdict){RS_VERDICT_CRI_DOCKERD, RS_ACTION_RECOMMENDED,
                              strdup("cri-dockerd (kubelet 1.24+ has no dockershim) — switch to containerd to drop the extra shim")};
    } else {
      v = (struct rs_verdict){RS_VERDICT_DOCKERSHIM, RS_ACTION_REQUIRED,
                              strdup("dockershim — must switch before upgrading kubelet to 1.24")};
    }
  } else if (rt == RS_RT_CONTAINERD || rt == RS_RT_CRIO) {
    v = (struct rs_verdict){rt == RS_RT_CONTAINERD ? RS_VERDICT_CONTAINERD : RS_VERDICT_CRIO,
                            RS_ACTION_NONE, rs_strdup_printf("%s — nothing to do", rs_rt_name(rt))};
  } else if (!*scheme) {
    v.message = strdup("runtime not reported by the kubelet — check the node");
  } else {
    v.message = rs_strdup_printf("unknown runtime \"%s\" — check the node", scheme);
  }
  if (!v.message) return rs_oom(err);
  *ret = v;
  return 0;
}
