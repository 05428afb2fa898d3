/* Hashing the helper's own bytes (see helper/integrity.h). */
#include "helper/integrity.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/sha256.h"

bool rs_sha256_hex_ok(const char *s) {
  size_t n = 0;
  for (; s && s[n]; n++)
    if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))) return false;
  return n == 64;
}

int rs_file_sha256(const char *path, size_t max, char ret[65], rs_err_t *err) {
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (rs_read_file(path, max, &data, &len, err) < 0) return -1;
  rs_sha256_hex(data, len, ret);
  return 0;
}

int rs_self_sha256(char ret[65], rs_err_t *err) {
  if (rs_file_sha256("/proc/self/exe", RS_HELPER_MAX_SELF, ret, err) < 0)
    return rs_wrap(err, "hash the helper's own executable");
  return 0;
}

int rs_sha256_expect(const char *what, const char *got, const char *want, rs_err_t *err) {
  if (strcmp(got, want) == 0) return 0;
  return rs_fail(err, RS_E_INPUT, EBADMSG,
                 "integrity: %s has sha256 %s, expected %s: refusing to run it", what, got, want);
}

int rs_run_record_helper(const struct rs_run *run, const char sha[65], rs_err_t *err) {
  _cleanup_free_ char *p = rs_run_file(run, RS_HELPER_SELF_RECORD);
  char line[66];
  if (!p) return rs_oom(err);
  memcpy(line, sha, 64);
  line[64] = '\n';
  line[65] = '\0';
  return rs_write_file_atomic(p, line, 65, 0600, err);
}

int rs_run_check_helper(const struct rs_run *run, rs_err_t *err) {
  const struct rs_host *h = run->h;
  if (h->self_vouched) return 0;
  _cleanup_free_ char *p = rs_run_file(run, RS_HELPER_SELF_RECORD);
  _cleanup_free_ char *rec = NULL;
  size_t len = 0;
  if (!p) return rs_oom(err);
  if (rs_read_file(p, 128, &rec, &len, err) < 0)
    return rs_wrap(err, "integrity: run %s has no usable record of its helper's sha256", run->id);
  while (len && (rec[len - 1] == '\n' || rec[len - 1] == ' ')) rec[--len] = '\0';
  if (!rs_sha256_hex_ok(rec))
    return rs_fail(err, RS_E_INPUT, EINVAL, "integrity: %s: not a sha256", p);
  return rs_sha256_expect("this helper (/proc/self/exe)", h->self_sha, rec, err);
}
