/* A scratch host root for the helper's unit tests: made before each test
 * of a suite, removed (rm -rf, without a shell) after it. */
#ifndef RS_TEST_HELPER_ROOT_H
#define RS_TEST_HELPER_ROOT_H

#include <criterion/criterion.h>
#include <stdlib.h>

#include "common/proc.h"

static char root[] = "/tmp/rs-helper-unit.XXXXXX";

static inline void helper_mkroot(void) { cr_assert_not_null(mkdtemp(root)); }

static inline void helper_rmroot(void) {
  const char *argv[] = {"rm", "-rf", root, NULL};
  struct rs_proc_opts o = {.argv = argv};
  struct rs_proc_result r;
  rs_err_t e = RS_ERR_INIT;
  if (rs_proc_run(&o, &r, &e) == 0) rs_proc_result_free(&r);
  rs_err_clear(&e);
}

#endif
