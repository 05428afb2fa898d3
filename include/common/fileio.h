/* Bounded reads and atomic replacement of files. */
#ifndef RS_COMMON_FILEIO_H
#define RS_COMMON_FILEIO_H

#include <stddef.h>
#include <sys/types.h>
#include "common/err.h"

/* Read a whole file (at most max bytes, else RS_E_LIMIT) into a
 * NUL-terminated heap buffer. */
int rs_read_file(const char *path, size_t max, char **ret, size_t *ret_len,
                 rs_err_t *err);
int rs_read_fd(int fd, const char *name, size_t max, char **ret,
               size_t *ret_len, rs_err_t *err);

/* Replace path atomically: temp file in the same directory, write, fchmod /
 * fchown to the old file's mode and owner (or mode_if_new), fsync, rename,
 * fsync the directory.  The temp file is removed on failure.  A symlink at
 * path is written through: its target is replaced this way and the link
 * stays (a dangling link is an error). */
int rs_write_file_atomic(const char *path, const void *data, size_t len,
                         mode_t mode_if_new, rs_err_t *err);

/* Copy src to dst atomically, keeping mode and owner. */
int rs_copy_file_atomic(const char *src, const char *dst, size_t max,
                        rs_err_t *err);

/* mkdir -p with mode for created components. */
int rs_mkdir_p(const char *path, mode_t mode, rs_err_t *err);

#endif
