#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "helper/containerd_toml.h"
#include "helper/hosts_toml.h"
#include "helper/toml.h"

static char *data_file(const char *name) {
  /* RS_TEST_DATA is <repo>/tests/data; our files are in tests/helper/data */
  const char *td = getenv("RS_TEST_DATA") ? getenv("RS_TEST_DATA") : "tests/data";
  size_t n = strlen(td);
  while (n && td[n - 1] != '/') n--;
  char path[4096];
  snprintf(path, sizeof path, "%.*shelper/data/%s", (int)n, td, name);
  char *t = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_read_file(path, 1 << 20, &t, NULL, &e) < 0)
    cr_assert_fail("%s", e.msg);
  return t;
}

static char *get(const char *t, const char *const *p) {
  char *v = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_toml_get_raw(t, strlen(t), p, &v, &e), 0, "%s", e.msg ? e.msg : "");
  return v;
}

Test(toml, scan_spans) {
  const char *t =
      "a = 1 # c\n"
      "[x.\"y.z\" . 'w']\n"
      "  arr = [\n    \"a\", # one\n    'b',\n  ]\n"
      "  ml = \"\"\"line\n\"quoted\"\n\"\"\"\n"
      "  inl = { k = [1, {j = 2}] }\n"
      "[[arr2]]\n  q = 1\n";
  const char *const p1[] = {"x", "y.z", "w", "arr", NULL};
  const char *const p2[] = {"a", NULL};
  const char *const p3[] = {"arr2", "q", NULL};
  _cleanup_free_ char *v1 = get(t, p1), *v2 = get(t, p2), *v3 = get(t, p3);
  cr_assert_str_eq(v1, "[\n    \"a\", # one\n    'b',\n  ]");
  cr_assert_str_eq(v2, "1");
  cr_assert_null(v3); /* arrays of tables are read-only */
  _cleanup_strv_ char **items = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_toml_decode_str_array(v1, &items, &e), 0);
  cr_assert_str_eq(items[0], "a");
  cr_assert_str_eq(items[1], "b");
}

Test(toml, set_existing_new_key_new_table) {
  const char *t = "# top\nversion = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"old\" # keep\n\n# tail\n";
  const char *const cri[] = {"plugins", "io.containerd.grpc.v1.cri", NULL};
  const char *const cni[] = {"plugins", "io.containerd.grpc.v1.cri", "cni", NULL};
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
  cr_assert_eq(rs_toml_set(t, strlen(t), cri, "sandbox_image", "\"new\"", &a, &e), 0);
  cr_assert_str_eq(a, "# top\nversion = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  sandbox_image = \"new\" # keep\n\n# tail\n");
  cr_assert_eq(rs_toml_set(a, strlen(a), cri, "enable_selinux", "false", &b, &e), 0);
  cr_assert(strstr(b, "  sandbox_image = \"new\" # keep\n  enable_selinux = false\n\n# tail"));
  cr_assert_eq(rs_toml_set(b, strlen(b), cni, "bin_dir", "\"/usr/lib/cni\"", &c, &e), 0);
  cr_assert(rs_endswith(c, "# tail\n\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\n  bin_dir = \"/usr/lib/cni\"\n"));
}

Test(toml, inline_table_refused) {
  const char *t = "[a]\nopts = { SystemdCgroup = false }\n";
  const char *const p[] = {"a", "opts", NULL};
  rs_err_t e = RS_ERR_INIT;
  char *out = NULL;
  cr_assert_eq(rs_toml_set(t, strlen(t), p, "SystemdCgroup", "true", &out, &e), -1);
  rs_err_clear(&e);
}

Test(toml, malformed) {
  static const char *bad[] = {"a = \n", "[a\n", "a = \"x\n", "a = [1, 2\n", "a = 1 b\n",
                              "= 1\n", "a = '''x\n", "a = [}\n"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct rs_toml d;
    rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_toml_scan(bad[i], strlen(bad[i]), &d, &e), -1, "accepted %s", bad[i]);
    rs_err_clear(&e);
  }
}

Test(containerd, docker_containerd_io_file) {
  _cleanup_free_ char *in = data_file("docker-containerd.io.toml");
  struct rs_ctd_want w = {1, 6, true, "registry.k8s.io/pause:3.6", "/opt/cni/bin",
                          "/etc/cni/net.d", NULL};
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *out = NULL;
  _cleanup_strv_ char **ch = rs_strv_new();
  cr_assert_eq(rs_ctd_config_edit(in, strlen(in), &w, &out, &ch, &e), 0, "%s", e.msg ? e.msg : "");
  int v;
  cr_assert_eq(rs_ctd_config_version(out, strlen(out), &v, &e), 0);
  cr_assert_eq(v, 2);
  cr_assert(strstr(out, "disabled_plugins = []\nversion = 2\n"));
  cr_assert(strstr(out, "#   Licensed under the Apache License"));
  cr_assert(strstr(out, "SystemdCgroup = true"));
  const char *const sb[] = {"plugins", "io.containerd.grpc.v1.cri", "sandbox_image", NULL};
  _cleanup_free_ char *img = get(out, sb);
  cr_assert_str_eq(img, "\"registry.k8s.io/pause:3.6\"");
}

Test(containerd, default_1_6_minimal_diff) {
  _cleanup_free_ char *in = data_file("containerd-1.6.20-default.toml");
  struct rs_ctd_want w = {1, 6, true, "registry.k8s.io/pause:3.6", "/opt/cni/bin",
                          "/etc/cni/net.d", NULL};
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *out = NULL;
  _cleanup_strv_ char **ch = rs_strv_new();
  cr_assert_eq(rs_ctd_config_edit(in, strlen(in), &w, &out, &ch, &e), 0, "%s", e.msg ? e.msg : "");
  /* only SystemdCgroup differs */
  cr_assert_eq(rs_strv_len(ch), 1, "%s", ch[0]);
  cr_assert_eq(strlen(out), strlen(in) - 1); /* false -> true */
}

Test(containerd, v1_sections_renamed) {
  const char *in = "disabled_plugins = [\"cri\", \"restart\"]\n[plugins.linux]\n  shim = \"x\"\n[plugins.cri.containerd]\n  snapshotter = \"overlayfs\"\n";
  struct rs_ctd_want w = {1, 7, false, NULL, NULL, NULL, NULL};
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *out = NULL;
  cr_assert_eq(rs_ctd_config_edit(in, strlen(in), &w, &out, NULL, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert(strstr(out, "disabled_plugins = [\"io.containerd.internal.v1.restart\"]\nversion = 2\n"));
  cr_assert(strstr(out, "[plugins.\"io.containerd.runtime.v1.linux\"]\n  shim = \"x\"\n"));
  cr_assert(strstr(out, "[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n  snapshotter = \"overlayfs\"\n"));
}

Test(containerd, v3_keys) {
  const char *in = "version = 3\ndisabled_plugins = ['io.containerd.grpc.v1.cri']\n"
                   "[plugins.'io.containerd.cri.v1.runtime'.cni]\n  bin_dir = ''\n  bin_dirs = ['/opt/cni/bin']\n";
  struct rs_ctd_want w = {2, 1, true, "registry.k8s.io/pause:3.10", "/usr/lib/cni",
                          "/etc/cni/net.d", "/etc/containerd/certs.d"};
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *out = NULL;
  cr_assert_eq(rs_ctd_config_edit(in, strlen(in), &w, &out, NULL, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert(strstr(out, "disabled_plugins = []"));
  cr_assert(!strstr(out, "bin_dir ="));
  cr_assert(strstr(out, "bin_dirs = [\"/usr/lib/cni\"]"));
  cr_assert(strstr(out, "[plugins.\"io.containerd.cri.v1.images\".pinned_images]\n  sandbox = \"registry.k8s.io/pause:3.10\"\n"));
  cr_assert(strstr(out, "[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n"));
  /* a v2 file for containerd 2.x must be migrated first */
  struct rs_ctd_want w2 = {2, 0, true, NULL, NULL, NULL, NULL};
  cr_assert_eq(rs_ctd_config_edit("version = 2\n", 12, &w2, &out, NULL, &e), -1);
  rs_err_clear(&e);
}

/* containerd 2.3 and later write version 4 (config default and migrate):
 * the CRI tables are those of version 3; before 2.3 version 4 is refused */
Test(containerd, v4_from_2_3) {
  const char *in = "version = 4\n[plugins.'io.containerd.server.v1.grpc']\n  address = '/run/containerd/containerd.sock'\n";
  struct rs_ctd_want w = {2, 4, false, "registry.k8s.io/pause:3.10", NULL, NULL, NULL};
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *out = NULL;
  cr_assert_eq(rs_ctd_config_edit(in, strlen(in), &w, &out, NULL, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert(strstr(out, "[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n"));
  cr_assert(strstr(out, "address = '/run/containerd/containerd.sock'"));
  struct rs_ctd_want w22 = {2, 2, false, NULL, NULL, NULL, NULL};
  char *no = NULL;
  cr_assert_eq(rs_ctd_config_edit(in, strlen(in), &w22, &no, NULL, &e), -1);
  cr_assert(strstr(e.msg, "version 4; containerd 2.2 reads version 3 at most"), "%s", e.msg);
  rs_err_clear(&e);
}

/* what a 2.3+ config imports (containerd merges those files over it) */
Test(containerd, imports) {
  const char *in = "version = 4\nimports = ['/etc/containerd/conf.d/*.toml', \"/x.toml\"]\n";
  rs_err_t e = RS_ERR_INIT;
  _cleanup_strv_ char **v = NULL, **none = NULL;
  cr_assert_eq(rs_ctd_imports(in, strlen(in), &v, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert_eq(rs_strv_len(v), 2);
  cr_assert_str_eq(v[0], "/etc/containerd/conf.d/*.toml");
  cr_assert_str_eq(v[1], "/x.toml");
  cr_assert_eq(rs_ctd_imports("version = 3\n", 12, &none, &e), 0);
  cr_assert_eq(rs_strv_len(none), 0);
  char **bad = NULL;
  cr_assert_eq(rs_ctd_imports("imports = 3\n", 12, &bad, &e), -1);
  cr_assert(strstr(e.msg, "imports"), "%s", e.msg);
  rs_err_clear(&e);
}

/* registry.mirrors / configs entries exclude config_path; their empty
 * tables (1.x `config default`) do not */
Test(containerd, legacy_registry) {
  static const struct {
    const char *in;
    bool legacy;
  } t[] = {
      {"version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"\"\n"
       "  [plugins.\"io.containerd.grpc.v1.cri\".registry.configs]\n"
       "  [plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors]\n",
       false},
      {"version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"docker.io\"]\n"
       "  endpoint = [\"https://m.example.com\"]\n",
       true},
      {"version = 3\n[plugins.'io.containerd.cri.v1.images'.registry.mirrors.'docker.io']\n", true},
      {"version = 3\n[plugins.'io.containerd.cri.v1.images'.registry]\n"
       "  mirrors = { 'docker.io' = { endpoint = ['https://m.example.com'] } }\n",
       true},
      {"version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry.configs]\n"
       "  \"r.example.com\".tls.insecure_skip_verify = true\n",
       true},
      {"version = 3\n[plugins.'io.containerd.cri.v1.images'.registry]\n  config_path = ''\n", false},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    rs_err_t e = RS_ERR_INIT;
    bool legacy = !t[i].legacy;
    cr_assert_eq(rs_ctd_has_legacy_registry(t[i].in, strlen(t[i].in), &legacy, &e), 0, "%zu: %s", i,
                 e.msg ? e.msg : "");
    cr_assert_eq(legacy, t[i].legacy, "case %zu", i);
  }
}

Test(containerd, hosts_files) {
  char *m[] = {"https://mirror.example.com/", "mirror2.example.com", NULL};
  _cleanup_free_ char *h = rs_ctd_hosts_mirrors(m, NULL);
  cr_assert(strstr(h, "server = \"https://registry-1.docker.io\""));
  cr_assert(strstr(h, "[host.\"https://mirror.example.com\"]\n  capabilities = [\"pull\", \"resolve\"]"));
  cr_assert(strstr(h, "[host.\"https://mirror2.example.com\"]"));
  _cleanup_free_ char *i = rs_ctd_hosts_registry("registry.local:5000", true, NULL);
  cr_assert(strstr(i, "[host.\"http://registry.local:5000\"]"));
  cr_assert(strstr(i, "  skip_verify = true\n"));
  cr_assert_null(rs_ctd_hosts_registry("10.0.0.0/8", true, NULL));
  cr_assert_null(rs_ctd_hosts_registry("registry.local", false, NULL)); /* nothing to say */
  struct rs_toml d;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_toml_scan(h, strlen(h), &d, &e), 0);
  rs_toml_free(&d);
  cr_assert_eq(rs_toml_scan(i, strlen(i), &d, &e), 0);
  rs_toml_free(&d);
}

/* Docker's certs.d files named the way hosts.toml takes them: CAs as a
 * list, client certificates as [cert, key] pairs */
Test(containerd, hosts_tls) {
  char *cas[] = {"/c/r/ca.crt", "/c/r/extra.crt", NULL};
  char *certs[] = {"/c/r/client.cert", NULL}, *keys[] = {"/c/r/client.key", NULL};
  struct rs_reg_tls t = {cas, certs, keys};
  _cleanup_free_ char *only = rs_ctd_hosts_registry("r.example.com:5000", false, &t);
  cr_assert_str_eq(only, "# written by kubectl runtime-switch from Docker's certs.d\n"
                         "server = \"https://r.example.com:5000\"\n\n"
                         "[host.\"https://r.example.com:5000\"]\n"
                         "  capabilities = [\"pull\", \"resolve\", \"push\"]\n"
                         "  ca = [\"/c/r/ca.crt\", \"/c/r/extra.crt\"]\n"
                         "  client = [[\"/c/r/client.cert\", \"/c/r/client.key\"]]\n");
  _cleanup_free_ char *both = rs_ctd_hosts_registry("r.example.com:5000", true, &t);
  cr_assert(strstr(both, "insecure-registries and certs.d"));
  cr_assert(strstr(both, "client.key\"]]\n  skip_verify = true\n\n[host.\"http://r.example.com:5000\"]"));
  char *m[] = {"http://m1.example.com", "m2.example.com", NULL};
  const struct rs_reg_tls *per[] = {NULL, &t};
  _cleanup_free_ char *mir = rs_ctd_hosts_mirrors(m, per);
  const char *m1 = strstr(mir, "[host.\"http://m1.example.com\"]"), *m2 = strstr(mir, "[host.\"https://m2.example.com\"]");
  cr_assert(m1 && m2 && m1 < m2);
  cr_assert(!strstr(m1, "ca = ") || strstr(m1, "ca = ") > m2, "the first mirror has no TLS files");
  cr_assert(strstr(m2, "  ca = [\"/c/r/ca.crt\", \"/c/r/extra.crt\"]\n  client = [["));
  struct rs_toml d;
  rs_err_t e = RS_ERR_INIT;
  const char *all[] = {only, both, mir};
  for (size_t k = 0; k < 3; k++) {
    cr_assert_eq(rs_toml_scan(all[k], strlen(all[k]), &d, &e), 0, "%s", e.msg ? e.msg : "");
    rs_toml_free(&d);
  }
}

Test(toml, duplicates_refused) {
  static const char *dup[] = {"[a]\nx = 1\n[a]\ny = 2\n", "x = 1\nx = 2\n", "[a]\nb.c = 1\n[a.b]\nc = 2\n"};
  for (size_t i = 0; i < sizeof dup / sizeof *dup; i++) {
    struct rs_toml d;
    rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_toml_scan(dup[i], strlen(dup[i]), &d, &e), -1, "accepted %s", dup[i]);
    cr_assert(strstr(e.msg, "defined twice"), "%s", e.msg);
    rs_err_clear(&e);
  }
}
