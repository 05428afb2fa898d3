/* Pod log streams: GET .../pods/NAME/log, its lines handed to the caller,
 * then one last call with line == NULL when the stream ended. */
#include <errno.h>
#include <stdio.h>

#include "client_int.h"
#include "common/cleanup.h"

static int logs_line(struct xfer *x, const char *line, size_t len, rs_err_t *err) {
  return x->line_fn(x->ud, line, len, err);
}

static int logs_end(struct xfer *x) {
  int r = x->line_fn(x->ud, NULL, 0, &x->err);
  return r > 0 ? 0 : r;
}

static const struct xfer_hooks log_stream = {.line = logs_line, .end = logs_end};

static int logs_path(rs_buf_t *b, const char *ns, const char *pod,
                     const struct rs_kube_log_opts *o, rs_err_t *err) {
  _cleanup_free_ char *ens = rs_kube_escape(ns), *epod = rs_kube_escape(pod);
  if (!ens || !epod) return rs_oom(err);
  if (rs_buf_printf(b, err, "/api/v1/namespaces/%s/pods/%s/log", ens, epod) < 0 ||
      rs_kube_query_add(b, "container", o->container, err) < 0 ||
      (o->follow && rs_kube_query_add(b, "follow", "true", err) < 0) ||
      (o->previous && rs_kube_query_add(b, "previous", "true", err) < 0) ||
      (o->timestamps && rs_kube_query_add(b, "timestamps", "true", err) < 0))
    return -1;
  char num[32];
  if (o->tail_set && o->tail_lines >= 0) {
    snprintf(num, sizeof num, "%ld", o->tail_lines);
    if (rs_kube_query_add(b, "tailLines", num, err) < 0) return -1;
  }
  if (o->since_seconds > 0) {
    snprintf(num, sizeof num, "%ld", o->since_seconds);
    if (rs_kube_query_add(b, "sinceSeconds", num, err) < 0) return -1;
  }
  if (o->limit_bytes > 0) {
    snprintf(num, sizeof num, "%ld", o->limit_bytes);
    if (rs_kube_query_add(b, "limitBytes", num, err) < 0) return -1;
  }
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
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(0);
  if (logs_path(&b, ns, pod, o, err) < 0) return NULL;
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = b.data, .flags = RS_REQ_NO_RETRY};
  struct xfer *x = xfer_new(c, X_LOGS, &r, err);
  if (!x) return NULL;
  x->hooks = &log_stream;
  x->line_fn = fn;
  x->ud = ud;
  return x;
}

int rs_kube_pod_logs(rs_kube_client_t *c, const char *ns, const char *pod,
                     const struct rs_kube_log_opts *o, rs_kube_line_fn fn,
                     void *ud, rs_err_t *err) {
  struct xfer *x = logs_new(c, ns, pod, o, fn, ud, err);
  if (!x) return -1;
  return loop_run_sync(c, x, NULL, err);
}

int rs_kube_pod_logs_start(rs_kube_client_t *c, const char *ns,
                           const char *pod, const struct rs_kube_log_opts *o,
                           rs_kube_line_fn fn, void *ud, rs_err_t *err) {
  struct xfer *x = logs_new(c, ns, pod, o, fn, ud, err);
  if (!x) return -1;
  loop_add_async(c, x);
  return 0;
}
