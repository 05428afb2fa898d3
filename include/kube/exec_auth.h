/* Exec credential plugins (client.authentication.k8s.io v1 and v1beta1):
 * run the command without a shell (argv + explicit environment with
 * KUBERNETES_EXEC_INFO), and read its ExecCredential. */
#ifndef RS_KUBE_EXEC_AUTH_H
#define RS_KUBE_EXEC_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "kube/kubeconfig.h"

#define RS_EXEC_OUT_MAX ((size_t)1 << 20)
#define RS_EXEC_TIMEOUT_MS 120000

struct rs_exec_cred {
  char *token;            /* bearer token, or NULL */
  struct rs_bytes cert;   /* PEM client certificate (with key), or empty */
  struct rs_bytes key;
  long long expiry;       /* Unix seconds; 0: does not expire */
};

/* Parse a plugin's stdout.  api_version is the configured one; the output
 * must carry the same. */
int rs_exec_cred_parse(const char *data, size_t len, const char *api_version,
                       struct rs_exec_cred *ret, rs_err_t *err);

/* The KUBERNETES_EXEC_INFO value for the config's exec plugin (heap). */
char *rs_exec_info_json(const rs_kube_config_t *c, rs_err_t *err);

/* Run c->exec and parse its output.  envp is the parent environment (NULL:
 * environ).  The plugin's stderr goes to ours, as kubectl does. */
int rs_exec_cred_run(const rs_kube_config_t *c, const char *const *envp,
                     struct rs_exec_cred *ret, rs_err_t *err);

void rs_exec_cred_clear(struct rs_exec_cred *cred);

/* RFC 3339 ("2006-01-02T15:04:05Z", fractions and offsets allowed) to Unix
 * seconds. */
int rs_parse_rfc3339(const char *s, long long *ret);

#endif
