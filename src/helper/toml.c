/* TOML subset scanner and byte-span editor (see helper/toml.h). */
#include "helper/toml.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"

struct sc {
  const char *t;
  size_t len, pos, line;
  rs_err_t *err;
};

static int sfail(struct sc *s, const char *what) {
  return rs_fail(s->err, RS_E_INPUT, EINVAL, "TOML line %zu: %s", s->line, what);
}

static void skip_blank(struct sc *s) {
  while (s->pos < s->len && (s->t[s->pos] == ' ' || s->t[s->pos] == '\t')) s->pos++;
}

static bool bare_ch(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Skip the rest of a line: spaces, an optional comment, the newline.
 * Anything else is an error. */
static int end_of_line(struct sc *s) {
  skip_blank(s);
  if (s->pos < s->len && s->t[s->pos] == '#')
    while (s->pos < s->len && s->t[s->pos] != '\n') s->pos++;
  if (s->pos < s->len && s->t[s->pos] == '\r') s->pos++;
  if (s->pos >= s->len) return 0;
  if (s->t[s->pos] != '\n') return sfail(s, "unexpected text after value");
  s->pos++;
  s->line++;
  return 0;
}

/* A single-line string starting at s->pos; decoded into *ret if non-NULL. */
/* \uXXXX or \UXXXXXXXX (digits hex digits at s->pos) as UTF-8 into out;
 * the number of bytes, or -1. */
static int scan_unicode_escape(struct sc *s, int digits, char out[4]) {
  unsigned long cp = 0;
  for (int i = 0; i < digits; i++) {
    char h = s->pos < s->len ? s->t[s->pos] : '\0';
    int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
    if (v < 0) return sfail(s, "bad unicode escape");
    cp = cp * 16 + (unsigned long)v;
    s->pos++;
  }
  /* a NUL could not be told from the end of the string in C */
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return sfail(s, "bad unicode escape");
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static int scan_string(struct sc *s, char **ret) {
  char q = s->t[s->pos++];
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(RS_TOML_MAX_SIZE);
  if (ret && rs_buf_reserve(&b, 0, s->err) < 0) return -1;
  for (;;) {
    if (s->pos >= s->len || s->t[s->pos] == '\n') return sfail(s, "unterminated string");
    char c = s->t[s->pos++];
    if (c == q) break;
    if (q == '"' && c == '\\') {
      if (s->pos >= s->len || s->t[s->pos] == '\n') return sfail(s, "bad escape");
      char e = s->t[s->pos++];
      if (e == 'u' || e == 'U') {
        char utf8[4];
        int n = scan_unicode_escape(s, e == 'u' ? 4 : 8, utf8);
        if (n < 0) return -1;
        if (ret && rs_buf_append(&b, utf8, (size_t)n, s->err) < 0) return -1;
        continue;
      }
      c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e;
    }
    if (ret && rs_buf_append(&b, &c, 1, s->err) < 0) return -1;
  }
  if (ret) *ret = rs_buf_steal(&b, NULL);
  return 0;
}

static int scan_ml_string(struct sc *s) {
  char q = s->t[s->pos];
  s->pos += 3;
  for (;;) {
    if (s->pos >= s->len) return sfail(s, "unterminated multi-line string");
    char c = s->t[s->pos];
    if (c == '\n') s->line++;
    if (q == '"' && c == '\\') {
      s->pos += 2;
      if (s->pos <= s->len && s->t[s->pos - 1] == '\n') s->line++;
      continue;
    }
    if (c == q && s->len - s->pos >= 3 && s->t[s->pos + 1] == q && s->t[s->pos + 2] == q) {
      s->pos += 3;
      /* up to two more quotes belong to the content */
      for (int i = 0; i < 2 && s->pos < s->len && s->t[s->pos] == q; i++) s->pos++;
      return 0;
    }
    s->pos++;
  }
}

/* Arrays and inline tables: balanced brackets, strings and comments. */
static int scan_nested(struct sc *s, int depth) {
  char open = s->t[s->pos], close = open == '[' ? ']' : '}';
  if (depth > RS_TOML_MAX_DEPTH) return sfail(s, "nested too deeply");
  s->pos++;
  for (;;) {
    if (s->pos >= s->len) return sfail(s, "unterminated array or table");
    char c = s->t[s->pos];
    if (c == close) {
      s->pos++;
      return 0;
    }
    if (c == '\n') {
      s->line++;
      s->pos++;
    } else if (c == '#') {
      while (s->pos < s->len && s->t[s->pos] != '\n') s->pos++;
    } else if (c == '"' || c == '\'') {
      if (s->len - s->pos >= 3 && s->t[s->pos + 1] == c && s->t[s->pos + 2] == c) {
        if (scan_ml_string(s) < 0) return -1;
      } else if (scan_string(s, NULL) < 0) {
        return -1;
      }
    } else if (c == '[' || c == '{') {
      if (scan_nested(s, depth + 1) < 0) return -1;
    } else if (c == ']' || c == '}') {
      return sfail(s, "mismatched bracket");
    } else {
      s->pos++;
    }
  }
}

static int scan_value(struct sc *s, size_t *ret_vs, size_t *ret_ve, bool *ret_inline) {
  skip_blank(s);
  if (s->pos >= s->len || s->t[s->pos] == '\n' || s->t[s->pos] == '#')
    return sfail(s, "missing value");
  *ret_vs = s->pos;
  *ret_inline = false;
  char c = s->t[s->pos];
  if (c == '"' || c == '\'') {
    if (s->len - s->pos >= 3 && s->t[s->pos + 1] == c && s->t[s->pos + 2] == c) {
      if (scan_ml_string(s) < 0) return -1;
    } else if (scan_string(s, NULL) < 0) {
      return -1;
    }
  } else if (c == '[' || c == '{') {
    *ret_inline = c == '{';
    if (scan_nested(s, 0) < 0) return -1;
  } else {
    /* numbers, booleans, dates; a local date-time may hold one space */
    size_t st = s->pos;
    while (s->pos < s->len && !isspace((unsigned char)s->t[s->pos]) &&
           s->t[s->pos] != '#' && s->t[s->pos] != ',')
      s->pos++;
    if (s->pos - st == 10 && s->t[st + 4] == '-' && s->len - s->pos > 1 &&
        s->t[s->pos] == ' ' && isdigit((unsigned char)s->t[s->pos + 1])) {
      s->pos++;
      while (s->pos < s->len && !isspace((unsigned char)s->t[s->pos]) && s->t[s->pos] != '#')
        s->pos++;
    }
  }
  *ret_ve = s->pos;
  return 0;
}

/* A dotted key; stops before '=' or ']'. */
static int scan_key(struct sc *s, char ***path) {
  for (;;) {
    skip_blank(s);
    if (s->pos >= s->len) return sfail(s, "missing key");
    char c = s->t[s->pos];
    char *seg = NULL;
    if (c == '"' || c == '\'') {
      if (scan_string(s, &seg) < 0) return -1;
    } else {
      size_t st = s->pos;
      while (s->pos < s->len && bare_ch(s->t[s->pos])) s->pos++;
      if (s->pos == st) return sfail(s, "bad key");
      seg = strndup(s->t + st, s->pos - st);
    }
    if (rs_strv_len(*path) >= RS_TOML_MAX_DEPTH) {
      free(seg);
      return sfail(s, "key too deep");
    }
    if (rs_strv_consume(path, seg, s->err) < 0) return -1;
    skip_blank(s);
    if (s->pos < s->len && s->t[s->pos] == '.') {
      s->pos++;
      continue;
    }
    return 0;
  }
}

static bool path_prefix(char *const *pre, char *const *p) {
  size_t i = 0;
  for (; pre[i]; i++)
    if (!p[i] || strcmp(pre[i], p[i]) != 0) return false;
  return true;
}

static bool path_eq(char *const *a, const char *const *b) {
  size_t i = 0;
  for (; a[i] && b[i]; i++)
    if (strcmp(a[i], b[i]) != 0) return false;
  return !a[i] && !b[i];
}

static int push_entry(struct rs_toml *d, size_t *cap, struct rs_toml_entry *e,
                      rs_err_t *err) {
  if (d->n >= RS_TOML_MAX_ENTRIES)
    return rs_fail(err, RS_E_LIMIT, E2BIG, "TOML: more than %d entries",
                   RS_TOML_MAX_ENTRIES);
  if (d->n == *cap) {
    size_t nc = *cap ? *cap * 2 : 32;
    struct rs_toml_entry *ne = realloc(d->e, nc * sizeof *ne);
    if (!ne) return rs_oom(err);
    d->e = ne;
    *cap = nc;
  }
  d->e[d->n++] = *e;
  return 0;
}

void rs_toml_free(struct rs_toml *d) {
  for (size_t i = 0; d && i < d->n; i++) rs_strv_free(d->e[i].path);
  if (d) {
    free(d->e);
    d->e = NULL;
    d->n = 0;
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* TOML forbids defining a table or a key twice; an editor that changed
 * only the first of two would leave the file meaning something else. */
static int check_unique(const struct rs_toml *d, rs_err_t *err) {
  char **keys = calloc(d->n + 1, sizeof *keys);
  size_t n = 0;
  int r = keys ? 0 : rs_oom(err);
  for (size_t i = 0; r == 0 && i < d->n; i++) {
    if (d->e[i].array) continue;
    rs_buf_t b = RS_BUF_INIT(RS_TOML_MAX_SIZE);
    r = rs_buf_puts(&b, d->e[i].kind == RS_TOML_HEADER ? "T" : "K", err);
    for (size_t k = 0; r == 0 && d->e[i].path[k]; k++)
      r = rs_buf_printf(&b, err, "\x1f%s", d->e[i].path[k]);
    if (r == 0) keys[n++] = rs_buf_steal(&b, NULL);
    else rs_buf_free(&b);
  }
  if (r == 0) qsort(keys, n, sizeof *keys, cmp_str);
  for (size_t i = 1; r == 0 && i < n; i++)
    if (strcmp(keys[i - 1], keys[i]) == 0) {
      for (char *c = keys[i]; *c; c++)
        if (*c == '\x1f') *c = '.';
      r = rs_fail(err, RS_E_INPUT, EINVAL, "TOML: %s %s defined twice",
                  keys[i][0] == 'T' ? "table" : "key", keys[i] + 2);
    }
  for (size_t i = 0; keys && i < n; i++) free(keys[i]);
  free(keys);
  return r;
}

int rs_toml_scan(const char *t, size_t len, struct rs_toml *ret, rs_err_t *err) {
  if (len > RS_TOML_MAX_SIZE)
    return rs_fail(err, RS_E_LIMIT, EFBIG, "TOML larger than %zu bytes",
                   RS_TOML_MAX_SIZE);
  if (memchr(t, '\0', len))
    return rs_fail(err, RS_E_INPUT, EINVAL, "TOML: NUL byte in file");
  struct sc s = {t, len, 0, 1, err};
  struct rs_toml d = {NULL, 0};
  size_t cap = 0;
  _cleanup_strv_ char **table = rs_strv_new();
  _cleanup_strv_ char **array_root = NULL; /* latest [[x]] */
  bool in_array = false;
  int r = table ? 0 : rs_oom(err);
  while (r == 0 && s.pos < s.len) {
    size_t ls = s.pos;
    skip_blank(&s);
    if (s.pos >= s.len) break;
    char c = t[s.pos];
    if (c == '\n' || c == '\r' || c == '#') {
      r = end_of_line(&s);
      continue;
    }
    struct rs_toml_entry e = {0};
    e.ls = ls;
    e.path = rs_strv_new();
    if (!e.path) {
      r = rs_oom(err);
      break;
    }
    if (c == '[') {
      bool arr = s.pos + 1 < s.len && t[s.pos + 1] == '[';
      s.pos += arr ? 2 : 1;
      r = scan_key(&s, &e.path);
      if (r == 0 && (s.pos >= s.len || t[s.pos] != ']')) r = sfail(&s, "expected ']'");
      if (r == 0) s.pos++;
      if (r == 0 && arr && (s.pos >= s.len || t[s.pos++] != ']'))
        r = sfail(&s, "expected ']]'");
      if (r == 0) r = end_of_line(&s);
      if (r < 0) {
        rs_strv_free(e.path);
        break;
      }
      e.kind = RS_TOML_HEADER;
      if (arr) {
        rs_strv_free(array_root);
        array_root = rs_strv_new();
        for (size_t i = 0; r == 0 && e.path[i]; i++)
          r = rs_strv_push(&array_root, e.path[i], err);
        in_array = true;
      } else {
        in_array = array_root && path_prefix(array_root, e.path);
      }
      e.array = in_array;
      rs_strv_free(table);
      table = rs_strv_new();
      for (size_t i = 0; r == 0 && e.path[i]; i++) r = rs_strv_push(&table, e.path[i], err);
    } else {
      for (size_t i = 0; r == 0 && table[i]; i++) r = rs_strv_push(&e.path, table[i], err);
      size_t before = rs_strv_len(e.path);
      if (r == 0) r = scan_key(&s, &e.path);
      if (r == 0 && (s.pos >= s.len || t[s.pos] != '=')) r = sfail(&s, "expected '='");
      if (r == 0) {
        s.pos++;
        e.kind = RS_TOML_KV;
        e.nkey = rs_strv_len(e.path) - before;
        e.array = in_array;
        r = scan_value(&s, &e.vs, &e.ve, &e.inline_tbl);
      }
      if (r == 0) r = end_of_line(&s);
    }
    e.le = s.pos;
    if (r == 0) r = push_entry(&d, &cap, &e, err);
    if (r < 0) rs_strv_free(e.path);
  }
  if (r == 0) r = check_unique(&d, err);
  if (r < 0) {
    rs_toml_free(&d);
    return -1;
  }
  *ret = d;
  return 0;
}

static struct rs_toml_entry *find_kv(struct rs_toml *d, const char *const *path) {
  for (size_t i = 0; i < d->n; i++)
    if (d->e[i].kind == RS_TOML_KV && !d->e[i].array && path_eq(d->e[i].path, path))
      return &d->e[i];
  return NULL;
}

int rs_toml_get_raw(const char *t, size_t len, const char *const *path,
                    char **ret, rs_err_t *err) {
  struct rs_toml d;
  if (rs_toml_scan(t, len, &d, err) < 0) return -1;
  struct rs_toml_entry *e = find_kv(&d, path);
  char *v = e ? strndup(t + e->vs, e->ve - e->vs) : NULL;
  bool oom = e && !v;
  rs_toml_free(&d);
  if (oom) return rs_oom(err);
  *ret = v;
  return 0;
}

int rs_toml_decode_str(const char *raw, char **ret, rs_err_t *err) {
  struct sc s = {raw, strlen(raw), 0, 1, err};
  if (!s.len || (raw[0] != '"' && raw[0] != '\''))
    return rs_fail(err, RS_E_INPUT, EINVAL, "TOML: not a string: %s", raw);
  if (s.len >= 3 && raw[1] == raw[0] && raw[2] == raw[0])
    return rs_fail(err, RS_E_INPUT, EINVAL, "TOML: multi-line string not supported here");
  char *v = NULL;
  if (scan_string(&s, &v) < 0) return -1;
  *ret = v;
  return 0;
}

int rs_toml_decode_str_array(const char *raw, char ***ret, rs_err_t *err) {
  struct sc s = {raw, strlen(raw), 0, 1, err};
  if (!s.len || raw[0] != '[')
    return rs_fail(err, RS_E_INPUT, EINVAL, "TOML: not an array: %s", raw);
  _cleanup_strv_ char **v = rs_strv_new();
  if (!v) return rs_oom(err);
  s.pos = 1;
  for (;;) {
    while (s.pos < s.len && (isspace((unsigned char)raw[s.pos]) || raw[s.pos] == ',')) s.pos++;
    if (s.pos < s.len && raw[s.pos] == '#') {
      while (s.pos < s.len && raw[s.pos] != '\n') s.pos++;
      continue;
    }
    if (s.pos >= s.len) return sfail(&s, "unterminated array");
    if (raw[s.pos] == ']') break;
    if (raw[s.pos] != '"' && raw[s.pos] != '\'')
      return sfail(&s, "array of strings expected");
    char *item = NULL;
    if (scan_string(&s, &item) < 0) return -1;
    if (rs_strv_consume(&v, item, err) < 0) return -1;
  }
  *ret = TAKE_PTR(v);
  return 0;
}

/* TOML basic strings allow no raw control character (but tab): they are
 * escaped, as a TOML reader (containerd's, CRI-O's) requires. */
char *rs_toml_quote(const char *s) {
  rs_buf_t b = RS_BUF_INIT(RS_TOML_MAX_SIZE);
  int r = rs_buf_puts(&b, "\"", NULL);
  for (const char *p = s; r == 0 && *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') r = rs_buf_printf(&b, NULL, "\\%c", c);
    else if (c == '\n') r = rs_buf_puts(&b, "\\n", NULL);
    else if (c == '\r') r = rs_buf_puts(&b, "\\r", NULL);
    else if (c == '\t') r = rs_buf_puts(&b, "\\t", NULL);
    else if (c < 0x20 || c == 0x7f) r = rs_buf_printf(&b, NULL, "\\u%04X", c);
    else r = rs_buf_append(&b, p, 1, NULL);
  }
  if (r == 0) r = rs_buf_puts(&b, "\"", NULL);
  if (r < 0) {
    rs_buf_free(&b);
    return NULL;
  }
  return rs_buf_steal(&b, NULL);
}

static int put_key_seg(rs_buf_t *b, const char *seg, rs_err_t *err) {
  bool bare = *seg != '\0';
  for (const char *p = seg; *p; p++)
    if (!bare_ch(*p)) bare = false;
  if (bare) return rs_buf_puts(b, seg, err);
  _cleanup_free_ char *q = rs_toml_quote(seg);
  if (!q) return rs_oom(err);
  return rs_buf_puts(b, q, err);
}

static int splice(const char *t, size_t len, size_t s, size_t e, const char *ins,
                  char **ret, rs_err_t *err) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(RS_TOML_MAX_SIZE * 2);
  if (rs_buf_append(&b, t, s, err) < 0 || rs_buf_puts(&b, ins, err) < 0 ||
      rs_buf_append(&b, t + e, len - e, err) < 0)
    return -1;
  *ret = rs_buf_steal(&b, NULL);
  return 0;
}

static size_t table_len(const char *const *table) {
  size_t n = 0;
  while (table[n]) n++;
  return n;
}

int rs_toml_set(const char *t, size_t len, const char *const *table,
                const char *key, const char *raw, char **ret, rs_err_t *err) {
  struct rs_toml d;
  if (rs_toml_scan(t, len, &d, err) < 0) return -1;
  size_t tn = table_len(table);
  const char **full = calloc(tn + 2, sizeof *full);
  if (!full) {
    rs_toml_free(&d);
    return rs_oom(err);
  }
  for (size_t i = 0; i < tn; i++) full[i] = table[i];
  full[tn] = key;
  int r = 0;
  _cleanup_buf_ rs_buf_t ins = RS_BUF_INIT(RS_TOML_MAX_SIZE);
  struct rs_toml_entry *kv = find_kv(&d, full);
  if (kv) {
    r = splice(t, len, kv->vs, kv->ve, raw, ret, err);
    goto out;
  }
  /* A value inside an inline table or an array of tables: refuse. */
  for (size_t i = 0; i < d.n; i++) {
    struct rs_toml_entry *e = &d.e[i];
    bool pre = true;
    for (size_t k = 0; pre && e->path[k]; k++)
      pre = k <= tn && strcmp(e->path[k], full[k]) == 0;
    if (pre && ((e->kind == RS_TOML_KV && e->inline_tbl) || e->array)) {
      r = rs_fail(err, RS_E_INPUT, ENOTSUP,
                  "TOML line: %s is inside an inline table or array of tables; "
                  "not edited", key);
      goto out;
    }
  }
  /* Where the table's own lines end: after its header, before the next. */
  size_t at = len;
  bool have_table = false;
  const char *indent = "";
  size_t indent_len = 0;
  if (tn == 0) {
    have_table = true;
    at = 0;
    for (size_t i = 0; i < d.n; i++) {
      if (d.e[i].kind == RS_TOML_HEADER) {
        if (i == 0) at = d.e[i].ls;
        break;
      }
      at = d.e[i].le;
    }
  } else {
    for (size_t i = 0; i < d.n; i++) {
      if (d.e[i].kind != RS_TOML_HEADER || d.e[i].array || !path_eq(d.e[i].path, table))
        continue;
      have_table = true;
      at = d.e[i].le;
      for (size_t k = i + 1; k < d.n && d.e[k].kind == RS_TOML_KV; k++) {
        at = d.e[k].le;
        indent = t + d.e[k].ls;
        indent_len = 0;
        while (indent[indent_len] == ' ' || indent[indent_len] == '\t') indent_len++;
      }
      break;
    }
  }
  if (at > 0 && t[at - 1] != '\n') r = rs_buf_puts(&ins, "\n", err);
  if (r == 0 && !have_table) {
    if (len > 0) r = rs_buf_puts(&ins, "\n", err);
    if (r == 0) r = rs_buf_puts(&ins, "[", err);
    for (size_t i = 0; r == 0 && i < tn; i++) {
      if (i) r = rs_buf_puts(&ins, ".", err);
      if (r == 0) r = put_key_seg(&ins, table[i], err);
    }
    if (r == 0) r = rs_buf_puts(&ins, "]\n", err);
    indent = "  ";
    indent_len = 2;
  }
  if (r == 0) r = rs_buf_append(&ins, indent, indent_len, err);
  if (r == 0) r = put_key_seg(&ins, key, err);
  if (r == 0) r = rs_buf_printf(&ins, err, " = %s\n", raw);
  if (r == 0) r = splice(t, len, at, at, ins.data, ret, err);
out:
  free(full);
  rs_toml_free(&d);
  return r;
}

int rs_toml_delete(const char *t, size_t len, const char *const *table,
                   const char *key, char **ret, rs_err_t *err) {
  struct rs_toml d;
  if (rs_toml_scan(t, len, &d, err) < 0) return -1;
  size_t tn = table_len(table);
  const char **full = calloc(tn + 2, sizeof *full);
  int r = full ? 0 : rs_oom(err);
  if (r == 0) {
    for (size_t i = 0; i < tn; i++) full[i] = table[i];
    full[tn] = key;
    struct rs_toml_entry *kv = find_kv(&d, full);
    if (kv)
      r = splice(t, len, kv->ls, kv->le, "", ret, err);
    else if (!(*ret = strndup(t, len)))
      r = rs_oom(err);
  }
  free(full);
  rs_toml_free(&d);
  return r;
}
