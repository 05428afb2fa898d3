/* Preflight, the file changes: containerd's config.toml, CRI-O's drop-in,
 * the kubelet's endpoint and flags wherever they live, and crictl's
 * endpoint.  New contents are decided here; launch writes them. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "plan_int.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "helper/containerd_toml.h"
#include "helper/crio_conf.h"
#include "helper/kubelet_flags.h"
#include "helper/kubelet_yaml.h"

/* Removed from the kubelet with dockershim in 1.24. */
static const char *const dockershim_flags[] = {
    "--network-plugin", "--cni-bin-dir", "--cni-conf-dir", "--cni-cache-dir",
    "--docker-endpoint", "--image-pull-progress-deadline", "--network-plugin-mtu",
    "--experimental-dockershim-root-directory",
};

/* containerd merges the files config.toml imports over it (2.3+ writes
 * imports = ['/etc/containerd/conf.d/<any>.toml'] in `config default` and
 * `config migrate`): one there can undo what the switch sets. */
static int warn_imports(struct ctx *c, const char *config) {
  _cleanup_strv_ char **pats = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_ctd_imports(config, strlen(config), &pats, &e) < 0) {
    BLOCK(c, "%s: %s", CONTAINERD_CONFIG, e.msg);
    rs_err_clear(&e);
    return 0;
  }
  size_t shown = 0;
  for (size_t i = 0; pats[i] && shown < 16; i++) {
    _cleanup_free_ char *hp = pats[i][0] == '/' ? rs_host_path(c->h, pats[i]) : NULL;
    glob_t g = {0};
    if (!hp) continue; /* relative to the config's directory: not followed */
    if (glob(hp, 0, NULL, &g) == 0)
      for (size_t k = 0; k < g.gl_pathc && shown < 16; k++, shown++)
        if (WARN(c, "%s, imported by %s, is merged over it and can undo what the switch sets "
                    "(SystemdCgroup, the sandbox image, CNI, registries, disabled_plugins)",
                 g.gl_pathv[k] + strlen(c->h->root), CONTAINERD_CONFIG) < 0) {
          globfree(&g);
          return -1;
        }
    globfree(&g);
  }
  return 0;
}

int plan_containerd(struct ctx *c) {
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
    if (plan_add(&changes, c->err, "generated from `containerd config default`") < 0) return -1;
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
    if (plan_add(&changes, c->err, "migrated from version %d with `containerd config migrate` "
                              "(comments are not kept)", p->config_version) < 0)
      return -1;
  }
  _cleanup_free_ char *config_path = NULL;
  bool legacy = false;
  if (rs_ctd_has_legacy_registry(base, strlen(base), &legacy, &e) < 0) {
    BLOCK(c, "%s: %s", CONTAINERD_CONFIG, e.msg);
    rs_err_clear(&e);
    return 0;
  }
  bool any_hosts = false;
  if (plan_registries_containerd(c, legacy, &any_hosts) < 0) return -1;
  if (p->blockers[0]) return 0;
  bool docker_certs = rs_host_is_dir(c->h, DOCKER_CERTS_D);
  if ((any_hosts || docker_certs) && !legacy)
    config_path = rs_strdup_printf("%s%s", CERTS_D, docker_certs ? ":" DOCKER_CERTS_D : "");
  struct rs_ctd_want w = {p->rt_major, p->rt_minor, strcmp(p->cgroup_driver, "systemd") == 0,
                          p->sandbox_image, p->cni_bin_dir, p->cni_conf_dir, config_path};
  char *out = NULL;
  if (rs_ctd_config_edit(base, strlen(base), &w, &out, &changes, &e) < 0) {
    BLOCK(c, "%s: %s", CONTAINERD_CONFIG, e.msg);
    rs_err_clear(&e);
    return 0;
  }
  if (warn_imports(c, out) < 0) {
    free(out);
    return -1;
  }
  /* stray CRI bridge config shipped by some packages hides the real CNI */
  if (rs_host_exists(c->h, "/etc/cni/net.d/10-containerd-net.conflist"))
    WARN(c, "/etc/cni/net.d/10-containerd-net.conflist exists and may shadow the cluster's CNI");
  return plan_add_file(c, CONTAINERD_CONFIG, RS_FG_RUNTIME, old, old_len, out, 0644,
                       TAKE_PTR(changes));
}

int plan_crio(struct ctx *c) {
  struct rs_plan *p = c->p;
  /* Docker's default-ulimits come along when Docker was the runtime */
  char *const *ul = plan_uses_docker(p->from) && c->docker.ulimits && c->docker.ulimits[0] ? c->docker.ulimits : NULL;
  _cleanup_free_ char *rt = NULL, *rt_path = NULL, *rt_note = NULL;
  if (plan_crio_runtime(c, &rt, &rt_path) < 0) return -1;
  if (rt && !(rt_note = rs_strdup_printf(", default_runtime %s (%s: the configured default runtime "
                                         "is not installed)", rt, rt_path)))
    return rs_oom(c->err);
  struct rs_crio_want w = {strcmp(p->cgroup_driver, "systemd") == 0, p->sandbox_image,
                           p->cni_bin_dir, p->cni_conf_dir, ul, rt, rt_path};
  _cleanup_free_ char *old = NULL;
  size_t ol = 0;
  if (rs_host_read(c->h, RS_CRIO_DROPIN, RS_MAX_CONFIG, &old, &ol, c->err) < 0) return -1;
  if (plan_add_file1(c, RS_CRIO_DROPIN, RS_FG_RUNTIME, old, ol, rs_crio_dropin(&w), 0644,
                     "cgroup_manager, pause_image%s%s and CNI dirs for the node",
                     ul ? ", default_ulimits (Docker's default-ulimits)" : "",
                     rt_note ? rt_note : "") < 0)
    return -1;
  return plan_registries_crio(c);
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
  return plan_add_file(c, path, RS_FG_KUBELET, text, text ? strlen(text) : 0, out, 0644, ch);
}

static int edit_yaml(struct ctx *c, const char *path, const char *text, const char *key,
                     const char *value) {
  char *out = NULL;
  char **ch = rs_strv_new();
  rs_err_t e = RS_ERR_INIT;
  if (!ch) return rs_oom(c->err);
  const char *now = plan_text(c, path, text);
  if (rs_kyaml_set(now, strlen(now), key, value, &out, &ch, &e) < 0) {
    rs_strv_free(ch);
    BLOCK(c, "%s: %s", path, e.msg);
    rs_err_clear(&e);
    return 0;
  }
  return plan_add_file(c, path, RS_FG_KUBELET, text, strlen(text), out, 0644, ch);
}

int plan_kubelet(struct ctx *c) {
  struct rs_plan *p = c->p;
  const struct rs_rt_info *to = rs_rt_info(p->to);
  const char *ep = to->endpoint;
  if (plan_set_str(&p->endpoint_after, ep, c->err) < 0) return -1;
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
      plan_kubelet_flag(c, "--runtime-cgroups", &rc) < 0)
    return -1;
  bool flag_home = ka_ep || ex_ep;
  bool yaml_home = !flag_home && v127 && (cy_ep || ic_ep || (!c->ka_text && c->cy_text));
  const char *where = flag_home ? "flag --container-runtime-endpoint"
                      : yaml_home ? "config.yaml containerRuntimeEndpoint"
                                  : "flag --container-runtime-endpoint (added)";
  if (plan_set_str(&p->endpoint_where, where, c->err) < 0) return -1;

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

/* /etc/crictl.yaml: crictl talks to the new runtime (an existing file is
 * edited and kept in the backup like every file; a new one is created). */
int plan_crictl(struct ctx *c) {
  const char *ep = rs_rt_info(c->p->to)->endpoint;
  _cleanup_free_ char *old = NULL, *img = NULL;
  size_t ol = 0;
  if (rs_host_read(c->h, CRICTL_YAML, RS_KYAML_MAX_SIZE, &old, &ol, c->err) < 0) return -1;
  if (!old)
    return plan_add_file1(c, CRICTL_YAML, RS_FG_KUBELET, NULL, 0,
                          rs_strdup_printf("# written by kubectl runtime-switch\nruntime-endpoint: %s\n"
                                           "image-endpoint: %s\n", ep, ep), 0644,
                          "runtime-endpoint and image-endpoint: %s (there was no %s)", ep, CRICTL_YAML);
  char **ch = rs_strv_new();
  if (!ch) return rs_oom(c->err);
  rs_err_t e = RS_ERR_INIT;
  char *out = NULL, *out2 = NULL;
  int r = rs_kyaml_get(old, ol, "image-endpoint", &img, &e);
  if (r == 0) r = rs_kyaml_set(old, ol, "runtime-endpoint", ep, &out, &ch, &e);
  if (r == 0 && img) {
    r = rs_kyaml_set(out, strlen(out), "image-endpoint", ep, &out2, &ch, &e);
    free(out);
    out = out2;
  }
  if (r < 0) {
    rs_strv_free(ch);
    int w = WARN(c, "%s is not changed (%s): crictl may still talk to the old runtime", CRICTL_YAML, e.msg);
    rs_err_clear(&e);
    return w;
  }
  return plan_add_file(c, CRICTL_YAML, RS_FG_KUBELET, old, ol, out, 0644, ch);
}
