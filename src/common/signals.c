#include "common/signals.h"

#include <errno.h>
#include <stddef.h>

volatile sig_atomic_t rs_cancelled = 0;

static void on_signal(int sig) {
  (void)sig;
  rs_cancelled = 1;
}

int rs_signals_install(rs_err_t *err) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
    return rs_fail_errno(err, errno, "sigaction");
  signal(SIGPIPE, SIG_IGN);
  return 0;
}
