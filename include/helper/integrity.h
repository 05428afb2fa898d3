/* The helper's own bytes.  Every subcommand given --expect-sha256 hashes its
 * executable first and refuses to run when it differs; launch copies itself
 * to the host, checks the copy and records its hash in the run directory;
 * the apply unit and the boot guard (which run that copy) check themselves
 * against the record before they act.  See contract.h for what this does
 * and does not protect against. */
#ifndef RS_HELPER_INTEGRITY_H
#define RS_HELPER_INTEGRITY_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"
#include "helper/journal.h"

/* The helper is < 256 KiB; anything this large is not it. */
#define RS_HELPER_MAX_SELF ((size_t)16 << 20)
/* In the run directory: the sha256 (hex + "\n") of the host copy. */
#define RS_HELPER_SELF_RECORD "helper.sha256"

/* 64 lowercase hex digits. */
bool rs_sha256_hex_ok(const char *s);
/* sha256 of a file read whole (at most max bytes). */
int rs_file_sha256(const char *path, size_t max, char ret[65], rs_err_t *err);
/* sha256 of the running executable (/proc/self/exe). */
int rs_self_sha256(char ret[65], rs_err_t *err);
/* 0 when got equals want, else an error naming what and both hashes. */
int rs_sha256_expect(const char *what, const char *got, const char *want, rs_err_t *err);

int rs_run_record_helper(const struct rs_run *run, const char sha[65], rs_err_t *err);
/* The running helper (run->h->self_sha) against the run's record.  A helper
 * the plugin vouched for (--expect-sha256 matched) may act on a run another
 * version launched; any other must be the recorded copy. */
int rs_run_check_helper(const struct rs_run *run, rs_err_t *err);

#endif
