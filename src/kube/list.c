/* Lists page by page (metadata.continue): rs_kube_list hands over items of
 * JSON pages; rs_kube_list_pages hands over whole pages and asks for the
 * next one as soon as its continue token has arrived. */
#include <stdio.h>
#include <string.h>

#include "client_int.h"
#include "common/cleanup.h"
#include "kube/pb.h"

static int list_page_path(rs_buf_t *b, const char *path, const struct rs_kube_list_opts *o,
                          const char *limit, const char *cont, rs_err_t *err) {
  if (rs_buf_puts(b, path, err) < 0 ||
      rs_kube_query_add(b, "labelSelector", o->label_selector, err) < 0 ||
      rs_kube_query_add(b, "fieldSelector", o->field_selector, err) < 0 ||
      rs_kube_query_add(b, "limit", limit, err) < 0 ||
      rs_kube_query_add(b, "includeObject", o->include_object, err) < 0 ||
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
  loop_add(c, x);
  return x;
}

/* Take a page transfer off the loop, wherever it is, and free it. */
static void page_drop(rs_kube_client_t *c, struct xfer *x) {
  if (!x) return;
  loop_detach(c, x);
  xfer_free(x);
}

/* The two pages in flight, dropped together when the listing fails. */
struct pages {
  rs_kube_client_t *c;
  struct xfer *cur, *next;
  char *next_cont; /* what next was asked with */
};

static void pages_clear(struct pages *p) {
  page_drop(p->c, p->cur);
  page_drop(p->c, p->next);
  free(p->next_cont);
}

/* Turn the loop until the current page is in; ask for the next one as
 * soon as its continue token has arrived (at most two pages in flight), at
 * the latest before this page is handed over. */
static int page_wait(struct pages *p, const char *path, const struct rs_kube_list_opts *o,
                     const char *limit, const char *accept, rs_err_t *err) {
  rs_kube_client_t *c = p->c;
  struct xfer *cur = p->cur;
  for (;;) {
    _cleanup_err_ rs_err_t e = RS_ERR_INIT;
    if (!p->next && cur->peeked == 1 && cur->peek_cont && cur->err.kind == RS_E_NONE) {
      free(p->next_cont);
      if (!(p->next_cont = strdup(cur->peek_cont))) rs_oom(&e);
      if (!p->next_cont ||
          !(p->next = page_start(c, path, o, limit, accept, p->next_cont, &e)) ||
          loop_step(c, 0, &e) < 0) { /* on its way now, not after fn */
        rs_err_move(err, &e);
        return -1;
      }
    }
    if (cur->state == S_DONE) break;
    if (loop_check_stop(c, c->o.deadline_ms, &e) < 0 || loop_step(c, 200, &e) < 0) {
      rs_err_move(err, &e);
      return -1;
    }
  }
  if (cur->err.kind != RS_E_NONE) {
    rs_err_move(err, &cur->err);
    return -1;
  }
  return 0;
}

int rs_kube_list_pages(rs_kube_client_t *c, const char *path,
                       const struct rs_kube_list_opts *o, const char *accept,
                       rs_kube_page_fn fn, void *ud, rs_err_t *err) {
  struct rs_kube_list_opts none = {0};
  if (!o) o = &none;
  char lim[32];
  snprintf(lim, sizeof lim, "%ld", o->limit > 0 ? o->limit : 500);
  _cleanup_(pages_clear) struct pages p = {.c = c};
  if (!(p.cur = page_start(c, path, o, lim, accept, NULL, err))) return -1;
  while (p.cur) {
    if (page_wait(&p, path, o, lim, accept, err) < 0) return -1;
    _cleanup_free_ char *cont = NULL;
    size_t len = p.cur->result.raw_len;
    _cleanup_free_ char *body = TAKE_PTR(p.cur->result.raw);
    if (fn(ud, body ? body : "", body ? len : 0, &cont, err) < 0) return -1;
    /* The peek and the page agree, or the look-ahead is thrown away. */
    if (p.next && (!cont || strcmp(cont, p.next_cont) != 0)) {
      page_drop(c, p.next);
      p.next = NULL;
    }
    page_drop(c, p.cur);
    p.cur = NULL;
    if (!cont) break;
    p.cur = p.next ? TAKE_PTR(p.next) : page_start(c, path, o, lim, accept, cont, err);
    if (!p.cur) return -1;
  }
  return 0;
}

/* ---- protobuf lists read as they arrive (rs_kube_list_pb) ---- */

enum { FORM_UNKNOWN, FORM_PB, FORM_OTHER };

/* A page: its transfer, what it was asked with, how its body is read. */
struct pb_page {
  rs_kube_client_t *c;
  struct xfer *x;
  const char *path;            /* the collection, for messages */
  unsigned no;
  char *asked;                 /* its continue token; NULL: the first page */
  int form;                    /* FORM_*: decided by the body's first byte */
  struct rs_pb_list l;
  const struct rs_kube_pb_list_fns *fns;
  void *ud;
};

static int pb_item(void *ud, const void *msg, size_t len, rs_err_t *err) {
  struct pb_page *p = ud;
  return p->fns->item(p->ud, p->no, msg, len, err);
}

/* The body as curl hands it over (inside libcurl): protobuf is read on the
 * spot, anything else is kept for fns->other. */
static int pb_sink(struct xfer *x, const char *buf, size_t len) {
  struct pb_page *p = x->sink_ud;
  if (p->form == FORM_UNKNOWN && len) p->form = buf[0] == RS_PB_MAGIC[0] ? FORM_PB : FORM_OTHER;
  if (p->form != FORM_PB) return 0;
  rs_err_t e = RS_ERR_INIT;
  if (rs_pb_list_feed(&p->l, buf, len, &e) < 0) {
    rs_wrap(&e, "GET %s", p->path);
    rs_err_move(&x->err, &e);
    return -1;
  }
  return 1;
}

/* An attempt starts: nothing of an earlier one counts. */
static void pb_sink_reset(struct xfer *x) {
  struct pb_page *p = x->sink_ud;
  p->form = FORM_UNKNOWN;
  rs_pb_list_reset(&p->l);
  p->fns->drop(p->ud, p->no);
}

/* Off the loop and freed; given_up: its items are dropped too. */
static void pb_page_free(struct pb_page *p, bool given_up) {
  if (!p) return;
  page_drop(p->c, p->x);
  if (given_up) p->fns->drop(p->ud, p->no);
  rs_pb_list_clear(&p->l);
  free(p->asked);
  free(p);
}

static struct pb_page *pb_page_start(rs_kube_client_t *c, const char *path,
                                     const struct rs_kube_list_opts *o, const char *limit,
                                     const struct rs_kube_pb_list_fns *fns, void *ud,
                                     unsigned no, const char *cont, rs_err_t *err) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(0);
  if (list_page_path(&b, path, o, limit, cont, err) < 0) return NULL;
  struct pb_page *p = calloc(1, sizeof *p);
  char *asked = cont ? strdup(cont) : NULL;
  if (!p || (cont && !asked)) {
    free(p);
    free(asked);
    rs_oom(err);
    return NULL;
  }
  *p = (struct pb_page){.c = c, .path = path, .no = no, .asked = asked, .fns = fns, .ud = ud,
                        .l = {.kind = fns->kind, .item = pb_item, .ud = p}};
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = b.data, .flags = RS_REQ_RAW,
                          .accept = RS_PB_ACCEPT};
  if (!(p->x = xfer_new(c, X_REQ, &r, err))) {
    pb_page_free(p, false);
    return NULL;
  }
  p->x->sync = true;
  p->x->sink = pb_sink;
  p->x->sink_reset = pb_sink_reset;
  p->x->sink_ud = p;
  loop_add(c, p->x);
  return p;
}

/* The two pages in flight, given up together when the listing fails. */
struct pb_pages {
  struct pb_page *cur, *next;
};

static void pb_pages_clear(struct pb_pages *p) {
  pb_page_free(p->next, true);
  pb_page_free(p->cur, true);
}

/* Turn the loop until the current page is in; ask for the next one as
 * soon as the current one's list metadata has been read. */
static int pb_wait(struct pb_pages *p, const char *path, const struct rs_kube_list_opts *o,
                   const char *limit, rs_err_t *err) {
  struct pb_page *cur = p->cur;
  rs_kube_client_t *c = cur->c;
  for (;;) {
    _cleanup_err_ rs_err_t e = RS_ERR_INIT;
    if (!p->next && cur->form == FORM_PB && cur->l.have_meta && cur->l.cont &&
        cur->x->err.kind == RS_E_NONE) {
      if (!(p->next = pb_page_start(c, path, o, limit, cur->fns, cur->ud, cur->no + 1,
                                    cur->l.cont, &e)) ||
          loop_step(c, 0, &e) < 0) { /* on its way now */
        rs_err_move(err, &e);
        return -1;
      }
    }
    if (cur->x->state == S_DONE) break;
    if (loop_check_stop(c, c->o.deadline_ms, &e) < 0 || loop_step(c, 200, &e) < 0) {
      rs_err_move(err, &e);
      return -1;
    }
  }
  if (cur->x->err.kind != RS_E_NONE) {
    rs_err_move(err, &cur->x->err);
    return -1;
  }
  return 0;
}

/* The current page is whole: its items end, or its other body is read.
 * *ret_continue: what comes next. */
static int pb_hand_over(struct pb_page *cur, char **ret_continue, rs_err_t *err) {
  const struct rs_kube_pb_list_fns *fns = cur->fns;
  if (cur->form == FORM_PB) {
    if (rs_pb_list_end(&cur->l, err) < 0) return rs_wrap(err, "GET %s", cur->path);
    if (fns->page(cur->ud, cur->no, err) < 0) return -1;
    *ret_continue = TAKE_PTR(cur->l.cont);
    return 0;
  }
  size_t len = cur->x->result.raw_len;
  _cleanup_free_ char *body = TAKE_PTR(cur->x->result.raw);
  return fns->other(cur->ud, body ? body : "", body ? len : 0, ret_continue, err);
}

int rs_kube_list_pb(rs_kube_client_t *c, const char *path,
                    const struct rs_kube_list_opts *o,
                    const struct rs_kube_pb_list_fns *fns, void *ud, rs_err_t *err) {
  struct rs_kube_list_opts none = {0};
  if (!o) o = &none;
  char lim[32];
  snprintf(lim, sizeof lim, "%ld", o->limit > 0 ? o->limit : 500);
  _cleanup_(pb_pages_clear) struct pb_pages p = {0};
  if (!(p.cur = pb_page_start(c, path, o, lim, fns, ud, 0, NULL, err))) return -1;
  while (p.cur) {
    _cleanup_free_ char *cont = NULL;
    if (pb_wait(&p, path, o, lim, err) < 0 || pb_hand_over(p.cur, &cont, err) < 0) return -1;
    /* the look-ahead was asked with what this page says comes next, or it goes */
    if (p.next && (!cont || strcmp(cont, p.next->asked) != 0)) {
      pb_page_free(p.next, true);
      p.next = NULL;
    }
    unsigned no = p.cur->no;
    pb_page_free(p.cur, false);
    p.cur = NULL;
    if (!cont) break;
    p.cur = p.next ? TAKE_PTR(p.next) : pb_page_start(c, path, o, lim, fns, ud, no + 1, cont, err);
    if (!p.cur) return -1;
  }
  return 0;
}
