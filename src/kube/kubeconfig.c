/* Which kubeconfig files, how they merge, which context, and the overrides
 * of the command line: client-go's clientcmd rules, written for C. */
#include "kube/kubeconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "kcfg_yaml.h"

extern char **environ;

#define MAX_FILES 64

static const char *env_get(const char *const *envp, const char *name) {
  if (!envp) envp = (const char *const *)environ;
  size_t n = strlen(name);
  for (size_t i = 0; envp && envp[i]; i++)
    if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=') return envp[i] + n + 1;
  return NULL;
}

struct merged {
  rs_kcfg_file_t *files[MAX_FILES];
  size_t n;
};

static void merged_clear(struct merged *m) {
  for (size_t i = 0; i < m->n; i++) rs_kcfg_file_free(m->files[i]);
  m->n = 0;
}

static int load_one(struct merged *m, const char *path, bool must_exist,
                    rs_err_t *err) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->files[i]->path, path) == 0) return 0;
  if (m->n == MAX_FILES)
    return rs_fail(err, RS_E_LIMIT, 0, "more than %d kubeconfig files", MAX_FILES);
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (!must_exist && access(path, F_OK) < 0 && errno == ENOENT) return 0;
  if (rs_read_file(path, RS_KUBECONFIG_MAX, &data, &len, err) < 0)
    return rs_wrap(err, "error loading config file \"%s\"", path);
  if (rs_kcfg_parse(data, len, path, &m->files[m->n], err) < 0) return -1;
  m->n++;
  return 0;
}

static const struct kc_cluster *find_cluster(const struct merged *m,
                                             const char *name,
                                             const rs_kcfg_file_t **from) {
  for (size_t f = 0; f < m->n; f++)
    for (size_t i = 0; i < m->files[f]->n_clusters; i++)
      if (strcmp(m->files[f]->clusters[i].name, name) == 0) {
        *from = m->files[f];
        return &m->files[f]->clusters[i];
      }
  return NULL;
}

static const struct kc_user *find_user(const struct merged *m, const char *name,
                                       const rs_kcfg_file_t **from) {
  for (size_t f = 0; f < m->n; f++)
    for (size_t i = 0; i < m->files[f]->n_users; i++)
      if (strcmp(m->files[f]->users[i].name, name) == 0) {
        *from = m->files[f];
        return &m->files[f]->users[i];
      }
  return NULL;
}

static const struct kc_context *find_context(const struct merged *m,
                                             const char *name,
                                             const rs_kcfg_file_t **from) {
  for (size_t f = 0; f < m->n; f++)
    for (size_t i = 0; i < m->files[f]->n_contexts; i++)
      if (strcmp(m->files[f]->contexts[i].name, name) == 0) {
        *from = m->files[f];
        return &m->files[f]->contexts[i];
      }
  return NULL;
}

static bool merged_empty(const struct merged *m) {
  for (size_t f = 0; f < m->n; f++)
    if (m->files[f]->n_clusters || m->files[f]->n_users ||
        m->files[f]->n_contexts || m->files[f]->current_context)
      return false;
  return true;
}

static char *files_list(const struct merged *m) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(0);
  for (size_t f = 0; f < m->n; f++)
    if (rs_buf_printf(&b, NULL, "%s%s", f ? ", " : "", m->files[f]->path) < 0) return NULL;
  if (m->n == 0 && rs_buf_puts(&b, "no kubeconfig file", NULL) < 0) return NULL;
  return rs_buf_steal(&b, NULL);
}

static int bytes_dup(struct rs_bytes *dst, const struct rs_bytes *src) {
  *dst = (struct rs_bytes){0};
  if (!src->data) return 0;
  dst->data = malloc(src->len + 1);
  if (!dst->data) return -1;
  memcpy(dst->data, src->data, src->len);
  dst->data[src->len] = '\0';
  dst->len = src->len;
  return 0;
}

void rs_kube_config_free(rs_kube_config_t *c) {
  if (!c) return;
  free(c->context);
  free(c->cluster_name);
  free(c->user_name);
  free(c->ns);
  free(c->server);
  free(c->tls_server_name);
  free(c->proxy_url);
  free(c->ca_file);
  free(c->ca_data.data);
  free(c->cert_file);
  free(c->cert_data.data);
  free(c->key_file);
  if (c->key_data.data) explicit_bzero(c->key_data.data, c->key_data.len);
  free(c->key_data.data);
  if (c->token) explicit_bzero(c->token, strlen(c->token));
  free(c->token);
  free(c->token_file);
  free(c->username);
  if (c->password) explicit_bzero(c->password, strlen(c->password));
  free(c->password);
  rs_kube_exec_free(c->exec);
  free(c->as);
  free(c->as_uid);
  rs_strv_free(c->as_groups);
  free(c->origin);
  free(c);
}

rs_kube_config_t *rs_kube_config_dup(const rs_kube_config_t *s) {
  _cleanup_kube_config_ rs_kube_config_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->insecure = s->insecure;
  c->disable_compression = s->disable_compression;
  c->request_timeout_ms = s->request_timeout_ms;
  c->in_cluster = s->in_cluster;
  if (rs_strdup0_to(&c->context, s->context) < 0 || rs_strdup0_to(&c->cluster_name, s->cluster_name) < 0 ||
      rs_strdup0_to(&c->user_name, s->user_name) < 0 || rs_strdup0_to(&c->ns, s->ns) < 0 ||
      rs_strdup0_to(&c->server, s->server) < 0 || rs_strdup0_to(&c->tls_server_name, s->tls_server_name) < 0 ||
      rs_strdup0_to(&c->proxy_url, s->proxy_url) < 0 || rs_strdup0_to(&c->ca_file, s->ca_file) < 0 ||
      rs_strdup0_to(&c->cert_file, s->cert_file) < 0 || rs_strdup0_to(&c->key_file, s->key_file) < 0 ||
      rs_strdup0_to(&c->token, s->token) < 0 || rs_strdup0_to(&c->token_file, s->token_file) < 0 ||
      rs_strdup0_to(&c->username, s->username) < 0 || rs_strdup0_to(&c->password, s->password) < 0 ||
      rs_strdup0_to(&c->as, s->as) < 0 || rs_strdup0_to(&c->as_uid, s->as_uid) < 0 ||
      rs_strdup0_to(&c->origin, s->origin) < 0)
    return NULL;
  if (bytes_dup(&c->ca_data, &s->ca_data) < 0 || bytes_dup(&c->cert_data, &s->cert_data) < 0 ||
      bytes_dup(&c->key_data, &s->key_data) < 0 || !(c->as_groups = rs_strv_dup(s->as_groups)) ||
      (s->exec && !(c->exec = rs_kube_exec_dup(s->exec))))
    return NULL;
  return TAKE_PTR(c);
}

static int set_str(char **dst, const char *src, rs_err_t *err) {
  free(*dst);
  *dst = NULL;
  if (!src || !*src) return 0;
  *dst = strdup(src);
  return *dst ? 0 : rs_oom(err);
}

static int abs_path(char **dst, const char *src, rs_err_t *err) {
  free(*dst);
  *dst = NULL;
  if (!src || !*src) return 0;
  if (src[0] == '/') return set_str(dst, src, err);
  _cleanup_free_ char *cwd = getcwd(NULL, 0);
  if (!cwd) return rs_fail_errno(err, errno, "getcwd");
  *dst = rs_path_join(cwd, src);
  return *dst ? 0 : rs_oom(err);
}

/* client-go's rule: a server without a scheme is https when any TLS setting
 * is present, else http. */
static int normalise_server(rs_kube_config_t *c, rs_err_t *err) {
  if (!c->server) return 0;
  if (!strstr(c->server, "://")) {
    bool tls = c->ca_file || c->ca_data.data || c->cert_file ||
               c->cert_data.data || c->insecure;
    char *s = rs_strdup_printf("%s://%s", tls ? "https" : "http", c->server);
    if (!s) return rs_oom(err);
    free(c->server);
    c->server = s;
  }
  if (!rs_startswith(c->server, "https://") && !rs_startswith(c->server, "http://"))
    return rs_fail(err, RS_E_CONFIG, 0, "server \"%s\": only http and https are supported",
                   c->server);
  size_t n = strlen(c->server);
  while (n > 8 && c->server[n - 1] == '/') c->server[--n] = '\0';
  return 0;
}

static int in_cluster(rs_kube_config_t *c, const struct rs_kube_overrides *o,
                      const char *const *envp, rs_err_t *err) {
  const char *host = env_get(envp, "KUBERNETES_SERVICE_HOST");
  const char *port = env_get(envp, "KUBERNETES_SERVICE_PORT");
  const char *dir = o->sa_dir ? o->sa_dir : RS_SA_DIR;
  c->in_cluster = true;
  if (strchr(host, ':'))
    c->server = rs_strdup_printf("https://[%s]:%s", host, port);
  else
    c->server = rs_strdup_printf("https://%s:%s", host, port);
  c->token_file = rs_strdup_printf("%s/token", dir);
  c->origin = rs_strdup_printf("in-cluster service account %s", dir);
  if (!c->server || !c->token_file || !c->origin) return rs_oom(err);
  _cleanup_free_ char *ca = rs_strdup_printf("%s/ca.crt", dir);
  if (!ca) return rs_oom(err);
  if (access(ca, R_OK) == 0 && set_str(&c->ca_file, ca, err) < 0) return -1;
  const char *ns = env_get(envp, "POD_NAMESPACE");
  if (ns && *ns) return set_str(&c->ns, ns, err);
  _cleanup_free_ char *nsfile = rs_strdup_printf("%s/namespace", dir);
  _cleanup_free_ char *data = NULL;
  if (nsfile && rs_read_file(nsfile, 4096, &data, NULL, NULL) == 0) {
    size_t n = strlen(data);
    while (n && (data[n - 1] == '\n' || data[n - 1] == ' ' || data[n - 1] == '\r'))
      data[--n] = '\0';
    if (n) return set_str(&c->ns, data, err);
  }
  return 0;
}

static bool in_cluster_possible(const struct rs_kube_overrides *o,
                                const char *const *envp) {
  const char *host = env_get(envp, "KUBERNETES_SERVICE_HOST");
  const char *port = env_get(envp, "KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) return false;
  _cleanup_free_ char *tok = rs_strdup_printf("%s/token", o->sa_dir ? o->sa_dir : RS_SA_DIR);
  return tok && access(tok, F_OK) == 0;
}

static int from_cluster(rs_kube_config_t *c, const struct kc_cluster *k,
                        rs_err_t *err) {
  if (set_str(&c->server, k->server, err) < 0 ||
      set_str(&c->tls_server_name, k->tls_server_name, err) < 0 ||
      set_str(&c->ca_file, k->ca_file, err) < 0 ||
      set_str(&c->proxy_url, k->proxy_url, err) < 0)
    return -1;
  if (bytes_dup(&c->ca_data, &k->ca_data) < 0) return rs_oom(err);
  c->insecure = k->insecure;
  c->disable_compression = k->disable_compression;
  return 0;
}

static int from_user(rs_kube_config_t *c, const struct kc_user *u,
                     rs_err_t *err) {
  if (set_str(&c->cert_file, u->cert_file, err) < 0 ||
      set_str(&c->key_file, u->key_file, err) < 0 ||
      set_str(&c->token, u->token, err) < 0 ||
      set_str(&c->token_file, u->token_file, err) < 0 ||
      set_str(&c->username, u->username, err) < 0 ||
      set_str(&c->password, u->password, err) < 0 ||
      set_str(&c->as, u->as, err) < 0 || set_str(&c->as_uid, u->as_uid, err) < 0)
    return -1;
  if (bytes_dup(&c->cert_data, &u->cert_data) < 0 ||
      bytes_dup(&c->key_data, &u->key_data) < 0)
    return rs_oom(err);
  for (size_t i = 0; u->as_groups && u->as_groups[i]; i++)
    if (rs_strv_push(&c->as_groups, u->as_groups[i], err) < 0) return -1;
  if (u->exec && !(c->exec = rs_kube_exec_dup(u->exec))) return rs_oom(err);
  return 0;
}

static int validate_exec(rs_kube_config_t *c, rs_err_t *err) {
  struct rs_kube_exec *e = c->exec;
  const char *u = c->user_name ? c->user_name : "";
  if (!e->api_version ||
      (strcmp(e->api_version, "client.authentication.k8s.io/v1") != 0 &&
       strcmp(e->api_version, "client.authentication.k8s.io/v1beta1") != 0))
    return rs_fail(err, RS_E_CONFIG, 0,
                   "%s: user \"%s\": exec plugin: invalid apiVersion \"%s\"",
                   e->origin, u, e->api_version ? e->api_version : "");
  if (!e->command)
    return rs_fail(err, RS_E_CONFIG, 0,
                   "%s: user \"%s\": exec plugin: command must be specified",
                   e->origin, u);
  if (e->interactive_mode && strcmp(e->interactive_mode, "Never") != 0 &&
      strcmp(e->interactive_mode, "IfAvailable") != 0 &&
      strcmp(e->interactive_mode, "Always") != 0)
    return rs_fail(err, RS_E_CONFIG, 0,
                   "%s: user \"%s\": exec plugin: invalid interactiveMode \"%s\"",
                   e->origin, u, e->interactive_mode);
  /* v1beta1 defaults interactiveMode to IfAvailable; v1 requires it. */
  if (!e->interactive_mode &&
      strcmp(e->api_version, "client.authentication.k8s.io/v1beta1") == 0 &&
      !(e->interactive_mode = strdup("IfAvailable")))
    return rs_oom(err);
  if (!e->interactive_mode)
    return rs_fail(err, RS_E_CONFIG, 0,
                   "%s: user \"%s\": interactiveMode must be specified to use "
                   "exec authentication plugin",
                   e->origin, u);
  return 0;
}

static int apply_overrides(rs_kube_config_t *c, const struct rs_kube_overrides *o,
                           rs_err_t *err) {
  if (o->server && *o->server) {
    if (set_str(&c->server, o->server, err) < 0) return -1;
    if (set_str(&c->tls_server_name, NULL, err) < 0) return -1;
  }
  if (o->tls_server_name && *o->tls_server_name &&
      set_str(&c->tls_server_name, o->tls_server_name, err) < 0)
    return -1;
  bool ca_override = o->certificate_authority && *o->certificate_authority;
  if (o->insecure_skip_tls_verify == 1 || ca_override) {
    c->insecure = o->insecure_skip_tls_verify == 1;
    free(c->ca_data.data);
    c->ca_data = (struct rs_bytes){0};
    if (abs_path(&c->ca_file, ca_override ? o->certificate_authority : NULL, err) < 0)
      return -1;
  }
  if (o->token && *o->token) {
    if (set_str(&c->token, o->token, err) < 0) return -1;
    if (set_str(&c->token_file, NULL, err) < 0) return -1;
  }
  if (o->client_certificate && *o->client_certificate) {
    if (abs_path(&c->cert_file, o->client_certificate, err) < 0) return -1;
    free(c->cert_data.data);
    c->cert_data = (struct rs_bytes){0};
  }
  if (o->client_key && *o->client_key) {
    if (abs_path(&c->key_file, o->client_key, err) < 0) return -1;
    free(c->key_data.data);
    c->key_data = (struct rs_bytes){0};
  }
  if (o->username && *o->username && set_str(&c->username, o->username, err) < 0)
    return -1;
  if (o->password && *o->password && set_str(&c->password, o->password, err) < 0)
    return -1;
  if (o->as && *o->as && set_str(&c->as, o->as, err) < 0) return -1;
  if (o->as_uid && *o->as_uid && set_str(&c->as_uid, o->as_uid, err) < 0) return -1;
  if (o->as_groups && o->as_groups[0]) {
    rs_strv_free(c->as_groups);
    c->as_groups = rs_strv_new();
    if (!c->as_groups) return rs_oom(err);
    for (size_t i = 0; o->as_groups[i]; i++)
      if (rs_strv_push(&c->as_groups, o->as_groups[i], err) < 0) return -1;
  }
  if (o->ns && *o->ns && set_str(&c->ns, o->ns, err) < 0) return -1;
  long long ms = 0;
  if (o->request_timeout && rs_parse_duration_ms(o->request_timeout, &ms) < 0)
    return rs_fail(err, RS_E_USAGE, 0,
                   "Invalid timeout value. Timeout must be a single integer in "
                   "seconds, or an integer followed by a corresponding time "
                   "unit (e.g. 1s | 2m | 3h)");
  c->request_timeout_ms = ms;
  return 0;
}

static int validate(rs_kube_config_t *c, rs_err_t *err) {
  const char *u = c->user_name ? c->user_name : "";
  const char *where = c->origin ? c->origin : "kubeconfig";
  if (c->insecure && (c->ca_file || c->ca_data.data))
    return rs_fail(err, RS_E_CONFIG, 0,
                   "%s: cluster \"%s\": specifying a root certificates file "
                   "with the insecure flag is not allowed",
                   where, c->cluster_name ? c->cluster_name : "");
  if (c->ca_file && c->ca_data.data) {
    /* kubectl warns and uses the data. */
    free(c->ca_file);
    c->ca_file = NULL;
  }
  if (c->cert_file && c->cert_data.data) {
    free(c->cert_file);
    c->cert_file = NULL;
  }
  if (c->key_file && c->key_data.data) {
    free(c->key_file);
    c->key_file = NULL;
  }
  bool has_cert = c->cert_file || c->cert_data.data;
  bool has_key = c->key_file || c->key_data.data;
  if (has_cert && !has_key)
    return rs_fail(err, RS_E_CONFIG, 0,
                   "%s: client-key-data or client-key must be specified for %s "
                   "to use the clientCert authentication method",
                   where, u);
  if (has_key && !has_cert)
    return rs_fail(err, RS_E_CONFIG, 0,
                   "%s: client-certificate-data or client-certificate must be "
                   "specified for %s to use the clientCert authentication method",
                   where, u);
  if ((c->token || c->token_file) && (c->username || c->password))
    return rs_fail(err, RS_E_CONFIG, 0,
                   "%s: more than one authentication method found for %s; "
                   "found [token basicAuth], only one is allowed",
                   where, u);
  if ((c->as_uid || (c->as_groups && c->as_groups[0])) && !c->as)
    return rs_fail(err, RS_E_USAGE, 0,
                   "requesting uid or groups for impersonation requires a user (--as)");
  /* Explicit credentials beat exec, as client-go does. */
  if (c->exec && (c->token || c->token_file || c->username || has_cert)) {
    rs_kube_exec_free(c->exec);
    c->exec = NULL;
  }
  if (c->exec && validate_exec(c, err) < 0) return -1;
  if (!c->server)
    return rs_fail(err, RS_E_CONFIG, 0,
                   "%s: invalid configuration: no server found for cluster \"%s\"",
                   where, c->cluster_name ? c->cluster_name : "");
  return normalise_server(c, err);
}

/* The files to read: --kubeconfig alone (it must exist), else each entry
 * of $KUBECONFIG, else ~/.kube/config (missing files are skipped). */
static int load_files(struct merged *m, const struct rs_kube_overrides *o,
                      const char *const *envp, rs_err_t *err) {
  if (o->kubeconfig && *o->kubeconfig) return load_one(m, o->kubeconfig, true, err);
  const char *list = env_get(envp, "KUBECONFIG");
  if (list && *list) {
    _cleanup_free_ char *copy = strdup(list);
    if (!copy) return rs_oom(err);
    for (char *save = NULL, *p = strtok_r(copy, ":", &save); p;
         p = strtok_r(NULL, ":", &save))
      if (*p && load_one(m, p, false, err) < 0) return -1;
    return 0;
  }
  const char *home = env_get(envp, "HOME");
  if (!home || !*home) return 0;
  _cleanup_free_ char *def = rs_strdup_printf("%s/.kube/config", home);
  if (!def) return rs_oom(err);
  return load_one(m, def, false, err);
}

static int resolve_in_cluster(rs_kube_config_t *c, const struct rs_kube_overrides *o,
                              const char *const *envp, rs_err_t *err) {
  if (in_cluster(c, o, envp, err) < 0 || apply_overrides(c, o, err) < 0) return -1;
  if (!c->ns && set_str(&c->ns, "default", err) < 0) return -1;
  return validate(c, err);
}

/* What the files and flags select, and the files each part came from. */
struct selection {
  const struct merged *m;
  const char *files;      /* the files read, for errors */
  const struct kc_context *ctx;
  const char *cluster, *user;
  const rs_kcfg_file_t *ctx_from, *cl_from, *us_from;
};

/* The context: --context, else the first current-context.  Without one,
 * --server or --cluster must say where to go. */
static int select_context(rs_kube_config_t *c, struct selection *s,
                          const struct rs_kube_overrides *o, rs_err_t *err) {
  const char *name = (o->context && *o->context) ? o->context : NULL;
  for (size_t f = 0; !name && f < s->m->n; f++)
    if (s->m->files[f]->current_context) name = s->m->files[f]->current_context;
  bool server = o->server && *o->server;
  if (name) {
    if (!(s->ctx = find_context(s->m, name, &s->ctx_from)))
      return rs_fail(err, RS_E_CONFIG, 0, "context \"%s\" does not exist (in %s)",
                     name, s->files);
    if (set_str(&c->context, name, err) < 0) return -1;
  } else if (merged_empty(s->m) && !server) {
    return rs_fail(err, RS_E_CONFIG, 0,
                   "invalid configuration: no configuration has been provided (%s), "
                   "try --kubeconfig or set KUBECONFIG",
                   s->files);
  } else if (!server && !(o->cluster && *o->cluster)) {
    return rs_fail(err, RS_E_CONFIG, 0,
                   "no current-context is set (in %s): use --context", s->files);
  }
  s->cluster = (o->cluster && *o->cluster) ? o->cluster : s->ctx ? s->ctx->cluster : NULL;
  s->user = (o->user && *o->user) ? o->user : s->ctx ? s->ctx->user : NULL;
  if (set_str(&c->cluster_name, s->cluster, err) < 0 ||
      set_str(&c->user_name, s->user, err) < 0 ||
      (s->ctx && set_str(&c->ns, s->ctx->ns, err) < 0))
    return -1;
  return 0;
}

static int take_cluster(rs_kube_config_t *c, struct selection *s,
                        const struct rs_kube_overrides *o, rs_err_t *err) {
  if (!s->cluster) return 0;
  const struct kc_cluster *k = find_cluster(s->m, s->cluster, &s->cl_from);
  if (!k && !(o->server && *o->server))
    return rs_fail(err, RS_E_CONFIG, 0, "cluster \"%s\" does not exist (in %s)",
                   s->cluster, s->files);
  return k ? from_cluster(c, k, err) : 0;
}

/* auth-provider plugins are gone from kubectl: name what replaces them. */
static int refuse_auth_provider(const struct kc_user *u, const char *name,
                                const rs_kcfg_file_t *from, rs_err_t *err) {
  const char *n = u->auth_provider;
  const char *hint = strcmp(n, "gcp") == 0 ? "gke-gcloud-auth-plugin"
                     : strcmp(n, "azure") == 0 ? "kubelogin (Azure)"
                     : strcmp(n, "oidc") == 0 ? "kubelogin (int128/kubelogin, oidc-login)"
                                              : "the provider's credential plugin";
  return rs_fail(err, RS_E_CONFIG, 0,
                 "%s:%d:%d: user \"%s\" uses auth-provider \"%s\", which "
                 "kubectl-runtime-switch does not support: configure an exec "
                 "credential plugin instead, e.g. %s",
                 from->path, u->line, u->col, name, n, hint);
}

static int take_user(rs_kube_config_t *c, struct selection *s,
                     const struct rs_kube_overrides *o, rs_err_t *err) {
  if (!s->user) return 0;
  const struct kc_user *u = find_user(s->m, s->user, &s->us_from);
  if (!u)
    return rs_fail(err, RS_E_CONFIG, 0, "auth info \"%s\" does not exist (in %s)",
                   s->user, s->files);
  if (from_user(c, u, err) < 0) return -1;
  if (u->auth_provider && !(o->token && *o->token) && !u->token)
    return refuse_auth_provider(u, s->user, s->us_from, err);
  return 0;
}

/* From the merged files: context, cluster, user, then the flags. */
static int resolve_files(rs_kube_config_t *c, const struct merged *m,
                         const struct rs_kube_overrides *o, rs_err_t *err) {
  _cleanup_free_ char *files = files_list(m);
  if (!files) return rs_oom(err);
  struct selection s = {.m = m, .files = files};
  if (select_context(c, &s, o, err) < 0 || take_cluster(c, &s, o, err) < 0 ||
      take_user(c, &s, o, err) < 0)
    return -1;
  const rs_kcfg_file_t *origin = s.ctx_from ? s.ctx_from : s.cl_from ? s.cl_from : s.us_from;
  if (!(c->origin = strdup(origin ? origin->path : files))) return rs_oom(err);
  if (apply_overrides(c, o, err) < 0) return -1;
  if (!c->ns && set_str(&c->ns, "default", err) < 0) return -1;
  if (s.cl_from && c->exec && c->exec->provide_cluster_info) {
    const struct kc_cluster *k = find_cluster(m, s.cluster, &s.cl_from);
    if (k && k->exec_ext && !(c->exec->cluster_config = strdup(k->exec_ext)))
      return rs_oom(err);
  }
  return validate(c, err);
}

int rs_kube_config_resolve(const struct rs_kube_overrides *o,
                           const char *const *envp, rs_kube_config_t **ret,
                           rs_err_t *err) {
  struct rs_kube_overrides none = RS_KUBE_OVERRIDES_INIT;
  if (!o) o = &none;
  _cleanup_(merged_clear) struct merged m = {.n = 0};
  _cleanup_kube_config_ rs_kube_config_t *c = calloc(1, sizeof *c);
  if (!c) return rs_oom(err);
  if (!(c->as_groups = rs_strv_new())) return rs_oom(err);
  if (load_files(&m, o, envp, err) < 0) return -1;
  bool configured = !merged_empty(&m) || (o->server && *o->server) ||
                    (o->kubeconfig && *o->kubeconfig);
  if (!configured && in_cluster_possible(o, envp)) {
    if (resolve_in_cluster(c, o, envp, err) < 0) return -1;
  } else if (resolve_files(c, &m, o, err) < 0) {
    return -1;
  }
  *ret = TAKE_PTR(c);
  return 0;
}

static int load_bytes(char **file, struct rs_bytes *data, const char *what,
                      rs_err_t *err) {
  if (!*file) return 0;
  char *buf = NULL;
  size_t len = 0;
  if (rs_read_file(*file, RS_KUBE_FILE_MAX, &buf, &len, err) < 0)
    return rs_wrap(err, "unable to read %s", what);
  free(data->data);
  data->data = (unsigned char *)buf;
  data->len = len;
  free(*file);
  *file = NULL;
  return 0;
}

int rs_kube_config_load_files(rs_kube_config_t *c, rs_err_t *err) {
  if (load_bytes(&c->ca_file, &c->ca_data, "certificate-authority", err) < 0 ||
      load_bytes(&c->cert_file, &c->cert_data, "client-certificate", err) < 0 ||
      load_bytes(&c->key_file, &c->key_data, "client-key", err) < 0)
    return -1;
  return 0;
}

int rs_kube_read_token_file(const char *path, char **ret, rs_err_t *err) {
  char *data = NULL;
  if (rs_read_file(path, RS_KUBE_FILE_MAX, &data, NULL, err) < 0)
    return rs_wrap(err, "unable to read tokenFile");
  size_t n = strlen(data);
  while (n && (data[n - 1] == '\n' || data[n - 1] == '\r' ||
               data[n - 1] == ' ' || data[n - 1] == '\t'))
    data[--n] = '\0';
  *ret = data;
  return 0;
}

static int set_opt_str(json_t *o, const char *k, const char *v) {
  return v ? json_object_set_new(o, k, json_string(v)) : 0;
}

static int set_b64(json_t *o, const char *k, const struct rs_bytes *b,
                   bool show) {
  if (!b->data) return 0;
  if (!show) return json_object_set_new(o, k, json_string("REDACTED"));
  _cleanup_free_ char *s = rs_base64_encode(b->data, b->len);
  return s ? json_object_set_new(o, k, json_string(s)) : -1;
}

/* The exec plugin as `config resolve` shows it (env as name/value pairs). */
static json_t *exec_to_json(const struct rs_kube_exec *x) {
  _cleanup_(json_decrefp) json_t *e = json_object();
  if (!e || set_opt_str(e, "command", x->command) < 0 ||
      json_object_set_new(e, "args", json_array()) < 0 ||
      json_object_set_new(e, "env", json_array()) < 0)
    return NULL;
  json_t *args = json_object_get(e, "args"), *env = json_object_get(e, "env");
  int r = 0;
  for (size_t i = 0; x->args[i]; i++)
    r |= json_array_append_new(args, json_string(x->args[i]));
  for (size_t i = 0; x->env[i]; i++) {
    const char *eq = strchr(x->env[i], '=');
    json_t *pair = json_object();
    r |= json_array_append_new(env, pair);
    r |= json_object_set_new(pair, "name", json_stringn(x->env[i], eq ? (size_t)(eq - x->env[i]) : 0));
    r |= json_object_set_new(pair, "value", json_string(eq ? eq + 1 : ""));
  }
  r |= set_opt_str(e, "apiVersion", x->api_version);
  r |= set_opt_str(e, "installHint", x->install_hint);
  r |= set_opt_str(e, "interactiveMode", x->interactive_mode);
  r |= json_object_set_new(e, "provideClusterInfo", json_boolean(x->provide_cluster_info));
  return r ? NULL : TAKE_PTR(e);
}

json_t *rs_kube_config_to_json(const rs_kube_config_t *c, bool show) {
  _cleanup_(json_decrefp) json_t *o = json_object();
  if (!o) return NULL;
  const char *auth = "none";
  if (c->token || c->token_file) auth = c->token ? "token" : "tokenFile";
  else if (c->username || c->password) auth = "basic";
  else if (c->exec) auth = "exec";
  if ((c->cert_file || c->cert_data.data) && strcmp(auth, "none") == 0)
    auth = "client-certificate";
  int r = 0;
  r |= set_opt_str(o, "context", c->context);
  r |= set_opt_str(o, "cluster", c->cluster_name);
  r |= set_opt_str(o, "user", c->user_name);
  r |= set_opt_str(o, "namespace", c->ns);
  r |= set_opt_str(o, "server", c->server);
  r |= set_opt_str(o, "tls-server-name", c->tls_server_name);
  r |= json_object_set_new(o, "insecure-skip-tls-verify", json_boolean(c->insecure));
  r |= set_opt_str(o, "proxy-url", c->proxy_url);
  r |= set_opt_str(o, "certificate-authority", c->ca_file);
  r |= set_b64(o, "certificate-authority-data", &c->ca_data, true);
  r |= set_opt_str(o, "client-certificate", c->cert_file);
  r |= set_b64(o, "client-certificate-data", &c->cert_data, true);
  r |= set_opt_str(o, "client-key", c->key_file);
  r |= set_b64(o, "client-key-data", &c->key_data, show);
  r |= set_opt_str(o, "token", c->token ? (show ? c->token : "REDACTED") : NULL);
  r |= set_opt_str(o, "tokenFile", c->token_file);
  r |= set_opt_str(o, "username", c->username);
  r |= set_opt_str(o, "password", c->password ? (show ? c->password : "REDACTED") : NULL);
  r |= set_opt_str(o, "as", c->as);
  r |= set_opt_str(o, "as-uid", c->as_uid);
  if (c->as_groups && c->as_groups[0]) {
    json_t *g = json_array();
    for (size_t i = 0; g && c->as_groups[i]; i++)
      json_array_append_new(g, json_string(c->as_groups[i]));
    r |= json_object_set_new(o, "as-groups", g);
  }
  if (c->exec) r |= json_object_set_new(o, "exec", exec_to_json(c->exec));
  r |= json_object_set_new(o, "auth", json_string(auth));
  r |= json_object_set_new(o, "in-cluster", json_boolean(c->in_cluster));
  if (c->request_timeout_ms)
    r |= json_object_set_new(o, "request-timeout-ms", json_integer(c->request_timeout_ms));
  return r ? NULL : TAKE_PTR(o);
}
