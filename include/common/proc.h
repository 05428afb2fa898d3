/* Run a program without a shell: fork/execve with an argv array, an explicit
 * environment, a timeout and bounded output capture. */
#ifndef RS_COMMON_PROC_H
#define RS_COMMON_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

struct rs_proc_opts {
  const char *const *argv; /* argv[0] is looked up on PATH unless it has '/' */
  const char *const *envp; /* NULL: an empty environment */
  const char *path;        /* PATH used for lookup; NULL: envp's PATH or a default */
  const char *cwd;         /* NULL: unchanged */
  const void *input;       /* written to the child's stdin, then closed */
  size_t input_len;
  long long timeout_ms;    /* <= 0: 60 s */
  size_t out_max;          /* cap on captured stdout; 0: 1 MiB */
  size_t err_max;          /* cap on captured stderr; 0: 64 KiB */
  bool stdout_passthrough; /* child's stdout goes to ours instead */
  bool stderr_passthrough; /* child's stderr goes to ours instead */
};

struct rs_proc_result {
  int status;        /* exit code, or 128+signal; -1 when it timed out */
  bool timed_out;
  bool out_truncated;
  bool err_truncated;
  char *out;         /* NUL-terminated, never NULL after success */
  size_t out_len;
  char *errout;
  size_t err_len;
};

/* Runs the child to completion.  Returns 0 when the child ran (whatever its
 * exit status) and -1 when it could not be started or the wait failed; a
 * timeout kills the child (SIGKILL), returns 0 with timed_out set. */
int rs_proc_run(const struct rs_proc_opts *o, struct rs_proc_result *ret,
                rs_err_t *err);
void rs_proc_result_free(struct rs_proc_result *r);

/* Find prog on path (colon-separated); returns a heap path or NULL. */
char *rs_proc_which(const char *prog, const char *path);

#endif
