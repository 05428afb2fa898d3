/* SIGINT and SIGTERM as a flag: the handlers only set rs_cancelled, and
 * whatever waits long (the API client's loop, the switch's waits) looks at
 * it between steps and fails with RS_E_INTERRUPTED, so every resource is
 * released on the way out.  SIGPIPE is ignored: a closed pipe or socket is
 * an error return (EPIPE), not the end of the process. */
#ifndef RS_COMMON_SIGNALS_H
#define RS_COMMON_SIGNALS_H

#include <signal.h>
#include "common/err.h"

extern volatile sig_atomic_t rs_cancelled;

int rs_signals_install(rs_err_t *err);

#endif
