/* The text formats of log collectors' configurations, read into JSON trees
 * (see check_int.h): fluent-bit's classic format, fluentd's directives,
 * the TOML subset vector's files use, YAML and JSON.  Each reader is
 * bounded by lines, line length, nesting and items, and gives up (ret
 * NULL) on text it cannot read rather than guess. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/check.h"
#include "check_int.h"

/* ---- lines ---- */

struct reader {
  const char *p, *end;
  size_t line;  /* the line last returned, 1-based */
  size_t items; /* values stored so far */
};

/* Strict UTF-8 (no overlong forms, no surrogates, nothing past
 * U+10FFFF), as jansson wants its strings. */
static bool utf8_valid(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
    if (k == 4 || i + k >= n + (k == 0)) return false;
    unsigned cp = k == 0 ? c : c & (0x3f >> k);
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (s[i + j] & 0x3f);
    }
    static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += k + 1;
  }
  return true;
}

/* false: not text we read (over the size bound counts as cut, not bad) */
static bool reader_init(struct reader *r, const char *text, size_t len) {
  if (len > RS_CONF_MAX_BYTES) len = RS_CONF_MAX_BYTES;
  *r = (struct reader){.p = text, .end = text + len};
  return utf8_valid((const unsigned char *)text, len);
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* The next line without its leading and trailing blanks: 1, 0 at the end,
 * -1 for a line over RS_CONF_MAX_LINE or holding a NUL (not a text file). */
static int next_line(struct reader *r, const char **ret, size_t *ret_len) {
  if (r->p >= r->end) return 0;
  const char *s = r->p;
  const char *nl = memchr(s, '\n', (size_t)(r->end - s));
  const char *e = nl ? nl : r->end;
  r->p = nl ? nl + 1 : r->end;
  r->line++;
  if ((size_t)(e - s) > RS_CONF_MAX_LINE || memchr(s, '\0', (size_t)(e - s))) return -1;
  while (s < e && blank(*s)) s++;
  while (e > s && blank(e[-1])) e--;
  *ret = s;
  *ret_len = (size_t)(e - s);
  return 1;
}

static size_t word_len(const char *s, size_t n) {
  size_t k = 0;
  while (k < n && !blank(s[k])) k++;
  return k;
}

static const char *skip_blanks(const char *s, const char *e) {
  while (s < e && blank(*s)) s++;
  return s;
}

static char *lower_dup(const char *s, size_t n) {
  char *d = strndup(s, n);
  for (size_t i = 0; d && d[i]; i++) d[i] = (char)tolower((unsigned char)d[i]);
  return d;
}

/* Store key: value with its line on obj (and count it).  Keys starting
 * with "__" would pass for our own fields: skipped.  -1 on OOM, 1 when
 * over RS_CONF_MAX_ITEMS. */
static int put(struct reader *r, json_t *obj, const char *key, json_t *val) {
  if (!val) return -1;
  if (rs_startswith(key, "__")) {
    json_decref(val);
    return 0;
  }
  if (++r->items > RS_CONF_MAX_ITEMS) {
    json_decref(val);
    return 1;
  }
  json_t *lines = json_object_get(obj, "__lines");
  if (json_object_set_new(obj, key, val) < 0) return -1;
  if (lines && json_object_set_new(lines, key, json_integer((json_int_t)r->line)) < 0) return -1;
  return 0;
}

static json_t *new_block(struct reader *r) {
  return json_pack("{s:I, s:{}}", "__line", (json_int_t)r->line, "__lines");
}

/* What the readers return: 0 with *ret (NULL: not readable), or -1. */
static int done(json_t *tree, int rc, json_t **ret, rs_err_t *err) {
  if (rc < 0) {
    json_decref(tree);
    return rs_oom(err);
  }
  *ret = rc == 0 ? tree : NULL;
  if (rc != 0) json_decref(tree);
  return 0;
}

/* ---- fluent-bit, classic ---- */

static int fluentbit(struct reader *r, json_t *sections) {
  json_t *cur = NULL;
  const char *s;
  size_t n;
  int k;
  while ((k = next_line(r, &s, &n)) > 0) {
    if (n == 0 || s[0] == '#' || s[0] == '@') continue;
    if (s[0] == '[') {
      if (n < 3 || s[n - 1] != ']' || n > 66) return 1;
      const char *a = skip_blanks(s + 1, s + n - 1), *b = s + n - 1;
      while (b > a && blank(b[-1])) b--;
      _cleanup_free_ char *name = lower_dup(a, (size_t)(b - a));
      if (!name) return -1;
      cur = new_block(r);
      if (!cur || json_object_set_new(cur, "__section", json_string(name)) < 0 ||
          json_array_append_new(sections, cur) < 0)
        return -1;
      if (++r->items > RS_CONF_MAX_ITEMS) return 1;
      continue;
    }
    if (!cur) return 1; /* a value before any section: not this format */
    size_t kl = word_len(s, n);
    if (kl > 256) return 1;
    _cleanup_free_ char *key = lower_dup(s, kl);
    const char *v = skip_blanks(s + kl, s + n);
    if (!key) return -1;
    int rc = put(r, cur, key, json_stringn(v, (size_t)(s + n - v)));
    if (rc) return rc;
  }
  return k < 0 ? 1 : 0;
}

int rs_conf_read_fluentbit(const char *text, size_t len, json_t **ret, rs_err_t *err) {
  struct reader r;
  *ret = NULL;
  if (!reader_init(&r, text, len)) return 0;
  json_t *sections = json_array();
  if (!sections) return rs_oom(err);
  int rc = fluentbit(&r, sections);
  if (rc == 0 && json_array_size(sections) == 0) rc = 1;
  return done(sections, rc, ret, err);
}

/* ---- fluentd ---- */

/* "value" or 'value' without the quotes; anything else as it is */
static json_t *unquoted(const char *v, size_t n) {
  if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) return json_stringn(v + 1, n - 2);
  return json_stringn(v, n);
}

static int fluentd(struct reader *r, json_t *root) {
  json_t *stack[RS_CONF_MAX_DEPTH + 1];
  size_t depth = 0;
  stack[0] = root;
  const char *s;
  size_t n;
  int k;
  while ((k = next_line(r, &s, &n)) > 0) {
    if (n == 0 || s[0] == '#') continue;
    if (s[0] == '<') {
      if (n < 3 || s[n - 1] != '>') return 1;
      bool closing = s[1] == '/';
      const char *a = skip_blanks(s + 1 + closing, s + n - 1), *e = s + n - 1;
      size_t wl = word_len(a, (size_t)(e - a));
      if (wl == 0 || wl > 64) return 1;
      if (closing) {
        const char *open = json_string_value(json_object_get(stack[depth], "__directive"));
        if (depth == 0 || !open || strlen(open) != wl || memcmp(open, a, wl) != 0) return 1;
        depth--;
        continue;
      }
      if (depth == RS_CONF_MAX_DEPTH) return 1;
      const char *arg = skip_blanks(a + wl, e);
      while (e > arg && blank(e[-1])) e--;
      json_t *d = new_block(r);
      json_t *kids = json_object_get(stack[depth], "__children");
      if (!d || json_object_set_new(d, "__directive", json_stringn(a, wl)) < 0 ||
          json_object_set_new(d, "__arg", json_stringn(arg, (size_t)(e - arg))) < 0 ||
          json_object_set_new(d, "__children", json_array()) < 0 || !kids ||
          json_array_append_new(kids, d) < 0)
        return -1;
      if (++r->items > RS_CONF_MAX_ITEMS) return 1;
      stack[++depth] = d;
      continue;
    }
    if (n >= 8 && memcmp(s, "@include", 8) == 0) continue; /* lines are not NUL-terminated */
    size_t kl = word_len(s, n);
    if (kl > 256) return 1;
    _cleanup_free_ char *key = strndup(s, kl);
    const char *v = skip_blanks(s + kl, s + n);
    if (!key) return -1;
    int rc = put(r, stack[depth], key, unquoted(v, (size_t)(s + n - v)));
    if (rc) return rc;
  }
  return k < 0 ? 1 : 0;
}

int rs_conf_read_fluentd(const char *text, size_t len, json_t **ret, rs_err_t *err) {
  struct reader r;
  *ret = NULL;
  if (!reader_init(&r, text, len)) return 0;
  json_t *root = json_pack("{s:[], s:{}}", "__children", "__lines");
  if (!root) return rs_oom(err);
  int rc = fluentd(&r, root);
  if (rc == 0 && json_array_size(json_object_get(root, "__children")) == 0) rc = 1;
  return done(root, rc, ret, err);
}

/* ---- TOML (vector) ---- */

/* One key or table-path segment at *p: bare, "basic" or 'literal'.  Moves
 * *p past it; NULL on a malformed one (errno-free: the caller gives up). */
static char *toml_segment(const char **p, const char *e) {
  const char *s = skip_blanks(*p, e);
  if (s < e && (*s == '"' || *s == '\'')) {
    const char *q = memchr(s + 1, *s, (size_t)(e - s - 1));
    if (!q) return NULL;
    *p = q + 1;
    return strndup(s + 1, (size_t)(q - s - 1));
  }
  const char *b = s;
  while (b < e && (isalnum((unsigned char)*b) || *b == '_' || *b == '-')) b++;
  if (b == s) return NULL;
  *p = b;
  return strndup(s, (size_t)(b - s));
}

/* Walk (creating) the dotted path s..e from obj; the last segment of an
 * [[array]] header appends a new object.  NULL: malformed or not a table
 * (*oom set when memory ran out). */
static json_t *toml_walk(struct reader *r, json_t *obj, const char *s, const char *e, bool array,
                         bool *oom) {
  for (int i = 0; i < RS_CONF_MAX_DEPTH; i++) {
    _cleanup_free_ char *seg = toml_segment(&s, e);
    if (!seg) return NULL;
    s = skip_blanks(s, e);
    bool last = s == e;
    if (!last && *s++ != '.') return NULL;
    json_t *next = json_object_get(obj, seg);
    if (last && array) {
      if (!next) {
        if (json_object_set_new(obj, seg, json_array()) < 0) goto oom;
        next = json_object_get(obj, seg);
      }
      if (!json_is_array(next)) return NULL;
      json_t *t = new_block(r);
      if (!t || json_array_append_new(next, t) < 0) goto oom;
      return ++r->items > RS_CONF_MAX_ITEMS ? NULL : t;
    }
    if (json_is_array(next)) next = json_array_get(next, json_array_size(next) - 1);
    if (!next) {
      if (rs_startswith(seg, "__")) return NULL;
      next = new_block(r);
      if (!next || json_object_set_new(obj, seg, next) < 0) goto oom;
      if (++r->items > RS_CONF_MAX_ITEMS) return NULL;
    }
    if (!json_is_object(next)) return NULL;
    if (last) return next;
    obj = next;
  }
  return NULL;
oom:
  *oom = true;
  return NULL;
}

/* A quoted string at s (s[0] is the quote); *end past it.  Basic strings
 * keep their escapes undone for \" \\ \n \t only. */
static json_t *toml_string(const char *s, const char *e, const char **end) {
  char q = s[0];
  _cleanup_free_ char *out = malloc((size_t)(e - s) + 1);
  if (!out) return NULL;
  size_t n = 0;
  for (const char *p = s + 1; p < e; p++) {
    if (*p == q) {
      *end = p + 1;
      return json_stringn(out, n);
    }
    if (q == '"' && *p == '\\' && p + 1 < e) {
      p++;
      out[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
    } else {
      out[n++] = *p;
    }
  }
  *end = NULL;
  return json_null(); /* unterminated: the caller gives up */
}

/* An array of scalars on one line (vector writes include = ["..", ".."]);
 * other shapes are kept as their text. */
static json_t *toml_array(const char *s, const char *e) {
  json_t *a = json_array();
  const char *p = s + 1;
  while (a) {
    p = skip_blanks(p, e);
    if (p < e && *p == ']') return a;
    if (p < e && (*p == '"' || *p == '\'')) {
      const char *end;
      json_t *v = toml_string(p, e, &end);
      if (!v || !end) {
        json_decref(v);
        json_decref(a);
        return v ? json_stringn(s, (size_t)(e - s)) : NULL;
      }
      if (json_array_append_new(a, v) < 0) break;
      p = skip_blanks(end, e);
      if (p < e && *p == ',') p++;
      continue;
    }
    json_decref(a);
    return json_stringn(s, (size_t)(e - s));
  }
  json_decref(a);
  return NULL;
}

static int toml(struct reader *r, json_t *root) {
  json_t *cur = root;
  const char *s;
  size_t n;
  int k;
  while ((k = next_line(r, &s, &n)) > 0) {
    if (n == 0 || s[0] == '#') continue;
    const char *e = s + n;
    if (s[0] == '[') {
      bool array = n > 1 && s[1] == '[';
      const char *a = s + 1 + array, *b = memchr(a, ']', (size_t)(e - a));
      if (!b || (array && (b + 1 >= e || b[1] != ']'))) return 1;
      bool oom = false;
      cur = toml_walk(r, root, a, b, array, &oom);
      if (!cur) return oom ? -1 : 1;
      continue;
    }
    const char *eq = memchr(s, '=', n);
    if (!eq) return 1;
    /* dotted keys: a.b = v sets b in table a */
    const char *kend = eq;
    while (kend > s && blank(kend[-1])) kend--;
    const char *dot = NULL;
    for (const char *p = s; p < kend; p++)
      if (*p == '.') dot = p;
    json_t *tab = cur;
    const char *ks = s;
    if (dot && s[0] != '"' && s[0] != '\'') {
      bool oom = false;
      tab = toml_walk(r, cur, s, dot, false, &oom);
      if (!tab) return oom ? -1 : 1;
      ks = dot + 1;
    }
    _cleanup_free_ char *key = toml_segment(&ks, kend);
    if (!key) return 1;
    const char *v = skip_blanks(eq + 1, e);
    json_t *val;
    if (v < e && (*v == '"' || *v == '\'')) {
      if (e - v >= 3 && v[1] == v[0] && v[2] == v[0]) return 1; /* multi-line strings: not read */
      const char *end;
      val = toml_string(v, e, &end);
      if (val && !end) {
        json_decref(val);
        return 1;
      }
    } else if (v < e && *v == '[') {
      val = toml_array(v, e);
    } else {
      const char *c = memchr(v, '#', (size_t)(e - v));
      const char *ve = c ? c : e;
      while (ve > v && blank(ve[-1])) ve--;
      val = json_stringn(v, (size_t)(ve - v));
    }
    int rc = put(r, tab, key, val);
    if (rc) return rc;
  }
  return k < 0 ? 1 : 0;
}

int rs_conf_read_toml(const char *text, size_t len, json_t **ret, rs_err_t *err) {
  struct reader r;
  *ret = NULL;
  if (!reader_init(&r, text, len)) return 0;
  json_t *root = json_pack("{s:I, s:{}}", "__line", (json_int_t)1, "__lines");
  if (!root) return rs_oom(err);
  return done(root, toml(&r, root), ret, err);
}

/* ---- YAML ---- */

struct ystack {
  json_t *v[RS_CONF_MAX_DEPTH];
  char *key[RS_CONF_MAX_DEPTH]; /* a mapping's pending key */
  size_t n;
};

/* Put v (consumed) where it belongs: the root, the open sequence, or the
 * open mapping's pending key.  -1 OOM, 1 not readable. */
static int yattach(struct ystack *st, json_t **root, json_t *v) {
  if (!v) return -1;
  if (st->n == 0) {
    if (*root) {
      json_decref(v);
      return 1;
    }
    *root = v;
    return 0;
  }
  json_t *top = st->v[st->n - 1];
  if (json_is_array(top)) return json_array_append_new(top, v) < 0 ? -1 : 0;
  char *key = st->key[st->n - 1];
  st->key[st->n - 1] = NULL;
  if (!key) { /* a mapping or sequence as a key */
    json_decref(v);
    return 1;
  }
  int rc = json_object_set_new(top, key, v) < 0 ? -1 : 0;
  free(key);
  return rc;
}

static int yaml_walk(yaml_parser_t *p, json_t **root) {
  struct ystack st = {.n = 0};
  size_t items = 0;
  int rc = 0;
  bool in_doc = false;
  while (rc == 0) {
    yaml_event_t ev;
    if (!yaml_parser_parse(p, &ev)) {
      rc = p->error == YAML_MEMORY_ERROR ? -1 : 1;
      break;
    }
    yaml_event_type_t t = ev.type;
    if (++items > RS_CONF_MAX_ITEMS) rc = 1;
    else if (t == YAML_STREAM_END_EVENT || (t == YAML_DOCUMENT_START_EVENT && in_doc)) {
      yaml_event_delete(&ev);
      break;
    } else if (t == YAML_DOCUMENT_START_EVENT) {
      in_doc = true;
    } else if (t == YAML_ALIAS_EVENT) {
      rc = 1; /* aliases could multiply the tree: not read */
    } else if (t == YAML_SCALAR_EVENT) {
      const char *v = (const char *)ev.data.scalar.value;
      size_t vl = ev.data.scalar.length;
      json_t *top = st.n ? st.v[st.n - 1] : NULL;
      if (json_is_object(top) && !st.key[st.n - 1]) {
        if (!(st.key[st.n - 1] = strndup(v, vl))) rc = -1;
      } else {
        rc = yattach(&st, root, json_stringn(v, vl));
      }
    } else if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
      json_t *c = t == YAML_MAPPING_START_EVENT ? json_object() : json_array();
      if (!c) {
        rc = -1;
      } else if (st.n == RS_CONF_MAX_DEPTH) {
        rc = 1;
      } else if ((rc = yattach(&st, root, json_incref(c))) == 0) {
        st.key[st.n] = NULL;
        st.v[st.n++] = c; /* borrowed: the tree holds it */
      }
      json_decref(c);
    } else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
      if (st.n) {
        st.n--;
        free(st.key[st.n]);
        st.key[st.n] = NULL;
      }
    }
    yaml_event_delete(&ev);
  }
  while (st.n) free(st.key[--st.n]);
  return rc;
}

int rs_conf_read_yaml(const char *text, size_t len, json_t **ret, rs_err_t *err) {
  if (len > RS_CONF_MAX_BYTES) len = RS_CONF_MAX_BYTES;
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) return rs_oom(err);
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  json_t *root = NULL;
  int rc = yaml_walk(&p, &root);
  yaml_parser_delete(&p);
  if (rc == 0 && !root) rc = 1;
  return done(root, rc, ret, err);
}

/* ---- JSON ---- */

int rs_conf_read_json(const char *text, size_t len, json_t **ret, rs_err_t *err) {
  if (len > RS_CONF_MAX_BYTES) len = RS_CONF_MAX_BYTES;
  json_error_t je;
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!j && json_error_code(&je) == json_error_out_of_memory) return rs_oom(err);
  *ret = j;
  return 0;
}
