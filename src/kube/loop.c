/* The event loop of the API client: one curl multi handle for every
 * transfer (so requests share kept-alive connections and HTTP/2 streams).
 * A turn starts what is due, lets curl read and write only when it has
 * something to do, collects what curl finished, and runs the callbacks of
 * finished transfers and stream lines -- outside libcurl, one at a time,
 * rescanning after each since a callback may change the list (nested
 * synchronous calls, new requests, cancellations).  It knows no kind of
 * transfer: their behaviour comes through x->hooks. */
#include <poll.h>
#include <string.h>

#include "client_int.h"
#include "common/clock.h"
#include "common/cleanup.h"

#define PACE_MIN_RUNNING 16  /* transfers in flight before reads are paced */
#define PACE_MAX_AUTO_MS 25
#define HOLD_CHECK_MS 20     /* see perform() */

int loop_init(rs_kube_client_t *c, rs_err_t *err) {
  c->multi = curl_multi_init();
  if (!c->multi) return rs_fail(err, RS_E_TRANSPORT, 0, "curl_multi_init failed");
  curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  /* As many streams on the one connection as transfers may be in flight.
   * kube-apiserver allows 100 per connection (SETTINGS_MAX_CONCURRENT_STREAMS,
   * the default max_inflight): past that libcurl opens more connections,
   * up to the host limit. */
  curl_multi_setopt(c->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)c->o.max_inflight);
  curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
  curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 16L);
  return 0;
}

void loop_fini(rs_kube_client_t *c) {
  while (c->head) {
    struct xfer *x = c->head;
    c->head = x->next;
    if (x->easy && x->state == S_RUNNING) curl_multi_remove_handle(c->multi, x->easy);
    x->prev = x->next = NULL;
    x->c = NULL;
    if (!x->sync) xfer_free(x);
  }
  if (c->multi) curl_multi_cleanup(c->multi);
  c->multi = NULL;
}

/* ---- the list of transfers ---- */

void loop_add(rs_kube_client_t *c, struct xfer *x) {
  x->next = c->head;
  x->prev = NULL;
  if (c->head) c->head->prev = x;
  c->head = x;
}

void loop_add_async(rs_kube_client_t *c, struct xfer *x) {
  loop_add(c, x);
  c->async_count++;
}

static void list_del(rs_kube_client_t *c, struct xfer *x) {
  if (x->prev) x->prev->next = x->next;
  else if (c->head == x) c->head = x->next;
  if (x->next) x->next->prev = x->prev;
  x->prev = x->next = NULL;
}

void loop_detach(rs_kube_client_t *c, struct xfer *x) {
  if (x->state == S_RUNNING) {
    curl_multi_remove_handle(c->multi, x->easy);
    c->running--;
  }
  if (x->state != S_DONE) list_del(c, x);
  x->state = S_DONE;
}

/* ---- starting ---- */

/* A transfer that could not even start completes with this error. */
static void xfer_fail_now(struct xfer *x, rs_err_t *e) {
  rs_err_move(&x->err, e);
  x->state = S_FINISHED;
  x->code = CURLE_ABORTED_BY_CALLBACK;
}

/* Start what is due (asynchronous transfers up to max_inflight). */
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

/* ---- callbacks ---- */

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
    rs_err_t e = RS_ERR_INIT;
    x->busy = true;
    int r = x->hooks->line(x, line, l, &e);
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

/* Completion of a transfer: its end hook runs, async ones are freed.
 * Returns -1 when the user's callback asked the loop to stop (err filled). */
static int complete(rs_kube_client_t *c, struct xfer *x, rs_err_t *err) {
  x->state = S_DONE;
  list_del(c, x);
  if (!x->sync) c->async_count--;
  int r = 0;
  if (!x->cancelled && x->hooks && x->hooks->end) {
    x->busy = true;
    r = x->hooks->end(x);
    x->busy = false;
  }
  if (x->sync) return 0;
  if (r < 0) {
    if (x->err.kind == RS_E_NONE) rs_fail(&x->err, RS_E_INPUT, 0, "callback failed");
    rs_err_move(err, &x->err);
  }
  xfer_free(x);
  return r < 0 ? -1 : 0;
}

/* A stream that ended well: the last line may lack its newline. */
static void flush_stream(struct xfer *x) {
  if (x->line.len) {
    if (rs_buf_append(&x->pending, x->line.data, x->line.len, NULL) < 0 ||
        rs_buf_puts(&x->pending, "\n", NULL) < 0)
      x->overflow = true;
    rs_buf_reset(&x->line);
  }
  if (x->pending.len) dispatch_lines(x);
}

/* Handle a finished transfer (not busy). Returns -1 to stop the loop. */
static int process_finished(rs_kube_client_t *c, struct xfer *x, rs_err_t *err) {
  if (xfer_is_stream(x) && x->code == CURLE_OK && x->status >= 200 && x->status < 300 &&
      !x->stop && !x->cancelled) {
    flush_stream(x);
    if (x->state != S_FINISHED) return 0;
  }
  if (x->cancelled || x->err.kind != RS_E_NONE) return complete(c, x, err);
  if (x->stop && !x->gone) {
    xfer_log_done(x);
    x->result.status = x->status;
    return complete(c, x, err);
  }
  int again = x->hooks && x->hooks->again ? x->hooks->again(x) : 0;
  if (again > 0) return 0;
  if (again < 0) return complete(c, x, err);
  if (xfer_finalize(x)) return 0;
  return complete(c, x, err);
}

/* Run callbacks until none is due.  Returns 1 when one ran, -1 when one
 * stopped the loop (err filled), else 0. */
static int run_callbacks(rs_kube_client_t *c, rs_err_t *err) {
  int ran = 0;
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
    if (!pick) return ran;
    ran = 1;
    if (pick->state == S_RUNNING && !pick->stop && !pick->cancelled) {
      dispatch_lines(pick);
      if (pick->stop || pick->cancelled) stop_running(pick);
      continue;
    }
    if (pick->state == S_RUNNING) stop_running(pick);
    if (process_finished(c, pick, err) < 0) return -1;
  }
}

/* ---- a turn ---- */

int loop_check_stop(const rs_kube_client_t *c, long long deadline, rs_err_t *err) {
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

/* Let curl run when there is something for it: new transfers, events on
 * its sockets, a timer of its own that is due, or data it holds.  Each run
 * visits every transfer, and with HTTP/2 each visit polls the connection:
 * running it on every turn made a burst of n concurrent requests cost n^2
 * polls.  But libcurl 7.88 may keep HTTP/2 data it read for a transfer
 * other than the one it was serving and set no timer for it (a stream
 * whose buffer filled is paused, the server then waits for its window):
 * only a later run hands it over, and nothing on the sockets asks for one
 * (a 5,000-node status then waited until a timer of curl's, our 30 s
 * connect timeout, fired: 8 of 270 runs on a busy machine).
 * So a run that followed socket events or delivered data is followed by
 * another, and the last run of such a burst by one more look HOLD_CHECK_MS
 * later. */
static void perform(rs_kube_client_t *c) {
  long cto = -1;
  bool added = start_ready(c);
  bool check = false;
  if (added) c->need_perform = true;
  if (!c->need_perform && c->check_at && rs_now_ms() >= c->check_at) c->need_perform = check = true;
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
    bool after_io = c->io;
    c->need_perform = c->io = c->delivered = false;
    curl_multi_perform(c->multi, &still);
    c->last_perform = rs_now_ms();
    c->check_at = 0;
    if (after_io || c->delivered) c->need_perform = true;
    else if (!check && c->running) c->check_at = c->last_perform + HOLD_CHECK_MS;
  }
}

/* What curl finished becomes FINISHED; true when there was any. */
static bool collect_finished(rs_kube_client_t *c) {
  CURLMsg *m;
  int left = 0;
  bool any = false;
  while ((m = curl_multi_info_read(c->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    any = true;
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
  return any;
}

/* Sleep until curl has work, a retry is due, or wait_ms (at most 1 s). */
static void sleep_until_due(rs_kube_client_t *c, long long wait_ms) {
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
  if (t <= 0) {
    c->need_perform = true;
    return;
  }
  if (c->check_at) { /* perform() makes that run */
    if (c->check_at <= now) return;
    if (c->check_at - now < t) t = c->check_at - now;
  }
  if (t > 1000) t = 1000;
  int events = 0;
  curl_multi_poll(c->multi, NULL, 0, (int)t, &events);
  if (events > 0) c->need_perform = c->io = true;
}

int loop_step(rs_kube_client_t *c, long long wait_ms, rs_err_t *err) {
  perform(c);
  bool progressed = collect_finished(c);
  int ran = run_callbacks(c, err);
  if (ran < 0) return -1;
  if (start_ready(c)) c->need_perform = true;
  /* Something finished or was dispatched: let the caller look at it now
   * instead of sleeping a full wait after the work is already done. */
  if (progressed || ran || c->need_perform) return 0;
  sleep_until_due(c, wait_ms);
  return 0;
}

/* ---- running ---- */

/* Run the loop until x is done; x stays owned by the caller. */
static int wait_for(rs_kube_client_t *c, struct xfer *x, rs_err_t *err) {
  while (x->state != S_DONE) {
    rs_err_t e = RS_ERR_INIT;
    if (loop_check_stop(c, c->o.deadline_ms, &e) < 0 || loop_step(c, 200, &e) < 0) {
      loop_detach(c, x); /* abandon x: take it off the loop */
      rs_err_move(err, &e);
      return -1;
    }
  }
  return 0;
}

int loop_run_sync(rs_kube_client_t *c, struct xfer *x, struct rs_kube_result *ret,
                  rs_err_t *err) {
  _cleanup_(xfer_freep) __attribute__((unused)) struct xfer *owned = x;
  x->sync = true;
  loop_add(c, x);
  if (wait_for(c, x, err) < 0) return -1;
  if (x->err.kind != RS_E_NONE) {
    rs_err_move(err, &x->err);
    return -1;
  }
  if (ret) {
    *ret = x->result;
    x->result = (struct rs_kube_result){0};
  }
  return 0;
}

int rs_kube_run(rs_kube_client_t *c, const struct rs_kube_run_opts *o,
                rs_err_t *err) {
  struct rs_kube_run_opts none = {0};
  if (!o) o = &none;
  long long tick_ms = o->tick_ms > 0 ? o->tick_ms : 1000;
  long long deadline = o->deadline_ms ? o->deadline_ms : c->o.deadline_ms;
  long long next_tick = o->tick ? rs_now_ms() + tick_ms : 0;
  for (;;) {
    if (loop_check_stop(c, deadline, err) < 0) return -1;
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

/* Drop the asynchronous transfers of one owner (ud NULL: all). */
static void cancel_matching(rs_kube_client_t *c, const void *ud) {
  struct xfer *x = c->head;
  while (x) {
    struct xfer *next = x->next;
    if (!x->sync && (!ud || x->ud == ud)) {
      x->cancelled = true;
      if (!x->busy) {
        loop_detach(c, x);
        c->async_count--;
        xfer_free(x);
      }
    }
    x = next;
  }
}

void rs_kube_cancel_all(rs_kube_client_t *c) { cancel_matching(c, NULL); }

void rs_kube_cancel_ud(rs_kube_client_t *c, const void *ud) {
  if (ud) cancel_matching(c, ud);
}

size_t rs_kube_pending(const rs_kube_client_t *c) { return c->async_count; }
