#include "kube/pb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
