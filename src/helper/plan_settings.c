/* Preflight, what becomes of each of Docker's settings when the node
 * leaves Docker Engine (the plan's docker_settings, contract.h): the log
 * rotation goes to the kubelet, the proxies to a drop-in of the target's
 * service, the rest is carried, reported with the target's equivalent, or
 * dropped, by a table.  The registries and certificates are carried in
 * plan_registries.c. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/crio_conf.h"
#include "helper/kubelet_yaml.h"
#include "helper/units.h"
#include "plan_int.h"

#define PROXY_DROPIN "http-proxy.conf"

enum { KIND_RULE, KIND_STORAGE, KIND_LOG_DRIVER, KIND_LOG_OPT };

/* daemon.json keys that no carrier below handles, for containerd and CRI-O
 * targets (Docker Engine targets keep every one). */
static const struct key_rule {
  const char *key;
  int action, kind;
  const char *why;
  const char *ctd, *crio; /* the equivalent to set by hand, per target */
} key_rules[] = {
#define DROP(k, why) {k, RS_SET_DROPPED, KIND_RULE, why, NULL, NULL}
#define REPORT(k, why, ctd, crio) {k, RS_SET_REPORTED, KIND_RULE, why, ctd, crio}
#define SPECIAL(k, kind) {k, RS_SET_REPORTED, kind, NULL, NULL, NULL}
#define NET "Docker's own bridge network; pods are networked by the CNI plugin"
#define API "the Docker daemon's own API and process"
    DROP("allow-nondistributable-artifacts", "applies to pushes; the kubelet only pulls"),
    DROP("api-cors-header", API),
    DROP("authorization-plugins", "guards the Docker API, which goes away"),
    DROP("bip", NET),
    DROP("bip6", NET),
    DROP("bridge", NET),
    DROP("builder", "Docker's image builder"),
    REPORT("cdi-spec-dirs", "CDI devices are configured in the runtime",
     "cdi_spec_dirs (with enable_cdi) in containerd's CRI plugin config", "cdi_spec_dirs in crio.conf"),
    REPORT("cgroup-parent", "pods' cgroups are placed by the kubelet",
     "the kubelet's cgroupRoot", "the kubelet's cgroupRoot"),
    DROP("containerd", API),
    DROP("containerd-namespace", API),
    DROP("containerd-plugin-namespace", API),
    DROP("debug", API),
    DROP("default-address-pools", NET),
    DROP("default-cgroupns-mode", "the runtime gives each container its own cgroup namespace on cgroup v2"),
    DROP("default-gateway", NET),
    DROP("default-gateway-v6", NET),
    DROP("default-ipc-mode", "pods choose hostIPC themselves"),
    DROP("default-network-opts", NET),
    REPORT("default-runtime", "pods pick a runtime through a RuntimeClass",
     "a runtime in containerd's CRI runtimes and a RuntimeClass", "a [crio.runtime.runtimes] entry and a RuntimeClass"),
    REPORT("default-shm-size", "pods get 64 MiB of /dev/shm",
     "an emptyDir with medium: Memory on /dev/shm in the pods that need more", "an emptyDir with medium: Memory on /dev/shm in the pods that need more"),
    DROP("dns", "pods get DNS from the kubelet (clusterDNS, resolvConf)"),
    DROP("dns-opts", "pods get DNS from the kubelet (clusterDNS, resolvConf)"),
    DROP("dns-search", "pods get DNS from the kubelet (clusterDNS, resolvConf)"),
    DROP("exec-root", API),
    DROP("experimental", API),
    DROP("features", API),
    DROP("fixed-cidr", NET),
    DROP("fixed-cidr-v6", NET),
    DROP("group", API),
    DROP("host-gateway-ip", NET),
    DROP("hosts", "the Docker API socket goes away (pods that mount it break)"),
    DROP("icc", NET),
    DROP("init", "Docker's --init; pods run their own entrypoint"),
    DROP("init-path", "Docker's --init; pods run their own entrypoint"),
    DROP("ip", NET),
    DROP("ip-forward", NET),
    DROP("ip-masq", NET),
    DROP("ip6tables", NET),
    DROP("iptables", NET),
    DROP("ipv6", NET),
    DROP("labels", "labels of the Docker engine"),
    DROP("live-restore", "containerd and CRI-O keep containers running across their own restarts"),
    SPECIAL("log-driver", KIND_LOG_DRIVER),
    DROP("log-format", API),
    DROP("log-level", API),
    REPORT("max-concurrent-downloads", "a pull setting of the runtime",
     "max_concurrent_downloads in containerd's CRI plugin config (default 3)", "none in CRI-O"),
    DROP("max-concurrent-uploads", "applies to pushes; the kubelet only pulls"),
    DROP("max-download-attempts", "the kubelet retries failed pulls with a back-off"),
    REPORT("metrics-addr", "Docker's metrics endpoint goes away",
     "containerd's [metrics] address", "enable_metrics and metrics_port in crio.conf"),
    DROP("mtu", NET),
    REPORT("no-new-privileges", "pods set it themselves",
     "allowPrivilegeEscalation: false in the pods (Pod Security \"restricted\")",
     "allowPrivilegeEscalation: false in the pods (Pod Security \"restricted\")"),
    DROP("node-generic-resources", "Docker swarm"),
    DROP("oom-score-adjust", "dockerd's own OOM score; the runtime's unit sets its own"),
    DROP("pidfile", API),
    DROP("raw-logs", API),
    REPORT("runtimes", "pods pick a runtime through a RuntimeClass",
     "a runtime in containerd's CRI runtimes and a RuntimeClass", "a [crio.runtime.runtimes] entry and a RuntimeClass"),
    REPORT("seccomp-profile", "pods choose their seccomp profile",
     "seccompProfile RuntimeDefault or Localhost in the pods (the kubelet's seccompDefault)",
     "seccomp_profile in crio.conf"),
    REPORT("selinux-enabled", "a setting of the runtime",
     "enable_selinux in containerd's CRI plugin config", "selinux = true in [crio.runtime]"),
    DROP("shutdown-timeout", "the kubelet stops pods with their terminationGracePeriodSeconds"),
    SPECIAL("storage-driver", KIND_STORAGE),
    REPORT("storage-opts", "a setting of Docker's storage driver",
     "the options of containerd's snapshotter", "[storage.options] in " RS_CRIO_STORAGE_CONF),
    DROP("swarm-default-advertise-addr", "Docker swarm"),
    DROP("tls", API),
    DROP("tlscacert", API),
    DROP("tlscert", API),
    DROP("tlskey", API),
    DROP("tlsverify", API),
    DROP("userland-proxy", NET),
    DROP("userland-proxy-path", NET),
    REPORT("userns-remap", "user namespaces are chosen per pod",
     "hostUsers: false in the pods (Kubernetes 1.30+)", "hostUsers: false in the pods (Kubernetes 1.30+)"),
    SPECIAL("log-opts.", KIND_LOG_OPT),
#undef DROP
#undef REPORT
#undef SPECIAL
#undef NET
#undef API
};

static const struct key_rule *rule_for(const char *key) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(key_rules); i++) {
    const char *k = key_rules[i].key;
    size_t n = strlen(k);
    if (k[n - 1] == '.' ? strncmp(key, k, n) == 0 : strcmp(key, k) == 0) return &key_rules[i];
  }
  return NULL;
}

static bool is_ctd(const struct ctx *c) {
  return rs_rt_info(c->p->to)->config == RS_RT_CFG_CONTAINERD_TOML;
}

static const char *rt_name(const struct ctx *c) {
  return rs_rt_name(c->p->to);
}

static bool json_file_logs(const struct ctx *c) {
  const char *d = c->docker.log_driver;
  return !d || strcmp(d, "json-file") == 0 || strcmp(d, "local") == 0;
}

static int decide_by_rule(struct ctx *c, const struct rs_docker_setting *s) {
  const char *k = s->key, *v = s->value ? s->value : "";
  const struct key_rule *r = rule_for(k);
  if (!r)
    return plan_setting(c, k, NULL, RS_SET_REPORTED, NULL, "unknown to this helper: check whether %s needs "
                        "an equivalent", rt_name(c));
  switch (r->kind) {
  case KIND_STORAGE:
    if (strcmp(v, "overlay2") == 0 || strcmp(v, "overlay") == 0)
      return plan_setting(c, k, NULL, RS_SET_DROPPED, is_ctd(c) ? "containerd's overlayfs snapshotter (its default)"
                          : "CRI-O's overlay storage driver (its default)", "the same kind of image store");
    return plan_setting(c, k, NULL, RS_SET_REPORTED, is_ctd(c) ? "containerd's snapshotter (snapshotter in the "
                        "CRI plugin config)" : "driver in " RS_CRIO_STORAGE_CONF, "%s keeps images its own way", rt_name(c));
  case KIND_LOG_DRIVER:
    if (json_file_logs(c))
      return plan_setting(c, k, NULL, RS_SET_REPORTED, "the kubelet's container logs under /var/log/pods",
                          "%s writes the CRI log format (no JSON lines), rotated by the kubelet: collectors "
                          "that parse Docker's JSON logs need a CRI parser", rt_name(c));
    return plan_setting(c, k, NULL, RS_SET_REPORTED, "a log collector reading /var/log/pods",
                        "container logs no longer go to %s: %s writes them to /var/log/pods", v, rt_name(c));
  case KIND_LOG_OPT:
    if (strcmp(k, "log-opts.compress") == 0)
      return plan_setting(c, k, NULL, RS_SET_DROPPED, NULL, "the kubelet compresses rotated logs itself");
    return plan_setting(c, k, NULL, RS_SET_REPORTED, NULL, "an option of Docker's %s log driver; the kubelet's "
                        "log rotation has no equivalent", c->docker.log_driver ? c->docker.log_driver : "json-file");
  default:
    /* a setting switched off, or empty, asks for nothing */
    if (r->action == RS_SET_REPORTED && (!strcmp(v, "false") || !*v))
      return plan_setting(c, k, NULL, RS_SET_DROPPED, NULL, "not in use (%s)", *v ? v : "empty");
    return plan_setting(c, k, NULL, r->action, is_ctd(c) ? r->ctd : r->crio, "%s", r->why);
  }
}

/* log-opts max-size / max-file: the kubelet rotates the logs now */
static int carry_log_rotation(struct ctx *c) {
  static const char *const keys[] = {"log-opts.max-size", "log-opts.max-file"};
  static const char *const fields[] = {"containerLogMaxSize", "containerLogMaxFiles"};
  const char *raw[] = {c->docker.log_max_size, c->docker.log_max_file};
  for (int i = 0; i < 2; i++) {
    if (!plan_setting_value(c, keys[i])) continue;
    _cleanup_free_ char *want = NULL, *target = rs_strdup_printf("kubelet %s in %s", fields[i], KUBELET_CONFIG);
    if (!target) return rs_oom(c->err);
    if (!json_file_logs(c)) {
      if (plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "an option of log-driver %s, not of the "
                       "json-file logs the kubelet rotates", c->docker.log_driver) < 0)
        return -1;
      continue;
    }
    if (!raw[i]) {
      if (plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "not a string (Docker takes strings only)") < 0)
        return -1;
      continue;
    }
    rs_err_t e = RS_ERR_INIT;
    long files = 0;
    if (i == 0 && rs_docker_size_quantity(raw[i], &want, &e) < 0) {
      if (e.kind != RS_E_INPUT && e.kind != RS_E_LIMIT) {
        rs_err_move(c->err, &e);
        return -1;
      }
      int r = plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "%s", e.msg);
      rs_err_clear(&e);
      if (r < 0) return -1;
      continue;
    }
    if (i == 1) {
      if (rs_parse_long(raw[i], 1, 1000000, &files) < 0) {
        if (plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "\"%s\" is not a number of files", raw[i]) < 0)
          return -1;
        continue;
      }
      if (files < 2) {
        if (plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "the kubelet keeps at least 2 files "
                         "(containerLogMaxFiles must be more than 1); Docker kept %ld", files) < 0)
          return -1;
        continue;
      }
      if (!(want = rs_strdup_printf("%ld", files))) return rs_oom(c->err);
    }
    if (!c->cy_text) {
      if (plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "there is no %s: set %s=%s on the kubelet "
                       "by hand", KUBELET_CONFIG, i ? "--container-log-max-files" : "--container-log-max-size", want) < 0)
        return -1;
      continue;
    }
    const char *now_text = plan_text(c, KUBELET_CONFIG, c->cy_text);
    _cleanup_free_ char *now = NULL;
    if (rs_kyaml_get(now_text, strlen(now_text), fields[i], &now, &e) < 0) rs_err_clear(&e);
    if (now) {
      bool same = strcmp(now, want) == 0;
      if (plan_setting(c, keys[i], NULL, same ? RS_SET_CARRIED : RS_SET_REPORTED, target, "%s already sets %s: %s%s",
                       KUBELET_CONFIG, fields[i], now, same ? "" : "; kept") < 0)
        return -1;
      continue;
    }
    char *out = NULL;
    char **ch = rs_strv_new();
    if (!ch) return rs_oom(c->err);
    if (rs_kyaml_set(now_text, strlen(now_text), fields[i], want, &out, NULL, &e) < 0) {
      rs_strv_free(ch);
      int r = plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "%s: %s", KUBELET_CONFIG, e.msg);
      rs_err_clear(&e);
      if (r < 0) return -1;
      continue;
    }
    if (plan_add(&ch, c->err, "%s: added %s (Docker's log-opts %s \"%s\")", fields[i], want, keys[i] + 9,
                 raw[i]) < 0) {
      free(out);
      rs_strv_free(ch);
      return -1;
    }
    if (plan_add_file(c, KUBELET_CONFIG, RS_FG_KUBELET, c->cy_text, strlen(c->cy_text), out, 0644, ch) < 0)
      return -1;
    _cleanup_free_ char *t2 = rs_strdup_printf("%s: %s", target, want);
    if (!t2 || plan_setting(c, keys[i], NULL, RS_SET_CARRIED, t2, NULL) < 0) return t2 ? -1 : rs_oom(c->err);
  }
  return 0;
}

static bool has_ctl(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
  return false;
}

/* HTTP(S)_PROXY / NO_PROXY of docker.service (and daemon.json "proxies")
 * into a drop-in of the target's service. */
static int carry_proxies(struct ctx *c) {
  const struct rs_rt_info *t = rs_rt_info(c->p->to);
  const char *unit = t->start[0].name; /* the runtime's daemon is the first unit it starts */
  _cleanup_free_ char *path = rs_strdup_printf("/etc/systemd/system/%s.d/%s", unit, PROXY_DROPIN);
  _cleanup_strv_ char **names = rs_strv_new(), **values = rs_strv_new(), **keys = rs_strv_new();
  if (!path || !names || !values || !keys) return rs_oom(c->err);
  /* what Docker used: daemon.json's proxies win over the environment */
  for (size_t k = 0; k < RS_ARRAY_SIZE(plan_proxy_vars); k++) {
    const char *v = rs_unit_env_get(&c->docker_env, plan_proxy_vars[k]);
    const char *dj = c->docker.proxy[k % 3];
    _cleanup_free_ char *key = rs_strdup_printf("%s%s", plan_proxy_vars[k], DOCKER_ENV_KEY);
    if (!key) return rs_oom(c->err);
    if (v && dj && plan_setting(c, key, NULL, RS_SET_DROPPED, NULL, "daemon.json proxies.%s overrides it "
                                "(as in Docker)", rs_docker_proxy_keys[k % 3]) < 0)
      return -1;
    if (dj && k < 3) {
      free(key);
      if (!(key = rs_strdup_printf("proxies.%s", rs_docker_proxy_keys[k]))) return rs_oom(c->err);
      v = dj;
    } else if (dj) {
      continue;
    }
    if (!v) continue;
    if (rs_strv_push(&names, plan_proxy_vars[k], c->err) < 0 || rs_strv_push(&values, v, c->err) < 0 ||
        rs_strv_push(&keys, key, c->err) < 0)
      return -1;
  }
  if (!names[0]) return 0;
  struct rs_unit_env have = {0};
  _cleanup_free_ char *bad = NULL;
  if (rs_unit_env_init(&have, c->err) < 0) return -1;
  int r = plan_unit_env(c, unit, &have, &bad);
  _cleanup_strv_ char **wn = rs_strv_new(), **wv = rs_strv_new(), **wk = rs_strv_new();
  bool secret = false, exists = rs_host_exists(c->h, path);
  if (r == 0 && (!wn || !wv || !wk)) r = rs_oom(c->err);
  for (size_t i = 0; r == 0 && names[i]; i++) {
    const char *now = rs_unit_env_get(&have, names[i]);
    _cleanup_free_ char *target = rs_strdup_printf("%s in %s", names[i], path);
    if (!target) r = rs_oom(c->err);
    else if (has_ctl(values[i]))
      r = plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "a control character in the value");
    else if (now && strcmp(now, values[i]) == 0)
      r = plan_setting(c, keys[i], NULL, RS_SET_CARRIED, unit, "%s already has it", unit);
    else if (now)
      r = plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "%s already sets %s to another value; kept",
                       unit, names[i]);
    else if (bad)
      r = plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "%s", bad);
    else if (!rs_host_fixture(c->h) && !rs_host_systemd(c->h))
      r = plan_setting(c, keys[i], NULL, RS_SET_REPORTED, NULL, "PID 1 is not systemd: give %s the variable "
                       "in its init script", t->command);
    else if (exists)
      r = plan_setting(c, keys[i], NULL, RS_SET_REPORTED, target, "%s exists and is not changed", path);
    else {
      _cleanup_free_ char *shown = rs_redact_userinfo(values[i]);
      secret |= shown && strcmp(shown, values[i]) != 0;
      r = rs_strv_push(&wn, names[i], c->err);
      if (r == 0) r = rs_strv_push(&wv, values[i], c->err);
      if (r == 0) r = rs_strv_push(&wk, keys[i], c->err);
      if (r == 0) r = plan_setting(c, keys[i], NULL, RS_SET_CARRIED, target, NULL);
    }
  }
  rs_unit_env_free(&have);
  if (r < 0 || !wn[0]) return r;
  char *txt = NULL;
  if (rs_unit_env_dropin("written by kubectl runtime-switch from Docker's proxy settings", wn, wv, &txt,
                         c->err) < 0)
    return -1;
  char **ch = rs_strv_new();
  if (!ch) {
    free(txt);
    return rs_oom(c->err);
  }
  for (size_t i = 0; wn[i]; i++)
    if (plan_add(&ch, c->err, "%s from %s%s", wn[i], strchr(wk[i], ' ') ? DOCKER_UNIT "'s environment" : "daemon.json ",
                 strchr(wk[i], ' ') ? "" : wk[i]) < 0) {
      free(txt);
      rs_strv_free(ch);
      return -1;
    }
  /* a proxy URL with a password stays readable by root only */
  return plan_add_file(c, path, RS_FG_RUNTIME, NULL, 0, txt, secret ? 0600 : 0644, ch);
}

/* Reported with the target's equivalent: data-root, default-ulimits
 * (CRI-O's are carried with its drop-in), exec-opts (the cgroup driver). */
static int report_runtime_equivalents(struct ctx *c) {
  struct rs_plan *p = c->p;
  const struct rs_rt_info *t = rs_rt_info(p->to);
  const char *dr_keys[] = {"data-root", "graph"};
  for (size_t i = 0; i < 2; i++) {
    const char *v = plan_setting_value(c, dr_keys[i]);
    if (!v) continue;
    _cleanup_free_ char *target = rs_strdup_printf(
        is_ctd(c) ? "containerd's root in " CONTAINERD_CONFIG " (default %s)"
                  : "root in " RS_CRIO_STORAGE_CONF " (default %s)", t->image_dir);
    if (!target || plan_setting(c, dr_keys[i], NULL, RS_SET_REPORTED, target, "Docker's images and containers "
                                "stay in %s and are not used; %s keeps its own: if %s is on a disk of its own, "
                                "point %s's root there by hand", v, t->name, v, t->name) < 0)
      return target ? -1 : rs_oom(c->err);
  }
  if (plan_setting_value(c, "default-ulimits")) {
    int r;
    if (is_ctd(c))
      r = plan_setting(c, "default-ulimits", NULL, RS_SET_REPORTED, "LimitNOFILE= and other Limit*= of "
                       "containerd.service", "containerd has no default ulimits: containers get the limits "
                       "of containerd's own service");
    else if (c->docker.ulimits_why)
      r = plan_setting(c, "default-ulimits", NULL, RS_SET_REPORTED, "default_ulimits in crio.conf", "%s",
                       c->docker.ulimits_why);
    else
      r = plan_setting(c, "default-ulimits", NULL, RS_SET_CARRIED, "default_ulimits in " RS_CRIO_DROPIN, NULL);
    if (r < 0) return -1;
  }
  if (plan_setting_value(c, "exec-opts")) {
    _cleanup_free_ char *others = NULL;
    for (size_t i = 0; c->docker.exec_opts[i]; i++) {
      if (strncasecmp(c->docker.exec_opts[i] + strspn(c->docker.exec_opts[i], " "), "native.cgroupdriver", 19) == 0)
        continue;
      char *o = rs_strdup_printf("%s%s%s", others ? others : "", others ? ", " : "", c->docker.exec_opts[i]);
      if (!o) return rs_oom(c->err);
      free(others);
      others = o;
    }
    const char *dd = c->docker.cgroup_driver;
    _cleanup_free_ char *target = rs_strdup_printf("%s for the %s cgroup driver", is_ctd(c) ?
                                                   "containerd's SystemdCgroup" : "CRI-O's cgroup_manager",
                                                   p->cgroup_driver);
    int r;
    if (!target) return rs_oom(c->err);
    bool differs = dd && strcmp(dd, p->cgroup_driver) != 0;
    _cleanup_buf_ rs_buf_t why = RS_BUF_INIT(1 << 16);
    if (others && rs_buf_printf(&why, c->err, "%s: no equivalent in %s", others, t->name) < 0) return -1;
    if (differs && rs_buf_printf(&why, c->err, "%sthe runtime follows the kubelet's cgroup driver %s (%s), not "
                                 "Docker's %s", why.len ? "; " : "", p->cgroup_driver, p->cgroup_driver_source, dd) < 0)
      return -1;
    if (why.len)
      r = plan_setting(c, "exec-opts", NULL, RS_SET_REPORTED, target, "%s", why.data);
    else
      r = plan_setting(c, "exec-opts", NULL, RS_SET_CARRIED, target, NULL);
    if (r < 0) return -1;
  }
  return 0;
}

/* cri-dockerd: Docker Engine keeps running with all of it */
static int keep_all(struct ctx *c) {
  struct rs_plan *p = c->p;
  for (size_t i = 0; i < p->nsettings; i++) {
    const char *k = p->settings[i].key;
    const char *where = rs_startswith(k, "certs.d") ? DOCKER_CERTS_D : strchr(k, ' ') ? DOCKER_UNIT
                                                                                      : DOCKER_DAEMON_JSON;
    if (p->settings[i].action == RS_SET_UNDECIDED &&
        plan_setting(c, k, NULL, RS_SET_CARRIED, where, "Docker Engine keeps running under %s", rs_rt_name(p->to)) < 0)
      return -1;
  }
  return 0;
}

int plan_docker_carry(struct ctx *c) {
  struct rs_plan *p = c->p;
  if (!plan_uses_docker(p->from)) return 0;
  if (plan_uses_docker(p->to)) {
    if (keep_all(c) < 0) return -1;
  } else {
    if (carry_log_rotation(c) < 0 || carry_proxies(c) < 0 || report_runtime_equivalents(c) < 0) return -1;
    const char *unit = rs_rt_info(p->to)->start[0].name;
    for (size_t i = 0; i < p->nsettings; i++) {
      const struct rs_docker_setting *s = &p->settings[i];
      if (s->action != RS_SET_UNDECIDED) continue;
      int r;
      if (strchr(s->key, ' ')) /* another variable of docker.service's environment */
        r = plan_setting(c, s->key, NULL, RS_SET_REPORTED, NULL, "not a proxy setting: %s does not get it; "
                         "give it to %s by hand if it needs it", unit, unit);
      else
        r = decide_by_rule(c, s);
      if (r < 0) return -1;
    }
  }
  if (c->settings_unlisted)
    return plan_setting(c, RS_SETTINGS_MORE, NULL, RS_SET_REPORTED, NULL, "%zu more settings of Docker are not listed",
                        c->settings_unlisted);
  return 0;
}
