/* `node` over several nodes: the rollout's plan (rollout_cli.c). */
#ifndef RS_PLUGIN_ROLLOUT_CLI_H
#define RS_PLUGIN_ROLLOUT_CLI_H

#include <stdbool.h>

#include "cmd.h"
#include "ops/rollout.h"
#include "ops/rollout_record.h"
#include "ops/switch.h"

/* Several node names, or any of the rollout's flags (-l, --all, --canary,
 * --max-unavailable, --max-zones, --all-control-plane, --skip-preflight):
 * without them `node NAME` is the single-node switch, as it always was. */
bool rs_rollout_cli_wanted(const struct rs_cli *cli);

/* Select, plan, print; --dry-run stops there; else execute it. */
int rs_rollout_cli_run(struct rs_cli *cli, rs_err_t *err);

/* How the plan runs: what `node` reads from its flags, what `rollout
 * resume` reads from the record. */
struct rs_rollout_exec {
  struct rs_switch_opts sw;   /* each node's switch (drain flags, timeouts, yes) */
  long max_failures;
  long long soak_ms;
  const char *max_unavailable; /* as given, for a new record */
  bool json;
};

/* The unfinished records of the working namespace: the one of this
 * command (same selection and target), if any, and the others. */
struct rs_rollout_found {
  struct rs_ror_record own;
  bool found;
  struct rs_ror_record *others;
  size_t nothers;
};
void rs_rollout_found_clear(struct rs_rollout_found *f);
int rs_rollout_cli_find(struct rs_cli *cli, rs_kube_client_t *c, const char *ns, const struct rs_rollout_opts *o,
                        struct rs_rollout_found *ret, rs_err_t *err);
/* Refuse (RS_E_INPUT) a plan with a selected node that another unfinished
 * rollout has not finished, naming it and its owner. */
int rs_rollout_cli_overlap(const struct rs_rollout_found *f, const struct rs_rollout_plan *p, rs_err_t *err);

/* Run the plan p of o (rollout_exec.c): confirmed, its record (f's own,
 * moved) resumed or made, the engine, the summary; the exit code set. */
int rs_rollout_cli_execute(struct rs_cli *cli, const struct rs_rollout_opts *o, const struct rs_rollout_plan *p,
                           rs_kube_client_t *c, const struct rs_rollout_exec *x, struct rs_rollout_found *f,
                           rs_err_t *err);

/* rollout resume ID: the record's selection and options, planned again
 * (blockers before anything changes), then run. */
int rs_rollout_cli_resume(struct rs_cli *cli, const char *id, rs_err_t *err);

#endif
