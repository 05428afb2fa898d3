/* hostPath resolution: what a mount reaches of Docker, by the path the
 * kernel would open, not by how it is spelt ("/var/run/", "/run//./docker.sock"
 * and "/var/run/../run/docker.sock" are one socket). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/check.h"

/* Drop the last component of b ("/a/b" -> "/a", "/a" -> ""). */
static void pop_component(rs_buf_t *b) {
  while (b->len > 0 && b->data[b->len - 1] != '/') b->len--;
  if (b->len > 0) b->len--;
  if (b->data) b->data[b->len] = '\0';
}

int rs_check_path_resolve(const char *path, char **ret, rs_err_t *err) {
  if (!path) return rs_fail(err, RS_E_INPUT, EINVAL, "no path");
  size_t len = strlen(path);
  if (len > RS_CHECK_PATH_MAX)
    return rs_fail(err, RS_E_LIMIT, 0, "a path of %zu bytes (at most %d)", len, RS_CHECK_PATH_MAX);
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(RS_CHECK_PATH_MAX + 8);
  if (rs_buf_reserve(&b, len + 2, err) < 0) return -1;
  b.data[0] = '\0';
  for (const char *p = path; *p;) {
    while (*p == '/') p++;
    const char *s = p;
    while (*p && *p != '/') p++;
    size_t n = (size_t)(p - s);
    if (n == 0 || (n == 1 && s[0] == '.')) continue;
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      pop_component(&b);
      continue;
    }
    if (rs_buf_puts(&b, "/", err) < 0 || rs_buf_append(&b, s, n, err) < 0) return -1;
    /* /var/run is a symlink to /run: "/var/run/.." is "/", not "/var" */
    if (strcmp(b.data, "/var/run") == 0) {
      rs_buf_reset(&b);
      if (rs_buf_puts(&b, "/run", err) < 0) return -1;
    }
  }
  if (b.len == 0 && rs_buf_puts(&b, "/", err) < 0) return -1;
  *ret = rs_buf_steal(&b, NULL);
  return 0;
}

/* path is dir itself or below it */
static bool under(const char *path, const char *dir) {
  size_t n = strlen(dir);
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int rs_check_path_hit(const char *p) {
  if (!p) return RS_PATH_NONE;
  if (strcmp(p, "/") == 0) return RS_PATH_HOST_ROOT;
  if (strcmp(p, "/run") == 0) return RS_PATH_SOCKET_DIR;
  if (strcmp(p, "/run/docker.sock") == 0 || rs_endswith(p, "/docker.sock")) return RS_PATH_SOCKET;
  if (strcmp(p, "/run/dockershim.sock") == 0 || strcmp(p, "/run/cri-dockerd.sock") == 0)
    return RS_PATH_SHIM;
  if (under(p, "/run/docker")) return RS_PATH_STATE;
  if (under(p, "/var/lib/docker/containers")) return RS_PATH_LOGS;
  if (under(p, "/var/lib/docker") || strcmp(p, "/var") == 0 || strcmp(p, "/var/lib") == 0)
    return RS_PATH_DATA;
  if (under(p, "/etc/docker")) return RS_PATH_CONFIG;
  return RS_PATH_NONE;
}

static const int hit_severity[_RS_PATH_MAX] = {
    [RS_PATH_NONE] = RS_SEV_INFO,        [RS_PATH_SOCKET] = RS_SEV_BLOCKER,
    [RS_PATH_SOCKET_DIR] = RS_SEV_WARNING, [RS_PATH_HOST_ROOT] = RS_SEV_INFO,
    [RS_PATH_DATA] = RS_SEV_WARNING,     [RS_PATH_LOGS] = RS_SEV_WARNING,
    [RS_PATH_STATE] = RS_SEV_WARNING,    [RS_PATH_SHIM] = RS_SEV_WARNING,
    [RS_PATH_CONFIG] = RS_SEV_INFO,
};

int rs_check_mount(const char *host_path, const char *type, const char *sub_path,
                   struct rs_mount_verdict *ret, rs_err_t *err) {
  _cleanup_free_ char *base = NULL, *joined = NULL, *resolved = NULL;
  if (rs_check_path_resolve(host_path, &base, err) < 0) return -1;
  if (sub_path && *sub_path) {
    if (!(joined = rs_strdup_printf("%s/%s", base, sub_path))) return rs_oom(err);
    if (rs_check_path_resolve(joined, &resolved, err) < 0) return -1;
  } else {
    resolved = TAKE_PTR(base);
  }
  int hit = rs_check_path_hit(resolved);
  int sev = hit_severity[hit];
  /* hostPath type Socket: the kubelet refuses to start the pod once the
   * socket is gone, whatever the pod does with it */
  if (type && strcmp(type, "Socket") == 0 && hit == RS_PATH_SHIM) sev = RS_SEV_BLOCKER;
  *ret = (struct rs_mount_verdict){.hit = hit, .severity = sev, .resolved = TAKE_PTR(resolved)};
  return 0;
}

void rs_mount_verdict_clear(struct rs_mount_verdict *v) {
  free(v->resolved);
  *v = (struct rs_mount_verdict){0};
}
