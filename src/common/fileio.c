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
  bool have_old = fstatat(dfd, base, &old, 0) == 0;
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

/* SHA-256 (FIPS 180-4), small and self-contained so the static helper can
 * verify itself without a crypto library. */
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5],
           g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
                  ((e & f) ^ (~e & g)) + K256[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
                  ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d;
  h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void rs_sha256_hex(const void *data, size_t len, char out[65]) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const unsigned char *p = data;
  size_t left = len;
  while (left >= 64) {
    sha256_block(h, p);
    p += 64;
    left -= 64;
  }
  unsigned char tail[128] = {0};
  memcpy(tail, p, left);
  tail[left] = 0x80;
  size_t tl = left < 56 ? 64 : 128;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
  sha256_block(h, tail);
  if (tl == 128) sha256_block(h, tail + 64);
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++) {
      unsigned char byte = (unsigned char)(h[i] >> (24 - 8 * j));
      out[i * 8 + j * 2] = hex[byte >> 4];
      out[i * 8 + j * 2 + 1] = hex[byte & 15];
    }
  out[64] = '\0';
}
