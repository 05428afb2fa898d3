/* What a request carries to say who sends it: the client certificate
 * (from the config, else from the exec plugin), a bearer token (static,
 * from a file read again every minute as client-go does, or from the exec
 * plugin, run again near its expiry and once on a 401), basic auth, and
 * the impersonation headers.  Secrets are wiped before they are freed. */
#include <string.h>
#include <time.h>

#include "client_int.h"
#include "common/clock.h"
#include "common/cleanup.h"
#include "common/strutil.h"

#define TOKEN_FILE_REFRESH_MS 60000

int auth_init(rs_kube_client_t *c, rs_err_t *err) {
  if (c->cfg->token && !(c->token = strdup(c->cfg->token))) return rs_oom(err);
  if (c->cfg->token_file) {
    if (rs_kube_read_token_file(c->cfg->token_file, &c->token, err) < 0) return -1;
    c->token_read_at = rs_now_ms();
  }
  return 0;
}

static int refresh_exec(rs_kube_client_t *c, bool force, rs_err_t *err) {
  if (!c->cfg->exec) return 0;
  time_t now = time(NULL);
  if (c->have_cred && !force && (c->cred.expiry == 0 || c->cred.expiry > now + 10))
    return 0;
  struct rs_exec_cred cred = {0};
  if (rs_exec_cred_run(c->cfg, c->o.envp, &cred, err) < 0) return -1;
  rs_exec_cred_clear(&c->cred);
  c->cred = cred;
  c->have_cred = true;
  return 0;
}

static void refresh_token_file(rs_kube_client_t *c) {
  if (!c->cfg->token_file || c->cfg->token) return;
  if (rs_now_ms() - c->token_read_at < TOKEN_FILE_REFRESH_MS) return;
  char *t = NULL;
  /* The last successfully read value stays in use, as client-go. */
  if (rs_kube_read_token_file(c->cfg->token_file, &t, NULL) == 0) {
    free(c->token);
    c->token = t;
  }
  c->token_read_at = rs_now_ms();
}

int auth_refresh(rs_kube_client_t *c, rs_err_t *err) {
  if (refresh_exec(c, false, err) < 0) return -1;
  refresh_token_file(c);
  return 0;
}

int auth_renew_exec(rs_kube_client_t *c, rs_err_t *err) {
  return refresh_exec(c, true, err);
}

void auth_set_cert(const rs_kube_client_t *c, CURL *e) {
  const struct rs_bytes *cert = &c->cfg->cert_data, *key = &c->cfg->key_data;
  if (!cert->data && c->have_cred && c->cred.cert.data) {
    cert = &c->cred.cert;
    key = &c->cred.key;
  }
  if (!cert->data || !key->data) return;
  struct curl_blob cb = {cert->data, cert->len, CURL_BLOB_COPY};
  struct curl_blob kb = {key->data, key->len, CURL_BLOB_COPY};
  curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
  curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
  curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
  curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
}

static int add_bearer(const char *token, struct curl_slist **h, rs_err_t *err) {
  _cleanup_free_ char *a = rs_strdup_printf("Authorization: Bearer %s", token);
  if (!a) return rs_oom(err);
  int r = header_add(h, a, err);
  explicit_bzero(a, strlen(a));
  return r;
}

static int add_impersonation(const rs_kube_config_t *cfg, struct curl_slist **h,
                             rs_err_t *err) {
  _cleanup_free_ char *a = rs_strdup_printf("Impersonate-User: %s", cfg->as);
  if (!a) return rs_oom(err);
  if (header_add(h, a, err) < 0) return -1;
  for (size_t i = 0; cfg->as_groups[i]; i++) {
    _cleanup_free_ char *g = rs_strdup_printf("Impersonate-Group: %s", cfg->as_groups[i]);
    if (!g) return rs_oom(err);
    if (header_add(h, g, err) < 0) return -1;
  }
  if (cfg->as_uid) {
    _cleanup_free_ char *u = rs_strdup_printf("Impersonate-Uid: %s", cfg->as_uid);
    if (!u) return rs_oom(err);
    if (header_add(h, u, err) < 0) return -1;
  }
  return 0;
}

int auth_add_headers(const rs_kube_client_t *c, CURL *e, struct curl_slist **h,
                     rs_err_t *err) {
  const rs_kube_config_t *cfg = c->cfg;
  const char *token = c->token;
  if (!token && !cfg->username && c->have_cred && c->cred.token) token = c->cred.token;
  if (token) {
    if (add_bearer(token, h, err) < 0) return -1;
  } else if (cfg->username || cfg->password) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, cfg->username ? cfg->username : "");
    curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
  }
  return cfg->as ? add_impersonation(cfg, h, err) : 0;
}
