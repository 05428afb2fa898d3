/* The backup manifest launch writes (backup/manifest in the run directory)
 * and rollback reads, one line per entry:
 *   file <index> <existed 0|1> <sha256|-> <mode octal> <uid> <gid> <path>
 *   dir <path>            a directory the switch creates (removed on rollback)
 * backup/<index> holds the original bytes, staged/<index> the new ones;
 * <index> is the file's index in the plan. */
#ifndef RS_HELPER_MANIFEST_H
#define RS_HELPER_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "common/buf.h"
#include "common/err.h"

#define RS_MANIFEST_MAX ((size_t)1 << 20)
#define RS_MANIFEST_MAX_FILES 1000

struct rs_manifest_file {
  unsigned idx;
  bool existed;
  char sha[65]; /* of the backup; "" when !existed */
  mode_t mode;
  uid_t uid;
  gid_t gid;
  char *path; /* absolute host path */
};

struct rs_manifest {
  struct rs_manifest_file *files;
  size_t nfiles;
  char **dirs; /* outermost first */
};

int rs_manifest_put_file(rs_buf_t *b, const struct rs_manifest_file *f, rs_err_t *err);
int rs_manifest_put_dir(rs_buf_t *b, const char *path, rs_err_t *err);
/* Parse a manifest; a line that does not parse is an error naming it. */
int rs_manifest_parse(const char *text, size_t len, struct rs_manifest *ret, rs_err_t *err);
void rs_manifest_free(struct rs_manifest *m);

#endif
