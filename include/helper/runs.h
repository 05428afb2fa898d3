/* The runs kept under RS_HELPER_STATE_DIR: which are unfinished, and the
 * pruning launch does so that failed runs' directories do not pile up. */
#ifndef RS_HELPER_RUNS_H
#define RS_HELPER_RUNS_H

#include "common/err.h"
#include "helper/host.h"

/* Pruning keeps every unfinished run (no final state), every run that
 * ended in rollback-failed (its backups are the only copy of the node's
 * files), the RS_RUNS_KEEP newest finished runs (done or rolled-back: a
 * done run's backups are what `rollback` restores) and any run that
 * finished less than RS_RUNS_KEEP_DAYS ago; it removes the others. */
#define RS_RUNS_KEEP 3
#define RS_RUNS_KEEP_DAYS 30

/* The id of another run (not skip_id) that has not reached a final state,
 * or NULL (*ret) when there is none. */
int rs_runs_unfinished(const struct rs_host *h, const char *skip_id, char **ret, rs_err_t *err);
/* Remove the run directories the policy above lets go, never skip_id's;
 * *ret_removed (may be NULL) counts them. */
int rs_runs_prune(const struct rs_host *h, const char *skip_id, long long now, int *ret_removed,
                  rs_err_t *err);

#endif
