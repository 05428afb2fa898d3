/* Scope-bound ownership: every resource has a cleanup attribute, pointers
 * start NULL and fds -1, and ownership leaves only through TAKE_PTR/TAKE_FD. */
#ifndef RS_COMMON_CLEANUP_H
#define RS_COMMON_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include "common/err.h"

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void rs_freep(void *p) { free(*(void **)p); }
void rs_closep(int *fd);
void rs_fclosep(FILE **f);
void rs_closedirp(DIR **d);
static inline void rs_err_clearp(rs_err_t *e) { rs_err_clear(e); }

#define _cleanup_free_ _cleanup_(rs_freep)
#define _cleanup_close_ _cleanup_(rs_closep)
#define _cleanup_fclose_ _cleanup_(rs_fclosep)
#define _cleanup_closedir_ _cleanup_(rs_closedirp)
#define _cleanup_err_ _cleanup_(rs_err_clearp)

/* Define `name##p(type **)` that calls func on a non-NULL pointer. */
#define RS_DEFINE_CLEANUP(type, func)                                        \
  static inline void func##p(type **p) {                                     \
    if (*p) func(*p);                                                        \
  }

#define TAKE_PTR(p)                                                          \
  ({                                                                         \
    __typeof__(p) _taken = (p);                                              \
    (p) = NULL;                                                              \
    _taken;                                                                  \
  })
#define TAKE_FD(fd)                                                          \
  ({                                                                         \
    int _taken = (fd);                                                       \
    (fd) = -1;                                                               \
    _taken;                                                                  \
  })

/* close() that preserves errno and ignores EINTR; returns -1 for reuse as
 * `fd = rs_safe_close(fd);` */
int rs_safe_close(int fd);

#define RS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
