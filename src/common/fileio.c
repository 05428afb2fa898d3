#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"

int rs_read_fd(int fd, const char *name, size_t max, char **ret,
               size_t *ret_len, rs_err_t *err) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(max);
  char chunk[16384];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return rs_fail_errno(err, errno, "read %s", name);
    }
    if (n == 0) break;
    if (rs_buf_append(&b, chunk, (size_t)n, err) < 0)
      return rs_wrap(err, "read %s", name);
  }
  *ret = rs_buf_steal(&b, ret_len);
  if (!*ret) return rs_oom(err);
  return 0;
}

int rs_read_file(const char *path, size_t max, char **ret, size_t *ret_len,
                 rs_err_t *err) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return rs_fail_errno(err, errno, "open %s", path);
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
    return rs_fail(err, RS_E_INPUT, EISDIR, "%s: is a directory", path);
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && max &&
      (uintmax_t)st.st_size > (uintmax_t)max)
    return rs_fail(err, RS_E_LIMIT, EFBIG,
                   "%s: file is %jd bytes, more than the limit of %zu", path,
                   (intmax_t)st.st_size, max);
  return rs_read_fd(fd, path, max, ret, ret_len, err);
}

static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int rs_write_file_atomic(const char *path, const void *data, size_t len,
                         mode_t mode_if_new, rs_err_t *err) {
  _cleanup_free_ char *dircopy = strdup(path);
  _cleanup_free_ char *basecopy = strdup(path);
  if (!dircopy || !basecopy) return rs_oom(err);
  const char *dir = dirname(dircopy);
  const char *base = basename(basecopy);
  _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return rs_fail_errno(err, errno, "open directory %s", dir);

  struct stat old;
  bool have_old = fstatat(dfd, base, &old, AT_SYMLINK_NOFOLLOW) == 0;
  if (have_old && S_ISLNK(old.st_mode)) {
    /* a symlink is written through: its target gets the new bytes and the
     * link stays (renaming over it would replace it with a plain file) */
    _cleanup_free_ char *target = realpath(path, NULL);
    if (!target) return rs_fail_errno(err, errno, "%s is a symlink whose target cannot be resolved", path);
    return rs_write_file_atomic(target, data, len, mode_if_new, err);
  }
  if (have_old && !S_ISREG(old.st_mode))
    return rs_fail(err, RS_E_INPUT, EINVAL, "%s: not a regular file", path);

  _cleanup_free_ char *tmp = NULL;
  if (asprintf(&tmp, ".%s.rs-tmp.%ld", base, (long)getpid()) < 0)
    return rs_oom(err);
  (void)unlinkat(dfd, tmp, 0);
  mode_t mode = have_old ? (old.st_mode & 07777) : mode_if_new;
  _cleanup_close_ int fd = openat(dfd, tmp,
                                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return rs_fail_errno(err, errno, "create temporary file for %s", path);

  int r = 0;
  if (write_all(fd, data, len) < 0) r = rs_fail_errno(err, errno, "write %s", path);
  if (r == 0 && have_old && fchown(fd, old.st_uid, old.st_gid) < 0 && errno != EPERM)
    r = rs_fail_errno(err, errno, "keep owner of %s", path);
  if (r == 0 && fchmod(fd, mode) < 0) r = rs_fail_errno(err, errno, "chmod %s", path);
  if (r == 0 && fsync(fd) < 0) r = rs_fail_errno(err, errno, "fsync %s", path);
  if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
    r = rs_fail_errno(err, errno, "rename into %s", path);
  if (r < 0) {
    (void)unlinkat(dfd, tmp, 0);
    return -1;
  }
  if (fsync(dfd) < 0) return rs_fail_errno(err, errno, "fsync directory %s", dir);
  return 0;
}

int rs_copy_file_atomic(const char *src, const char *dst, size_t max,
                        rs_err_t *err) {
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  struct stat st;
  if (stat(src, &st) < 0) return rs_fail_errno(err, errno, "stat %s", src);
  if (rs_read_file(src, max, &data, &len, err) < 0) return -1;
  if (rs_write_file_atomic(dst, data, len, st.st_mode & 07777, err) < 0)
    return -1;
  /* A fresh destination takes the source's owner too. */
  (void)chown(dst, st.st_uid, st.st_gid);
  (void)chmod(dst, st.st_mode & 07777);
  return 0;
}

int rs_mkdir_p(const char *path, mode_t mode, rs_err_t *err) {
  _cleanup_free_ char *p = strdup(path);
  if (!p) return rs_oom(err);
  size_t n = strlen(p);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != '\0') continue;
    char c = p[i];
    p[i] = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST)
      return rs_fail_errno(err, errno, "mkdir %s", p);
    p[i] = c;
  }
  return 0;
}
