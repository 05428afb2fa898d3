/* CRI-O's default OCI runtime must be installed, or crio exits at start
 * ("crun" not found in $PATH) after the node has already left Docker:
 * CRI-O's own default is crun, which distributions other than CRI-O's
 * packages (and a hand-built crio) often lack while runc is there. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/crio_conf.h"
#include "plan_int.h"

#define CRIO_CONF "/etc/crio/crio.conf"
#define CRIO_CONF_D "/etc/crio/crio.conf.d"

/* crio.service has no PATH of its own: systemd's default one */
static const char *const crio_path[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                        "/usr/bin", "/sbin", "/bin"};

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf names in crio.conf.d (not ours: it is rewritten), sorted as
 * CRI-O reads them; at most RS_CRIO_MAX_DROPINS. */
static int dropin_names(struct ctx *c, char ***ret) {
  _cleanup_free_ char *dir = NULL;
  _cleanup_strv_ char **v = rs_strv_new();
  if (!v) return rs_oom(c->err);
  if (rs_host_resolve(c->h, CRIO_CONF_D, &dir, c->err) < 0) return -1;
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) {
      *ret = TAKE_PTR(v);
      return 0;
    }
    return rs_fail(c->err, RS_E_SYS, errno, "%s: %s", CRIO_CONF_D, strerror(errno));
  }
  const char *ours = strrchr(RS_CRIO_DROPIN, '/') + 1;
  for (struct dirent *e; (e = readdir(d));) {
    if (!rs_endswith(e->d_name, ".conf") || strcmp(e->d_name, ours) == 0) continue;
    if (rs_strv_len(v) >= RS_CRIO_MAX_DROPINS)
      return rs_fail(c->err, RS_E_LIMIT, E2BIG, "%s: more than %d drop-in files",
                     CRIO_CONF_D, RS_CRIO_MAX_DROPINS);
    _cleanup_free_ char *p = rs_strdup_printf("%s/%s", CRIO_CONF_D, e->d_name);
    if (!p || rs_strv_push(&v, p, c->err) < 0) return p ? -1 : rs_oom(c->err);
  }
  qsort(v, rs_strv_len(v), sizeof(*v), cmp_str);
  *ret = TAKE_PTR(v);
  return 0;
}

/* The host path of runtime NAME in crio's PATH, or NULL. */
static char *find_in_path(struct ctx *c, const char *name) {
  for (size_t i = 0; i < RS_ARRAY_SIZE(crio_path); i++) {
    _cleanup_free_ char *p = rs_strdup_printf("%s/%s", crio_path[i], name);
    if (p && rs_host_exists(c->h, p)) return TAKE_PTR(p);
  }
  return NULL;
}

/* CRI-O's files that exist, in the order it merges them: *ret_names and
 * *ret_texts side by side. */
static int read_confs(struct ctx *c, char ***ret_names, char ***ret_texts) {
  _cleanup_strv_ char **dropins = NULL, **files = rs_strv_new();
  _cleanup_strv_ char **names = rs_strv_new(), **texts = rs_strv_new();
  if (!files || !names || !texts) return rs_oom(c->err);
  if (rs_strv_push(&files, CRIO_CONF, c->err) < 0 || dropin_names(c, &dropins) < 0) return -1;
  for (size_t i = 0; dropins[i]; i++)
    if (rs_strv_push(&files, dropins[i], c->err) < 0) return -1;
  for (size_t i = 0; files[i]; i++) {
    _cleanup_free_ char *t = NULL;
    size_t len = 0;
    if (rs_host_read(c->h, files[i], RS_MAX_CONFIG, &t, &len, c->err) < 0) return -1;
    if (!t) continue;
    if (memchr(t, '\0', len))
      return rs_fail(c->err, RS_E_INPUT, EINVAL, "%s contains NUL bytes", files[i]);
    if (rs_strv_push(&texts, t, c->err) < 0 || rs_strv_push(&names, files[i], c->err) < 0)
      return -1;
  }
  *ret_names = TAKE_PTR(names);
  *ret_texts = TAKE_PTR(texts);
  return 0;
}

/* conmon for runtime: its monitor_path (or the older conmon) must exist,
 * else "conmon" in PATH; crio exits at start without it. */
static int check_conmon(struct ctx *c, char **names, char **texts, const char *runtime) {
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *mon = NULL, *inpath = NULL;
  if (rs_crio_monitor_path((const char *const *)names, (const char *const *)texts,
                           rs_strv_len(texts), runtime, &mon, &e) < 0) {
    BLOCK(c, "cri-o's configuration: %s", e.msg);
    rs_err_clear(&e);
    return 0;
  }
  if (mon ? rs_host_exists(c->h, mon) : (inpath = find_in_path(c, "conmon")) != NULL) return 0;
  return BLOCK(c, "conmon, cri-o's container monitor for runtime %s, is not installed (%s)",
               runtime, mon ? mon : "not in PATH");
}

int plan_crio_runtime(struct ctx *c, char **ret_name, char **ret_path) {
  *ret_name = *ret_path = NULL;
  _cleanup_strv_ char **names = NULL, **texts = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (read_confs(c, &names, &texts) < 0) {
    if (c->err->kind != RS_E_INPUT) return -1;
    BLOCK(c, "%s", c->err->msg); /* a file crio would refuse too */
    rs_err_clear(c->err);
    return 0;
  }
  _cleanup_free_ char *name = NULL, *path = NULL;
  if (rs_crio_default_runtime((const char *const *)names, (const char *const *)texts,
                              rs_strv_len(texts), &name, &path, &e) < 0) {
    BLOCK(c, "cri-o's configuration: %s", e.msg);
    rs_err_clear(&e);
    return 0;
  }
  bool found = path ? rs_host_exists(c->h, path) : (path = find_in_path(c, name)) != NULL;
  if (found) return check_conmon(c, names, texts, name);
  _cleanup_free_ char *runc = find_in_path(c, "runc");
  if (!runc)
    return BLOCK(c, "cri-o's default runtime %s is not installed (%s) and neither is runc",
                 name, path ? path : "not in PATH");
  *ret_name = strdup("runc");
  if (!*ret_name) return rs_oom(c->err);
  *ret_path = TAKE_PTR(runc);
  return check_conmon(c, names, texts, "runc");
}
