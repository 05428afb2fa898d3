#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[_RS_E_MAX] = {
    [RS_E_NONE] = "none",          [RS_E_SYS] = "system",
    [RS_E_USAGE] = "usage",        [RS_E_INPUT] = "input",
    [RS_E_CONFIG] = "config",      [RS_E_AUTH] = "auth",
    [RS_E_TRANSPORT] = "transport", [RS_E_API] = "api",
    [RS_E_TIMEOUT] = "timeout",    [RS_E_INTERRUPTED] = "interrupted",
    [RS_E_NODE] = "node",          [RS_E_LIMIT] = "limit",
};

const char *rs_errkind_name(int kind) {
  if (kind < 0 || kind >= _RS_E_MAX || !kind_names[kind]) return "unknown";
  return kind_names[kind];
}

void rs_err_clear(rs_err_t *err) {
  if (!err) return;
  free(err->msg);
  free(err->reason);
  err->msg = NULL;
  err->reason = NULL;
  err->kind = RS_E_NONE;
  err->code = 0;
}

void rs_err_move(rs_err_t *dst, rs_err_t *src) {
  if (!dst || !src || dst == src) return;
  rs_err_clear(dst);
  *dst = *src;
  src->msg = NULL;
  src->reason = NULL;
  src->kind = RS_E_NONE;
  src->code = 0;
}

int rs_failv(rs_err_t *err, int kind, int code, const char *fmt, va_list ap) {
  if (!err) return -1;
  int saved = errno;
  char *m = NULL;
  if (vasprintf(&m, fmt, ap) < 0) m = NULL;
  rs_err_clear(err);
  err->kind = kind;
  err->code = code;
  /* Out of memory while reporting: keep a static-free fallback message. */
  err->msg = m ? m : strdup("out of memory while formatting an error");
  errno = saved;
  return -1;
}

int rs_fail(rs_err_t *err, int kind, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rs_failv(err, kind, code, fmt, ap);
  va_end(ap);
  return -1;
}

int rs_fail_errno(rs_err_t *err, int errnum, const char *fmt, ...) {
  if (!err) return -1;
  char *head = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&head, fmt, ap) < 0) head = NULL;
  va_end(ap);
  rs_fail(err, RS_E_SYS, errnum, "%s: %s", head ? head : "error",
          strerror(errnum));
  free(head);
  return -1;
}

int rs_oom(rs_err_t *err) { return rs_fail(err, RS_E_SYS, ENOMEM, "out of memory"); }

int rs_wrap(rs_err_t *err, const char *fmt, ...) {
  if (!err) return -1;
  char *ctx = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&ctx, fmt, ap) < 0) ctx = NULL;
  va_end(ap);
  if (!ctx) return -1;
  char *m = NULL;
  if (asprintf(&m, "%s: %s", ctx, err->msg ? err->msg : "unknown error") >= 0) {
    free(err->msg);
    err->msg = m;
  }
  free(ctx);
  if (err->kind == RS_E_NONE) err->kind = RS_E_INPUT;
  return -1;
}

void rs_err_set_reason(rs_err_t *err, const char *reason) {
  if (!err) return;
  free(err->reason);
  err->reason = reason ? strdup(reason) : NULL;
}
