/* Kubeconfig: parse errors with file:line:column, merge rules, overrides,
 * in-cluster config, auth validation. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "kube/exec_auth.h"
#include "kube/kubeconfig.h"

static char dir[] = "/tmp/rs-kcfg-XXXXXX";

static void setup(void) { cr_assert(mkdtemp(dir)); }

static char *put(const char *name, const char *text) {
  char *p = rs_strdup_printf("%s/%s", dir, name);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_write_file_atomic(p, text, strlen(text), 0600, &e), 0, "%s", e.msg);
  return p;
}

static int resolve(const char *kubeconfig_env, const struct rs_kube_overrides *o,
                   rs_kube_config_t **ret, rs_err_t *err) {
  _cleanup_free_ char *kc = kubeconfig_env ? rs_strdup_printf("KUBECONFIG=%s", kubeconfig_env) : NULL;
  _cleanup_free_ char *home = rs_strdup_printf("HOME=%s/home", dir);
  const char *envp[] = {home, kc, NULL};
  return rs_kube_config_resolve(o, envp, ret, err);
}

#define BASE                                                                   \
  "apiVersion: v1\nkind: Config\ncurrent-context: a\n"                         \
  "clusters:\n- name: c\n  cluster:\n    server: https://a.example:6443\n"     \
  "users:\n- name: u\n  user:\n    token: t1\n"                                \
  "contexts:\n- name: a\n  context: {cluster: c, user: u, namespace: ns1}\n"

Test(kubeconfig, yaml_error_names_file_line_column, .init = setup) {
  _cleanup_free_ char *p = put("bad", "clusters:\n- name: c\n  cluster: [\n");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  rs_kube_config_t *c = NULL;
  cr_assert_eq(resolve(p, NULL, &c, &e), -1);
  _cleanup_free_ char *want = rs_strdup_printf("%s:4:1: invalid YAML", p);
  cr_assert(rs_startswith(e.msg, want), "%s", e.msg);
  cr_assert_null(strchr(e.msg, '\n'), "one line: %s", e.msg);
}

struct bad {
  const char *yaml, *want;
};
static const struct bad bads[] = {
    {"clusters: {a: b}\n", ":1:11: clusters: expected a list, found a mapping"},
    {"clusters:\n- name: c\n  cluster:\n    server: 8080\n", ":4:13: server: expected a string, found a number"},
    {"clusters:\n- name: c\n  cluster:\n    insecure-skip-tls-verify: \"true\"\n",
     ":4:31: insecure-skip-tls-verify: expected a boolean, found a string"},
    {"users:\n- name: u\n  user:\n    client-key-data: \"%%%\"\n", ":4:22: client-key-data: illegal base64 data"},
    {"- a\n- b\n", ":1:1: kubeconfig: expected a mapping, found a list"},
};

Test(kubeconfig, type_errors_have_positions, .init = setup) {
  for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
    rs_kcfg_file_t *f = NULL;
    _cleanup_err_ rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_kcfg_parse(bads[i].yaml, strlen(bads[i].yaml), "/x/k.yaml", &f, &e), -1, "%zu", i);
    cr_assert(strstr(e.msg, bads[i].want), "case %zu: %s", i, e.msg);
    cr_assert(rs_startswith(e.msg, "/x/k.yaml:"));
  }
}

Test(kubeconfig, merge_first_file_wins, .init = setup) {
  _cleanup_free_ char *a = put("a", "clusters:\n- name: c\n  cluster: {server: https://first}\n"
                                    "users:\n- name: u\n  user: {token: first}\n");
  _cleanup_free_ char *b = put("b", BASE);
  _cleanup_free_ char *list = rs_strdup_printf("%s/missing::%s:%s:%s", dir, a, b, a);
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_config_ rs_kube_config_t *c = NULL;
  cr_assert_eq(resolve(list, NULL, &c, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c->server, "https://first");
  cr_assert_str_eq(c->token, "first");
  cr_assert_str_eq(c->ns, "ns1");
  cr_assert_str_eq(c->context, "a");
}

Test(kubeconfig, kubeconfig_flag_is_the_only_file, .init = setup) {
  _cleanup_free_ char *a = put("a", BASE);
  _cleanup_free_ char *missing = rs_strdup_printf("%s/nope", dir);
  struct rs_kube_overrides o = RS_KUBE_OVERRIDES_INIT;
  o.kubeconfig = missing;
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  rs_kube_config_t *c = NULL;
  cr_assert_eq(resolve(a, &o, &c, &e), -1);
  cr_assert(strstr(e.msg, "error loading config file"), "%s", e.msg);
}

Test(kubeconfig, home_default_and_no_config, .init = setup) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  rs_kube_config_t *c = NULL;
  cr_assert_eq(resolve(NULL, NULL, &c, &e), -1);
  cr_assert(strstr(e.msg, "no configuration has been provided"), "%s", e.msg);
  _cleanup_free_ char *h = rs_strdup_printf("%s/home/.kube", dir);
  rs_err_t e2 = RS_ERR_INIT;
  cr_assert_eq(rs_mkdir_p(h, 0700, &e2), 0);
  _cleanup_free_ char *p = put("home/.kube/config", BASE);
  _cleanup_kube_config_ rs_kube_config_t *c2 = NULL;
  cr_assert_eq(resolve(NULL, NULL, &c2, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c2->server, "https://a.example:6443");
}

Test(kubeconfig, overrides_like_kubectl, .init = setup) {
  _cleanup_free_ char *a = put("a",
      "current-context: a\nclusters:\n- name: c\n  cluster:\n    server: https://a\n"
      "    certificate-authority-data: Y2E=\n    tls-server-name: old\n"
      "- name: c2\n  cluster: {server: https://c2}\n"
      "users:\n- name: u\n  user: {tokenFile: tok, as: x}\n- name: u2\n  user: {token: t2}\n"
      "contexts:\n- name: a\n  context: {cluster: c, user: u, namespace: ns1}\n"
      "- name: b\n  context: {cluster: c2, user: u2}\n");
  struct rs_kube_overrides o = RS_KUBE_OVERRIDES_INIT;
  const char *groups[] = {"g1", "g2", NULL};
  o.token = "flag-token";
  o.insecure_skip_tls_verify = 1;
  o.server = "https://override:443/";
  o.ns = "flag-ns";
  o.as = "jane";
  o.as_groups = groups;
  o.request_timeout = "2m";
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_config_ rs_kube_config_t *c = NULL;
  cr_assert_eq(resolve(a, &o, &c, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c->token, "flag-token");
  cr_assert_null(c->token_file, "--token clears tokenFile");
  cr_assert(c->insecure);
  cr_assert_null(c->ca_data.data, "--insecure-skip-tls-verify clears the CA");
  cr_assert_str_eq(c->server, "https://override:443");
  cr_assert_null(c->tls_server_name, "--server resets tls-server-name");
  cr_assert_str_eq(c->ns, "flag-ns");
  cr_assert_str_eq(c->as, "jane");
  cr_assert_str_eq(c->as_groups[1], "g2");
  cr_assert_eq(c->request_timeout_ms, 120000);
  /* --context, and --cluster/--user over the context's */
  struct rs_kube_overrides o2 = RS_KUBE_OVERRIDES_INIT;
  o2.context = "b";
  _cleanup_kube_config_ rs_kube_config_t *c2 = NULL;
  cr_assert_eq(resolve(a, &o2, &c2, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c2->server, "https://c2");
  cr_assert_str_eq(c2->ns, "default");
  o2.cluster = "c";
  o2.user = "u";
  _cleanup_kube_config_ rs_kube_config_t *c3 = NULL;
  cr_assert_eq(resolve(a, &o2, &c3, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c3->server, "https://a");
  _cleanup_free_ char *tf = rs_strdup_printf("%s/tok", dir);
  cr_assert_str_eq(c3->token_file, tf, "relative to the kubeconfig's directory");
  /* bad timeout */
  o2.request_timeout = "soon";
  rs_kube_config_t *c4 = NULL;
  cr_assert_eq(resolve(a, &o2, &c4, &e), -1);
  cr_assert(strstr(e.msg, "Invalid timeout value"));
}

Test(kubeconfig, missing_entries, .init = setup) {
  _cleanup_free_ char *a = put("a", BASE);
  struct rs_kube_overrides o = RS_KUBE_OVERRIDES_INIT;
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  rs_kube_config_t *c = NULL;
  o.context = "zz";
  cr_assert_eq(resolve(a, &o, &c, &e), -1);
  cr_assert(rs_startswith(e.msg, "context \"zz\" does not exist"), "%s", e.msg);
  o.context = NULL;
  o.cluster = "zz";
  cr_assert_eq(resolve(a, &o, &c, &e), -1);
  cr_assert(rs_startswith(e.msg, "cluster \"zz\" does not exist"), "%s", e.msg);
  o.cluster = NULL;
  o.user = "zz";
  cr_assert_eq(resolve(a, &o, &c, &e), -1);
  cr_assert(rs_startswith(e.msg, "auth info \"zz\" does not exist"), "%s", e.msg);
}

Test(kubeconfig, auth_validation, .init = setup) {
  static const struct {
    const char *user, *want;
  } cases[] = {
      {"{auth-provider: {name: gcp}}", "use"},
      {"{client-certificate: c.crt}", "client-key-data or client-key must be specified"},
      {"{token: t, username: u, password: p}", "more than one authentication method"},
      {"{exec: {command: x, apiVersion: client.authentication.k8s.io/v1alpha1}}", "invalid apiVersion"},
      {"{exec: {command: x, apiVersion: client.authentication.k8s.io/v1}}", "interactiveMode must be specified"},
      {"{exec: {apiVersion: client.authentication.k8s.io/v1beta1}}", "command must be specified"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    _cleanup_free_ char *y = rs_strdup_printf(
        "current-context: a\nclusters:\n- name: c\n  cluster: {server: https://a}\n"
        "users:\n- name: u\n  user: %s\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\n",
        cases[i].user);
    _cleanup_free_ char *p = put("v", y);
    _cleanup_err_ rs_err_t e = RS_ERR_INIT;
    rs_kube_config_t *c = NULL;
    cr_assert_eq(resolve(p, NULL, &c, &e), -1, "case %zu", i);
    cr_assert(strstr(e.msg, cases[i].want), "case %zu: %s", i, e.msg);
  }
  /* the gcp stub names the replacement plugin, with the file position */
  _cleanup_free_ char *p = put("g", "current-context: a\nclusters:\n- name: c\n  cluster: {server: https://a}\n"
                                    "users:\n- name: u\n  user:\n    auth-provider: {name: gcp}\n"
                                    "contexts:\n- name: a\n  context: {cluster: c, user: u}\n");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  rs_kube_config_t *c = NULL;
  cr_assert_eq(resolve(p, NULL, &c, &e), -1);
  cr_assert(strstr(e.msg, "gke-gcloud-auth-plugin"), "%s", e.msg);
  cr_assert(strstr(e.msg, "/g:6:3:"), "%s", e.msg);
}

Test(kubeconfig, in_cluster, .init = setup) {
  _cleanup_free_ char *sa = rs_strdup_printf("%s/sa", dir);
  rs_err_t e0 = RS_ERR_INIT;
  cr_assert_eq(rs_mkdir_p(sa, 0700, &e0), 0);
  _cleanup_free_ char *t = put("sa/token", "sa-token\n");
  _cleanup_free_ char *n = put("sa/namespace", "kube-system\n");
  _cleanup_free_ char *ca = put("sa/ca.crt", "CA");
  struct rs_kube_overrides o = RS_KUBE_OVERRIDES_INIT;
  o.sa_dir = sa;
  const char *envp[] = {"KUBERNETES_SERVICE_HOST=fd00::1", "KUBERNETES_SERVICE_PORT=443", NULL};
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_config_ rs_kube_config_t *c = NULL;
  cr_assert_eq(rs_kube_config_resolve(&o, envp, &c, &e), 0, "%s", e.msg);
  cr_assert(c->in_cluster);
  cr_assert_str_eq(c->server, "https://[fd00::1]:443");
  cr_assert_str_eq(c->ns, "kube-system");
  cr_assert_str_eq(c->token_file, t);
  cr_assert_str_eq(c->ca_file, ca);
  _cleanup_free_ char *tok = NULL;
  cr_assert_eq(rs_kube_read_token_file(c->token_file, &tok, &e), 0);
  cr_assert_str_eq(tok, "sa-token");
}

Test(kubeconfig, server_scheme_default, .init = setup) {
  _cleanup_free_ char *a = put("a", "current-context: a\nclusters:\n- name: c\n  cluster:\n"
                                    "    server: 10.0.0.1:6443\n    insecure-skip-tls-verify: yes\n"
                                    "contexts:\n- name: a\n  context: {cluster: c}\n");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_config_ rs_kube_config_t *c = NULL;
  cr_assert_eq(resolve(a, NULL, &c, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c->server, "https://10.0.0.1:6443");
}

Test(kubeconfig, unreadable_certificate_named, .init = setup) {
  _cleanup_free_ char *a = put("a", "current-context: a\nclusters:\n- name: c\n  cluster:\n"
                                    "    server: https://x\n    certificate-authority: nope/ca.crt\n"
                                    "contexts:\n- name: a\n  context: {cluster: c}\n");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_config_ rs_kube_config_t *c = NULL;
  cr_assert_eq(resolve(a, NULL, &c, &e), 0, "%s", e.msg);
  cr_assert_eq(rs_kube_config_load_files(c, &e), -1);
  cr_assert(strstr(e.msg, "certificate-authority"), "%s", e.msg);
  cr_assert(strstr(e.msg, "/nope/ca.crt"), "%s", e.msg);
}

Test(base64, roundtrip_and_errors) {
  const char *in = "hello, kube!";
  _cleanup_free_ char *b = rs_base64_encode((const unsigned char *)in, strlen(in));
  cr_assert_str_eq(b, "aGVsbG8sIGt1YmUh");
  struct rs_bytes out = {0};
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_base64_decode("aGVs\nbG8=", 9, &out, &e), 0);
  cr_assert_eq(out.len, 5);
  cr_assert_eq(memcmp(out.data, "hello", 5), 0);
  free(out.data);
  cr_assert_eq(rs_base64_decode("aGVsbG8", 7, &out, &e), -1);
  cr_assert_eq(rs_base64_decode("aG=sbG8=", 8, &out, &e), -1);
}

Test(execcred, parse_rules) {
  const char *v1 = "client.authentication.k8s.io/v1";
  struct rs_exec_cred c = {0};
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  const char *ok = "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\","
                   "\"status\":{\"token\":\"tk\",\"expirationTimestamp\":\"2030-01-02T03:04:05+01:00\"}}";
  cr_assert_eq(rs_exec_cred_parse(ok, strlen(ok), v1, &c, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c.token, "tk");
  cr_assert_eq(c.expiry, 1893553445LL - 3600);
  rs_exec_cred_clear(&c);
  const char *other = "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"status\":{\"token\":\"x\"}}";
  cr_assert_eq(rs_exec_cred_parse(other, strlen(other), v1, &c, &e), -1);
  cr_assert(strstr(e.msg, "plugin returned version client.authentication.k8s.io/v1beta1"));
  const char *half = "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"status\":{\"clientCertificateData\":\"c\"}}";
  cr_assert_eq(rs_exec_cred_parse(half, strlen(half), v1, &c, &e), -1);
  cr_assert(strstr(e.msg, "only certificate or key"));
}

/* Malformed output: the error says what is wrong, never the output's text
 * (a token in it would reach the terminal and the logs). */
Test(execcred, errors_never_quote_the_output) {
  const char *v1 = "client.authentication.k8s.io/v1";
  const char *bad[] = {
      "{\"status\":{\"token\":\"s3cr3tTOKEN\n\"}}",         /* a newline in the string */
      "{\"status\":{\"token\":\"s3cr3tTOKEN",                /* cut short */
      "s3cr3tTOKEN",                                          /* the token alone */
      "{\"status\":{\"token\":s3cr3tTOKEN}}",                 /* unquoted */
      "{\"kind\":\"s3cr3tTOKEN.abc\",\"apiVersion\":\"client.authentication.k8s.io/v1\"}",
      "{\"kind\":\"ExecCredential\",\"apiVersion\":\"s3cr3tTOKEN\",\"status\":{\"token\":\"x\"}}",
      "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/s3cr3t-TOKEN\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct rs_exec_cred c = {0};
    _cleanup_err_ rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_exec_cred_parse(bad[i], strlen(bad[i]), v1, &c, &e), -1, "input %zu", i);
    cr_assert_not_null(e.msg);
    cr_assert_null(strstr(e.msg, "s3cr3t"), "input %zu: %s", i, e.msg);
  }
  /* what stays: the reason, where, and kind/version of a legible shape */
  struct rs_exec_cred c = {0};
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_exec_cred_parse(bad[0], strlen(bad[0]), v1, &c, &e), -1);
  cr_assert(strstr(e.msg, "unexpected newline (line 1 column"), "%s", e.msg);
  const char *pod = "{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}";
  rs_err_clear(&e);
  cr_assert_eq(rs_exec_cred_parse(pod, strlen(pod), v1, &c, &e), -1);
  cr_assert(strstr(e.msg, "returned kind \"Pod\""), "%s", e.msg);
}
