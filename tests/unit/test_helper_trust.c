/* The helper's trust and recovery pieces: journal boot records and the run
 * lock, the helper's own hash against a run's record, the boot guard's unit
 * file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "helper/guard.h"
#include "helper/integrity.h"
#include "helper/journal.h"
#include "helper_root.h"

static struct rs_host h;

static void mkroot(void) {
  helper_mkroot();
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_host_init(&h, root, "/bin", NULL, &e), 0);
}
static void rmroot(void) {
  rs_host_fini(&h);
  helper_rmroot();
}

TestSuite(trust, .init = mkroot, .fini = rmroot);

static void put(const char *rel, const char *text) {
  _cleanup_free_ char *p = rs_strdup_printf("%s%s", root, rel);
  _cleanup_free_ char *d = strdup(p);
  *strrchr(d, '/') = '\0';
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_mkdir_p(d, 0755, &e), 0);
  cr_assert_eq(rs_write_file_atomic(p, text, strlen(text), 0644, &e), 0);
}

Test(trust, helper_record) {
  struct rs_run run;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_run_open(&h, "r2", true, &run, &e), 0);
  char sha[65];
  rs_sha256_hex("helper bytes", 12, sha);
  cr_assert(rs_sha256_hex_ok(sha));
  cr_assert(!rs_sha256_hex_ok("ABC"));
  /* no record: only a helper the plugin vouched for may act */
  memcpy(h.self_sha, sha, sizeof sha);
  cr_assert_eq(rs_run_check_helper(&run, &e), -1);
  rs_err_clear(&e);
  h.self_vouched = true;
  cr_assert_eq(rs_run_check_helper(&run, &e), 0);
  h.self_vouched = false;
  cr_assert_eq(rs_run_record_helper(&run, sha, &e), 0);
  cr_assert_eq(rs_run_check_helper(&run, &e), 0);
  rs_sha256_hex("other bytes", 11, h.self_sha);
  cr_assert_eq(rs_run_check_helper(&run, &e), -1);
  cr_assert(strstr(e.msg, sha) && strstr(e.msg, h.self_sha), "both hashes named: %s", e.msg);
  rs_err_clear(&e);
  h.self_sha[0] = '\0';
  rs_run_close(&run);
}

Test(trust, journal_boot_and_lock) {
  static const char text[] = "10 state launched\n11 boot aaaa\n12 state running\n13 done stop-kubelet\n"
                             "14 boot bbbb\n15 state rolling-back x: y\n17 junk line\n"
                             "18 done rb-stop-kubelet\n19 begin rb-re";
  struct rs_journal j;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_journal_parse(text, strlen(text), &j, &e), 0);
  cr_assert_eq(j.n, 7); /* the junk line and the torn one are not records */
  cr_assert_str_eq(j.boot_id, "bbbb");
  cr_assert_eq(j.boot_at, 4);
  cr_assert_str_eq(j.state, RS_STATE_ROLLING_BACK);
  cr_assert(rs_journal_done(&j, "stop-kubelet"));
  cr_assert(!rs_journal_done_after(&j, j.boot_at, "stop-kubelet"));
  cr_assert(rs_journal_done_after(&j, rs_journal_last(&j, "state", RS_STATE_ROLLING_BACK), "rb-stop-kubelet"));
  rs_journal_free(&j);

  put(RS_HOST_BOOT_ID, "0f0e11aa-2b3c-4d5e-8f90-a1b2c3d4e5f6\n");
  struct rs_run run;
  cr_assert_eq(rs_run_open(&h, "r1", true, &run, &e), 0);
  struct rs_journal empty = {0};
  bool fresh = false;
  cr_assert_eq(rs_journal_note_boot(&run, &empty, false, &fresh, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert(fresh);
  cr_assert_eq(rs_journal_read(&run, &j, &e), 0);
  cr_assert_str_eq(j.boot_id, "0f0e11aa-2b3c-4d5e-8f90-a1b2c3d4e5f6");
  cr_assert_eq(rs_journal_note_boot(&run, &j, false, &fresh, &e), 0);
  cr_assert(!fresh, "the same boot is recorded once");
  cr_assert_eq(rs_journal_note_boot(&run, &j, true, &fresh, &e), 0);
  cr_assert(fresh, "unless the guard says it booted");
  rs_journal_free(&j);

  int fd = -1, fd2 = -1;
  cr_assert_eq(rs_run_lock(&run, false, &fd, &e), 0);
  /* flock is per open file: a second open in this process is refused too */
  cr_assert_eq(rs_run_lock(&run, false, &fd2, &e), -1);
  cr_assert_eq(e.code, EBUSY);
  rs_err_clear(&e);
  close(fd);
  cr_assert_eq(rs_run_lock(&run, false, &fd2, &e), 0);
  close(fd2);
  rs_run_close(&run);
}

Test(trust, guard_unit_file) {
  _cleanup_free_ char *unit = rs_guard_unit("abc-1");
  cr_assert_str_eq(unit, "kubectl-runtime-switch-guard-abc-1.service");
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *t = NULL;
  h.kubelet_wait_s = 5;
  cr_assert_eq(rs_guard_text(&h, "abc-1", &t, &e), 0);
  _cleanup_free_ char *exec = rs_strdup_printf("\nExecStart=%s%s guard --id abc-1 --root %s --exec-path /bin "
                                               "--kubelet-healthz 127.0.0.1:10248 --kubelet-wait 5\n",
                                               root, RS_HELPER_HOST_BIN, root);
  cr_assert(strstr(t, exec), "%s", t);
  cr_assert(strstr(t, "\nWantedBy=multi-user.target\n"));
  cr_assert(strstr(t, "\nRestart=on-abnormal\n"));
  /* nothing systemd would split or expand goes into ExecStart */
  struct rs_host odd;
  cr_assert_eq(rs_host_init(&odd, "/tmp/a b", "/bin", NULL, &e), 0);
  _cleanup_free_ char *t2 = NULL;
  cr_assert_eq(rs_guard_text(&odd, "x", &t2, &e), -1);
  cr_assert(strstr(e.msg, "ExecStart"));
  rs_err_clear(&e);
  rs_host_fini(&odd);
  h.kubelet_wait_s = 0;
}
