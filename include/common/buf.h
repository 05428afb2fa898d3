/* A growing byte buffer with a hard upper bound; always NUL-terminated. */
#ifndef RS_COMMON_BUF_H
#define RS_COMMON_BUF_H

#include <stddef.h>
#include <stdarg.h>
#include "common/err.h"

typedef struct rs_buf {
  char *data;  /* NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
  size_t max;  /* bound on len; 0 means RS_BUF_DEFAULT_MAX */
} rs_buf_t;

#define RS_BUF_DEFAULT_MAX ((size_t)64 << 20)
#define RS_BUF_INIT(m) {NULL, 0, 0, (m)}

int rs_buf_reserve(rs_buf_t *b, size_t extra, rs_err_t *err);
int rs_buf_append(rs_buf_t *b, const void *data, size_t n, rs_err_t *err);
int rs_buf_puts(rs_buf_t *b, const char *s, rs_err_t *err);
int rs_buf_printf(rs_buf_t *b, rs_err_t *err, const char *fmt, ...)
    RS_PRINTF(3, 4);
int rs_buf_vprintf(rs_buf_t *b, rs_err_t *err, const char *fmt, va_list ap)
    RS_PRINTF(3, 0);
void rs_buf_reset(rs_buf_t *b);
void rs_buf_free(rs_buf_t *b);
/* Hand the data to the caller (never NULL: an empty buffer gives ""). */
char *rs_buf_steal(rs_buf_t *b, size_t *ret_len);

static inline void rs_buf_freep(rs_buf_t *b) { rs_buf_free(b); }
#define _cleanup_buf_ __attribute__((cleanup(rs_buf_freep)))

#endif
