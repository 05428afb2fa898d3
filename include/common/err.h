/* The one error convention of the project.
 *
 * A function that can fail returns an int (0 on success, -1 on failure) or a
 * pointer (NULL on failure) and takes a trailing `rs_err_t *err`.  On failure
 * it fills *err with a kind, a code (errno or HTTP status) and a message that
 * names the object (file, line, field, resource).  Callers add context with
 * rs_wrap() on the way up; only main() prints the message, once.  On success
 * *err is left untouched.  Library code never prints and never exits. */
#ifndef RS_COMMON_ERR_H
#define RS_COMMON_ERR_H

#include <stdarg.h>

enum rs_errkind {
  RS_E_NONE = 0,
  RS_E_SYS,         /* a system call failed; code is errno */
  RS_E_USAGE,       /* bad command line */
  RS_E_INPUT,       /* malformed input: a file, a field, a response */
  RS_E_CONFIG,      /* kubeconfig resolves to nothing usable */
  RS_E_AUTH,        /* credentials missing or refused */
  RS_E_TRANSPORT,   /* connection, TLS, DNS; code is the CURLcode */
  RS_E_API,         /* the API server answered a Status error; code is HTTP */
  RS_E_TIMEOUT,     /* a deadline passed */
  RS_E_INTERRUPTED, /* SIGINT / SIGTERM */
  RS_E_NODE,        /* the node helper reported a failure */
  RS_E_LIMIT,       /* an input exceeded a bound */
  _RS_E_MAX,
};

typedef struct rs_err {
  int kind;     /* enum rs_errkind */
  int code;     /* errno, HTTP status, CURLcode or exit code, by kind */
  char *reason; /* Kubernetes Status reason, e.g. "NotFound"; may be NULL */
  char *msg;    /* full human message; NULL when no error */
} rs_err_t;

#define RS_ERR_INIT {0, 0, NULL, NULL}

#if defined(__GNUC__)
#define RS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RS_PRINTF(a, b)
#endif

/* Set *err (replacing what it held) and return -1.  err may be NULL. */
int rs_fail(rs_err_t *err, int kind, int code, const char *fmt, ...)
    RS_PRINTF(4, 5);
/* Like rs_fail(RS_E_SYS, errnum, ...) with ": strerror(errnum)" appended. */
int rs_fail_errno(rs_err_t *err, int errnum, const char *fmt, ...)
    RS_PRINTF(3, 4);
int rs_failv(rs_err_t *err, int kind, int code, const char *fmt, va_list ap)
    RS_PRINTF(4, 0);
/* Prepend "<context>: " to the message; keeps kind and code.  Returns -1. */
int rs_wrap(rs_err_t *err, const char *fmt, ...) RS_PRINTF(2, 3);
/* rs_fail(err, RS_E_SYS, ENOMEM, "out of memory"): the one way to say that
 * an allocation failed.  Returns -1. */
int rs_oom(rs_err_t *err);
/* Set the Kubernetes Status reason (copied). */
void rs_err_set_reason(rs_err_t *err, const char *reason);
/* Free what *err holds and reset it; safe on a cleared error. */
void rs_err_clear(rs_err_t *err);
/* Move *src into *dst (dst cleared first), leaving src empty. */
void rs_err_move(rs_err_t *dst, rs_err_t *src);
const char *rs_errkind_name(int kind);

#endif
