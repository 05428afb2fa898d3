/* The Kubernetes API client: libcurl (one multi handle per run, so every
 * request shares kept-alive connections and HTTP/2 streams) + jansson.
 *
 * Everything runs on one event loop.  Synchronous calls (rs_kube_get, ...,
 * rs_kube_list, rs_kube_watch, rs_kube_pod_logs) add one transfer and turn
 * the loop until it is done; asynchronous calls (rs_kube_async,
 * rs_kube_watch_start, rs_kube_pod_logs_start) add transfers whose
 * callbacks run from rs_kube_run().  Callbacks are never called from inside
 * libcurl, so a callback may itself make synchronous calls or queue more
 * asynchronous ones.
 *
 * Errors follow common/err.h.  A response that is not 2xx fails with kind
 * RS_E_API, code = HTTP status, reason = Status.reason (rs_err_t.reason,
 * e.g. "NotFound") and msg = Status.message.  Transport failures are
 * RS_E_TRANSPORT (code = CURLcode), deadlines RS_E_TIMEOUT, a set cancel
 * flag RS_E_INTERRUPTED.
 *
 * Retries (as client-go): a 429 or 5xx carrying Retry-After is retried for
 * any verb after that many seconds (plus jitter); a GET is also retried on a
 * 5xx without Retry-After and on a reset/refused/empty connection, with
 * exponential backoff and jitter.  At most max_retries retries, and never
 * past the deadline.  A 401 with an exec credential plugin re-runs the
 * plugin once and retries.  RS_REQ_NO_RETRY turns all of this off.
 *
 * The library never prints: request logging (-v) and server warnings go to
 * the log callback; bearer tokens, passwords and keys are never logged. */
#ifndef RS_KUBE_CLIENT_H
#define RS_KUBE_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "kube/kubeconfig.h"

typedef struct rs_kube_client rs_kube_client_t;

/* level 0: a server "Warning:" header (kubectl always shows these);
 * 6: one line per request (method, URL, status, milliseconds);
 * 7: plus request headers (Authorization redacted); 8: plus bodies
 * (truncated to 1 KiB); 9: plus response headers. */
typedef void (*rs_kube_log_fn)(void *ud, int level, const char *line);

struct rs_kube_client_opts {
  int verbosity;               /* -v N */
  rs_kube_log_fn log;          /* NULL: nothing is logged */
  void *log_ud;
  long long deadline_ms;       /* absolute rs_now_ms() deadline; 0: none */
  int max_retries;             /* 0: 10 (client-go); <0: never retry */
  const volatile sig_atomic_t *cancel; /* NULL: &rs_cancelled */
  size_t max_response;         /* cap on a buffered response; 0: 512 MiB */
  int max_inflight;            /* async transfers in flight; 0: 100, the
                                  streams kube-apiserver allows on one
                                  HTTP/2 connection (more: more connections) */
  const char *user_agent;      /* NULL: kubectl-runtime-switch/RS_VERSION */
  const char *const *envp;     /* environment for exec plugins; NULL: environ */
};

/* Every deadline here is on rs_now_ms() (common/clock.h).  The loop checks
 * the cancel flag (common/signals.h: rs_cancelled, set on SIGINT/SIGTERM)
 * between steps and fails with RS_E_INTERRUPTED. */

/* The config is copied; credentials files are read here (errors name the
 * file) and an exec plugin runs on the first request. */
int rs_kube_client_new(const rs_kube_config_t *cfg,
                       const struct rs_kube_client_opts *opts,
                       rs_kube_client_t **ret, rs_err_t *err);
void rs_kube_client_free(rs_kube_client_t *c);
static inline void rs_kube_client_freep(rs_kube_client_t **c) {
  if (*c) rs_kube_client_free(*c);
}
#define _cleanup_kube_client_ __attribute__((cleanup(rs_kube_client_freep)))

const rs_kube_config_t *rs_kube_client_config(const rs_kube_client_t *c);
/* Replace the overall deadline (absolute rs_now_ms(), 0: none). */
void rs_kube_client_set_deadline(rs_kube_client_t *c, long long deadline_ms);
/* Requests sent so far (attempts included); for tests and benchmarks. */
unsigned long rs_kube_client_requests(const rs_kube_client_t *c);

/* ---- requests ---- */

enum rs_kube_method {
  RS_HTTP_GET,
  RS_HTTP_POST,
  RS_HTTP_PUT,
  RS_HTTP_PATCH,
  RS_HTTP_DELETE,
  _RS_HTTP_MAX,
};

/* Exactly one Content-Type is sent for a PATCH. */
enum rs_kube_patch {
  RS_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
  RS_PATCH_MERGE,     /* application/merge-patch+json */
  RS_PATCH_JSON,      /* application/json-patch+json */
  _RS_PATCH_MAX,
};

enum {
  RS_REQ_NO_RETRY = 1 << 0, /* no retries at all (drain handles its 429s) */
  RS_REQ_RAW = 1 << 1,      /* keep the body as bytes, do not parse JSON */
};

struct rs_kube_req {
  int method;             /* enum rs_kube_method */
  const char *path;       /* "/api/v1/nodes?limit=5", relative to the server */
  const json_t *body;     /* sent as compact JSON; NULL: no body */
  int patch;              /* enum rs_kube_patch, for RS_HTTP_PATCH */
  unsigned flags;         /* RS_REQ_* */
  long long timeout_ms;   /* per attempt; 0: --request-timeout */
  const char *accept;     /* Accept header; NULL: application/json (RAW: any).
                             With RS_PB_ACCEPT (kube/pb.h) the body may be
                             protobuf: take it RAW; a protobuf Status error
                             still becomes a typed error */
};

struct rs_kube_result {
  long status;            /* HTTP status of the last attempt; 0: none */
  json_t *body;           /* parsed body: the object, or the Status of an
                             API error; NULL when empty/RAW/not JSON */
  char *raw;              /* the body bytes (NUL-terminated) with RS_REQ_RAW */
  size_t raw_len;
  long long retry_after_ms; /* the Retry-After header of the last attempt
                               (seconds, as ms); 0: none.  Also set when
                               the body is not a Status (a plain-text 503) */
};
void rs_kube_result_clear(struct rs_kube_result *r);

/* Send and wait.  On success *ret (may be NULL) takes the parsed body
 * (NULL for an empty body).  On a non-2xx answer: -1, RS_E_API. */
int rs_kube_request(rs_kube_client_t *c, const struct rs_kube_req *req,
                    json_t **ret, rs_err_t *err);
int rs_kube_get(rs_kube_client_t *c, const char *path, json_t **ret,
                rs_err_t *err);
/* GET without JSON parsing: logs, /configz, /version text. */
int rs_kube_get_raw(rs_kube_client_t *c, const char *path, char **ret,
                    size_t *ret_len, rs_err_t *err);
/* Any request with RS_REQ_RAW (implied): the body bytes, NUL-terminated
 * ("" when empty), in *ret. */
int rs_kube_request_raw(rs_kube_client_t *c, const struct rs_kube_req *req,
                        char **ret, size_t *ret_len, rs_err_t *err);
int rs_kube_post(rs_kube_client_t *c, const char *path, const json_t *body,
                 json_t **ret, rs_err_t *err);
int rs_kube_put(rs_kube_client_t *c, const char *path, const json_t *body,
                json_t **ret, rs_err_t *err);
int rs_kube_patch(rs_kube_client_t *c, const char *path, int patch_type,
                  const json_t *body, json_t **ret, rs_err_t *err);
/* body: DeleteOptions or NULL. */
int rs_kube_delete(rs_kube_client_t *c, const char *path, const json_t *body,
                   json_t **ret, rs_err_t *err);

/* ---- many requests at once, one loop ---- */

/* Called from rs_kube_run() when a request finished (retries done).  err
 * holds the request's error (kind RS_E_NONE on success), res its status and
 * body; take the body with json_incref() to keep it.  Return 0 to go on
 * (the error, if any, counts as handled) or -1 to stop rs_kube_run(), which
 * then returns -1 with *err (the callback may replace it). */
typedef int (*rs_kube_done_fn)(void *ud, const struct rs_kube_result *res,
                               rs_err_t *err);

/* Queue a request; it starts at once or as soon as fewer than max_inflight
 * are running.  Over HTTP/2 all of them share one connection. */
int rs_kube_async(rs_kube_client_t *c, const struct rs_kube_req *req,
                  rs_kube_done_fn done, void *ud, rs_err_t *err);

/* Called every tick_ms from rs_kube_run(): return 0 to go on, 1 to stop the
 * run successfully, -1 to stop it with *err. */
typedef int (*rs_kube_tick_fn)(void *ud, rs_err_t *err);

struct rs_kube_run_opts {
  rs_kube_tick_fn tick;   /* NULL: none */
  void *tick_ud;
  long long tick_ms;      /* 0: 1000 */
  bool until_stopped;     /* keep running when idle (only tick, deadline or
                             cancel end it); else return 0 once idle */
  long long deadline_ms;  /* absolute; 0: the client's */
};

/* Turn the loop: start queued requests, run callbacks, retries, ticks.
 * Returns 0 when idle (or the tick said stop), -1 on a callback's error,
 * the deadline (RS_E_TIMEOUT) or cancellation (RS_E_INTERRUPTED).  Work
 * still queued when it returns stays queued for the next run. */
int rs_kube_run(rs_kube_client_t *c, const struct rs_kube_run_opts *o,
                rs_err_t *err);
/* Read the connection at most once every ms milliseconds (0: as soon as
 * data arrives; new requests always go out at once): for a caller that
 * only waits for events, which then arrive together and cost one wakeup.
 * Returns the previous pace, to restore it. */
long long rs_kube_set_pace(rs_kube_client_t *c, long long ms);
/* Drop every queued and running asynchronous transfer (no callbacks). */
void rs_kube_cancel_all(rs_kube_client_t *c);
/* Drop the asynchronous transfers (requests, watches, log streams) started
 * with callback data ud, and only those (no callbacks): how one owner ends
 * its watch while others' go on. */
void rs_kube_cancel_ud(rs_kube_client_t *c, const void *ud);
/* Asynchronous transfers (requests, watches, log streams) not yet done. */
size_t rs_kube_pending(const rs_kube_client_t *c);

/* ---- lists ---- */

/* Called once per item (borrowed: json_incref() to keep).  Return 0 to go
 * on, 1 to stop early (success), -1 to fail with *err. */
typedef int (*rs_kube_item_fn)(void *ud, json_t *item, rs_err_t *err);

struct rs_kube_list_opts {
  const char *label_selector;  /* NULL: none */
  const char *field_selector;  /* NULL: none */
  long limit;                  /* page size; 0: 500 (kubectl's chunk size) */
  const char *include_object;  /* a server-side Table's rows carry "None",
                                  "Metadata" (the server's default) or the
                                  "Object"; NULL: not said */
};

/* A list in another form than the objects: the server-side Table (JSON
 * only: the API server has no protobuf for it), or the objects' metadata
 * (protobuf; each item a PartialObjectMetadata). */
#define RS_ACCEPT_TABLE "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"
#define RS_ACCEPT_METADATA_LIST_PB \
  "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

/* GET path page by page following metadata.continue.  *ret_rv (may be
 * NULL) gets the list's resourceVersion, to start a watch from. */
int rs_kube_list(rs_kube_client_t *c, const char *path,
                 const struct rs_kube_list_opts *o, rs_kube_item_fn fn,
                 void *ud, char **ret_rv, rs_err_t *err);

/* Called once per page, in order, with the page's body (bytes as the
 * server sent them: protobuf or JSON, as `accept` allowed).  Set
 * *ret_continue to the page's metadata.continue (heap; NULL on the last
 * page).  Return 0 to go on, -1 to fail with *err. */
typedef int (*rs_kube_page_fn)(void *ud, const char *body, size_t len,
                               char **ret_continue, rs_err_t *err);

/* GET path page by page (o: selectors and page size) with look-ahead: as
 * soon as a page's list metadata has arrived (the API server writes it
 * before the items; read from protobuf, see kube/pb.h), the next page is
 * asked for, so the server prepares page k+1 while page k is still
 * arriving and being read.  At most two pages in flight; fn sees them in
 * order, one at a time.  accept: NULL for JSON only. */
int rs_kube_list_pages(rs_kube_client_t *c, const char *path,
                       const struct rs_kube_list_opts *o, const char *accept,
                       rs_kube_page_fn fn, void *ud, rs_err_t *err);

/* A list asked for in protobuf and read as it arrives (rs_kube_list_pb):
 * each item is handed over as soon as its bytes are in, so no page is held
 * whole (a page of 500 Nodes is some 3 MB, inflated).  Pages count from 0;
 * as with rs_kube_list_pages, page k+1 is asked for as soon as page k's
 * list metadata has arrived, so at most pages k and k+1 are in flight and
 * their items may interleave. */
struct rs_kube_pb_list_fns {
  const char *kind;  /* the list's kind, e.g. "NodeList" */
  /* One item of a page (its protobuf message, borrowed).  Called from
   * inside the transfer: it must not call the client.  -1 fails the list
   * with *err. */
  int (*item)(void *ud, unsigned page, const void *msg, size_t len, rs_err_t *err);
  /* The page's transfer starts (again, after a failed attempt) or is given
   * up: forget what its items brought. */
  void (*drop)(void *ud, unsigned page);
  /* The page is whole (pages in order, each once); called from the loop,
   * so it may call the client.  -1 fails the list with *err. */
  int (*page)(void *ud, unsigned page, rs_err_t *err);
  /* A page the server sent in another encoding (JSON: it has no protobuf
   * for the resource), whole, in place of its items and page(): as for
   * rs_kube_list_pages. */
  rs_kube_page_fn other;
};

/* GET path page by page (o: selectors and page size) with Accept:
 * RS_PB_ACCEPT (kube/pb.h); see struct rs_kube_pb_list_fns.  A malformed
 * page fails the list (RS_E_INPUT; RS_E_LIMIT for an item over 32 MiB). */
int rs_kube_list_pb(rs_kube_client_t *c, const char *path,
                    const struct rs_kube_list_opts *o,
                    const struct rs_kube_pb_list_fns *fns, void *ud, rs_err_t *err);

/* ---- watches ---- */

/* type: "ADDED", "MODIFIED", "DELETED" or "BOOKMARK"; object borrowed.
 * Return 0 to go on, 1 to end this watch, -1 to fail with *err. */
typedef int (*rs_kube_event_fn)(void *ud, const char *type, json_t *object,
                                rs_err_t *err);
/* 410 Gone: list again (synchronous calls are allowed here) and return the
 * resourceVersion to watch from in *ret_rv. */
typedef int (*rs_kube_relist_fn)(void *ud, char **ret_rv, rs_err_t *err);

/* Objects as PartialObjectMetadata (kind, apiVersion, metadata: no spec,
 * no status), in JSON; a server without it answers full objects. */
#define RS_ACCEPT_METADATA \
  "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"

struct rs_kube_watch_opts {
  const char *label_selector;
  const char *field_selector;
  const char *resource_version; /* NULL: current state first (ADDED events) */
  long timeout_seconds;         /* server-side length of one watch call; 0:
                                   300.  The watch is renewed from the last
                                   resourceVersion until the callback ends it */
  bool no_bookmarks;            /* else allowWatchBookmarks=true */
  const char *accept;           /* Accept header; NULL: application/json.
                                   RS_ACCEPT_METADATA: objects carry their
                                   metadata only (JSON) */
  rs_kube_event_fn on_event;
  rs_kube_relist_fn on_gone;    /* NULL: a 410 fails the watch (RS_E_API 410) */
  /* Asynchronous watches only: called once when the watch ended, with the
   * error that ended it (kind RS_E_NONE when the callback returned 1);
   * same contract as rs_kube_done_fn.  NULL: an error stops rs_kube_run. */
  rs_kube_done_fn on_end;
  void *ud;
};

/* Watch until on_event returns 1 or -1, the deadline or cancellation. */
int rs_kube_watch(rs_kube_client_t *c, const char *path,
                  const struct rs_kube_watch_opts *o, rs_err_t *err);
/* The same inside rs_kube_run(), next to other requests. */
int rs_kube_watch_start(rs_kube_client_t *c, const char *path,
                        const struct rs_kube_watch_opts *o, rs_err_t *err);

/* ---- pod logs ---- */

/* One line without its '\n' (a last line without one is passed too), then
 * one final call with line == NULL when the stream ended; *err then holds
 * why it ended, if it failed.  Return 0, 1 (stop) or -1 as above. */
typedef int (*rs_kube_line_fn)(void *ud, const char *line, size_t len,
                               rs_err_t *err);

struct rs_kube_log_opts {
  const char *container;  /* NULL: the pod's only container */
  bool follow;
  bool previous;
  bool timestamps;
  long tail_lines;        /* <0 or 0 with tail_set false: all */
  bool tail_set;
  long since_seconds;     /* 0: all */
  long limit_bytes;       /* 0: no limit */
};

int rs_kube_pod_logs(rs_kube_client_t *c, const char *ns, const char *pod,
                     const struct rs_kube_log_opts *o, rs_kube_line_fn fn,
                     void *ud, rs_err_t *err);
int rs_kube_pod_logs_start(rs_kube_client_t *c, const char *ns,
                           const char *pod, const struct rs_kube_log_opts *o,
                           rs_kube_line_fn fn, void *ud, rs_err_t *err);

/* ---- paths ---- */

/* Percent-encode s for a path segment or a query value (heap; NULL: OOM). */
char *rs_kube_escape(const char *s);
/* Append "?key=value" or "&key=value" (value escaped; NULL value: no-op). */
int rs_kube_query_add(rs_buf_t *b, const char *key, const char *value,
                      rs_err_t *err);

/* Kubernetes Status helpers for errors returned by this client. */
static inline bool rs_kube_err_is(const rs_err_t *e, int http_status) {
  return e && e->kind == RS_E_API && e->code == http_status;
}
#define rs_kube_is_not_found(e) rs_kube_err_is((e), 404)
#define rs_kube_is_conflict(e) rs_kube_err_is((e), 409)
#define rs_kube_is_gone(e) rs_kube_err_is((e), 410)

#endif
