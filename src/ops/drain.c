/* The drain engine: list, filter, evict everything at once (or delete one
 * pod after the other, as kubectl), follow one watch until every pod is
 * gone.
 *
 * Each pod moves through phases:
 *   QUEUED -> IN_FLIGHT -> ACCEPTED -> DONE
 *                 |  ^         (gone: deleted, or replaced by a new UID)
 *                 |  +-- RETRY_WAIT   (429, terminating namespace, 5xx with
 *                 |                    retryAfterSeconds)
 *                 +----> CHECKING     (reset connection, 5xx: did it happen?
 *                                      a GET of the pod decides)
 * A pod is evicted again only from RETRY_WAIT or after a CHECKING that
 * found it alive and not deleting, and every request carries the pod's UID
 * as a precondition: a retry cannot evict twice, nor evict a replacement. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/drain.h"
#include "ops/nodes.h"

#define MAX_PODS 100000
#define TICK_MS 50
/* Once every pod is evicted and the drain only waits for them to go, the
 * watch is read at most every WAIT_PACE_MS: the events of pods ending
 * close together cost one wakeup (kubectl reads each pod once a second). */
#define WAIT_PACE_MS 200
#define DEFAULT_RETRY_MS 5000
#define MAX_TRANSPORT_FAILURES 20
#define WATCH_BACKOFF_MAX_MS 10000
#define MAX_SERVER_RETRIES 10 /* client-go's limit for answers with Retry-After */

enum check_reason { CHECK_TRANSPORT, CHECK_5XX, CHECK_CONFLICT };
#define MAX_CONFLICTS 10

enum phase { P_QUEUED, P_IN_FLIGHT, P_RETRY_WAIT, P_CHECKING, P_CHECK_WAIT, P_ACCEPTED, P_DONE };

struct drain;

struct pod {
  struct drain *d;
  char *ns, *name, *uid, *key;
  char *rv;                  /* resourceVersion last seen: the precondition */
  int phase;                 /* enum phase */
  int state;                 /* final enum rs_drain_pod_state, set with P_DONE */
  bool gone;                 /* deleted or replaced, as the watch or a read says */
  bool deleting;             /* has a deletionTimestamp */
  long long deletion_s;      /* that timestamp, Unix seconds; -1 */
  long long next_at;         /* RETRY_WAIT / CHECK_WAIT: when (rs_now_ms) */
  unsigned attempts;
  unsigned transport_failures;
  unsigned conflicts;        /* 409s: the pod changed under the precondition */
  unsigned server_retries;   /* 5xx answers with Retry-After, retried */
  int check_reason;          /* why CHECKING: enum check_reason */
  char *pending_error;       /* the 5xx message, used if the check finds it alive */
  char *pending_check_err;   /* and its check_err, on the delete path */
  char *error;
  char *check_err;           /* delete path: the error as kubectl's CheckErr prints it */
};

struct drain {
  rs_kube_client_t *c;
  const struct rs_drain_opts *o;
  const char *node;
  bool eviction;
  const char *evict_version;  /* "policy/v1" or "policy/v1beta1" */
  struct pod *pods;
  size_t n;
  struct pod **index;         /* by key */
  size_t done;
  long long deadline;         /* rs_now_ms; 0: none */
  bool timed_out;
  /* the delete path: one DELETE at a time, in list order (kubectl) */
  size_t next_delete;         /* the pod whose DELETE goes out or is on its way */
  bool delete_failed;         /* the first failure ends it */
  /* the watch */
  char *field_selector;
  bool watch_running;
  long long watch_restart_at;
  unsigned watch_failures;
  rs_err_t watch_err;
};


static long long wall_s(void) { return (long long)time(NULL); }

/* ---- events ---- */

static void emit(struct drain *d, int type, const struct pod *p, bool to_stderr,
                 const char *message, long long retry_ms, const char *fmt, ...)
    RS_PRINTF(7, 8);
static void emit(struct drain *d, int type, const struct pod *p, bool to_stderr,
                 const char *message, long long retry_ms, const char *fmt, ...) {
  if (!d->o->on_event) return;
  char *text = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&text, fmt, ap) < 0) text = NULL;
  va_end(ap);
  struct rs_drain_event ev = {.type = type, .node = d->node, .ns = p ? p->ns : NULL,
                              .pod = p ? p->name : NULL, .uid = p ? p->uid : NULL,
                              .text = text ? text : "", .to_stderr = to_stderr,
                              .message = message, .retry_ms = retry_ms,
                              .attempt = p ? p->attempts : 0};
  d->o->on_event(d->o->ud, &ev);
  free(text);
}

static const char *verb(const struct drain *d) { return d->eviction ? "evicted" : "deleted"; }

/* ---- pods ---- */

static int key_cmp(const void *a, const void *b) {
  return strcmp((*(struct pod *const *)a)->key, (*(struct pod *const *)b)->key);
}

static struct pod *find(struct drain *d, const char *ns, const char *name) {
  if (!ns || !name || !d->index) return NULL;
  char buf[512];
  int l = snprintf(buf, sizeof buf, "%s/%s", ns, name);
  if (l < 0 || (size_t)l >= sizeof buf) return NULL;
  struct pod key = {.key = buf}, *kp = &key;
  struct pod **hit = bsearch(&kp, d->index, d->n, sizeof *d->index, key_cmp);
  return hit ? *hit : NULL;
}

static void finish(struct pod *p, int state) {
  if (p->phase == P_DONE) return;
  p->phase = P_DONE;
  p->state = state;
  p->d->done++;
}

static void fail_pod(struct pod *p, char *msg) {
  struct drain *d = p->d;
  free(p->error);
  p->error = msg;
  if (!p->check_err) p->check_err = TAKE_PTR(p->pending_check_err);
  finish(p, RS_DRAIN_POD_FAILED);
  emit(d, RS_DRAIN_EV_POD_FAILED, p, true, msg, 0, "%s", msg ? msg : "");
}

/* The pod is no longer there (or is another pod now). */
static void mark_gone(struct pod *p) {
  if (p->gone) return;
  p->gone = true;
  switch (p->phase) {
  case P_ACCEPTED:
    finish(p, RS_DRAIN_POD_GONE);
    emit(p->d, RS_DRAIN_EV_EVICTED, p, false, NULL, 0, "pod/%s %s", p->name, verb(p->d));
    break;
  case P_QUEUED:
  case P_RETRY_WAIT:
    /* someone else removed it: kubectl's next attempt would get a silent 404 */
    finish(p, RS_DRAIN_POD_GONE);
    break;
  default:
    break; /* an answer is on its way; it decides */
  }
}

static void observe(struct pod *p, const json_t *obj) {
  const json_t *meta = json_object_get(obj, "metadata");
  const char *uid = json_string_value(json_object_get(meta, "uid"));
  if (uid && p->uid && strcmp(uid, p->uid) != 0) {
    mark_gone(p);
    return;
  }
  const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
  if (rv && *rv && (!p->rv || strcmp(rv, p->rv) != 0)) {
    char *n = strdup(rv);
    if (n) {
      free(p->rv);
      p->rv = n;
    }
  }
  const char *ts = json_string_value(json_object_get(meta, "deletionTimestamp"));
  if (ts) {
    p->deleting = true;
    p->deletion_s = rs_rfc3339_seconds(ts);
  }
}

/* ---- requests ---- */

static int send_request(struct pod *p, rs_err_t *err);
static int on_request_done(void *ud, const struct rs_kube_result *res, rs_err_t *err);

/* The UID and resourceVersion preconditions make every request about this
 * very pod as last seen: a replay (libcurl resends a request whose reused
 * connection died, even a POST) or a retry after the pod changed gets a
 * 409 instead of evicting twice or evicting a replacement. */
static json_t *delete_options(const struct drain *d, const struct pod *p) {
  json_t *o = p->rv ? json_pack("{s:{s:s, s:s}}", "preconditions", "uid", p->uid, "resourceVersion", p->rv)
                    : json_pack("{s:{s:s}}", "preconditions", "uid", p->uid);
  if (!o) return NULL;
  if (d->o->grace_period >= 0 &&
      json_object_set_new(o, "gracePeriodSeconds", json_integer(d->o->grace_period)) < 0)
    goto fail;
  if (d->o->dry_run == RS_DRY_RUN_SERVER &&
      json_object_set_new(o, "dryRun", json_pack("[s]", "All")) < 0)
    goto fail;
  return o;
fail:
  json_decref(o);
  return NULL;
}

static int send_request(struct pod *p, rs_err_t *err) {
  struct drain *d = p->d;
  _cleanup_free_ char *ens = rs_kube_escape(p->ns);
  _cleanup_free_ char *ename = rs_kube_escape(p->name);
  json_auto_t *opts = delete_options(d, p);
  if (!ens || !ename || !opts) return rs_oom(err);
  _cleanup_free_ char *path = NULL;
  json_auto_t *body = NULL;
  struct rs_kube_req req = {.flags = RS_REQ_NO_RETRY};
  if (d->eviction) {
    path = rs_strdup_printf("/api/v1/namespaces/%s/pods/%s/eviction", ens, ename);
    body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:O}", "apiVersion", d->evict_version, "kind",
                     "Eviction", "metadata", "name", p->name, "namespace", p->ns,
                     "deleteOptions", opts);
    req.method = RS_HTTP_POST;
  } else {
    path = rs_strdup_printf("/api/v1/namespaces/%s/pods/%s", ens, ename);
    body = json_incref(opts);
    req.method = RS_HTTP_DELETE;
  }
  if (!path || !body) return rs_oom(err);
  req.path = path;
  req.body = body;
  p->attempts++;
  if (d->eviction)
    emit(d, RS_DRAIN_EV_EVICTING, p, false, NULL, 0, "evicting pod %s/%s%s", p->ns, p->name,
         d->o->dry_run == RS_DRY_RUN_SERVER ? " (server dry run)" : "");
  if (rs_kube_async(d->c, &req, on_request_done, p, err) < 0) return -1;
  p->phase = P_IN_FLIGHT;
  return 0;
}

/* The server's retry hint: the Retry-After header (what client-go reads;
 * the only hint a plain-text 429/503 carries), else the Status's
 * details.retryAfterSeconds.  0: none. */
static long long retry_after_ms(const struct rs_kube_result *res) {
  if (!res) return 0;
  if (res->retry_after_ms > 0) return res->retry_after_ms;
  json_t *ra = json_object_get(json_object_get(res->body, "details"), "retryAfterSeconds");
  json_int_t s = json_is_integer(ra) ? json_integer_value(ra) : 0;
  return s > 0 && s < 3600 ? (long long)s * 1000 : 0;
}

static bool has_cause(const struct rs_kube_result *res, const char *type) {
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(json_object_get(res ? res->body : NULL, "details"), "causes"), i, c) {
    const char *t = json_string_value(json_object_get(c, "type"));
    if (t && strcmp(t, type) == 0) return true;
  }
  return false;
}

static void schedule_retry(struct pod *p, long long delay_ms, const char *why_fmt, const char *msg) {
  struct drain *d = p->d;
  char dur[64];
  rs_drain_duration_text(delay_ms, dur, sizeof dur);
  p->phase = P_RETRY_WAIT;
  p->next_at = rs_now_ms() + delay_ms;
  if (!d->eviction)
    emit(d, RS_DRAIN_EV_RETRY, p, true, msg, delay_ms,
         "error when deleting pods/\"%s\" -n \"%s\" (will retry after %s): %s", p->name, p->ns, dur,
         msg);
  else if (strcmp(why_fmt, "namespace") == 0)
    emit(d, RS_DRAIN_EV_RETRY, p, true, msg, delay_ms,
         "error when evicting pod \"%s\" from terminating namespace \"%s\" (will retry after %s): %s",
         p->name, p->ns, dur, msg);
  else
    emit(d, RS_DRAIN_EV_RETRY, p, true, msg, delay_ms,
         "error when evicting pods/\"%s\" -n \"%s\" (will retry after %s): %s", p->name, p->ns, dur,
         msg);
}

/* kubectl's delete path returns the DELETE's error as it is: its text is
 * the API's message ("pods \"p\" is forbidden: ..."). */
static char *delete_error_text(const rs_err_t *e) {
  return rs_strdup_printf("%s", e->msg ? e->msg : "unknown error");
}

/* ... which kubectl's CheckErr (cmd/util/helpers.go) prints last: an
 * Invalid Status from its details and causes, another Status as "Error
 * from server (<reason>): <message>", anything else as "error: <text>". */
static char *check_err_text(const struct rs_kube_result *res, const rs_err_t *e) {
  const char *msg = e->msg ? e->msg : "";
  if (e->kind != RS_E_API)
    return strncmp(msg, "error: ", 7) == 0 ? strdup(msg) : rs_strdup_printf("error: %s", msg);
  const char *reason = e->reason && *e->reason ? e->reason : NULL;
  if (reason && strcmp(reason, "Unauthorized") == 0)
    return rs_strdup_printf("error: You must be logged in to the server (%s)", msg);
  if (!reason || strcmp(reason, "Invalid") != 0)
    return reason ? rs_strdup_printf("Error from server (%s): %s", reason, msg)
                  : rs_strdup_printf("Error from server: %s", msg);
  const json_t *details = json_object_get(res ? res->body : NULL, "details");
  if (!json_is_object(details))
    return *msg ? rs_strdup_printf("The request is invalid: %s", msg) : strdup("The request is invalid");
  const char *kind = json_string_value(json_object_get(details, "kind"));
  const char *name = json_string_value(json_object_get(details, "name"));
  const json_t *causes = json_object_get(details, "causes");
  size_t ncauses = json_array_size(causes);
  rs_buf_t b = RS_BUF_INIT(0);
  if ((kind && *kind) || (name && *name))
    rs_buf_printf(&b, NULL, "The %s \"%s\" is invalid", kind ? kind : "", name ? name : "");
  else if (*msg && ncauses == 0)
    rs_buf_printf(&b, NULL, "The request is invalid: %s", msg);
  else
    rs_buf_printf(&b, NULL, "The request is invalid");
  /* each cause as "<field>: <message>": one after ": ", several as a list */
  if (ncauses) rs_buf_printf(&b, NULL, ": ");
  size_t i;
  const json_t *c;
  json_array_foreach(causes, i, c) {
    const char *f = json_string_value(json_object_get(c, "field"));
    const char *m = json_string_value(json_object_get(c, "message"));
    rs_buf_printf(&b, NULL, "%s%s: %s", ncauses > 1 ? "\n* " : "", f ? f : "", m ? m : "");
  }
  return rs_buf_steal(&b, NULL);
}

static char *pod_error_text(const struct pod *p, const rs_err_t *e) {
  if (!p->d->eviction) return delete_error_text(e);
  return rs_strdup_printf("error when evicting pods/\"%s\" -n \"%s\": %s", p->name, p->ns,
                          e->msg ? e->msg : "unknown error");
}

static void accepted(struct pod *p) {
  struct drain *d = p->d;
  if (d->o->dry_run == RS_DRY_RUN_SERVER) {
    finish(p, RS_DRAIN_POD_SKIPPED);
    return;
  }
  p->phase = P_ACCEPTED;
  if (p->gone) {
    p->gone = false;
    mark_gone(p);
  }
}

static int start_check(struct pod *p, rs_err_t *err);

static int request_done(struct pod *p, const struct rs_kube_result *res, rs_err_t *err) {
  struct drain *d = p->d;
  if (p->phase != P_IN_FLIGHT) return 0; /* the drain stopped waiting for it */
  long status = res ? res->status : 0;
  if (err->kind == RS_E_NONE) {
    accepted(p);
    return 0;
  }
  if (rs_kube_is_not_found(err)) {
    /* already gone: kubectl says nothing either */
    finish(p, RS_DRAIN_POD_GONE);
    rs_err_clear(err);
    return 0;
  }
  if (rs_kube_is_conflict(err)) {
    /* a precondition failed: replaced, already being evicted (a replay), or
     * just updated; reading it tells which */
    p->check_reason = CHECK_CONFLICT;
    p->conflicts++;
    free(p->pending_error);
    p->pending_error = pod_error_text(p, err);
    free(p->pending_check_err);
    p->pending_check_err = d->eviction ? NULL : check_err_text(res, err);
    rs_err_clear(err);
    return start_check(p, err);
  }
  if (err->kind == RS_E_API && d->eviction && status == 429) {
    long long ra = retry_after_ms(res);
    schedule_retry(p, ra ? ra : (d->o->retry_delay_ms > 0 ? d->o->retry_delay_ms : DEFAULT_RETRY_MS),
                   "pods", err->msg ? err->msg : "Too Many Requests");
    rs_err_clear(err);
    return 0;
  }
  if (err->kind == RS_E_API && d->eviction && status == 403 && has_cause(res, "NamespaceTerminating")) {
    if (p->deleting) accepted(p);
    else
      schedule_retry(p, d->o->retry_delay_ms > 0 ? d->o->retry_delay_ms : DEFAULT_RETRY_MS,
                     "namespace", err->msg ? err->msg : "");
    rs_err_clear(err);
    return 0;
  }
  if (err->kind == RS_E_API && (status >= 500 || status == 429) && retry_after_ms(res) &&
      p->server_retries < MAX_SERVER_RETRIES) {
    /* the server says it did nothing and when to come back (client-go
     * retries these up to 10 times, whatever the verb) */
    p->server_retries++;
    schedule_retry(p, retry_after_ms(res), "pods", err->msg ? err->msg : "");
    rs_err_clear(err);
    return 0;
  }
  bool transport = err->kind == RS_E_TRANSPORT || err->kind == RS_E_TIMEOUT;
  if (transport || (err->kind == RS_E_API && status >= 500)) {
    /* The request may have been carried out: read the pod before anything
     * else is sent. */
    p->check_reason = transport ? CHECK_TRANSPORT : CHECK_5XX;
    free(p->pending_error);
    p->pending_error = pod_error_text(p, err);
    free(p->pending_check_err);
    p->pending_check_err = d->eviction ? NULL : check_err_text(res, err);
    if (transport) p->transport_failures++;
    rs_err_clear(err);
    return start_check(p, err);
  }
  if (!d->eviction) {
    free(p->check_err);
    p->check_err = check_err_text(res, err);
  }
  fail_pod(p, pod_error_text(p, err));
  rs_err_clear(err);
  return 0;
}

static int check_done(struct pod *p, const struct rs_kube_result *res, rs_err_t *err) {
  struct drain *d = p->d;
  if (p->phase != P_CHECKING) return 0;
  if (err->kind == RS_E_NONE) {
    const char *uid = json_string_value(json_object_get(json_object_get(res->body, "metadata"), "uid"));
    observe(p, res->body);
    if (p->gone || (uid && p->uid && strcmp(uid, p->uid) != 0)) {
      /* replaced: ours is gone, most likely by this eviction */
      p->phase = P_ACCEPTED;
      p->gone = false;
      mark_gone(p);
      return 0;
    }
    if (p->deleting) {
      accepted(p);
      return 0;
    }
    /* alive and not deleting: the request did not happen */
    if (p->check_reason == CHECK_5XX) {
      fail_pod(p, TAKE_PTR(p->pending_error));
      return 0;
    }
    if (p->check_reason == CHECK_CONFLICT) {
      /* it only changed: ask again with what was just read */
      if (p->conflicts >= MAX_CONFLICTS) {
        fail_pod(p, TAKE_PTR(p->pending_error));
        return 0;
      }
      return send_request(p, err);
    }
    if (p->transport_failures >= MAX_TRANSPORT_FAILURES) {
      fail_pod(p, TAKE_PTR(p->pending_error));
      return 0;
    }
    long long delay = 500LL << (p->transport_failures < 4 ? p->transport_failures : 4);
    const char *msg = p->pending_error ? strstr(p->pending_error, "\": ") : NULL;
    schedule_retry(p, delay, "pods", msg ? msg + 3 : "connection failed");
    return 0;
  }
  if (rs_kube_is_not_found(err)) {
    rs_err_clear(err);
    p->phase = P_ACCEPTED;
    if (d->o->dry_run == RS_DRY_RUN_SERVER) {
      finish(p, RS_DRAIN_POD_GONE);
      return 0;
    }
    p->gone = false;
    mark_gone(p);
    return 0;
  }
  /* could not read it either: ask again a little later */
  p->transport_failures++;
  rs_err_clear(err);
  if (p->transport_failures >= MAX_TRANSPORT_FAILURES) {
    fail_pod(p, TAKE_PTR(p->pending_error));
    return 0;
  }
  p->phase = P_CHECK_WAIT;
  p->next_at = rs_now_ms() + 1000;
  return 0;
}

/* kubectl's delete path sends one DELETE at a time, in list order, and
 * returns the first error other than NotFound: the pods after it are left
 * alone, and nothing waits for the ones already deleted.  Here the next
 * DELETE goes out once the previous one was accepted or its pod was gone
 * (a reset or 5xx is resolved by reading the pod first, as on the eviction
 * path), and the first pod that fails ends the drain. */
static int delete_next(struct drain *d, rs_err_t *err) {
  if (d->eviction || d->delete_failed) return 0;
  while (d->next_delete < d->n) {
    struct pod *p = &d->pods[d->next_delete];
    if (p->phase == P_QUEUED) return send_request(p, err);
    if (p->phase == P_DONE && p->state == RS_DRAIN_POD_FAILED) {
      d->delete_failed = true;
      return 0;
    }
    if (p->phase != P_DONE && p->phase != P_ACCEPTED) return 0; /* still on its way */
    d->next_delete++;
  }
  return 0;
}

static int on_request_done(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct pod *p = ud;
  if (request_done(p, res, err) < 0) return -1;
  return delete_next(p->d, err);
}

static int on_check_done(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct pod *p = ud;
  if (check_done(p, res, err) < 0) return -1;
  return delete_next(p->d, err);
}

static int start_check(struct pod *p, rs_err_t *err) {
  _cleanup_free_ char *ens = rs_kube_escape(p->ns);
  _cleanup_free_ char *ename = rs_kube_escape(p->name);
  _cleanup_free_ char *path = ens && ename ? rs_strdup_printf("/api/v1/namespaces/%s/pods/%s", ens, ename) : NULL;
  if (!path) return rs_oom(err);
  struct rs_kube_req req = {.method = RS_HTTP_GET, .path = path};
  p->phase = P_CHECKING;
  return rs_kube_async(p->d->c, &req, on_check_done, p, err);
}

/* ---- the watch ---- */

static int on_watch_event(void *ud, const char *type, json_t *obj, rs_err_t *err) {
  struct drain *d = ud;
  (void)err;
  const json_t *meta = json_object_get(obj, "metadata");
  struct pod *p = find(d, json_string_value(json_object_get(meta, "namespace")),
                       json_string_value(json_object_get(meta, "name")));
  if (!p || p->phase == P_DONE) return 0;
  if (strcmp(type, "DELETED") == 0) {
    const char *uid = json_string_value(json_object_get(meta, "uid"));
    if (!uid || !p->uid || strcmp(uid, p->uid) == 0) mark_gone(p);
    else observe(p, obj);
    return 0;
  }
  if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) observe(p, obj);
  return 0;
}

/* A fresh list: pods missing from it (or with another UID) are gone. */
struct relist {
  struct drain *d;
  unsigned char *seen;
};

static int on_relist_item(void *ud, json_t *item, rs_err_t *err) {
  struct relist *r = ud;
  (void)err;
  const json_t *meta = json_object_get(item, "metadata");
  struct pod *p = find(r->d, json_string_value(json_object_get(meta, "namespace")),
                       json_string_value(json_object_get(meta, "name")));
  if (!p) return 0;
  const char *uid = json_string_value(json_object_get(meta, "uid"));
  if (uid && p->uid && strcmp(uid, p->uid) == 0) r->seen[p - r->d->pods] = 1;
  observe(p, item);
  return 0;
}

static int relist(struct drain *d, char **ret_rv, rs_err_t *err) {
  _cleanup_free_ unsigned char *seen = calloc(d->n ? d->n : 1, 1);
  if (!seen) return rs_oom(err);
  struct relist r = {d, seen};
  struct rs_kube_list_opts lo = {.field_selector = d->field_selector, .limit = d->o->chunk_size};
  if (rs_kube_list(d->c, "/api/v1/pods", &lo, on_relist_item, &r, ret_rv, err) < 0) return -1;
  for (size_t i = 0; i < d->n; i++)
    if (!seen[i] && d->pods[i].phase != P_DONE) mark_gone(&d->pods[i]);
  return 0;
}

static int on_watch_gone(void *ud, char **ret_rv, rs_err_t *err) {
  return relist(ud, ret_rv, err);
}

static int on_watch_end(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct drain *d = ud;
  (void)res;
  d->watch_running = false;
  if (err->kind == RS_E_NONE) return 0;
  /* keep going: the tick lists again and starts a new watch */
  d->watch_failures++;
  long long back = 500LL * d->watch_failures;
  d->watch_restart_at = rs_now_ms() + (back > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS : back);
  rs_err_move(&d->watch_err, err);
  return 0;
}

static int watch_start(struct drain *d, const char *rv, rs_err_t *err) {
  /* metadata is all the wait needs (UID, deletionTimestamp): half the
   * bytes of whole pods to read and parse */
  struct rs_kube_watch_opts wo = {.field_selector = d->field_selector, .resource_version = rv,
                                  .accept = RS_ACCEPT_METADATA, .on_event = on_watch_event, .on_gone = on_watch_gone,
                                  .on_end = on_watch_end, .ud = d};
  if (rs_kube_watch_start(d->c, "/api/v1/pods", &wo, err) < 0) return -1;
  d->watch_running = true;
  return 0;
}

/* ---- the loop ---- */

static void time_out(struct drain *d) {
  char dur[64];
  rs_drain_duration_text(d->o->timeout_ms, dur, sizeof dur);
  d->timed_out = true;
  for (size_t i = 0; i < d->n; i++) {
    struct pod *p = &d->pods[i];
    if (p->phase == P_DONE) continue;
    char *msg;
    if (!d->eviction)
      msg = strdup("context deadline exceeded");
    else if (p->phase == P_ACCEPTED)
      msg = rs_strdup_printf("error when waiting for pod \"%s\" in namespace \"%s\" to terminate: "
                             "context deadline exceeded", p->name, p->ns);
    else
      msg = rs_strdup_printf("error when evicting pods/\"%s\" -n \"%s\": global timeout reached: %s",
                             p->name, p->ns, dur);
    free(p->error);
    p->error = msg;
    p->phase = P_DONE;
    p->state = RS_DRAIN_POD_FAILED;
    d->done++;
    emit(d, RS_DRAIN_EV_POD_FAILED, p, true, msg, 0, "%s", msg ? msg : "");
  }
}

static int tick(void *ud, rs_err_t *err) {
  struct drain *d = ud;
  long long now = rs_now_ms();
  if (d->deadline && now >= d->deadline) {
    time_out(d);
    return 1;
  }
  long skip = d->o->skip_wait_for_delete_timeout;
  bool only_waiting = true; /* every pod evicted (or done): nothing left to send */
  for (size_t i = 0; i < d->n; i++) {
    struct pod *p = &d->pods[i];
    if (p->phase != P_ACCEPTED && p->phase != P_DONE) only_waiting = false;
    if (p->phase == P_RETRY_WAIT && now >= p->next_at) {
      if (send_request(p, err) < 0) return -1;
    } else if (p->phase == P_CHECK_WAIT && now >= p->next_at) {
      if (start_check(p, err) < 0) return -1;
    } else if (p->phase == P_ACCEPTED && skip > 0 && p->deleting && p->deletion_s >= 0 &&
               wall_s() - p->deletion_s > skip) {
      finish(p, RS_DRAIN_POD_SKIPPED);
      emit(d, RS_DRAIN_EV_SKIPPED, p, false, NULL, 0,
           "pod \"%s\" has DeletionTimestamp older than %ld seconds, skipping", p->name, skip);
    }
  }
  if (!d->eviction) {
    if (delete_next(d, err) < 0) return -1;
    if (d->delete_failed) return 1;
  }
  if (d->done == d->n) return 1;
  rs_kube_set_pace(d->c, only_waiting ? WAIT_PACE_MS : 0);
  if (!d->watch_running && d->watch_restart_at && now >= d->watch_restart_at) {
    /* last: the list runs the loop, which may call back into the pods */
    d->watch_restart_at = 0;
    _cleanup_free_ char *rv = NULL;
    rs_err_t e = RS_ERR_INIT;
    if (relist(d, &rv, &e) < 0 || watch_start(d, rv, &e) < 0) {
      if (e.kind == RS_E_INTERRUPTED) {
        rs_err_move(err, &e);
        return -1;
      }
      d->watch_failures++;
      d->watch_restart_at = rs_now_ms() + WATCH_BACKOFF_MAX_MS;
      rs_err_move(&d->watch_err, &e);
    } else {
      rs_err_clear(&d->watch_err);
    }
    if (d->done == d->n) return 1;
  }
  return 0;
}

/* ---- listing and filtering ---- */

struct listing {
  json_t *items;  /* array */
};

static int on_list_item(void *ud, json_t *item, rs_err_t *err) {
  struct listing *l = ud;
  if (json_array_size(l->items) >= MAX_PODS)
    return rs_fail(err, RS_E_LIMIT, 0, "more than %d pods on the node", MAX_PODS);
  return json_array_append(l->items, item) < 0 ? rs_oom(err) : 0;
}

struct ds_cache {
  char *key;
  int state;
  char *message;
};

static int daemonset_state(struct drain *d, struct ds_cache **cache, size_t *n, const char *ns,
                           const char *name, const struct ds_cache **ret, rs_err_t *err) {
  _cleanup_free_ char *key = rs_strdup_printf("%s/%s", ns, name);
  if (!key) return rs_oom(err);
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*cache)[i].key, key) == 0) {
      *ret = &(*cache)[i];
      return 0;
    }
  struct ds_cache *nc = realloc(*cache, (*n + 1) * sizeof *nc);
  if (!nc) return rs_oom(err);
  *cache = nc;
  nc[*n] = (struct ds_cache){TAKE_PTR(key), RS_DRAIN_DS_FOUND, NULL};
  (*n)++;
  _cleanup_free_ char *ens = rs_kube_escape(ns), *ename = rs_kube_escape(name);
  _cleanup_free_ char *path = ens && ename ? rs_strdup_printf("/apis/apps/v1/namespaces/%s/daemonsets/%s", ens, ename) : NULL;
  if (!path) return rs_oom(err);
  rs_err_t e = RS_ERR_INIT;
  if (rs_kube_get(d->c, path, NULL, &e) < 0) {
    if (e.kind == RS_E_INTERRUPTED) {
      rs_err_move(err, &e);
      return -1;
    }
    nc[*n - 1].state = rs_kube_is_not_found(&e) ? RS_DRAIN_DS_NOT_FOUND : RS_DRAIN_DS_ERROR;
    nc[*n - 1].message = strdup(e.msg ? e.msg : "unexpected error");
    rs_err_clear(&e);
  }
  *ret = &nc[*n - 1];
  return 0;
}

static int add_pod(struct drain *d, const json_t *item, rs_err_t *err) {
  const json_t *meta = json_object_get(item, "metadata");
  const char *ns = json_string_value(json_object_get(meta, "namespace"));
  const char *name = json_string_value(json_object_get(meta, "name"));
  const char *uid = json_string_value(json_object_get(meta, "uid"));
  if (!ns || !name) return rs_fail(err, RS_E_INPUT, 0, "a pod without metadata.namespace or name");
  struct pod *p = &d->pods[d->n];
  *p = (struct pod){.d = d, .deletion_s = -1};
  p->ns = strdup(ns);
  p->name = strdup(name);
  p->uid = strdup(uid ? uid : "");
  p->key = rs_strdup_printf("%s/%s", ns, name);
  d->n++;
  if (!p->ns || !p->name || !p->uid || !p->key) return rs_oom(err);
  observe(p, item);
  return 0;
}

static void pods_free(struct drain *d) {
  for (size_t i = 0; i < d->n; i++) {
    struct pod *p = &d->pods[i];
    free(p->ns);
    free(p->name);
    free(p->uid);
    free(p->key);
    free(p->rv);
    free(p->pending_error);
    free(p->pending_check_err);
    free(p->error);
    free(p->check_err);
  }
  free(d->pods);
  free(d->index);
  d->pods = NULL;
  d->index = NULL;
  d->n = 0;
}

/* Run the filters; on success d->pods holds the pods to evict. */
static int select_pods(struct drain *d, json_t *items, struct rs_drain_report *r, rs_err_t *err) {
  struct rs_drain_groups *warn = rs_drain_groups_new(), *errs = rs_drain_groups_new();
  struct ds_cache *cache = NULL;
  size_t ncache = 0;
  char *text = NULL;
  int rc = -1;
  if (!warn || !errs) {
    rs_oom(err);
    goto out;
  }
  d->pods = calloc(json_array_size(items) + 1, sizeof *d->pods);
  if (!d->pods) {
    rs_oom(err);
    goto out;
  }
  long long now = wall_s();
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item) {
    const char *ds = rs_drain_pod_daemonset(item);
    const struct ds_cache *dc = NULL;
    const json_t *meta = json_object_get(item, "metadata");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    if (ds && ns && daemonset_state(d, &cache, &ncache, ns, ds, &dc, err) < 0) goto out;
    struct rs_drain_filter_result fr =
        rs_drain_filter_pod(item, d->o, dc ? dc->state : RS_DRAIN_DS_FOUND, dc ? dc->message : NULL, now);
    if ((fr.verdict == RS_DRAIN_DELETE_WARN || fr.verdict == RS_DRAIN_SKIP_WARN) &&
        rs_drain_groups_add(warn, fr.message, ns, name, err) < 0)
      goto out;
    if (fr.verdict == RS_DRAIN_ERROR && rs_drain_groups_add(errs, fr.message, ns, name, err) < 0)
      goto out;
    if ((fr.verdict == RS_DRAIN_DELETE || fr.verdict == RS_DRAIN_DELETE_WARN) && add_pod(d, item, err) < 0)
      goto out;
  }
  if (rs_drain_groups_count(errs)) {
    r->refused = true;
    if (rs_drain_groups_errors(errs, &r->errors, err) < 0) goto out;
    text = rs_drain_aggregate_text(r->errors);
    rc = rs_fail(err, RS_E_INPUT, 0, "%s", text ? text : "cannot drain");
    goto out;
  }
  text = rs_drain_groups_warnings(warn);
  if (text) emit(d, RS_DRAIN_EV_WARNING, NULL, true, text, 0, "%s", text);
  d->index = calloc(d->n + 1, sizeof *d->index);
  if (!d->index) {
    rs_oom(err);
    goto out;
  }
  for (size_t k = 0; k < d->n; k++) d->index[k] = &d->pods[k];
  qsort(d->index, d->n, sizeof *d->index, key_cmp);
  rc = 0;
out:
  for (size_t k = 0; k < ncache; k++) {
    free(cache[k].key);
    free(cache[k].message);
  }
  free(cache);
  free(text);
  rs_drain_groups_free(warn);
  rs_drain_groups_free(errs);
  return rc;
}

/* kubectl's CheckEvictionSupport: pods/eviction in /api/v1. */
static int eviction_support(struct drain *d, rs_err_t *err) {
  json_auto_t *v1 = NULL;
  if (rs_kube_get(d->c, "/api/v1", &v1, err) < 0) return -1;
  size_t i;
  json_t *res;
  d->evict_version = NULL;
  json_array_foreach(json_object_get(v1, "resources"), i, res) {
    const char *name = json_string_value(json_object_get(res, "name"));
    const char *kind = json_string_value(json_object_get(res, "kind"));
    const char *group = json_string_value(json_object_get(res, "group"));
    const char *version = json_string_value(json_object_get(res, "version"));
    if (!name || !kind || strcmp(name, "pods/eviction") != 0 || strcmp(kind, "Eviction") != 0 ||
        !group || !*group || !version || !*version)
      continue;
    d->evict_version = strcmp(group, "policy") == 0 && strcmp(version, "v1") == 0
                           ? "policy/v1" : "policy/v1beta1";
    break;
  }
  d->eviction = d->evict_version != NULL;
  return 0;
}

static int fill_report(struct drain *d, struct rs_drain_report *r, rs_err_t *err) {
  r->eviction = d->eviction;
  r->timed_out = d->timed_out;
  r->pods = calloc(d->n + 1, sizeof *r->pods);
  if (!r->pods) return rs_oom(err);
  for (size_t i = 0; i < d->n; i++) {
    struct pod *p = &d->pods[i];
    struct rs_drain_pod *o = &r->pods[r->npods++];
    o->ns = TAKE_PTR(p->ns);
    o->name = TAKE_PTR(p->name);
    o->uid = TAKE_PTR(p->uid);
    o->attempts = p->attempts;
    o->error = TAKE_PTR(p->error);
    o->check_err = TAKE_PTR(p->check_err);
    if (p->phase == P_DONE) o->state = p->state;
    else if (p->phase == P_ACCEPTED) o->state = RS_DRAIN_POD_EVICTING;
    else if (p->phase == P_IN_FLIGHT || p->phase == P_CHECKING || p->phase == P_CHECK_WAIT)
      o->state = p->deleting ? RS_DRAIN_POD_EVICTING : RS_DRAIN_POD_REQUESTED;
    else o->state = RS_DRAIN_POD_PENDING;
    if (o->error && rs_strv_push(&r->errors, o->error, err) < 0) return -1;
  }
  return 0;
}

int rs_drain_pods(rs_kube_client_t *c, const char *node, const struct rs_drain_opts *o,
                  struct rs_drain_report *ret, rs_err_t *err) {
  static const struct rs_drain_opts defaults = RS_DRAIN_OPTS_INIT;
  if (!o) o = &defaults;
  *ret = (struct rs_drain_report){0};
  if (o->pod_selector && *o->pod_selector && !rs_label_selector_valid(o->pod_selector))
    return rs_fail(err, RS_E_USAGE, 0, "--pod-selector=<pod_selector> must be a valid label selector");
  struct drain d = {.c = c, .o = o, .node = node};
  json_auto_t *items = json_array();
  _cleanup_free_ char *rv = NULL;
  struct rs_drain_report r = {0};
  int rc = -1;
  r.node = strdup(node);
  r.errors = rs_strv_new();
  d.field_selector = rs_strdup_printf("spec.nodeName=%s", node);
  if (!items || !r.node || !r.errors || !d.field_selector) {
    rs_oom(err);
    goto out;
  }
  struct listing l = {items};
  struct rs_kube_list_opts lo = {.label_selector = o->pod_selector && *o->pod_selector ? o->pod_selector : NULL,
                                 .field_selector = d.field_selector, .limit = o->chunk_size};
  if (rs_kube_list(c, "/api/v1/pods", &lo, on_list_item, &l, &rv, err) < 0) goto out;
  if (select_pods(&d, items, &r, err) < 0) goto report;
  if (o->dry_run == RS_DRY_RUN_CLIENT) {
    for (size_t i = 0; i < d.n; i++) {
      emit(&d, RS_DRAIN_EV_EVICTING, &d.pods[i], false, NULL, 0, "evicting pod %s/%s (dry run)",
           d.pods[i].ns, d.pods[i].name);
      finish(&d.pods[i], RS_DRAIN_POD_SKIPPED);
    }
    rc = 0;
    goto report;
  }
  if (d.n == 0) {
    rc = 0;
    goto report;
  }
  if (o->disable_eviction) d.eviction = false;
  else if (eviction_support(&d, err) < 0) goto report;
  if (o->dry_run != RS_DRY_RUN_SERVER && watch_start(&d, rv, err) < 0) goto report;
  if (o->timeout_ms > 0) d.deadline = rs_now_ms() + o->timeout_ms;
  if (!d.eviction) {
    if (delete_next(&d, err) < 0) {
      rs_kube_cancel_all(c);
      goto report;
    }
  } else {
    for (size_t i = 0; i < d.n; i++)
      if (d.pods[i].phase == P_QUEUED && send_request(&d.pods[i], err) < 0) {
        rs_kube_cancel_all(c);
        goto report;
      }
  }
  struct rs_kube_run_opts ro = {.tick = tick, .tick_ud = &d, .tick_ms = TICK_MS, .until_stopped = true};
  long long pace = rs_kube_set_pace(c, 0);
  int run = d.done == d.n ? 0 : rs_kube_run(c, &ro, err);
  rs_kube_set_pace(c, pace);
  rs_kube_cancel_all(c);
  if (run < 0) {
    if (err->kind == RS_E_INTERRUPTED) r.interrupted = true;
    goto report;
  }
  if (fill_report(&d, &r, err) < 0) goto out;
  if (r.errors[0]) {
    _cleanup_free_ char *agg = rs_drain_aggregate_text(r.errors);
    rs_fail(err, d.timed_out ? RS_E_TIMEOUT : RS_E_API, 0, "%s", agg ? agg : "drain failed");
    goto out;
  }
  rc = 0;
  goto out;
report:
  if (d.pods && fill_report(&d, &r, rc < 0 ? NULL : err) < 0 && rc == 0) rc = -1;
out:
  pods_free(&d);
  free(d.field_selector);
  rs_err_clear(&d.watch_err);
  *ret = r;
  return rc;
}

int rs_drain_node(rs_kube_client_t *c, const char *node, const struct rs_drain_opts *o,
                  struct rs_drain_report *ret, rs_err_t *err) {
  static const struct rs_drain_opts defaults = RS_DRAIN_OPTS_INIT;
  if (!o) o = &defaults;
  *ret = (struct rs_drain_report){0};
  json_auto_t *n = NULL;
  if (rs_node_get(c, node, &n, err) < 0) return -1;
  rs_err_t e = RS_ERR_INIT;
  if (rs_drain_cordon(c, node, true, o, &e) < 0) {
    if (e.kind == RS_E_INTERRUPTED) {
      rs_err_move(err, &e);
      return -1;
    }
    if (o->on_event) {
      _cleanup_free_ char *text = rs_strdup_printf("error: unable to cordon node \"%s\": %s", node,
                                                   e.msg ? e.msg : "unknown error");
      struct rs_drain_event ev = {.type = RS_DRAIN_EV_CORDON_ERROR, .node = node,
                                  .text = text ? text : "", .to_stderr = true, .message = e.msg};
      o->on_event(o->ud, &ev);
    }
    rs_err_clear(&e);
  }
  if (rs_drain_pods(c, node, o, ret, err) < 0) return -1;
  if (o->on_event) {
    const char *sfx = o->dry_run == RS_DRY_RUN_CLIENT ? " (dry run)"
                      : o->dry_run == RS_DRY_RUN_SERVER ? " (server dry run)" : "";
    _cleanup_free_ char *text = rs_strdup_printf("node/%s drained%s", node, sfx);
    struct rs_drain_event ev = {.type = RS_DRAIN_EV_DRAINED, .node = node, .text = text ? text : ""};
    o->on_event(o->ud, &ev);
  }
  return 0;
}

void rs_drain_report_clear(struct rs_drain_report *r) {
  if (!r) return;
  for (size_t i = 0; i < r->npods; i++) {
    free(r->pods[i].ns);
    free(r->pods[i].name);
    free(r->pods[i].uid);
    free(r->pods[i].error);
    free(r->pods[i].check_err);
  }
  free(r->pods);
  free(r->node);
  rs_strv_free(r->errors);
  *r = (struct rs_drain_report){0};
}

size_t rs_drain_report_pending(const struct rs_drain_report *r) {
  size_t n = 0;
  for (size_t i = 0; i < r->npods; i++)
    if (r->pods[i].state != RS_DRAIN_POD_GONE && r->pods[i].state != RS_DRAIN_POD_SKIPPED) n++;
  return n;
}
