/* Fuzz the backup manifest reader (rollback restores files from what it
 * says): what parses is written back identically and parses the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  struct rs_manifest m, m2;
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(4u << 20);
  if (rs_manifest_parse((const char *)data, size, &m, &e) < 0) return 0;
  for (size_t i = 0; i < m.nfiles; i++)
    if (m.files[i].path[0] != '/' || strstr(m.files[i].path, "/../") || rs_manifest_put_file(&b, &m.files[i], &e) < 0)
      abort();
  for (size_t i = 0; m.dirs[i]; i++)
    if (rs_manifest_put_dir(&b, m.dirs[i], &e) < 0) abort();
  if (rs_manifest_parse(b.data ? b.data : "", b.len, &m2, &e) < 0) abort();
  if (m2.nfiles != m.nfiles || rs_strv_len(m2.dirs) != rs_strv_len(m.dirs)) abort();
  for (size_t i = 0; i < m.nfiles; i++)
    if (strcmp(m.files[i].path, m2.files[i].path) != 0 || strcmp(m.files[i].sha, m2.files[i].sha) != 0 ||
        m.files[i].mode != m2.files[i].mode || m.files[i].idx != m2.files[i].idx)
      abort();
  rs_manifest_free(&m2);
  rs_manifest_free(&m);
  return 0;
}
