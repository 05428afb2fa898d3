/* Preflight: what the parts of a plan share (see plan_int.h): messages,
 * strings, the kubelet's flags, the units, files and Docker settings the
 * plan names. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "common/strutil.h"
#include "helper/kubelet_flags.h"
#include "helper/units.h"
#include "plan_int.h"

int plan_add(char ***v, rs_err_t *err, const char *fmt, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return rs_strv_consume(v, s, err);
}

int plan_set_str(char **dst, const char *v, rs_err_t *err) {
  free(*dst);
  *dst = v ? strdup(v) : NULL;
  return v && !*dst ? rs_oom(err) : 0;
}

/* A flag the kubelet gets: KUBELET_EXTRA_ARGS comes after the kubeadm
 * flags on the command line, so it wins. */
int plan_kubelet_flag(struct ctx *c, const char *flag, char **ret) {
  *ret = NULL;
  char *v = NULL;
  if (c->ex_text && rs_env_flag_get(c->ex_text, strlen(c->ex_text), VAR_EXTRA, flag, &v, c->err) < 0)
    return -1;
  if (!v && c->ka_text && rs_env_flag_get(c->ka_text, strlen(c->ka_text), VAR_KA, flag, &v, c->err) < 0)
    return -1;
  *ret = v;
  return 0;
}

int plan_add_unit(struct ctx *c, const char *unit, int role, bool required) {
  struct rs_unit_state st;
  if (rs_unit_query(c->h, unit, &st, c->err) < 0) return rs_wrap(c->err, "query %s", unit);
  if (!st.loaded) {
    if (required) return BLOCK(c, "%s is not installed on the node", unit);
    return 0;
  }
  struct rs_plan *p = c->p;
  struct rs_plan_unit *nu = realloc(p->units, (p->nunits + 1) * sizeof *nu);
  if (!nu) return rs_oom(c->err);
  p->units = nu;
  p->units[p->nunits] = (struct rs_plan_unit){strdup(unit), role, st};
  if (!p->units[p->nunits].unit) return rs_oom(c->err);
  p->nunits++;
  return 0;
}

static struct rs_plan_file *find_file(const struct rs_plan *p, const char *path) {
  for (size_t i = 0; i < p->nfiles; i++)
    if (strcmp(p->files[i].path, path) == 0) return &p->files[i];
  return NULL;
}

const char *plan_text(const struct ctx *c, const char *path, const char *old) {
  const struct rs_plan_file *f = find_file(c->p, path);
  return f ? f->new_text : old;
}

mode_t plan_file_mode(const struct ctx *c, const char *abs, mode_t dflt) {
  _cleanup_free_ char *hp = NULL;
  rs_err_t e = RS_ERR_INIT;
  struct stat st;
  bool ok = rs_host_resolve(c->h, abs, &hp, &e) == 0 && stat(hp, &st) == 0;
  rs_err_clear(&e);
  return ok ? st.st_mode & 07777 : dflt;
}

int plan_add_file(struct ctx *c, const char *path, int group, const char *old,
                  size_t old_len, char *new_text, mode_t mode, char **changes) {
  struct rs_plan *p = c->p;
  struct rs_plan_file *f = find_file(p, path);
  if (f) { /* a further change of a planned file */
    free(f->new_text);
    f->new_text = new_text;
    rs_sha256_hex(new_text, strlen(new_text), f->new_sha);
    for (size_t i = 0; changes && changes[i]; i++)
      if (rs_strv_push(&f->changes, changes[i], c->err) < 0) {
        rs_strv_free(changes);
        return -1;
      }
    rs_strv_free(changes);
    return 0;
  }
  if (old && strlen(new_text) == old_len && memcmp(old, new_text, old_len) == 0) {
    free(new_text);
    rs_strv_free(changes);
    return 0;
  }
  if (p->nfiles == c->files_cap) {
    size_t nc = c->files_cap ? c->files_cap * 2 : 8;
    struct rs_plan_file *nf = realloc(p->files, nc * sizeof *nf);
    if (!nf) {
      free(new_text);
      rs_strv_free(changes);
      return rs_oom(c->err);
    }
    p->files = nf;
    c->files_cap = nc;
  }
  f = &p->files[p->nfiles++];
  memset(f, 0, sizeof *f);
  f->path = strdup(path);
  f->group = group;
  f->existed = old != NULL;
  f->old_text = old ? strndup(old, old_len) : NULL;
  f->old_len = old_len;
  f->new_text = new_text;
  /* a file that exists keeps its permissions */
  f->mode = old ? plan_file_mode(c, path, mode) : mode;
  f->changes = changes ? changes : rs_strv_new();
  if (!f->path || (old && !f->old_text) || !f->changes)
    return rs_oom(c->err);
  if (old) rs_sha256_hex(old, old_len, f->old_sha);
  rs_sha256_hex(new_text, strlen(new_text), f->new_sha);
  return 0;
}

int plan_add_file1(struct ctx *c, const char *path, int group, const char *old, size_t old_len,
                   char *new_text, mode_t mode, const char *fmt, ...) {
  char *line = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&line, fmt, ap) < 0) line = NULL;
  va_end(ap);
  char **ch = rs_strv_new();
  if (!new_text || !ch || rs_strv_consume(&ch, line, c->err) < 0) {
    free(new_text);
    rs_strv_free(ch);
    return rs_oom(c->err);
  }
  return plan_add_file(c, path, group, old, old_len, new_text, mode, ch);
}

static struct rs_docker_setting *find_setting(const struct rs_plan *p, const char *key) {
  for (size_t i = 0; i < p->nsettings; i++)
    if (strcmp(p->settings[i].key, key) == 0) return &p->settings[i];
  return NULL;
}

const char *plan_setting_value(const struct ctx *c, const char *key) {
  const struct rs_docker_setting *s = find_setting(c->p, key);
  return s ? s->value : NULL;
}

int plan_setting(struct ctx *c, const char *key, const char *value, int action,
                 const char *target, const char *why, ...) {
  struct rs_plan *p = c->p;
  struct rs_docker_setting *s = find_setting(p, key);
  if (s && s->action != RS_SET_UNDECIDED) return 0;
  if (!s && p->nsettings >= RS_SETTINGS_MAX && strcmp(key, RS_SETTINGS_MORE) != 0) {
    c->settings_unlisted++;
    return 0;
  }
  if (!s) {
    struct rs_docker_setting *ns = realloc(p->settings, (p->nsettings + 1) * sizeof *ns);
    if (!ns) return rs_oom(c->err);
    p->settings = ns;
    s = &p->settings[p->nsettings++];
    memset(s, 0, sizeof *s);
    if (!(s->key = strdup(key))) return rs_oom(c->err);
  }
  if (value && value != s->value) {
    char *v = strdup(value);
    if (!v) return rs_oom(c->err);
    free(s->value);
    s->value = v;
  }
  s->action = action;
  if (action == RS_SET_UNDECIDED) return 0;
  if (target && !(s->target = strdup(target))) return rs_oom(c->err);
  if (why) {
    va_list ap;
    va_start(ap, why);
    int n = vasprintf(&s->why, why, ap);
    va_end(ap);
    if (n < 0) {
      s->why = NULL;
      return rs_oom(c->err);
    }
  }
  return 0;
}
