/* The API client engine: every request is a "transfer" on one curl multi
 * handle.  A transfer goes QUEUED -> RUNNING -> FINISHED (curl is done with
 * it) -> either WAITING (a retry, back to QUEUED when due) or DONE.  Stream
 * data (watch events, log lines) is cut into lines by the write callback
 * and handed to user callbacks later, from the loop, never from inside
 * libcurl: so callbacks may call the client again. */
#include "kube/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube/exec_auth.h"
#include "kube/pb.h"
#include "kcfg_yaml.h"

#ifndef RS_VERSION
#define RS_VERSION "0.0.0"
#endif

#define DEFAULT_MAX_RESPONSE ((size_t)512 << 20)
#define STREAM_LINE_MAX ((size_t)64 << 20)
#define CONNECT_TIMEOUT_MS 30000
#define BACKOFF_BASE_MS 250
#define BACKOFF_CAP_MS 8000
#define TOKEN_FILE_REFRESH_MS 60000
#define PACE_MIN_RUNNING 16  /* transfers in flight before reads are paced */
#define PACE_MAX_AUTO_MS 25

enum xkind { X_REQ, X_WATCH, X_LOGS };
enum xstate { S_QUEUED, S_RUNNING, S_FINISHED, S_WAITING, S_DONE };

struct xfer {
  struct xfer *prev, *next;
  rs_kube_client_t *c;
  enum xkind kind;
  enum xstate state;
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
  void *ud;
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
};

struct rs_kube_client {
  rs_kube_config_t *cfg;
  struct rs_kube_client_opts o;
  CURLM *multi;
  struct xfer *head;
  size_t running;
  bool need_perform;       /* curl's sockets had events since it last ran */
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
  struct rs_bytes cert, key;
};

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

/* ---- escaping ---- */

char *rs_kube_escape(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *o = malloc(n * 3 + 1), *p = o;
  if (!o) return NULL;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      *p++ = (char)ch;
    } else {
      *p++ = '%';
      *p++ = hex[ch >> 4];
      *p++ = hex[ch & 15];
    }
  }
  *p = '\0';
  return o;
}

int rs_kube_query_add(rs_buf_t *b, const char *key, const char *value,
                      rs_err_t *err) {
  if (!value) return 0;
  _cleanup_free_ char *v = rs_kube_escape(value);
  if (!v) return rs_oom(err);
  bool has_q = b->data && strchr(b->data, '?');
  return rs_buf_printf(b, err, "%c%s=%s", has_q ? '&' : '?', key, v);
}

/* ---- client ---- */

static int setup_url(rs_kube_client_t *c, rs_err_t *err) {
  const char *server = c->cfg->server;
  if (!c->cfg->tls_server_name) {
    c->url_base = strdup(server);
    return c->url_base ? 0 : rs_oom(err);
  }
  /* tls-server-name: the URL names it (SNI and certificate check), the
   * connection goes to the real host, and Host: stays the server's. */
  _cleanup_free_ char *ct = NULL;
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  int r = 0;
  if (!u || curl_url_set(u, CURLUPART_URL, server, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
    r = rs_fail(err, RS_E_CONFIG, 0, "server \"%s\" is not a valid URL", server);
    goto out;
  }
  size_t pl = strlen(path);
  while (pl && path[pl - 1] == '/') path[--pl] = '\0';
  c->url_base = rs_strdup_printf("%s://%s:%s%s", scheme, c->cfg->tls_server_name, port, path);
  ct = rs_strdup_printf("%s:%s:%s:%s", c->cfg->tls_server_name, port, host, port);
  const char *hp = strstr(server, "://");
  hp = hp ? hp + 3 : server;
  size_t hl = strcspn(hp, "/");
  c->host_header = rs_strdup_printf("Host: %.*s", (int)hl, hp);
  if (!c->url_base || !ct || !c->host_header ||
      !(c->connect_to = curl_slist_append(NULL, ct)))
    r = rs_oom(err);
out:
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
  return r;
}

int rs_kube_client_new(const rs_kube_config_t *cfg,
                       const struct rs_kube_client_opts *opts,
                       rs_kube_client_t **ret, rs_err_t *err) {
  static int global_done = 0;
  if (!global_done) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return rs_fail(err, RS_E_TRANSPORT, 0, "libcurl initialisation failed");
    global_done = 1;
  }
  rs_kube_client_t *c = calloc(1, sizeof *c);
  if (!c) return rs_oom(err);
  if (opts) c->o = *opts;
  if (!c->o.cancel) c->o.cancel = &rs_cancelled;
  if (!c->o.max_response) c->o.max_response = DEFAULT_MAX_RESPONSE;
  if (c->o.max_inflight <= 0) c->o.max_inflight = 100;
  if (c->o.max_retries == 0) c->o.max_retries = 10;
  if (c->o.max_retries < 0) c->o.max_retries = 0;
  c->cfg = rs_kube_config_dup(cfg);
  c->user_agent = c->o.user_agent ? strdup(c->o.user_agent)
                                  : strdup("kubectl-runtime-switch/" RS_VERSION);
  c->o.user_agent = NULL;
  if (!c->cfg || !c->user_agent) {
    rs_kube_client_free(c);
    return rs_oom(err);
  }
  if (rs_kube_config_load_files(c->cfg, err) < 0 || setup_url(c, err) < 0) {
    rs_kube_client_free(c);
    return -1;
  }
  if (c->cfg->token && !(c->token = strdup(c->cfg->token))) {
    rs_kube_client_free(c);
    return rs_oom(err);
  }
  if (c->cfg->token_file) {
    if (rs_kube_read_token_file(c->cfg->token_file, &c->token, err) < 0) {
      rs_kube_client_free(c);
      return -1;
    }
    c->token_read_at = rs_now_ms();
  }
  srandom((unsigned)(time(NULL) ^ getpid()));
  c->multi = curl_multi_init();
  if (!c->multi) {
    rs_kube_client_free(c);
    return rs_fail(err, RS_E_TRANSPORT, 0, "curl_multi_init failed");
  }
  curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  /* As many streams on the one connection as transfers may be in flight.
   * kube-apiserver allows 100 per connection (SETTINGS_MAX_CONCURRENT_STREAMS,
   * the default max_inflight): past that libcurl opens more connections,
   * up to the host limit. */
  curl_multi_setopt(c->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)c->o.max_inflight);
  curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
  curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 16L);
  *ret = c;
  return 0;
}

static void xfer_free(struct xfer *x);

void rs_kube_client_free(rs_kube_client_t *c) {
  if (!c) return;
  while (c->head) {
    struct xfer *x = c->head;
    c->head = x->next;
    if (x->easy && x->state == S_RUNNING) curl_multi_remove_handle(c->multi, x->easy);
    x->prev = x->next = NULL;
    x->c = NULL;
    if (!x->sync) xfer_free(x);
  }
  if (c->multi) curl_multi_cleanup(c->multi);
  rs_kube_config_free(c->cfg);
  free(c->url_base);
  free(c->host_header);
  curl_slist_free_all(c->connect_to);
  free(c->user_agent);
  if (c->token) explicit_bzero(c->token, strlen(c->token));
  free(c->token);
  rs_exec_cred_clear(&c->cred);
  free(c);
}

const rs_kube_config_t *rs_kube_client_config(const rs_kube_client_t *c) {
  return c->cfg;
}

void rs_kube_client_set_deadline(rs_kube_client_t *c, long long deadline_ms) {
  c->o.deadline_ms = deadline_ms;
}

unsigned long rs_kube_client_requests(const rs_kube_client_t *c) {
  return c->requests;
}

size_t rs_kube_pending(const rs_kube_client_t *c) { return c->async_count; }

void rs_kube_result_clear(struct rs_kube_result *r) {
  if (!r) return;
  json_decref(r->body);
  free(r->raw);
  *r = (struct rs_kube_result){0};
}

/* ---- credentials ---- */

static int refresh_exec(rs_kube_client_t *c, bool force, rs_err_t *err) {
  if (!c->cfg->exec) return 0;
  time_t now = time(NULL);
  if (c->have_cred && !force && (c->cred.expiry == 0 || c->cred.expiry > now + 10))
    return 0;
  struct rs_exec_cred cred = {0};
  if (rs_exec_cred_run(c->cfg, c->o.envp, &cred, err) < 0) return -1;
  rs_exec_cred_clear(&c->cred);
  c->cred = cred;
  c->have_cred = true;
  return 0;
}

static int refresh_token_file(rs_kube_client_t *c, rs_err_t *err) {
  if (!c->cfg->token_file || c->cfg->token) return 0;
  if (rs_now_ms() - c->token_read_at < TOKEN_FILE_REFRESH_MS) return 0;
  char *t = NULL;
  /* The last successfully read value stays in use, as client-go. */
  if (rs_kube_read_token_file(c->cfg->token_file, &t, NULL) == 0) {
    free(c->token);
    c->token = t;
  }
  c->token_read_at = rs_now_ms();
  (void)err;
  return 0;
}

/* ---- transfers ---- */

static void list_add(rs_kube_client_t *c, struct xfer *x) {
  x->next = c->head;
  x->prev = NULL;
  if (c->head) c->head->prev = x;
  c->head = x;
}

static void list_del(rs_kube_client_t *c, struct xfer *x) {
  if (x->prev) x->prev->next = x->next;
  else if (c->head == x) c->head = x->next;
  if (x->next) x->next->prev = x->prev;
  x->prev = x->next = NULL;
}

static void xfer_free(struct xfer *x) {
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

static bool is_stream(const struct xfer *x) { return x->kind != X_REQ; }

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
  struct xfer *x = ud;
  size_t len = size * n;
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

static size_t on_write(char *buf, size_t size, size_t n, void *ud) {
  struct xfer *x = ud;
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (!is_stream(x) || status < 200 || status >= 300) {
    if (rs_buf_append(&x->resp, buf, len, NULL) < 0) {
      x->overflow = true;
      return 0;
    }
    /* only bytes are looked at here; the user hears of it from the loop */
    if (x->peek_list && !x->peeked && status >= 200 && status < 300)
      x->peeked = rs_pb_peek_continue(x->resp.data, x->resp.len, &x->peek_cont);
    return len;
  }
  /* Streams: split into lines; complete lines wait in pending. */
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

static long long deadline_of(rs_kube_client_t *c) { return c->o.deadline_ms; }

static int build_url(rs_kube_client_t *c, const char *path, char **ret) {
  *ret = rs_strdup_printf("%s%s%s", c->url_base, path[0] == '/' ? "" : "/", path);
  return *ret ? 0 : -1;
}

static int xfer_prepare(struct xfer *x, rs_err_t *err) {
  rs_kube_client_t *c = x->c;
  if (refresh_exec(c, false, err) < 0) return -1;
  refresh_token_file(c, err);
  if (!x->easy) {
    x->easy = curl_easy_init();
    if (!x->easy) return rs_fail(err, RS_E_TRANSPORT, 0, "curl_easy_init failed");
  } else {
    curl_easy_reset(x->easy);
  }
  CURL *e = x->easy;
  _cleanup_free_ char *url = NULL;
  if (build_url(c, x->path, &url) < 0) return rs_oom(err);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, x);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  x->errbuf[0] = '\0';
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!c->cfg->disable_compression) curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  if (c->connect_to) curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
  if (c->cfg->proxy_url) curl_easy_setopt(e, CURLOPT_PROXY, c->cfg->proxy_url);

  long long now = rs_now_ms();
  long long limit = is_stream(x) ? 0 : (x->timeout_ms ? x->timeout_ms : c->cfg->request_timeout_ms);
  long long dl = deadline_of(c);
  if (dl) {
    long long left = dl - now;
    if (left < 1) left = 1;
    if (!limit || left < limit) limit = left;
  }
  if (limit) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)limit);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   (long)(limit && limit < CONNECT_TIMEOUT_MS ? limit : CONNECT_TIMEOUT_MS));

  /* TLS: verified unless insecure-skip-tls-verify. */
  if (c->cfg->insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (c->cfg->ca_data.data) {
    struct curl_blob b = {c->cfg->ca_data.data, c->cfg->ca_data.len, CURL_BLOB_NOCOPY};
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
  }
  const struct rs_bytes *cert = &c->cfg->cert_data, *key = &c->cfg->key_data;
  if (!cert->data && c->have_cred && c->cred.cert.data) {
    cert = &c->cred.cert;
    key = &c->cred.key;
  }
  if (cert->data && key->data) {
    struct curl_blob cb = {cert->data, cert->len, CURL_BLOB_COPY};
    struct curl_blob kb = {key->data, key->len, CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
  }

  curl_slist_free_all(x->headers);
  x->headers = NULL;
  struct curl_slist *h = NULL;
#define ADDH(s)                                                                \
  do {                                                                         \
    struct curl_slist *n_ = curl_slist_append(h, (s));                         \
    if (!n_) {                                                                 \
      curl_slist_free_all(h);                                                  \
      return rs_oom(err);                  \
    }                                                                          \
    h = n_;                                                                    \
  } while (0)
  ADDH(x->accept ? x->accept
                 : (x->flags & RS_REQ_RAW) || x->kind == X_LOGS ? "Accept: */*"
                                                                : "Accept: application/json");
  if (c->host_header) ADDH(c->host_header);
  const char *token = c->token;
  if (!token && !c->cfg->username && c->have_cred && c->cred.token) token = c->cred.token;
  if (token) {
    _cleanup_free_ char *a = rs_strdup_printf("Authorization: Bearer %s", token);
    if (!a) return rs_oom(err);
    ADDH(a);
    explicit_bzero(a, strlen(a));
  } else if (c->cfg->username || c->cfg->password) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, c->cfg->username ? c->cfg->username : "");
    curl_easy_setopt(e, CURLOPT_PASSWORD, c->cfg->password ? c->cfg->password : "");
  }
  if (c->cfg->as) {
    _cleanup_free_ char *a = rs_strdup_printf("Impersonate-User: %s", c->cfg->as);
    if (!a) return rs_oom(err);
    ADDH(a);
    for (size_t i = 0; c->cfg->as_groups[i]; i++) {
      _cleanup_free_ char *g = rs_strdup_printf("Impersonate-Group: %s", c->cfg->as_groups[i]);
      if (!g) return rs_oom(err);
      ADDH(g);
    }
    if (c->cfg->as_uid) {
      _cleanup_free_ char *u = rs_strdup_printf("Impersonate-Uid: %s", c->cfg->as_uid);
      if (!u) return rs_oom(err);
      ADDH(u);
    }
  }
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
  if (x->method != RS_HTTP_GET && (x->body || x->method != RS_HTTP_DELETE)) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? x->body : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
    if (x->method == RS_HTTP_PATCH)
      ADDH(patch_types[x->patch >= 0 && x->patch < _RS_PATCH_MAX ? x->patch : 0]);
    else
      ADDH("Content-Type: application/json");
  }
  ADDH("Expect:");
#undef ADDH
  x->headers = h;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  if (c->o.verbosity >= 7 && c->o.log) {
    for (struct curl_slist *s = h; s; s = s->next)
      logf_(c, 7, "Request Header: %s",
            strncmp(s->data, "Authorization:", 14) == 0 ? "Authorization: Bearer <masked>" : s->data);
  }
  if (c->o.verbosity >= 8 && x->body)
    logf_(c, 8, "Request Body: %.*s", x->body_len > 1024 ? 1024 : (int)x->body_len, x->body);
  rs_buf_reset(&x->resp);
  rs_buf_reset(&x->line);
  x->resp.max = c->o.max_response;
  x->line.max = STREAM_LINE_MAX;
  x->pending.max = STREAM_LINE_MAX;
  x->status = 0;
  x->code = CURLE_OK;
  x->retry_after_ms = -1;
  x->overflow = false;
  x->peeked = 0;
  free(x->peek_cont);
  x->peek_cont = NULL;
  return 0;
}

/* A transfer that could not even start completes with this error. */
static void xfer_fail_now(struct xfer *x, rs_err_t *e) {
  rs_err_move(&x->err, e);
  x->state = S_FINISHED;
  x->code = CURLE_ABORTED_BY_CALLBACK;
}

static bool start_ready(rs_kube_client_t *c) {
  long long now = rs_now_ms();
  bool added = false;
  for (struct xfer *x = c->head; x; x = x->next) {
    if ((x->state != S_QUEUED && x->state != S_WAITING) || x->cancelled) continue;
    if (x->start_at > now) continue;
    if (!x->sync && c->running >= (size_t)c->o.max_inflight) continue;
    rs_err_t e = RS_ERR_INIT;
    if (xfer_prepare(x, &e) < 0) {
      xfer_fail_now(x, &e);
      continue;
    }
    if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
      rs_fail(&e, RS_E_TRANSPORT, 0, "cannot add a transfer");
      xfer_fail_now(x, &e);
      continue;
    }
    x->state = S_RUNNING;
    x->attempts++;
    x->t_start = now;
    c->running++;
    c->requests++;
    added = true;
  }
  return added;
}

static long long backoff_ms(int attempt) {
  long long d = BACKOFF_BASE_MS;
  for (int i = 1; i < attempt && d < BACKOFF_CAP_MS; i++) d *= 2;
  if (d > BACKOFF_CAP_MS) d = BACKOFF_CAP_MS;
  /* jitter: between d/2 and d */
  return d / 2 + (long long)(random() % (d / 2 + 1));
}

static bool retryable_transport(CURLcode code) {
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

/* Decide about a finished attempt: 1 = retry scheduled, 0 = final. */
static int decide_retry(struct xfer *x) {
  rs_kube_client_t *c = x->c;
  if (x->flags & RS_REQ_NO_RETRY || x->cancelled || x->stop) return 0;
  long long delay = -1;
  if (x->code == CURLE_OK && x->status == 401 && c->cfg->exec && !x->auth_retried &&
      !c->token) {
    rs_err_t e = RS_ERR_INIT;
    x->auth_retried = true;
    if (refresh_exec(c, true, &e) < 0) {
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
    delay = backoff_ms(x->attempts);
  } else if (x->code != CURLE_OK && retryable_transport(x->code) &&
             (x->method == RS_HTTP_GET || x->code == CURLE_COULDNT_CONNECT)) {
    delay = backoff_ms(x->attempts);
  }
  if (delay < 0) return 0;
  long long dl = deadline_of(c);
  if (dl && rs_now_ms() + delay >= dl) return 0;
  x->state = S_WAITING;
  x->start_at = rs_now_ms() + delay;
  logf_(c, 6, "retrying %s %s in %lld ms (attempt %d)", method_name(x->method),
        x->path, delay, x->attempts + 1);
  return 1;
}

static void log_done(struct xfer *x) {
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

/* Turn a finished attempt into x->result / x->err.  Returns 1 when the
 * transfer is to run again (retry or a renewed watch). */
static int xfer_finalize(struct xfer *x) {
  rs_kube_client_t *c = x->c;
  if (x->err.kind != RS_E_NONE && x->code == CURLE_ABORTED_BY_CALLBACK) return 0;
  log_done(x);
  if (x->code != CURLE_OK) {
    if (decide_retry(x)) return 1;
    if (x->overflow)
      rs_fail(&x->err, RS_E_LIMIT, 0, "%s %s: the response is larger than %zu bytes",
              method_name(x->method), x->path, x->resp.max);
    else if (x->code == CURLE_OPERATION_TIMEDOUT)
      rs_fail(&x->err, RS_E_TIMEOUT, (int)x->code, "%s \"%s%s\": %s",
              method_name(x->method), c->url_base, x->path,
              x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->code));
    else
      rs_fail(&x->err, RS_E_TRANSPORT, (int)x->code, "%s \"%s%s\": %s",
              method_name(x->method), c->url_base, x->path,
              x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->code));
    return 0;
  }
  x->result.status = x->status;
  x->result.retry_after_ms = x->retry_after_ms > 0 ? x->retry_after_ms : 0;
  if (x->status >= 200 && x->status < 300) {
    if (is_stream(x)) return 0;
    if (x->flags & RS_REQ_RAW) {
      x->result.raw = rs_buf_steal(&x->resp, &x->result.raw_len);
      if (!x->result.raw) rs_oom(&x->err);
      return 0;
    }
    if (x->resp.len == 0) return 0;
    json_error_t je;
    x->result.body = json_loadb(x->resp.data, x->resp.len, 0, &je);
    if (!x->result.body)
      rs_fail(&x->err, RS_E_INPUT, 0, "%s %s: invalid JSON in the response: %s",
              method_name(x->method), x->path, je.text);
    rs_buf_free(&x->resp);
    return 0;
  }
  if (decide_retry(x)) return 1;
  json_t *body = x->resp.len ? json_loadb(x->resp.data, x->resp.len, 0, NULL) : NULL;
  if (body && !json_is_object(body)) {
    json_decref(body);
    body = NULL;
  }
  struct rs_pb_status ps;
  if (!body && rs_pb_status_decode(x->resp.data, x->resp.len, &ps) == 0) {
    /* a protobuf Status (the request accepted protobuf): as JSON from here */
    body = json_pack("{s:s, s:s?, s:s?, s:i}", "kind", "Status", "message", ps.message,
                     "reason", ps.reason, "code", ps.code);
    rs_pb_status_clear(&ps);
  }
  api_error(x, body);
  x->result.body = body;
  return 0;
}

/* ---- watches ---- */

static int watch_build_path(struct xfer *x, rs_err_t *err) {
  rs_buf_t b = RS_BUF_INIT(0);
  if (rs_buf_puts(&b, x->base_path, err) < 0) goto fail;
  if (rs_kube_query_add(&b, "watch", "1", err) < 0 ||
      rs_kube_query_add(&b, "resourceVersion", x->rv, err) < 0 ||
      rs_kube_query_add(&b, "labelSelector", x->label, err) < 0 ||
      rs_kube_query_add(&b, "fieldSelector", x->field, err) < 0 ||
      (!x->wo.no_bookmarks && rs_kube_query_add(&b, "allowWatchBookmarks", "true", err) < 0))
    goto fail;
  char ts[32];
  snprintf(ts, sizeof ts, "%ld", x->wo.timeout_seconds > 0 ? x->wo.timeout_seconds : 300);
  if (rs_kube_query_add(&b, "timeoutSeconds", ts, err) < 0) goto fail;
  free(x->path);
  x->path = rs_buf_steal(&b, NULL);
  return 0;
fail:
  rs_buf_free(&b);
  return -1;
}

/* One event line.  Returns 0 go on, 1 end, -1 error in *err. */
static int watch_event(struct xfer *x, const char *line, size_t len, rs_err_t *err) {
  json_error_t je;
  _cleanup_(json_decrefp) json_t *ev = json_loadb(line, len, 0, &je);
  if (!ev) return rs_fail(err, RS_E_INPUT, 0, "watch %s: invalid event: %s", x->base_path, je.text);
  const char *type = json_string_value(json_object_get(ev, "type"));
  json_t *obj = json_object_get(ev, "object");
  if (!type || !json_is_object(obj))
    return rs_fail(err, RS_E_INPUT, 0, "watch %s: event without type or object", x->base_path);
  if (strcmp(type, "ERROR") == 0) {
    json_int_t code = json_integer_value(json_object_get(obj, "code"));
    if (code == 410) {
      x->gone = true;
      return 1;
    }
    const char *msg = json_string_value(json_object_get(obj, "message"));
    rs_fail(err, RS_E_API, code ? (int)code : 500, "watch %s: %s", x->base_path,
            msg ? msg : "error event");
    const char *reason = json_string_value(json_object_get(obj, "reason"));
    if (reason) rs_err_set_reason(err, reason);
    return -1;
  }
  const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
  if (rv && *rv) {
    char *n = strdup(rv);
    if (!n) return rs_oom(err);
    free(x->rv);
    x->rv = n;
  }
  return x->wo.on_event(x->wo.ud, type, obj, err);
}

/* Hand pending lines to the user; returns -1 when a callback failed (the
 * transfer's err holds why), 1 when the stream was ended by the user. */
static int dispatch_lines(struct xfer *x) {
  while (x->pending.len && !x->stop && !x->cancelled) {
    char *nl = memchr(x->pending.data, '\n', x->pending.len);
    size_t l = nl ? (size_t)(nl - x->pending.data) : x->pending.len;
    size_t used = nl ? l + 1 : l;
    /* copy the line out: the callback may run the loop, which appends */
    _cleanup_free_ char *line = strndup(x->pending.data, l);
    if (!line) {
      rs_oom(&x->err);
      x->stop = true;
      return -1;
    }
    memmove(x->pending.data, x->pending.data + used, x->pending.len - used);
    x->pending.len -= used;
    x->pending.data[x->pending.len] = '\0';
    if (l && line[l - 1] == '\r') line[--l] = '\0';
    if (x->kind == X_WATCH && l == 0) continue;
    rs_err_t e = RS_ERR_INIT;
    x->busy = true;
    int r = x->kind == X_WATCH ? watch_event(x, line, l, &e) : x->line_fn(x->ud, line, l, &e);
    x->busy = false;
    if (r < 0) {
      if (e.kind == RS_E_NONE) rs_fail(&e, RS_E_INPUT, 0, "stream callback failed");
      rs_err_move(&x->err, &e);
      x->stop = true;
      return -1;
    }
    rs_err_clear(&e);
    if (r > 0) {
      x->stop = true;
      return 1;
    }
  }
  return 0;
}

static void stop_running(struct xfer *x) {
  if (x->state == S_RUNNING) {
    curl_multi_remove_handle(x->c->multi, x->easy);
    x->c->running--;
    x->state = S_FINISHED;
    x->code = CURLE_OK;
    if (!x->status) curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
  }
}

/* ---- the loop ---- */

/* Completion of a transfer: callbacks run, async ones are freed.  Returns
 * -1 when the user's callback asked the loop to stop (err filled). */
static int complete(rs_kube_client_t *c, struct xfer *x, rs_err_t *err) {
  x->state = S_DONE;
  if (x->sync) {
    list_del(c, x);
    if (x->kind == X_LOGS && !x->cancelled) {
      x->busy = true;
      (void)x->line_fn(x->ud, NULL, 0, &x->err);
      x->busy = false;
    }
    return 0;
  }
  list_del(c, x);
  c->async_count--;
  int r = 0;
  if (!x->cancelled) {
    x->busy = true;
    if (x->kind == X_REQ && x->done_fn) {
      r = x->done_fn(x->ud, &x->result, &x->err);
    } else if (x->kind == X_WATCH) {
      if (x->wo.on_end) r = x->wo.on_end(x->wo.ud, &x->result, &x->err);
      else r = x->err.kind != RS_E_NONE ? -1 : 0;
    } else if (x->kind == X_LOGS) {
      r = x->line_fn(x->ud, NULL, 0, &x->err);
      if (r > 0) r = 0;
    } else if (x->err.kind != RS_E_NONE) {
      r = -1;
    }
    x->busy = false;
    if (r < 0) {
      if (x->err.kind == RS_E_NONE) rs_fail(&x->err, RS_E_INPUT, 0, "callback failed");
      rs_err_move(err, &x->err);
    }
  }
  xfer_free(x);
  return r < 0 ? -1 : 0;
}

/* Handle a finished transfer (not busy). Returns -1 to stop the loop. */
static int process_finished(rs_kube_client_t *c, struct xfer *x, rs_err_t *err) {
  if (is_stream(x) && x->code == CURLE_OK && x->status >= 200 && x->status < 300 &&
      !x->stop && !x->cancelled) {
    /* the last line may lack its newline */
    if (x->line.len) {
      if (rs_buf_append(&x->pending, x->line.data, x->line.len, NULL) < 0 ||
          rs_buf_puts(&x->pending, "\n", NULL) < 0)
        x->overflow = true;
      rs_buf_reset(&x->line);
    }
    if (x->pending.len) {
      dispatch_lines(x);
      if (x->state != S_FINISHED) return 0;
    }
  }
  if (x->cancelled) return complete(c, x, err);
  if (x->err.kind != RS_E_NONE) return complete(c, x, err);
  if (x->stop && !x->gone) {
    log_done(x);
    x->result.status = x->status;
    return complete(c, x, err);
  }
  if (x->kind == X_WATCH) {
    bool gone = x->gone || (x->code == CURLE_OK && x->status == 410);
    if (gone) {
      log_done(x);
      x->gone = false;
      x->stop = false;
      if (!x->wo.on_gone) {
        rs_fail(&x->err, RS_E_API, 410, "watch %s: the resourceVersion is too old (410 Gone)",
                x->base_path);
        rs_err_set_reason(&x->err, "Expired");
        return complete(c, x, err);
      }
      char *rv = NULL;
      rs_err_t e = RS_ERR_INIT;
      x->busy = true;
      int r = x->wo.on_gone(x->wo.ud, &rv, &e);
      x->busy = false;
      if (r < 0) {
        rs_err_move(&x->err, &e);
        return complete(c, x, err);
      }
      free(x->rv);
      x->rv = rv;
      if (watch_build_path(x, &x->err) < 0) return complete(c, x, err);
      x->state = S_QUEUED;
      x->start_at = 0;
      x->attempts = 0;
      return 0;
    }
    if (x->code == CURLE_OK && x->status >= 200 && x->status < 300) {
      /* The server closed the watch (timeoutSeconds): renew it. */
      log_done(x);
      x->stream_failures = 0;
      if (watch_build_path(x, &x->err) < 0) return complete(c, x, err);
      x->state = S_QUEUED;
      x->start_at = 0;
      x->attempts = 0;
      return 0;
    }
    if (x->code != CURLE_OK && retryable_transport(x->code) &&
        x->stream_failures++ < c->o.max_retries) {
      log_done(x);
      if (watch_build_path(x, &x->err) < 0) return complete(c, x, err);
      x->state = S_WAITING;
      x->start_at = rs_now_ms() + backoff_ms(x->stream_failures);
      return 0;
    }
  }
  if (xfer_finalize(x)) return 0;
  return complete(c, x, err);
}

static int check_stop(rs_kube_client_t *c, long long deadline, rs_err_t *err) {
  if (c->o.cancel && *c->o.cancel)
    return rs_fail(err, RS_E_INTERRUPTED, 0, "interrupted");
  if (deadline && rs_now_ms() >= deadline)
    return rs_fail(err, RS_E_TIMEOUT, 0, "the deadline passed");
  return 0;
}

long long rs_kube_set_pace(rs_kube_client_t *c, long long ms) {
  long long old = c->pace_ms;
  c->pace_ms = ms > 0 ? ms : 0;
  return old;
}

/* The least time between two runs of curl that only read: the caller's
 * pace, or more while many transfers are in flight.  Each run of curl
 * visits every transfer, and libcurl 7.88 polls the shared HTTP/2
 * connection once per visit, so n transfers answered one by one cost n^2
 * visits; waiting running/4 ms (at most 25) lets the answers that arrive
 * meanwhile be read in one run. */
static long long pace_gap(const rs_kube_client_t *c) {
  long long g = c->pace_ms;
  if (c->running >= PACE_MIN_RUNNING) {
    long long a = (long long)c->running / 4;
    if (a > PACE_MAX_AUTO_MS) a = PACE_MAX_AUTO_MS;
    if (a > g) g = a;
  }
  return g;
}

/* One turn of the loop.  wait_ms bounds how long it may sleep. */
static int loop_step(rs_kube_client_t *c, long long wait_ms, rs_err_t *err) {
  /* curl runs only when there is something for it: new transfers, events
   * on its sockets, or a timer of its own that is due (HTTP/2 frames it
   * has read for other streams are such a timer).  Each run visits every
   * transfer, and with HTTP/2 each visit polls the connection: running it
   * on every turn made a burst of n concurrent requests cost n^2 polls. */
  long cto = -1;
  bool added = start_ready(c);
  if (added) c->need_perform = true;
  if (!c->need_perform) {
    curl_multi_timeout(c->multi, &cto);
    if (cto == 0) c->need_perform = true;
  }
  if (c->need_perform && !added) {
    /* only reading: keep the pace (new requests go out at once) */
    long long since = rs_now_ms() - c->last_perform;
    long long gap = pace_gap(c);
    if (since >= 0 && since < gap) poll(NULL, 0, (int)(gap - since)); /* a signal ends it */
  }
  if (c->need_perform) {
    int still = 0;
    c->need_perform = false;
    curl_multi_perform(c->multi, &still);
    c->last_perform = rs_now_ms();
  }
  CURLMsg *m;
  int left = 0;
  bool progressed = false;
  while ((m = curl_multi_info_read(c->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    progressed = true;
    struct xfer *x = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    CURLcode code = m->data.result;
    curl_multi_remove_handle(c->multi, m->easy_handle);
    if (!x) continue;
    c->running--;
    x->code = code;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
    x->state = S_FINISHED;
  }
  /* Callbacks: restart the scan after each, since a callback may change
   * the list (nested loops, new requests, cancellations). */
  for (;;) {
    struct xfer *pick = NULL;
    for (struct xfer *x = c->head; x; x = x->next) {
      if (x->busy) continue;
      if (x->state == S_FINISHED ||
          (x->state == S_RUNNING && x->pending.len && !x->stop && !x->cancelled) ||
          (x->state == S_RUNNING && (x->stop || x->cancelled))) {
        pick = x;
        break;
      }
    }
    if (!pick) break;
    progressed = true;
    if (pick->state == S_RUNNING && !pick->stop && !pick->cancelled) {
      dispatch_lines(pick);
      if (pick->stop || pick->cancelled) stop_running(pick);
      continue;
    }
    if (pick->state == S_RUNNING) stop_running(pick);
    if (process_finished(c, pick, err) < 0) return -1;
  }
  if (start_ready(c)) c->need_perform = true;
  /* Something finished or was dispatched: let the caller look at it now
   * instead of sleeping a full wait after the work is already done. */
  if (progressed) return 0;
  if (c->need_perform) return 0;
  /* Sleep until curl has work, a retry is due, or wait_ms. */
  long long now = rs_now_ms();
  long long t = wait_ms;
  for (struct xfer *x = c->head; x; x = x->next)
    if (x->state == S_QUEUED || x->state == S_WAITING) {
      long long d = x->start_at > now ? x->start_at - now : 0;
      if (d < t) t = d;
    }
  long ct = -1;
  curl_multi_timeout(c->multi, &ct);
  if (ct >= 0 && ct < t) t = ct;
  if (t > 0) {
    if (t > 1000) t = 1000;
    int events = 0;
    curl_multi_poll(c->multi, NULL, 0, (int)t, &events);
    if (events > 0) c->need_perform = true;
  } else {
    c->need_perform = true;
  }
  return 0;
}

static struct xfer *xfer_new(rs_kube_client_t *c, enum xkind kind,
                             const struct rs_kube_req *req, rs_err_t *err) {
  struct xfer *x = calloc(1, sizeof *x);
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
  if (req) {
    x->method = req->method;
    x->patch = req->patch;
    x->flags = req->flags;
    x->timeout_ms = req->timeout_ms;
    x->path = strdup(req->path ? req->path : "/");
    if (!x->path) goto oom;
    if (req->accept && !(x->accept = rs_strdup_printf("Accept: %s", req->accept))) goto oom;
    if (req->body) {
      x->body = json_dumps(req->body, JSON_COMPACT | JSON_ENCODE_ANY);
      if (!x->body) goto oom;
      x->body_len = strlen(x->body);
    }
  }
  return x;
oom:
  xfer_free(x);
  rs_oom(err);
  return NULL;
}

/* Run the loop until x is done; x stays owned by the caller. */
static int wait_for(rs_kube_client_t *c, struct xfer *x, rs_err_t *err) {
  while (x->state != S_DONE) {
    rs_err_t e = RS_ERR_INIT;
    if (check_stop(c, deadline_of(c), &e) < 0 || loop_step(c, 200, &e) < 0) {
      /* abandon x: take it off the loop */
      if (x->state == S_RUNNING) {
        curl_multi_remove_handle(c->multi, x->easy);
        c->running--;
      }
      if (x->state != S_DONE) list_del(c, x);
      x->state = S_DONE;
      rs_err_move(err, &e);
      return -1;
    }
  }
  return 0;
}

static int run_sync(rs_kube_client_t *c, struct xfer *x, struct rs_kube_result *ret,
                    rs_err_t *err) {
  x->sync = true;
  list_add(c, x);
  if (wait_for(c, x, err) < 0) {
    xfer_free(x);
    return -1;
  }
  if (x->err.kind != RS_E_NONE) {
    rs_err_move(err, &x->err);
    xfer_free(x);
    return -1;
  }
  if (ret) {
    *ret = x->result;
    x->result = (struct rs_kube_result){0};
  }
  xfer_free(x);
  return 0;
}

int rs_kube_request(rs_kube_client_t *c, const struct rs_kube_req *req,
                    json_t **ret, rs_err_t *err) {
  struct xfer *x = xfer_new(c, X_REQ, req, err);
  if (!x) return -1;
  struct rs_kube_result res = {0};
  if (run_sync(c, x, &res, err) < 0) return -1;
  if (ret) *ret = TAKE_PTR(res.body);
  rs_kube_result_clear(&res);
  return 0;
}

int rs_kube_get(rs_kube_client_t *c, const char *path, json_t **ret, rs_err_t *err) {
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = path};
  return rs_kube_request(c, &r, ret, err);
}

int rs_kube_get_raw(rs_kube_client_t *c, const char *path, char **ret,
                    size_t *ret_len, rs_err_t *err) {
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = path, .flags = RS_REQ_RAW};
  return rs_kube_request_raw(c, &r, ret, ret_len, err);
}

int rs_kube_request_raw(rs_kube_client_t *c, const struct rs_kube_req *req,
                        char **ret, size_t *ret_len, rs_err_t *err) {
  struct rs_kube_req r = *req;
  r.flags |= RS_REQ_RAW;
  struct xfer *x = xfer_new(c, X_REQ, &r, err);
  if (!x) return -1;
  struct rs_kube_result res = {0};
  if (run_sync(c, x, &res, err) < 0) return -1;
  if (!res.raw && !(res.raw = strdup(""))) {
    rs_kube_result_clear(&res);
    return rs_oom(err);
  }
  *ret = TAKE_PTR(res.raw);
  if (ret_len) *ret_len = res.raw_len;
  rs_kube_result_clear(&res);
  return 0;
}

int rs_kube_post(rs_kube_client_t *c, const char *path, const json_t *body,
                 json_t **ret, rs_err_t *err) {
  struct rs_kube_req r = {.method = RS_HTTP_POST, .path = path, .body = body};
  return rs_kube_request(c, &r, ret, err);
}

int rs_kube_put(rs_kube_client_t *c, const char *path, const json_t *body,
                json_t **ret, rs_err_t *err) {
  struct rs_kube_req r = {.method = RS_HTTP_PUT, .path = path, .body = body};
  return rs_kube_request(c, &r, ret, err);
}

int rs_kube_patch(rs_kube_client_t *c, const char *path, int patch_type,
                  const json_t *body, json_t **ret, rs_err_t *err) {
  if (patch_type < 0 || patch_type >= _RS_PATCH_MAX)
    return rs_fail(err, RS_E_USAGE, EINVAL, "unknown patch type %d", patch_type);
  struct rs_kube_req r = {.method = RS_HTTP_PATCH, .path = path, .body = body,
                          .patch = patch_type};
  return rs_kube_request(c, &r, ret, err);
}

int rs_kube_delete(rs_kube_client_t *c, const char *path, const json_t *body,
                   json_t **ret, rs_err_t *err) {
  struct rs_kube_req r = {.method = RS_HTTP_DELETE, .path = path, .body = body};
  return rs_kube_request(c, &r, ret, err);
}

int rs_kube_async(rs_kube_client_t *c, const struct rs_kube_req *req,
                  rs_kube_done_fn done, void *ud, rs_err_t *err) {
  struct xfer *x = xfer_new(c, X_REQ, req, err);
  if (!x) return -1;
  x->done_fn = done;
  x->ud = ud;
  list_add(c, x);
  c->async_count++;
  return 0;
}

int rs_kube_run(rs_kube_client_t *c, const struct rs_kube_run_opts *o,
                rs_err_t *err) {
  struct rs_kube_run_opts none = {0};
  if (!o) o = &none;
  long long tick_ms = o->tick_ms > 0 ? o->tick_ms : 1000;
  long long deadline = o->deadline_ms ? o->deadline_ms : deadline_of(c);
  long long next_tick = o->tick ? rs_now_ms() + tick_ms : 0;
  for (;;) {
    if (check_stop(c, deadline, err) < 0) return -1;
    if (!o->until_stopped && c->async_count == 0) return 0;
    long long wait = 200;
    if (o->tick) {
      long long now = rs_now_ms();
      if (now >= next_tick) {
        int r = o->tick(o->tick_ud, err);
        if (r != 0) return r < 0 ? -1 : 0;
        next_tick = now + tick_ms;
      }
      wait = next_tick - rs_now_ms();
      if (wait < 0) wait = 0;
    }
    if (deadline) {
      long long left = deadline - rs_now_ms();
      if (left < wait) wait = left < 0 ? 0 : left;
    }
    if (loop_step(c, wait, err) < 0) return -1;
  }
}

void rs_kube_cancel_all(rs_kube_client_t *c) {
  struct xfer *x = c->head;
  while (x) {
    struct xfer *next = x->next;
    if (!x->sync) {
      x->cancelled = true;
      if (!x->busy) {
        if (x->state == S_RUNNING) {
          curl_multi_remove_handle(c->multi, x->easy);
          c->running--;
        }
        list_del(c, x);
        c->async_count--;
        xfer_free(x);
      }
    }
    x = next;
  }
}

/* ---- lists ---- */

static int list_page_path(rs_buf_t *b, const char *path, const struct rs_kube_list_opts *o,
                          const char *limit, const char *cont, rs_err_t *err) {
  if (rs_buf_puts(b, path, err) < 0 ||
      rs_kube_query_add(b, "labelSelector", o->label_selector, err) < 0 ||
      rs_kube_query_add(b, "fieldSelector", o->field_selector, err) < 0 ||
      rs_kube_query_add(b, "limit", limit, err) < 0 ||
      rs_kube_query_add(b, "continue", cont, err) < 0)
    return -1;
  return 0;
}

int rs_kube_list(rs_kube_client_t *c, const char *path,
                 const struct rs_kube_list_opts *o, rs_kube_item_fn fn,
                 void *ud, char **ret_rv, rs_err_t *err) {
  struct rs_kube_list_opts none = {0};
  if (!o) o = &none;
  char lim[32];
  snprintf(lim, sizeof lim, "%ld", o->limit > 0 ? o->limit : 500);
  _cleanup_free_ char *cont = NULL;
  _cleanup_free_ char *rv = NULL;
  for (int page = 0;; page++) {
    _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(0);
    if (list_page_path(&b, path, o, lim, cont, err) < 0) return -1;
    _cleanup_(json_decrefp) json_t *list = NULL;
    if (rs_kube_get(c, b.data, &list, err) < 0) return -1;
    json_t *items = json_object_get(list, "items");
    if (!json_is_array(items) && !json_is_null(items) && items)
      return rs_fail(err, RS_E_INPUT, 0, "GET %s: the answer is not a list", path);
    json_t *meta = json_object_get(list, "metadata");
    const char *r = json_string_value(json_object_get(meta, "resourceVersion"));
    if (page == 0 && r) {
      rv = strdup(r);
      if (!rv) return rs_oom(err);
    }
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
      int fr = fn(ud, item, err);
      if (fr < 0) return -1;
      if (fr > 0) {
        if (ret_rv) *ret_rv = TAKE_PTR(rv);
        return 0;
      }
    }
    const char *next = json_string_value(json_object_get(meta, "continue"));
    free(cont);
    cont = NULL;
    if (!next || !*next) break;
    if (!(cont = strdup(next))) return rs_oom(err);
  }
  if (ret_rv) *ret_rv = TAKE_PTR(rv);
  return 0;
}

/* One page of rs_kube_list_pages: a synchronous transfer on the loop. */
static struct xfer *page_start(rs_kube_client_t *c, const char *path,
                               const struct rs_kube_list_opts *o, const char *limit,
                               const char *accept, const char *cont, rs_err_t *err) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(0);
  if (list_page_path(&b, path, o, limit, cont, err) < 0) return NULL;
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = b.data, .flags = RS_REQ_RAW,
                          .accept = accept};
  struct xfer *x = xfer_new(c, X_REQ, &r, err);
  if (!x) return NULL;
  x->sync = true;
  x->peek_list = true;
  list_add(c, x);
  return x;
}

/* Take a page transfer off the loop, wherever it is, and free it. */
static void page_drop(rs_kube_client_t *c, struct xfer *x) {
  if (!x) return;
  if (x->state == S_RUNNING) {
    curl_multi_remove_handle(c->multi, x->easy);
    c->running--;
  }
  if (x->state != S_DONE) list_del(c, x);
  xfer_free(x);
}

int rs_kube_list_pages(rs_kube_client_t *c, const char *path,
                       const struct rs_kube_list_opts *o, const char *accept,
                       rs_kube_page_fn fn, void *ud, rs_err_t *err) {
  struct rs_kube_list_opts none = {0};
  if (!o) o = &none;
  char lim[32];
  snprintf(lim, sizeof lim, "%ld", o->limit > 0 ? o->limit : 500);
  struct xfer *cur = page_start(c, path, o, lim, accept, NULL, err), *next = NULL;
  _cleanup_free_ char *next_cont = NULL; /* what next was asked with */
  if (!cur) return -1;
  for (;;) {
    /* Turn the loop until this page is in; ask for the next one as soon
     * as its continue token has arrived (at most two pages in flight), at
     * the latest before this page is handed over. */
    for (;;) {
      rs_err_t e = RS_ERR_INIT;
      if (!next && cur->peeked == 1 && cur->peek_cont && cur->err.kind == RS_E_NONE) {
        free(next_cont);
        if (!(next_cont = strdup(cur->peek_cont)) ||
            !(next = page_start(c, path, o, lim, accept, next_cont, &e)) ||
            loop_step(c, 0, &e) < 0) { /* on its way now, not after fn */
          if (!next_cont) rs_oom(&e);
          rs_err_move(err, &e);
          goto fail;
        }
      }
      if (cur->state == S_DONE) break;
      if (check_stop(c, deadline_of(c), &e) < 0 || loop_step(c, 200, &e) < 0) {
        rs_err_move(err, &e);
        goto fail;
      }
    }
    if (cur->err.kind != RS_E_NONE) {
      rs_err_move(err, &cur->err);
      goto fail;
    }
    char *cont = NULL;
    size_t len = cur->result.raw_len;
    _cleanup_free_ char *body = TAKE_PTR(cur->result.raw);
    if (fn(ud, body ? body : "", body ? len : 0, &cont, err) < 0) goto fail;
    /* The peek and the page agree, or the look-ahead is thrown away. */
    if (next && (!cont || strcmp(cont, next_cont) != 0)) {
      page_drop(c, next);
      next = NULL;
    }
    page_drop(c, cur);
    cur = NULL;
    if (!cont) break;
    cur = next ? next : page_start(c, path, o, lim, accept, cont, err);
    next = NULL;
    free(cont);
    if (!cur) goto fail;
  }
  return 0;
fail:
  page_drop(c, cur);
  page_drop(c, next);
  return -1;
}

/* ---- watch and logs ---- */

static struct xfer *watch_new(rs_kube_client_t *c, const char *path,
                              const struct rs_kube_watch_opts *o, rs_err_t *err) {
  if (!o || !o->on_event) {
    rs_fail(err, RS_E_USAGE, EINVAL, "watch without an event callback");
    return NULL;
  }
  struct xfer *x = xfer_new(c, X_WATCH, NULL, err);
  if (!x) return NULL;
  x->method = RS_HTTP_GET;
  x->wo = *o;
  x->base_path = strdup(path);
  x->rv = rs_strdup0(o->resource_version);
  x->label = rs_strdup0(o->label_selector);
  x->field = rs_strdup0(o->field_selector);
  if (o->accept) x->accept = rs_strdup_printf("Accept: %s", o->accept);
  x->wo.resource_version = x->wo.label_selector = x->wo.field_selector = x->wo.accept = NULL;
  if (!x->base_path || (o->resource_version && !x->rv) ||
      (o->label_selector && !x->label) || (o->field_selector && !x->field) ||
      (o->accept && !x->accept)) {
    xfer_free(x);
    rs_oom(err);
    return NULL;
  }
  if (watch_build_path(x, err) < 0) {
    xfer_free(x);
    return NULL;
  }
  return x;
}

int rs_kube_watch(rs_kube_client_t *c, const char *path,
                  const struct rs_kube_watch_opts *o, rs_err_t *err) {
  struct xfer *x = watch_new(c, path, o, err);
  if (!x) return -1;
  return run_sync(c, x, NULL, err);
}

int rs_kube_watch_start(rs_kube_client_t *c, const char *path,
                        const struct rs_kube_watch_opts *o, rs_err_t *err) {
  struct xfer *x = watch_new(c, path, o, err);
  if (!x) return -1;
  list_add(c, x);
  c->async_count++;
  return 0;
}

static struct xfer *logs_new(rs_kube_client_t *c, const char *ns, const char *pod,
                             const struct rs_kube_log_opts *o, rs_kube_line_fn fn,
                             void *ud, rs_err_t *err) {
  struct rs_kube_log_opts none = {0};
  if (!o) o = &none;
  if (!fn) {
    rs_fail(err, RS_E_USAGE, EINVAL, "log stream without a line callback");
    return NULL;
  }
  _cleanup_free_ char *ens = rs_kube_escape(ns), *epod = rs_kube_escape(pod);
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(0);
  char num[32];
  if (!ens || !epod ||
      rs_buf_printf(&b, err, "/api/v1/namespaces/%s/pods/%s/log", ens, epod) < 0 ||
      rs_kube_query_add(&b, "container", o->container, err) < 0 ||
      (o->follow && rs_kube_query_add(&b, "follow", "true", err) < 0) ||
      (o->previous && rs_kube_query_add(&b, "previous", "true", err) < 0) ||
      (o->timestamps && rs_kube_query_add(&b, "timestamps", "true", err) < 0)) {
    if (err && err->kind == RS_E_NONE) rs_oom(err);
    return NULL;
  }
  if (o->tail_set && o->tail_lines >= 0) {
    snprintf(num, sizeof num, "%ld", o->tail_lines);
    if (rs_kube_query_add(&b, "tailLines", num, err) < 0) return NULL;
  }
  if (o->since_seconds > 0) {
    snprintf(num, sizeof num, "%ld", o->since_seconds);
    if (rs_kube_query_add(&b, "sinceSeconds", num, err) < 0) return NULL;
  }
  if (o->limit_bytes > 0) {
    snprintf(num, sizeof num, "%ld", o->limit_bytes);
    if (rs_kube_query_add(&b, "limitBytes", num, err) < 0) return NULL;
  }
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = b.data, .flags = RS_REQ_NO_RETRY};
  struct xfer *x = xfer_new(c, X_LOGS, &r, err);
  if (!x) return NULL;
  x->line_fn = fn;
  x->ud = ud;
  return x;
}

int rs_kube_pod_logs(rs_kube_client_t *c, const char *ns, const char *pod,
                     const struct rs_kube_log_opts *o, rs_kube_line_fn fn,
                     void *ud, rs_err_t *err) {
  struct xfer *x = logs_new(c, ns, pod, o, fn, ud, err);
  if (!x) return -1;
  return run_sync(c, x, NULL, err);
}

int rs_kube_pod_logs_start(rs_kube_client_t *c, const char *ns,
                           const char *pod, const struct rs_kube_log_opts *o,
                           rs_kube_line_fn fn, void *ud, rs_err_t *err) {
  struct xfer *x = logs_new(c, ns, pod, o, fn, ud, err);
  if (!x) return -1;
  list_add(c, x);
  c->async_count++;
  return 0;
}
