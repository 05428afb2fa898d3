/* containerd config rules (see helper/containerd_toml.h). */
#include "helper/containerd_toml.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/toml.h"

/* containerd 1.x short plugin names (config version 1) and their IDs. */
static const struct { const char *short_name, *id; } v1_names[] = {
    {"aufs", "io.containerd.snapshotter.v1.aufs"},
    {"bolt", "io.containerd.metadata.v1.bolt"},
    {"btrfs", "io.containerd.snapshotter.v1.btrfs"},
    {"cgroups", "io.containerd.monitor.v1.cgroups"},
    {"cri", "io.containerd.grpc.v1.cri"},
    {"devmapper", "io.containerd.snapshotter.v1.devmapper"},
    {"diff-service", "io.containerd.service.v1.diff-service"},
    {"linux", "io.containerd.runtime.v1.linux"},
    {"native", "io.containerd.snapshotter.v1.native"},
    {"opt", "io.containerd.internal.v1.opt"},
    {"overlayfs", "io.containerd.snapshotter.v1.overlayfs"},
    {"restart", "io.containerd.internal.v1.restart"},
    {"scheduler", "io.containerd.gc.v1.scheduler"},
    {"tracing", "io.containerd.internal.v1.tracing"},
    {"zfs", "io.containerd.snapshotter.v1.zfs"},
};

static const char *v1_id(const char *s) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(v1_names); i++)
    if (strcmp(v1_names[i].short_name, s) == 0) return v1_names[i].id;
  return NULL;
}

int rs_ctd_config_version(const char *text, size_t len, int *ret, rs_err_t *err) {
  const char *const path[] = {"version", NULL};
  _cleanup_free_ char *raw = NULL;
  if (rs_toml_get_raw(text, len, path, &raw, err) < 0) return -1;
  if (!raw) {
    *ret = 1;
    return 0;
  }
  long v;
  if (rs_parse_long(raw, 1, 100, &v) < 0)
    return rs_fail(err, RS_E_INPUT, EINVAL, "config.toml: bad version %s", raw);
  *ret = (int)v;
  return 0;
}

int rs_ctd_imports(const char *text, size_t len, char ***ret, rs_err_t *err) {
  const char *const path[] = {"imports", NULL};
  _cleanup_free_ char *raw = NULL;
  if (rs_toml_get_raw(text, len, path, &raw, err) < 0) return -1;
  if (!raw) {
    *ret = rs_strv_new();
    return *ret ? 0 : rs_oom(err);
  }
  if (rs_toml_decode_str_array(raw, ret, err) < 0) return rs_wrap(err, "config.toml: imports");
  return 0;
}

int rs_ctd_has_legacy_registry(const char *text, size_t len, bool *ret,
                               rs_err_t *err) {
  struct rs_toml d;
  if (rs_toml_scan(text, len, &d, err) < 0) return -1;
  /* An empty [...registry.mirrors] or [...registry.configs] table, as every
   * 1.x `config default` writes, configures nothing: containerd refuses only
   * entries in them next to config_path. A table below them or a key in
   * them (an inline table too) does configure one. */
  bool found = false;
  for (size_t i = 0; i < d.n && !found; i++) {
    char **p = d.e[i].path;
    for (size_t k = 0; p[k] && p[k + 1]; k++)
      if (strcmp(p[k], "registry") == 0 &&
          (strcmp(p[k + 1], "mirrors") == 0 || strcmp(p[k + 1], "configs") == 0) &&
          (d.e[i].kind != RS_TOML_HEADER || p[k + 2]))
        found = true;
  }
  rs_toml_free(&d);
  *ret = found;
  return 0;
}

struct ed {
  char *text;
  size_t len;
  char ***changes;
  rs_err_t *err;
};

static int ed_take(struct ed *e, char *nt) {
  free(e->text);
  e->text = nt;
  e->len = strlen(nt);
  return 0;
}

static int note(struct ed *e, const char *fmt, ...) RS_PRINTF(2, 3);
static int note(struct ed *e, const char *fmt, ...) {
  if (!e->changes) return 0;
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return rs_strv_consume(e->changes, s, e->err);
}

static char *join_path(const char *const *table, const char *key) {
  rs_buf_t b = RS_BUF_INIT(4096);
  for (size_t i = 0; table[i]; i++) rs_buf_printf(&b, NULL, "%s.", table[i]);
  rs_buf_puts(&b, key, NULL);
  return rs_buf_steal(&b, NULL);
}

/* Set table.key to raw unless it already holds the same value. */
static int set(struct ed *e, const char *const *table, const char *key,
               const char *raw) {
  size_t tn = 0;
  while (table[tn]) tn++;
  const char *full[RS_TOML_MAX_DEPTH + 2];
  if (tn > RS_TOML_MAX_DEPTH) return rs_fail(e->err, RS_E_LIMIT, E2BIG, "path too deep");
  for (size_t i = 0; i < tn; i++) full[i] = table[i];
  full[tn] = key;
  full[tn + 1] = NULL;
  _cleanup_free_ char *old = NULL;
  if (rs_toml_get_raw(e->text, e->len, full, &old, e->err) < 0) return -1;
  if (old) {
    /* compare decoded strings so 'x' and "x" are the same */
    _cleanup_free_ char *a = NULL, *b = NULL;
    rs_err_t ignore = RS_ERR_INIT;
    if (strcmp(old, raw) == 0 ||
        (rs_toml_decode_str(old, &a, &ignore) == 0 &&
         rs_toml_decode_str(raw, &b, &ignore) == 0 && strcmp(a, b) == 0)) {
      rs_err_clear(&ignore);
      return 0;
    }
    rs_err_clear(&ignore);
  }
  char *nt = NULL;
  if (rs_toml_set(e->text, e->len, table, key, raw, &nt, e->err) < 0) return -1;
  ed_take(e, nt);
  _cleanup_free_ char *where = join_path(table, key);
  return old ? note(e, "%s: %s -> %s", where, old, raw)
             : note(e, "%s: set to %s", where, raw);
}

static int del(struct ed *e, const char *const *table, const char *key) {
  size_t tn = 0;
  while (table[tn]) tn++;
  const char *full[RS_TOML_MAX_DEPTH + 2];
  if (tn > RS_TOML_MAX_DEPTH) return rs_fail(e->err, RS_E_LIMIT, E2BIG, "path too deep");
  for (size_t i = 0; i < tn; i++) full[i] = table[i];
  full[tn] = key;
  full[tn + 1] = NULL;
  _cleanup_free_ char *old = NULL;
  if (rs_toml_get_raw(e->text, e->len, full, &old, e->err) < 0) return -1;
  if (!old) return 0;
  char *nt = NULL;
  if (rs_toml_delete(e->text, e->len, table, key, &nt, e->err) < 0) return -1;
  ed_take(e, nt);
  _cleanup_free_ char *where = join_path(table, key);
  return note(e, "%s: removed (was %s)", where, old);
}

static int set_str(struct ed *e, const char *const *table, const char *key,
                   const char *value) {
  _cleanup_free_ char *q = rs_toml_quote(value);
  if (!q) return rs_oom(e->err);
  return set(e, table, key, q);
}

/* Version 1 → 2: rename [plugins.<short>...] headers to full plugin IDs. */
static int rename_v1_sections(struct ed *e) {
  struct rs_toml d;
  if (rs_toml_scan(e->text, e->len, &d, e->err) < 0) return -1;
  _cleanup_buf_ rs_buf_t out = RS_BUF_INIT(RS_TOML_MAX_SIZE * 2);
  size_t copied = 0;
  int r = 0;
  for (size_t i = 0; r == 0 && i < d.n; i++) {
    char **p = d.e[i].path;
    if (!p[0] || strcmp(p[0], "plugins") != 0 || !p[1]) continue;
    if (strchr(p[1], '.')) continue; /* already a full ID */
    if (d.e[i].kind == RS_TOML_KV && rs_strv_len(p) - d.e[i].nkey >= 2)
      continue; /* a key inside a section renamed through its header */
    if (d.e[i].kind != RS_TOML_HEADER) {
      r = rs_fail(e->err, RS_E_INPUT, ENOTSUP,
                  "config.toml: version 1 key plugins.%s set outside a section; "
                  "convert the file to version 2 by hand", p[1]);
      break;
    }
    const char *id = v1_id(p[1]);
    if (!id) {
      r = rs_fail(e->err, RS_E_INPUT, ENOTSUP,
                  "config.toml: unknown version 1 plugin section [plugins.%s]", p[1]);
      break;
    }
    r = rs_buf_append(&out, e->text + copied, d.e[i].ls - copied, e->err);
    if (r == 0) r = rs_buf_printf(&out, e->err, "%s[plugins.\"%s\"", d.e[i].array ? "[" : "", id);
    for (size_t k = 2; r == 0 && p[k]; k++) {
      bool bare = true;
      for (const char *c = p[k]; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-') bare = false;
      if (bare) {
        r = rs_buf_printf(&out, e->err, ".%s", p[k]);
      } else {
        _cleanup_free_ char *q = rs_toml_quote(p[k]);
        r = q ? rs_buf_printf(&out, e->err, ".%s", q)
              : rs_oom(e->err);
      }
    }
    if (r == 0) r = rs_buf_puts(&out, d.e[i].array ? "]]\n" : "]\n", e->err);
    if (r == 0) r = note(e, "[plugins.%s] renamed to [plugins.\"%s\"] (version 2)", p[1], id);
    copied = d.e[i].le;
  }
  if (r == 0 && copied) {
    r = rs_buf_append(&out, e->text + copied, e->len - copied, e->err);
    if (r == 0) ed_take(e, rs_buf_steal(&out, NULL));
  }
  rs_toml_free(&d);
  return r;
}

static bool is_cri_name(const char *s) {
  return strcmp(s, "cri") == 0 || strcmp(s, "io.containerd.grpc.v1.cri") == 0 ||
         strcmp(s, "io.containerd.cri.v1.runtime") == 0 ||
         strcmp(s, "io.containerd.cri.v1.images") == 0;
}

static int fix_disabled(struct ed *e, int version_before) {
  const char *const root[] = {NULL};
  const char *const path[] = {"disabled_plugins", NULL};
  _cleanup_free_ char *raw = NULL;
  if (rs_toml_get_raw(e->text, e->len, path, &raw, e->err) < 0) return -1;
  if (!raw) return 0;
  _cleanup_strv_ char **names = NULL;
  if (rs_toml_decode_str_array(raw, &names, e->err) < 0)
    return rs_wrap(e->err, "disabled_plugins");
  _cleanup_buf_ rs_buf_t nv = RS_BUF_INIT(65536);
  bool changed = false;
  int r = rs_buf_puts(&nv, "[", e->err);
  size_t kept = 0;
  for (size_t i = 0; r == 0 && names[i]; i++) {
    const char *n = names[i];
    if (is_cri_name(n)) {
      changed = true;
      r = note(e, "disabled_plugins: removed \"%s\" (enables the CRI)", n);
      continue;
    }
    if (version_before == 1 && !strchr(n, '.') && v1_id(n)) {
      n = v1_id(n);
      changed = true;
    }
    _cleanup_free_ char *q = rs_toml_quote(n);
    if (!q) return rs_oom(e->err);
    r = rs_buf_printf(&nv, e->err, "%s%s", kept++ ? ", " : "", q);
  }
  if (r == 0) r = rs_buf_puts(&nv, "]", e->err);
  if (r < 0 || !changed) return r;
  char *nt = NULL;
  if (rs_toml_set(e->text, e->len, root, "disabled_plugins", nv.data, &nt, e->err) < 0)
    return -1;
  ed_take(e, nt);
  return 0;
}

/* The newest config version a containerd reads: 2 for 1.x, 3 for 2.0 to
 * 2.2, 4 from 2.3 on (`config default` and `config migrate` write it).
 * Version 4 moved only the server settings (grpc, ttrpc, debug, metrics)
 * into plugins; the CRI plugins the edit touches are where 3 has them. */
static int max_version(const struct rs_ctd_want *w) {
  if (w->major < 2) return 2;
  return w->major == 2 && w->minor < 3 ? 3 : 4;
}

int rs_ctd_config_edit(const char *text, size_t len, const struct rs_ctd_want *w,
                       char **ret, char ***changes, rs_err_t *err) {
  struct ed e = {strndup(text, len), len, changes, err};
  if (!e.text) return rs_oom(err);
  int ver = 0, r = rs_ctd_config_version(e.text, e.len, &ver, err);
  const char *const root[] = {NULL};
  const char *bool_raw = w->systemd_cgroup ? "true" : "false";
  if (r == 0 && w->major >= 2 && ver < 3)
    r = rs_fail(err, RS_E_INPUT, ENOTSUP,
                "config.toml is version %d; containerd %d.x needs version 3", ver,
                w->major);
  if (r == 0 && ver > max_version(w))
    r = rs_fail(err, RS_E_INPUT, ENOTSUP,
                "config.toml is version %d; containerd %d.%d reads version %d at most",
                ver, w->major, w->minor, max_version(w));
  if (r == 0 && w->major < 2 && ver == 1) {
    r = rename_v1_sections(&e);
    if (r == 0) r = set(&e, root, "version", "2");
  }
  if (r == 0) r = fix_disabled(&e, ver);
  if (r == 0 && w->major < 2) {
    const char *const cri[] = {"plugins", "io.containerd.grpc.v1.cri", NULL};
    const char *const runc[] = {"plugins", "io.containerd.grpc.v1.cri", "containerd",
                                "runtimes", "runc", NULL};
    const char *const opts[] = {"plugins", "io.containerd.grpc.v1.cri", "containerd",
                                "runtimes", "runc", "options", NULL};
    const char *const cni[] = {"plugins", "io.containerd.grpc.v1.cri", "cni", NULL};
    const char *const reg[] = {"plugins", "io.containerd.grpc.v1.cri", "registry", NULL};
    const char *const legacy[] = {"plugins", "io.containerd.grpc.v1.cri",
                                  "systemd_cgroup", NULL};
    _cleanup_free_ char *old_legacy = NULL;
    if (w->sandbox_image) r = set_str(&e, cri, "sandbox_image", w->sandbox_image);
    /* the legacy key only works with the v1 linux runtime and conflicts
     * with runc.v2; keep it only when it is false */
    if (r == 0) r = rs_toml_get_raw(e.text, e.len, legacy, &old_legacy, err);
    if (r == 0 && old_legacy && strcmp(old_legacy, "false") != 0)
      r = set(&e, cri, "systemd_cgroup", "false");
    if (r == 0) r = set_str(&e, runc, "runtime_type", "io.containerd.runc.v2");
    if (r == 0) r = set(&e, opts, "SystemdCgroup", bool_raw);
    if (r == 0 && w->cni_bin_dir) r = set_str(&e, cni, "bin_dir", w->cni_bin_dir);
    if (r == 0 && w->cni_conf_dir) r = set_str(&e, cni, "conf_dir", w->cni_conf_dir);
    if (r == 0 && w->config_path) r = set_str(&e, reg, "config_path", w->config_path);
  } else if (r == 0) {
    const char *const img[] = {"plugins", "io.containerd.cri.v1.images", "pinned_images", NULL};
    const char *const runc[] = {"plugins", "io.containerd.cri.v1.runtime", "containerd",
                                "runtimes", "runc", NULL};
    const char *const opts[] = {"plugins", "io.containerd.cri.v1.runtime", "containerd",
                                "runtimes", "runc", "options", NULL};
    const char *const cni[] = {"plugins", "io.containerd.cri.v1.runtime", "cni", NULL};
    const char *const reg[] = {"plugins", "io.containerd.cri.v1.images", "registry", NULL};
    if (w->sandbox_image) r = set_str(&e, img, "sandbox", w->sandbox_image);
    if (r == 0) r = set_str(&e, runc, "runtime_type", "io.containerd.runc.v2");
    if (r == 0) r = set(&e, opts, "SystemdCgroup", bool_raw);
    if (r == 0 && w->cni_bin_dir) {
      if (w->major == 2 && w->minor == 0) {
        r = set_str(&e, cni, "bin_dir", w->cni_bin_dir);
      } else {
        /* 2.1+: bin_dirs; setting bin_dir as well is an error */
        _cleanup_free_ char *q = rs_toml_quote(w->cni_bin_dir);
        _cleanup_free_ char *arr = q ? rs_strdup_printf("[%s]", q) : NULL;
        r = arr ? del(&e, cni, "bin_dir") : rs_oom(err);
        if (r == 0) r = set(&e, cni, "bin_dirs", arr);
      }
    }
    if (r == 0 && w->cni_conf_dir) r = set_str(&e, cni, "conf_dir", w->cni_conf_dir);
    if (r == 0 && w->config_path) r = set_str(&e, reg, "config_path", w->config_path);
  }
  if (r < 0) {
    free(e.text);
    return -1;
  }
  *ret = e.text;
  return 0;
}
