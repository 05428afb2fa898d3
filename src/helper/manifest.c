/* The backup manifest (see helper/manifest.h). */
#include "helper/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/integrity.h"

/* An absolute path without "." or ".." components or control bytes:
 * what the plan writes, and nothing a forged line could use to escape. */
static bool path_ok(const char *p) {
  if (p[0] != '/' || strlen(p) > 4096) return false;
  for (const char *s = p; *s; s++)
    if ((unsigned char)*s < ' ' || *s == 0x7f) return false;
  for (const char *s = p; *s;) {
    s++;
    size_t n = strcspn(s, "/");
    if (n == 0 && s[0] == '/') return false;
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
    s += n;
  }
  return true;
}

int rs_manifest_put_file(rs_buf_t *b, const struct rs_manifest_file *f, rs_err_t *err) {
  if (!path_ok(f->path)) return rs_fail(err, RS_E_INPUT, EINVAL, "backup manifest: bad path '%s'", f->path);
  return rs_buf_printf(b, err, "file %u %d %s %o %u %u %s\n", f->idx, f->existed ? 1 : 0,
                       f->existed ? f->sha : "-", (unsigned)(f->mode & 07777), (unsigned)f->uid,
                       (unsigned)f->gid, f->path);
}

int rs_manifest_put_dir(rs_buf_t *b, const char *path, rs_err_t *err) {
  if (!path_ok(path)) return rs_fail(err, RS_E_INPUT, EINVAL, "backup manifest: bad path '%s'", path);
  return rs_buf_printf(b, err, "dir %s\n", path);
}

void rs_manifest_free(struct rs_manifest *m) {
  for (size_t i = 0; i < m->nfiles; i++) free(m->files[i].path);
  free(m->files);
  rs_strv_free(m->dirs);
  memset(m, 0, sizeof *m);
}

/* Next space-separated field of *s (advanced past it); NULL at the end. */
static char *field(char **s) {
  char *f = *s;
  if (!f || !*f) return NULL;
  char *sp = strchr(f, ' ');
  if (sp) {
    *sp = '\0';
    *s = sp + 1;
  } else {
    *s = f + strlen(f);
  }
  return f;
}

static bool num(const char *s, int base, unsigned long max, unsigned long *ret) {
  unsigned long v = 0;
  if (!s || !*s || strlen(s) > 12) return false;
  for (const char *p = s; *p; p++) {
    int d = *p >= '0' && *p <= '9' ? *p - '0' : 99;
    if (d >= base) return false;
    v = v * (unsigned long)base + (unsigned long)d;
  }
  if (v > max) return false;
  *ret = v;
  return true;
}

static int parse_file(char *rest, struct rs_manifest_file *f) {
  char *idx = field(&rest), *ex = field(&rest), *sha = field(&rest), *mode = field(&rest);
  char *uid = field(&rest), *gid = field(&rest);
  unsigned long v[5];
  if (!num(idx, 10, RS_MANIFEST_MAX_FILES - 1, &v[0]) || !num(ex, 10, 1, &v[1]) ||
      !num(mode, 8, 07777, &v[2]) || !num(uid, 10, 0xfffffffeUL, &v[3]) ||
      !num(gid, 10, 0xfffffffeUL, &v[4]) || !sha || !path_ok(rest))
    return -1;
  if (v[1] ? !rs_sha256_hex_ok(sha) : strcmp(sha, "-") != 0) return -1;
  f->idx = (unsigned)v[0];
  f->existed = v[1] == 1;
  snprintf(f->sha, sizeof f->sha, "%s", v[1] ? sha : "");
  f->mode = (mode_t)v[2];
  f->uid = (uid_t)v[3];
  f->gid = (gid_t)v[4];
  f->path = strdup(rest);
  return f->path ? 0 : 1;
}

int rs_manifest_parse(const char *text, size_t len, struct rs_manifest *ret, rs_err_t *err) {
  if (len > RS_MANIFEST_MAX)
    return rs_fail(err, RS_E_LIMIT, EFBIG, "backup manifest: %zu bytes, more than %zu", len, RS_MANIFEST_MAX);
  _cleanup_free_ char *t = strndup(text, len);
  if (!t) return rs_oom(err);
  if (strlen(t) != len) return rs_fail(err, RS_E_INPUT, EINVAL, "backup manifest: NUL byte");
  struct rs_manifest m = {0};
  if (!(m.dirs = rs_strv_new())) return rs_oom(err);
  int lineno = 0;
  for (char *line = t, *next; line && *line; line = next) {
    lineno++;
    next = strchr(line, '\n');
    if (!next) {
      rs_manifest_free(&m);
      return rs_fail(err, RS_E_INPUT, EINVAL, "backup manifest: line %d is not terminated", lineno);
    }
    *next++ = '\0';
    int r = -1;
    if (rs_startswith(line, "dir ") && path_ok(line + 4)) {
      if (rs_strv_push(&m.dirs, line + 4, err) < 0) {
        rs_manifest_free(&m);
        return -1;
      }
      r = 0;
    } else if (rs_startswith(line, "file ") && m.nfiles < RS_MANIFEST_MAX_FILES) {
      struct rs_manifest_file *nf = realloc(m.files, (m.nfiles + 1) * sizeof *nf);
      if (!nf) {
        rs_manifest_free(&m);
        return rs_oom(err);
      }
      m.files = nf;
      memset(&m.files[m.nfiles], 0, sizeof *m.files);
      r = parse_file(line + 5, &m.files[m.nfiles]);
      if (r == 1) {
        rs_manifest_free(&m);
        return rs_oom(err);
      }
      if (r == 0) m.nfiles++;
    }
    if (r < 0) {
      _cleanup_free_ char *shown = strndup(line, 200);
      for (char *c = shown; c && *c; c++)
        if ((unsigned char)*c < ' ' || *c == 0x7f) *c = '?';
      rs_manifest_free(&m);
      return rs_fail(err, RS_E_INPUT, EINVAL, "backup manifest: line %d does not parse: '%s'", lineno,
                     shown ? shown : "");
    }
  }
  *ret = m;
  return 0;
}
