/* Inside preflight (src/helper/plan*.c only): the context one plan is
 * built in, the helpers its parts share, and the parts in the order
 * rs_plan_build runs them:
 *   plan_detect.c  what the node runs now and what the target is
 *   plan_files.c   the file changes (runtime config, kubelet settings)
 *   plan_steps.c   the images to carry, the services and the steps
 * and plan_ctx.c holds what they share (plan.c runs them in order). */
#ifndef RS_HELPER_PLAN_INT_H
#define RS_HELPER_PLAN_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "helper/docker_json.h"
#include "helper/host.h"
#include "helper/plan.h"
#include "helper/runtimes.h"

#define KUBEADM_FLAGS "/var/lib/kubelet/kubeadm-flags.env"
#define KUBELET_CONFIG "/var/lib/kubelet/config.yaml"
#define INSTANCE_CONFIG "/var/lib/kubelet/instance-config.yaml"
#define CONTAINERD_CONFIG "/etc/containerd/config.toml"
#define DOCKER_DAEMON_JSON "/etc/docker/daemon.json"
#define CERTS_D "/etc/containerd/certs.d"
#define VAR_KA "KUBELET_KUBEADM_ARGS"
#define VAR_EXTRA "KUBELET_EXTRA_ARGS"

struct ctx {
  const struct rs_host *h;
  struct rs_plan *p;
  rs_err_t *err;
  char *ka_path, *ka_text;       /* kubeadm-flags.env */
  char *ex_path, *ex_text;       /* /etc/default|sysconfig/kubelet */
  char *cy_text, *ic_text;       /* config.yaml, instance-config.yaml */
  struct rs_docker_cfg docker;
  bool have_docker_cfg;
  size_t files_cap;
};

int plan_add(char ***v, rs_err_t *err, const char *fmt, ...) RS_PRINTF(3, 4);
#define BLOCK(c, ...) plan_add(&(c)->p->blockers, (c)->err, __VA_ARGS__)
#define WARN(c, ...) plan_add(&(c)->p->warnings, (c)->err, __VA_ARGS__)
int plan_set_str(char **dst, const char *v, rs_err_t *err);
/* A flag the kubelet gets (KUBELET_EXTRA_ARGS wins over the kubeadm flags). */
int plan_kubelet_flag(struct ctx *c, const char *flag, char **ret);
/* Query a unit and add it to the plan; a required one missing blocks. */
int plan_add_unit(struct ctx *c, const char *unit, int role, bool required);

static inline bool plan_uses_docker(enum rs_rt rt) {
  const struct rs_rt_info *i = rs_rt_info(rt);
  return i && i->docker_engine;
}

/* plan_detect.c */
int plan_read_kubelet(struct ctx *c);
int plan_detect_source(struct ctx *c);
int plan_read_docker(struct ctx *c);
int plan_check_target(struct ctx *c);
int plan_cgroup_driver(struct ctx *c);
int plan_sandbox_image(struct ctx *c);
int plan_cni_dirs(struct ctx *c);
/* plan_files.c */
int plan_containerd(struct ctx *c);
int plan_crio(struct ctx *c);
int plan_kubelet(struct ctx *c);
/* plan_steps.c */
int plan_images(struct ctx *c, bool no_images);
int plan_units_and_steps(struct ctx *c, bool carry);

#endif
