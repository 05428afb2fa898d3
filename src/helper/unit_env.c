/* Environment= and EnvironmentFile= of a systemd service (see unit_env.h). */
#include "helper/unit_env.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"

#define WS " \t\r\n"

int rs_unit_env_init(struct rs_unit_env *e, rs_err_t *err) {
  e->names = rs_strv_new();
  e->values = rs_strv_new();
  e->files = rs_strv_new();
  if (e->names && e->values && e->files) return 0;
  rs_unit_env_free(e);
  return rs_oom(err);
}

void rs_unit_env_free(struct rs_unit_env *e) {
  if (!e) return;
  rs_strv_free(e->names);
  rs_strv_free(e->values);
  rs_strv_free(e->files);
  e->names = e->values = e->files = NULL;
}

const char *rs_unit_env_get(const struct rs_unit_env *e, const char *name) {
  for (size_t i = 0; e->names && e->names[i]; i++)
    if (strcmp(e->names[i], name) == 0) return e->values[i];
  return NULL;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One C escape after a backslash (the escapes systemd's unquoting knows
 * that can appear in an environment value); *p is after the backslash. */
static int unescape(const char **p, rs_buf_t *b, size_t line, rs_err_t *err) {
  static const char from[] = "abfnrtvs\\\"' ", to[] = "\a\b\f\n\r\t\v \\\"' ";
  char c = **p;
  const char *k = c ? strchr(from, c) : NULL;
  if (k) {
    (*p)++;
    return rs_buf_append(b, &to[k - from], 1, err);
  }
  if (c == 'x' && hexval((*p)[1]) >= 0 && hexval((*p)[2]) >= 0) {
    char v = (char)(hexval((*p)[1]) * 16 + hexval((*p)[2]));
    if (v == 0) return rs_fail(err, RS_E_INPUT, EINVAL, "line %zu: \\x00 in a value", line);
    *p += 3;
    return rs_buf_append(b, &v, 1, err);
  }
  return rs_fail(err, RS_E_INPUT, EINVAL, "line %zu: unsupported escape \\%c", line, c ? c : '0');
}

/* The next whitespace-separated word of an assignment, unquoted and
 * unescaped; *ret NULL at the end. */
static int next_word(const char **p, char **ret, size_t line, rs_err_t *err) {
  *ret = NULL;
  *p += strspn(*p, WS);
  if (!**p) return 0;
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(RS_UNIT_MAX_SIZE);
  char quote = 0;
  for (;;) {
    char c = **p;
    if (!c) {
      if (quote) return rs_fail(err, RS_E_INPUT, EINVAL, "line %zu: unterminated quote", line);
      break;
    }
    (*p)++;
    if (!quote && strchr(WS, c)) break;
    if (!quote && (c == '"' || c == '\'')) {
      quote = c;
      continue;
    }
    if (quote && c == quote) {
      quote = 0;
      continue;
    }
    int r = c == '\\' ? unescape(p, &b, line, err) : rs_buf_append(&b, &c, 1, err);
    if (r < 0) return -1;
  }
  if (rs_buf_puts(&b, "", err) < 0) return -1;
  *ret = rs_buf_steal(&b, NULL);
  return 0;
}

static bool env_name_ok(const char *s, size_t n) {
  if (n == 0 || (s[0] >= '0' && s[0] <= '9')) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
      return false;
  return true;
}

int rs_unit_env_set(struct rs_unit_env *e, const char *name, const char *value, rs_err_t *err) {
  for (size_t i = 0; e->names[i]; i++)
    if (strcmp(e->names[i], name) == 0) {
      char *v = strdup(value);
      if (!v) return rs_oom(err);
      free(e->values[i]);
      e->values[i] = v;
      return 0;
    }
  if (rs_strv_len(e->names) >= RS_UNIT_ENV_MAX)
    return rs_fail(err, RS_E_LIMIT, E2BIG, "more than %d environment variables", RS_UNIT_ENV_MAX);
  if (rs_strv_push(&e->names, name, err) < 0) return -1;
  return rs_strv_push(&e->values, value, err);
}

static int env_word(struct rs_unit_env *e, const char *word, rs_err_t *err) {
  const char *eq = strchr(word, '=');
  if (!eq || !env_name_ok(word, (size_t)(eq - word))) return 0; /* systemd ignores it too */
  _cleanup_free_ char *name = strndup(word, (size_t)(eq - word));
  if (!name) return rs_oom(err);
  return rs_unit_env_set(e, name, eq + 1, err);
}

static int assign(void *data, const char *key, const char *value, size_t line, rs_err_t *err) {
  struct rs_unit_env *e = data;
  if (strcmp(key, "Environment") == 0) {
    if (!*value) { /* an empty assignment resets the list */
      rs_strv_free(e->names);
      rs_strv_free(e->values);
      e->names = rs_strv_new();
      e->values = rs_strv_new();
      return e->names && e->values ? 0 : rs_oom(err);
    }
    /* words are checked first: systemd ignores a line it cannot split */
    _cleanup_strv_ char **words = rs_strv_new();
    if (!words) return rs_oom(err);
    for (const char *p = value;;) {
      char *w = NULL;
      if (next_word(&p, &w, line, err) < 0) return -1;
      if (!w) break;
      if (rs_strv_consume(&words, w, err) < 0) return -1;
    }
    for (size_t i = 0; words[i]; i++)
      if (env_word(e, words[i], err) < 0) return -1;
    return 0;
  }
  if (strcmp(key, "EnvironmentFile") == 0) {
    if (!*value) {
      rs_strv_free(e->files);
      e->files = rs_strv_new();
      return e->files ? 0 : rs_oom(err);
    }
    if (rs_strv_len(e->files) >= RS_UNIT_ENV_MAX)
      return rs_fail(err, RS_E_LIMIT, E2BIG, "more than %d environment files", RS_UNIT_ENV_MAX);
    return rs_strv_push(&e->files, value, err);
  }
  return 0;
}

int rs_unit_walk(const char *text, size_t len, rs_unit_assign_fn fn, void *data, rs_err_t *err) {
  if (len > RS_UNIT_MAX_SIZE)
    return rs_fail(err, RS_E_LIMIT, EFBIG, "unit file larger than %zu bytes", RS_UNIT_MAX_SIZE);
  if (memchr(text, '\0', len)) return rs_fail(err, RS_E_INPUT, EINVAL, "NUL byte in a unit file");
  bool service = false;
  size_t line = 0;
  for (size_t pos = 0; pos < len;) {
    /* one logical line: a trailing backslash continues it */
    _cleanup_buf_ rs_buf_t l = RS_BUF_INIT(RS_UNIT_MAX_SIZE);
    size_t first = ++line;
    for (;;) {
      size_t n = 0;
      while (pos + n < len && text[pos + n] != '\n') n++;
      size_t m = n;
      while (m && strchr(WS, text[pos + m - 1])) m--;
      bool cont = m && text[pos + m - 1] == '\\';
      if (rs_buf_append(&l, text + pos, cont ? m - 1 : m, err) < 0) return -1;
      pos += n + (pos + n < len);
      if (!cont || pos >= len) break;
      if (rs_buf_puts(&l, " ", err) < 0) return -1;
      line++;
    }
    if (rs_buf_puts(&l, "", err) < 0) return -1;
    char *s = l.data + strspn(l.data, WS);
    if (!*s || *s == '#' || *s == ';') continue;
    if (*s == '[') {
      char *end = strchr(s, ']');
      if (!end || end[1 + strspn(end + 1, WS)])
        return rs_fail(err, RS_E_INPUT, EINVAL, "line %zu: bad section header", first);
      service = (size_t)(end - s - 1) == strlen("Service") && strncmp(s + 1, "Service", 7) == 0;
      continue;
    }
    char *eq = strchr(s, '=');
    if (!eq || !service) continue; /* systemd ignores a line without '=' */
    char *k_end = eq;
    while (k_end > s && strchr(WS, k_end[-1])) k_end--;
    *k_end = '\0';
    const char *v = eq + 1 + strspn(eq + 1, WS);
    if (fn(data, s, v, first, err) < 0) return -1;
  }
  return 0;
}

int rs_unit_env_read(struct rs_unit_env *e, const char *text, size_t len, rs_err_t *err) {
  return rs_unit_walk(text, len, assign, e, err);
}

int rs_unit_env_dropin(const char *comment, char *const *names, char *const *values,
                       char **ret, rs_err_t *err) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(RS_UNIT_MAX_SIZE);
  if (rs_buf_printf(&b, err, "# %s\n[Service]\n", comment) < 0) return -1;
  for (size_t i = 0; names[i]; i++) {
    if (!env_name_ok(names[i], strlen(names[i])))
      return rs_fail(err, RS_E_INPUT, EINVAL, "%s is not a variable name", names[i]);
    if (rs_buf_printf(&b, err, "Environment=\"%s=", names[i]) < 0) return -1;
    for (const char *p = values[i]; *p; p++) {
      if ((unsigned char)*p < 0x20 || *p == 0x7f)
        return rs_fail(err, RS_E_INPUT, EINVAL, "%s: a control character in its value", names[i]);
      if ((*p == '"' || *p == '\\') && rs_buf_puts(&b, "\\", err) < 0) return -1;
      if (rs_buf_append(&b, p, 1, err) < 0) return -1;
    }
    if (rs_buf_puts(&b, "\"\n", err) < 0) return -1;
  }
  *ret = rs_buf_steal(&b, NULL);
  return 0;
}
