#include "common/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t buf_max(const rs_buf_t *b) {
  return b->max ? b->max : RS_BUF_DEFAULT_MAX;
}

int rs_buf_reserve(rs_buf_t *b, size_t extra, rs_err_t *err) {
  size_t max = buf_max(b);
  if (extra > max || b->len > max - extra)
    return rs_fail(err, RS_E_LIMIT, 0, "data exceeds the limit of %zu bytes",
                   max);
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *n = realloc(b->data, cap);
  if (!n) return rs_fail(err, RS_E_SYS, 12, "out of memory (%zu bytes)", cap);
  b->data = n;
  b->cap = cap;
  b->data[b->len] = '\0'; /* a fresh buffer is "" too, as buf.h promises */
  return 0;
}

int rs_buf_append(rs_buf_t *b, const void *data, size_t n, rs_err_t *err) {
  if (rs_buf_reserve(b, n, err) < 0) return -1;
  if (n) memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int rs_buf_puts(rs_buf_t *b, const char *s, rs_err_t *err) {
  return rs_buf_append(b, s, strlen(s), err);
}

int rs_buf_vprintf(rs_buf_t *b, rs_err_t *err, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) return rs_fail(err, RS_E_INPUT, 0, "cannot format output");
  if (rs_buf_reserve(b, (size_t)n, err) < 0) return -1;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int rs_buf_printf(rs_buf_t *b, rs_err_t *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = rs_buf_vprintf(b, err, fmt, ap);
  va_end(ap);
  return r;
}

void rs_buf_reset(rs_buf_t *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void rs_buf_free(rs_buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *rs_buf_steal(rs_buf_t *b, size_t *ret_len) {
  char *d = b->data;
  if (!d) d = calloc(1, 1);
  if (ret_len) *ret_len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}
