/* Inside preflight (src/helper/plan*.c only): the context one plan is
 * built in, the helpers its parts share, and the parts in the order
 * rs_plan_build runs them:
 *   plan_detect.c  what the node runs now and what the target is
 *   plan_docker.c  what Docker had (daemon.json, certs.d, docker.service's
 *                  environment)
 *   plan_settings.c  what becomes of each of Docker's settings
 *   plan_files.c   the file changes (runtime config, kubelet settings)
 *   plan_registries.c  Docker's registries and certificates for the target
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
#include "helper/unit_env.h"

#define KUBEADM_FLAGS "/var/lib/kubelet/kubeadm-flags.env"
#define KUBELET_CONFIG "/var/lib/kubelet/config.yaml"
#define INSTANCE_CONFIG "/var/lib/kubelet/instance-config.yaml"
#define CONTAINERD_CONFIG "/etc/containerd/config.toml"
#define DOCKER_DAEMON_JSON "/etc/docker/daemon.json"
#define CERTS_D "/etc/containerd/certs.d"
#define DOCKER_CERTS_D "/etc/docker/certs.d"
/* docker_settings entries at most (Docker itself knows about 100 keys):
 * the plan stays small enough for plan.json's bound */
#define RS_SETTINGS_MAX 512
#define RS_SETTINGS_MORE "(more)" /* the entry after them: how many more */
#define CRICTL_YAML "/etc/crictl.yaml"
#define DOCKER_UNIT "docker.service"
/* how docker_settings names a variable of docker.service's environment */
#define DOCKER_ENV_KEY " (" DOCKER_UNIT " environment)"
#define VAR_KA "KUBELET_KUBEADM_ARGS"
#define VAR_EXTRA "KUBELET_EXTRA_ARGS"
/* sandbox_image_source when nothing on the node names one */
#define PLAN_SANDBOX_DEFAULT_SRC "the kubelet's default for its version"

/* One directory of /etc/docker/certs.d: its TLS files (*.crt CAs, *.cert
 * and *.key client pairs), or why they cannot be carried. */
struct docker_certs {
  char *host;
  char **names;  /* file names (strv) */
  char **texts;  /* their contents (strv, parallel) */
  mode_t *modes; /* their permission bits */
  char *why;     /* NULL: usable */
  char *note;    /* files left out, when some are usable */
};

struct ctx {
  const struct rs_host *h;
  struct rs_plan *p;
  rs_err_t *err;
  char *ka_path, *ka_text;       /* kubeadm-flags.env */
  char *ex_path, *ex_text;       /* /etc/default|sysconfig/kubelet */
  char *cy_text, *ic_text;       /* config.yaml, instance-config.yaml */
  struct rs_docker_cfg docker;
  bool have_docker_cfg;
  struct docker_certs *certs; /* /etc/docker/certs.d, by directory name */
  size_t ncerts;
  struct rs_unit_env docker_env; /* docker.service's environment */
  size_t certs_bytes;            /* read from certs.d so far */
  size_t settings_unlisted;      /* settings past RS_SETTINGS_MAX */
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
/* Add a file change (new_text and changes are taken, also on failure; a
 * new text equal to the old one is no change).  A second change of the
 * same path replaces the first one's new text and adds its changes. */
int plan_add_file(struct ctx *c, const char *path, int group, const char *old,
                  size_t old_len, char *new_text, mode_t mode, char **changes);
/* plan_add_file with one change, a formatted line (new_text is taken;
 * NULL means out of memory). */
int plan_add_file1(struct ctx *c, const char *path, int group, const char *old, size_t old_len,
                   char *new_text, mode_t mode, const char *fmt, ...) RS_PRINTF(8, 9);
/* The text a path will have: the planned new text, else old. */
const char *plan_text(const struct ctx *c, const char *path, const char *old);
/* A host file's permission bits, or dflt when it cannot be read. */
mode_t plan_file_mode(const struct ctx *c, const char *abs, mode_t dflt);
/* Record what becomes of one Docker setting (see contract.h); the first
 * decision about a key is the one kept.  why may be NULL. */
int plan_setting(struct ctx *c, const char *key, const char *value, int action,
                 const char *target, const char *why, ...) RS_PRINTF(6, 7);
/* The setting's value as daemon.json has it (shown form), or NULL. */
const char *plan_setting_value(const struct ctx *c, const char *key);
void plan_docker_free(struct ctx *c);

static inline bool plan_uses_docker(enum rs_rt rt) {
  const struct rs_rt_info *i = rs_rt_info(rt);
  return i && i->docker_engine;
}

/* plan_crio_rt.c: when CRI-O's configured default runtime is not
 * installed, the runtime the drop-in makes the default instead (runc and
 * its host path; both NULL: leave CRI-O's); neither installed blocks. */
int plan_crio_runtime(struct ctx *c, char **ret_name, char **ret_path);

/* plan_detect.c */
int plan_read_kubelet(struct ctx *c);
int plan_detect_source(struct ctx *c);
int plan_read_docker(struct ctx *c);
int plan_check_target(struct ctx *c);
int plan_cgroup_driver(struct ctx *c);
int plan_sandbox_image(struct ctx *c);
int plan_cni_dirs(struct ctx *c);
/* The directory holds one of the CNI plugins every network uses. */
bool plan_cni_plugins_in(struct ctx *c, const char *dir);
/* plan_docker.c */
int plan_docker_sources(struct ctx *c);
/* The proxy variables Go programs read; [i % 3] is rs_docker_proxy_env's. */
extern const char *const plan_proxy_vars[6];
/* The files systemd reads for a unit, in its order: the unit file (the
 * highest-priority one), then every drop-in by name (a name in a higher
 * directory hides the same name in a lower one). */
int plan_unit_files(struct ctx *c, const char *unit, char ***ret);
/* A unit's environment; *ret_bad: "path: why" for a file systemd would not
 * take as it is (then the environment is what came before it). */
int plan_unit_env(struct ctx *c, const char *unit, struct rs_unit_env *env, char **ret_bad);
/* plan_cridockerd.c: cri-dockerd's command line gets the node's CNI
 * settings and sandbox image (a drop-in resetting ExecStart=) */
int plan_cri_dockerd(struct ctx *c);
/* The ExecStart= systemd runs for cri-dockerd (its unit and drop-ins, the
 * last ExecStart= winning), split.  When it cannot be read safely,
 * *ret_argv is NULL and *ret_why says why.  *ret_late: a drop-in that sorts
 * after the helper's and sets ExecStart= (it would undo the helper's). */
int plan_cri_dockerd_argv(struct ctx *c, char ***ret_argv, char **ret_late, char **ret_why);
/* Leaving cri-dockerd: its --network-plugin into the plan (never a blocker). */
int plan_cri_dockerd_network(struct ctx *c);
/* plan_settings.c */
int plan_docker_carry(struct ctx *c);
/* plan_files.c */
int plan_containerd(struct ctx *c);
int plan_crio(struct ctx *c);
int plan_kubelet(struct ctx *c);
int plan_crictl(struct ctx *c);
/* plan_registries.c */
int plan_registries_containerd(struct ctx *c, bool legacy, bool *ret_any);
int plan_registries_crio(struct ctx *c);
/* plan_steps.c */
int plan_images(struct ctx *c, bool no_images);
int plan_units_and_steps(struct ctx *c, bool carry);

#endif
