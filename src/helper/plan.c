/* Preflight (see helper/plan.h).  Everything here only reads the host and
 * runs read-only commands (--version, docker ps/inspect, config default). */
#include "helper/plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "helper/containerd_toml.h"
#include "helper/contract.h"
#include "helper/crio_conf.h"
#include "helper/docker_json.h"
#include "helper/kubelet_flags.h"
#include "helper/kubelet_yaml.h"

#define KUBEADM_FLAGS "/var/lib/kubelet/kubeadm-flags.env"
#define KUBELET_CONFIG "/var/lib/kubelet/config.yaml"
#define INSTANCE_CONFIG "/var/lib/kubelet/instance-config.yaml"
#define CONTAINERD_CONFIG "/etc/containerd/config.toml"
#define DOCKER_DAEMON_JSON "/etc/docker/daemon.json"
#define CERTS_D "/etc/containerd/certs.d"
#define VAR_KA "KUBELET_KUBEADM_ARGS"
#define VAR_EXTRA "KUBELET_EXTRA_ARGS"

/* Removed from the kubelet with dockershim in 1.24. */
static const char *const dockershim_flags[] = {
    "--network-plugin", "--cni-bin-dir", "--cni-conf-dir", "--cni-cache-dir",
    "--docker-endpoint", "--image-pull-progress-deadline", "--network-plugin-mtu",
    "--experimental-dockershim-root-directory",
};

/* The kubelet's default sandbox image by minor version. */
static const struct { int max_minor; const char *image; } default_pause[] = {
    {20, "k8s.gcr.io/pause:3.2"},       {21, "k8s.gcr.io/pause:3.4.1"},
    {22, "k8s.gcr.io/pause:3.5"},       {23, "k8s.gcr.io/pause:3.6"},
    {24, "k8s.gcr.io/pause:3.7"},       {25, "registry.k8s.io/pause:3.8"},
    {30, "registry.k8s.io/pause:3.9"},  {1000, "registry.k8s.io/pause:3.10"},
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
  size_t files_cap;
};

static int add(char ***v, rs_err_t *err, const char *fmt, ...) RS_PRINTF(3, 4);
static int add(char ***v, rs_err_t *err, const char *fmt, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return rs_strv_consume(v, s, err);
}
#define BLOCK(c, ...) add(&(c)->p->blockers, (c)->err, __VA_ARGS__)
#define WARN(c, ...) add(&(c)->p->warnings, (c)->err, __VA_ARGS__)

static int set_str(char **dst, const char *v, rs_err_t *err) {
  free(*dst);
  *dst = v ? strdup(v) : NULL;
  return v && !*dst ? rs_oom(err) : 0;
}

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

/* A flag the kubelet gets: KUBELET_EXTRA_ARGS comes after the kubeadm
 * flags on the command line, so it wins. */
static int kubelet_flag(struct ctx *c, const char *flag, char **ret) {
  *ret = NULL;
  char *v = NULL;
  if (c->ex_text && rs_env_flag_get(c->ex_text, strlen(c->ex_text), VAR_EXTRA, flag, &v, c->err) < 0)
    return -1;
  if (!v && c->ka_text && rs_env_flag_get(c->ka_text, strlen(c->ka_text), VAR_KA, flag, &v, c->err) < 0)
    return -1;
  *ret = v;
  return 0;
}

static int add_file(struct ctx *c, const char *path, int group, const char *old,
                    size_t old_len, char *new_text, mode_t mode, char **changes) {
  struct rs_plan *p = c->p;
  if (old && strlen(new_text) == old_len && memcmp(old, new_text, old_len) == 0) {
    free(new_text);
    rs_strv_free(changes);
    return 0;
  }
  if (p->nfiles == c->files_cap) {
    size_t nc = c->files_cap ? c->files_cap * 2 : 8;
    struct rs_plan_file *nf = realloc(p->files, nc * sizeof *nf);
    if (!nf) {
      free(new_text);
      rs_strv_free(changes);
      return rs_oom(c->err);
    }
    p->files = nf;
    c->files_cap = nc;
  }
  struct rs_plan_file *f = &p->files[p->nfiles++];
  memset(f, 0, sizeof *f);
  f->path = strdup(path);
  f->group = group;
  f->existed = old != NULL;
  f->old_text = old ? strndup(old, old_len) : NULL;
  f->old_len = old_len;
  f->new_text = new_text;
  f->mode = mode;
  f->changes = changes ? changes : rs_strv_new();
  if (!f->path || (old && !f->old_text) || !f->changes)
    return rs_oom(c->err);
  if (old) rs_sha256_hex(old, old_len, f->old_sha);
  rs_sha256_hex(new_text, strlen(new_text), f->new_sha);
  return 0;
}

static int add_unit(struct ctx *c, const char *unit, int role, bool required) {
  struct rs_unit_state st;
  if (rs_unit_query(c->h, unit, &st, c->err) < 0) return rs_wrap(c->err, "query %s", unit);
  if (!st.loaded) {
    if (required) return BLOCK(c, "%s is not installed on the node", unit);
    return 0;
  }
  struct rs_plan *p = c->p;
  struct rs_plan_unit *nu = realloc(p->units, (p->nunits + 1) * sizeof *nu);
  if (!nu) return rs_oom(c->err);
  p->units = nu;
  p->units[p->nunits] = (struct rs_plan_unit){strdup(unit), role, st};
  if (!p->units[p->nunits].unit) return rs_oom(c->err);
  p->nunits++;
  return 0;
}

static int read_kubelet(struct ctx *c) {
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

static int detect_source(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_free_ char *ep = NULL, *cr = NULL, *cy_ep = NULL, *ic_ep = NULL;
  if (kubelet_flag(c, "--container-runtime-endpoint", &ep) < 0 ||
      kubelet_flag(c, "--container-runtime", &cr) < 0)
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
  if (set_str(&p->endpoint_before, now, c->err) < 0) return -1;
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

static int check_target(struct ctx *c) {
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
  if (set_str(&p->socket, rs_rt_socket(p->to), c->err) < 0) return -1;
  for (size_t i = 0; i < RS_ARRAY_SIZE(t->start) && t->start[i].name; i++)
    if (add_unit(c, t->start[i].name, RS_ROLE_TARGET, t->start[i].required) < 0) return -1;
  return 0;
}

static int read_docker(struct ctx *c) {
  _cleanup_free_ char *t = NULL;
  size_t len = 0;
  if (rs_host_read(c->h, DOCKER_DAEMON_JSON, RS_MAX_CONFIG, &t, &len, c->err) < 0) return -1;
  if (!t) return 0;
  if (rs_docker_cfg_parse(t, len, &c->docker, c->err) < 0) {
    BLOCK(c, "%s: %s", DOCKER_DAEMON_JSON, c->err->msg);
    rs_err_clear(c->err);
    return 0;
  }
  c->have_docker_cfg = true;
  if (c->docker.live_restore)
    WARN(c, "docker has live-restore on: the helper removes the pods' containers "
            "before stopping it");
  if (c->docker.default_runtime && strcmp(c->docker.default_runtime, "runc") != 0)
    WARN(c, "docker's default-runtime is %s; configure it for the new runtime by hand",
         c->docker.default_runtime);
  return 0;
}

static bool uses_docker(enum rs_rt rt) {
  const struct rs_rt_info *i = rs_rt_info(rt);
  return i && i->docker_engine;
}

static int cgroup_driver(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_free_ char *flag = NULL, *cy = NULL;
  if (kubelet_flag(c, "--cgroup-driver", &flag) < 0) return -1;
  if (c->cy_text && rs_kyaml_get(c->cy_text, strlen(c->cy_text), "cgroupDriver", &cy, c->err) < 0)
    return rs_wrap(c->err, "%s", KUBELET_CONFIG);
  const char *d = NULL, *src = NULL;
  if (flag && *flag) {
    d = flag;
    src = "kubelet flag --cgroup-driver";
  } else if (cy && *cy) {
    d = cy;
    src = "kubelet config.yaml cgroupDriver";
  } else if (c->have_docker_cfg && c->docker.cgroup_driver && uses_docker(p->from)) {
    d = c->docker.cgroup_driver;
    src = "docker exec-opts native.cgroupdriver";
  } else {
    d = "cgroupfs";
    src = "kubelet default";
  }
  if (strcmp(d, "systemd") != 0 && strcmp(d, "cgroupfs") != 0)
    return BLOCK(c, "unknown cgroup driver %s (%s)", d, src);
  if (c->have_docker_cfg && c->docker.cgroup_driver && uses_docker(p->from) &&
      strcmp(c->docker.cgroup_driver, d) != 0)
    WARN(c, "docker's cgroup driver %s differs from the kubelet's %s; using the kubelet's",
         c->docker.cgroup_driver, d);
  if (set_str(&p->cgroup_driver, d, c->err) < 0) return -1;
  return set_str(&p->cgroup_driver_source, src, c->err);
}

/* cri-dockerd keeps its own --pod-infra-container-image in its unit. */
static char *cri_dockerd_pause(struct ctx *c) {
  static const char *const units[] = {"/etc/systemd/system/cri-docker.service",
                                      "/lib/systemd/system/cri-docker.service",
                                      "/usr/lib/systemd/system/cri-docker.service"};
  for (size_t i = 0; i < RS_ARRAY_SIZE(units); i++) {
    _cleanup_free_ char *t = NULL;
    rs_err_t e = RS_ERR_INIT;
    if (rs_host_read(c->h, units[i], RS_MAX_CONFIG, &t, NULL, &e) < 0 || !t) {
      rs_err_clear(&e);
      continue;
    }
    const char *f = strstr(t, "--pod-infra-container-image");
    if (!f) continue;
    f += strlen("--pod-infra-container-image");
    if (*f != '=' && *f != ' ') continue;
    f++;
    size_t n = strcspn(f, " \t\r\n\"'\\");
    if (n) return strndup(f, n);
  }
  return NULL;
}

static int split_lines(const char *text, char ***v, rs_err_t *err) {
  for (const char *s = text; s && *s;) {
    size_t n = strcspn(s, "\n");
    size_t m = n;
    while (m && isspace((unsigned char)s[m - 1])) m--;
    if (m) {
      _cleanup_free_ char *line = strndup(s, m);
      if (!line) return rs_oom(err);
      if (!rs_strv_contains(*v, line) && rs_strv_push(v, line, err) < 0) return -1;
    }
    s += n;
    if (*s) s++;
  }
  return 0;
}

static int sandbox_image(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_free_ char *flag = NULL;
  if (kubelet_flag(c, "--pod-infra-container-image", &flag) < 0) return -1;
  const char *img = NULL, *src = NULL;
  _cleanup_free_ char *cd = NULL, *dk = NULL;
  if (flag && *flag) {
    img = flag;
    src = "kubelet flag --pod-infra-container-image";
  } else if (p->from == RS_RT_CRI_DOCKERD && (cd = cri_dockerd_pause(c))) {
    img = cd;
    src = "cri-dockerd --pod-infra-container-image";
  } else if (uses_docker(p->from)) {
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
    src = "the kubelet's default for its version";
  }
  if (set_str(&p->sandbox_image, img, c->err) < 0) return -1;
  return set_str(&p->sandbox_image_source, src, c->err);
}

static int cni_dirs(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_free_ char *bin = NULL, *conf = NULL;
  if (kubelet_flag(c, "--cni-bin-dir", &bin) < 0 || kubelet_flag(c, "--cni-conf-dir", &conf) < 0)
    return -1;
  if (bin && *bin) {
    /* the kubelet accepted a comma-separated list; runtimes take one here */
    bin[strcspn(bin, ",")] = '\0';
    if (set_str(&p->cni_bin_dir, bin, c->err) < 0) return -1;
  } else {
    static const char *const cand[] = {"/opt/cni/bin", "/usr/lib/cni", "/usr/libexec/cni"};
    for (size_t i = 0; i < RS_ARRAY_SIZE(cand) && !p->cni_bin_dir; i++) {
      _cleanup_free_ char *lo = rs_strdup_printf("%s/loopback", cand[i]);
      _cleanup_free_ char *br = rs_strdup_printf("%s/bridge", cand[i]);
      _cleanup_free_ char *hl = rs_strdup_printf("%s/host-local", cand[i]);
      if ((lo && rs_host_exists(c->h, lo)) || (br && rs_host_exists(c->h, br)) ||
          (hl && rs_host_exists(c->h, hl)))
        if (set_str(&p->cni_bin_dir, cand[i], c->err) < 0) return -1;
    }
    if (!p->cni_bin_dir)
      WARN(c, "no CNI plugins found in /opt/cni/bin, /usr/lib/cni or /usr/libexec/cni");
  }
  return set_str(&p->cni_conf_dir, conf && *conf ? conf : "/etc/cni/net.d", c->err);
}

static int plan_images(struct ctx *c, bool no_images) {
  struct rs_plan *p = c->p;
  if (!(p->images = rs_strv_new())) return rs_oom(c->err);
  if (no_images || !uses_docker(p->from) || uses_docker(p->to)) return 0;
  if (p->to == RS_RT_CRIO && !rs_host_has_cmd(c->h, "podman"))
    return WARN(c, "images are not carried over to cri-o (podman is not installed); "
                   "the node pulls them again");
  const char *argv[] = {"docker", "ps", "-a", "--filter", "label=io.kubernetes.pod.name",
                        "--format", "{{.Image}}", NULL};
  _cleanup_free_ char *out = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_host_run_ok(c->h, argv, 120000, &out, &e) < 0) {
    BLOCK(c, "cannot list docker's containers: %s", e.msg);
    rs_err_clear(&e);
    return 0;
  }
  _cleanup_strv_ char **refs = rs_strv_new();
  if (!refs || split_lines(out, &refs, c->err) < 0) return -1;
  if (p->sandbox_image && !rs_strv_contains(refs, p->sandbox_image) &&
      rs_strv_push(&refs, p->sandbox_image, c->err) < 0)
    return -1;
  for (size_t i = 0; refs[i]; i++) {
    const char *r = refs[i];
    size_t n = strlen(r);
    bool id = rs_startswith(r, "sha256:") || (n == 12 && strspn(r, "0123456789abcdef") == 12);
    if (id) {
      /* cri-dockerd starts containers by image id: carry the id's names */
      const char *ta[] = {"docker", "image", "inspect", "--format",
                          "{{range .RepoTags}}{{println .}}{{end}}", r, NULL};
      _cleanup_free_ char *tags = NULL;
      _cleanup_strv_ char **names = rs_strv_new();
      if (!names) return rs_oom(c->err);
      if (rs_host_run_ok(c->h, ta, 60000, &tags, &e) < 0) rs_err_clear(&e);
      else if (split_lines(tags, &names, c->err) < 0) return -1;
      if (!names[0]) WARN(c, "image %s has no name in docker and is not carried over", r);
      for (size_t k = 0; names[k]; k++)
        if (!rs_strv_contains(refs, names[k]) && rs_strv_push(&refs, names[k], c->err) < 0) return -1;
      continue;
    }
    const char *ia[] = {"docker", "image", "inspect", "--format", "{{.Size}}", r, NULL};
    _cleanup_free_ char *sz = NULL;
    long size;
    if (rs_host_run_ok(c->h, ia, 60000, &sz, &e) < 0) {
      rs_err_clear(&e);
      continue; /* docker no longer has it (e.g. the sandbox image) */
    }
    sz[strcspn(sz, "\n")] = '\0';
    if (rs_parse_long(sz, 0, __LONG_MAX__, &size) < 0) continue;
    p->images_bytes += (unsigned long long)size;
    if (rs_strv_push(&p->images, r, c->err) < 0) return -1;
  }
  if (!p->images[0]) return 0;
  unsigned long long fs = 0, fs_dev = 0, rt = 0, rt_dev = 0;
  const char *rt_dir = rs_rt_info(p->to)->image_dir;
  if (rs_host_free_bytes(c->h, RS_HELPER_STATE_DIR, &fs, &fs_dev, c->err) < 0 ||
      rs_host_free_bytes(c->h, rt_dir, &rt, &rt_dev, c->err) < 0)
    return -1;
  unsigned long long need = p->images_bytes + p->images_bytes / 10 + (64ull << 20);
  p->free_bytes = fs < rt ? fs : rt;
  if (fs_dev == rt_dev) {
    if (fs < 2 * need)
      return BLOCK(c, "not enough disk for the image carry-over: %llu MiB needed, %llu MiB free",
                   (2 * need) >> 20, fs >> 20);
  } else if (fs < need || rt < need) {
    return BLOCK(c, "not enough disk for the image carry-over: %llu MiB needed on %s and on %s",
                 need >> 20, RS_HELPER_STATE_DIR, rt_dir);
  }
  return 0;
}

static int plan_containerd(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_free_ char *old = NULL, *base = NULL;
  size_t old_len = 0;
  if (rs_host_read(c->h, CONTAINERD_CONFIG, RS_MAX_CONFIG, &old, &old_len, c->err) < 0) return -1;
  rs_err_t e = RS_ERR_INIT;
  _cleanup_strv_ char **changes = rs_strv_new();
  if (!changes) return rs_oom(c->err);
  if (!old) {
    const char *argv[] = {"containerd", "config", "default", NULL};
    if (rs_host_run_ok(c->h, argv, 60000, &base, &e) < 0) {
      BLOCK(c, "no %s and `containerd config default` failed: %s", CONTAINERD_CONFIG, e.msg);
      rs_err_clear(&e);
      return 0;
    }
    if (add(&changes, c->err, "generated from `containerd config default`") < 0) return -1;
  } else if (memchr(old, '\0', old_len)) {
    return BLOCK(c, "%s contains NUL bytes", CONTAINERD_CONFIG);
  } else {
    base = strdup(old);
    if (!base) return rs_oom(c->err);
  }
  if (rs_ctd_config_version(base, strlen(base), &p->config_version, &e) < 0) {
    BLOCK(c, "%s: %s", CONTAINERD_CONFIG, e.msg);
    rs_err_clear(&e);
    return 0;
  }
  if (p->rt_major >= 2 && p->config_version < 3) {
    _cleanup_free_ char *hp = rs_host_path(c->h, CONTAINERD_CONFIG);
    const char *argv[] = {"containerd", "--config", hp, "config", "migrate", NULL};
    _cleanup_free_ char *mig = NULL;
    if (!hp) return rs_oom(c->err);
    if (rs_host_run_ok(c->h, argv, 60000, &mig, &e) < 0) {
      BLOCK(c, "%s is version %d and `containerd config migrate` failed: %s", CONTAINERD_CONFIG,
            p->config_version, e.msg);
      rs_err_clear(&e);
      return 0;
    }
    free(base);
    base = TAKE_PTR(mig);
    if (add(&changes, c->err, "migrated from version %d with `containerd config migrate` "
                              "(comments are not kept)", p->config_version) < 0)
      return -1;
  }
  /* registries: Docker's mirrors and insecure registries as hosts.toml */
  _cleanup_strv_ char **insecure = rs_strv_new();
  bool any_hosts = false;
  if (!insecure) return rs_oom(c->err);
  if (c->have_docker_cfg && uses_docker(p->from)) {
    if (c->docker.mirrors[0]) {
      char *txt = rs_ctd_hosts_mirrors(c->docker.mirrors);
      if (!txt) return rs_oom(c->err);
      if (rs_host_exists(c->h, CERTS_D "/docker.io/hosts.toml")) {
        free(txt);
        WARN(c, "%s/docker.io/hosts.toml exists; docker's registry-mirrors are not added", CERTS_D);
      } else {
        char **ch = rs_strv_new();
        if (add(&ch, c->err, "docker.io mirrors from daemon.json registry-mirrors") < 0 ||
            add_file(c, CERTS_D "/docker.io/hosts.toml", RS_FG_RUNTIME, NULL, 0, txt, 0644, ch) < 0)
          return -1;
        any_hosts = true;
      }
    }
    for (size_t i = 0; c->docker.insecure[i]; i++) {
      const char *r = c->docker.insecure[i];
      if (!rs_registry_host_ok(r)) {
        WARN(c, "insecure registry %s (a network range?) cannot be expressed for containerd", r);
        continue;
      }
      _cleanup_free_ char *path = rs_strdup_printf("%s/%s/hosts.toml", CERTS_D, r);
      if (!path) return rs_oom(c->err);
      if (rs_host_exists(c->h, path)) {
        WARN(c, "%s exists; insecure registry %s is not added", path, r);
        continue;
      }
      char *txt = rs_ctd_hosts_insecure(r);
      char **ch = rs_strv_new();
      if (!txt || add(&ch, c->err, "insecure registry %s from daemon.json", r) < 0 ||
          add_file(c, path, RS_FG_RUNTIME, NULL, 0, txt, 0644, ch) < 0)
        return -1;
      any_hosts = true;
    }
  }
  _cleanup_free_ char *config_path = NULL;
  bool docker_certs = rs_host_is_dir(c->h, "/etc/docker/certs.d");
  if (any_hosts || docker_certs) {
    bool legacy = false;
    if (rs_ctd_has_legacy_registry(base, strlen(base), &legacy, &e) < 0) {
      BLOCK(c, "%s: %s", CONTAINERD_CONFIG, e.msg);
      rs_err_clear(&e);
      return 0;
    }
    if (legacy && any_hosts)
      return BLOCK(c, "%s configures registry.mirrors/configs, which cannot be combined with "
                      "config_path for docker's registry settings; convert it to hosts.toml first",
                   CONTAINERD_CONFIG);
    if (!legacy)
      config_path = rs_strdup_printf("%s%s", CERTS_D, docker_certs ? ":/etc/docker/certs.d" : "");
  }
  struct rs_ctd_want w = {p->rt_major, p->rt_minor, strcmp(p->cgroup_driver, "systemd") == 0,
                          p->sandbox_image, p->cni_bin_dir, p->cni_conf_dir, config_path};
  char *out = NULL;
  if (rs_ctd_config_edit(base, strlen(base), &w, &out, &changes, &e) < 0) {
    BLOCK(c, "%s: %s", CONTAINERD_CONFIG, e.msg);
    rs_err_clear(&e);
    return 0;
  }
  /* stray CRI bridge config shipped by some packages hides the real CNI */
  if (rs_host_exists(c->h, "/etc/cni/net.d/10-containerd-net.conflist"))
    WARN(c, "/etc/cni/net.d/10-containerd-net.conflist exists and may shadow the cluster's CNI");
  return add_file(c, CONTAINERD_CONFIG, RS_FG_RUNTIME, old, old_len, out, 0644,
                  TAKE_PTR(changes));
}

static int plan_crio(struct ctx *c) {
  struct rs_plan *p = c->p;
  struct rs_crio_want w = {strcmp(p->cgroup_driver, "systemd") == 0, p->sandbox_image,
                           p->cni_bin_dir, p->cni_conf_dir};
  _cleanup_free_ char *old = NULL, *oldr = NULL;
  size_t ol = 0, orl = 0;
  if (rs_host_read(c->h, RS_CRIO_DROPIN, RS_MAX_CONFIG, &old, &ol, c->err) < 0 ||
      rs_host_read(c->h, RS_CRIO_REGISTRIES, RS_MAX_CONFIG, &oldr, &orl, c->err) < 0)
    return -1;
  char *txt = rs_crio_dropin(&w);
  char **ch = rs_strv_new();
  if (!txt || add(&ch, c->err, "cgroup_manager, pause_image and CNI dirs for the node") < 0 ||
      add_file(c, RS_CRIO_DROPIN, RS_FG_RUNTIME, old, ol, txt, 0644, ch) < 0)
    return -1;
  if (c->have_docker_cfg && uses_docker(p->from)) {
    bool empty = true;
    char *reg = rs_crio_registries(c->docker.mirrors, c->docker.insecure, &empty);
    if (!empty) {
      char **ch2 = rs_strv_new();
      if (!reg || add(&ch2, c->err, "docker's registry-mirrors and insecure-registries") < 0 ||
          add_file(c, RS_CRIO_REGISTRIES, RS_FG_RUNTIME, oldr, orl, reg, 0644, ch2) < 0)
        return -1;
    }
  }
  return 0;
}

static int edit_env(struct ctx *c, const char *path, const char *text, const char *var,
                    const struct rs_flag_op *ops, size_t nops) {
  char *out = NULL;
  char **ch = rs_strv_new();
  rs_err_t e = RS_ERR_INIT;
  if (!ch) return rs_oom(c->err);
  if (rs_env_flags_edit(text ? text : "", text ? strlen(text) : 0, var, ops, nops, &out, &ch,
                        &e) < 0) {
    rs_strv_free(ch);
    BLOCK(c, "%s: %s", path, e.msg);
    rs_err_clear(&e);
    return 0;
  }
  return add_file(c, path, RS_FG_KUBELET, text, text ? strlen(text) : 0, out, 0644, ch);
}

static int edit_yaml(struct ctx *c, const char *path, const char *text, const char *key,
                     const char *value) {
  char *out = NULL;
  char **ch = rs_strv_new();
  rs_err_t e = RS_ERR_INIT;
  if (!ch) return rs_oom(c->err);
  if (rs_kyaml_set(text, strlen(text), key, value, &out, &ch, &e) < 0) {
    rs_strv_free(ch);
    BLOCK(c, "%s: %s", path, e.msg);
    rs_err_clear(&e);
    return 0;
  }
  return add_file(c, path, RS_FG_KUBELET, text, strlen(text), out, 0644, ch);
}

static int plan_kubelet(struct ctx *c) {
  struct rs_plan *p = c->p;
  const struct rs_rt_info *to = rs_rt_info(p->to);
  const char *ep = to->endpoint;
  if (set_str(&p->endpoint_after, ep, c->err) < 0) return -1;
  bool pre124 = p->kmaj == 1 && p->kmin < 24, v127 = !(p->kmaj == 1 && p->kmin < 27);
  /* where the endpoint lives now */
  _cleanup_free_ char *ka_ep = NULL, *ex_ep = NULL, *cy_ep = NULL, *ic_ep = NULL, *rc = NULL;
  if ((c->ka_text && rs_env_flag_get(c->ka_text, strlen(c->ka_text), VAR_KA,
                                     "--container-runtime-endpoint", &ka_ep, c->err) < 0) ||
      (c->ex_text && rs_env_flag_get(c->ex_text, strlen(c->ex_text), VAR_EXTRA,
                                     "--container-runtime-endpoint", &ex_ep, c->err) < 0) ||
      (c->cy_text && rs_kyaml_get(c->cy_text, strlen(c->cy_text), "containerRuntimeEndpoint",
                                  &cy_ep, c->err) < 0) ||
      (c->ic_text && rs_kyaml_get(c->ic_text, strlen(c->ic_text), "containerRuntimeEndpoint",
                                  &ic_ep, c->err) < 0) ||
      kubelet_flag(c, "--runtime-cgroups", &rc) < 0)
    return -1;
  bool flag_home = ka_ep || ex_ep;
  bool yaml_home = !flag_home && v127 && (cy_ep || ic_ep || (!c->ka_text && c->cy_text));
  const char *where = flag_home ? "flag --container-runtime-endpoint"
                      : yaml_home ? "config.yaml containerRuntimeEndpoint"
                                  : "flag --container-runtime-endpoint (added)";
  if (set_str(&p->endpoint_where, where, c->err) < 0) return -1;

  struct rs_flag_op ops[32];
  size_t n = 0;
  for (size_t i = 0; i < RS_ARRAY_SIZE(dockershim_flags); i++)
    ops[n++] = (struct rs_flag_op){dockershim_flags[i], RS_FLAG_DROP, NULL};
  ops[n++] = pre124 ? (struct rs_flag_op){"--container-runtime", RS_FLAG_SET, "remote"}
                    : (struct rs_flag_op){"--container-runtime", RS_FLAG_DROP, NULL};
  if (p->kmaj > 1 || p->kmin >= 35)
    ops[n++] = (struct rs_flag_op){"--pod-infra-container-image", RS_FLAG_DROP, NULL};
  ops[n++] = (struct rs_flag_op){"--image-service-endpoint", RS_FLAG_REPLACE, ep};
  /* --runtime-cgroups that names Docker's cgroup moves to the target's */
  if (rc && to->runtime_cgroups && strstr(rc, "docker"))
    ops[n++] = (struct rs_flag_op){"--runtime-cgroups", RS_FLAG_REPLACE, to->runtime_cgroups};
  size_t base_n = n;
  /* kubeadm-flags.env: the flag is set here unless it lives elsewhere */
  if (c->ka_text) {
    n = base_n;
    if (ka_ep) ops[n++] = (struct rs_flag_op){"--container-runtime-endpoint", RS_FLAG_REPLACE, ep};
    else if (!flag_home && !yaml_home)
      ops[n++] = (struct rs_flag_op){"--container-runtime-endpoint", RS_FLAG_SET, ep};
    if (edit_env(c, c->ka_path, c->ka_text, VAR_KA, ops, n) < 0) return -1;
  }
  if (c->ex_text) {
    n = base_n;
    /* --container-runtime=remote goes where the endpoint flag goes */
    for (size_t i = 0; c->ka_text && i < n; i++)
      if (strcmp(ops[i].flag, "--container-runtime") == 0 && ops[i].kind == RS_FLAG_SET)
        ops[i].kind = RS_FLAG_REPLACE;
    if (ex_ep) ops[n++] = (struct rs_flag_op){"--container-runtime-endpoint", RS_FLAG_REPLACE, ep};
    else if (!c->ka_text && !flag_home && !yaml_home)
      ops[n++] = (struct rs_flag_op){"--container-runtime-endpoint", RS_FLAG_SET, ep};
    if (edit_env(c, c->ex_path, c->ex_text, VAR_EXTRA, ops, n) < 0) return -1;
  }
  if (!c->ka_text && !c->ex_text && !yaml_home)
    return BLOCK(c, "kubelet %s reads its endpoint from a flag, but there is no %s or "
                    "/etc/default/kubelet to hold it", p->kubelet_version, KUBEADM_FLAGS);
  /* The flag wins, but a stale endpoint in the YAML files would come back
   * with the next kubeadm upgrade (it merges instance-config.yaml): keep
   * every place that names an endpoint consistent. */
  if (flag_home) {
    if (cy_ep && *cy_ep && edit_yaml(c, KUBELET_CONFIG, c->cy_text, "containerRuntimeEndpoint", ep) < 0)
      return -1;
    if (ic_ep && *ic_ep && edit_yaml(c, INSTANCE_CONFIG, c->ic_text, "containerRuntimeEndpoint", ep) < 0)
      return -1;
  }
  if (yaml_home) {
    if (c->cy_text && (cy_ep || !ic_ep) &&
        edit_yaml(c, KUBELET_CONFIG, c->cy_text, "containerRuntimeEndpoint", ep) < 0)
      return -1;
    if (c->ic_text && ic_ep &&
        edit_yaml(c, INSTANCE_CONFIG, c->ic_text, "containerRuntimeEndpoint", ep) < 0)
      return -1;
  }
  _cleanup_free_ char *ise = NULL;
  if (c->cy_text && rs_kyaml_get(c->cy_text, strlen(c->cy_text), "imageServiceEndpoint", &ise,
                                 c->err) < 0)
    return -1;
  if (ise && *ise) WARN(c, "config.yaml sets imageServiceEndpoint %s; it is not changed", ise);
  return 0;
}

static int plan_units_and_steps(struct ctx *c, bool carry) {
  struct rs_plan *p = c->p;
  if (add_unit(c, "kubelet.service", RS_ROLE_KUBELET, true) < 0) return -1;
  /* Docker Engine stays when it only gets a CRI shim (docker -> cri-dockerd) */
  bool keep_docker = uses_docker(p->to);
  const struct rs_rt_info *from = rs_rt_info(p->from);
  for (size_t i = 0; !(keep_docker && from->docker_engine) && i < RS_ARRAY_SIZE(from->stop) &&
                     from->stop[i]; i++)
    if (add_unit(c, from->stop[i], RS_ROLE_SOURCE, false) < 0) return -1;
  if (p->from == RS_RT_CONTAINERD && p->to == RS_RT_CRIO)
    WARN(c, "containerd keeps running (Docker may need it); the kubelet no longer uses it");
  const char *steps[16];
  size_t n = 0;
  bool rt_files = false;
  for (size_t i = 0; i < p->nfiles; i++)
    if (p->files[i].group == RS_FG_RUNTIME) rt_files = true;
  if (carry) steps[n++] = RS_STEP_IMAGES_SAVE;
  steps[n++] = RS_STEP_STOP_KUBELET;
  if (uses_docker(p->from) && !keep_docker) steps[n++] = RS_STEP_REMOVE_PODS;
  for (size_t i = 0; i < p->nunits; i++)
    if (p->units[i].role == RS_ROLE_SOURCE) {
      steps[n++] = RS_STEP_STOP_SOURCE;
      break;
    }
  if (rt_files) {
    if (rs_rt_info(p->to)->config != RS_RT_CFG_NONE) steps[n++] = RS_STEP_VALIDATE;
    steps[n++] = RS_STEP_INSTALL_RUNTIME;
  }
  steps[n++] = RS_STEP_RESTART_RUNTIME;
  steps[n++] = RS_STEP_WAIT_RUNTIME;
  if (carry) steps[n++] = RS_STEP_IMAGES_IMPORT;
  steps[n++] = RS_STEP_INSTALL_KUBELET;
  steps[n++] = RS_STEP_START_KUBELET;
  steps[n++] = RS_STEP_WAIT_KUBELET;
  for (size_t i = 0; i < n; i++)
    if (rs_strv_push(&p->steps, steps[i], c->err) < 0) return -1;
  return 0;
}

static void ctx_free(struct ctx *c) {
  free(c->ka_path);
  free(c->ka_text);
  free(c->ex_path);
  free(c->ex_text);
  free(c->cy_text);
  free(c->ic_text);
  rs_docker_cfg_free(&c->docker);
}

int rs_plan_build(const struct rs_host *h, const struct rs_plan_opts *o,
                  struct rs_plan *ret, rs_err_t *err) {
  struct rs_plan p = {0};
  struct ctx c = {h, &p, err, NULL, NULL, NULL, NULL, NULL, NULL, {0}, false, 0};
  int r = 0;
  p.steps = rs_strv_new();
  p.warnings = rs_strv_new();
  p.blockers = rs_strv_new();
  p.images = rs_strv_new();
  if (!p.steps || !p.warnings || !p.blockers || !p.images || set_str(&p.id, o->id, err) < 0)
    r = rs_oom(err);
  if (r == 0 && !rs_rt_info(o->to)) r = rs_fail(err, RS_E_USAGE, EINVAL, "no target runtime");
  p.to = o->to;
  if (r == 0 && !rs_host_fixture(h) && !rs_host_systemd(h))
    r = WARN(&c, "PID 1 is not systemd: services are driven with `service`, and the apply "
                 "process leaves the pod's cgroup instead of running as a unit");
  if (r == 0) r = read_kubelet(&c);
  if (r == 0 && !p.blockers[0]) r = detect_source(&c);
  if (r == 0 && !p.blockers[0] && p.from == p.to)
    r = BLOCK(&c, "the node already runs %s", rs_rt_name(p.to));
  if (r == 0 && !p.blockers[0]) r = read_docker(&c);
  if (r == 0 && !p.blockers[0]) r = check_target(&c);
  if (r == 0 && !p.blockers[0]) r = cgroup_driver(&c);
  if (r == 0 && !p.blockers[0]) r = sandbox_image(&c);
  if (r == 0 && !p.blockers[0]) r = cni_dirs(&c);
  enum rs_rt_config cfg = rs_rt_info(p.to)->config;
  if (r == 0 && !p.blockers[0] && cfg == RS_RT_CFG_CONTAINERD_TOML) r = plan_containerd(&c);
  if (r == 0 && !p.blockers[0] && cfg == RS_RT_CFG_CRIO_DROPIN) r = plan_crio(&c);
  if (r == 0 && !p.blockers[0] && p.to == RS_RT_CRI_DOCKERD &&
      (p.cni_bin_dir && strcmp(p.cni_bin_dir, "/opt/cni/bin") != 0))
    r = WARN(&c, "cri-dockerd reads CNI plugins from its own --cni-bin-dir; the node's are in %s",
             p.cni_bin_dir);
  if (r == 0 && !p.blockers[0]) r = plan_kubelet(&c);
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
                   &p->cni_conf_dir};
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
  rs_strv_free(p->images);
  rs_strv_free(p->steps);
  rs_strv_free(p->warnings);
  rs_strv_free(p->blockers);
  memset(p, 0, sizeof *p);
}
