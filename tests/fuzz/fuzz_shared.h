/* What the helper's fuzz targets share: inputs that carry values
 * (NUL-separated fields, so libFuzzer mutates the values and the text they
 * go into alike), the properties of a produced TOML value, and the checked
 * containerd edit. */
#ifndef RS_FUZZ_SHARED_H
#define RS_FUZZ_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "helper/containerd_toml.h"
#include "helper/toml.h"

/* Everything after the flags byte, NUL-terminated (heap; NULL when the
 * input is empty or over 64 KiB); *ret_end is its end. */
static inline char *fuzz_after_flags(const uint8_t *data, size_t size, char **ret_end) {
  char *copy = size >= 1 && size <= 65536 ? malloc(size) : NULL;
  if (!copy) return NULL;
  memcpy(copy, data + 1, size - 1);
  copy[size - 1] = '\0';
  *ret_end = copy + size - 1;
  return copy;
}

/* No raw control character in t but those in allowed (TOML's rule for
 * what may stand unescaped). */
static inline void fuzz_no_control(const char *t, const char *allowed) {
  for (const unsigned char *c = (const unsigned char *)t; *c; c++)
    if ((*c < 0x20 && !strchr(allowed, *c)) || *c == 0x7f) abort();
}

/* The next NUL-terminated field of [*p, end) (NULL once none is left); the
 * input is copied first, so fields are C strings. */
static inline char *fuzz_field(char **p, char *end) {
  if (*p >= end) return NULL;
  char *f = *p;
  size_t n = strnlen(f, (size_t)(end - f));
  *p = f + n + 1;
  return f;
}

/* The string (or the one-string array) at path in t is want. */
static inline void fuzz_must_read_back(const char *t, const char *const *path, const char *want,
                                       bool array) {
  rs_err_t e = RS_ERR_INIT;
  char *raw = NULL, *got = NULL, **v = NULL;
  if (rs_toml_get_raw(t, strlen(t), path, &raw, &e) != 0 || !raw) abort();
  if (array) {
    if (rs_toml_decode_str_array(raw, &v, &e) != 0 || rs_strv_len(v) != 1) abort();
    got = strdup(v[0]);
    rs_strv_free(v);
  } else if (rs_toml_decode_str(raw, &got, &e) != 0) {
    abort();
  }
  if (!got || strcmp(got, want) != 0) abort();
  free(got);
  free(raw);
}

/* The containerd edit of text; what it produces must scan, and editing it
 * again must change nothing.  The result (heap) or NULL when refused. */
static inline char *fuzz_ctd_edit(const char *text, size_t len, const struct rs_ctd_want *w) {
  rs_err_t e = RS_ERR_INIT;
  char *out = NULL, *again = NULL;
  char **ch = rs_strv_new(), **ch2 = rs_strv_new();
  struct rs_toml d;
  if (ch && ch2 && rs_ctd_config_edit(text, len, w, &out, &ch, &e) == 0) {
    if (rs_toml_scan(out, strlen(out), &d, &e) != 0) abort();
    rs_toml_free(&d);
    if (rs_ctd_config_edit(out, strlen(out), w, &again, &ch2, &e) != 0) abort();
    if (strcmp(again, out) != 0 || rs_strv_len(ch2) != 0) abort();
    free(again);
  }
  rs_strv_free(ch);
  rs_strv_free(ch2);
  rs_err_clear(&e);
  return out;
}

#endif
