/* Preflight (see helper/plan.h): build the plan from its parts (see
 * plan_int.h).  Everything only reads the host and runs read-only commands
 * (--version, docker ps/inspect, config default). */
#include "helper/plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "plan_int.h"

static void ctx_free(struct ctx *c) {
  free(c->ka_path);
  free(c->ka_text);
  free(c->ex_path);
  free(c->ex_text);
  free(c->cy_text);
  free(c->ic_text);
  rs_docker_cfg_free(&c->docker);
  plan_docker_free(c);
}

int rs_plan_build(const struct rs_host *h, const struct rs_plan_opts *o,
                  struct rs_plan *ret, rs_err_t *err) {
  struct rs_plan p = {0};
  struct ctx c = {.h = h, .p = &p, .err = err};
  int r = 0;
  p.steps = rs_strv_new();
  p.warnings = rs_strv_new();
  p.blockers = rs_strv_new();
  p.images = rs_strv_new();
  if (!p.steps || !p.warnings || !p.blockers || !p.images || plan_set_str(&p.id, o->id, err) < 0)
    r = rs_oom(err);
  if (r == 0 && !rs_rt_info(o->to)) r = rs_fail(err, RS_E_USAGE, EINVAL, "no target runtime");
  p.to = o->to;
  if (r == 0 && !rs_host_fixture(h) && !rs_host_systemd(h))
    r = WARN(&c, "PID 1 is not systemd: services are driven with `service`, and the apply "
                 "process leaves the pod's cgroup instead of running as a unit");
  if (r == 0) r = plan_read_kubelet(&c);
  if (r == 0 && !p.blockers[0]) r = plan_detect_source(&c);
  if (r == 0 && !p.blockers[0] && p.from == p.to)
    r = BLOCK(&c, "the node already runs %s", rs_rt_name(p.to));
  if (r == 0 && !p.blockers[0]) r = plan_read_docker(&c);
  if (r == 0 && !p.blockers[0]) r = plan_docker_sources(&c);
  if (r == 0 && !p.blockers[0]) r = plan_check_target(&c);
  if (r == 0 && !p.blockers[0]) r = plan_cgroup_driver(&c);
  if (r == 0 && !p.blockers[0]) r = plan_sandbox_image(&c);
  if (r == 0 && !p.blockers[0]) r = plan_cni_dirs(&c);
  if (r == 0 && !p.blockers[0] && p.from == RS_RT_CRI_DOCKERD) r = plan_cri_dockerd_network(&c);
  enum rs_rt_config cfg = rs_rt_info(p.to)->config;
  if (r == 0 && !p.blockers[0] && cfg == RS_RT_CFG_CONTAINERD_TOML) r = plan_containerd(&c);
  if (r == 0 && !p.blockers[0] && cfg == RS_RT_CFG_CRIO_DROPIN) r = plan_crio(&c);
  if (r == 0 && !p.blockers[0] && p.to == RS_RT_CRI_DOCKERD) r = plan_cri_dockerd(&c);
  if (r == 0 && !p.blockers[0]) r = plan_kubelet(&c);
  if (r == 0 && !p.blockers[0]) r = plan_docker_carry(&c);
  if (r == 0 && !p.blockers[0]) r = plan_crictl(&c);
  if (r == 0 && !p.blockers[0]) r = plan_images(&c, o->no_images);
  if (r == 0 && !p.blockers[0]) r = plan_units_and_steps(&c, p.images[0] != NULL);
  ctx_free(&c);
  if (r < 0) {
    rs_plan_free(&p);
    return -1;
  }
  *ret = p;
  return 0;
}

bool rs_plan_has_step(const struct rs_plan *p, const char *step) {
  return rs_strv_contains(p->steps, step);
}

void rs_plan_free(struct rs_plan *p) {
  if (!p) return;
  char **strs[] = {&p->id, &p->kubelet_version, &p->endpoint_before,
                   &p->endpoint_after, &p->endpoint_where, &p->cgroup_driver,
                   &p->cgroup_driver_source, &p->runtime_version, &p->socket,
                   &p->sandbox_image, &p->sandbox_image_source, &p->cni_bin_dir,
                   &p->cni_conf_dir, &p->network_plugin, &p->network_plugin_source};
  for (size_t i = 0; i < RS_ARRAY_SIZE(strs); i++) free(*strs[i]);
  for (size_t i = 0; i < p->nfiles; i++) {
    free(p->files[i].path);
    free(p->files[i].old_text);
    free(p->files[i].new_text);
    rs_strv_free(p->files[i].changes);
  }
  free(p->files);
  for (size_t i = 0; i < p->nunits; i++) free(p->units[i].unit);
  free(p->units);
  for (struct rs_docker_setting *s = p->settings; s && s < p->settings + p->nsettings; s++) {
    char *texts[] = {s->key, s->value, s->target, s->why};
    for (size_t k = 0; k < RS_ARRAY_SIZE(texts); k++) free(texts[k]);
  }
  free(p->settings);
  rs_strv_free(p->images);
  rs_strv_free(p->steps);
  rs_strv_free(p->warnings);
  rs_strv_free(p->blockers);
  memset(p, 0, sizeof *p);
}
