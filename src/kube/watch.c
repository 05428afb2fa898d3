/* Watches: one long GET (?watch=1) whose lines are events.  The watch is
 * renewed from the last resourceVersion seen when the server ends a call
 * (timeoutSeconds) or the connection breaks; a 410 Gone (too old a
 * resourceVersion) asks the caller to list again. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client_int.h"
#include "common/clock.h"
#include "common/cleanup.h"
#include "common/strutil.h"

static int watch_build_path(struct xfer *x, rs_err_t *err) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(0);
  char ts[32];
  snprintf(ts, sizeof ts, "%ld", x->wo.timeout_seconds > 0 ? x->wo.timeout_seconds : 300);
  if (rs_buf_puts(&b, x->base_path, err) < 0 ||
      rs_kube_query_add(&b, "watch", "1", err) < 0 ||
      rs_kube_query_add(&b, "resourceVersion", x->rv, err) < 0 ||
      rs_kube_query_add(&b, "labelSelector", x->label, err) < 0 ||
      rs_kube_query_add(&b, "fieldSelector", x->field, err) < 0 ||
      (!x->wo.no_bookmarks && rs_kube_query_add(&b, "allowWatchBookmarks", "true", err) < 0) ||
      rs_kube_query_add(&b, "timeoutSeconds", ts, err) < 0)
    return -1;
  free(x->path);
  x->path = rs_buf_steal(&b, NULL);
  return 0;
}

/* One event line.  Returns 0 go on, 1 end, -1 error in *err. */
static int watch_event(struct xfer *x, const char *line, size_t len, rs_err_t *err) {
  if (len == 0) return 0;
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

/* Watch again from x->rv, at once and as a new call. */
static int watch_requeue(struct xfer *x) {
  if (watch_build_path(x, &x->err) < 0) return -1;
  x->state = S_QUEUED;
  x->start_at = 0;
  x->attempts = 0;
  return 1;
}

/* 410 Gone: the caller lists again and says where to watch from. */
static int watch_relist(struct xfer *x) {
  xfer_log_done(x);
  x->gone = false;
  x->stop = false;
  if (!x->wo.on_gone) {
    rs_fail(&x->err, RS_E_API, 410, "watch %s: the resourceVersion is too old (410 Gone)",
            x->base_path);
    rs_err_set_reason(&x->err, "Expired");
    return -1;
  }
  char *rv = NULL;
  rs_err_t e = RS_ERR_INIT;
  x->busy = true;
  int r = x->wo.on_gone(x->wo.ud, &rv, &e);
  x->busy = false;
  if (r < 0) {
    rs_err_move(&x->err, &e);
    return -1;
  }
  free(x->rv);
  x->rv = rv;
  return watch_requeue(x);
}

/* The hook of a finished call: renewed (1), ended with x->err (-1), or
 * left to the request's rules (0: not a renewable end). */
static int watch_renew(struct xfer *x) {
  if (x->gone || (x->code == CURLE_OK && x->status == 410)) return watch_relist(x);
  if (x->code == CURLE_OK && x->status >= 200 && x->status < 300) {
    /* The server closed the watch (timeoutSeconds): renew it. */
    xfer_log_done(x);
    x->stream_failures = 0;
    return watch_requeue(x);
  }
  if (x->code != CURLE_OK && xfer_retryable(x->code) &&
      x->stream_failures++ < x->c->o.max_retries) {
    /* the connection broke: again after a backoff */
    xfer_log_done(x);
    if (watch_build_path(x, &x->err) < 0) return -1;
    x->state = S_WAITING;
    x->start_at = rs_now_ms() + xfer_backoff_ms(x->stream_failures);
    return 1;
  }
  return 0;
}

/* An asynchronous watch ended: on_end, or its error stops rs_kube_run. */
static int watch_end(struct xfer *x) {
  if (x->wo.on_end) return x->wo.on_end(x->wo.ud, &x->result, &x->err);
  return x->err.kind != RS_E_NONE ? -1 : 0;
}

static const struct xfer_hooks sync_watch = {.line = watch_event, .again = watch_renew};
static const struct xfer_hooks async_watch = {
    .line = watch_event, .again = watch_renew, .end = watch_end};

static struct xfer *watch_new(rs_kube_client_t *c, const char *path,
                              const struct rs_kube_watch_opts *o, rs_err_t *err) {
  if (!o || !o->on_event) {
    rs_fail(err, RS_E_USAGE, EINVAL, "watch without an event callback");
    return NULL;
  }
  _cleanup_(xfer_freep) struct xfer *x = xfer_new(c, X_WATCH, NULL, err);
  if (!x) return NULL;
  x->method = RS_HTTP_GET;
  x->wo = *o;
  x->ud = o->ud; /* its owner, for rs_kube_cancel_ud */
  x->base_path = strdup(path);
  x->rv = rs_strdup0(o->resource_version);
  x->label = rs_strdup0(o->label_selector);
  x->field = rs_strdup0(o->field_selector);
  if (o->accept) x->accept = rs_strdup_printf("Accept: %s", o->accept);
  x->wo.resource_version = x->wo.label_selector = x->wo.field_selector = x->wo.accept = NULL;
  if (!x->base_path || (o->resource_version && !x->rv) ||
      (o->label_selector && !x->label) || (o->field_selector && !x->field) ||
      (o->accept && !x->accept)) {
    rs_oom(err);
    return NULL;
  }
  if (watch_build_path(x, err) < 0) return NULL;
  return TAKE_PTR(x);
}

int rs_kube_watch(rs_kube_client_t *c, const char *path,
                  const struct rs_kube_watch_opts *o, rs_err_t *err) {
  struct xfer *x = watch_new(c, path, o, err);
  if (!x) return -1;
  x->hooks = &sync_watch;
  return loop_run_sync(c, x, NULL, err);
}

int rs_kube_watch_start(rs_kube_client_t *c, const char *path,
                        const struct rs_kube_watch_opts *o, rs_err_t *err) {
  struct xfer *x = watch_new(c, path, o, err);
  if (!x) return -1;
  x->hooks = &async_watch;
  loop_add_async(c, x);
  return 0;
}
