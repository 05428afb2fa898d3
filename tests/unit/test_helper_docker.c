/* What Docker had and how it is read: every daemon.json setting, Docker's
 * sizes as kubelet quantities, ulimits, hidden credentials, and the
 * Environment= of a systemd unit with the drop-in that carries it. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/crio_conf.h"
#include "helper/docker_json.h"
#include "helper/unit_env.h"

static struct rs_docker_cfg parse(const char *t) {
  struct rs_docker_cfg c;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_docker_cfg_parse(t, strlen(t), &c, &e), 0, "%s", e.msg ? e.msg : "");
  return c;
}

static const char *value_of(const struct rs_docker_cfg *c, const char *key) {
  for (size_t i = 0; i < c->nkeys; i++)
    if (strcmp(c->keys[i].key, key) == 0) return c->keys[i].value;
  return NULL;
}

Test(docker_settings, every_key_once_in_order) {
  struct rs_docker_cfg c = parse(
      "{\"bip\": \"172.26.0.1/16\", \"log-opts\": {\"max-size\": \"10m\", \"max-file\": \"3\", \"max-size\": \"20m\"},"
      " \"dns\": [\"10.0.0.2\", \"10.0.0.3\"], \"proxies\": {\"http-proxy\": \"http://u:pw@proxy:3128\"},"
      " \"bip\": \"172.27.0.1/16\", \"features\": {\"buildkit\": true}, \"debug\": false}");
  static const char *const want[] = {"log-opts.max-file", "log-opts.max-size", "dns", "proxies.http-proxy",
                                     "bip", "features", "debug"};
  cr_assert_eq(c.nkeys, sizeof want / sizeof *want);
  for (size_t i = 0; i < c.nkeys; i++) cr_assert_str_eq(c.keys[i].key, want[i]);
  /* a repeated key counts once, with the value Docker uses (the last) */
  cr_assert_str_eq(value_of(&c, "bip"), "172.27.0.1/16");
  cr_assert_str_eq(value_of(&c, "log-opts.max-size"), "20m");
  cr_assert_str_eq(c.log_max_size, "20m");
  cr_assert_str_eq(c.log_max_file, "3");
  cr_assert_str_eq(value_of(&c, "dns"), "10.0.0.2, 10.0.0.3");
  cr_assert_str_eq(value_of(&c, "features"), "buildkit=true");
  cr_assert_str_eq(value_of(&c, "debug"), "false");
  /* the setting keeps the password; what is shown does not */
  cr_assert_str_eq(c.proxy[0], "http://u:pw@proxy:3128");
  cr_assert_str_eq(value_of(&c, "proxies.http-proxy"), "http://***@proxy:3128");
  cr_assert_null(c.proxy[1]);
  rs_docker_cfg_free(&c);
}

Test(docker_settings, shown_values_are_safe) {
  char big[400];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  _cleanup_free_ char *t = rs_strdup_printf(
      "{\"log-opts\": {\"splunk-token\": \"abc\", \"tag\": \"%s\"}, \"labels\": [\"a\\u001b[31mb\"],"
      " \"registry-mirrors\": [\"https://user:secret@mirror.example.com/path\"], \"mtu\": 1450,"
      " \"utf\": \"%.*s\\u00e9\\u00e9\\u00e9\\u00e9\"}", big, 95, big);
  struct rs_docker_cfg c = parse(t);
  cr_assert_str_eq(value_of(&c, "log-opts.splunk-token"), "(hidden)");
  cr_assert_eq(strlen(value_of(&c, "log-opts.tag")), 96 + 3, "cut to 96 bytes and an ellipsis");
  cr_assert_str_eq(value_of(&c, "labels"), "a?[31mb", "no control character reaches a terminal");
  cr_assert_str_eq(value_of(&c, "registry-mirrors"), "https://***@mirror.example.com/path");
  cr_assert_str_eq(c.mirrors[0], "https://user:secret@mirror.example.com/path");
  cr_assert_str_eq(value_of(&c, "mtu"), "1450");
  /* a cut never splits a UTF-8 character */
  const char *u = value_of(&c, "utf");
  cr_assert_eq(strlen(u), 95 + 3, "%s", u);
  rs_docker_cfg_free(&c);
}

Test(docker_settings, bounded) {
  rs_buf_t b = RS_BUF_INIT(0);
  cr_assert_eq(rs_buf_puts(&b, "{", NULL), 0);
  for (int i = 0; i <= RS_DOCKER_MAX_KEYS; i++) cr_assert_eq(rs_buf_printf(&b, NULL, "%s\"k%d\":1", i ? "," : "", i), 0);
  cr_assert_eq(rs_buf_puts(&b, "}", NULL), 0);
  struct rs_docker_cfg c;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_docker_cfg_parse(b.data, b.len, &c, &e), -1);
  cr_assert(strstr(e.msg, "more than 1024 settings"), "%s", e.msg);
  rs_err_clear(&e);
  rs_buf_free(&b);
}

Test(docker_settings, redact_userinfo) {
  static const char *const in[][2] = {
      {"http://u:p@proxy:3128", "http://***@proxy:3128"},
      {"http://proxy:3128", "http://proxy:3128"},
      {"a=http://u@h/x?q=@, b=https://v:w@h2", "a=http://***@h/x?q=@, b=https://***@h2"},
      {"no url @ here", "no url @ here"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
    _cleanup_free_ char *r = rs_redact_userinfo(in[i][0]);
    cr_assert_str_eq(r, in[i][1]);
  }
}

Test(docker_settings, ulimits_as_crio_takes_them) {
  struct rs_docker_cfg c = parse("{\"default-ulimits\": {\"nofile\": {\"Name\": \"nofile\", \"Hard\": 2048, "
                                 "\"Soft\": 1024}, \"core\": {\"Hard\": -1, \"Soft\": -1}}}");
  cr_assert_eq(rs_strv_len(c.ulimits), 2);
  cr_assert_str_eq(c.ulimits[0], "nofile=1024:2048");
  cr_assert_str_eq(c.ulimits[1], "core=-1:-1");
  cr_assert_str_eq(value_of(&c, "default-ulimits"), "nofile=1024:2048, core=-1:-1");
  cr_assert_null(c.ulimits_why);
  rs_docker_cfg_free(&c);
  static const char *const bad[] = {
      "{\"default-ulimits\": {\"nofile\": {\"Hard\": 10, \"Soft\": 20}}}",
      "{\"default-ulimits\": {\"nofile\": {\"Name\": \"nproc\", \"Hard\": 10, \"Soft\": 5}}}",
      "{\"default-ulimits\": {\"nofile\": {\"Hard\": 10.5, \"Soft\": 5}}}",
      "{\"default-ulimits\": {\"bogus\": {\"Hard\": 10, \"Soft\": 5}}}",
      "{\"default-ulimits\": [1]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    c = parse(bad[i]);
    cr_assert_not_null(c.ulimits_why, "%s", bad[i]);
    cr_assert_eq(rs_strv_len(c.ulimits), 0);
    rs_docker_cfg_free(&c);
  }
}

Test(docker_settings, crio_dropin_ulimits) {
  char *ul[] = {"nofile=1024:2048", "nproc=10:20", NULL};
  struct rs_crio_want w = {true, NULL, NULL, NULL, ul, NULL, NULL};
  _cleanup_free_ char *t = rs_crio_dropin(&w);
  cr_assert(strstr(t, "[crio.runtime]\ncgroup_manager = \"systemd\"\nconmon_cgroup = \"pod\"\n"
                      "default_ulimits = [\"nofile=1024:2048\", \"nproc=10:20\"]\n"), "%s", t);
  w.ulimits = NULL;
  _cleanup_free_ char *t2 = rs_crio_dropin(&w);
  cr_assert(!strstr(t2, "default_ulimits"));
}

/* ---- Docker's sizes as kubelet quantities ---- */

/* arrays, not pointers: criterion's workers may not share our addresses */
struct size_case {
  char docker[32], want[16]; /* want "": refused */
};

ParameterizedTestParameters(docker_size, quantities) {
  static struct size_case cases[] = {
      {"100m", "100Mi"}, {"10M", "10Mi"}, {"10mb", "10Mi"}, {"10MiB", "10Mi"}, {"10 m", "10Mi"},
      {"1g", "1Gi"}, {"1.5g", "1536Mi"}, {"0.5k", "512"}, {"512", "512"}, {"1024", "1Ki"},
      {"1048576b", "1Mi"}, {"2t", "2Ti"}, {"1p", "1Pi"}, {"3.25m", "3328Ki"}, {"0.001m", ""},
      {"1.1k", ""}, {"32.3", ""}, {"0", ""}, {"0k", ""}, {"", ""}, {"m", ""},
      {".5m", ""}, {"5.m", ""}, {"-1", ""}, {" 5m", ""}, {"5m ", ""}, {"5  m", ""},
      {"5x", ""}, {"5ib", ""}, {"5mbb", ""}, {"1.2.3m", ""}, {"8192p", ""},
      {"9999999999999999999", ""}, {"99999999999999999999", ""}, {"7.99999999999999999999p", ""},
  };
  return cr_make_param_array(struct size_case, cases, sizeof cases / sizeof *cases);
}

ParameterizedTest(struct size_case *c, docker_size, quantities) {
  char *q = NULL;
  rs_err_t e = RS_ERR_INIT;
  int r = rs_docker_size_quantity(c->docker, &q, &e);
  if (c->want[0]) {
    cr_assert_eq(r, 0, "%s: %s", c->docker, e.msg ? e.msg : "");
    cr_assert_str_eq(q, c->want, "%s", c->docker);
  } else {
    cr_assert_eq(r, -1, "%s gave %s", c->docker, q ? q : "");
    cr_assert(e.kind == RS_E_INPUT, "%s: a refusal, not a failure", c->docker);
    cr_assert(strstr(e.msg, c->docker), "the reason names the value: %s", e.msg);
  }
  free(q);
  rs_err_clear(&e);
}

Test(docker_size, reasons) {
  char *q = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_docker_size_quantity("1.1k", &q, &e), -1);
  cr_assert(strstr(e.msg, "not a whole number of bytes"), "%s", e.msg);
  rs_err_clear(&e);
  cr_assert_eq(rs_docker_size_quantity("10x", &q, &e), -1);
  cr_assert(strstr(e.msg, "not a size Docker reads"), "%s", e.msg);
  rs_err_clear(&e);
}

/* ---- a unit's environment ---- */

static struct rs_unit_env env_of(const char *const *files, size_t n) {
  struct rs_unit_env env;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_unit_env_init(&env, &e), 0);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(rs_unit_env_read(&env, files[i], strlen(files[i]), &e), 0, "%s", e.msg ? e.msg : "");
  return env;
}

Test(unit_env, assignments_as_systemd_reads_them) {
  static const char *const files[] = {
      "[Unit]\nEnvironment=NOT=service\n[Service]\nExecStart=/usr/bin/dockerd\n"
      "Environment=\"HTTP_PROXY=http://p:3128\" 'NO_PROXY=a, b' PLAIN=x\n"
      "  Environment = ESC=\\x41\\t\\\"q\\\" \"SP=a b\"c\n"
      "# Environment=COMMENT=1\n; Environment=COMMENT=2\n"
      "Environment=CONT=one \\\n  TWO=two\n"
      "Environment=bad-name=1 9NUM=1 =x noequals OK_1=1\n",
      /* a later drop-in: overrides, and an empty assignment resets */
      "[Service]\nEnvironment=PLAIN=y\nEnvironmentFile=-/etc/default/docker\n",
  };
  struct rs_unit_env env = env_of(files, 2);
  cr_assert_str_eq(rs_unit_env_get(&env, "HTTP_PROXY"), "http://p:3128");
  cr_assert_str_eq(rs_unit_env_get(&env, "NO_PROXY"), "a, b");
  cr_assert_str_eq(rs_unit_env_get(&env, "PLAIN"), "y");
  cr_assert_str_eq(rs_unit_env_get(&env, "ESC"), "A\t\"q\"");
  cr_assert_str_eq(rs_unit_env_get(&env, "SP"), "a bc");
  cr_assert_str_eq(rs_unit_env_get(&env, "CONT"), "one");
  cr_assert_str_eq(rs_unit_env_get(&env, "TWO"), "two");
  cr_assert_str_eq(rs_unit_env_get(&env, "OK_1"), "1");
  cr_assert_null(rs_unit_env_get(&env, "NOT"));
  cr_assert_null(rs_unit_env_get(&env, "COMMENT"));
  cr_assert_null(rs_unit_env_get(&env, "bad-name"));
  cr_assert_null(rs_unit_env_get(&env, "9NUM"));
  cr_assert_str_eq(env.names[0], "HTTP_PROXY", "first assignment's order");
  cr_assert_str_eq(env.files[0], "-/etc/default/docker");
  rs_unit_env_free(&env);
  static const char *const reset[] = {"[Service]\nEnvironment=A=1 B=2\nEnvironmentFile=/x\n",
                                      "[Service]\nEnvironment=\nEnvironment=C=3\nEnvironmentFile=\n"};
  env = env_of(reset, 2);
  cr_assert_eq(rs_strv_len(env.names), 1);
  cr_assert_str_eq(env.names[0], "C");
  cr_assert_eq(rs_strv_len(env.files), 0);
  rs_unit_env_free(&env);
}

Test(unit_env, refused_lines_name_their_line) {
  static const char *const bad[][2] = {
      {"[Service]\nEnvironment=\"A=1\n", "line 2: unterminated quote"},
      {"[Service]\n\nEnvironment=A=\\q\n", "line 3: unsupported escape"},
      {"[Service\n", "line 1: bad section header"},
      {"[Service]\nEnvironment=A=\\x00\n", "line 2"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct rs_unit_env env;
    rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_unit_env_init(&env, &e), 0);
    cr_assert_eq(rs_unit_env_read(&env, bad[i][0], strlen(bad[i][0]), &e), -1, "accepted %s", bad[i][0]);
    cr_assert(strstr(e.msg, bad[i][1]), "%s", e.msg);
    rs_err_clear(&e);
    rs_unit_env_free(&env);
  }
  struct rs_unit_env env;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_unit_env_init(&env, &e), 0);
  cr_assert_eq(rs_unit_env_read(&env, "a\0b", 3, &e), -1);
  rs_err_clear(&e);
  rs_unit_env_free(&env);
}

Test(unit_env, dropin_reads_back) {
  char *names[] = {"HTTP_PROXY", "NO_PROXY", NULL};
  char *values[] = {"http://u:p\"w\\x@proxy:3128", "localhost, .svc %%", NULL};
  char *t = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_unit_env_dropin("from docker.service", names, values, &t, &e), 0);
  cr_assert_str_eq(t, "# from docker.service\n[Service]\n"
                      "Environment=\"HTTP_PROXY=http://u:p\\\"w\\\\x@proxy:3128\"\n"
                      "Environment=\"NO_PROXY=localhost, .svc %%\"\n");
  const char *files[] = {t};
  struct rs_unit_env env = env_of(files, 1);
  cr_assert_str_eq(rs_unit_env_get(&env, "HTTP_PROXY"), values[0]);
  cr_assert_str_eq(rs_unit_env_get(&env, "NO_PROXY"), values[1]);
  rs_unit_env_free(&env);
  free(t);
  char *ctl[] = {"a\nb", NULL};
  cr_assert_eq(rs_unit_env_dropin("x", names, ctl, &t, &e), -1);
  rs_err_clear(&e);
  char *badn[] = {"A-B", NULL};
  cr_assert_eq(rs_unit_env_dropin("x", badn, values, &t, &e), -1);
  rs_err_clear(&e);
}
