/* Parsers of host command output (see helper/cmdout.h). */
#include "helper/cmdout.h"

#include <string.h>

#include "common/cleanup.h"
#include "helper/units.h"

/* The value of NAME= at the start of a line, up to the end of the line. */
static const char *prop(const char *out, const char *name, size_t *ret_len) {
  size_t n = strlen(name);
  for (const char *p = out; p && *p;) {
    if (strncmp(p, name, n) == 0 && p[n] == '=') {
      *ret_len = strcspn(p + n + 1, "\n");
      return p + n + 1;
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
  return NULL;
}

static bool prop_is(const char *out, const char *name, const char *const *vals) {
  size_t n = 0;
  const char *v = prop(out, name, &n);
  for (size_t i = 0; v && vals[i]; i++)
    if (strlen(vals[i]) == n && strncmp(v, vals[i], n) == 0) return true;
  return false;
}

void rs_systemctl_show_parse(const char *out, struct rs_unit_state *ret) {
  static const char *const loaded[] = {"loaded", NULL};
  static const char *const active[] = {"active", "activating", "reloading", NULL};
  static const char *const enabled[] = {"enabled", "enabled-runtime", "static", "alias", "indirect", NULL};
  ret->loaded = prop_is(out, "LoadState", loaded);
  ret->active = prop_is(out, "ActiveState", active);
  ret->enabled = prop_is(out, "UnitFileState", enabled);
}

/* The next whitespace-separated field of [*p, end); false at the end. */
static bool next_field(const char **p, const char *end, const char **ret, size_t *ret_len) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
  if (s >= end) return false;
  const char *e = s;
  while (e < end && *e != ' ' && *e != '\t' && *e != '\r') e++;
  *ret = s;
  *ret_len = (size_t)(e - s);
  *p = e;
  return true;
}

static bool field_is(const char *f, size_t n, const char *want) {
  return strlen(want) == n && memcmp(f, want, n) == 0;
}

bool rs_ctr_cri_ok(const char *out) {
  for (const char *l = out; l && *l;) {
    const char *end = l + strcspn(l, "\n");
    const char *p = l, *f = NULL, *last = NULL;
    size_t n = 0, lastn = 0;
    int k = 0;
    bool type = false, id = false;
    while (next_field(&p, end, &f, &n)) {
      if (k == 0) type = field_is(f, n, "io.containerd.grpc.v1");
      if (k == 1) id = field_is(f, n, "cri");
      last = f;
      lastn = n;
      k++;
    }
    if (type && id && k >= 3 && field_is(last, lastn, "ok")) return true;
    l = *end ? end + 1 : end;
  }
  return false;
}
