/* Kubeconfig with kubectl's semantics: which files are read, how they merge,
 * how command-line overrides apply, and what a run ends up talking to.
 *
 * Files: --kubeconfig alone (must exist); else every entry of $KUBECONFIG
 * (split on ':', empty and duplicate entries dropped, missing files
 * skipped), merged so that the first file defining a cluster, user or
 * context name wins it whole, and the first non-empty current-context wins;
 * else $HOME/.kube/config; else, when nothing was configured at all, the
 * in-cluster service account.  Relative paths (certificate-authority,
 * client-certificate, client-key, tokenFile, and exec.command when it
 * contains a '/') resolve against the directory of the file that defined
 * them.  Errors name the file and, for YAML, line:column. */
#ifndef RS_KUBE_KUBECONFIG_H
#define RS_KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/err.h"

#define RS_KUBECONFIG_MAX ((size_t)16 << 20)  /* bytes per kubeconfig file */
#define RS_KUBE_FILE_MAX ((size_t)1 << 20)    /* CA, cert, key, token file */
#define RS_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Command-line overrides, as kubectl's global flags; NULL/-1 means unset. */
struct rs_kube_overrides {
  const char *kubeconfig;            /* --kubeconfig */
  const char *context;               /* --context */
  const char *cluster;               /* --cluster */
  const char *user;                  /* --user */
  const char *ns;                    /* -n/--namespace */
  const char *server;                /* -s/--server */
  const char *tls_server_name;       /* --tls-server-name */
  const char *token;                 /* --token (clears tokenFile) */
  const char *certificate_authority; /* --certificate-authority */
  const char *client_certificate;    /* --client-certificate */
  const char *client_key;            /* --client-key */
  int insecure_skip_tls_verify;      /* --insecure-skip-tls-verify: -1/0/1 */
  const char *request_timeout;       /* --request-timeout raw ("0", "30", "1m") */
  const char *as;                    /* --as */
  const char *as_uid;                /* --as-uid */
  const char *const *as_groups;      /* --as-group, NULL-terminated or NULL */
  const char *username;              /* --username */
  const char *password;              /* --password */
  const char *sa_dir;                /* tests only: service-account dir; NULL: RS_SA_DIR */
};
#define RS_KUBE_OVERRIDES_INIT {.insecure_skip_tls_verify = -1}

struct rs_bytes {
  unsigned char *data;
  size_t len;
};

struct rs_kube_exec {
  char *command;          /* absolute when it contained a '/', else a PATH name */
  char **args;            /* NULL-terminated, never NULL */
  char **env;             /* "NAME=VALUE", NULL-terminated, never NULL */
  char *api_version;      /* client.authentication.k8s.io/v1 or v1beta1 */
  char *install_hint;     /* may be NULL */
  char *interactive_mode; /* Never, IfAvailable, Always; NULL when unset */
  bool provide_cluster_info;
  char *cluster_config;   /* JSON of the cluster's client.authentication.k8s.io/exec
                             extension, or NULL */
  char *origin;           /* the kubeconfig file that defined it */
};

/* Everything a client needs, resolved.  Paths are absolute; a *_file and
 * its data are never both set after resolution (data wins, as kubectl). */
typedef struct rs_kube_config {
  char *context;              /* context in use; NULL for in-cluster */
  char *cluster_name;
  char *user_name;
  char *ns;                   /* -n, else the context's, else "default"; never NULL */
  char *server;               /* scheme://host[:port][/prefix], no trailing '/' */
  char *tls_server_name;
  bool insecure;              /* insecure-skip-tls-verify */
  char *proxy_url;
  bool disable_compression;
  char *ca_file;
  struct rs_bytes ca_data;    /* PEM */
  char *cert_file;
  struct rs_bytes cert_data;  /* PEM */
  char *key_file;
  struct rs_bytes key_data;   /* PEM */
  char *token;
  char *token_file;
  char *username;
  char *password;
  struct rs_kube_exec *exec;  /* NULL unless the user has exec */
  char *as;
  char *as_uid;
  char **as_groups;           /* NULL-terminated, never NULL */
  long long request_timeout_ms; /* 0: no per-request timeout */
  bool in_cluster;
  char *origin;               /* file(s) the selection came from, for errors */
} rs_kube_config_t;

/* Load, merge, select and apply overrides.  envp supplies KUBECONFIG, HOME,
 * KUBERNETES_SERVICE_HOST/PORT and POD_NAMESPACE (NULL: the process
 * environment).  Files referenced by paths are not read here. */
int rs_kube_config_resolve(const struct rs_kube_overrides *o,
                           const char *const *envp, rs_kube_config_t **ret,
                           rs_err_t *err);

/* Read ca_file, cert_file, key_file into the *_data fields (bounded by
 * RS_KUBE_FILE_MAX) and clear the file names; the error names the file. */
int rs_kube_config_load_files(rs_kube_config_t *c, rs_err_t *err);

/* Read a token file (bounded, trailing whitespace trimmed). */
int rs_kube_read_token_file(const char *path, char **ret, rs_err_t *err);

void rs_kube_config_free(rs_kube_config_t *c);
static inline void rs_kube_config_freep(rs_kube_config_t **c) {
  if (*c) rs_kube_config_free(*c);
}
#define _cleanup_kube_config_ __attribute__((cleanup(rs_kube_config_freep)))
/* A deep copy; NULL when out of memory. */
rs_kube_config_t *rs_kube_config_dup(const rs_kube_config_t *c);

/* The resolution as JSON (for `config resolve`): context, cluster, user,
 * namespace, server, tls-server-name, insecure, proxy-url, CA and
 * credentials.  Secrets are printed only when show_secrets, else
 * "REDACTED"; byte fields are base64. */
json_t *rs_kube_config_to_json(const rs_kube_config_t *c, bool show_secrets);

/* ---- lower level, for tests and the fuzz target ---- */

/* One parsed kubeconfig file. */
typedef struct rs_kcfg_file rs_kcfg_file_t;

/* Parse one kubeconfig document; path names it in errors and is the base
 * for relative paths.  Bounded by RS_KUBECONFIG_MAX. */
int rs_kcfg_parse(const char *data, size_t len, const char *path,
                  rs_kcfg_file_t **ret, rs_err_t *err);
void rs_kcfg_file_free(rs_kcfg_file_t *f);

/* Standard base64 (with padding, as Go's encoding/json for []byte). */
int rs_base64_decode(const char *s, size_t len, struct rs_bytes *ret,
                     rs_err_t *err);
char *rs_base64_encode(const unsigned char *data, size_t len);

#endif
