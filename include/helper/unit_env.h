/* The environment a systemd service gets from its unit file and drop-ins
 * (Environment= and EnvironmentFile= in [Service], read as systemd reads
 * them: quotes, escapes, continuation lines, an empty assignment resetting
 * the list), and a drop-in that gives another service part of it. */
#ifndef RS_HELPER_UNIT_ENV_H
#define RS_HELPER_UNIT_ENV_H

#include <stddef.h>
#include "common/err.h"

#define RS_UNIT_MAX_SIZE ((size_t)256 << 10)
#define RS_UNIT_ENV_MAX 1024 /* variables and environment files */

struct rs_unit_env {
  char **names;  /* Environment= variables, first assignment's order (strv) */
  char **values; /* their values, the last assignment's, unquoted (strv) */
  char **files;  /* EnvironmentFile= paths as written ("-" kept) (strv) */
};

/* Every assignment in [Service] of one unit file or drop-in, in order:
 * fn(data, key, value, line, err) with comments skipped, continuation
 * lines joined and the value's leading blanks removed.  A bad section
 * header is an RS_E_INPUT error naming its line; fn failing stops it. */
typedef int (*rs_unit_assign_fn)(void *data, const char *key, const char *value, size_t line,
                                 rs_err_t *err);
int rs_unit_walk(const char *text, size_t len, rs_unit_assign_fn fn, void *data, rs_err_t *err);

int rs_unit_env_init(struct rs_unit_env *e, rs_err_t *err);
void rs_unit_env_free(struct rs_unit_env *e);
/* Apply one unit file or drop-in, in the order systemd reads them.  A line
 * systemd would refuse is an RS_E_INPUT error naming it. */
int rs_unit_env_read(struct rs_unit_env *e, const char *text, size_t len, rs_err_t *err);
/* Set a variable (as a later assignment would). */
int rs_unit_env_set(struct rs_unit_env *e, const char *name, const char *value, rs_err_t *err);
/* A variable's value, or NULL. */
const char *rs_unit_env_get(const struct rs_unit_env *e, const char *name);

/* A drop-in setting names[i]=values[i] in [Service] (comment: its first
 * line, without "# ").  A value with a control character is refused. */
int rs_unit_env_dropin(const char *comment, char *const *names, char *const *values,
                       char **ret, rs_err_t *err);

#endif
