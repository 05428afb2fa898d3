/* Small string helpers: NULL-terminated string vectors, checked number
 * parsing, version comparison. */
#ifndef RS_COMMON_STRUTIL_H
#define RS_COMMON_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

char **rs_strv_new(void);
size_t rs_strv_len(char *const *v);
/* Append a copy of s; returns -1 on OOM with *err set. */
int rs_strv_push(char ***v, const char *s, rs_err_t *err);
/* Append s itself (ownership moves in, also on failure). */
int rs_strv_consume(char ***v, char *s, rs_err_t *err);
bool rs_strv_contains(char *const *v, const char *s);
/* A copy of v (of an empty vector when v is NULL); NULL on OOM. */
char **rs_strv_dup(char *const *v);
void rs_strv_free(char **v);
static inline void rs_strv_freep(char ***v) { rs_strv_free(*v); }
#define _cleanup_strv_ __attribute__((cleanup(rs_strv_freep)))

/* Whole-string decimal parse with bounds; no sign/space games. */
int rs_parse_long(const char *s, long min, long max, long *ret);
/* Go-style duration ("30s", "5m", "1h2m", "250ms", "0") into milliseconds. */
int rs_parse_duration_ms(const char *s, long long *ret_ms);

/* Compare dotted versions with an optional leading "v" and ignoring any
 * "-suffix"/"+build": "1.6.20~ds1" < "1.7.0".  Returns <0, 0, >0. */
int rs_version_cmp(const char *a, const char *b);
/* Extract major.minor from a version string ("v1.34.2" -> 1, 34). */
int rs_version_major_minor(const char *v, int *ret_major, int *ret_minor);

bool rs_startswith(const char *s, const char *prefix);
bool rs_endswith(const char *s, const char *suffix);
char *rs_strdup_printf(const char *fmt, ...) RS_PRINTF(1, 2);
/* strdup that tolerates NULL (returns NULL) */
char *rs_strdup0(const char *s);
/* *ret = rs_strdup0(s); -1 when s could not be copied. */
int rs_strdup0_to(char **ret, const char *s);

#endif
