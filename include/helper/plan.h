/* Preflight: read the node (never change it) and decide every file change,
 * service action and step of the switch; or say why it cannot be done. */
#ifndef RS_HELPER_PLAN_H
#define RS_HELPER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "common/buf.h"
#include "common/err.h"
#include "helper/host.h"
#include "helper/runtimes.h"
#include "helper/units.h"

enum rs_file_group { RS_FG_RUNTIME = 0, RS_FG_KUBELET = 1 };
enum rs_unit_role {
  RS_ROLE_KUBELET = 0, /* stopped first, started last */
  RS_ROLE_SOURCE = 1,  /* stopped and disabled */
  RS_ROLE_TARGET = 2,  /* enabled and (re)started */
};

struct rs_plan_file {
  char *path;     /* host path */
  int group;      /* enum rs_file_group */
  bool existed;   /* false: created by the switch */
  char *old_text; /* preflight only */
  size_t old_len;
  char *new_text; /* preflight only */
  mode_t mode;    /* for a new file */
  char **changes;
  char old_sha[65], new_sha[65];
};

/* What became of one Docker setting (contract.h, "docker_settings"). */
enum rs_setting_action {
  RS_SET_UNDECIDED = 0, /* preflight only: not looked at yet */
  RS_SET_CARRIED,
  RS_SET_REPORTED,
  RS_SET_DROPPED,
};

struct rs_docker_setting {
  char *key, *value; /* value: short, credentials hidden; may be NULL */
  int action;        /* enum rs_setting_action */
  char *target, *why; /* may be NULL */
};

struct rs_plan_unit {
  char *unit;
  int role;
  struct rs_unit_state before;
};

struct rs_plan {
  char *id;
  enum rs_rt from, to; /* from: RS_RT_NONE until preflight tells */
  char *kubelet_version;
  int kmaj, kmin;
  char *endpoint_before, *endpoint_after, *endpoint_where;
  char *cgroup_driver, *cgroup_driver_source;
  char *runtime_version;
  int rt_major, rt_minor, config_version;
  char *socket; /* host path of the target's CRI socket */
  char *sandbox_image, *sandbox_image_source;
  char *cni_bin_dir, *cni_conf_dir;
  /* leaving cri-dockerd: its own --network-plugin ("" when not set) and
   * where that was read, or only why it is not known (network_plugin NULL) */
  char *network_plugin, *network_plugin_source;
  char **images;
  unsigned long long images_bytes, free_bytes;
  struct rs_plan_file *files;
  size_t nfiles;
  struct rs_plan_unit *units;
  size_t nunits;
  struct rs_docker_setting *settings; /* leaving Docker: each of its settings */
  size_t nsettings;
  char **steps, **warnings, **blockers;
  long long deadline; /* unix seconds, set by launch */
};

struct rs_plan_opts {
  const char *id;
  enum rs_rt to;
  bool no_images;
};

/* Build the plan.  Returns -1 only for internal errors; problems with the
 * node are blockers inside the plan. */
int rs_plan_build(const struct rs_host *h, const struct rs_plan_opts *o,
                  struct rs_plan *ret, rs_err_t *err);
void rs_plan_free(struct rs_plan *p);
int rs_plan_json(const struct rs_plan *p, rs_buf_t *out, rs_err_t *err);
/* Read a plan.json written by launch (no file contents). */
int rs_plan_from_json(const char *text, size_t len, struct rs_plan *ret,
                      rs_err_t *err);
bool rs_plan_has_step(const struct rs_plan *p, const char *step);

/* Step names, in the order apply runs them (a plan lists those it needs). */
#define RS_STEP_IMAGES_SAVE "images-save"
#define RS_STEP_STOP_KUBELET "stop-kubelet"
#define RS_STEP_REMOVE_PODS "remove-pod-containers"
#define RS_STEP_STOP_SOURCE "stop-source"
#define RS_STEP_VALIDATE "validate-config"
#define RS_STEP_INSTALL_RUNTIME "install-runtime-config"
#define RS_STEP_DAEMON_RELOAD "daemon-reload" /* a unit drop-in changed */
#define RS_STEP_RESTART_RUNTIME "restart-runtime"
#define RS_STEP_WAIT_RUNTIME "wait-runtime"
#define RS_STEP_IMAGES_IMPORT "images-import"
#define RS_STEP_INSTALL_KUBELET "install-kubelet-config"
#define RS_STEP_START_KUBELET "start-kubelet"
#define RS_STEP_WAIT_KUBELET "wait-kubelet"
#define RS_STEP_DISABLE_SOURCE "disable-source"
#endif
