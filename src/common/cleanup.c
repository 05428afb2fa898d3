#include "common/cleanup.h"

#include <errno.h>
#include <unistd.h>

int rs_safe_close(int fd) {
  if (fd >= 0) {
    int saved = errno;
    /* On Linux the fd is gone even when close() reports EINTR: no retry. */
    (void)close(fd);
    errno = saved;
  }
  return -1;
}

void rs_closep(int *fd) { *fd = rs_safe_close(*fd); }

void rs_fclosep(FILE **f) {
  if (*f) {
    int saved = errno;
    (void)fclose(*f);
    errno = saved;
    *f = NULL;
  }
}

void rs_closedirp(DIR **d) {
  if (*d) {
    int saved = errno;
    (void)closedir(*d);
    errno = saved;
    *d = NULL;
  }
}
