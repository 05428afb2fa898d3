/* Preflight, Docker's registries for the target: registry-mirrors,
 * insecure-registries and /etc/docker/certs.d/<host>/ become containerd's
 * certs.d/<host>/hosts.toml (with copies of the certificates), or CRI-O's
 * registries.conf.d file and /etc/containers/certs.d/<host>/. */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/crio_conf.h"
#include "helper/hosts_toml.h"
#include "plan_int.h"

static void tls_free(struct rs_reg_tls *t) {
  rs_strv_free(t->cas);
  rs_strv_free(t->certs);
  rs_strv_free(t->keys);
  memset(t, 0, sizeof *t);
}

/* The index of a host's certs.d directory, or -1. */
static ssize_t certs_index(const struct ctx *c, const char *host) {
  for (size_t i = 0; i < c->ncerts; i++)
    if (strcmp(c->certs[i].host, host) == 0) return (ssize_t)i;
  return -1;
}

/* The paths a certs.d directory's files get under dir, as hosts.toml
 * names them (*.crt CAs; *.cert with the *.key of the same name). */
static int tls_paths(struct ctx *c, const struct docker_certs *d, const char *dir, struct rs_reg_tls *tls) {
  if (!(tls->cas = rs_strv_new()) || !(tls->certs = rs_strv_new()) || !(tls->keys = rs_strv_new()))
    return rs_oom(c->err);
  for (size_t i = 0; d->names[i]; i++) {
    const char *n = d->names[i];
    bool ca = rs_endswith(n, ".crt"), cert = rs_endswith(n, ".cert");
    if (!ca && !cert) continue;
    _cleanup_free_ char *path = rs_strdup_printf("%s/%s", dir, n);
    _cleanup_free_ char *key = cert ? rs_strdup_printf("%s/%.*s.key", dir, (int)(strlen(n) - 5), n) : NULL;
    if (!path || (cert && !key)) return rs_oom(c->err);
    if (ca ? rs_strv_push(&tls->cas, path, c->err) < 0
           : rs_strv_push(&tls->certs, path, c->err) < 0 || rs_strv_push(&tls->keys, key, c->err) < 0)
      return -1;
  }
  return 0;
}

/* Copies of a certs.d directory's files under dir (same names, modes no
 * more open than Docker's). */
static int copy_certs(struct ctx *c, const struct docker_certs *d, const char *dir) {
  for (size_t i = 0; d->names[i]; i++) {
    _cleanup_free_ char *path = rs_strdup_printf("%s/%s", dir, d->names[i]);
    if (!path) return rs_oom(c->err);
    if (plan_add_file1(c, path, RS_FG_RUNTIME, NULL, 0, strdup(d->texts[i]), d->modes[i], "copy of %s/%s/%s",
                       DOCKER_CERTS_D, d->host, d->names[i]) < 0)
      return -1;
  }
  return 0;
}

static char *url_host(const char *url) {
  const char *h = strstr(url, "://");
  h = h ? h + 3 : url;
  return strndup(h, strcspn(h, "/"));
}

/* Which certs.d hosts containerd can get (their setting decided here). */
static int ctd_certs(struct ctx *c, bool legacy, bool *usable) {
  for (size_t i = 0; i < c->ncerts; i++) {
    const struct docker_certs *d = &c->certs[i];
    _cleanup_free_ char *key = rs_strdup_printf("certs.d/%s", d->host);
    _cleanup_free_ char *dir = rs_strdup_printf("%s/%s", CERTS_D, d->host);
    if (!key || !dir) return rs_oom(c->err);
    usable[i] = false;
    int r = 0;
    if (d->why)
      r = plan_setting(c, key, NULL, RS_SET_REPORTED, NULL, "%s", d->why);
    else if (legacy)
      r = plan_setting(c, key, NULL, RS_SET_REPORTED, "the registry's tls in " CONTAINERD_CONFIG,
                       "%s configures registries with registry.configs, which excludes hosts.toml files",
                       CONTAINERD_CONFIG);
    else if (rs_host_exists(c->h, dir))
      r = plan_setting(c, key, NULL, RS_SET_REPORTED, dir, "%s exists and containerd reads it instead; "
                       "it is not changed", dir);
    else
      usable[i] = true;
    if (r < 0) return -1;
  }
  return 0;
}

/* The hosts.toml of one registry and the copies of its certificates. */
static int ctd_registry(struct ctx *c, const char *host, bool insecure, const struct docker_certs *d) {
  _cleanup_free_ char *dir = rs_strdup_printf("%s/%s", CERTS_D, host);
  _cleanup_free_ char *path = dir ? rs_strdup_printf("%s/hosts.toml", dir) : NULL;
  struct rs_reg_tls tls = {0};
  if (!path) return rs_oom(c->err);
  int r = d ? copy_certs(c, d, dir) : 0;
  if (r == 0 && d) r = tls_paths(c, d, dir, &tls);
  char *txt = r == 0 ? rs_ctd_hosts_registry(host, insecure, d ? &tls : NULL) : NULL;
  tls_free(&tls);
  if (r < 0) {
    free(txt);
    return -1;
  }
  if (!d)
    return plan_add_file1(c, path, RS_FG_RUNTIME, NULL, 0, txt, 0644, "insecure registry %s from daemon.json", host);
  return plan_add_file1(c, path, RS_FG_RUNTIME, NULL, 0, txt, 0644, "%s%s%sthe certificates of %s/%s",
                        insecure ? "insecure registry " : "", insecure ? host : "",
                        insecure ? " from daemon.json, with " : "", DOCKER_CERTS_D, host);
}

/* Registries configured the old way in config.toml exclude hosts.toml */
static int legacy_block(struct ctx *c) {
  return BLOCK(c, "%s configures registry.mirrors/configs, which cannot be combined with "
                  "config_path for docker's registry settings; convert it to hosts.toml first",
               CONTAINERD_CONFIG);
}

static int ctd_mirrors(struct ctx *c, bool legacy, const bool *usable, bool *ret_any) {
  char *const *m = c->docker.mirrors;
  if (!m[0]) return 0;
  const char *path = CERTS_D "/docker.io/hosts.toml";
  if (rs_host_exists(c->h, path))
    return plan_setting(c, "registry-mirrors", NULL, RS_SET_REPORTED, path, "%s exists and is not changed", path);
  if (legacy) return legacy_block(c);
  /* a mirror with certificates of its own: hosts.toml names them */
  size_t n = rs_strv_len(m);
  struct rs_reg_tls *tls = calloc(n, sizeof *tls);
  const struct rs_reg_tls **tp = calloc(n, sizeof *tp);
  int r = tls && tp ? 0 : rs_oom(c->err);
  for (size_t i = 0; r == 0 && i < n; i++) {
    _cleanup_free_ char *h = url_host(m[i]);
    ssize_t k = h ? certs_index(c, h) : -1;
    _cleanup_free_ char *dir = k >= 0 ? rs_strdup_printf("%s/%s", CERTS_D, h) : NULL;
    if (!h || (k >= 0 && !dir)) r = rs_oom(c->err);
    /* the paths only: the files come with the host's own hosts.toml */
    else if (k >= 0 && usable[k] && (r = tls_paths(c, &c->certs[k], dir, &tls[i])) == 0)
      tp[i] = &tls[i];
  }
  char *txt = r == 0 ? rs_ctd_hosts_mirrors(m, tp) : NULL;
  for (size_t i = 0; tls && i < n; i++) tls_free(&tls[i]);
  free(tls);
  free(tp);
  if (r < 0) {
    free(txt);
    return -1;
  }
  if (plan_add_file1(c, path, RS_FG_RUNTIME, NULL, 0, txt, 0644, "docker.io mirrors from daemon.json registry-mirrors") < 0)
    return -1;
  *ret_any = true;
  return plan_setting(c, "registry-mirrors", NULL, RS_SET_CARRIED, path, NULL);
}

int plan_registries_containerd(struct ctx *c, bool legacy, bool *ret_any) {
  *ret_any = false;
  if (!plan_uses_docker(c->p->from)) return 0;
  bool *usable = calloc(c->ncerts + 1, sizeof *usable);
  if (!usable) return rs_oom(c->err);
  int r = ctd_certs(c, legacy, usable);
  if (r == 0) r = ctd_mirrors(c, legacy, usable, ret_any);
  /* insecure registries, with their certificates when they have some */
  rs_buf_t done = RS_BUF_INIT(1 << 20), skipped = RS_BUF_INIT(1 << 20);
  for (size_t i = 0; r == 0 && c->docker.insecure[i]; i++) {
    const char *h = c->docker.insecure[i];
    _cleanup_free_ char *path = rs_strdup_printf("%s/%s/hosts.toml", CERTS_D, h);
    if (!path) r = rs_oom(c->err);
    else if (!rs_registry_host_ok(h))
      r = rs_buf_printf(&skipped, c->err, "%s%s is a network range (containerd takes hosts only)",
                        skipped.len ? "; " : "", h);
    else if (rs_host_exists(c->h, path))
      r = rs_buf_printf(&skipped, c->err, "%s%s exists and is not changed", skipped.len ? "; " : "", path);
    else if (legacy)
      r = legacy_block(c) < 0 ? -1 : 1;
    else {
      const struct docker_certs *d = NULL;
      ssize_t k = certs_index(c, h);
      if (k >= 0 && usable[k]) {
        d = &c->certs[k];
        usable[k] = false; /* its files go with this hosts.toml */
        _cleanup_free_ char *key = rs_strdup_printf("certs.d/%s", h), *t = rs_strdup_printf("%s/%s/", CERTS_D, h);
        r = key && t ? plan_setting(c, key, NULL, RS_SET_CARRIED, t, "with the insecure registry's hosts.toml%s%s",
                                    d->note ? "; " : "", d->note ? d->note : "")
                     : rs_oom(c->err);
      }
      if (r == 0) r = ctd_registry(c, h, true, d);
      if (r == 0) r = rs_buf_printf(&done, c->err, "%s%s", done.len ? ", " : "", path);
      *ret_any = true;
    }
  }
  if (r == 1) r = 0; /* blocked */
  else if (r == 0 && c->docker.insecure[0])
    r = skipped.len ? plan_setting(c, "insecure-registries", NULL, RS_SET_REPORTED, done.len ? done.data : NULL,
                                   "%s", skipped.data)
                    : plan_setting(c, "insecure-registries", NULL, RS_SET_CARRIED, done.data, NULL);
  rs_buf_free(&done);
  rs_buf_free(&skipped);
  /* the other certs.d hosts: a hosts.toml of their own */
  for (size_t k = 0; r == 0 && k < c->ncerts; k++) {
    if (!usable[k]) continue;
    const struct docker_certs *d = &c->certs[k];
    _cleanup_free_ char *key = rs_strdup_printf("certs.d/%s", d->host), *t = rs_strdup_printf("%s/%s/", CERTS_D, d->host);
    r = key && t ? ctd_registry(c, d->host, false, d) : rs_oom(c->err);
    if (r == 0) r = plan_setting(c, key, NULL, RS_SET_CARRIED, t, d->note ? "%s" : NULL, d->note);
    *ret_any = true;
  }
  free(usable);
  return r;
}

int plan_registries_crio(struct ctx *c) {
  if (!plan_uses_docker(c->p->from)) return 0;
  char *const *m = c->docker.mirrors, *const *ins = c->docker.insecure;
  if (m[0] || ins[0]) {
    _cleanup_free_ char *oldr = NULL;
    size_t orl = 0;
    bool empty = true;
    if (rs_host_read(c->h, RS_CRIO_REGISTRIES, RS_MAX_CONFIG, &oldr, &orl, c->err) < 0) return -1;
    char *reg = rs_crio_registries(m, ins, &empty);
    if (!empty && plan_add_file1(c, RS_CRIO_REGISTRIES, RS_FG_RUNTIME, oldr, orl, reg, 0644,
                                 "docker's registry-mirrors and insecure-registries") < 0)
      return -1;
    if (m[0] && plan_setting(c, "registry-mirrors", NULL, RS_SET_CARRIED, RS_CRIO_REGISTRIES, NULL) < 0) return -1;
    _cleanup_buf_ rs_buf_t skipped = RS_BUF_INIT(1 << 20);
    for (size_t i = 0; ins[i]; i++)
      if (!rs_registry_host_ok(ins[i]) &&
          rs_buf_printf(&skipped, c->err, "%s%s is a network range (registries.conf takes hosts only)",
                        skipped.len ? "; " : "", ins[i]) < 0)
        return -1;
    if (ins[0] && (skipped.len ? plan_setting(c, "insecure-registries", NULL, RS_SET_REPORTED,
                                              empty ? NULL : RS_CRIO_REGISTRIES, "%s", skipped.data)
                               : plan_setting(c, "insecure-registries", NULL, RS_SET_CARRIED, RS_CRIO_REGISTRIES, NULL)) < 0)
      return -1;
  }
  /* containers/image reads Docker's naming (*.crt, *.cert, *.key) there */
  for (size_t k = 0; k < c->ncerts; k++) {
    const struct docker_certs *d = &c->certs[k];
    _cleanup_free_ char *key = rs_strdup_printf("certs.d/%s", d->host);
    _cleanup_free_ char *dir = rs_strdup_printf("%s/%s", RS_CRIO_CERTS_D, d->host);
    _cleanup_free_ char *t = rs_strdup_printf("%s/%s/", RS_CRIO_CERTS_D, d->host);
    if (!key || !dir || !t) return rs_oom(c->err);
    int r;
    if (d->why)
      r = plan_setting(c, key, NULL, RS_SET_REPORTED, NULL, "%s", d->why);
    else if (rs_host_exists(c->h, dir))
      r = plan_setting(c, key, NULL, RS_SET_REPORTED, dir, "%s exists and is not changed", dir);
    else if ((r = copy_certs(c, d, dir)) == 0)
      r = plan_setting(c, key, NULL, RS_SET_CARRIED, t, d->note ? "%s" : NULL, d->note);
    if (r < 0) return -1;
  }
  return 0;
}
