/* Preflight, what the node runs now: the kubelet and its settings, the
 * runtime behind its endpoint, the target's version and units, Docker's
 * daemon.json, the cgroup driver, the sandbox image and the CNI dirs. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "plan_int.h"
#include "helper/kubelet_flags.h"
#include "helper/kubelet_yaml.h"
#include "helper/unit_exec.h"

/* The kubelet's default sandbox image by minor version. */
static const struct { int max_minor; const char *image; } default_pause[] = {
    {20, "k8s.gcr.io/pause:3.2"},       {21, "k8s.gcr.io/pause:3.4.1"},
    {22, "k8s.gcr.io/pause:3.5"},       {23, "k8s.gcr.io/pause:3.6"},
    {24, "k8s.gcr.io/pause:3.7"},       {25, "registry.k8s.io/pause:3.8"},
    {30, "registry.k8s.io/pause:3.9"},  {1000, "registry.k8s.io/pause:3.10"},
};

/* First line of a command's stdout+stderr, or NULL when it cannot run. */
static char *cmd_text(struct ctx *c, const char *const *argv, long long ms) {
  struct rs_proc_result r = {0};
  rs_err_t e = RS_ERR_INIT;
  if (rs_host_run(c->h, argv, ms, &r, &e) < 0) {
    rs_err_clear(&e);
    return NULL;
  }
  char *s = NULL;
  if (r.status == 0)
    s = rs_strdup_printf("%s\n%s", r.out ? r.out : "", r.errout ? r.errout : "");
  rs_proc_result_free(&r);
  return s;
}

/* The version-looking token after `after` ("v1.27.3", "1.6.20~ds1"). */
static char *version_after(const char *text, const char *after) {
  const char *p = text ? strstr(text, after) : NULL;
  if (!p) return NULL;
  p += strlen(after);
  while (*p == ' ' || *p == '\t' || *p == 'v') p++;
  if (!isdigit((unsigned char)*p)) return NULL;
  size_t n = 0;
  while (p[n] && !isspace((unsigned char)p[n])) n++;
  return strndup(p, n);
}

int plan_read_kubelet(struct ctx *c) {
  struct rs_plan *p = c->p;
  const char *argv[] = {"kubelet", "--version", NULL};
  _cleanup_free_ char *out = cmd_text(c, argv, 30000);
  char *v = version_after(out, "Kubernetes");
  if (!v || rs_version_major_minor(v, &p->kmaj, &p->kmin) < 0) {
    free(v);
    return BLOCK(c, "cannot tell the kubelet's version (kubelet --version failed)");
  }
  p->kubelet_version = v;
  if (rs_host_read(c->h, KUBEADM_FLAGS, RS_ENV_MAX_SIZE, &c->ka_text, NULL, c->err) < 0 ||
      rs_host_read(c->h, KUBELET_CONFIG, RS_KYAML_MAX_SIZE, &c->cy_text, NULL, c->err) < 0 ||
      rs_host_read(c->h, INSTANCE_CONFIG, RS_KYAML_MAX_SIZE, &c->ic_text, NULL, c->err) < 0)
    return -1;
  if (c->ka_text && !(c->ka_path = strdup(KUBEADM_FLAGS)))
    return rs_oom(c->err);
  static const char *const extra[] = {"/etc/default/kubelet", "/etc/sysconfig/kubelet"};
  for (size_t i = 0; i < 2 && !c->ex_text; i++) {
    if (rs_host_read(c->h, extra[i], RS_ENV_MAX_SIZE, &c->ex_text, NULL, c->err) < 0) return -1;
    if (c->ex_text && !(c->ex_path = strdup(extra[i])))
      return rs_oom(c->err);
  }
  if (!c->ka_text && !c->ex_text && !c->cy_text)
    return BLOCK(c, "no kubelet settings found (%s, %s, /etc/default/kubelet)",
                 KUBEADM_FLAGS, KUBELET_CONFIG);
  return 0;
}

int plan_detect_source(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_free_ char *ep = NULL, *cr = NULL, *cy_ep = NULL, *ic_ep = NULL;
  if (plan_kubelet_flag(c, "--container-runtime-endpoint", &ep) < 0 ||
      plan_kubelet_flag(c, "--container-runtime", &cr) < 0)
    return rs_wrap(c->err, "kubelet flags");
  if (c->cy_text && rs_kyaml_get(c->cy_text, strlen(c->cy_text), "containerRuntimeEndpoint",
                                 &cy_ep, c->err) < 0)
    return rs_wrap(c->err, "%s", KUBELET_CONFIG);
  if (c->ic_text && rs_kyaml_get(c->ic_text, strlen(c->ic_text), "containerRuntimeEndpoint",
                                 &ic_ep, c->err) < 0)
    return rs_wrap(c->err, "%s", INSTANCE_CONFIG);
  const char *now = ep ? ep : cy_ep ? cy_ep : ic_ep;
  enum rs_rt from = RS_RT_NONE;
  if (p->kmaj == 1 && p->kmin < 24 && (!cr || strcmp(cr, "remote") != 0)) {
    from = RS_RT_DOCKER; /* dockershim: endpoint flags unused */
    now = rs_runtimes[RS_RT_DOCKER].endpoint;
  } else if (!now) {
    now = rs_runtimes[RS_RT_CONTAINERD].endpoint; /* the kubelet's default since 1.24 */
  }
  if (from == RS_RT_NONE) from = rs_rt_by_endpoint(now);
  if (plan_set_str(&p->endpoint_before, now, c->err) < 0) return -1;
  if (from == RS_RT_NONE) return BLOCK(c, "unknown container runtime behind %s", now);
  p->from = from;
  return 0;
}

/* The target's version from `PROGRAM --version`; NULL when it cannot tell. */
static char *target_version(struct ctx *c, enum rs_rt to) {
  const char *argv[] = {rs_runtimes[to].command, "--version", NULL};
  _cleanup_free_ char *out = cmd_text(c, argv, 30000);
  if (to == RS_RT_CONTAINERD) {
    /* "containerd github.com/containerd/containerd 1.6.20~ds1 <rev>" */
    const char *s = out;
    for (int i = 0; i < 2 && s; i++) {
      s = strchr(s, ' ');
      if (s) s++;
    }
    return s ? version_after(s, "") : NULL;
  }
  if (to == RS_RT_CRIO) {
    char *v = version_after(out, "Version:");
    return v ? v : version_after(out, "crio version");
  }
  return version_after(out, rs_runtimes[to].command); /* "cri-dockerd 0.3.4 (...)" */
}

/* containerd's version against the kubelet's: blockers and warnings. */
static void containerd_support(struct ctx *c, const char *v) {
  struct rs_plan *p = c->p;
  if (p->rt_major > 2) BLOCK(c, "containerd %s is newer than this helper knows", v);
  if (p->rt_major < 1 || (p->rt_major == 1 && p->rt_minor < 6))
    BLOCK(c, "containerd %s is too old; 1.6 or newer is needed", v);
  if (p->rt_major == 1 && p->kmaj == 1 && p->kmin >= 36)
    BLOCK(c, "kubelet %s does not support containerd 1.x", p->kubelet_version);
  if (p->rt_major == 1 && p->kmaj == 1 && p->kmin >= 29 &&
      rs_version_cmp(v, p->rt_minor == 6 ? "1.6.22" : "1.7.2") < 0)
    WARN(c, "containerd %s does not pin the sandbox image; the kubelet may "
            "garbage-collect it (1.6.22+ / 1.7.2+ do)", v);
  /* containerd's RELEASES.md: the oldest patch release per line that a
   * kubelet minor is supported with */
  static const struct { int kmin; const char *min[4]; } matrix[] = {
      {34, {"1.6.39", "1.7.28", "2.0.6", "2.1.3"}},
      {35, {NULL, "1.7.28", "2.1.5", "2.1.5"}},
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(matrix); i++) {
    if (p->kmaj != 1 || p->kmin != matrix[i].kmin) continue;
    int line = p->rt_major == 1 ? p->rt_minor - 6 : 2 + (p->rt_minor >= 1);
    const char *min = line >= 0 && line < 4 ? matrix[i].min[line] : NULL;
    if (!min)
      WARN(c, "containerd %d.%d is not supported with kubelet 1.%d", p->rt_major, p->rt_minor,
           p->kmin);
    else if (rs_version_cmp(v, min) < 0)
      WARN(c, "containerd %s is older than %s, the oldest %d.%d release supported with "
              "kubelet 1.%d", v, min, p->rt_major, p->rt_minor, p->kmin);
  }
}

int plan_check_target(struct ctx *c) {
  struct rs_plan *p = c->p;
  const struct rs_rt_info *t = rs_rt_info(p->to);
  char *v = target_version(c, p->to);
  /* cri-dockerd's version is shown, not checked */
  if (!v || (rs_version_major_minor(v, &p->rt_major, &p->rt_minor) < 0 && p->to != RS_RT_CRI_DOCKERD)) {
    free(v);
    return BLOCK(c, "%s is not installed (%s --version failed)", t->name, t->command);
  }
  p->runtime_version = v;
  if (p->to == RS_RT_CONTAINERD) containerd_support(c, v);
  if (p->to == RS_RT_CRIO && p->rt_major == 1 && p->kmaj == 1 && p->rt_minor != p->kmin)
    WARN(c, "cri-o %s and kubelet %s differ in minor version", v, p->kubelet_version);
  if (plan_set_str(&p->socket, rs_rt_socket(p->to), c->err) < 0) return -1;
  for (size_t i = 0; i < RS_ARRAY_SIZE(t->start) && t->start[i].name; i++)
    if (plan_add_unit(c, t->start[i].name, RS_ROLE_TARGET, t->start[i].required) < 0) return -1;
  return 0;
}

int plan_read_docker(struct ctx *c) {
  _cleanup_free_ char *t = NULL;
  size_t len = 0;
  if (rs_host_read(c->h, DOCKER_DAEMON_JSON, RS_MAX_CONFIG, &t, &len, c->err) < 0) return -1;
  if (!t) return rs_docker_cfg_parse("", 0, &c->docker, c->err); /* none: all empty */
  if (rs_docker_cfg_parse(t, len, &c->docker, c->err) < 0) {
    BLOCK(c, "%s: %s", DOCKER_DAEMON_JSON, c->err->msg);
    rs_err_clear(c->err);
    return 0;
  }
  c->have_docker_cfg = true;
  if (c->docker.live_restore)
    WARN(c, "docker has live-restore on: the helper removes the pods' containers "
            "before stopping it");
  return 0;
}

int plan_cgroup_driver(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_free_ char *flag = NULL, *cy = NULL;
  if (plan_kubelet_flag(c, "--cgroup-driver", &flag) < 0) return -1;
  if (c->cy_text && rs_kyaml_get(c->cy_text, strlen(c->cy_text), "cgroupDriver", &cy, c->err) < 0)
    return rs_wrap(c->err, "%s", KUBELET_CONFIG);
  const char *d = NULL, *src = NULL;
  if (flag && *flag) {
    d = flag;
    src = "kubelet flag --cgroup-driver";
  } else if (cy && *cy) {
    d = cy;
    src = "kubelet config.yaml cgroupDriver";
  } else if (c->have_docker_cfg && c->docker.cgroup_driver && plan_uses_docker(p->from)) {
    d = c->docker.cgroup_driver;
    src = "docker exec-opts native.cgroupdriver";
  } else {
    d = "cgroupfs";
    src = "kubelet default";
  }
  if (strcmp(d, "systemd") != 0 && strcmp(d, "cgroupfs") != 0)
    return BLOCK(c, "unknown cgroup driver %s (%s)", d, src);
  if (c->have_docker_cfg && c->docker.cgroup_driver && plan_uses_docker(p->from) &&
      strcmp(c->docker.cgroup_driver, d) != 0)
    WARN(c, "docker's cgroup driver %s differs from the kubelet's %s; using the kubelet's",
         c->docker.cgroup_driver, d);
  if (plan_set_str(&p->cgroup_driver, d, c->err) < 0) return -1;
  return plan_set_str(&p->cgroup_driver_source, src, c->err);
}

/* cri-dockerd keeps its own --pod-infra-container-image on its command
 * line: the one systemd runs, its drop-ins applied.  NULL (and 0) when the
 * command does not set it or cannot be read (the plan looks elsewhere). */
static int cri_dockerd_pause(struct ctx *c, char **ret) {
  _cleanup_strv_ char **argv = NULL;
  _cleanup_free_ char *late = NULL, *why = NULL;
  *ret = NULL;
  if (plan_cri_dockerd_argv(c, &argv, &late, &why) < 0) return -1;
  if (!argv) return 0;
  rs_err_t e = RS_ERR_INIT;
  if (rs_exec_flag_get(argv, "--pod-infra-container-image", ret, &e) < 0) {
    bool oom = e.kind == RS_E_SYS && e.code == ENOMEM;
    if (oom) rs_err_move(c->err, &e);
    rs_err_clear(&e);
    return oom ? -1 : 0;
  }
  if (*ret && !**ret) {
    free(*ret);
    *ret = NULL;
  }
  return 0;
}

int plan_sandbox_image(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_free_ char *flag = NULL;
  if (plan_kubelet_flag(c, "--pod-infra-container-image", &flag) < 0) return -1;
  const char *img = NULL, *src = NULL;
  _cleanup_free_ char *cd = NULL, *dk = NULL;
  if (flag && *flag) {
    img = flag;
    src = "kubelet flag --pod-infra-container-image";
  } else if (p->from == RS_RT_CRI_DOCKERD && cri_dockerd_pause(c, &cd) < 0) {
    return -1;
  } else if (cd) {
    img = cd;
    src = "cri-dockerd --pod-infra-container-image";
  } else if (plan_uses_docker(p->from)) {
    const char *argv[] = {"docker", "ps", "-a", "--filter", "label=io.kubernetes.docker.type=podsandbox",
                          "--format", "{{.Image}}", NULL};
    rs_err_t e = RS_ERR_INIT;
    if (rs_host_run_ok(c->h, argv, 60000, &dk, &e) == 0 && dk && *dk) {
      dk[strcspn(dk, "\n")] = '\0';
      if (*dk && !rs_startswith(dk, "sha256:")) {
        img = dk;
        src = "image of the node's docker pod sandboxes";
      }
    }
    rs_err_clear(&e);
  }
  if (!img) {
    for (size_t i = 0; i < RS_ARRAY_SIZE(default_pause); i++)
      if (p->kmin <= default_pause[i].max_minor) {
        img = default_pause[i].image;
        break;
      }
    src = PLAN_SANDBOX_DEFAULT_SRC;
  }
  if (plan_set_str(&p->sandbox_image, img, c->err) < 0) return -1;
  return plan_set_str(&p->sandbox_image_source, src, c->err);
}

bool plan_cni_plugins_in(struct ctx *c, const char *dir) {
  static const char *const plugins[] = {"loopback", "bridge", "host-local"};
  for (size_t i = 0; i < RS_ARRAY_SIZE(plugins); i++) {
    _cleanup_free_ char *f = rs_strdup_printf("%s/%s", dir, plugins[i]);
    if (f && rs_host_exists(c->h, f)) return true;
  }
  return false;
}

int plan_cni_dirs(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_free_ char *bin = NULL, *conf = NULL;
  if (plan_kubelet_flag(c, "--cni-bin-dir", &bin) < 0 || plan_kubelet_flag(c, "--cni-conf-dir", &conf) < 0)
    return -1;
  if (bin && *bin) {
    /* the kubelet accepted a comma-separated list; runtimes take one here */
    bin[strcspn(bin, ",")] = '\0';
    if (plan_set_str(&p->cni_bin_dir, bin, c->err) < 0) return -1;
  } else {
    static const char *const cand[] = {"/opt/cni/bin", "/usr/lib/cni", "/usr/libexec/cni"};
    for (size_t i = 0; i < RS_ARRAY_SIZE(cand) && !p->cni_bin_dir; i++)
      if (plan_cni_plugins_in(c, cand[i]) && plan_set_str(&p->cni_bin_dir, cand[i], c->err) < 0) return -1;
    if (!p->cni_bin_dir)
      WARN(c, "no CNI plugins found in /opt/cni/bin, /usr/lib/cni or /usr/libexec/cni");
  }
  return plan_set_str(&p->cni_conf_dir, conf && *conf ? conf : "/etc/cni/net.d", c->err);
}
