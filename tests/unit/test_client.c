/* The API client against a real local HTTPS endpoint (tests/fakes/fakeapi.py)
 * with the tests' own certificates. */
#include <criterion/criterion.h>
#include <curl/curl.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube_fixture.h"

static struct fake F;

#define CLIENT_CERT_USER                                                        \
  "    client-certificate: %CERTS%/client.crt\n    client-key: %CERTS%/client.key\n"

static void stop(void) { fake_stop(&F); }

static void start_mtls(void) {
  const char *a[] = {"--client-ca", "--nodes", "5", NULL};
  fake_start(&F, a);
}
static void start_token(void) {
  const char *a[] = {"--token", "s3cret", "--nodes", "5", NULL};
  fake_start(&F, a);
}
static void start_open(void) {
  const char *a[] = {"--nodes", "5", NULL};
  fake_start(&F, a);
}

/* ---- TLS and authentication ---- */

Test(tls, client_certificate_accepted, .init = start_mtls, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, CLIENT_CERT_USER, &e);
  cr_assert(c, "%s", e.msg);
  json_auto_t *v = NULL;
  cr_assert_eq(rs_kube_get(c, "/version", &v, &e), 0, "%s", e.msg);
  cr_assert_str_eq(json_string_value(json_object_get(v, "gitVersion")), "v1.33.0-fake");
}

Test(tls, client_certificate_data_blobs, .init = start_mtls, .fini = stop) {
  /* the same key pair inline as base64 (never written to disk) */
  char *crt = NULL, *key = NULL;
  char p[PATH_MAX + 32];
  snprintf(p, sizeof p, "%s/client.crt", F.certs);
  cr_assert_eq(rs_read_file(p, 1 << 20, &crt, NULL, NULL), 0);
  snprintf(p, sizeof p, "%s/client.key", F.certs);
  cr_assert_eq(rs_read_file(p, 1 << 20, &key, NULL, NULL), 0);
  _cleanup_free_ char *bc = rs_base64_encode((unsigned char *)crt, strlen(crt));
  _cleanup_free_ char *bk = rs_base64_encode((unsigned char *)key, strlen(key));
  _cleanup_free_ char *user = rs_strdup_printf(
      "    client-certificate-data: %s\n    client-key-data: %s\n", bc, bk);
  free(crt);
  free(key);
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, user, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
}

Test(tls, missing_client_certificate_refused, .init = start_mtls, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  /* One attempt: the refusal is the subject here, not the retry policy. When
   * the server's alert reaches the client as such (a read), the client does
   * not retry it anyway; when it lands on a write, it looks like a broken
   * connection (EPIPE, "bad write retry") and would be retried for ~35 s. */
  struct rs_kube_client_opts co = {.max_retries = -1};
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client_o(&F, NULL, NULL, &co, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), -1);
  cr_assert(e.kind == RS_E_TRANSPORT || rs_kube_err_is(&e, 401), "%d %s", e.kind, e.msg);
}

Test(tls, wrong_ca_refused, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c =
      fake_client(&F, "    certificate-authority: %CERTS%/wrong-ca.crt\n", NULL, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), -1);
  cr_assert_eq(e.kind, RS_E_TRANSPORT, "%s", e.msg);
  cr_assert_eq(e.code, CURLE_PEER_FAILED_VERIFICATION, "%d %s", e.code, e.msg);
}

Test(tls, insecure_skip_verify, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c =
      fake_client(&F, "    insecure-skip-tls-verify: true\n", NULL, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
}

Test(tls, tls_server_name, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  /* the right name verifies; Host stays the server's */
  rs_kube_client_t *c = fake_client(
      &F, "    certificate-authority: %CERTS%/ca.crt\n    tls-server-name: fake.example.test\n",
      NULL, &e);
  cr_assert(c, "%s", e.msg);
  json_auto_t *v = NULL;
  cr_assert_eq(rs_kube_get(c, "/test/echo", &v, &e), 0, "%s", e.msg);
  char host[64];
  snprintf(host, sizeof host, "127.0.0.1:%d", F.port);
  cr_assert_str_eq(json_string_value(json_object_get(v, "host")), host);
  rs_kube_client_free(c);
  /* a name not in the certificate is refused: the name is really used */
  c = fake_client(&F,
                  "    certificate-authority: %CERTS%/ca.crt\n    tls-server-name: wrong.example.test\n",
                  NULL, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), -1);
  cr_assert_eq(e.kind, RS_E_TRANSPORT, "%s", e.msg);
  rs_kube_client_free(c);
}

Test(auth, bearer_token, .init = start_token, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  rs_kube_client_t *c = fake_client(&F, NULL, "    token: s3cret\n", &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
  rs_kube_client_free(c);
  c = fake_client(&F, NULL, "    token: wrong\n", &e);
  cr_assert(c);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), -1);
  cr_assert(rs_kube_err_is(&e, 401), "%s", e.msg);
  cr_assert_str_eq(e.reason, "Unauthorized");
  rs_kube_client_free(c);
}

Test(auth, token_file_relative_to_kubeconfig, .init = start_token, .fini = stop) {
  char p[PATH_MAX + 16];
  snprintf(p, sizeof p, "%s/token", F.tmp);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_write_file_atomic(p, "s3cret\n", 7, 0600, &e), 0);
  rs_kube_client_t *c = fake_client(&F, NULL, "    tokenFile: token\n", &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
  rs_kube_client_free(c);
  rs_err_clear(&e);
}

Test(auth, basic, .fini = stop) {
  const char *a[] = {"--basic", "admin:pa55", NULL};
  fake_start(&F, a);
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c =
      fake_client(&F, NULL, "    username: admin\n    password: pa55\n", &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
}

static char *exec_user(const char *mode, const char *api) {
  return rs_strdup_printf(
      "    exec:\n      apiVersion: client.authentication.k8s.io/%s\n"
      "      command: %%ROOT%%/tests/fakes/exec-plugin.py\n      interactiveMode: Never\n"
      "      provideClusterInfo: true\n"
      "      env:\n      - {name: EXEC_MODE, value: %s}\n"
      "      - {name: EXEC_COUNT_FILE, value: %s/count}\n"
      "      - {name: EXEC_CERT_DIR, value: %s}\n",
      api, mode, F.tmp, F.certs);
}

static size_t count_lines(void) {
  char p[PATH_MAX + 16], *d = NULL;
  snprintf(p, sizeof p, "%s/count", F.tmp);
  if (rs_read_file(p, 1 << 20, &d, NULL, NULL) < 0) return 0;
  size_t n = 0;
  for (char *q = d; *q; q++) n += *q == '\n';
  free(d);
  return n;
}

Test(exec, token_v1_and_cluster_info, .init = start_token, .fini = stop) {
  _cleanup_free_ char *u = exec_user("token", "v1");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, u, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(count_lines(), 1, "the credential is cached until it expires");
  char p[PATH_MAX + 16], *d = NULL;
  snprintf(p, sizeof p, "%s/count", F.tmp);
  cr_assert_eq(rs_read_file(p, 1 << 20, &d, NULL, NULL), 0);
  json_auto_t *info = json_loads(d, JSON_DISABLE_EOF_CHECK, NULL);
  free(d);
  cr_assert_str_eq(json_string_value(json_object_get(info, "apiVersion")),
                   "client.authentication.k8s.io/v1");
  json_t *cl = json_object_get(json_object_get(info, "spec"), "cluster");
  cr_assert(json_string_value(json_object_get(cl, "server")));
  cr_assert(json_string_value(json_object_get(cl, "certificate-authority-data")));
}

Test(exec, rerun_once_on_401, .init = start_token, .fini = stop) {
  _cleanup_free_ char *u = exec_user("bad-then-good", "v1beta1");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, u, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(count_lines(), 2);
}

Test(exec, client_certificate_output, .init = start_mtls, .fini = stop) {
  _cleanup_free_ char *u = exec_user("cert", "v1");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, u, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
}

Test(exec, failing_plugin_named, .init = start_token, .fini = stop) {
  _cleanup_free_ char *u = exec_user("fail", "v1");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, u, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), -1);
  cr_assert(strstr(e.msg, "exec-plugin.py failed with exit code 3"), "%s", e.msg);
}

Test(exec, missing_plugin_install_hint, .init = start_token, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(
      &F, NULL,
      "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
      "      command: no-such-credential-plugin-xyz\n"
      "      installHint: install it with 'apt-get install xyz'\n",
      &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), -1);
  cr_assert(strstr(e.msg, "no-such-credential-plugin-xyz not found"), "%s", e.msg);
  cr_assert(strstr(e.msg, "apt-get install xyz"), "%s", e.msg);
}

/* ---- requests ---- */

static json_t *echo(rs_kube_client_t *c, int method, int patch, json_t *body) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  struct rs_kube_req r = {.method = method, .path = "/test/echo?x=1", .body = body, .patch = patch};
  json_t *v = NULL;
  cr_assert_eq(rs_kube_request(c, &r, &v, &e), 0, "%s", e.msg);
  return v;
}

Test(request, verbs_and_exactly_one_content_type, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  json_auto_t *body = json_pack("{s:{s:b}}", "spec", "unschedulable", 1);
  static const struct {
    int method, patch;
    const char *name, *ct;
  } cases[] = {
      {RS_HTTP_GET, 0, "GET", NULL},
      {RS_HTTP_POST, 0, "POST", "application/json"},
      {RS_HTTP_PUT, 0, "PUT", "application/json"},
      {RS_HTTP_PATCH, RS_PATCH_STRATEGIC, "PATCH", "application/strategic-merge-patch+json"},
      {RS_HTTP_PATCH, RS_PATCH_MERGE, "PATCH", "application/merge-patch+json"},
      {RS_HTTP_PATCH, RS_PATCH_JSON, "PATCH", "application/json-patch+json"},
      {RS_HTTP_DELETE, 0, "DELETE", "application/json"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    json_auto_t *v = echo(c, cases[i].method, cases[i].patch, cases[i].method == RS_HTTP_GET ? NULL : body);
    cr_assert_str_eq(json_string_value(json_object_get(v, "method")), cases[i].name);
    json_t *cts = json_object_get(v, "contentTypes");
    if (cases[i].ct) {
      cr_assert_eq(json_array_size(cts), 1, "%s: exactly one Content-Type", cases[i].name);
      cr_assert_str_eq(json_string_value(json_array_get(cts, 0)), cases[i].ct);
      cr_assert_str_eq(json_string_value(json_object_get(v, "body")),
                       "{\"spec\":{\"unschedulable\":true}}");
    } else {
      cr_assert_eq(json_array_size(cts), 0);
    }
    cr_assert_str_eq(json_string_value(json_object_get(v, "userAgent")),
                     "kubectl-runtime-switch/" RS_VERSION);
  }
}

Test(request, status_errors_are_typed, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/test/fail/422", NULL, &e), -1);
  cr_assert_eq(e.kind, RS_E_API);
  cr_assert_eq(e.code, 422);
  cr_assert_str_eq(e.reason, "Invalid");
  cr_assert_str_eq(e.msg, "the thing is invalid: spec.x: Required value");
  cr_assert_eq(rs_kube_get(c, "/api/v1/nodes/zzz", NULL, &e), -1);
  cr_assert(rs_kube_is_not_found(&e));
  cr_assert_str_eq(e.msg, "nodes \"zzz\" not found");
}

Test(request, retry_after_any_verb, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  json_auto_t *v = NULL;
  long long t0 = rs_now_ms();
  cr_assert_eq(rs_kube_post(c, "/test/retry-after/429", NULL, &v, &e), 0, "%s", e.msg);
  cr_assert_eq(json_integer_value(json_object_get(v, "attempts")), 3);
  cr_assert_geq(rs_now_ms() - t0, 2000, "Retry-After: 1 was honoured twice");
  json_auto_t *w = NULL;
  cr_assert_eq(rs_kube_get(c, "/test/retry-after/503", &w, &e), 0, "%s", e.msg);
  /* RS_REQ_NO_RETRY hands the 429 to the caller */
  struct rs_kube_req r = {.method = RS_HTTP_POST, .path = "/test/retry-after/429x", .flags = RS_REQ_NO_RETRY};
  (void)r;
}

Test(request, no_retry_flag, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct rs_kube_req r = {.method = RS_HTTP_POST, .path = "/test/retry-after/429", .flags = RS_REQ_NO_RETRY};
  cr_assert_eq(rs_kube_request(c, &r, NULL, &e), -1);
  cr_assert(rs_kube_err_is(&e, 429));
  cr_assert_eq(rs_kube_client_requests(c), 1);
}

struct seen {
  long status;
  long long retry_after_ms;
  bool body;
  char msg[256];
};

static int keep_result(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct seen *s = ud;
  s->status = res->status;
  s->retry_after_ms = res->retry_after_ms;
  s->body = res->body != NULL;
  snprintf(s->msg, sizeof s->msg, "%s", err->msg ? err->msg : "");
  rs_err_clear(err);
  return 0;
}

/* A caller that handles its own retries (RS_REQ_NO_RETRY) sees the
 * Retry-After header, whether the body is a Status or plain text. */
Test(request, retry_after_in_the_result, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct seen text = {0}, status = {0}, ok = {0};
  struct rs_kube_req r1 = {.method = RS_HTTP_POST, .path = "/test/text-503?s=3", .flags = RS_REQ_NO_RETRY};
  struct rs_kube_req r2 = {.method = RS_HTTP_POST, .path = "/test/retry-after/429", .flags = RS_REQ_NO_RETRY};
  struct rs_kube_req r3 = {.method = RS_HTTP_GET, .path = "/version", .flags = RS_REQ_NO_RETRY};
  cr_assert_eq(rs_kube_async(c, &r1, keep_result, &text, &e), 0);
  cr_assert_eq(rs_kube_async(c, &r2, keep_result, &status, &e), 0);
  cr_assert_eq(rs_kube_async(c, &r3, keep_result, &ok, &e), 0);
  cr_assert_eq(rs_kube_run(c, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(text.status, 503);
  cr_assert_eq(text.retry_after_ms, 3000);
  cr_assert_not(text.body, "plain text is not a Status");
  cr_assert(strstr(text.msg, "Too many requests, please try again later."), "%s", text.msg);
  cr_assert_eq(status.status, 429);
  cr_assert_eq(status.retry_after_ms, 1000);
  cr_assert(status.body);
  cr_assert_eq(ok.status, 200);
  cr_assert_eq(ok.retry_after_ms, 0, "no header: 0");
  cr_assert_eq(rs_kube_client_requests(c), 3, "nothing was retried");
}

Test(request, get_retried_on_503_and_dropped_connection, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  json_auto_t *v = NULL, *w = NULL;
  cr_assert_eq(rs_kube_get(c, "/test/flaky-503", &v, &e), 0, "%s", e.msg);
  cr_assert_eq(json_integer_value(json_object_get(v, "attempts")), 3);
  cr_assert_eq(rs_kube_get(c, "/test/drop", &w, &e), 0, "%s", e.msg);
  cr_assert_eq(json_integer_value(json_object_get(w, "attempts")), 2);
}

Test(request, request_timeout, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = "/test/slow?s=3", .timeout_ms = 300};
  long long t0 = rs_now_ms();
  cr_assert_eq(rs_kube_request(c, &r, NULL, &e), -1);
  cr_assert_eq(e.kind, RS_E_TIMEOUT, "%s", e.msg);
  cr_assert_lt(rs_now_ms() - t0, 2500);
  /* the overall deadline bounds retries too */
  rs_kube_client_set_deadline(c, rs_now_ms() + 500);
  cr_assert_eq(rs_kube_post(c, "/test/retry-after/503", NULL, NULL, &e), -1);
  cr_assert_lt(rs_now_ms() - t0, 3000);
}

Test(request, response_bound, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  struct rs_kube_client_opts o = {.max_response = 10000};
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client_o(&F, NULL, NULL, &o, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/test/big?n=1000", NULL, &e), -1);
  cr_assert_eq(e.kind, RS_E_LIMIT, "%s", e.msg);
}

Test(request, cancel_flag, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  volatile sig_atomic_t cancel = 1;
  struct rs_kube_client_opts o = {.cancel = &cancel};
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client_o(&F, NULL, NULL, &o, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), -1);
  cr_assert_eq(e.kind, RS_E_INTERRUPTED);
}

struct logcap {
  char buf[65536];
  size_t len;
};
static void cap_log(void *ud, int level, const char *line) {
  struct logcap *l = ud;
  int n = snprintf(l->buf + l->len, sizeof l->buf - l->len, "%d %s\n", level, line);
  if (n > 0 && (size_t)n < sizeof l->buf - l->len) l->len += (size_t)n;
}

Test(request, verbose_log_hides_secrets, .init = start_token, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  static struct logcap lc;
  struct rs_kube_client_opts o = {.verbosity = 9, .log = cap_log, .log_ud = &lc};
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client_o(&F, NULL, "    token: s3cret\n", &o, &e);
  cr_assert(c, "%s", e.msg);
  json_auto_t *body = json_pack("{s:s}", "a", "b");
  cr_assert_eq(rs_kube_post(c, "/test/echo", body, NULL, &e), 0, "%s", e.msg);
  cr_assert(strstr(lc.buf, "POST https://127.0.0.1:"), "%s", lc.buf);
  cr_assert(strstr(lc.buf, "Authorization: Bearer <masked>"), "%s", lc.buf);
  cr_assert_null(strstr(lc.buf, "s3cret"), "%s", lc.buf);
}

Test(request, impersonation_headers, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c =
      fake_client(&F, NULL, "    as: jane\n    as-groups: [dev, ops]\n", &e);
  cr_assert(c, "%s", e.msg);
  json_auto_t *v = NULL;
  cr_assert_eq(rs_kube_get(c, "/test/echo", &v, &e), 0, "%s", e.msg);
  cr_assert_str_eq(json_string_value(json_object_get(v, "impersonateUser")), "jane");
  cr_assert_eq(json_array_size(json_object_get(v, "impersonateGroups")), 2);
}

/* ---- lists, watches, logs ---- */

static int count_item(void *ud, json_t *item, rs_err_t *err) {
  (void)item;
  (void)err;
  (*(int *)ud)++;
  return 0;
}

Test(list, pagination, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  int n = 0;
  _cleanup_free_ char *rv = NULL;
  struct rs_kube_list_opts o = {.limit = 2};
  cr_assert_eq(rs_kube_list(c, "/api/v1/nodes", &o, count_item, &n, &rv, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 5);
  cr_assert_eq(rs_kube_client_requests(c), 3);
  cr_assert_str_eq(rv, "4242");
}

struct pages {
  rs_kube_client_t *c;
  int pages, items, fail_at;
  unsigned long requests_at[16];
};

static int on_page(void *ud, const char *body, size_t len, char **ret_continue, rs_err_t *err) {
  struct pages *p = ud;
  if (p->pages < 16) p->requests_at[p->pages] = rs_kube_client_requests(p->c);
  if (++p->pages == p->fail_at) return rs_fail(err, RS_E_INPUT, 0, "page %d refused", p->pages);
  json_auto_t *list = json_loadb(body, len, 0, NULL);
  cr_assert(list, "%.*s", (int)len, body);
  p->items += (int)json_array_size(json_object_get(list, "items"));
  const char *c = json_string_value(json_object_get(json_object_get(list, "metadata"), "continue"));
  *ret_continue = c ? strdup(c) : NULL;
  return 0;
}

Test(list, pages_in_order_json_without_look_ahead, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct pages p = {.c = c};
  struct rs_kube_list_opts o = {.limit = 2};
  /* JSON (no protobuf here): nothing to peek, one page after the other */
  cr_assert_eq(rs_kube_list_pages(c, "/api/v1/nodes", &o, "application/vnd.kubernetes.protobuf, application/json",
                                  on_page, &p, &e), 0, "%s", e.msg);
  cr_assert_eq(p.items, 5);
  cr_assert_eq(p.pages, 3);
  for (int i = 0; i < 3; i++) cr_assert_eq(p.requests_at[i], (unsigned long)i + 1, "page %d", i);
  /* the callback's error ends the list, nothing left on the loop */
  struct pages q = {.c = c, .fail_at = 2};
  cr_assert_eq(rs_kube_list_pages(c, "/api/v1/nodes", &o, NULL, on_page, &q, &e), -1);
  cr_assert_str_eq(e.msg, "page 2 refused");
  cr_assert_eq(rs_kube_pending(c), 0);
  /* an API error of a page is typed */
  struct pages r = {.c = c};
  cr_assert_eq(rs_kube_list_pages(c, "/test/fail/403", &o, NULL, on_page, &r, &e), -1);
  cr_assert(rs_kube_err_is(&e, 403), "%s", e.msg);
  cr_assert_eq(r.pages, 0);
}

/* ---- protobuf lists read as they arrive (rs_kube_list_pb) ---- */

static void start_pb(void) {
  const char *a[] = {"--nodes", "5", "--protobuf", NULL};
  fake_start(&F, a);
}

struct pbl {
  rs_kube_client_t *c;
  int rc;                 /* what rs_kube_list_pb returned, with e */
  rs_err_t e;
  char log[512];          /* "i0 i0 p0 i1 ..." as the callbacks ran */
  int items[8];           /* items each page holds now (dropped ones gone) */
  int pages, others, drops_with_items;
  unsigned long requests_at[8];
};

static void pbl_log(struct pbl *p, char what, unsigned page) {
  size_t l = strlen(p->log);
  if (l + 4 < sizeof p->log) snprintf(p->log + l, sizeof p->log - l, "%c%u ", what, page);
}

static int pbl_item(void *ud, unsigned page, const void *msg, size_t len, rs_err_t *err) {
  struct pbl *p = ud;
  cr_assert(page < 8 && len > 0 && msg);
  p->items[page]++;
  pbl_log(p, 'i', page);
  return 0;
}

static void pbl_drop(void *ud, unsigned page) {
  struct pbl *p = ud;
  if (page < 8 && p->items[page]) p->drops_with_items++;
  if (page < 8) p->items[page] = 0;
}

static int pbl_page(void *ud, unsigned page, rs_err_t *err) {
  struct pbl *p = ud;
  cr_assert_eq(page, (unsigned)p->pages, "pages in order");
  p->requests_at[p->pages++] = rs_kube_client_requests(p->c);
  pbl_log(p, 'p', page);
  return 0;
}

static int pbl_other(void *ud, const char *body, size_t len, char **ret_continue, rs_err_t *err) {
  struct pbl *p = ud;
  p->others++;
  return on_page(&(struct pages){.c = p->c}, body, len, ret_continue, err);
}

static const struct rs_kube_pb_list_fns pbl_fns = {
    .kind = "NodeList", .item = pbl_item, .drop = pbl_drop, .page = pbl_page, .other = pbl_other};

/* A client on the protobuf fake, and the list of its nodes (with that
 * label selector) two a page. */
static void pb_list(const char *selector, struct pbl *p) {
  *p = (struct pbl){.e = RS_ERR_INIT};
  p->c = fake_client(&F, NULL, NULL, &p->e);
  cr_assert(p->c, "%s", p->e.msg);
  struct rs_kube_list_opts o = {.limit = 2, .label_selector = selector};
  p->rc = rs_kube_list_pb(p->c, "/api/v1/nodes", &o, &pbl_fns, p, &p->e);
}

static void pbl_clear(struct pbl *p) {
  if (p->c) rs_kube_client_free(p->c);
  rs_err_clear(&p->e);
}

/* The fake's five nodes came whole: pages of 2, 2 and 1, in order. */
static void five_in_three_pages(const struct pbl *p) {
  cr_assert_eq(p->rc, 0, "%s", p->e.msg);
  cr_assert_eq(p->pages, 3);
  cr_assert(p->items[0] == 2 && p->items[1] == 2 && p->items[2] == 1, "%s", p->log);
}

Test(list, pb_items_as_they_arrive_pages_in_order, .init = start_pb, .fini = stop) {
  _cleanup_(pbl_clear) struct pbl p;
  pb_list(NULL, &p);
  five_in_three_pages(&p);
  cr_assert_eq(p.others, 0);
  /* a page's items all come before its end */
  cr_assert(strstr(p.log, "i0 i0 ") && strstr(p.log, "i1 i1 ") && strstr(p.log, "i2 "), "%s", p.log);
  cr_assert(strstr(p.log, "p0") < strstr(p.log, "p1") && strstr(p.log, "p1") < strstr(p.log, "p2"), "%s", p.log);
  /* the look-ahead: page k+1 was asked for before page k was handed over */
  cr_assert_eq(p.requests_at[0], 2, "page 1 asked for before page 0 ended");
  cr_assert_eq(p.requests_at[1], 3);
  cr_assert_eq(rs_kube_client_requests(p.c), 3);
  cr_assert_eq(rs_kube_pending(p.c), 0);
}

Test(list, pb_retried_page_drops_what_it_brought, .init = start_pb, .fini = stop) {
  /* page 1's first answer is cut in the middle of its items */
  _cleanup_(pbl_clear) struct pbl p;
  pb_list("test=drop-once", &p);
  five_in_three_pages(&p);
  cr_assert_eq(p.drops_with_items, 1, "the cut attempt's item was dropped: %s", p.log);
  cr_assert_eq(rs_kube_client_requests(p.c), 4);
}

Test(list, pb_malformed_page_fails_with_nothing_left, .init = start_pb, .fini = stop) {
  _cleanup_(pbl_clear) struct pbl p;
  pb_list("test=malformed", &p);
  cr_assert_eq(p.rc, -1);
  cr_assert_eq(p.e.kind, RS_E_INPUT, "%s", p.e.msg);
  cr_assert(strstr(p.e.msg, "GET /api/v1/nodes: ") && strstr(p.e.msg, "malformed protobuf NodeList"), "%s", p.e.msg);
  cr_assert_eq(p.pages, 1, "%s", p.log);
  cr_assert_eq(p.items[1] + p.items[2], 0, "what the failed pages brought is dropped: %s", p.log);
  cr_assert_eq(rs_kube_pending(p.c), 0);
}

Test(list, pb_json_answer_goes_to_other, .init = start_pb, .fini = stop) {
  _cleanup_(pbl_clear) struct pbl p;
  pb_list("test=json", &p);
  cr_assert_eq(p.rc, 0, "%s", p.e.msg);
  cr_assert_eq(p.others, 3);
  cr_assert_eq(p.pages, 0);
  /* an API error is typed */
  struct rs_kube_list_opts o = {.limit = 2};
  cr_assert_eq(rs_kube_list_pb(p.c, "/test/fail/403", &o, &pbl_fns, &p, &p.e), -1);
  cr_assert(rs_kube_err_is(&p.e, 403), "%s", p.e.msg);
}

struct wstate {
  char types[256];
  char last_rv[32];
  int relists;
  int stop_after;
  int n;
};

static int on_ev(void *ud, const char *type, json_t *obj, rs_err_t *err) {
  struct wstate *w = ud;
  (void)err;
  strncat(w->types, type, sizeof w->types - strlen(w->types) - 2);
  strcat(w->types, " ");
  const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
  snprintf(w->last_rv, sizeof w->last_rv, "%s", rv ? rv : "");
  return ++w->n >= w->stop_after ? 1 : 0;
}

static int on_gone(void *ud, char **ret_rv, rs_err_t *err) {
  struct wstate *w = ud;
  (void)err;
  w->relists++;
  *ret_rv = strdup("200");
  return 0;
}

Test(watch, events_bookmarks_and_renewal, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct wstate w = {.stop_after = 5};
  struct rs_kube_watch_opts o = {.resource_version = "100", .on_event = on_ev, .ud = &w};
  cr_assert_eq(rs_kube_watch(c, "/api/v1/namespaces/default/configmaps", &o, &e), 0, "%s", e.msg);
  /* the server ends each call after three events; the client renews from
   * the last resourceVersion (103) */
  cr_assert_str_eq(w.types, "ADDED BOOKMARK MODIFIED ADDED BOOKMARK ");
  cr_assert_str_eq(w.last_rv, "105");
}

static int on_meta_ev(void *ud, const char *type, json_t *obj, rs_err_t *err) {
  (void)type;
  (void)err;
  const char *kind = json_string_value(json_object_get(obj, "kind"));
  cr_assert_str_eq(kind ? kind : "(none)", "PartialObjectMetadata");
  return ++*(int *)ud >= 3 ? 1 : 0;
}

/* A watch can ask for the objects' metadata only. */
Test(watch, metadata_only, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  int n = 0;
  struct rs_kube_watch_opts o = {.resource_version = "100", .accept = RS_ACCEPT_METADATA,
                                 .on_event = on_meta_ev, .ud = &n};
  cr_assert_eq(rs_kube_watch(c, "/api/v1/namespaces/default/configmaps", &o, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 3);
}

Test(watch, gone_relists, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct wstate w = {.stop_after = 1};
  struct rs_kube_watch_opts o = {.resource_version = "old", .on_event = on_ev, .on_gone = on_gone, .ud = &w};
  cr_assert_eq(rs_kube_watch(c, "/api/v1/namespaces/default/configmaps", &o, &e), 0, "%s", e.msg);
  cr_assert_eq(w.relists, 1);
  cr_assert_str_eq(w.last_rv, "201");
  /* HTTP 410 without a relist callback is an error */
  struct wstate w2 = {.stop_after = 1};
  struct rs_kube_watch_opts o2 = {.resource_version = "gone", .on_event = on_ev, .ud = &w2};
  cr_assert_eq(rs_kube_watch(c, "/api/v1/namespaces/default/configmaps", &o2, &e), -1);
  cr_assert(rs_kube_is_gone(&e), "%s", e.msg);
}

struct lines {
  char all[512];
  int ends;
};
static int on_line(void *ud, const char *line, size_t len, rs_err_t *err) {
  struct lines *l = ud;
  (void)err;
  if (!line) {
    l->ends++;
    return 0;
  }
  strncat(l->all, line, len);
  strcat(l->all, "|");
  return 0;
}

Test(logs, stream_lines, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct lines l = {0};
  struct rs_kube_log_opts o = {.follow = true};
  cr_assert_eq(rs_kube_pod_logs(c, "default", "p", &o, on_line, &l, &e), 0, "%s", e.msg);
  cr_assert_str_eq(l.all, "line 1|line 2|line 3|last-no-newline|");
  cr_assert_eq(l.ends, 1);
  struct lines m = {0};
  cr_assert_eq(rs_kube_pod_logs(c, "default", "missing", &o, on_line, &m, &e), -1);
  cr_assert(rs_kube_err_is(&e, 400));
  cr_assert(strstr(e.msg, "waiting to start"), "%s", e.msg);
}

/* ---- many at once ---- */

struct batch {
  int done, failed, ticks;
};
static int on_done(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct batch *b = ud;
  if (err->kind != RS_E_NONE) b->failed++;
  else if (res->status == 200) b->done++;
  return 0;
}
static int on_tick(void *ud, rs_err_t *err) {
  (void)err;
  ((struct batch *)ud)->ticks++;
  return 0;
}

/* Queue n GETs of node-00000 .. node-(nodes-1) in turn (node-00005 does
 * not exist on the fake server) and start a watch of ConfigMaps. */
static void queue_gets_and_watch(rs_kube_client_t *c, int n, int nodes, struct batch *b,
                                 struct wstate *w) {
  rs_err_t e = RS_ERR_INIT;
  for (int i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof path, "/api/v1/nodes/node-%05d", i % nodes);
    struct rs_kube_req r = {.method = RS_HTTP_GET, .path = path};
    cr_assert_eq(rs_kube_async(c, &r, on_done, b, &e), 0, "%s", e.msg);
  }
  struct rs_kube_watch_opts wo = {.resource_version = "100", .on_event = on_ev, .ud = w};
  cr_assert_eq(rs_kube_watch_start(c, "/api/v1/namespaces/default/configmaps", &wo, &e), 0, "%s", e.msg);
}

Test(async, many_requests_one_loop, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct batch b = {0};
  struct wstate w = {.stop_after = 3};
  queue_gets_and_watch(c, 60, 6, &b, &w);
  cr_assert_eq(rs_kube_pending(c), 61);
  struct rs_kube_run_opts ro = {.tick = on_tick, .tick_ud = &b, .tick_ms = 10};
  cr_assert_eq(rs_kube_run(c, &ro, &e), 0, "%s", e.msg);
  cr_assert_eq(b.done, 50);
  cr_assert_eq(b.failed, 10, "node-00005 does not exist");
  cr_assert_str_eq(w.types, "ADDED BOOKMARK MODIFIED ");
  cr_assert_eq(rs_kube_pending(c), 0);
  json_auto_t *st = NULL;
  cr_assert_eq(rs_kube_get(c, "/test/stats", &st, &e), 0);
  /* HTTP/1.1 server: connections are reused, at most the host limit */
  cr_assert_leq(json_integer_value(json_object_get(st, "connections")), 17);
}

/* A paced loop reads less often, never less: every answer and event still
 * arrives, and the pace is restored by whoever set it. */
Test(async, paced_reads_lose_nothing, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  cr_assert_eq(rs_kube_set_pace(c, 150), 0);
  struct batch b = {0};
  struct wstate w = {.stop_after = 5};
  queue_gets_and_watch(c, 40, 4, &b, &w);
  long long t0 = rs_now_ms();
  struct rs_kube_run_opts ro = {.tick = on_tick, .tick_ud = &b, .tick_ms = 10};
  cr_assert_eq(rs_kube_run(c, &ro, &e), 0, "%s", e.msg);
  cr_assert_eq(b.done, 40);
  cr_assert_eq(b.failed, 0);
  cr_assert_str_eq(w.types, "ADDED BOOKMARK MODIFIED ADDED BOOKMARK ");
  cr_assert_str_eq(w.last_rv, "105");
  /* the watch was renewed once: at least one paced read between its calls */
  cr_assert_geq(rs_now_ms() - t0, 150);
  cr_assert_eq(rs_kube_set_pace(c, 0), 150);
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
}

/* rs_kube_cancel_ud: one owner's watch goes, the other transfers stay
 * and finish. */
Test(async, cancel_one_owner, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct batch b = {0}, nobody = {0};
  struct wstate w = {.stop_after = 1000};
  queue_gets_and_watch(c, 10, 4, &b, &w);
  cr_assert_eq(rs_kube_pending(c), 11);
  rs_kube_cancel_ud(c, &nobody);
  rs_kube_cancel_ud(c, NULL);
  cr_assert_eq(rs_kube_pending(c), 11, "neither owns anything");
  rs_kube_cancel_ud(c, &w);
  cr_assert_eq(rs_kube_pending(c), 10);
  cr_assert_eq(rs_kube_run(c, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(b.done, 10);
  cr_assert_str_eq(w.types, "", "the watch was dropped before its first event");
  cr_assert_eq(rs_kube_pending(c), 0);
}

Test(async, keep_alive_sequential, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  for (int i = 0; i < 20; i++) cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), 0, "%s", e.msg);
  json_auto_t *st = NULL;
  cr_assert_eq(rs_kube_get(c, "/test/stats", &st, &e), 0);
  cr_assert_eq(json_integer_value(json_object_get(st, "connections")), 1);
}

static int stop_on_error(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  (void)ud;
  (void)res;
  return err->kind != RS_E_NONE ? -1 : 0;
}

Test(async, callback_error_stops_run, .init = start_open, .fini = stop) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = fake_client(&F, NULL, NULL, &e);
  cr_assert(c, "%s", e.msg);
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = "/test/fail/409"};
  cr_assert_eq(rs_kube_async(c, &r, stop_on_error, NULL, &e), 0);
  cr_assert_eq(rs_kube_run(c, NULL, &e), -1);
  cr_assert(rs_kube_is_conflict(&e));
  rs_kube_cancel_all(c);
}
