/* A Node as status shows it (struct rs_node_status): read from JSON, from
 * protobuf (an item of a NodeList, read as the list arrives), and written
 * as status's JSON; the rows of a report. */
#include "ops/nodes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube/pb.h"
#include "nodes_int.h"

static char *jdup(const json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s && *s ? strdup(s) : NULL;
}

void rs_node_status_clear(struct rs_node_status *n) {
  free(n->name);
  free(n->ready);
  free(n->roles);
  free(n->kubelet_version);
  free(n->runtime);
  free(n->runtime_version);
  free(n->runtime_raw);
  free(n->cri_socket);
  free(n->os_image);
  free(n->kernel);
  free(n->internal_ip);
  free(n->arch);
  free(n->configz_endpoint);
  free(n->cgroup_driver);
  rs_strv_free(n->docker_sock_pods);
  rs_verdict_clear(&n->verdict);
  *n = (struct rs_node_status){0};
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Roles as kubectl: node-role.kubernetes.io/<role> labels and the older
 * kubernetes.io/role=<role>, sorted.  add_role takes one label (key and
 * value need not be NUL-terminated: protobuf strings are not). */
#define ROLE_PREFIX "node-role.kubernetes.io/"
#define ROLE_LABEL "kubernetes.io/role"

static bool is_role_label(const char *k, size_t kl) {
  return (kl > strlen(ROLE_PREFIX) && memcmp(k, ROLE_PREFIX, strlen(ROLE_PREFIX)) == 0) ||
         (kl == strlen(ROLE_LABEL) && memcmp(k, ROLE_LABEL, kl) == 0);
}

static int add_role(char ***roles, const char *k, size_t kl, const char *v, size_t vl) {
  if (!is_role_label(k, kl)) return 0;
  const char *role = k + strlen(ROLE_PREFIX);
  size_t rl = kl - strlen(ROLE_PREFIX);
  if (kl == strlen(ROLE_LABEL) && memcmp(k, ROLE_LABEL, kl) == 0) {
    role = v;
    rl = v ? vl : 0;
  }
  if (!rl) return 0;
  _cleanup_free_ char *r = strndup(role, rl);
  if (!r) return -1;
  if (!*roles && !(*roles = rs_strv_new())) return -1;
  if (rs_strv_contains(*roles, r)) return 0;
  return rs_strv_push(roles, r, NULL);
}

/* "a,b" sorted; NULL with errno 0 when there are none. */
static char *join_roles(char **roles) {
  size_t n = roles ? rs_strv_len(roles) : 0;
  errno = 0;
  if (!n) return NULL;
  qsort(roles, n, sizeof *roles, cmp_str);
  rs_buf_t b = RS_BUF_INIT(0);
  for (size_t i = 0; i < n; i++)
    if (rs_buf_printf(&b, NULL, "%s%s", i ? "," : "", roles[i]) < 0) {
      rs_buf_free(&b);
      errno = ENOMEM;
      return NULL;
    }
  return rs_buf_steal(&b, NULL);
}

static char *roles_of(const json_t *labels) {
  _cleanup_strv_ char **roles = NULL;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)labels, k, v) {
    const char *val = json_string_value(v);
    if (add_role(&roles, k, strlen(k), val, val ? strlen(val) : 0) < 0) {
      errno = ENOMEM;
      return NULL;
    }
  }
  return join_roles(roles);
}

/* runtime and runtime_version from runtime_raw ("docker://20.10.24"). */
static int split_runtime(struct rs_node_status *n) {
  if (!n->runtime_raw) return 0;
  const char *sep = strstr(n->runtime_raw, "://");
  if (sep) {
    n->runtime = strndup(n->runtime_raw, (size_t)(sep - n->runtime_raw));
    n->runtime_version = strdup(sep + 3);
    return n->runtime && n->runtime_version ? 0 : -1;
  }
  return (n->runtime = strdup(n->runtime_raw)) ? 0 : -1;
}

int rs_node_status_from_json(const json_t *node, struct rs_node_status *ret,
                             rs_err_t *err) {
  struct rs_node_status n = {0};
  const json_t *meta = json_object_get(node, "metadata");
  const json_t *status = json_object_get(node, "status");
  const json_t *info = json_object_get(status, "nodeInfo");
  n.name = jdup(meta, "name");
  if (!n.name) return rs_fail(err, RS_E_INPUT, 0, "a Node without metadata.name");
  n.docker_sock_pods = rs_strv_new();
  if (!n.docker_sock_pods) goto fail;
  json_t *labels = json_object_get(meta, "labels");
  errno = 0;
  if (json_is_object(labels) && !(n.roles = roles_of(labels)) && errno == ENOMEM) goto fail;
  n.cri_socket = jdup(json_object_get(meta, "annotations"), RS_ANN_CRI_SOCKET);
  n.unschedulable = json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"));
  n.kubelet_version = jdup(info, "kubeletVersion");
  n.os_image = jdup(info, "osImage");
  n.kernel = jdup(info, "kernelVersion");
  n.arch = jdup(info, "architecture");
  n.runtime_raw = jdup(info, "containerRuntimeVersion");
  if (split_runtime(&n) < 0) goto fail;
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(status, "conditions"), i, c) {
    const char *t = json_string_value(json_object_get(c, "type"));
    if (t && strcmp(t, "Ready") == 0) {
      free(n.ready);
      n.ready = jdup(c, "status");
    }
  }
  json_array_foreach(json_object_get(status, "addresses"), i, c) {
    const char *t = json_string_value(json_object_get(c, "type"));
    if (t && strcmp(t, "InternalIP") == 0 && !n.internal_ip) n.internal_ip = jdup(c, "address");
  }
  *ret = n;
  return 0;
fail:
  rs_node_status_clear(&n);
  return rs_oom(err);
}

/* ---- protobuf (k8s.io/api core/v1 generated.proto field numbers) ---- */

/* *dst = the string of f; empty strings are absent, as in the JSON path. */
static int pb_set(char **dst, const struct rs_pb_field *f) {
  if (f->wire != RS_PB_LEN) return 0;
  char *v = NULL;
  if (f->len && !(v = rs_pb_strdup(f))) return -1;
  free(*dst);
  *dst = v;
  return 0;
}

/* A map<string,string> entry: key 1, value 2. */
static int pb_entry(const struct rs_pb_field *f, struct rs_pb_field *key, struct rs_pb_field *val) {
  struct rs_pb m = rs_pb_sub(f);
  struct rs_pb_field g;
  int k;
  *key = *val = (struct rs_pb_field){.wire = RS_PB_LEN};
  while ((k = rs_pb_next(&m, &g)) > 0)
    if (g.wire == RS_PB_LEN && (g.num == 1 || g.num == 2)) *(g.num == 1 ? key : val) = g;
  return k;
}

#define ARCH_LABEL "kubernetes.io/arch"

/* ObjectMeta: name 1, labels 11, annotations 12; the arch label into
 * *arch when arch is not NULL. */
static int pb_meta(struct rs_node_status *n, struct rs_pb m, char ***roles, char **arch) {
  struct rs_pb_field f, key, val;
  int k;
  while ((k = rs_pb_next(&m, &f)) > 0) {
    if (f.wire != RS_PB_LEN) continue;
    if (f.num == 1) {
      if (pb_set(&n->name, &f) < 0) return -1;
    } else if (f.num == 11 || f.num == 12) {
      if (pb_entry(&f, &key, &val) < 0) return -1;
      if (f.num == 11) {
        if (add_role(roles, (const char *)key.data, key.len, (const char *)val.data, val.len) < 0 ||
            (arch && rs_pb_str_eq(&key, ARCH_LABEL) && pb_set(arch, &val) < 0))
          return -1;
      } else if (rs_pb_str_eq(&key, RS_ANN_CRI_SOCKET) && pb_set(&n->cri_socket, &val) < 0) {
        return -1;
      }
    }
  }
  return k;
}

/* NodeStatus: conditions 4 (type 1, status 2), addresses 5 (type 1,
 * address 2), nodeInfo 7 (kernelVersion 4, osImage 5,
 * containerRuntimeVersion 6, kubeletVersion 7, architecture 10). */
static int pb_status(struct rs_node_status *n, struct rs_pb m) {
  struct rs_pb_field f, g;
  int k;
  while ((k = rs_pb_next(&m, &f)) > 0) {
    if (f.wire != RS_PB_LEN || (f.num != 4 && f.num != 5 && f.num != 7)) continue;
    struct rs_pb s = rs_pb_sub(&f);
    struct rs_pb_field type = {.wire = RS_PB_LEN}, value = {.wire = RS_PB_LEN};
    int j;
    while ((j = rs_pb_next(&s, &g)) > 0) {
      if (g.wire != RS_PB_LEN) continue;
      if (f.num == 7) {
        char **dst = g.num == 4 ? &n->kernel : g.num == 5 ? &n->os_image
                   : g.num == 6 ? &n->runtime_raw : g.num == 7 ? &n->kubelet_version
                   : g.num == 10 ? &n->arch : NULL;
        if (dst && pb_set(dst, &g) < 0) return -1;
      } else if (g.num == 1) {
        type = g;
      } else if (g.num == 2) {
        value = g;
      }
    }
    if (j < 0) return -1;
    if (f.num == 4 && rs_pb_str_eq(&type, "Ready") && pb_set(&n->ready, &value) < 0) return -1;
    if (f.num == 5 && !n->internal_ip && rs_pb_str_eq(&type, "InternalIP") &&
        pb_set(&n->internal_ip, &value) < 0)
      return -1;
  }
  return k;
}

int rs_node_status_from_pb(const void *msg, size_t len, struct rs_node_status *ret,
                           rs_err_t *err) {
  struct rs_node_status n = {0};
  _cleanup_strv_ char **roles = NULL;
  struct rs_pb r = rs_pb_of(msg, len), s;
  struct rs_pb_field f, g;
  int k;
  errno = 0;
  if (!(n.docker_sock_pods = rs_strv_new())) goto fail;
  while ((k = rs_pb_next(&r, &f)) > 0) {
    if (f.wire != RS_PB_LEN) continue;
    if (f.num == 1) {
      k = pb_meta(&n, rs_pb_sub(&f), &roles, NULL);
    } else if (f.num == 2) { /* NodeSpec: unschedulable 4 */
      s = rs_pb_sub(&f);
      while ((k = rs_pb_next(&s, &g)) > 0)
        if (g.num == 4 && g.wire == RS_PB_VARINT) n.unschedulable = g.v != 0;
    } else if (f.num == 3) {
      k = pb_status(&n, rs_pb_sub(&f));
    }
    if (k < 0) goto fail;
  }
  if (k < 0) goto fail;
  if (!n.name) {
    rs_node_status_clear(&n);
    return rs_fail(err, RS_E_INPUT, 0, "a Node without metadata.name");
  }
  if ((!(n.roles = join_roles(roles)) && errno == ENOMEM) || split_runtime(&n) < 0) goto fail;
  *ret = n;
  return 0;
fail:
  rs_node_status_clear(&n);
  if (errno == ENOMEM) return rs_oom(err);
  return rs_fail(err, RS_E_INPUT, 0, "malformed protobuf Node");
}

/* From the server-side Table: the row (see rs_node_table_row_exact) and
 * the node's PartialObjectMetadata (metadata 1: name, labels, annotations). */
int rs_node_status_from_table(const struct rs_node_table_row *row, const void *meta, size_t len,
                              bool wide, struct rs_node_status *ret, rs_err_t *err) {
  struct rs_node_status n = {0};
  _cleanup_strv_ char **roles = NULL;
  struct rs_pb r = rs_pb_of(meta, len);
  struct rs_pb_field f;
  int k;
  if (!(wide ? rs_node_table_row_wide_exact(row) : rs_node_table_row_exact(row)))
    return rs_fail(err, RS_E_INPUT, 0, "the node table's row of %s does not say enough", row->name);
  errno = 0;
  if (!(n.docker_sock_pods = rs_strv_new())) goto fail;
  while ((k = rs_pb_next(&r, &f)) > 0)
    if (f.num == 1 && f.wire == RS_PB_LEN &&
        (k = pb_meta(&n, rs_pb_sub(&f), &roles, wide ? &n.arch : NULL)) < 0)
      break;
  if (k < 0) goto fail;
  if (!n.name || strcmp(n.name, row->name) != 0) {
    rs_fail(err, RS_E_INPUT, 0, "the node table's row of %s came with the metadata of %s", row->name,
            n.name ? n.name : "a nameless object");
    rs_node_status_clear(&n);
    return -1;
  }
  n.unschedulable = rs_endswith(row->status, ",SchedulingDisabled");
  if ((rs_startswith(row->status, "Ready") && !(n.ready = strdup("True"))) ||
      (*row->version && !(n.kubelet_version = strdup(row->version))) ||
      (*row->runtime && !(n.runtime_raw = strdup(row->runtime))) ||
      (wide && (!(n.internal_ip = strdup(row->ip)) || !(n.os_image = strdup(row->os)) ||
                !(n.kernel = strdup(row->kernel)))))
    goto fail;
  if ((!(n.roles = join_roles(roles)) && errno == ENOMEM) || split_runtime(&n) < 0) goto fail;
  *ret = n;
  return wide && !n.arch ? 1 : 0;
fail:
  rs_node_status_clear(&n);
  if (errno == ENOMEM) return rs_oom(err);
  return rs_fail(err, RS_E_INPUT, 0, "malformed protobuf PartialObjectMetadata");
}

/* Room for `more` further rows. */
int rs_nodes_reserve(struct rs_nodes_report *r, size_t more) {
  if (r->cap - r->n >= more) return 0;
  size_t cap = r->cap ? r->cap : 64;
  while (cap - r->n < more) cap *= 2;
  struct rs_node_status *n = realloc(r->items, cap * sizeof *n);
  if (!n) return -1;
  r->items = n;
  r->cap = cap;
  return 0;
}

/* One item of a protobuf NodeList: a row more. */
int rs_nodes_add_pb_item(void *ud, const void *msg, size_t len, rs_err_t *err) {
  struct rs_nodes_report *r = ud;
  if (rs_nodes_reserve(r, 1) < 0) return rs_oom(err);
  if (rs_node_status_from_pb(msg, len, &r->items[r->n], err) < 0) return -1;
  r->n++;
  return 0;
}

int rs_nodes_add_pb_page(struct rs_nodes_report *r, const void *data, size_t len,
                         char **ret_continue, rs_err_t *err) {
  _cleanup_(rs_pb_list_clear) struct rs_pb_list l = {.kind = "NodeList", .item = rs_nodes_add_pb_item, .ud = r};
  size_t n0 = r->n;
  *ret_continue = NULL;
  if (rs_pb_list_feed(&l, data, len, err) < 0 || rs_pb_list_end(&l, err) < 0) {
    /* all of the page or none of it */
    while (r->n > n0) rs_node_status_clear(&r->items[--r->n]);
    return -1;
  }
  *ret_continue = TAKE_PTR(l.cont);
  return 0;
}

const char *rs_node_endpoint(const struct rs_node_status *n) {
  return n->configz_endpoint ? n->configz_endpoint : n->cri_socket;
}

const char *rs_node_ready_text(const struct rs_node_status *n, char *buf, size_t len) {
  const char *r = !n->ready ? "Unknown"
                  : strcmp(n->ready, "True") == 0 ? "Ready"
                  : strcmp(n->ready, "False") == 0 ? "NotReady" : "Unknown";
  snprintf(buf, len, "%s%s", r, n->unschedulable ? ",SchedulingDisabled" : "");
  return buf;
}

bool rs_path_is_docker_socket(const char *path) {
  if (!path) return false;
  char p[4096];
  size_t l = strlen(path);
  if (l >= sizeof p) return false;
  memcpy(p, path, l + 1);
  while (l > 1 && p[l - 1] == '/') p[--l] = '\0';
  static const char *const exact[] = {"/var/run", "/run", "/var/run/docker", "/run/docker",
                                      "/var/run/docker.sock", "/run/docker.sock"};
  for (size_t i = 0; i < RS_ARRAY_SIZE(exact); i++)
    if (strcmp(p, exact[i]) == 0) return true;
  return rs_endswith(p, "/docker.sock");
}

void rs_nodes_report_clear(struct rs_nodes_report *r) {
  for (size_t i = 0; i < r->n; i++) rs_node_status_clear(&r->items[i]);
  free(r->items);
  rs_strv_free(r->warnings);
  rs_strv_free(r->missing);
  *r = (struct rs_nodes_report){0};
}

static const char *const configz_names[_RS_CONFIGZ_MAX] = {"skipped", "ok", "forbidden", "unavailable"};

json_t *rs_node_status_to_json(const struct rs_node_status *n) {
  char rb[64];
  json_t *pods = json_array();
  for (size_t i = 0; pods && n->docker_sock_pods && n->docker_sock_pods[i]; i++)
    json_array_append_new(pods, json_string(n->docker_sock_pods[i]));
  json_t *o = json_pack("{s:s, s:s, s:b, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?,"
                        " s:s, s:s?, s:s?, s:{s:s, s:s, s:s?}, s:o}",
                        "name", n->name, "status", rs_node_ready_text(n, rb, sizeof rb),
                        "unschedulable", n->unschedulable, "roles", n->roles,
                        "kubeletVersion", n->kubelet_version, "runtime", n->runtime,
                        "runtimeVersion", n->runtime_version, "containerRuntimeVersion", n->runtime_raw,
                        "criSocketAnnotation", n->cri_socket, "osImage", n->os_image,
                        "kernelVersion", n->kernel, "internalIP", n->internal_ip,
                        "architecture", n->arch, "configz", configz_names[n->configz],
                        "containerRuntimeEndpoint", n->configz_endpoint,
                        "cgroupDriver", n->cgroup_driver, "verdict",
                        "kind", rs_verdict_kind_name(n->verdict.kind),
                        "action", rs_verdict_action_name(n->verdict.action),
                        "message", n->verdict.message, "dockerSocketPods", pods);
  return o;
}
