/* Preflight, what Docker had: daemon.json's settings, /etc/docker/certs.d
 * and docker.service's environment, each listed in the plan's
 * docker_settings (contract.h) to be decided by plan_settings.c and
 * plan_registries.c. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/hosts_toml.h"
#include "helper/kubelet_flags.h"
#include "plan_int.h"

#define CERTS_MAX_FILES 64
#define CERTS_MAX_BYTES ((size_t)4 << 20) /* all of certs.d together */
#define DIR_MAX_ENTRIES 256

/* Where systemd finds a unit and its drop-ins, lowest priority first. */
static const char *const unit_dirs[] = {"/usr/lib/systemd/system", "/lib/systemd/system",
                                        "/run/systemd/system", "/etc/systemd/system"};
const char *const plan_proxy_vars[6] = {"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                                        "http_proxy", "https_proxy", "no_proxy"};

/* ---- reading what Docker has ---- */

/* Out of memory fails the plan; anything else about a file is a reason. */
static bool is_oom(const rs_err_t *e) {
  return e->kind == RS_E_SYS && e->code == ENOMEM;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a host directory (no dot files), sorted; none when it does
 * not exist.  suffix: only names ending so (NULL: all). */
static int list_dir(struct ctx *c, const char *abs, const char *suffix, char ***ret) {
  _cleanup_free_ char *hp = NULL;
  _cleanup_strv_ char **v = rs_strv_new();
  if (!v) return rs_oom(c->err);
  if (rs_host_resolve(c->h, abs, &hp, c->err) < 0) return -1;
  DIR *d = opendir(hp);
  for (struct dirent *de; d && (de = readdir(d));) {
    if (de->d_name[0] == '.' || (suffix && !rs_endswith(de->d_name, suffix))) continue;
    if (rs_strv_len(v) >= DIR_MAX_ENTRIES) {
      closedir(d);
      return rs_fail(c->err, RS_E_LIMIT, E2BIG, "%s: more than %d entries", abs, DIR_MAX_ENTRIES);
    }
    if (rs_strv_push(&v, de->d_name, c->err) < 0) {
      closedir(d);
      return -1;
    }
  }
  if (d) closedir(d);
  qsort(v, rs_strv_len(v), sizeof *v, cmp_str);
  *ret = TAKE_PTR(v);
  return 0;
}

int plan_unit_files(struct ctx *c, const char *unit, char ***ret) {
  _cleanup_strv_ char **files = rs_strv_new(), **names = rs_strv_new(), **paths = rs_strv_new();
  if (!files || !names || !paths) return rs_oom(c->err);
  for (size_t i = RS_ARRAY_SIZE(unit_dirs); i > 0; i--) {
    _cleanup_free_ char *f = rs_strdup_printf("%s/%s", unit_dirs[i - 1], unit);
    if (!f) return rs_oom(c->err);
    if (rs_host_exists(c->h, f)) {
      if (rs_strv_push(&files, f, c->err) < 0) return -1;
      break;
    }
  }
  for (size_t i = RS_ARRAY_SIZE(unit_dirs); i > 0; i--) {
    _cleanup_free_ char *dir = rs_strdup_printf("%s/%s.d", unit_dirs[i - 1], unit);
    _cleanup_strv_ char **confs = NULL;
    if (!dir) return rs_oom(c->err);
    if (list_dir(c, dir, ".conf", &confs) < 0) return -1;
    for (size_t k = 0; confs[k]; k++) {
      if (rs_strv_contains(names, confs[k])) continue;
      if (rs_strv_push(&names, confs[k], c->err) < 0 ||
          rs_strv_consume(&paths, rs_strdup_printf("%s/%s", dir, confs[k]), c->err) < 0)
        return -1;
    }
  }
  /* drop-ins apply in the order of their names */
  size_t n = rs_strv_len(names);
  for (size_t done = 0; done < n; done++) {
    size_t best = n;
    for (size_t k = 0; k < n; k++)
      if (names[k][0] && (best == n || strcmp(names[k], names[best]) < 0)) best = k;
    names[best][0] = '\0';
    if (rs_strv_push(&files, paths[best], c->err) < 0) return -1;
  }
  *ret = TAKE_PTR(files);
  return 0;
}

int plan_unit_env(struct ctx *c, const char *unit, struct rs_unit_env *env, char **ret_bad) {
  *ret_bad = NULL;
  _cleanup_strv_ char **files = NULL;
  if (plan_unit_files(c, unit, &files) < 0) {
    if (is_oom(c->err)) return -1;
    *ret_bad = strdup(c->err->msg);
    rs_err_clear(c->err);
    return *ret_bad ? 0 : rs_oom(c->err);
  }
  for (size_t i = 0; files[i]; i++) {
    _cleanup_free_ char *t = NULL;
    size_t len = 0;
    rs_err_t e = RS_ERR_INIT;
    int r = rs_host_read(c->h, files[i], RS_UNIT_MAX_SIZE, &t, &len, &e);
    if (r == 0 && t) r = rs_unit_env_read(env, t, len, &e);
    if (r < 0) {
      if (is_oom(&e)) {
        rs_err_move(c->err, &e);
        return -1;
      }
      *ret_bad = rs_strdup_printf("%s: %s", files[i], e.msg);
      rs_err_clear(&e);
      return *ret_bad ? 0 : rs_oom(c->err);
    }
  }
  /* EnvironmentFile= wins over Environment=: its proxy variables count */
  for (size_t i = 0; env->files[i]; i++) {
    const char *f = env->files[i] + (env->files[i][0] == '-');
    _cleanup_free_ char *t = NULL;
    rs_err_t e = RS_ERR_INIT;
    if (f[0] != '/' || rs_host_read(c->h, f, RS_ENV_MAX_SIZE, &t, NULL, &e) < 0 || !t) {
      rs_err_clear(&e);
      continue;
    }
    for (size_t k = 0; k < RS_ARRAY_SIZE(plan_proxy_vars); k++) {
      _cleanup_free_ char *v = NULL;
      if (rs_env_get(t, strlen(t), plan_proxy_vars[k], &v, &e) < 0) {
        rs_err_clear(&e);
        break;
      }
      if (v && rs_unit_env_set(env, plan_proxy_vars[k], v, c->err) < 0) return -1;
    }
  }
  return 0;
}

static void certs_free(struct docker_certs *d) {
  void *texts[] = {d->host, d->modes, d->why, d->note};
  for (size_t k = 0; k < RS_ARRAY_SIZE(texts); k++) free(texts[k]);
  rs_strv_free(d->names);
  rs_strv_free(d->texts);
}

static bool file_name_ok(const char *n) {
  return n[0] && strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == strlen(n);
}

/* One /etc/docker/certs.d/<host>: the files Docker reads there (*.crt,
 * *.cert with its *.key), or why they cannot be carried. */
static int read_certs_dir(struct ctx *c, const char *host, struct docker_certs *d) {
  *d = (struct docker_certs){0};
  if (!(d->host = strdup(host)) || !(d->names = rs_strv_new()) || !(d->texts = rs_strv_new()))
    return rs_oom(c->err);
  _cleanup_free_ char *dir = rs_strdup_printf("%s/%s", DOCKER_CERTS_D, host);
  _cleanup_strv_ char **all = NULL;
  if (!dir) return rs_oom(c->err);
  if (list_dir(c, dir, NULL, &all) < 0) {
    if (is_oom(c->err)) return -1;
    d->why = strdup(c->err->msg);
    rs_err_clear(c->err);
    return d->why ? 0 : rs_oom(c->err);
  }
  const char *why = NULL;
  if (!rs_registry_host_ok(host)) why = "not a registry host name";
  for (size_t i = 0; !why && all[i]; i++) {
    const char *n = all[i];
    bool ca = rs_endswith(n, ".crt"), cert = rs_endswith(n, ".cert"), key = rs_endswith(n, ".key");
    if (!ca && !cert && !key) continue; /* Docker reads no other file */
    if (rs_strv_len(d->names) >= CERTS_MAX_FILES) why = "too many files";
    else if (!file_name_ok(n)) why = "a file name with unusual characters";
    if (why) break;
    /* Docker refuses a directory with a client certificate or key alone */
    if (cert || key) {
      int base = (int)(strlen(n) - strlen(cert ? ".cert" : ".key"));
      _cleanup_free_ char *other = rs_strdup_printf("%.*s%s", base, n, cert ? ".key" : ".cert");
      if (!other) return rs_oom(c->err);
      if (!rs_strv_contains(all, other)) {
        free(d->why);
        d->why = rs_strdup_printf("%s has no %s (Docker refuses this directory too)", n, other);
        return d->why ? 0 : rs_oom(c->err);
      }
    }
    _cleanup_free_ char *path = rs_strdup_printf("%s/%s", dir, n), *hp = NULL, *t = NULL;
    size_t len = 0;
    struct stat st;
    if (!path) return rs_oom(c->err);
    rs_err_t e = RS_ERR_INIT;
    if (rs_host_resolve(c->h, path, &hp, &e) < 0 || stat(hp, &st) < 0 || !S_ISREG(st.st_mode) ||
        rs_host_read(c->h, path, RS_MAX_CONFIG, &t, &len, &e) < 0 || !t) {
      rs_err_clear(&e);
      free(d->why);
      d->why = rs_strdup_printf("%s cannot be read", n);
      return d->why ? 0 : rs_oom(c->err);
    }
    /* Docker skips a CA file without a certificate in it, and refuses a
     * client pair it cannot load; containerd refuses both */
    const char *pem = key ? "PRIVATE KEY-----" : "-----BEGIN CERTIFICATE-----";
    if (memchr(t, '\0', len) || !strstr(t, pem)) {
      if (ca) {
        char *note = rs_strdup_printf("%s%s%s is not a PEM certificate (Docker ignored it)", d->note ? d->note : "",
                                      d->note ? "; " : "", n);
        if (!note) return rs_oom(c->err);
        free(d->note);
        d->note = note;
        continue;
      }
      free(d->why);
      d->why = rs_strdup_printf("%s is not a PEM %s (Docker refuses this directory too)", n,
                                key ? "private key" : "certificate");
      return d->why ? 0 : rs_oom(c->err);
    }
    if (c->certs_bytes + len > CERTS_MAX_BYTES) {
      why = "more certificate data in " DOCKER_CERTS_D " than the helper carries (4 MiB)";
      break;
    }
    c->certs_bytes += len;
    mode_t *nm = realloc(d->modes, (rs_strv_len(d->names) + 1) * sizeof *nm);
    if (!nm) return rs_oom(c->err);
    d->modes = nm;
    /* never more open than Docker's copy; a private key at most 0600 */
    d->modes[rs_strv_len(d->names)] = st.st_mode & (key ? 0600 : 0644);
    if (rs_strv_push(&d->names, n, c->err) < 0 || rs_strv_consume(&d->texts, TAKE_PTR(t), c->err) < 0)
      return -1;
  }
  if (!why && !d->names[0]) why = d->note ? d->note : "no *.crt, *.cert or *.key file in it";
  if (why && !(d->why = strdup(why))) return rs_oom(c->err);
  return 0;
}

int plan_docker_sources(struct ctx *c) {
  if (rs_unit_env_init(&c->docker_env, c->err) < 0) return -1;
  if (!plan_uses_docker(c->p->from)) return 0;
  /* every daemon.json setting, in its order: decided later */
  for (size_t i = 0; c->have_docker_cfg && i < c->docker.nkeys; i++)
    if (plan_setting(c, c->docker.keys[i].key, c->docker.keys[i].value, RS_SET_UNDECIDED, NULL, NULL) < 0)
      return -1;
  _cleanup_strv_ char **hosts = NULL;
  if (list_dir(c, DOCKER_CERTS_D, NULL, &hosts) < 0) {
    if (is_oom(c->err)) return -1;
    int r = plan_setting(c, "certs.d", NULL, RS_SET_REPORTED, NULL, "%s; none is carried", c->err->msg);
    rs_err_clear(c->err);
    if (r < 0) return -1;
    hosts = rs_strv_new();
    if (!hosts) return rs_oom(c->err);
  }
  for (size_t i = 0; hosts[i]; i++) {
    _cleanup_free_ char *dir = rs_strdup_printf("%s/%s", DOCKER_CERTS_D, hosts[i]);
    _cleanup_free_ char *key = rs_strdup_printf("certs.d/%s", hosts[i]);
    if (!dir || !key) return rs_oom(c->err);
    if (!rs_host_is_dir(c->h, dir)) continue;
    struct docker_certs *nc = realloc(c->certs, (c->ncerts + 1) * sizeof *nc);
    if (!nc) return rs_oom(c->err);
    c->certs = nc;
    struct docker_certs *d = &c->certs[c->ncerts++];
    if (read_certs_dir(c, hosts[i], d) < 0) return -1;
    _cleanup_free_ char *files = NULL;
    for (size_t k = 0; d->names[k]; k++) {
      char *f = rs_strdup_printf("%s%s%s", files ? files : "", k ? ", " : "", d->names[k]);
      if (!f) return rs_oom(c->err);
      free(files);
      files = f;
    }
    if (plan_setting(c, key, files, RS_SET_UNDECIDED, NULL, NULL) < 0) return -1;
  }
  _cleanup_free_ char *bad = NULL;
  if (plan_unit_env(c, DOCKER_UNIT, &c->docker_env, &bad) < 0) return -1;
  if (bad && plan_setting(c, DOCKER_UNIT, NULL, RS_SET_REPORTED, NULL,
                          "%s; its environment after that file is not known", bad) < 0)
    return -1;
  for (size_t i = 0; c->docker_env.names[i]; i++) {
    const char *n = c->docker_env.names[i];
    bool proxy = false;
    for (size_t k = 0; k < RS_ARRAY_SIZE(plan_proxy_vars); k++) proxy |= strcmp(n, plan_proxy_vars[k]) == 0;
    _cleanup_free_ char *key = rs_strdup_printf("%s%s", n, DOCKER_ENV_KEY);
    _cleanup_free_ char *v = proxy ? rs_redact_userinfo(c->docker_env.values[i]) : NULL;
    if (!key || (proxy && !v)) return rs_oom(c->err);
    if (plan_setting(c, key, v, RS_SET_UNDECIDED, NULL, NULL) < 0) return -1;
  }
  return 0;
}

void plan_docker_free(struct ctx *c) {
  for (size_t i = 0; i < c->ncerts; i++) certs_free(&c->certs[i]);
  free(c->certs);
  rs_unit_env_free(&c->docker_env);
}

