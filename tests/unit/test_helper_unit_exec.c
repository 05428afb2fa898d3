/* A service's ExecStart= across its unit and drop-ins, split, its long
 * flags read and set, written back (helper/unit_exec.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/unit_exec.h"

static char **cmds_of(const char *const *files, size_t n) {
  char **cmds = rs_strv_new();
  rs_err_t e = RS_ERR_INIT;
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(rs_unit_exec_read(&cmds, files[i], strlen(files[i]), NULL, &e), 0, "%s", e.msg ? e.msg : "");
  return cmds;
}

Test(unit_exec, the_last_execstart_after_a_reset_wins) {
  static const char *const files[] = {
      "[Unit]\nExecStart=/not/service\n[Service]\nType=notify\n"
      "ExecStart=/usr/bin/cri-dockerd --container-runtime-endpoint fd://\n",
      "[Service]\nExecStart=\nExecStart=/usr/bin/cri-dockerd --container-runtime-endpoint fd:// \\\n"
      "  --network-plugin=cni\n",
  };
  _cleanup_strv_ char **cmds = cmds_of(files, 2);
  cr_assert_eq(rs_strv_len(cmds), 1);
  cr_assert_str_eq(cmds[0], "/usr/bin/cri-dockerd --container-runtime-endpoint fd://    --network-plugin=cni");
  /* without the reset, two commands (systemd refuses that for Type=notify) */
  static const char *const two[] = {files[0], "[Service]\nExecStart=/usr/bin/cri-dockerd --x\n"};
  _cleanup_strv_ char **cmds2 = cmds_of(two, 2);
  cr_assert_eq(rs_strv_len(cmds2), 2);
  bool sets = true;
  rs_err_t e = RS_ERR_INIT;
  const char *none = "[Service]\nEnvironment=A=1\n";
  cr_assert_eq(rs_unit_exec_read(&cmds2, none, strlen(none), &sets, &e), 0);
  cr_assert(!sets);
}

Test(unit_exec, split_quotes_and_flags) {
  _cleanup_strv_ char **argv = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_exec_split("  /usr/bin/cri-dockerd --cni-bin-dir \"/usr/lib/cni\" 'a b' --cni-conf-dir=/x "
                             "--cni-conf-dir /y\t--network-plugin-mtu=1450",
                             &argv, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert_eq(rs_strv_len(argv), 8);
  cr_assert_str_eq(argv[3], "a b");
  _cleanup_free_ char *bin = NULL, *conf = NULL, *mtu = NULL, *none = NULL;
  cr_assert_eq(rs_exec_flag_get(argv, "--cni-bin-dir", &bin, &e), 0);
  cr_assert_str_eq(bin, "/usr/lib/cni");
  cr_assert_eq(rs_exec_flag_get(argv, "--cni-conf-dir", &conf, &e), 0);
  cr_assert_str_eq(conf, "/y", "the last one wins");
  cr_assert_eq(rs_exec_flag_get(argv, "--network-plugin-mtu", &mtu, &e), 0);
  cr_assert_str_eq(mtu, "1450");
  cr_assert_eq(rs_exec_flag_get(argv, "--network-plugin", &none, &e), 0);
  cr_assert_null(none, "a flag is not a prefix of another");

  cr_assert_eq(rs_exec_flag_set(&argv, "--cni-conf-dir", "/etc/cni/net.d", &e), 0);
  cr_assert_eq(rs_exec_flag_set(&argv, "--cni-bin-dir", "/opt/cni/bin", &e), 0);
  _cleanup_free_ char *cmd = NULL;
  cr_assert_eq(rs_exec_join(argv, &cmd, &e), 0);
  cr_assert_str_eq(cmd, "/usr/bin/cri-dockerd \"a b\" --network-plugin-mtu=1450 --cni-conf-dir=/etc/cni/net.d "
                        "--cni-bin-dir=/opt/cni/bin");
  _cleanup_strv_ char **back = NULL;
  cr_assert_eq(rs_exec_split(cmd, &back, &e), 0);
  cr_assert_eq(rs_strv_len(back), rs_strv_len(argv));
  for (size_t i = 0; argv[i]; i++) cr_assert_str_eq(back[i], argv[i]);
}

Test(unit_exec, join_quotes_what_needs_it) {
  char *const argv[] = {"/usr/bin/x", "", "it's", "say \"hi\"", "plain", NULL};
  _cleanup_free_ char *cmd = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_exec_join(argv, &cmd, &e), 0);
  cr_assert_str_eq(cmd, "/usr/bin/x \"\" \"it's\" 'say \"hi\"' plain");
  char *const both[] = {"/usr/bin/x", "'\"", NULL};
  char *const dollar[] = {"/usr/bin/x", "--a=$B", NULL};
  char *const rel[] = {"x", NULL};
  cr_assert_eq(rs_exec_join(both, &cmd, &e), -1);
  rs_err_clear(&e);
  cr_assert_eq(rs_exec_join(dollar, &cmd, &e), -1);
  cr_assert(strstr(e.msg, "--a=$B has a $"), "%s", e.msg);
  rs_err_clear(&e);
  cr_assert_eq(rs_exec_join(rel, &cmd, &e), -1);
  rs_err_clear(&e);
}

Test(unit_exec, refused_command_lines_say_why) {
  static const char *const bad[][2] = {
      {"/usr/bin/cri-dockerd $CRI_DOCKERD_ARGS", "a $ (systemd expands variables)"},
      {"/usr/bin/cri-dockerd ${ARGS}", "a $"},
      {"/usr/bin/cri-dockerd --hostname-override=%H", "a % (systemd expands specifiers)"},
      {"-/usr/bin/cri-dockerd", "prefix '-'"},
      {"@/usr/bin/cri-dockerd cri-dockerd", "prefix '@'"},
      {"!!/usr/bin/cri-dockerd", "prefix '!'"},
      {"/usr/bin/cri-dockerd --a=\\x41", "a backslash"},
      {"/usr/bin/cri-dockerd ; /bin/true", "more than one command"},
      {"/usr/bin/cri-dockerd \"--a=b", "unterminated quote"},
      {"/usr/bin/cri-dockerd \"a'b\"'c\"'", "both kinds of quotes"},
      {"cri-dockerd --a", "not an absolute path"},
      {"   ", "empty"},
      {"/usr/bin/cri-dockerd \x01", "a control character"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char **argv = NULL;
    rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_exec_split(bad[i][0], &argv, &e), -1, "accepted %s", bad[i][0]);
    cr_assert(strstr(e.msg, bad[i][1]), "%s: %s", bad[i][0], e.msg);
    cr_assert_null(argv);
    rs_err_clear(&e);
  }
  _cleanup_strv_ char **argv = NULL;
  _cleanup_free_ char *v = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_exec_split("/usr/bin/cri-dockerd --cni-bin-dir --network-plugin=cni", &argv, &e), 0);
  cr_assert_eq(rs_exec_flag_get(argv, "--cni-bin-dir", &v, &e), -1);
  cr_assert(strstr(e.msg, "--cni-bin-dir without a value"), "%s", e.msg);
  rs_err_clear(&e);
}

Test(unit_exec, bounds) {
  rs_buf_t b = RS_BUF_INIT(0);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_buf_puts(&b, "/usr/bin/x", &e), 0);
  for (int i = 0; i < RS_EXEC_MAX_WORDS; i++) cr_assert_eq(rs_buf_puts(&b, " a", &e), 0);
  _cleanup_strv_ char **argv = NULL;
  cr_assert_eq(rs_exec_split(b.data, &argv, &e), -1);
  cr_assert_eq(e.kind, RS_E_LIMIT);
  rs_err_clear(&e);
  rs_buf_free(&b);
  /* a file over the unit bound */
  size_t n = ((size_t)256 << 10) + 1;
  char *big = malloc(n);
  memset(big, '#', n);
  _cleanup_strv_ char **cmds = rs_strv_new();
  cr_assert_eq(rs_unit_exec_read(&cmds, big, n, NULL, &e), -1);
  cr_assert_eq(e.kind, RS_E_LIMIT);
  rs_err_clear(&e);
  free(big);
}
