/* Recursive-descent JSON reader with bounds on size, depth and node count. */
#include "helper/json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

struct jp {
  const char *s;
  size_t len, pos;
  size_t nodes;
  rs_err_t *err;
};

static int jfail(struct jp *p, const char *what) {
  return rs_fail(p->err, RS_E_INPUT, EINVAL, "JSON: %s at offset %zu", what,
                 p->pos);
}

static void skip_ws(struct jp *p) {
  while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                             p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
    p->pos++;
}

static int hex4(struct jp *p, unsigned *ret) {
  if (p->len - p->pos < 4) return jfail(p, "short \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p->s[p->pos++];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return jfail(p, "bad \\u escape");
  }
  *ret = v;
  return 0;
}

static int put_utf8(rs_buf_t *b, unsigned cp, rs_err_t *err) {
  unsigned char u[4];
  size_t n;
  if (cp < 0x80) { u[0] = (unsigned char)cp; n = 1; }
  else if (cp < 0x800) { u[0] = (unsigned char)(0xC0 | cp >> 6); u[1] = (unsigned char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) { u[0] = (unsigned char)(0xE0 | cp >> 12); u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); u[2] = (unsigned char)(0x80 | (cp & 0x3F)); n = 3; }
  else { u[0] = (unsigned char)(0xF0 | cp >> 18); u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F)); u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (unsigned char)(0x80 | (cp & 0x3F)); n = 4; }
  return rs_buf_append(b, u, n, err);
}

static int parse_string(struct jp *p, char **ret) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(RS_JSON_MAX_SIZE);
  p->pos++; /* opening quote */
  if (rs_buf_reserve(&b, 0, p->err) < 0) return -1;
  for (;;) {
    if (p->pos >= p->len) return jfail(p, "unterminated string");
    unsigned char c = (unsigned char)p->s[p->pos++];
    if (c == '"') break;
    if (c < 0x20) return jfail(p, "control character in string");
    if (c != '\\') {
      if (rs_buf_append(&b, &c, 1, p->err) < 0) return -1;
      continue;
    }
    if (p->pos >= p->len) return jfail(p, "unterminated escape");
    char e = p->s[p->pos++];
    char o;
    switch (e) {
      case '"': o = '"'; break;
      case '\\': o = '\\'; break;
      case '/': o = '/'; break;
      case 'b': o = '\b'; break;
      case 'f': o = '\f'; break;
      case 'n': o = '\n'; break;
      case 'r': o = '\r'; break;
      case 't': o = '\t'; break;
      case 'u': {
        unsigned cp;
        if (hex4(p, &cp) < 0) return -1;
        if (cp >= 0xD800 && cp < 0xDC00) {
          unsigned lo;
          if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
              p->s[p->pos + 1] != 'u')
            return jfail(p, "lone surrogate");
          p->pos += 2;
          if (hex4(p, &lo) < 0) return -1;
          if (lo < 0xDC00 || lo > 0xDFFF) return jfail(p, "bad surrogate pair");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          return jfail(p, "lone surrogate");
        }
        if (put_utf8(&b, cp, p->err) < 0) return -1;
        continue;
      }
      default: return jfail(p, "bad escape");
    }
    if (rs_buf_append(&b, &o, 1, p->err) < 0) return -1;
  }
  *ret = rs_buf_steal(&b, NULL);
  return *ret ? 0 : rs_oom(p->err);
}

static void node_clear(rs_json_t *j) {
  if (!j) return;
  free(j->str);
  for (size_t i = 0; i < j->n; i++) {
    node_clear(&j->items[i]);
    if (j->keys) free(j->keys[i]);
  }
  free(j->items);
  free(j->keys);
  memset(j, 0, sizeof *j);
}

static int parse_value(struct jp *p, rs_json_t *out, int depth);

static int push_item(struct jp *p, rs_json_t *c, size_t *cap, char *key) {
  if (c->n == *cap) {
    size_t nc = *cap ? *cap * 2 : 4;
    rs_json_t *ni = realloc(c->items, nc * sizeof *ni);
    if (!ni) { free(key); return rs_oom(p->err); }
    c->items = ni;
    if (c->type == RS_J_OBJ) {
      char **nk = realloc(c->keys, nc * sizeof *nk);
      if (!nk) { free(key); return rs_oom(p->err); }
      c->keys = nk;
    }
    *cap = nc;
  }
  memset(&c->items[c->n], 0, sizeof c->items[0]);
  if (c->type == RS_J_OBJ) c->keys[c->n] = key;
  c->n++;
  return 0;
}

static int parse_container(struct jp *p, rs_json_t *out, int depth) {
  bool obj = p->s[p->pos] == '{';
  char close = obj ? '}' : ']';
  out->type = obj ? RS_J_OBJ : RS_J_ARR;
  size_t cap = 0;
  p->pos++;
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == close) {
    p->pos++;
    return 0;
  }
  for (;;) {
    char *key = NULL;
    skip_ws(p);
    if (obj) {
      if (p->pos >= p->len || p->s[p->pos] != '"') return jfail(p, "expected a key");
      if (parse_string(p, &key) < 0) return -1;
      skip_ws(p);
      if (p->pos >= p->len || p->s[p->pos] != ':') {
        free(key);
        return jfail(p, "expected ':'");
      }
      p->pos++;
    }
    if (push_item(p, out, &cap, key) < 0) return -1;
    if (parse_value(p, &out->items[out->n - 1], depth + 1) < 0) return -1;
    skip_ws(p);
    if (p->pos >= p->len) return jfail(p, "unterminated container");
    char c = p->s[p->pos++];
    if (c == close) return 0;
    if (c != ',') return jfail(p, "expected ',' or end of container");
  }
}

static int parse_value(struct jp *p, rs_json_t *out, int depth) {
  if (depth > RS_JSON_MAX_DEPTH) return jfail(p, "nested too deeply");
  if (++p->nodes > RS_JSON_MAX_NODES) return jfail(p, "too many values");
  skip_ws(p);
  if (p->pos >= p->len) return jfail(p, "expected a value");
  char c = p->s[p->pos];
  if (c == '{' || c == '[') return parse_container(p, out, depth);
  if (c == '"') {
    out->type = RS_J_STR;
    return parse_string(p, &out->str);
  }
  static const struct { const char *w; int type; bool b; } words[] = {
      {"true", RS_J_BOOL, true}, {"false", RS_J_BOOL, false}, {"null", RS_J_NULL, false}};
  for (size_t i = 0; i < RS_ARRAY_SIZE(words); i++) {
    size_t wl = strlen(words[i].w);
    if (p->len - p->pos >= wl && memcmp(p->s + p->pos, words[i].w, wl) == 0) {
      out->type = words[i].type;
      out->b = words[i].b;
      p->pos += wl;
      return 0;
    }
  }
  /* number: -?digits[.digits][e[+-]digits] */
  size_t s = p->pos;
  if (p->pos < p->len && p->s[p->pos] == '-') p->pos++;
  size_t d0 = p->pos;
  while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
  if (p->pos == d0) return jfail(p, "unexpected character");
  if (p->pos < p->len && p->s[p->pos] == '.') {
    p->pos++;
    size_t f0 = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    if (p->pos == f0) return jfail(p, "bad number");
  }
  if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
    p->pos++;
    if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
    size_t e0 = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    if (p->pos == e0) return jfail(p, "bad number");
  }
  char tmp[64];
  size_t n = p->pos - s;
  if (n >= sizeof tmp) return jfail(p, "number too long");
  memcpy(tmp, p->s + s, n);
  tmp[n] = '\0';
  out->type = RS_J_NUM;
  out->num = strtod(tmp, NULL);
  return 0;
}

rs_json_t *rs_json_parse(const char *text, size_t len, rs_err_t *err) {
  if (len > RS_JSON_MAX_SIZE) {
    rs_fail(err, RS_E_LIMIT, EFBIG, "JSON larger than %zu bytes", RS_JSON_MAX_SIZE);
    return NULL;
  }
  struct jp p = {text, len, 0, 0, err};
  rs_json_t *root = calloc(1, sizeof *root);
  if (!root) {
    rs_oom(err);
    return NULL;
  }
  /* a UTF-8 byte order mark is tolerated, as Docker does */
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) p.pos = 3;
  if (parse_value(&p, root, 0) < 0) {
    rs_json_free(root);
    return NULL;
  }
  skip_ws(&p);
  if (p.pos != p.len) {
    jfail(&p, "trailing data");
    rs_json_free(root);
    return NULL;
  }
  return root;
}

void rs_json_free(rs_json_t *j) {
  if (!j) return;
  node_clear(j);
  free(j);
}

const rs_json_t *rs_json_get(const rs_json_t *obj, const char *key) {
  if (!obj || obj->type != RS_J_OBJ) return NULL;
  const rs_json_t *found = NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0) found = &obj->items[i];
  return found;
}

const char *rs_json_get_str(const rs_json_t *obj, const char *key) {
  const rs_json_t *v = rs_json_get(obj, key);
  return v && v->type == RS_J_STR ? v->str : NULL;
}

int rs_json_put_str(rs_buf_t *b, const char *s, rs_err_t *err) {
  if (!s) return rs_buf_puts(b, "null", err);
  if (rs_buf_puts(b, "\"", err) < 0) return -1;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    int r;
    switch (*p) {
      case '"': r = rs_buf_puts(b, "\\\"", err); break;
      case '\\': r = rs_buf_puts(b, "\\\\", err); break;
      case '\n': r = rs_buf_puts(b, "\\n", err); break;
      case '\r': r = rs_buf_puts(b, "\\r", err); break;
      case '\t': r = rs_buf_puts(b, "\\t", err); break;
      default:
        if (*p < 0x20) r = rs_buf_printf(b, err, "\\u%04x", *p);
        else r = rs_buf_append(b, p, 1, err);
    }
    if (r < 0) return -1;
  }
  return rs_buf_puts(b, "\"", err);
}
