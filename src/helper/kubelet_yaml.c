/* Top-level scalar keys of a YAML mapping, found line by line. */
#include "helper/kubelet_yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"

struct kline {
  size_t v_s, v_e;  /* the raw value (quotes included, comment excluded) */
  size_t line;
};

/* Value end: a comment starts at " #" outside quotes. */
static int value_span(const char *t, size_t s, size_t le, size_t *ret_e,
                      size_t line, rs_err_t *err) {
  size_t p = s;
  if (p < le && (t[p] == '"' || t[p] == '\'')) {
    char q = t[p++];
    for (;;) {
      if (p >= le)
        return rs_fail(err, RS_E_INPUT, EINVAL, "line %zu: unterminated quote",
                       line);
      if (q == '"' && t[p] == '\\' && p + 1 < le) {
        p += 2;
        continue;
      }
      if (t[p] == q) {
        if (q == '\'' && p + 1 < le && t[p + 1] == '\'') {
          p += 2;
          continue;
        }
        p++;
        break;
      }
      p++;
    }
    /* only spacing or a comment may follow a quoted scalar */
    size_t after = p;
    while (after < le && (t[after] == ' ' || t[after] == '\t')) after++;
    if (after < le && !(t[after] == '#' && after > p) && !(t[after] == '\r' && after + 1 == le))
      return rs_fail(err, RS_E_INPUT, EINVAL, "line %zu: text after a quoted value", line);
    *ret_e = p;
    return 0;
  }
  size_t e = s;
  while (p < le) {
    if (t[p] == '#' && p > s && (t[p - 1] == ' ' || t[p - 1] == '\t')) break;
    p++;
    if (!isspace((unsigned char)t[p - 1])) e = p;
  }
  *ret_e = e;
  return 0;
}

/* Walk the first document.  Returns 1 with *ret filled when key is found,
 * 0 when absent (*ret_doc_end = where the first document ends). */
static int find_key(const char *t, size_t len, const char *key,
                    struct kline *ret, size_t *ret_doc_end, rs_err_t *err) {
  size_t kl = strlen(key), pos = 0, line = 0;
  bool content = false;
  if (memchr(t, '\0', len)) return rs_fail(err, RS_E_INPUT, EINVAL, "NUL byte in YAML");
  while (pos < len) {
    line++;
    size_t ls = pos, le = pos;
    while (le < len && t[le] != '\n') le++;
    pos = le < len ? le + 1 : le;
    size_t lt = le;
    if (lt > ls && t[lt - 1] == '\r') lt--;
    if (lt - ls >= 3 && (memcmp(t + ls, "---", 3) == 0 ||
                         memcmp(t + ls, "...", 3) == 0) &&
        (lt - ls == 3 || isspace((unsigned char)t[ls + 3]))) {
      if (content) {
        *ret_doc_end = ls;
        return 0;
      }
      continue;
    }
    if (ls == lt || t[ls] == '#' || isspace((unsigned char)t[ls])) {
      if (ls < lt && !isspace((unsigned char)t[ls])) continue;
      continue;
    }
    if (!content && (t[ls] == '{' || t[ls] == '['))
      return rs_fail(err, RS_E_INPUT, EINVAL,
                     "line %zu: flow-style (JSON) documents are not supported",
                     line);
    content = true;
    if (lt - ls <= kl || memcmp(t + ls, key, kl) != 0) continue;
    size_t p = ls + kl;
    while (p < lt && (t[p] == ' ' || t[p] == '\t')) p++;
    if (p >= lt || t[p] != ':') continue;
    p++;
    if (p < lt && t[p] != ' ' && t[p] != '\t') continue;
    while (p < lt && (t[p] == ' ' || t[p] == '\t')) p++;
    size_t e = p;
    if (p >= lt || t[p] == '#')
      return rs_fail(err, RS_E_INPUT, EINVAL,
                     "line %zu: %s is not a scalar", line, key);
    if (t[p] == '|' || t[p] == '>' || t[p] == '{' || t[p] == '[' ||
        t[p] == '&' || t[p] == '*' || t[p] == '!')
      return rs_fail(err, RS_E_INPUT, EINVAL,
                     "line %zu: %s: unsupported YAML value", line, key);
    if (value_span(t, p, lt, &e, line, err) < 0) return -1;
    ret->v_s = p;
    ret->v_e = e;
    ret->line = line;
    /* later duplicates are an error in YAML; the first one counts here */
    return 1;
  }
  *ret_doc_end = len;
  return 0;
}

static char *decode(const char *s, size_t n) {
  char *r = malloc(n + 1);
  if (!r) return NULL;
  size_t o = 0;
  if (n >= 2 && s[0] == '"') {
    for (size_t i = 1; i + 1 < n; i++) {
      if (s[i] == '\\' && i + 2 < n) {
        i++;
        r[o++] = s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
      } else {
        r[o++] = s[i];
      }
    }
  } else if (n >= 2 && s[0] == '\'') {
    for (size_t i = 1; i + 1 < n; i++) {
      r[o++] = s[i];
      if (s[i] == '\'' && i + 2 < n && s[i + 1] == '\'') i++;
    }
  } else {
    memcpy(r, s, n);
    o = n;
  }
  r[o] = '\0';
  return r;
}

int rs_kyaml_get(const char *text, size_t len, const char *key, char **ret,
                 rs_err_t *err) {
  if (len > RS_KYAML_MAX_SIZE)
    return rs_fail(err, RS_E_LIMIT, EFBIG, "YAML larger than %zu bytes",
                   RS_KYAML_MAX_SIZE);
  struct kline k;
  size_t doc_end;
  int f = find_key(text, len, key, &k, &doc_end, err);
  if (f < 0) return -1;
  if (f == 0) {
    *ret = NULL;
    return 0;
  }
  char *v = decode(text + k.v_s, k.v_e - k.v_s);
  if (!v) return rs_oom(err);
  *ret = v;
  return 0;
}

static bool plain_ok(const char *v) {
  if (!*v) return false;
  for (const char *p = v; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("/:._-+@=", *p)) return false;
  return isalnum((unsigned char)v[0]) || v[0] == '/';
}

static int put_scalar(rs_buf_t *b, const char *v, rs_err_t *err) {
  if (plain_ok(v) && strcmp(v, "true") != 0 && strcmp(v, "false") != 0 &&
      strcmp(v, "null") != 0)
    return rs_buf_puts(b, v, err);
  if (rs_buf_puts(b, "\"", err) < 0) return -1;
  for (const char *p = v; *p; p++) {
    if (*p == '\n' || (unsigned char)*p < 0x20)
      return rs_fail(err, RS_E_INPUT, EINVAL, "control character in value");
    if ((*p == '"' || *p == '\\') && rs_buf_puts(b, "\\", err) < 0) return -1;
    if (rs_buf_append(b, p, 1, err) < 0) return -1;
  }
  return rs_buf_puts(b, "\"", err);
}

int rs_kyaml_set(const char *text, size_t len, const char *key,
                 const char *value, char **ret, char ***changes,
                 rs_err_t *err) {
  if (len > RS_KYAML_MAX_SIZE)
    return rs_fail(err, RS_E_LIMIT, EFBIG, "YAML larger than %zu bytes",
                   RS_KYAML_MAX_SIZE);
  struct kline k;
  size_t doc_end = len;
  int f = find_key(text, len, key, &k, &doc_end, err);
  if (f < 0) return -1;
  _cleanup_buf_ rs_buf_t out = RS_BUF_INIT(RS_KYAML_MAX_SIZE * 2);
  _cleanup_free_ char *old = NULL;
  if (f == 1) {
    old = decode(text + k.v_s, k.v_e - k.v_s);
    if (!old) return rs_oom(err);
    if (strcmp(old, value) == 0) {
      *ret = strndup(text, len);
      return *ret ? 0 : rs_oom(err);
    }
    if (rs_buf_append(&out, text, k.v_s, err) < 0 ||
        put_scalar(&out, value, err) < 0 ||
        rs_buf_append(&out, text + k.v_e, len - k.v_e, err) < 0)
      return -1;
  } else {
    if (rs_buf_append(&out, text, doc_end, err) < 0) return -1;
    if (doc_end > 0 && text[doc_end - 1] != '\n' &&
        rs_buf_puts(&out, "\n", err) < 0)
      return -1;
    if (rs_buf_printf(&out, err, "%s: ", key) < 0 ||
        put_scalar(&out, value, err) < 0 || rs_buf_puts(&out, "\n", err) < 0 ||
        rs_buf_append(&out, text + doc_end, len - doc_end, err) < 0)
      return -1;
  }
  if (changes) {
    char *c = old ? rs_strdup_printf("%s: %s -> %s", key, old, value)
                  : rs_strdup_printf("%s: added %s", key, value);
    if (rs_strv_consume(changes, c, err) < 0) return -1;
  }
  *ret = rs_buf_steal(&out, NULL);
  return 0;
}
