/* Preflight, cri-dockerd's own settings: the network plugin, CNI dirs and
 * sandbox image are flags on its command line, not the kubelet's.  As its
 * package installs it, cri-dockerd runs with its defaults (/opt/cni/bin,
 * its own pause image); a node whose plugins live elsewhere, or that cannot
 * pull that image, gets no pod sandbox.  The helper reads the command
 * systemd runs (the unit and its drop-ins, the last ExecStart= winning) and,
 * where the node needs other values, writes a drop-in that resets
 * ExecStart= to that command with the flags set. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/unit_env.h"
#include "helper/unit_exec.h"
#include "plan_int.h"

#define CRID_UNIT "cri-docker.service"
/* sorts after the drop-ins people and packages write (NN-name.conf) */
#define CRID_DROPIN_NAME "zz-kubectl-runtime-switch.conf"
#define CRID_DROPIN "/etc/systemd/system/" CRID_UNIT ".d/" CRID_DROPIN_NAME

/* When the node's value is only a guess, what cri-dockerd has is kept if
 * it works. */
enum crid_keep {
  KEEP_NONE = 0,
  KEEP_SET,     /* a value its command line sets */
  KEEP_PLUGINS, /* a directory with CNI plugins in it */
};

struct crid_want {
  const char *flag;
  const char *value; /* NULL: the node has no say */
  const char *dflt;  /* cri-dockerd's default; NULL: not known (its version's) */
  const char *why;
  int keep;          /* enum crid_keep */
};

int plan_cri_dockerd_argv(struct ctx *c, char ***ret_argv, char **ret_late, char **ret_why) {
  _cleanup_strv_ char **files = NULL, **cmds = rs_strv_new();
  *ret_argv = NULL;
  *ret_late = NULL;
  *ret_why = NULL;
#define WHY(...) return (*ret_why = rs_strdup_printf(__VA_ARGS__)) ? 0 : rs_oom(c->err)
  if (!cmds) return rs_oom(c->err);
  if (plan_unit_files(c, CRID_UNIT, &files) < 0) {
    if (c->err->kind == RS_E_SYS && c->err->code == ENOMEM) return -1;
    *ret_why = rs_strdup_printf("%s: %s", CRID_UNIT, c->err->msg);
    rs_err_clear(c->err);
    return *ret_why ? 0 : rs_oom(c->err);
  }
  if (!files[0] || strstr(files[0], ".service.d/"))
    WHY("no %s unit file in /etc/systemd/system, /run/systemd/system, /lib/systemd/system "
        "or /usr/lib/systemd/system: cri-dockerd's command line is not known", CRID_UNIT);
  for (size_t i = 0; files[i]; i++) {
    _cleanup_free_ char *t = NULL;
    size_t len = 0;
    bool sets = false;
    rs_err_t e = RS_ERR_INIT;
    if (rs_host_read(c->h, files[i], RS_UNIT_MAX_SIZE, &t, &len, &e) < 0 ||
        (t && rs_unit_exec_read(&cmds, t, len, &sets, &e) < 0)) {
      if (e.kind == RS_E_SYS && e.code == ENOMEM) {
        rs_err_move(c->err, &e);
        return -1;
      }
      *ret_why = rs_strdup_printf("%s: %s", files[i], e.msg);
      rs_err_clear(&e);
      return *ret_why ? 0 : rs_oom(c->err);
    }
    const char *base = strrchr(files[i], '/') + 1;
    if (sets && i > 0 && strcmp(base, CRID_DROPIN_NAME) > 0 && plan_set_str(ret_late, files[i], c->err) < 0)
      return -1;
  }
  size_t n = rs_strv_len(cmds);
  if (n != 1)
    WHY("%s has %zu ExecStart= commands after its drop-ins; systemd runs a service of "
        "cri-dockerd's type with exactly one", CRID_UNIT, n);
  _cleanup_strv_ char **argv = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_exec_split(cmds[0], &argv, &e) < 0) {
    *ret_why = rs_strdup_printf(
        "%s: the helper cannot read cri-dockerd's flags from `%s` safely (%s); give cri-dockerd "
        "the node's --network-plugin, --cni-bin-dir, --cni-conf-dir and --pod-infra-container-image "
        "in a drop-in whose ExecStart= runs it directly", CRID_UNIT, cmds[0], e.msg);
    rs_err_clear(&e);
    return *ret_why ? 0 : rs_oom(c->err);
  }
  const char *prog = strrchr(argv[0], '/') + 1;
  if (strcmp(prog, "cri-dockerd") != 0)
    WHY("%s runs %s, not cri-dockerd (a wrapper?): the helper cannot give cri-dockerd the "
        "node's CNI settings and sandbox image; make ExecStart= run cri-dockerd directly",
        CRID_UNIT, argv[0]);
#undef WHY
  *ret_argv = TAKE_PTR(argv);
  return 0;
}

/* plan_cri_dockerd_argv, what keeps it from reading the command a
 * blocker. */
static int effective_argv(struct ctx *c, char ***ret_argv, char **ret_late) {
  _cleanup_free_ char *why = NULL;
  if (plan_cri_dockerd_argv(c, ret_argv, ret_late, &why) < 0) return -1;
  return why ? BLOCK(c, "%s", why) : 0;
}

int plan_cri_dockerd(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_free_ char *np = NULL, *bin = NULL, *conf = NULL, *cache = NULL, *mtu = NULL, *late = NULL;
  _cleanup_free_ char *sandbox_why = NULL;
  if (plan_kubelet_flag(c, "--network-plugin", &np) < 0 || plan_kubelet_flag(c, "--cni-bin-dir", &bin) < 0 ||
      plan_kubelet_flag(c, "--cni-conf-dir", &conf) < 0 || plan_kubelet_flag(c, "--cni-cache-dir", &cache) < 0 ||
      plan_kubelet_flag(c, "--network-plugin-mtu", &mtu) < 0)
    return -1;
  if (!(sandbox_why = rs_strdup_printf("the sandbox image, from the %s", p->sandbox_image_source)))
    return rs_oom(c->err);
  /* dockershim's network plugin is the kubelet's; from another runtime
   * pods had CNI networking (cri-dockerd's default since 0.2.5) */
  bool before_025 = rs_version_cmp(p->runtime_version, "0.2.5") < 0;
  const char *plugin = np && *np ? np : p->from != RS_RT_DOCKER ? "cni" : NULL;
  bool guessed_image = strcmp(p->sandbox_image_source, PLAN_SANDBOX_DEFAULT_SRC) == 0;
  const struct crid_want want[] = {
      {"--network-plugin", plugin, before_025 ? "" : "cni",
       np && *np ? "the kubelet's --network-plugin" : "pods on CNI networking", KEEP_NONE},
      {"--cni-bin-dir", bin && *bin ? bin : p->cni_bin_dir, "/opt/cni/bin",
       bin && *bin ? "the kubelet's --cni-bin-dir" : "where the node's CNI plugins are",
       bin && *bin ? KEEP_NONE : KEEP_PLUGINS},
      {"--cni-conf-dir", conf && *conf ? conf : NULL, "/etc/cni/net.d", "the kubelet's --cni-conf-dir", KEEP_NONE},
      {"--cni-cache-dir", cache && *cache ? cache : NULL, "/var/lib/cni/cache", "the kubelet's --cni-cache-dir",
       KEEP_NONE},
      {"--network-plugin-mtu", mtu && *mtu ? mtu : NULL, "0", "the kubelet's --network-plugin-mtu", KEEP_NONE},
      {"--pod-infra-container-image", p->sandbox_image, NULL, sandbox_why, guessed_image ? KEEP_SET : KEEP_NONE},
  };
  _cleanup_strv_ char **argv = NULL, **changes = rs_strv_new();
  if (!changes) return rs_oom(c->err);
  if (effective_argv(c, &argv, &late) < 0) return -1;
  if (!argv) return 0; /* blocked */
  for (size_t i = 0; i < RS_ARRAY_SIZE(want); i++) {
    const struct crid_want *w = &want[i];
    _cleanup_free_ char *now = NULL;
    rs_err_t e = RS_ERR_INIT;
    if (!w->value) continue;
    if (rs_exec_flag_get(argv, w->flag, &now, &e) < 0) {
      BLOCK(c, "%s: %s", CRID_UNIT, e.msg);
      rs_err_clear(&e);
      return 0;
    }
    const char *eff = now ? now : w->dflt;
    if (eff && strcmp(eff, w->value) == 0) continue;
    if ((w->keep == KEEP_SET && now) || (w->keep == KEEP_PLUGINS && eff && plan_cni_plugins_in(c, eff)))
      continue;
    if (rs_exec_flag_set(&argv, w->flag, w->value, c->err) < 0) return -1;
    const char *had = now ? now : !w->dflt ? "its built-in default" : *w->dflt ? w->dflt : "none";
    if (plan_add(&changes, c->err, "ExecStart: %s=%s (%s; cri-dockerd had %s%s)", w->flag, w->value, w->why,
                 had, now || !w->dflt ? "" : ", its default") < 0)
      return -1;
  }
  if (!changes[0]) return 0;
  if (late)
    return BLOCK(c, "%s sorts after %s and sets ExecStart=, so it would undo the node's CNI settings and "
                    "sandbox image the helper gives cri-dockerd", late, CRID_DROPIN);
  _cleanup_free_ char *cmd = NULL, *old_text = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_exec_join(argv, &cmd, &e) < 0) {
    BLOCK(c, "%s: cri-dockerd's command line cannot be written: %s", CRID_UNIT, e.msg);
    rs_err_clear(&e);
    return 0;
  }
  size_t ol = 0;
  if (rs_host_read(c->h, CRID_DROPIN, RS_UNIT_MAX_SIZE, &old_text, &ol, c->err) < 0) return -1;
  char *text = rs_strdup_printf("# written by kubectl runtime-switch: cri-dockerd with the node's CNI settings "
                                "and sandbox image\n[Service]\nExecStart=\nExecStart=%s\n", cmd);
  if (!text) return rs_oom(c->err);
  return plan_add_file(c, CRID_DROPIN, RS_FG_RUNTIME, old_text, ol, text, 0644, TAKE_PTR(changes));
}

/* Leaving cri-dockerd (a 1.24+ kubelet has no --network-plugin): whether
 * pods had kubenet, which no other runtime has, is cri-dockerd's own
 * --network-plugin, read from the command systemd runs ("": not set, its
 * default, cni since 0.2.5; kubenet is only ever set explicitly), for
 * check to judge.  Nothing here blocks: a command line it cannot read
 * leaves the plugin unknown. */
int plan_cri_dockerd_network(struct ctx *c) {
  struct rs_plan *p = c->p;
  _cleanup_strv_ char **files = NULL, **cmds = rs_strv_new(), **argv = NULL;
  _cleanup_free_ char *np = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (!cmds) return rs_oom(c->err);
  bool ok = plan_unit_files(c, CRID_UNIT, &files) == 0 && files[0] && !strstr(files[0], ".service.d/");
  if (c->err->kind == RS_E_SYS && c->err->code == ENOMEM) return -1;
  rs_err_clear(c->err);
  for (size_t i = 0; ok && files[i]; i++) {
    _cleanup_free_ char *t = NULL;
    size_t len = 0;
    ok = rs_host_read(c->h, files[i], RS_UNIT_MAX_SIZE, &t, &len, &e) == 0 &&
         (!t || rs_unit_exec_read(&cmds, t, len, NULL, &e) == 0);
  }
  ok = ok && rs_strv_len(cmds) == 1 && rs_exec_split(cmds[0], &argv, &e) == 0 &&
       strcmp(strrchr(argv[0], '/') + 1, "cri-dockerd") == 0 &&
       rs_exec_flag_get(argv, "--network-plugin", &np, &e) == 0;
  rs_err_clear(&e);
  if (!ok) return plan_set_str(&p->network_plugin_source, "not known: " CRID_UNIT " unread", c->err);
  if (plan_set_str(&p->network_plugin, np ? np : "", c->err) < 0) return -1;
  return plan_set_str(&p->network_plugin_source, CRID_UNIT " ExecStart=", c->err);
}
