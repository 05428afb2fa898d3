/* `node` over several nodes: the rollout's plan (rollout_cli.c). */
#ifndef RS_PLUGIN_ROLLOUT_CLI_H
#define RS_PLUGIN_ROLLOUT_CLI_H

#include <stdbool.h>

#include "cmd.h"
#include "ops/rollout.h"
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

/* Run the plan p of o (rollout_exec.c): confirmed, its record found or
 * made, the engine, the summary; the exit code set. */
int rs_rollout_cli_execute(struct rs_cli *cli, const struct rs_rollout_opts *o, const struct rs_rollout_plan *p,
                           rs_kube_client_t *c, const struct rs_rollout_exec *x, rs_err_t *err);

/* rollout resume ID: the record's selection and options, planned again
 * (blockers before anything changes), then run. */
int rs_rollout_cli_resume(struct rs_cli *cli, const char *id, rs_err_t *err);

#endif
