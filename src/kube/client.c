/* The API client object: its copy of the config, its credentials and
 * base URL, its loop; and the one-shot requests (rs_kube_get, ...), each
 * one synchronous transfer on the loop.  How the files of the client
 * divide the work: client_int.h. */
#include "kube/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_int.h"
#include "common/cleanup.h"
#include "common/signals.h"

#ifndef RS_VERSION
#define RS_VERSION "0.0.0"
#endif

#define DEFAULT_MAX_RESPONSE ((size_t)512 << 20)

static int curl_global(rs_err_t *err) {
  static int done = 0;
  if (done) return 0;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return rs_fail(err, RS_E_TRANSPORT, 0, "libcurl initialisation failed");
  done = 1;
  return 0;
}

static void set_opts(rs_kube_client_t *c, const struct rs_kube_client_opts *opts) {
  if (opts) c->o = *opts;
  if (!c->o.cancel) c->o.cancel = &rs_cancelled;
  if (!c->o.max_response) c->o.max_response = DEFAULT_MAX_RESPONSE;
  if (c->o.max_inflight <= 0) c->o.max_inflight = 100;
  if (c->o.max_retries == 0) c->o.max_retries = 10;
  if (c->o.max_retries < 0) c->o.max_retries = 0;
}

int rs_kube_client_new(const rs_kube_config_t *cfg,
                       const struct rs_kube_client_opts *opts,
                       rs_kube_client_t **ret, rs_err_t *err) {
  if (curl_global(err) < 0) return -1;
  _cleanup_kube_client_ rs_kube_client_t *c = calloc(1, sizeof *c);
  if (!c) return rs_oom(err);
  set_opts(c, opts);
  c->cfg = rs_kube_config_dup(cfg);
  c->user_agent = strdup(c->o.user_agent ? c->o.user_agent
                                         : "kubectl-runtime-switch/" RS_VERSION);
  c->o.user_agent = NULL;
  if (!c->cfg || !c->user_agent) return rs_oom(err);
  if (rs_kube_config_load_files(c->cfg, err) < 0 || url_setup(c, err) < 0 ||
      auth_init(c, err) < 0)
    return -1;
  srandom((unsigned)(time(NULL) ^ getpid()));
  if (loop_init(c, err) < 0) return -1;
  *ret = TAKE_PTR(c);
  return 0;
}

void rs_kube_client_free(rs_kube_client_t *c) {
  if (!c) return;
  loop_fini(c);
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

/* ---- requests ---- */

int rs_kube_request(rs_kube_client_t *c, const struct rs_kube_req *req,
                    json_t **ret, rs_err_t *err) {
  struct xfer *x = xfer_new(c, X_REQ, req, err);
  if (!x) return -1;
  struct rs_kube_result res = {0};
  if (loop_run_sync(c, x, &res, err) < 0) return -1;
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
  if (loop_run_sync(c, x, &res, err) < 0) return -1;
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

/* An asynchronous request tells its caller through done_fn; without one,
 * its error stops rs_kube_run. */
static int request_end(struct xfer *x) {
  if (x->done_fn) return x->done_fn(x->ud, &x->result, &x->err);
  return x->err.kind != RS_E_NONE ? -1 : 0;
}

static const struct xfer_hooks async_request = {.end = request_end};

int rs_kube_async(rs_kube_client_t *c, const struct rs_kube_req *req,
                  rs_kube_done_fn done, void *ud, rs_err_t *err) {
  struct xfer *x = xfer_new(c, X_REQ, req, err);
  if (!x) return -1;
  x->hooks = &async_request;
  x->done_fn = done;
  x->ud = ud;
  loop_add_async(c, x);
  return 0;
}
