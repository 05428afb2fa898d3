/* One request on curl: the easy handle's options and headers for an
 * attempt, the callbacks that receive the answer (bounded; streams cut
 * into lines), the retry policy (as client-go: see kube/client.h), and
 * the answer turned into a result or a typed error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "common/clock.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube/pb.h"

#define CONNECT_TIMEOUT_MS 30000
#define BACKOFF_BASE_MS 250
#define BACKOFF_CAP_MS 8000
/* A request body larger than this goes over HTTP/1.1 (see set_base_options). */
#define H2_UPLOAD_MAX (256 * 1024)
/* The receive buffer of a transfer (see set_base_options). */
#define RECV_BUFFER (1024 * 1024)

static void logf_(rs_kube_client_t *c, int level, const char *fmt, ...)
    RS_PRINTF(3, 4);
static void logf_(rs_kube_client_t *c, int level, const char *fmt, ...) {
  if (!c->o.log || (level > 0 && c->o.verbosity < level)) return;
  char *m = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&m, fmt, ap) < 0) m = NULL;
  va_end(ap);
  if (m) c->o.log(c->o.log_ud, level, m);
  free(m);
}

static const char *method_name(int m) {
  static const char *const names[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  return m >= 0 && m < _RS_HTTP_MAX ? names[m] : "GET";
}

void rs_kube_result_clear(struct rs_kube_result *r) {
  if (!r) return;
  json_decref(r->body);
  free(r->raw);
  *r = (struct rs_kube_result){0};
}

struct xfer *xfer_new(rs_kube_client_t *c, enum xkind kind,
                      const struct rs_kube_req *req, rs_err_t *err) {
  _cleanup_(xfer_freep) struct xfer *x = calloc(1, sizeof *x);
  if (!x) {
    rs_oom(err);
    return NULL;
  }
  x->c = c;
  x->kind = kind;
  x->state = S_QUEUED;
  x->resp = (rs_buf_t)RS_BUF_INIT(c->o.max_response);
  x->line = (rs_buf_t)RS_BUF_INIT(STREAM_LINE_MAX);
  x->pending = (rs_buf_t)RS_BUF_INIT(STREAM_LINE_MAX);
  if (!req) return TAKE_PTR(x);
  x->method = req->method;
  x->patch = req->patch;
  x->flags = req->flags;
  x->timeout_ms = req->timeout_ms;
  if (!(x->path = strdup(req->path ? req->path : "/")) ||
      (req->accept && !(x->accept = rs_strdup_printf("Accept: %s", req->accept))) ||
      (req->body && !(x->body = json_dumps(req->body, JSON_COMPACT | JSON_ENCODE_ANY)))) {
    rs_oom(err);
    return NULL;
  }
  if (x->body) x->body_len = strlen(x->body);
  return TAKE_PTR(x);
}

void xfer_free(struct xfer *x) {
  if (!x) return;
  if (x->easy) curl_easy_cleanup(x->easy);
  curl_slist_free_all(x->headers);
  free(x->path);
  free(x->body);
  free(x->accept);
  rs_buf_free(&x->resp);
  rs_buf_free(&x->line);
  rs_buf_free(&x->pending);
  rs_kube_result_clear(&x->result);
  rs_err_clear(&x->err);
  free(x->base_path);
  free(x->rv);
  free(x->label);
  free(x->field);
  free(x->peek_cont);
  free(x);
}

/* ---- receiving ---- */

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
  struct xfer *x = ud;
  size_t len = size * n;
  if (x->c) x->c->delivered = true;
  if (len > 12 && strncasecmp(buf, "retry-after:", 12) == 0) {
    char tmp[32];
    size_t l = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
    memcpy(tmp, buf + 12, l);
    tmp[l] = '\0';
    char *end = NULL;
    long v = strtol(tmp, &end, 10);
    if (end != tmp && v >= 0 && v < 3600) x->retry_after_ms = v * 1000LL;
  } else if (len > 8 && strncasecmp(buf, "warning:", 8) == 0 && x->c) {
    /* Warning: 299 - "message" */
    const char *q1 = memchr(buf, '"', len);
    const char *q2 = q1 ? memchr(q1 + 1, '"', len - (size_t)(q1 + 1 - buf)) : NULL;
    if (q1 && q2) logf_(x->c, 0, "Warning: %.*s", (int)(q2 - q1 - 1), q1 + 1);
  } else if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
    x->retry_after_ms = -1;
  }
  if (x->c && x->c->o.verbosity >= 9 && x->c->o.log) {
    size_t l = len;
    while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r')) l--;
    if (l) logf_(x->c, 9, "Response Header: %.*s", (int)l, buf);
  }
  return len;
}

/* A stream's bytes: cut into lines; complete lines wait in x->pending. */
static size_t stream_write(struct xfer *x, const char *buf, size_t len) {
  const char *p = buf, *end = buf + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t take = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
    if (rs_buf_append(&x->line, p, take, NULL) < 0) {
      x->overflow = true;
      return 0;
    }
    if (nl) {
      if (rs_buf_append(&x->pending, x->line.data, x->line.len, NULL) < 0) {
        x->overflow = true;
        return 0;
      }
      rs_buf_reset(&x->line);
    }
    p += take;
  }
  return len;
}

static size_t on_write(char *buf, size_t size, size_t n, void *ud) {
  struct xfer *x = ud;
  size_t len = size * n;
  if (x->c) x->c->delivered = true;
  long status = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (xfer_is_stream(x) && status >= 200 && status < 300) return stream_write(x, buf, len);
  if (x->sink && status >= 200 && status < 300) {
    int r = x->sink(x, buf, len);
    if (r < 0) return 0; /* curl stops the transfer; x->err says why */
    if (r > 0) return len;
  }
  if (rs_buf_append(&x->resp, buf, len, NULL) < 0) {
    x->overflow = true;
    return 0;
  }
  /* only bytes are looked at here; the user hears of it from the loop */
  if (x->peek_list && !x->peeked && status >= 200 && status < 300)
    x->peeked = rs_pb_peek_continue(x->resp.data, x->resp.len, &x->peek_cont);
  return len;
}

/* ---- an attempt ---- */

static void set_base_options(struct xfer *x, CURL *e) {
  const rs_kube_client_t *c = x->c;
  curl_easy_setopt(e, CURLOPT_PRIVATE, x);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  x->errbuf[0] = '\0';
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  /* A body larger than the HTTP/2 stream window (kube-apiserver: 256 KiB)
   * waits for window while the server may already have answered: a 403
   * before it reads the body comes as HEADERS, DATA and RST_STREAM, and
   * libcurl 7.88 then loses the answer about half the time ("transfer
   * closed with 281 bytes remaining to read" instead of the API's reason;
   * the same with the curl command, a 2 MB ConfigMap and a token without
   * rights). Over HTTP/1.1 the answer is read whole. Only the helper's
   * carrier is that large. */
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                   x->body_len > H2_UPLOAD_MAX ? (long)CURL_HTTP_VERSION_1_1
                                               : (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  /* libcurl 7.88 copies a stream's HTTP/2 DATA into that transfer's
   * receive buffer (16 KiB by default).  A chunk that does not fit pauses
   * nghttp2 with the rest kept aside, and nghttp2 finishes that frame
   * (END_STREAM) only in its next call with input: when the chunk was the
   * last bytes read from the socket and the server has nothing more to
   * send, the transfer waits until the server closes the idle connection
   * (kube-apiserver: 90 s; the server had sent everything, the client had
   * read everything, the output was right).  A buffer larger than what
   * libcurl reads from the socket at once (32 KiB) never overflows for the
   * transfer being read, and for another stream only past 1 MiB arriving
   * before that transfer's turn.  It is malloc'd per transfer and touched
   * only as far as data comes. */
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!c->cfg->disable_compression) curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  if (c->connect_to) curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
  if (c->cfg->proxy_url) curl_easy_setopt(e, CURLOPT_PROXY, c->cfg->proxy_url);
}

/* Per attempt: the request's timeout (none for streams), never past the
 * client's deadline. */
static void set_timeouts(const struct xfer *x, CURL *e) {
  const rs_kube_client_t *c = x->c;
  long long limit = xfer_is_stream(x) ? 0 : (x->timeout_ms ? x->timeout_ms : c->cfg->request_timeout_ms);
  if (c->o.deadline_ms) {
    long long left = c->o.deadline_ms - rs_now_ms();
    if (left < 1) left = 1;
    if (!limit || left < limit) limit = left;
  }
  if (limit) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)limit);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   (long)(limit && limit < CONNECT_TIMEOUT_MS ? limit : CONNECT_TIMEOUT_MS));
}

/* TLS: verified unless insecure-skip-tls-verify. */
static void set_tls(const rs_kube_client_t *c, CURL *e) {
  if (c->cfg->insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (c->cfg->ca_data.data) {
    struct curl_blob b = {c->cfg->ca_data.data, c->cfg->ca_data.len, CURL_BLOB_NOCOPY};
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
  }
  auth_set_cert(c, e);
}

/* The verb, and the body with exactly one Content-Type. */
static int set_method(const struct xfer *x, CURL *e, struct curl_slist **h, rs_err_t *err) {
  static const char *const patch_types[] = {
      "Content-Type: application/strategic-merge-patch+json",
      "Content-Type: application/merge-patch+json",
      "Content-Type: application/json-patch+json"};
  switch (x->method) {
  case RS_HTTP_GET:
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    break;
  case RS_HTTP_POST:
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    break;
  default:
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method_name(x->method));
    break;
  }
  if (x->method == RS_HTTP_GET || (!x->body && x->method == RS_HTTP_DELETE)) return 0;
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? x->body : "");
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
  if (x->method == RS_HTTP_PATCH)
    return header_add(h, patch_types[x->patch >= 0 && x->patch < _RS_PATCH_MAX ? x->patch : 0], err);
  return header_add(h, "Content-Type: application/json", err);
}

static int set_headers(struct xfer *x, CURL *e, rs_err_t *err) {
  const rs_kube_client_t *c = x->c;
  _cleanup_(curl_slist_freep) struct curl_slist *h = NULL;
  const char *accept = x->accept ? x->accept
                       : (x->flags & RS_REQ_RAW) || x->kind == X_LOGS ? "Accept: */*"
                                                                      : "Accept: application/json";
  if (header_add(&h, accept, err) < 0 ||
      (c->host_header && header_add(&h, c->host_header, err) < 0) ||
      auth_add_headers(c, e, &h, err) < 0 || set_method(x, e, &h, err) < 0 ||
      header_add(&h, "Expect:", err) < 0)
    return -1;
  curl_slist_free_all(x->headers);
  x->headers = TAKE_PTR(h);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
  return 0;
}

static void log_request(const struct xfer *x) {
  rs_kube_client_t *c = x->c;
  if (c->o.verbosity >= 7 && c->o.log) {
    for (struct curl_slist *s = x->headers; s; s = s->next)
      logf_(c, 7, "Request Header: %s",
            strncmp(s->data, "Authorization:", 14) == 0 ? "Authorization: Bearer <masked>" : s->data);
  }
  if (c->o.verbosity >= 8 && x->body)
    logf_(c, 8, "Request Body: %.*s", x->body_len > 1024 ? 1024 : (int)x->body_len, x->body);
}

static void reset_answer(struct xfer *x) {
  rs_buf_reset(&x->resp);
  rs_buf_reset(&x->line);
  x->resp.max = x->c->o.max_response;
  x->line.max = STREAM_LINE_MAX;
  x->pending.max = STREAM_LINE_MAX;
  x->status = 0;
  x->code = CURLE_OK;
  x->retry_after_ms = -1;
  x->overflow = false;
  x->peeked = 0;
  free(x->peek_cont);
  x->peek_cont = NULL;
  if (x->sink_reset) x->sink_reset(x);
}

int xfer_prepare(struct xfer *x, rs_err_t *err) {
  if (auth_refresh(x->c, err) < 0) return -1;
  if (!x->easy) {
    x->easy = curl_easy_init();
    if (!x->easy) return rs_fail(err, RS_E_TRANSPORT, 0, "curl_easy_init failed");
  } else {
    curl_easy_reset(x->easy);
  }
  CURL *e = x->easy;
  _cleanup_free_ char *url = url_of(x->c, x->path);
  if (!url) return rs_oom(err);
  curl_easy_setopt(e, CURLOPT_URL, url);
  set_base_options(x, e);
  set_timeouts(x, e);
  set_tls(x->c, e);
  if (set_headers(x, e, err) < 0) return -1;
  log_request(x);
  reset_answer(x);
  return 0;
}

/* ---- retries ---- */

long long xfer_backoff_ms(int attempt) {
  long long d = BACKOFF_BASE_MS;
  for (int i = 1; i < attempt && d < BACKOFF_CAP_MS; i++) d *= 2;
  if (d > BACKOFF_CAP_MS) d = BACKOFF_CAP_MS;
  /* jitter: between d/2 and d */
  return d / 2 + (long long)(random() % (d / 2 + 1));
}

bool xfer_retryable(CURLcode code) {
  switch (code) {
  case CURLE_COULDNT_CONNECT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_PARTIAL_FILE:
    return true;
  default:
    return false;
  }
}

/* A TLS alert from the server (a client certificate it requires or refuses,
 * a CA it does not know) is its answer, not a broken connection: the same
 * request would get it again, so it is final. OpenSSL reports it as a
 * receive error whose text names the alert. */
static bool tls_alert(const struct xfer *x) {
  return x->code == CURLE_RECV_ERROR && strcasestr(x->errbuf, "alert") != NULL;
}

/* Decide about a finished attempt: 1 = retry scheduled, 0 = final. */
static int decide_retry(struct xfer *x) {
  rs_kube_client_t *c = x->c;
  if (x->flags & RS_REQ_NO_RETRY || x->cancelled || x->stop) return 0;
  long long delay = -1;
  if (x->code == CURLE_OK && x->status == 401 && c->cfg->exec && !x->auth_retried &&
      !c->token) {
    rs_err_t e = RS_ERR_INIT;
    x->auth_retried = true;
    if (auth_renew_exec(c, &e) < 0) {
      rs_err_move(&x->err, &e);
      return 0;
    }
    delay = 0;
  } else if (x->attempts > c->o.max_retries) {
    return 0;
  } else if (x->code == CURLE_OK && (x->status == 429 || x->status >= 500) &&
             x->retry_after_ms >= 0) {
    delay = x->retry_after_ms + (long long)(random() % 250);
  } else if (x->method == RS_HTTP_GET && x->code == CURLE_OK &&
             (x->status == 502 || x->status == 503 || x->status == 504)) {
    delay = xfer_backoff_ms(x->attempts);
  } else if (x->code != CURLE_OK && xfer_retryable(x->code) && !tls_alert(x) &&
             (x->method == RS_HTTP_GET || x->code == CURLE_COULDNT_CONNECT)) {
    delay = xfer_backoff_ms(x->attempts);
  }
  if (delay < 0) return 0;
  long long dl = c->o.deadline_ms;
  if (dl && rs_now_ms() + delay >= dl) return 0;
  x->state = S_WAITING;
  x->start_at = rs_now_ms() + delay;
  logf_(c, 6, "retrying %s %s in %lld ms (attempt %d)", method_name(x->method),
        x->path, delay, x->attempts + 1);
  return 1;
}

/* ---- the answer ---- */

void xfer_log_done(struct xfer *x) {
  rs_kube_client_t *c = x->c;
  if (c->o.verbosity < 6 || !c->o.log) return;
  long long ms = rs_now_ms() - x->t_start;
  if (x->code != CURLE_OK)
    logf_(c, 6, "%s %s%s failed: %s in %lld milliseconds", method_name(x->method),
          c->url_base, x->path, x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->code), ms);
  else
    logf_(c, 6, "%s %s%s %ld in %lld milliseconds", method_name(x->method),
          c->url_base, x->path, x->status, ms);
  if (c->o.verbosity >= 8 && x->resp.len)
    logf_(c, 8, "Response Body: %.*s", x->resp.len > 1024 ? 1024 : (int)x->resp.len,
          x->resp.data);
}

/* Fill x->err from a non-2xx answer: a Kubernetes Status when possible. */
static void api_error(struct xfer *x, json_t *body) {
  const char *msg = json_string_value(json_object_get(body, "message"));
  const char *reason = json_string_value(json_object_get(body, "reason"));
  if (msg && *msg) {
    rs_fail(&x->err, RS_E_API, (int)x->status, "%s", msg);
  } else if (x->status == 401) {
    rs_fail(&x->err, RS_E_API, 401, "Unauthorized");
  } else if (x->resp.len && !body) {
    size_t n = x->resp.len > 512 ? 512 : x->resp.len;
    size_t l = n;
    while (l && (x->resp.data[l - 1] == '\n' || x->resp.data[l - 1] == '\r')) l--;
    rs_fail(&x->err, RS_E_API, (int)x->status,
            "the server responded with HTTP %ld: %.*s", x->status, (int)l, x->resp.data);
  } else {
    rs_fail(&x->err, RS_E_API, (int)x->status,
            "the server responded with HTTP %ld", x->status);
  }
  if (reason && *reason) rs_err_set_reason(&x->err, reason);
  else if (x->status == 401) rs_err_set_reason(&x->err, "Unauthorized");
  else if (x->status == 403) rs_err_set_reason(&x->err, "Forbidden");
  else if (x->status == 404) rs_err_set_reason(&x->err, "NotFound");
}

/* A transport failure (after retries) as x->err. */
static void transport_error(struct xfer *x) {
  const rs_kube_client_t *c = x->c;
  const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->code);
  if (x->overflow)
    rs_fail(&x->err, RS_E_LIMIT, 0, "%s %s: the response is larger than %zu bytes",
            method_name(x->method), x->path, x->resp.max);
  else
    rs_fail(&x->err, x->code == CURLE_OPERATION_TIMEDOUT ? RS_E_TIMEOUT : RS_E_TRANSPORT,
            (int)x->code, "%s \"%s%s\": %s", method_name(x->method), c->url_base, x->path, why);
}

/* A 2xx answer as x->result: the bytes (RS_REQ_RAW) or the parsed JSON. */
static void take_answer(struct xfer *x) {
  if (x->flags & RS_REQ_RAW) {
    x->result.raw = rs_buf_steal(&x->resp, &x->result.raw_len);
    if (!x->result.raw) rs_oom(&x->err);
    return;
  }
  if (x->resp.len == 0) return;
  json_error_t je;
  x->result.body = json_loadb(x->resp.data, x->resp.len, 0, &je);
  if (!x->result.body)
    rs_fail(&x->err, RS_E_INPUT, 0, "%s %s: invalid JSON in the response: %s",
            method_name(x->method), x->path, je.text);
  rs_buf_free(&x->resp);
}

/* A non-2xx answer's body: a Status in JSON, or in protobuf (when the
 * request accepted it: from here on as JSON); NULL when neither. */
static json_t *error_body(const struct xfer *x) {
  json_t *body = x->resp.len ? json_loadb(x->resp.data, x->resp.len, 0, NULL) : NULL;
  if (body && !json_is_object(body)) {
    json_decref(body);
    body = NULL;
  }
  struct rs_pb_status ps;
  if (!body && rs_pb_status_decode(x->resp.data, x->resp.len, &ps) == 0) {
    body = json_pack("{s:s, s:s?, s:s?, s:i}", "kind", "Status", "message", ps.message,
                     "reason", ps.reason, "code", ps.code);
    rs_pb_status_clear(&ps);
  }
  return body;
}

int xfer_finalize(struct xfer *x) {
  if (x->err.kind != RS_E_NONE && x->code == CURLE_ABORTED_BY_CALLBACK) return 0;
  xfer_log_done(x);
  if (x->code != CURLE_OK) {
    if (decide_retry(x)) return 1;
    transport_error(x);
    return 0;
  }
  x->result.status = x->status;
  x->result.retry_after_ms = x->retry_after_ms > 0 ? x->retry_after_ms : 0;
  if (x->status >= 200 && x->status < 300) {
    if (!xfer_is_stream(x)) take_answer(x);
    return 0;
  }
  if (decide_retry(x)) return 1;
  json_t *body = error_body(x);
  api_error(x, body);
  x->result.body = body;
  return 0;
}
