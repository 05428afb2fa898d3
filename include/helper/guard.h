/* The boot guard of a run: a unit file installed and enabled (not started)
 * before apply changes anything, so that after a reboot at any step systemd
 * runs the host copy of the helper as `guard --id ID`, which finishes the
 * journaled apply or rolls it back exactly as apply would.  Whoever brings
 * the run to a final state removes it (disable, delete, daemon-reload). */
#ifndef RS_HELPER_GUARD_H
#define RS_HELPER_GUARD_H

#include <stdbool.h>
#include "common/err.h"
#include "helper/host.h"

/* A host with systemd as PID 1 (or a fixture) can have a guard. */
bool rs_guard_supported(const struct rs_host *h);
/* "kubectl-runtime-switch-guard-<id>.service" (heap). */
char *rs_guard_unit(const char *id);
/* The unit file's text: ExecStart runs `bin guard --id ID` (plus, in
 * fixture tests, the host's --root, --exec-path and kubelet options). */
int rs_guard_text(const struct rs_host *h, const char *id, char **ret, rs_err_t *err);
/* Write the unit file atomically and enable it; idempotent.  A no-op where
 * PID 1 is not systemd. */
int rs_guard_install(const struct rs_host *h, const char *id, rs_err_t *err);
/* Disable and delete it, then daemon-reload; a no-op when it is not there. */
int rs_guard_remove(const struct rs_host *h, const char *id, rs_err_t *err);

#endif
