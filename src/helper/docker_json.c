/* daemon.json: the settings that must survive leaving Docker. */
#include "helper/docker_json.h"

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/json.h"

static int str_list(const rs_json_t *root, const char *key, char ***ret,
                    rs_err_t *err) {
  const rs_json_t *a = rs_json_get(root, key);
  if (!a || a->type == RS_J_NULL) return 0;
  if (a->type != RS_J_ARR)
    return rs_fail(err, RS_E_INPUT, EINVAL, "daemon.json: %s is not a list", key);
  for (size_t i = 0; i < a->n; i++) {
    if (a->items[i].type != RS_J_STR)
      return rs_fail(err, RS_E_INPUT, EINVAL,
                     "daemon.json: %s[%zu] is not a string", key, i);
    if (strlen(a->items[i].str) != 0 && rs_strv_push(ret, a->items[i].str, err) < 0)
      return -1;
  }
  return 0;
}

static int opt_str(const rs_json_t *root, const char *key, char **ret,
                   rs_err_t *err) {
  const rs_json_t *v = rs_json_get(root, key);
  if (!v || v->type == RS_J_NULL) return 0;
  if (v->type != RS_J_STR)
    return rs_fail(err, RS_E_INPUT, EINVAL, "daemon.json: %s is not a string", key);
  free(*ret);
  *ret = strdup(v->str);
  return *ret ? 0 : rs_oom(err);
}

int rs_docker_cfg_parse(const char *text, size_t len, struct rs_docker_cfg *ret,
                        rs_err_t *err) {
  struct rs_docker_cfg c = {0};
  c.mirrors = rs_strv_new();
  c.insecure = rs_strv_new();
  if (!c.mirrors || !c.insecure) {
    rs_docker_cfg_free(&c);
    return rs_oom(err);
  }
  size_t i = 0;
  while (i < len && strchr(" \t\r\n", text[i])) i++;
  if (i == len) {
    *ret = c;
    return 0;
  }
  _cleanup_json_ rs_json_t *root = rs_json_parse(text, len, err);
  int r = root ? 0 : -1;
  if (r == 0 && root->type != RS_J_OBJ)
    r = rs_fail(err, RS_E_INPUT, EINVAL, "daemon.json: not an object");
  if (r == 0) r = str_list(root, "registry-mirrors", &c.mirrors, err);
  if (r == 0) r = str_list(root, "insecure-registries", &c.insecure, err);
  if (r == 0) r = opt_str(root, "graph", &c.data_root, err);
  if (r == 0) r = opt_str(root, "data-root", &c.data_root, err);
  if (r == 0) r = opt_str(root, "default-runtime", &c.default_runtime, err);
  if (r == 0) {
    const rs_json_t *lr = rs_json_get(root, "live-restore");
    c.live_restore = lr && lr->type == RS_J_BOOL && lr->b;
    _cleanup_strv_ char **opts = rs_strv_new();
    r = opts ? str_list(root, "exec-opts", &opts, err)
             : rs_oom(err);
    for (size_t k = 0; r == 0 && opts && opts[k]; k++) {
      /* Docker accepts "native.cgroupdriver=systemd", any case, spaces */
      const char *o = opts[k];
      while (*o == ' ') o++;
      if (strncasecmp(o, "native.cgroupdriver", 19) != 0) continue;
      o += 19;
      while (*o == ' ') o++;
      if (*o != '=') continue;
      o++;
      while (*o == ' ') o++;
      free(c.cgroup_driver);
      c.cgroup_driver = strndup(o, strcspn(o, " "));
      if (!c.cgroup_driver) r = rs_oom(err);
    }
  }
  if (r < 0) {
    rs_docker_cfg_free(&c);
    return -1;
  }
  *ret = c;
  return 0;
}

void rs_docker_cfg_free(struct rs_docker_cfg *c) {
  if (!c) return;
  free(c->cgroup_driver);
  rs_strv_free(c->mirrors);
  rs_strv_free(c->insecure);
  free(c->data_root);
  free(c->default_runtime);
  memset(c, 0, sizeof *c);
}
