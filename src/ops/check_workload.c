/* Workloads: who owns a pod (Deployment through its ReplicaSet, CronJob
 * through its Job, a DaemonSet, a StatefulSet, the pod itself), and what
 * a pod spec does that leans on Docker: hostPath mounts that reach its
 * socket or its files, docker-in-docker, agents known to bind to Docker,
 * log collectors whose configuration reads Docker's logs. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/check.h"

/* ---- owners ---- */

/* "ReplicaSet/<ns>/<name>" -> {"kind": "Deployment", "name": ...} */
struct rs_owner_index {
  json_t *map;
};

struct rs_owner_index *rs_owner_index_new(void) {
  struct rs_owner_index *x = calloc(1, sizeof *x);
  if (x && !(x->map = json_object())) {
    free(x);
    return NULL;
  }
  return x;
}

void rs_owner_index_free(struct rs_owner_index *x) {
  if (!x) return;
  json_decref(x->map);
  free(x);
}

static const json_t *controller_of(const json_t *obj) {
  size_t i;
  json_t *ref;
  json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i, ref) {
    if (json_is_true(json_object_get(ref, "controller"))) return ref;
  }
  return NULL;
}

static const char *meta_str(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

int rs_owner_index_add(struct rs_owner_index *x, const char *kind, const json_t *obj, rs_err_t *err) {
  const json_t *ref = controller_of(obj);
  const char *rk = json_string_value(json_object_get(ref, "kind"));
  const char *rn = json_string_value(json_object_get(ref, "name"));
  const char *ns = meta_str(obj, "namespace"), *name = meta_str(obj, "name");
  if (!rk || !rn || !ns || !name) return 0;
  _cleanup_free_ char *key = rs_strdup_printf("%s/%s/%s", kind, ns, name);
  if (!key || json_object_set_new(x->map, key, json_pack("{s:s, s:s}", "kind", rk, "name", rn)) < 0)
    return rs_oom(err);
  return 0;
}

void rs_check_pod_owner(const struct rs_owner_index *x, const json_t *pod, struct rs_check_ref *ret) {
  const char *ns = meta_str(pod, "namespace");
  *ret = (struct rs_check_ref){.kind = "Pod", .ns = ns, .name = meta_str(pod, "name")};
  const json_t *ref = controller_of(pod);
  const char *kind = json_string_value(json_object_get(ref, "kind"));
  const char *name = json_string_value(json_object_get(ref, "name"));
  /* a static pod's mirror is owned by its Node: the pod is the workload */
  if (!kind || !name || !ns || strcmp(kind, "Node") == 0) return;
  *ret = (struct rs_check_ref){.kind = kind, .ns = ns, .name = name};
  if (!x || (strcmp(kind, "ReplicaSet") != 0 && strcmp(kind, "Job") != 0)) return;
  char key[1024];
  if ((size_t)snprintf(key, sizeof key, "%s/%s/%s", kind, ns, name) >= sizeof key) return;
  const json_t *up = json_object_get(x->map, key);
  const char *uk = json_string_value(json_object_get(up, "kind"));
  const char *un = json_string_value(json_object_get(up, "name"));
  if (uk && un && (strcmp(uk, "Deployment") == 0 || strcmp(uk, "CronJob") == 0))
    *ret = (struct rs_check_ref){.kind = uk, .ns = ns, .name = un};
}

/* ---- one pod spec ---- */

struct spec_scan {
  struct rs_check_scan *s;
  const json_t *spec;
  const char *prefix;
  const struct rs_check_ref *workload, *object;
  const char *const *nodes;
  rs_err_t *err;
};

static int add(struct spec_scan *x, int sev, const char *check, const struct rs_check_ref *object,
               const char *field, const char *value, const char *action, const char *fmt, ...) RS_PRINTF(8, 9);
static int add(struct spec_scan *x, int sev, const char *check, const struct rs_check_ref *object,
               const char *field, const char *value, const char *action, const char *fmt, ...) {
  struct rs_check_finding f = {.severity = sev, .check = check, .nodes = (char **)x->nodes,
                               .workload = *x->workload, .object = *object, .field = (char *)field,
                               .value = (char *)value, .action = (char *)action};
  va_list ap;
  va_start(ap, fmt);
  int r = rs_check_addv(x->s->r, &f, x->err, fmt, ap);
  va_end(ap);
  return r;
}

static const struct {
  const char *check;
  const char *what;
  const char *action;
} path_hits[_RS_PATH_MAX] = {
    [RS_PATH_SOCKET] = {"docker-socket", "the Docker socket",
                        "move it off the Docker API (the CRI socket with crictl, or an image builder that needs no "
                        "daemon), or keep it on nodes that run Docker (--to cri-dockerd)"},
    [RS_PATH_SOCKET_DIR] = {"docker-socket-dir", "the directory of the Docker socket (/run)",
                            "check whether it uses /run/docker.sock; mount only what it needs (the new runtime's "
                            "socket is under /run too)"},
    [RS_PATH_HOST_ROOT] = {"host-root", "the host's root, the Docker socket and files included",
                           "check whether it talks to Docker or reads Docker's files"},
    [RS_PATH_DATA] = {"docker-data", "Docker's data (/var/lib/docker)",
                      "images and containers stay in /var/lib/docker; the new runtime keeps its own "
                      "(/var/lib/containerd, /var/lib/containers): point it there or drop the mount"},
    [RS_PATH_LOGS] = {"docker-logs", "Docker's JSON log files (/var/lib/docker/containers)",
                      "read /var/log/containers/*.log (CRI format) instead: nothing is written under "
                      "/var/lib/docker/containers after the switch"},
    [RS_PATH_STATE] = {"docker-state", "Docker's runtime state (/run/docker)",
                       "it goes away with Docker: drop the mount or use the new runtime's state"},
    [RS_PATH_SHIM] = {"dockershim-socket", "Docker's CRI socket (dockershim or cri-dockerd)",
                      "use the new runtime's CRI socket (containerd: /run/containerd/containerd.sock, CRI-O: "
                      "/run/crio/crio.sock)"},
    [RS_PATH_CONFIG] = {"docker-config", "Docker's configuration (/etc/docker)",
                        "it no longer applies: the new runtime reads its own configuration"},
};

static const json_t *volume_named(const json_t *spec, const char *name, size_t *ret_index) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(spec, "volumes"), i, v) {
    const char *n = json_string_value(json_object_get(v, "name"));
    if (n && name && strcmp(n, name) == 0) {
      *ret_index = i;
      return v;
    }
  }
  return NULL;
}

static int mounts(struct spec_scan *x, const json_t *ct) {
  const char *cname = json_string_value(json_object_get(ct, "name"));
  size_t k;
  json_t *m;
  json_array_foreach(json_object_get(ct, "volumeMounts"), k, m) {
    size_t vi;
    const json_t *vol = volume_named(x->spec, json_string_value(json_object_get(m, "name")), &vi);
    const json_t *hp = json_object_get(vol, "hostPath");
    const char *path = json_string_value(json_object_get(hp, "path"));
    if (!path) continue;
    const char *type = json_string_value(json_object_get(hp, "type"));
    const char *sub = json_string_value(json_object_get(m, "subPath"));
    const char *mp = json_string_value(json_object_get(m, "mountPath"));
    struct rs_mount_verdict v;
    rs_err_t e = RS_ERR_INIT;
    if (rs_check_mount(path, type, sub, &v, &e) < 0) {
      /* a path over the bound is kept as written, unresolved */
      bool oom = e.kind == RS_E_SYS;
      rs_err_clear(&e);
      if (oom) return rs_oom(x->err);
      continue;
    }
    int hit = v.hit, sev = v.severity;
    _cleanup_free_ char *resolved = v.resolved;
    if (hit == RS_PATH_NONE) continue;
    _cleanup_free_ char *field = rs_strdup_printf("%s.volumes[%zu].hostPath.path", x->prefix, vi);
    _cleanup_free_ char *how = rs_strdup_printf("%s%s%s%s", sub && *sub ? " (subPath " : "", sub && *sub ? sub : "",
                                                sub && *sub ? ")" : "",
                                                type && strcmp(type, "Socket") == 0 ? " (hostPath type Socket: "
                                                "the pod cannot start without it)" : "");
    if (!field || !how) return rs_oom(x->err);
    if (add(x, sev, path_hits[hit].check, x->object, field, path, path_hits[hit].action,
            "container %s mounts %s at %s%s: %s", cname ? cname : "?", resolved, mp ? mp : "?", how,
            path_hits[hit].what) < 0)
      return -1;
  }
  return 0;
}

/* command then args, as one NULL-terminated vector (borrowed strings) */
static const char **argv_of(const json_t *ct) {
  size_t n = json_array_size(json_object_get(ct, "command")) + json_array_size(json_object_get(ct, "args"));
  const char **v = calloc(n + 1, sizeof *v);
  if (!v) return NULL;
  size_t k = 0, i;
  json_t *a;
  json_array_foreach(json_object_get(ct, "command"), i, a) if (json_is_string(a)) v[k++] = json_string_value(a);
  json_array_foreach(json_object_get(ct, "args"), i, a) if (json_is_string(a)) v[k++] = json_string_value(a);
  return v;
}

static const char *const conf_checks[_RS_CONF_WHAT_MAX] = {"log-docker-parser", "log-docker-files",
                                                           "log-docker-api"};

static const char *conf_action(int collector, int what) {
  if (what == RS_CONF_DOCKER_FILES)
    return "read /var/log/containers/*.log (or /var/log/pods): the runtime writes CRI logs there, nothing under "
           "/var/lib/docker/containers";
  if (what == RS_CONF_DOCKER_API) return "drop the Docker-only part; take metadata from Kubernetes or the CRI";
  switch (collector) {
  case RS_COLLECTOR_FLUENT_BIT:
    return "read CRI lines: multiline.parser docker, cri on the tail input (fluent-bit 1.8+), or Parser cri";
  case RS_COLLECTOR_FLUENTD:
    return "parse with @type cri (fluent-plugin-parser-cri), or a multi_format with json and a CRI regexp";
  case RS_COLLECTOR_PROMTAIL: return "use the cri stage (or both, cri for CRI lines)";
  case RS_COLLECTOR_FILEBEAT: return "use type container with format auto (the default)";
  default: return "parse the CRI format: <time> <stream> <P|F> <text>";
  }
}

/* The ConfigMaps a container mounts (volumes, projected sources). */
static int configmaps_of(const json_t *spec, const json_t *ct, char ***ret, rs_err_t *err) {
  size_t k;
  json_t *m;
  json_array_foreach(json_object_get(ct, "volumeMounts"), k, m) {
    size_t vi;
    const json_t *vol = volume_named(spec, json_string_value(json_object_get(m, "name")), &vi);
    const char *cm = json_string_value(json_object_get(json_object_get(vol, "configMap"), "name"));
    if (cm && !rs_strv_contains(*ret, cm) && rs_strv_push(ret, cm, err) < 0) return -1;
    size_t i;
    json_t *src;
    json_array_foreach(json_object_get(json_object_get(vol, "projected"), "sources"), i, src) {
      cm = json_string_value(json_object_get(json_object_get(src, "configMap"), "name"));
      if (cm && !rs_strv_contains(*ret, cm) && rs_strv_push(ret, cm, err) < 0) return -1;
    }
  }
  return 0;
}

static int collector(struct spec_scan *x, int col, const char *cname, const json_t *ct) {
  const char *cn = rs_collector_name(col);
  _cleanup_strv_ char **cms = rs_strv_new();
  if (!cms || configmaps_of(x->spec, ct, &cms, x->err) < 0) return rs_oom(x->err);
  size_t seen = 0;
  for (size_t i = 0; cms[i] && x->s->get_configmap; i++) {
    json_auto_t *cm = NULL;
    if (x->s->get_configmap(x->s->ud, x->workload->ns, cms[i], &cm, x->err) < 0) return -1;
    const json_t *data = json_object_get(cm, "data");
    size_t n = json_object_size(data), k = 0;
    if (!cm || !n) continue;
    seen++;
    _cleanup_free_ const char **keys = calloc(n, sizeof *keys), **vals = calloc(n, sizeof *vals);
    _cleanup_free_ size_t *lens = calloc(n, sizeof *lens);
    if (!keys || !vals || !lens) return rs_oom(x->err);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)data, key, v) {
      if (!json_is_string(v) || k == n) continue;
      keys[k] = key;
      vals[k] = json_string_value(v);
      lens[k++] = json_string_length(v);
    }
    struct rs_conf_hits hits = {0};
    if (rs_check_conf(col, keys, vals, lens, k, &hits, x->err) < 0) return -1;
    struct rs_check_ref obj = {.kind = "ConfigMap", .ns = x->workload->ns, .name = cms[i]};
    int r = 0;
    for (size_t h = 0; r == 0 && h < hits.n; h++) {
      const struct rs_conf_hit *c = &hits.v[h];
      /* where = "<key>: <setting>": the key is the field */
      size_t kl = strcspn(c->where, ":");
      _cleanup_free_ char *field = c->line ? rs_strdup_printf("data[%.*s] line %zu", (int)kl, c->where, c->line)
                                           : rs_strdup_printf("data[%.*s]", (int)kl, c->where);
      if (!field) r = rs_oom(x->err);
      else
        r = add(x, RS_SEV_WARNING, conf_checks[c->what], &obj, field, c->value, conf_action(col, c->what),
                "%s (container %s): %s", cn, cname, c->where + kl + (c->where[kl] ? 2 : 0));
    }
    rs_conf_hits_clear(&hits);
    if (r < 0) return -1;
  }
  if (seen || !x->s->get_configmap) return 0;
  return add(x, RS_SEV_INFO, "log-collector-unseen", x->object, NULL, cn,
             "check that it reads CRI log lines from /var/log/containers",
             "container %s looks like %s; its configuration is not in a ConfigMap it mounts (or not readable)", cname,
             cn);
}

static int container(struct spec_scan *x, const char *list, size_t ci, const json_t *ct) {
  const char *cname = json_string_value(json_object_get(ct, "name"));
  const char *image = json_string_value(json_object_get(ct, "image"));
  if (!cname) cname = "?";
  if (mounts(x, ct) < 0) return -1;
  _cleanup_free_ char *field = rs_strdup_printf("%s.%s[%zu]", x->prefix, list, ci);
  _cleanup_free_ const char **argv = argv_of(ct);
  if (!field || !argv) return rs_oom(x->err);
  const char *why;
  if (rs_check_dind(image, argv, &why) &&
      add(x, RS_SEV_WARNING, "docker-in-docker", x->object, field, image, "it needs no Docker on the node, but a "
          "privileged container and a storage driver that works on the new runtime's overlay; check it there first, "
          "or build images without a daemon (kaniko, buildkit rootless)",
          "container %s runs Docker inside the pod: %s", cname, why) < 0)
    return -1;
  const char *names[] = {cname, image, x->workload->name};
  for (size_t i = 0; i < RS_ARRAY_SIZE(names); i++) {
    const struct rs_agent *a = names[i] ? rs_check_agent(names[i]) : NULL;
    if (!a) continue;
    if (add(x, a->severity, "docker-agent", x->object, field, names[i], a->action,
            "container %s is the %s, which reads container data from Docker", cname, a->name) < 0)
      return -1;
    break;
  }
  for (size_t i = 0; i < RS_ARRAY_SIZE(names); i++) {
    int col = names[i] ? rs_check_collector(names[i]) : RS_COLLECTOR_NONE;
    if (col != RS_COLLECTOR_NONE) return collector(x, col, cname, ct);
  }
  return 0;
}

int rs_check_pod_spec(struct rs_check_scan *s, const json_t *spec, const char *field_prefix,
                      const struct rs_check_ref *workload, const struct rs_check_ref *object,
                      const char *const *nodes, rs_err_t *err) {
  struct spec_scan x = {.s = s, .spec = spec, .prefix = field_prefix, .workload = workload,
                        .object = object, .nodes = nodes, .err = err};
  static const char *const lists[] = {"initContainers", "containers"};
  for (size_t l = 0; l < RS_ARRAY_SIZE(lists); l++) {
    size_t i;
    json_t *ct;
    json_array_foreach(json_object_get(spec, lists[l]), i, ct) {
      if (container(&x, lists[l], i, ct) < 0) return -1;
    }
  }
  return 0;
}
