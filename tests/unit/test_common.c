#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/proc.h"
#include "common/sha256.h"
#include "common/signals.h"
#include "common/strutil.h"

Test(err, fail_wrap_clear) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_fail(&e, RS_E_INPUT, 7, "field %s", "x"), -1);
  rs_wrap(&e, "file %s", "a.yaml");
  cr_assert_str_eq(e.msg, "file a.yaml: field x");
  cr_assert_eq(e.kind, RS_E_INPUT);
  cr_assert_eq(e.code, 7);
  rs_fail_errno(&e, ENOENT, "open %s", "/nope");
  cr_assert_str_eq(e.msg, "open /nope: No such file or directory");
  cr_assert_eq(e.kind, RS_E_SYS);
}

Test(buf, bounded) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(8);
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_buf_puts(&b, "1234", &e), 0);
  cr_assert_eq(rs_buf_printf(&b, &e, "%d", 5678), 0);
  cr_assert_str_eq(b.data, "12345678");
  cr_assert_eq(rs_buf_puts(&b, "9", &e), -1);
  cr_assert_eq(e.kind, RS_E_LIMIT);
  cr_assert_str_eq(b.data, "12345678");
}

struct vc { const char *a, *b; int sign; };
static const struct vc vcases[] = {
    {"1.6.20", "1.7.0", -1}, {"v1.34.2", "1.34.2", 0},
    {"1.6.20~ds1", "1.6.20", 0}, {"20.10.24", "20.10.3", 1},
    {"1.27", "1.27.0", 0}, {"2.0.0-rc.1", "1.7.99", 1},
};
Test(strutil, version_cmp) {
  for (size_t i = 0; i < sizeof vcases / sizeof *vcases; i++) {
    int r = rs_version_cmp(vcases[i].a, vcases[i].b);
    int s = r < 0 ? -1 : r > 0;
    cr_assert_eq(s, vcases[i].sign, "%s vs %s", vcases[i].a, vcases[i].b);
  }
  int ma, mi;
  cr_assert_eq(rs_version_major_minor("v1.34.2", &ma, &mi), 0);
  cr_assert_eq(ma, 1);
  cr_assert_eq(mi, 34);
  cr_assert_eq(rs_version_major_minor("docker", &ma, &mi), -1);
}

Test(strutil, parse) {
  long v;
  cr_assert_eq(rs_parse_long("42", 0, 100, &v), 0);
  cr_assert_eq(v, 42);
  cr_assert_eq(rs_parse_long("42x", 0, 100, &v), -1);
  cr_assert_eq(rs_parse_long("", 0, 100, &v), -1);
  cr_assert_eq(rs_parse_long("101", 0, 100, &v), -1);
  cr_assert_eq(rs_parse_long(" 1", 0, 100, &v), -1);
  long long ms;
  cr_assert_eq(rs_parse_duration_ms("1m30s", &ms), 0);
  cr_assert_eq(ms, 90000);
  cr_assert_eq(rs_parse_duration_ms("250ms", &ms), 0);
  cr_assert_eq(ms, 250);
  cr_assert_eq(rs_parse_duration_ms("30", &ms), 0);
  cr_assert_eq(ms, 30000);
  cr_assert_eq(rs_parse_duration_ms("5x", &ms), -1);
  cr_assert_eq(rs_parse_duration_ms("s", &ms), -1);
}

Test(strutil, strv) {
  _cleanup_strv_ char **v = rs_strv_new();
  cr_assert_eq(rs_strv_push(&v, "a", NULL), 0);
  cr_assert_eq(rs_strv_push(&v, "b", NULL), 0);
  cr_assert_eq(rs_strv_len(v), 2);
  cr_assert(rs_strv_contains(v, "b"));
  cr_assert_not(rs_strv_contains(v, "c"));
}

Test(fileio, atomic_keeps_mode) {
  char dir[] = "/tmp/rs-test-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  _cleanup_free_ char *p = rs_strdup_printf("%s/f.conf", dir);
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_write_file_atomic(p, "one\n", 4, 0640, &e), 0, "%s", e.msg);
  struct stat st;
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0640);
  chmod(p, 0600);
  cr_assert_eq(rs_write_file_atomic(p, "two\n", 4, 0644, &e), 0);
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0600);
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  cr_assert_eq(rs_read_file(p, 100, &data, &len, &e), 0);
  cr_assert_str_eq(data, "two\n");
  cr_assert_eq(rs_read_file(p, 2, &data, &len, &e), -1);
  cr_assert_eq(e.kind, RS_E_LIMIT);
  unlink(p);
  rmdir(dir);
}

Test(fileio, atomic_writes_through_a_symlink) {
  char dir[] = "/tmp/rs-test-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  _cleanup_free_ char *real = rs_strdup_printf("%s/real.toml", dir);
  _cleanup_free_ char *link = rs_strdup_printf("%s/config.toml", dir);
  _cleanup_free_ char *dangling = rs_strdup_printf("%s/gone.toml", dir);
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_write_file_atomic(real, "one\n", 4, 0640, &e), 0, "%s", e.msg);
  cr_assert_eq(symlink("real.toml", link), 0);
  cr_assert_eq(rs_write_file_atomic(link, "two\n", 4, 0644, &e), 0, "%s", e.msg);
  struct stat st;
  cr_assert_eq(lstat(link, &st), 0);
  cr_assert(S_ISLNK(st.st_mode), "the link stays a link");
  cr_assert_eq(stat(real, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0640, "the target keeps its mode");
  _cleanup_free_ char *data = NULL;
  cr_assert_eq(rs_read_file(real, 100, &data, NULL, &e), 0);
  cr_assert_str_eq(data, "two\n");
  cr_assert_eq(symlink("nowhere.toml", dangling), 0);
  cr_assert_eq(rs_write_file_atomic(dangling, "x", 1, 0644, &e), -1);
  cr_assert(strstr(e.msg, "symlink"), "%s", e.msg);
  unlink(dangling);
  unlink(link);
  unlink(real);
  rmdir(dir);
}

Test(sha256, known_digests) {
  char h[65];
  rs_sha256_hex("", 0, h);
  cr_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  rs_sha256_hex("abc", 3, h);
  cr_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  char big[1000];
  memset(big, 'a', sizeof big);
  rs_sha256_hex(big, 56, h); /* padding spills into a second block */
  cr_assert_str_eq(h, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

Test(proc, run_capture_and_status) {
  const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
  const char *envp[] = {"PATH=/usr/bin:/bin", NULL};
  struct rs_proc_opts o = {.argv = argv, .envp = envp, .timeout_ms = 5000};
  struct rs_proc_result r;
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_proc_run(&o, &r, &e), 0);
  cr_assert_eq(r.status, 3);
  cr_assert_str_eq(r.out, "out\n");
  cr_assert_str_eq(r.errout, "err\n");
  rs_proc_result_free(&r);
}

Test(proc, timeout_and_bound) {
  const char *argv[] = {"sleep", "5", NULL};
  const char *envp[] = {"PATH=/usr/bin:/bin", NULL};
  struct rs_proc_opts o = {.argv = argv, .envp = envp, .timeout_ms = 200};
  struct rs_proc_result r;
  cr_assert_eq(rs_proc_run(&o, &r, NULL), 0);
  cr_assert(r.timed_out);
  cr_assert_eq(r.status, -1);
  rs_proc_result_free(&r);

  const char *yes[] = {"head", "-c", "100000", "/dev/zero", NULL};
  struct rs_proc_opts o2 = {.argv = yes, .envp = envp, .out_max = 1000};
  cr_assert_eq(rs_proc_run(&o2, &r, NULL), 0);
  cr_assert_eq(r.out_len, 1000);
  cr_assert(r.out_truncated);
  rs_proc_result_free(&r);

  const char *cat[] = {"cat", NULL};
  struct rs_proc_opts o3 = {.argv = cat, .envp = envp, .input = "hello", .input_len = 5};
  cr_assert_eq(rs_proc_run(&o3, &r, NULL), 0);
  cr_assert_str_eq(r.out, "hello");
  rs_proc_result_free(&r);
}

Test(proc, missing_program) {
  const char *argv[] = {"no-such-program-xyz", NULL};
  struct rs_proc_opts o = {.argv = argv, .path = "/usr/bin"};
  struct rs_proc_result r;
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_proc_run(&o, &r, &e), -1);
  cr_assert(strstr(e.msg, "no-such-program-xyz") != NULL);
}

Test(signals, term_sets_the_flag_and_sigpipe_is_ignored) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_signals_install(&e), 0, "%s", e.msg);
  cr_assert_eq(rs_cancelled, 0);
  cr_assert_eq(raise(SIGPIPE), 0); /* would end the test process */
  cr_assert_eq(raise(SIGTERM), 0);
  cr_assert_eq(rs_cancelled, 1);
  rs_cancelled = 0;
  cr_assert_eq(raise(SIGINT), 0);
  cr_assert_eq(rs_cancelled, 1);
}
