/* The helper's trust and recovery pieces: the helper's own hash against a
 * run's record. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "common/strutil.h"
#include "helper/contract.h"
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
