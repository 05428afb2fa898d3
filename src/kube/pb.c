#include "kube/pb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/cleanup.h"

static int varint(struct rs_pb *r, uint64_t *ret) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end) return -1;
    unsigned char b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *ret = v;
      return 0;
    }
  }
  return -1; /* more than ten bytes */
}

int rs_pb_next(struct rs_pb *r, struct rs_pb_field *f) {
  if (r->p >= r->end) return 0;
  uint64_t key;
  if (varint(r, &key) < 0) return -1;
  if (key >> 3 == 0 || key >> 3 > 0x1fffffff) return -1;
  *f = (struct rs_pb_field){.num = (uint32_t)(key >> 3), .wire = (int)(key & 7)};
  switch (f->wire) {
  case RS_PB_VARINT:
    return varint(r, &f->v) < 0 ? -1 : 1;
  case RS_PB_I64:
  case RS_PB_I32: {
    size_t n = f->wire == RS_PB_I64 ? 8 : 4;
    if ((size_t)(r->end - r->p) < n) return -1;
    for (size_t i = 0; i < n; i++) f->v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return 1;
  }
  case RS_PB_LEN: {
    uint64_t len;
    if (varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p)) return -1;
    f->data = r->p;
    f->len = (size_t)len;
    r->p += len;
    return 1;
  }
  default: /* groups (3, 4) are not used by Kubernetes; 6, 7 do not exist */
    return -1;
  }
}

char *rs_pb_strdup(const struct rs_pb_field *f) {
  if (f->wire != RS_PB_LEN || (f->len && memchr(f->data, 0, f->len))) {
    errno = EINVAL;
    return NULL;
  }
  char *s = malloc(f->len + 1);
  if (!s) return NULL;
  if (f->len) memcpy(s, f->data, f->len);
  s[f->len] = '\0';
  return s;
}

bool rs_pb_str_eq(const struct rs_pb_field *f, const char *s) {
  size_t n = strlen(s);
  return f->wire == RS_PB_LEN && f->len == n && (n == 0 || memcmp(f->data, s, n) == 0);
}

bool rs_pb_is_k8s(const void *data, size_t len) {
  return len >= 4 && memcmp(data, RS_PB_MAGIC, 4) == 0;
}

int rs_pb_unwrap(const void *data, size_t len, struct rs_pb *ret_raw, char *kind,
                 size_t kind_len, rs_err_t *err) {
  if (kind && kind_len) kind[0] = '\0';
  if (!rs_pb_is_k8s(data, len))
    return rs_fail(err, RS_E_INPUT, 0, "not a protobuf-encoded Kubernetes object");
  struct rs_pb r = rs_pb_of((const unsigned char *)data + 4, len - 4), tm;
  struct rs_pb_field f, g;
  bool have_raw = false;
  int k;
  while ((k = rs_pb_next(&r, &f)) > 0) {
    if (f.wire != RS_PB_LEN) continue;
    if (f.num == 1 && kind && kind_len) {
      tm = rs_pb_sub(&f);
      while ((k = rs_pb_next(&tm, &g)) > 0)
        if (g.num == 2 && g.wire == RS_PB_LEN) {
          size_t n = g.len < kind_len - 1 ? g.len : kind_len - 1;
          memcpy(kind, g.data, n);
          kind[n] = '\0';
        }
      if (k < 0) break;
    } else if (f.num == 2) {
      *ret_raw = rs_pb_sub(&f);
      have_raw = true;
    } else if (f.num == 3 && f.len) {
      return rs_fail(err, RS_E_INPUT, 0, "protobuf object with a content encoding (%.*s)",
                     (int)(f.len > 32 ? 32 : f.len), (const char *)f.data);
    }
  }
  if (k < 0) return rs_fail(err, RS_E_INPUT, 0, "malformed protobuf object");
  if (!have_raw) return rs_fail(err, RS_E_INPUT, 0, "protobuf object without a body");
  return 0;
}

/* A field header (key and, for LEN, the length) from a prefix: 1 read, 0
 * cut short, -1 malformed.  The value itself may be incomplete. */
static int peek_head(struct rs_pb *r, struct rs_pb_field *f) {
  uint64_t key, len;
  struct rs_pb t = *r;
  int k = varint(&t, &key);
  if (k < 0) return t.p >= t.end ? 0 : -1;
  if (key >> 3 == 0 || (key & 7) != RS_PB_LEN) return -1;
  if (varint(&t, &len) < 0) return t.p >= t.end ? 0 : -1;
  f->num = (uint32_t)(key >> 3);
  f->wire = RS_PB_LEN;
  f->data = t.p;
  f->len = (size_t)len;
  *r = t;
  return 1;
}

int rs_pb_peek_continue(const void *data, size_t len, char **ret) {
  *ret = NULL;
  if (len < 4) return memcmp(data, RS_PB_MAGIC, len) == 0 ? 0 : -1;
  if (!rs_pb_is_k8s(data, len)) return -1;
  struct rs_pb r = rs_pb_of((const unsigned char *)data + 4, len - 4);
  struct rs_pb_field f;
  int k;
  /* typeMeta (1), whole */
  if ((k = peek_head(&r, &f)) <= 0) return k;
  if (f.num != 1) return -1;
  if (f.len > (size_t)(r.end - r.p)) return 0;
  r.p += f.len;
  /* raw (2): only its beginning is needed */
  if ((k = peek_head(&r, &f)) <= 0) return k;
  if (f.num != 2 || f.len == 0) return -1;
  size_t raw_end = f.len;
  /* the list's first field: ListMeta (1), whole */
  if ((k = peek_head(&r, &f)) <= 0) return k;
  if (f.num != 1 || f.len > raw_end) return -1;
  if (f.len > (size_t)(r.end - r.p)) return 0;
  struct rs_pb m = rs_pb_of(r.p, f.len);
  struct rs_pb_field g;
  _cleanup_free_ char *cont = NULL;
  while ((k = rs_pb_next(&m, &g)) > 0) {
    if (g.num != 3 || g.wire != RS_PB_LEN) continue;
    free(cont);
    cont = NULL;
    if (g.len && !(cont = rs_pb_strdup(&g))) return -1;
  }
  if (k < 0) return -1;
  *ret = TAKE_PTR(cont);
  return 1;
}

int rs_pb_status_decode(const void *data, size_t len, struct rs_pb_status *ret) {
  struct rs_pb raw;
  char kind[32];
  *ret = (struct rs_pb_status){0};
  if (rs_pb_unwrap(data, len, &raw, kind, sizeof kind, NULL) < 0 || strcmp(kind, "Status") != 0)
    return -1;
  /* Status: metadata 1, status 2, message 3, reason 4, details 5, code 6 */
  _cleanup_(rs_pb_status_clear) struct rs_pb_status s = {0};
  struct rs_pb_field f;
  int k;
  while ((k = rs_pb_next(&raw, &f)) > 0) {
    char **dst = f.num == 3 ? &s.message : f.num == 4 ? &s.reason : NULL;
    if (dst && f.wire == RS_PB_LEN) {
      free(*dst);
      *dst = rs_pb_strdup(&f);
    } else if (f.num == 6 && f.wire == RS_PB_VARINT) {
      s.code = (int)(int32_t)f.v;
    }
  }
  if (k < 0) return -1;
  *ret = s;
  s = (struct rs_pb_status){0};
  return 0;
}

void rs_pb_status_clear(struct rs_pb_status *s) {
  free(s->message);
  free(s->reason);
  *s = (struct rs_pb_status){0};
}

/* ---- a list read as it arrives ---- */

enum { L_MAGIC, L_HEAD, L_BODY };

/* A varint at p[0..n): 1 read (*used bytes), 0 cut short, -1 over ten
 * bytes. */
static int varint_at(const unsigned char *p, size_t n, uint64_t *ret, size_t *used) {
  uint64_t v = 0;
  for (size_t i = 0; i < 10; i++) {
    if (i >= n) return 0;
    v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    if (!(p[i] & 0x80)) {
      *ret = v;
      *used = i + 1;
      return 1;
    }
  }
  return -1;
}

/* A field's header at p[0..n): its key, and the value of a VARINT or the
 * length of a LEN field; *body: the bytes of the body that follow (a LEN's
 * length, 8 or 4 for fixed-size values, 0 for a VARINT).  1 read, 0 cut
 * short, -1 malformed (as rs_pb_next). */
static int head_at(const unsigned char *p, size_t n, struct rs_pb_field *f, uint64_t *body,
                   size_t *used) {
  uint64_t key, v = 0;
  size_t a, b = 0;
  int k = varint_at(p, n, &key, &a);
  if (k <= 0) return k;
  if (key >> 3 == 0 || key >> 3 > 0x1fffffff) return -1;
  *f = (struct rs_pb_field){.num = (uint32_t)(key >> 3), .wire = (int)(key & 7)};
  switch (f->wire) {
  case RS_PB_VARINT:
    if ((k = varint_at(p + a, n - a, &f->v, &b)) <= 0) return k;
    *body = 0;
    break;
  case RS_PB_LEN:
    if ((k = varint_at(p + a, n - a, &v, &b)) <= 0) return k;
    *body = v;
    break;
  case RS_PB_I64:
    *body = 8;
    break;
  case RS_PB_I32:
    *body = 4;
    break;
  default:
    return -1;
  }
  *used = a + b;
  return 1;
}

static int list_fail(struct rs_pb_list *l, rs_err_t *err, int kind, const char *fmt, ...)
    RS_PRINTF(4, 5);
static int list_fail(struct rs_pb_list *l, rs_err_t *err, int kind, const char *fmt, ...) {
  va_list ap;
  l->failed = true;
  va_start(ap, fmt);
  rs_failv(err, kind, kind == RS_E_SYS ? ENOMEM : 0, fmt, ap);
  va_end(ap);
  return -1;
}

static int list_malformed(struct rs_pb_list *l, rs_err_t *err) {
  return list_fail(l, err, RS_E_INPUT, "malformed protobuf %s", l->kind);
}

/* ListMeta: continue 3, remainingItemCount 4 (the last of each wins). */
static int take_list_meta(struct rs_pb_list *l, const unsigned char *p, size_t n, rs_err_t *err) {
  struct rs_pb m = rs_pb_of(p, n);
  struct rs_pb_field g;
  int k;
  while ((k = rs_pb_next(&m, &g)) > 0) {
    if (g.num == 3 && g.wire == RS_PB_LEN) {
      char *c = NULL;
      if (g.len && !(c = rs_pb_strdup(&g)))
        return errno == ENOMEM ? list_fail(l, err, RS_E_SYS, "out of memory") : list_malformed(l, err);
      free(l->cont);
      l->cont = c;
    } else if (g.num == 4 && g.wire == RS_PB_VARINT) {
      l->remaining = g.v;
    }
  }
  if (k < 0) return list_malformed(l, err);
  l->have_meta = true;
  return 0;
}

/* A body kept whole: typeMeta (kind 2) or contentEncoding at the top, the
 * ListMeta or an item in the list. */
static int take_body(struct rs_pb_list *l, const unsigned char *p, size_t n, rs_err_t *err) {
  if (l->level == 1 && l->num == 1) return take_list_meta(l, p, n, err);
  if (l->level == 1) {
    l->items++;
    if (l->item(l->ud, p, n, err) < 0) {
      if (!err || err->kind == RS_E_NONE) rs_fail(err, RS_E_INPUT, 0, "an item of the %s was refused", l->kind);
      l->failed = true;
      return -1;
    }
    return 0;
  }
  if (l->num == 3) {
    if (n)
      return list_fail(l, err, RS_E_INPUT, "protobuf object with a content encoding (%.*s)",
                       (int)(n > 32 ? 32 : n), (const char *)p);
    return 0;
  }
  struct rs_pb tm = rs_pb_of(p, n);
  struct rs_pb_field g;
  int k;
  while ((k = rs_pb_next(&tm, &g)) > 0)
    if (g.num == 2 && g.wire == RS_PB_LEN) {
      size_t c = g.len < sizeof l->seen_kind - 1 ? g.len : sizeof l->seen_kind - 1;
      memcpy(l->seen_kind, g.data, c);
      l->seen_kind[c] = '\0';
    }
  if (k < 0) return list_malformed(l, err);
  l->seen_type = true;
  return 0;
}

/* A field's body is read or skipped: back to a header, and out of the list
 * once its last byte is read. */
static void field_done(struct rs_pb_list *l) {
  l->phase = L_HEAD;
  if (l->level == 1 && l->raw_left == 0) l->level = 0;
}

/* A field's header was read (hlen bytes): what to do with its body. */
static int start_field(struct rs_pb_list *l, const struct rs_pb_field *f, uint64_t body,
                       size_t hlen, rs_err_t *err) {
  if (l->level == 1) {
    if (hlen > l->raw_left || body > l->raw_left - hlen) return list_malformed(l, err);
    l->raw_left -= hlen + body;
  }
  l->num = f->num;
  l->wire = f->wire;
  l->left = body;
  l->keep = false;
  if (f->wire == RS_PB_LEN && l->level == 0 && f->num == 2) { /* raw: into the list */
    if (!l->seen_type || strcmp(l->seen_kind, l->kind) != 0)
      return list_fail(l, err, RS_E_INPUT, "expected a %s, got \"%s\"", l->kind, l->seen_kind);
    if (l->seen_raw) return list_malformed(l, err);
    l->seen_raw = true;
    l->level = 1;
    l->raw_left = body;
    field_done(l);
    return 0;
  }
  if (f->wire == RS_PB_LEN)
    l->keep = l->level == 0 ? f->num == 1 || f->num == 3 : f->num == 1 || f->num == 2;
  size_t max = l->max_field ? l->max_field : RS_PB_LIST_MAX_FIELD;
  if (l->keep && body > max)
    return list_fail(l, err, RS_E_LIMIT, "a field of %llu bytes in the %s: more than %zu",
                     (unsigned long long)body, l->kind, max);
  l->phase = L_BODY;
  if (body == 0) {
    if (l->keep && take_body(l, (const unsigned char *)"", 0, err) < 0) return -1;
    field_done(l);
  }
  return 0;
}

/* A header from the bytes kept and p: the bytes of p it took (all of
 * them while it is cut short: they are kept), -1 on failure. */
static ssize_t read_head(struct rs_pb_list *l, const unsigned char *p, size_t len, rs_err_t *err) {
  size_t had = l->head_len, hn = len;
  const unsigned char *h = p;
  if (had) {
    size_t take = sizeof l->head - had < len ? sizeof l->head - had : len;
    memcpy(l->head + had, p, take);
    h = l->head;
    hn = had + take;
  }
  struct rs_pb_field f;
  uint64_t body = 0;
  size_t used = 0;
  int k = head_at(h, hn, &f, &body, &used);
  if (k == 0 && hn < sizeof l->head) { /* a header is 20 bytes at most */
    if (!had) memcpy(l->head, p, len);
    l->head_len = hn;
    return (ssize_t)len;
  }
  if (k <= 0) return list_malformed(l, err);
  l->head_len = 0;
  if (start_field(l, &f, body, used, err) < 0) return -1;
  return (ssize_t)(used - had);
}

/* Some of a body: skipped, taken in place when all of it is here, or
 * gathered.  Returns the bytes of p it took, -1 on failure. */
static ssize_t read_body(struct rs_pb_list *l, const unsigned char *p, size_t len, rs_err_t *err) {
  size_t take = len < l->left ? len : (size_t)l->left;
  if (l->keep && !l->buf_len && take == l->left) {
    if (take_body(l, p, take, err) < 0) return -1;
  } else if (l->keep) {
    if (!l->buf_len && l->buf_cap < l->left) { /* the whole body, once */
      unsigned char *b = realloc(l->buf, (size_t)l->left);
      if (!b) return list_fail(l, err, RS_E_SYS, "out of memory");
      l->buf = b;
      l->buf_cap = (size_t)l->left;
    }
    memcpy(l->buf + l->buf_len, p, take);
    l->buf_len += take;
    if (take == l->left) {
      size_t n = l->buf_len;
      l->buf_len = 0;
      if (take_body(l, l->buf, n, err) < 0) return -1;
    }
  }
  l->left -= take;
  if (!l->left) field_done(l);
  return (ssize_t)take;
}

int rs_pb_list_feed(struct rs_pb_list *l, const void *data, size_t len, rs_err_t *err) {
  const unsigned char *p = data;
  if (l->failed) return rs_fail(err, RS_E_INPUT, 0, "malformed protobuf %s", l->kind);
  while (len) {
    ssize_t used;
    if (l->phase == L_MAGIC) {
      size_t take = 4 - l->head_len < len ? 4 - l->head_len : len;
      memcpy(l->head + l->head_len, p, take);
      l->head_len += take;
      used = (ssize_t)take;
      if (l->head_len == 4) {
        if (memcmp(l->head, RS_PB_MAGIC, 4) != 0)
          return list_fail(l, err, RS_E_INPUT, "not a protobuf-encoded Kubernetes object");
        l->head_len = 0;
        l->phase = L_HEAD;
      }
    } else if (l->phase == L_HEAD) {
      used = read_head(l, p, len, err);
    } else {
      used = read_body(l, p, len, err);
    }
    if (used < 0) return -1;
    p += used;
    len -= (size_t)used;
  }
  return 0;
}

int rs_pb_list_end(struct rs_pb_list *l, rs_err_t *err) {
  if (l->failed) return rs_fail(err, RS_E_INPUT, 0, "malformed protobuf %s", l->kind);
  if (l->phase == L_MAGIC)
    return list_fail(l, err, RS_E_INPUT, "not a protobuf-encoded Kubernetes object");
  if (l->phase != L_HEAD || l->head_len || l->level != 0)
    return list_fail(l, err, RS_E_INPUT, "malformed protobuf %s: cut short", l->kind);
  if (!l->seen_raw) return list_fail(l, err, RS_E_INPUT, "protobuf object without a body");
  return 0;
}

void rs_pb_list_reset(struct rs_pb_list *l) {
  free(l->cont);
  l->cont = NULL;
  l->remaining = 0;
  l->have_meta = false;
  l->items = 0;
  l->phase = L_MAGIC;
  l->level = 0;
  l->raw_left = l->left = 0;
  l->num = 0;
  l->wire = 0;
  l->keep = l->seen_type = l->seen_raw = l->failed = false;
  l->seen_kind[0] = '\0';
  l->head_len = l->buf_len = 0;
}

void rs_pb_list_clear(struct rs_pb_list *l) {
  rs_pb_list_reset(l);
  free(l->buf);
  l->buf = NULL;
  l->buf_cap = 0;
}
