/* Editor for environment files that carry kubelet flags
 * (/var/lib/kubelet/kubeadm-flags.env: KUBELET_KUBEADM_ARGS="...",
 * /etc/default/kubelet, /etc/sysconfig/kubelet: KUBELET_EXTRA_ARGS=...).
 * Every line that is not edited is kept byte for byte; an edited value keeps
 * its quote style and the spacing between the flags left in it. */
#ifndef RS_HELPER_KUBELET_FLAGS_H
#define RS_HELPER_KUBELET_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

#define RS_ENV_MAX_SIZE ((size_t)256 << 10)

/* The unquoted value of `var` (last assignment wins); *ret NULL if absent. */
int rs_env_get(const char *text, size_t len, const char *var, char **ret,
               rs_err_t *err);

/* The value of --flag inside `var` ("--flag=v" or "--flag v"); *ret NULL when
 * the flag is absent, "" for a bare flag. */
int rs_env_flag_get(const char *text, size_t len, const char *var,
                    const char *flag, char **ret, rs_err_t *err);

enum rs_flag_op_kind {
  RS_FLAG_DROP,         /* remove every occurrence */
  RS_FLAG_SET,          /* replace the first, drop the rest; else append */
  RS_FLAG_REPLACE,      /* like SET, but only when already present */
};

struct rs_flag_op {
  const char *flag;  /* "--container-runtime-endpoint" */
  int kind;          /* enum rs_flag_op_kind */
  const char *value; /* SET/REPLACE */
};

/* Apply ops to the flags in `var`.  A SET on a missing variable appends a
 * `var="--flag=value"` line.  *ret is the new text; each change is described
 * in *changes (appended; may be NULL). */
int rs_env_flags_edit(const char *text, size_t len, const char *var,
                      const struct rs_flag_op *ops, size_t nops, char **ret,
                      char ***changes, rs_err_t *err);

#endif
