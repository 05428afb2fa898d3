#include "kube/exec_auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "common/cleanup.h"
#include "common/proc.h"
#include "common/strutil.h"

extern char **environ;


void rs_exec_cred_clear(struct rs_exec_cred *cred) {
  if (!cred) return;
  if (cred->token) explicit_bzero(cred->token, strlen(cred->token));
  free(cred->token);
  free(cred->cert.data);
  if (cred->key.data) explicit_bzero(cred->key.data, cred->key.len);
  free(cred->key.data);
  *cred = (struct rs_exec_cred){0};
}

static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)**p)) return -1;
    v = v * 10 + (*(*p)++ - '0');
  }
  *out = v;
  return 0;
}

int rs_parse_rfc3339(const char *s, long long *ret) {
  struct tm tm = {0};
  int y, mo, d, h, mi, sec;
  const char *p = s;
  if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
      digits(&p, 2, &d) || (*p != 'T' && *p != 't') || !*p++ ||
      digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
      digits(&p, 2, &sec))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return -1;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p)) return -1;
    while (isdigit((unsigned char)*p)) p++;
  }
  long long off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1, oh, om;
    if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om)) return -1;
    off = sign * (oh * 3600LL + om * 60LL);
  } else {
    return -1;
  }
  if (*p) return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  *ret = (long long)timegm(&tm) - off;
  return 0;
}

static int take_pem(json_t *status, const char *key, struct rs_bytes *out) {
  const char *s = json_string_value(json_object_get(status, key));
  if (!s || !*s) return 0;
  size_t n = strlen(s);
  out->data = malloc(n + 1);
  if (!out->data) return -1;
  memcpy(out->data, s, n + 1);
  out->len = n;
  return 0;
}

/* The plugin's output holds a secret: none of it goes into an error.
 * jansson's message quotes the text it stopped at (" near '...'", the
 * token itself when a string is cut short): keep only what went wrong. */
static void json_error_sans_text(json_error_t *je) {
  char *near = strstr(je->text, " near ");
  if (near) *near = '\0';
}

/* kind and apiVersion as the plugin wrote them, when they have the shape
 * of one (a name, a group/version); anything else may be a secret. */
static const char *shown_kind(const char *v) {
  size_t n = v ? strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") : 0;
  return !v ? "" : n == strlen(v) && n <= 40 ? v : "(not shown)";
}

static const char *shown_version(const char *v) {
  static const char group[] = "client.authentication.k8s.io/";
  if (!v) return "";
  const char *ver = strncmp(v, group, sizeof group - 1) == 0 ? v + sizeof group - 1 : "";
  size_t n = strspn(ver, "abcdefghijklmnopqrstuvwxyz0123456789");
  return n > 0 && n <= 16 && !ver[n] ? v : "(not shown)";
}

int rs_exec_cred_parse(const char *data, size_t len, const char *api_version,
                       struct rs_exec_cred *ret, rs_err_t *err) {
  if (len > RS_EXEC_OUT_MAX)
    return rs_fail(err, RS_E_LIMIT, 0, "exec plugin output is larger than %zu bytes",
                   RS_EXEC_OUT_MAX);
  json_error_t je;
  _cleanup_(json_decrefp) json_t *root = json_loadb(data, len, 0, &je);
  if (!root) {
    json_error_sans_text(&je);
    return rs_fail(err, RS_E_AUTH, 0,
                   "decoding stdout of the exec plugin: %s (line %d column %d)",
                   je.text, je.line, je.column);
  }
  if (!json_is_object(root))
    return rs_fail(err, RS_E_AUTH, 0, "exec plugin did not return an object");
  const char *kind = json_string_value(json_object_get(root, "kind"));
  const char *av = json_string_value(json_object_get(root, "apiVersion"));
  if (!kind || strcmp(kind, "ExecCredential") != 0)
    return rs_fail(err, RS_E_AUTH, 0,
                   "exec plugin returned kind \"%s\", expected ExecCredential",
                   shown_kind(kind));
  if (!av || !api_version || strcmp(av, api_version) != 0)
    return rs_fail(err, RS_E_AUTH, 0,
                   "exec plugin is configured to use API version %s, plugin "
                   "returned version %s",
                   api_version ? api_version : "", shown_version(av));
  json_t *status = json_object_get(root, "status");
  if (!json_is_object(status))
    return rs_fail(err, RS_E_AUTH, 0, "exec plugin didn't return a status field");
  _cleanup_(rs_exec_cred_clear) struct rs_exec_cred c = {0};
  const char *tok = json_string_value(json_object_get(status, "token"));
  if (tok && *tok && !(c.token = strdup(tok)))
    return rs_oom(err);
  if (take_pem(status, "clientCertificateData", &c.cert) < 0 ||
      take_pem(status, "clientKeyData", &c.key) < 0)
    return rs_oom(err);
  if (!c.token && !c.cert.data && !c.key.data)
    return rs_fail(err, RS_E_AUTH, 0,
                   "exec plugin didn't return a token or cert/key pair");
  if (!c.cert.data != !c.key.data)
    return rs_fail(err, RS_E_AUTH, 0,
                   "exec plugin returned only certificate or key, not both");
  json_t *exp = json_object_get(status, "expirationTimestamp");
  if (exp && !json_is_null(exp)) {
    const char *es = json_string_value(exp);
    if (!es || rs_parse_rfc3339(es, &c.expiry) < 0)
      return rs_fail(err, RS_E_AUTH, 0,
                     "exec plugin returned an invalid expirationTimestamp");
  }
  *ret = c;
  c = (struct rs_exec_cred){0};
  return 0;
}

char *rs_exec_info_json(const rs_kube_config_t *c, rs_err_t *err) {
  const struct rs_kube_exec *e = c->exec;
  _cleanup_(json_decrefp) json_t *root = json_object();
  if (!root) {
    rs_oom(err);
    return NULL;
  }
  if (json_object_set_new(root, "kind", json_string("ExecCredential")) < 0 ||
      json_object_set_new(root, "apiVersion", json_string(e->api_version)) < 0 ||
      json_object_set_new(root, "spec", json_object()) < 0) {
    rs_oom(err);
    return NULL;
  }
  json_t *spec = json_object_get(root, "spec");
  json_object_set_new(spec, "interactive", json_false());
  if (e->provide_cluster_info) {
    json_t *cl = json_object();
    json_object_set_new(cl, "server", json_string(c->server ? c->server : ""));
    if (c->tls_server_name)
      json_object_set_new(cl, "tls-server-name", json_string(c->tls_server_name));
    if (c->insecure) json_object_set_new(cl, "insecure-skip-tls-verify", json_true());
    if (c->ca_data.data) {
      _cleanup_free_ char *b = rs_base64_encode(c->ca_data.data, c->ca_data.len);
      if (b) json_object_set_new(cl, "certificate-authority-data", json_string(b));
    }
    if (c->proxy_url) json_object_set_new(cl, "proxy-url", json_string(c->proxy_url));
    if (c->disable_compression)
      json_object_set_new(cl, "disable-compression", json_true());
    if (e->cluster_config) {
      json_t *cfg = json_loads(e->cluster_config, JSON_DECODE_ANY, NULL);
      if (cfg) json_object_set_new(cl, "config", cfg);
    }
    json_object_set_new(spec, "cluster", cl);
  }
  char *s = json_dumps(root, JSON_COMPACT);
  if (!s) rs_oom(err);
  return s;
}

/* The parent's environment, then the plugin's env entries (replacing names
 * already there), then KUBERNETES_EXEC_INFO. */
static char **build_env(const char *const *parent, char *const *extra,
                        const char *info, rs_err_t *err) {
  _cleanup_strv_ char **v = rs_strv_new();
  if (!v) {
    rs_oom(err);
    return NULL;
  }
  for (size_t i = 0; parent && parent[i]; i++) {
    const char *eq = strchr(parent[i], '=');
    if (!eq) continue;
    size_t n = (size_t)(eq - parent[i]);
    bool replaced = strncmp(parent[i], "KUBERNETES_EXEC_INFO=", 21) == 0;
    for (size_t j = 0; !replaced && extra && extra[j]; j++)
      if (strncmp(extra[j], parent[i], n + 1) == 0) replaced = true;
    if (!replaced && rs_strv_push(&v, parent[i], err) < 0) return NULL;
  }
  for (size_t j = 0; extra && extra[j]; j++)
    if (rs_strv_push(&v, extra[j], err) < 0) return NULL;
  if (rs_strv_consume(&v, rs_strdup_printf("KUBERNETES_EXEC_INFO=%s", info), err) < 0)
    return NULL;
  return TAKE_PTR(v);
}

static int not_found(const rs_kube_config_t *c, const struct rs_kube_exec *e, rs_err_t *err) {
  const char *user = c->user_name ? c->user_name : "";
  if (e->install_hint)
    return rs_fail(err, RS_E_AUTH, ENOENT,
                   "exec: executable %s not found (user \"%s\" in %s)\n\n"
                   "It looks like you are trying to use a client-go credential "
                   "plugin that is not installed.\n\n%s",
                   e->command, user, e->origin, e->install_hint);
  return rs_fail(err, RS_E_AUTH, ENOENT, "exec: executable %s not found (user \"%s\" in %s)",
                 e->command, user, e->origin);
}

/* The plugin's stdout holds a credential: wiped before it is freed. */
static void proc_result_wipe(struct rs_proc_result *r) {
  if (r->out) explicit_bzero(r->out, r->out_len);
  rs_proc_result_free(r);
}

int rs_exec_cred_run(const rs_kube_config_t *c, const char *const *envp,
                     struct rs_exec_cred *ret, rs_err_t *err) {
  const struct rs_kube_exec *e = c->exec;
  if (!e) return rs_fail(err, RS_E_AUTH, 0, "no exec plugin configured");
  if (!envp) envp = (const char *const *)environ;
  if (e->interactive_mode && strcmp(e->interactive_mode, "Always") == 0)
    return rs_fail(err, RS_E_AUTH, 0,
                   "exec plugin %s: interactiveMode Always is not supported "
                   "by kubectl-runtime-switch (log in with the plugin first)",
                   e->command);
  _cleanup_free_ char *info = rs_exec_info_json(c, err);
  if (!info) return -1;
  _cleanup_strv_ char **env = build_env(envp, e->env, info, err);
  if (!env) return -1;
  _cleanup_strv_ char **argv = rs_strv_new();
  if (!argv || rs_strv_push(&argv, e->command, err) < 0)
    return rs_oom(err);
  for (size_t i = 0; e->args[i]; i++)
    if (rs_strv_push(&argv, e->args[i], err) < 0) return -1;

  const char *path = NULL;
  for (size_t i = 0; env[i]; i++)
    if (strncmp(env[i], "PATH=", 5) == 0) path = env[i] + 5;
  _cleanup_free_ char *exe = rs_proc_which(e->command, path);
  if (!exe) return not_found(c, e, err);
  struct rs_proc_opts po = {
      .argv = (const char *const *)argv,
      .envp = (const char *const *)env,
      .path = path,
      .timeout_ms = RS_EXEC_TIMEOUT_MS,
      .out_max = RS_EXEC_OUT_MAX,
      .stderr_passthrough = true,
  };
  _cleanup_(proc_result_wipe) struct rs_proc_result pr = {0};
  if (rs_proc_run(&po, &pr, err) < 0)
    return rs_wrap(err, "exec plugin of user \"%s\"", c->user_name ? c->user_name : "");
  if (pr.timed_out)
    return rs_fail(err, RS_E_AUTH, 0, "exec: executable %s timed out after %d s",
                   e->command, RS_EXEC_TIMEOUT_MS / 1000);
  if (pr.status != 0)
    return rs_fail(err, RS_E_AUTH, pr.status,
                   "exec: executable %s failed with exit code %d", e->command, pr.status);
  if (pr.out_truncated)
    return rs_fail(err, RS_E_LIMIT, 0, "exec: executable %s wrote more than %zu bytes",
                   e->command, RS_EXEC_OUT_MAX);
  if (rs_exec_cred_parse(pr.out, pr.out_len, e->api_version, ret, err) < 0)
    return rs_wrap(err, "exec: executable %s", e->command);
  return 0;
}
