/* CRI-O configuration is written as our own drop-in files, so the
 * operator's crio.conf is never edited. */
#include "helper/crio_conf.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/hosts_toml.h"
#include "helper/toml.h"

char *rs_crio_dropin(const struct rs_crio_want *w) {
  rs_buf_t b = RS_BUF_INIT(1 << 16);
  int r = rs_buf_printf(&b, NULL,
                        "# written by kubectl runtime-switch\n"
                        "[crio.runtime]\n"
                        "cgroup_manager = \"%s\"\n"
                        "conmon_cgroup = \"pod\"\n",
                        w->systemd_cgroup ? "systemd" : "cgroupfs");
  for (size_t i = 0; r == 0 && w->ulimits && w->ulimits[i]; i++) {
    _cleanup_free_ char *q = rs_toml_quote(w->ulimits[i]);
    r = q ? rs_buf_printf(&b, NULL, "%s%s", i ? ", " : "default_ulimits = [", q) : -1;
    if (r == 0 && !w->ulimits[i + 1]) r = rs_buf_puts(&b, "]\n", NULL);
  }
  if (r == 0 && w->default_runtime && w->runtime_path) {
    _cleanup_free_ char *n = rs_toml_quote(w->default_runtime);
    _cleanup_free_ char *rp = rs_toml_quote(w->runtime_path);
    r = n && rp ? rs_buf_printf(&b, NULL,
                                "default_runtime = %s\n\n"
                                "[crio.runtime.runtimes.%s]\n"
                                "runtime_path = %s\n"
                                "runtime_type = \"oci\"\n",
                                n, n, rp)
                : -1;
  }
  if (r == 0 && w->pause_image) {
    _cleanup_free_ char *q = rs_toml_quote(w->pause_image);
    r = q ? rs_buf_printf(&b, NULL, "\n[crio.image]\npause_image = %s\n", q) : -1;
  }
  if (r == 0 && (w->cni_bin_dir || w->cni_conf_dir)) {
    r = rs_buf_puts(&b, "\n[crio.network]\n", NULL);
    if (r == 0 && w->cni_conf_dir) {
      _cleanup_free_ char *q = rs_toml_quote(w->cni_conf_dir);
      r = q ? rs_buf_printf(&b, NULL, "network_dir = %s\n", q) : -1;
    }
    if (r == 0 && w->cni_bin_dir) {
      _cleanup_free_ char *q = rs_toml_quote(w->cni_bin_dir);
      r = q ? rs_buf_printf(&b, NULL, "plugin_dirs = [%s]\n", q) : -1;
    }
  }
  if (r < 0) {
    rs_buf_free(&b);
    return NULL;
  }
  return rs_buf_steal(&b, NULL);
}

static const char *strip_scheme(const char *m) {
  if (rs_startswith(m, "https://")) return m + 8;
  if (rs_startswith(m, "http://")) return m + 7;
  return m;
}

char *rs_crio_registries(char *const *mirrors, char *const *insecure,
                         bool *ret_empty) {
  *ret_empty = true;
  rs_buf_t b = RS_BUF_INIT(1 << 20);
  int r = rs_buf_puts(&b, "# written by kubectl runtime-switch from Docker's daemon.json\n", NULL);
  if (r == 0 && mirrors && mirrors[0]) {
    *ret_empty = false;
    r = rs_buf_puts(&b, "\n[[registry]]\nprefix = \"docker.io\"\nlocation = \"registry-1.docker.io\"\n", NULL);
    for (size_t i = 0; r == 0 && mirrors[i]; i++) {
      _cleanup_free_ char *loc = strdup(strip_scheme(mirrors[i]));
      if (!loc) { r = -1; break; }
      size_t n = strlen(loc);
      while (n && loc[n - 1] == '/') loc[--n] = '\0';
      _cleanup_free_ char *q = rs_toml_quote(loc);
      r = q ? rs_buf_printf(&b, NULL, "\n[[registry.mirror]]\nlocation = %s\n", q) : -1;
    }
  }
  for (size_t i = 0; r == 0 && insecure && insecure[i]; i++) {
    if (!rs_registry_host_ok(insecure[i])) continue;
    *ret_empty = false;
    r = rs_buf_printf(&b, NULL, "\n[[registry]]\nlocation = \"%s\"\ninsecure = true\n",
                      insecure[i]);
  }
  if (r < 0 || *ret_empty) {
    rs_buf_free(&b);
    return NULL;
  }
  return rs_buf_steal(&b, NULL);
}

/* The string at path in the last of the texts that sets it non-empty
 * (*ret stays as it is when none does). */
static int last_str(const char *const *names, const char *const *texts, size_t n,
                    const char *const *path, char **ret, rs_err_t *err) {
  for (size_t i = 0; i < n; i++) {
    _cleanup_free_ char *raw = NULL, *v = NULL;
    if (rs_toml_get_raw(texts[i], strlen(texts[i]), path, &raw, err) < 0 ||
        (raw && rs_toml_decode_str(raw, &v, err) < 0))
      return rs_wrap(err, "%s", names[i]);
    if (v && *v) {
      free(*ret);
      *ret = TAKE_PTR(v);
    }
  }
  return 0;
}

int rs_crio_default_runtime(const char *const *names, const char *const *texts, size_t n,
                            char **ret_name, char **ret_path, rs_err_t *err) {
  const char *const def[] = {"crio", "runtime", "default_runtime", NULL};
  _cleanup_free_ char *name = strdup(RS_CRIO_BUILTIN_RUNTIME), *path = NULL;
  if (!name) return rs_oom(err);
  if (last_str(names, texts, n, def, &name, err) < 0) return -1;
  const char *const rp[] = {"crio", "runtime", "runtimes", name, "runtime_path", NULL};
  if (last_str(names, texts, n, rp, &path, err) < 0) return -1;
  *ret_name = TAKE_PTR(name);
  *ret_path = TAKE_PTR(path);
  return 0;
}

int rs_crio_monitor_path(const char *const *names, const char *const *texts, size_t n,
                         const char *runtime, char **ret, rs_err_t *err) {
  const char *const mp[] = {"crio", "runtime", "runtimes", runtime, "monitor_path", NULL};
  const char *const old[] = {"crio", "runtime", "conmon", NULL};
  _cleanup_free_ char *path = NULL;
  if (last_str(names, texts, n, mp, &path, err) < 0 ||
      (!path && last_str(names, texts, n, old, &path, err) < 0))
    return -1;
  *ret = TAKE_PTR(path);
  return 0;
}
