/* Preflight: what the parts of a plan share (see plan_int.h): messages,
 * strings, the kubelet's flags, the units the plan names. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "helper/kubelet_flags.h"
#include "helper/units.h"
#include "plan_int.h"

int plan_add(char ***v, rs_err_t *err, const char *fmt, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return rs_strv_consume(v, s, err);
}

int plan_set_str(char **dst, const char *v, rs_err_t *err) {
  free(*dst);
  *dst = v ? strdup(v) : NULL;
  return v && !*dst ? rs_oom(err) : 0;
}

/* A flag the kubelet gets: KUBELET_EXTRA_ARGS comes after the kubeadm
 * flags on the command line, so it wins. */
int plan_kubelet_flag(struct ctx *c, const char *flag, char **ret) {
  *ret = NULL;
  char *v = NULL;
  if (c->ex_text && rs_env_flag_get(c->ex_text, strlen(c->ex_text), VAR_EXTRA, flag, &v, c->err) < 0)
    return -1;
  if (!v && c->ka_text && rs_env_flag_get(c->ka_text, strlen(c->ka_text), VAR_KA, flag, &v, c->err) < 0)
    return -1;
  *ret = v;
  return 0;
}

int plan_add_unit(struct ctx *c, const char *unit, int role, bool required) {
  struct rs_unit_state st;
  if (rs_unit_query(c->h, unit, &st, c->err) < 0) return rs_wrap(c->err, "query %s", unit);
  if (!st.loaded) {
    if (required) return BLOCK(c, "%s is not installed on the node", unit);
    return 0;
  }
  struct rs_plan *p = c->p;
  struct rs_plan_unit *nu = realloc(p->units, (p->nunits + 1) * sizeof *nu);
  if (!nu) return rs_oom(c->err);
  p->units = nu;
  p->units[p->nunits] = (struct rs_plan_unit){strdup(unit), role, st};
  if (!p->units[p->nunits].unit) return rs_oom(c->err);
  p->nunits++;
  return 0;
}
