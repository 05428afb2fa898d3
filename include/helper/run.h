/* The phases that change the node: launch (backups, staging, host unit),
 * apply (journaled steps), rollback, and the report. */
#ifndef RS_HELPER_RUN_H
#define RS_HELPER_RUN_H

#include <stdbool.h>
#include "common/err.h"
#include "helper/host.h"
#include "helper/journal.h"
#include "helper/plan.h"

struct rs_launch_opts {
  const char *id;
  enum rs_rt to;
  bool no_images;
  long deadline_s;        /* apply must finish within this, else rollback */
  const char *self;       /* the helper's own bytes ... */
  size_t self_len;        /* ... to copy onto the host */
  const char *const *fixture_args; /* extra apply args in tests, or NULL */
};

/* Each returns an exit code (enum rs_helper_exit); *err explains failures. */
int rs_launch(const struct rs_host *h, const struct rs_launch_opts *o, rs_err_t *err);
/* apply, or (guard) the boot guard: the same work; the guard also removes
 * its unit when the run no longer exists. */
int rs_apply(const struct rs_host *h, const char *id, bool guard, rs_err_t *err);
/* force: restore files edited since the switch too (a copy of each is
 * kept); without it such files make the rollback refuse (RS_HX_EDITED)
 * before anything is changed. */
int rs_rollback_request(const struct rs_host *h, const char *id, const char *reason,
                        bool force, rs_err_t *err);
int rs_report(const struct rs_host *h, const char *id, long wait_s, rs_err_t *err);

/* internal to apply/rollback */
int rs_rollback_run(struct rs_run *run, const struct rs_plan *plan, const char *reason,
                    bool force, rs_err_t *err);
int rs_load_plan(struct rs_run *run, struct rs_plan *plan, rs_err_t *err);
int rs_write_result(struct rs_run *run, const struct rs_plan *plan, rs_err_t *err);
/* Record a final state, write result.json and clean up (rs_run_cleanup). */
int rs_run_finish(struct rs_run *run, const struct rs_plan *plan, const char *state,
                  const char *reason, rs_err_t *err);
/* What a finished run no longer needs: images.tar and the boot guard
 * (failures are left for the guard itself to clean up at the next boot). */
void rs_run_cleanup(struct rs_run *run);
int rs_install_file(const struct rs_host *h, const char *abs, const char *data, size_t len,
                    mode_t mode, rs_err_t *err);

/* images.c */
char *rs_images_tar(const struct rs_run *run); /* host path */
int rs_images_save(struct rs_run *run, const struct rs_plan *plan, rs_err_t *err);
int rs_images_import(struct rs_run *run, const struct rs_plan *plan, rs_err_t *err);

#endif
