/* Service actions on the host: systemctl where PID 1 is systemd, else the
 * `service` command (start/stop/restart only), and systemd-run. */
#ifndef RS_HELPER_UNITS_H
#define RS_HELPER_UNITS_H

#include <stdbool.h>
#include "common/err.h"
#include "helper/host.h"

struct rs_unit_state {
  bool loaded;  /* the unit exists */
  bool active;  /* running (or activating) */
  bool enabled; /* starts at boot */
};

#define RS_UNIT_TIMEOUT_MS (3 * 60 * 1000LL)

bool rs_host_systemd(const struct rs_host *h);
int rs_unit_query(const struct rs_host *h, const char *unit,
                  struct rs_unit_state *ret, rs_err_t *err);
/* verb: start, stop, restart, enable, disable */
int rs_unit_do(const struct rs_host *h, const char *verb, const char *unit,
               rs_err_t *err);
/* systemctl daemon-reload (nothing to do without systemd). */
int rs_unit_daemon_reload(const struct rs_host *h, rs_err_t *err);
/* Start argv as the transient unit `unit` (systemd-run --collect). */
int rs_unit_run_transient(const struct rs_host *h, const char *unit,
                          long runtime_max_s, const char *const *argv,
                          rs_err_t *err);

#endif
