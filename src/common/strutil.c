#include "common/strutil.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char **rs_strv_new(void) { return calloc(1, sizeof(char *)); }

size_t rs_strv_len(char *const *v) {
  size_t n = 0;
  while (v && v[n]) n++;
  return n;
}

int rs_strv_consume(char ***v, char *s, rs_err_t *err) {
  if (!s) return rs_oom(err);
  size_t n = rs_strv_len(*v);
  char **nv = realloc(*v, (n + 2) * sizeof(char *));
  if (!nv) {
    free(s);
    return rs_oom(err);
  }
  nv[n] = s;
  nv[n + 1] = NULL;
  *v = nv;
  return 0;
}

int rs_strv_push(char ***v, const char *s, rs_err_t *err) {
  return rs_strv_consume(v, strdup(s), err);
}

bool rs_strv_contains(char *const *v, const char *s) {
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp(v[i], s) == 0) return true;
  return false;
}

char **rs_strv_dup(char *const *v) {
  char **n = rs_strv_new();
  for (size_t i = 0; n && v && v[i]; i++)
    if (rs_strv_push(&n, v[i], NULL) < 0) {
      rs_strv_free(n);
      return NULL;
    }
  return n;
}

void rs_strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++) free(v[i]);
  free(v);
}

int rs_parse_long(const char *s, long min, long max, long *ret) {
  if (!s || !*s) return -1;
  const char *p = s;
  if (*p == '-' || *p == '+') p++;
  if (!isdigit((unsigned char)*p)) return -1;
  errno = 0;
  char *end = NULL;
  long v = strtol(s, &end, 10);
  if (errno || !end || *end != '\0' || v < min || v > max) return -1;
  *ret = v;
  return 0;
}

int rs_parse_duration_ms(const char *s, long long *ret_ms) {
  if (!s || !*s) return -1;
  if (strcmp(s, "0") == 0) {
    *ret_ms = 0;
    return 0;
  }
  const char *p = s;
  long long total = 0;
  bool any = false;
  /* A bare integer means seconds, as kubectl's --timeout=30 does not allow
   * but --request-timeout does ("0" or "30" are seconds there). */
  bool bare = true;
  for (const char *q = s; *q; q++)
    if (!isdigit((unsigned char)*q)) bare = false;
  if (bare) {
    long v;
    if (rs_parse_long(s, 0, LONG_MAX / 1000, &v) < 0) return -1;
    *ret_ms = (long long)v * 1000;
    return 0;
  }
  while (*p) {
    if (!isdigit((unsigned char)*p)) return -1;
    double num = 0;
    char *end = NULL;
    errno = 0;
    num = strtod(p, &end);
    if (errno || end == p || num < 0 || num > 1e12) return -1;
    p = end;
    double mult;
    if (strncmp(p, "ms", 2) == 0) {
      mult = 1;
      p += 2;
    } else if (*p == 's') {
      mult = 1000;
      p++;
    } else if (*p == 'm') {
      mult = 60000;
      p++;
    } else if (*p == 'h') {
      mult = 3600000;
      p++;
    } else {
      return -1;
    }
    total += (long long)(num * mult);
    any = true;
  }
  if (!any) return -1;
  *ret_ms = total;
  return 0;
}

static const char *skip_v(const char *s) {
  return (*s == 'v' || *s == 'V') ? s + 1 : s;
}

int rs_version_cmp(const char *a, const char *b) {
  a = skip_v(a);
  b = skip_v(b);
  for (;;) {
    bool ea = !isdigit((unsigned char)*a), eb = !isdigit((unsigned char)*b);
    if (ea && eb) return 0;
    unsigned long long na = 0, nb = 0;
    while (isdigit((unsigned char)*a) && na < 1000000000ULL)
      na = na * 10 + (unsigned)(*a++ - '0');
    while (isdigit((unsigned char)*b) && nb < 1000000000ULL)
      nb = nb * 10 + (unsigned)(*b++ - '0');
    if (na != nb) return na < nb ? -1 : 1;
    if (*a == '.') a++;
    if (*b == '.') b++;
  }
}

int rs_version_major_minor(const char *v, int *ret_major, int *ret_minor) {
  if (!v) return -1;
  v = skip_v(v);
  if (!isdigit((unsigned char)*v)) return -1;
  long maj = 0, min = 0;
  while (isdigit((unsigned char)*v) && maj < 100000) maj = maj * 10 + (*v++ - '0');
  if (*v != '.') return -1;
  v++;
  if (!isdigit((unsigned char)*v)) return -1;
  while (isdigit((unsigned char)*v) && min < 100000) min = min * 10 + (*v++ - '0');
  *ret_major = (int)maj;
  *ret_minor = (int)min;
  return 0;
}

bool rs_startswith(const char *s, const char *prefix) {
  return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool rs_endswith(const char *s, const char *suffix) {
  if (!s) return false;
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

char *rs_strdup_printf(const char *fmt, ...) {
  char *r = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&r, fmt, ap) < 0) r = NULL;
  va_end(ap);
  return r;
}

char *rs_strdup0(const char *s) { return s ? strdup(s) : NULL; }

int rs_strdup0_to(char **ret, const char *s) {
  *ret = rs_strdup0(s);
  return s && !*ret ? -1 : 0;
}
