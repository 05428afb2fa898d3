#include <criterion/criterion.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/docker_json.h"
#include "helper/json.h"

Test(json, parse_values) {
  const char *t = "{\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\": {}}";
  rs_err_t e = RS_ERR_INIT;
  _cleanup_json_ rs_json_t *j = rs_json_parse(t, strlen(t), &e);
  cr_assert_not_null(j, "%s", e.msg ? e.msg : "");
  const rs_json_t *a = rs_json_get(j, "a");
  cr_assert_eq(a->n, 6);
  cr_assert_eq(a->items[1].num, -2500.0);
  cr_assert_str_eq(a->items[5].str, "x\xc3\xa9\xf0\x9f\x98\x80\n");
  cr_assert_eq(rs_json_get(j, "b")->type, RS_J_OBJ);
}

struct bad { const char *in; };
Test(json, rejects) {
  static const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "01x", "[1] 2",
                              "\"a\nb\"", "{\"a\":tru}", "-", "1.", "1e"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    rs_err_t e = RS_ERR_INIT;
    rs_json_t *j = rs_json_parse(bad[i], strlen(bad[i]), &e);
    cr_assert_null(j, "accepted %s", bad[i]);
    rs_err_clear(&e);
  }
}

Test(json, depth_bound) {
  char deep[200];
  memset(deep, '[', sizeof deep);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_null(rs_json_parse(deep, sizeof deep, &e));
  cr_assert(strstr(e.msg, "deeply"));
  rs_err_clear(&e);
}

Test(json, writer) {
  rs_buf_t b = RS_BUF_INIT(0);
  cr_assert_eq(rs_json_put_str(&b, "a\"b\\\n\x01", NULL), 0);
  cr_assert_str_eq(b.data, "\"a\\\"b\\\\\\n\\u0001\"");
  rs_buf_free(&b);
}

Test(docker_json, daemon_settings) {
  const char *t = "{\n \"exec-opts\": [\"native.cgroupdriver=systemd\"],\n"
                  " \"registry-mirrors\": [\"https://mirror.example.com/\"],\n"
                  " \"insecure-registries\": [\"registry.local:5000\", \"10.0.0.0/8\"],\n"
                  " \"data-root\": \"/data/docker\", \"live-restore\": true,\n"
                  " \"log-opts\": {\"max-size\": \"10m\"}}";
  struct rs_docker_cfg c;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_docker_cfg_parse(t, strlen(t), &c, &e), 0);
  cr_assert_str_eq(c.cgroup_driver, "systemd");
  cr_assert_str_eq(c.mirrors[0], "https://mirror.example.com/");
  cr_assert_eq(rs_strv_len(c.insecure), 2);
  cr_assert_str_eq(c.data_root, "/data/docker");
  cr_assert(c.live_restore);
  rs_docker_cfg_free(&c);
  cr_assert_eq(rs_docker_cfg_parse("  \n", 3, &c, &e), 0);
  cr_assert_null(c.cgroup_driver);
  rs_docker_cfg_free(&c);
  cr_assert_eq(rs_docker_cfg_parse("{\"exec-opts\": \"x\"}", 18, &c, &e), -1);
  rs_err_clear(&e);
}

Test(json, empty_string_is_terminated) {
  const char *t = "{\"registry-mirrors\": [\"\"], \"data-root\": \"\"}";
  struct rs_docker_cfg c;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_docker_cfg_parse(t, strlen(t), &c, &e), 0);
  cr_assert_eq(rs_strv_len(c.mirrors), 0);
  cr_assert_str_eq(c.data_root, "");
  rs_docker_cfg_free(&c);
}
