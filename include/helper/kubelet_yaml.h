/* Line-preserving access to the top-level scalar keys of a kubelet
 * KubeletConfiguration (/var/lib/kubelet/config.yaml, instance-config.yaml).
 * Only the first YAML document is considered; nested mappings, comments and
 * every other line are left as they are. */
#ifndef RS_HELPER_KUBELET_YAML_H
#define RS_HELPER_KUBELET_YAML_H

#include <stddef.h>
#include "common/err.h"

#define RS_KYAML_MAX_SIZE ((size_t)1 << 20)

/* The unquoted scalar of a top-level key; *ret NULL when absent.  A key
 * whose value is a nested block is an error. */
int rs_kyaml_get(const char *text, size_t len, const char *key, char **ret,
                 rs_err_t *err);

/* Set a top-level scalar (replacing it in place, or appending a line at the
 * end of the first document).  Adds a change description to *changes. */
int rs_kyaml_set(const char *text, size_t len, const char *key,
                 const char *value, char **ret, char ***changes,
                 rs_err_t *err);

#endif
