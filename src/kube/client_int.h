/* Internal to src/kube: what the files of the API client share.
 * include/kube/client.h is its public face; the files, from the bottom up:
 *
 *   url.c       escaping, query strings, the server's base URL
 *   auth.c      what a request carries to say who sends it: client
 *               certificate, bearer token (static, file, exec plugin),
 *               basic auth, impersonation
 *   transfer.c  one request on curl: its options and headers, receiving
 *               the answer, turning an attempt into a result or an error,
 *               and the retry policy
 *   loop.c      the event loop: the curl multi handle, starting transfers,
 *               reading the sockets, running callbacks, waiting
 *   client.c    the client object and the one-shot requests (get, post...)
 *   list.c      lists page by page, with look-ahead
 *   watch.c     watches: events, renewal, 410 Gone
 *   logs.c      pod log streams
 *
 * A transfer goes QUEUED -> RUNNING -> FINISHED (curl is done with it) ->
 * either WAITING (a retry, back to QUEUED when due) or DONE.  Stream data
 * (watch events, log lines) is cut into lines by the write callback and
 * handed to user callbacks later, from the loop, never from inside
 * libcurl: so callbacks may call the client again.  The loop knows no kind
 * of transfer: watch.c, logs.c and asynchronous requests give it their
 * behaviour as hooks (struct xfer_hooks). */
#ifndef RS_KUBE_CLIENT_INT_H
#define RS_KUBE_CLIENT_INT_H

#include <curl/curl.h>
#include <stdbool.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "kube/client.h"
#include "kube/exec_auth.h"

#define STREAM_LINE_MAX ((size_t)64 << 20)

enum xkind { X_REQ, X_WATCH, X_LOGS };
enum xstate { S_QUEUED, S_RUNNING, S_FINISHED, S_WAITING, S_DONE };

struct xfer;

/* What a kind of transfer adds to the loop; any may be NULL. */
struct xfer_hooks {
  /* One complete line of a stream, without its '\n' (and '\r').  Returns
   * 0 go on, 1 end the stream, -1 fail with *err.  Called with x->busy. */
  int (*line)(struct xfer *x, const char *line, size_t len, rs_err_t *err);
  /* An attempt of a stream finished without an error of its own: 1 the
   * transfer was queued to run again, -1 it is done (x->err says why), 0
   * the request's own rules (retries, the answer) decide. */
  int (*again)(struct xfer *x);
  /* The transfer is done and was not cancelled: tell the user.  Returns
   * what the user's callback returned (-1: stop rs_kube_run with x->err);
   * ignored for a synchronous transfer.  Called with x->busy. */
  int (*end)(struct xfer *x);
};

struct xfer {
  struct xfer *prev, *next;
  rs_kube_client_t *c;
  enum xkind kind;
  enum xstate state;
  const struct xfer_hooks *hooks; /* NULL: a plain synchronous request */
  int method;
  char *path;          /* for watches: rebuilt per call */
  char *body;
  size_t body_len;
  int patch;
  unsigned flags;
  long long timeout_ms;
  char *accept;        /* "Accept: ..." of the request; NULL: by flags */
  bool sync;           /* a synchronous caller waits on it and frees it */
  bool busy;           /* inside one of its user callbacks */
  bool cancelled;
  bool stop;           /* the user ended the stream */
  bool overflow;
  int attempts;
  bool auth_retried;
  long long start_at;
  long long t_start;
  CURL *easy;
  struct curl_slist *headers;
  char errbuf[CURL_ERROR_SIZE];
  CURLcode code;
  long status;
  long long retry_after_ms;
  rs_buf_t resp;
  rs_buf_t line;
  rs_buf_t pending;    /* complete lines, each ending in '\n' */
  struct rs_kube_result result;
  rs_err_t err;
  rs_kube_done_fn done_fn;
  void *ud;            /* the owner's callback data (rs_kube_cancel_ud) */
  /* watch */
  char *base_path;
  char *rv;
  struct rs_kube_watch_opts wo;
  char *label, *field;
  bool gone;
  int stream_failures;
  /* logs */
  rs_kube_line_fn line_fn;
  /* list pages: the next page's continue token, read from the first bytes */
  bool peek_list;
  int peeked;          /* 0: not yet, 1: peek_cont is it, -1: not to be had */
  char *peek_cont;
  /* A 2xx body as it arrives, instead of x->resp: 1 taken, 0 keep it in
   * x->resp after all, -1 stop the transfer (x->err says why).  Runs inside
   * libcurl: it must not call the client.  sink_reset: an attempt starts. */
  int (*sink)(struct xfer *x, const char *buf, size_t len);
  void (*sink_reset)(struct xfer *x);
  void *sink_ud;
};

struct rs_kube_client {
  rs_kube_config_t *cfg;
  struct rs_kube_client_opts o;
  CURLM *multi;
  struct xfer *head;
  size_t running;
  bool need_perform;       /* curl has something to do (see loop.c perform) */
  bool io;                 /* its sockets had events since it last ran */
  bool delivered;          /* it handed data to a transfer in its last run */
  long long check_at;      /* one more run then, after a burst; 0: none */
  long long last_perform;  /* rs_now_ms() of curl's last run */
  long long pace_ms;       /* rs_kube_set_pace() */
  size_t async_count;
  unsigned long requests;
  char *url_base;          /* scheme://host[:port][/prefix] used in URLs */
  char *host_header;       /* "Host: h:p" with tls-server-name */
  struct curl_slist *connect_to;
  char *user_agent;
  char *token;             /* current bearer token (static, file or exec) */
  long long token_read_at;
  struct rs_exec_cred cred;
  bool have_cred;
};

static inline bool xfer_is_stream(const struct xfer *x) { return x->kind != X_REQ; }

static inline void curl_slist_freep(struct curl_slist **l) { curl_slist_free_all(*l); }

/* Append a header line to *h (copied).  *h stays whole on failure. */
static inline int header_add(struct curl_slist **h, const char *line, rs_err_t *err) {
  struct curl_slist *n = curl_slist_append(*h, line);
  if (!n) return rs_oom(err);
  *h = n;
  return 0;
}

/* ---- url.c ---- */
int url_setup(rs_kube_client_t *c, rs_err_t *err);
char *url_of(const rs_kube_client_t *c, const char *path);

/* ---- auth.c ---- */
/* The bearer token of the config or its token file, read now. */
int auth_init(rs_kube_client_t *c, rs_err_t *err);
/* Before an attempt: the exec plugin run again when its credential
 * expires (within 10 s), the token file read again after a minute. */
int auth_refresh(rs_kube_client_t *c, rs_err_t *err);
/* After a 401: the exec plugin run again, whatever its expiry said. */
int auth_renew_exec(rs_kube_client_t *c, rs_err_t *err);
/* The client certificate (TLS), bearer or basic auth, impersonation. */
void auth_set_cert(const rs_kube_client_t *c, CURL *e);
int auth_add_headers(const rs_kube_client_t *c, CURL *e, struct curl_slist **h,
                     rs_err_t *err);

/* ---- transfer.c ---- */
struct xfer *xfer_new(rs_kube_client_t *c, enum xkind kind,
                      const struct rs_kube_req *req, rs_err_t *err);
void xfer_free(struct xfer *x);
RS_DEFINE_CLEANUP(struct xfer, xfer_free)
/* Set x's curl handle up for its next attempt. */
int xfer_prepare(struct xfer *x, rs_err_t *err);
/* Turn a finished attempt into x->result / x->err.  Returns 1 when the
 * transfer is to run again (a retry). */
int xfer_finalize(struct xfer *x);
/* The -v 6 line of a finished attempt (and -v 8 body). */
void xfer_log_done(struct xfer *x);
long long xfer_backoff_ms(int attempt);
bool xfer_retryable(CURLcode code);

/* ---- loop.c ---- */
int loop_init(rs_kube_client_t *c, rs_err_t *err);
/* Drop every transfer (synchronous ones stay their callers') and curl. */
void loop_fini(rs_kube_client_t *c);
/* Put x on the loop: a synchronous transfer (x->sync) or an async one. */
void loop_add(rs_kube_client_t *c, struct xfer *x);
void loop_add_async(rs_kube_client_t *c, struct xfer *x);
/* Take x off the loop, wherever it is (it is not freed). */
void loop_detach(rs_kube_client_t *c, struct xfer *x);
/* One turn of the loop; wait_ms bounds how long it may sleep. */
int loop_step(rs_kube_client_t *c, long long wait_ms, rs_err_t *err);
/* The cancel flag or the deadline (0: none) as an error. */
int loop_check_stop(const rs_kube_client_t *c, long long deadline, rs_err_t *err);
/* Add x as a synchronous transfer, turn the loop until it is done, free
 * it; *ret (may be NULL) takes its result. */
int loop_run_sync(rs_kube_client_t *c, struct xfer *x, struct rs_kube_result *ret,
                  rs_err_t *err);

#endif
