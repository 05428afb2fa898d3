/* Collecting what status shows (the node list, named nodes, /configz
 * through the node proxy, pods that mount the Docker socket), and the small
 * node operations other commands share (get, cordon/uncordon, annotate). */
#include "ops/nodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/runtimes.h"
#include "kube/pb.h"
#include "nodes_int.h"

/* A string member of a JSON object, copied; NULL when absent or empty. */
static char *jdup(const json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s && *s ? strdup(s) : NULL;
}

/* ---- collection ---- */

struct collect {
  rs_kube_client_t *c;
  const struct rs_nodes_query *q;
  struct rs_nodes_report *r;
  struct rs_node_status **sorted; /* rows by name, for pod lookup */
  /* configz: asked for as soon as a page brings Ready nodes, while the
   * next pages arrive; one alone first (a 403 there spares the rest) */
  bool forbidden;
  bool probed;            /* an answer came that was not a 403 */
  size_t unavailable;
  char *first_unavailable;
  size_t next_configz;
  size_t inflight;
  struct cz_req **czs;    /* every request's state, freed at the end (a
                             cancelled request never sees its callback) */
  size_t nczs, czcap;
  struct rs_nodes_report stage[2]; /* rows of the list pages in flight */
  /* the default table (list_brief) */
  struct tpage **tp;
  size_t ntp, tpcap, tdone;      /* pages read, room, pages in the report */
  char *table_cont;              /* what the next Table page is asked with */
  bool whole_list;               /* its first page: list whole Nodes instead */
};

static int add_node(struct collect *k, const json_t *node, rs_err_t *err) {
  if (rs_nodes_reserve(k->r, 1) < 0) return rs_oom(err);
  if (rs_node_status_from_json(node, &k->r->items[k->r->n], err) < 0) return -1;
  k->r->n++;
  return 0;
}

struct get_one {
  struct collect *k;
  const char *name;
  json_t *node;
  rs_err_t err;
};

static int on_get_done(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct get_one *g = ud;
  if (err->kind == RS_E_NONE) {
    g->node = json_incref(res->body);
    return 0;
  }
  if (rs_kube_is_not_found(err)) {
    if (rs_strv_push(&g->k->r->missing, g->name, NULL) < 0) return rs_oom(err);
    return 0;
  }
  rs_err_move(&g->err, err);
  return 0;
}

static int get_named(struct collect *k, rs_err_t *err) {
  size_t n = rs_strv_len((char *const *)k->q->names);
  _cleanup_free_ struct get_one *g = calloc(n ? n : 1, sizeof *g);
  if (!g) return rs_oom(err);
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    g[i].k = k;
    g[i].name = k->q->names[i];
    _cleanup_free_ char *en = rs_kube_escape(g[i].name);
    _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
    if (!path) r = rs_oom(err);
    else {
      struct rs_kube_req req = {.method = RS_HTTP_GET, .path = path};
      r = rs_kube_async(k->c, &req, on_get_done, &g[i], err);
    }
  }
  if (r == 0) r = rs_kube_run(k->c, NULL, err);
  if (r < 0) rs_kube_cancel_all(k->c);
  for (size_t i = 0; i < n; i++) {
    if (r == 0 && g[i].err.kind != RS_E_NONE) {
      rs_err_move(err, &g[i].err);
      r = -1;
    }
    if (r == 0 && g[i].node) r = add_node(k, g[i].node, err);
    json_decref(g[i].node);
    rs_err_clear(&g[i].err);
  }
  return r;
}

static int start_configz(struct collect *k, rs_err_t *err);

/* The node list in protobuf, read as it arrives (rs_kube_list_pb: the
 * API server encodes and we decode it several times faster than JSON, and
 * only the fields status shows are copied out: a Node's images,
 * managedFields and the like are skipped without being kept).  A page's
 * rows wait in stage[page & 1] until the page is whole (pages k and k+1
 * arrive together), then join the report in order. */
static int on_pb_item(void *ud, unsigned page, const void *msg, size_t len, rs_err_t *err) {
  struct collect *k = ud;
  return rs_nodes_add_pb_item(&k->stage[page & 1], msg, len, err);
}

static void on_pb_drop(void *ud, unsigned page) {
  struct rs_nodes_report *s = &((struct collect *)ud)->stage[page & 1];
  while (s->n) rs_node_status_clear(&s->items[--s->n]);
}

/* A page's rows join the report (in order: the caller's care), and its
 * Ready nodes' /configz is asked for while the next pages arrive. */
static int append_rows(struct collect *k, struct rs_nodes_report *s, rs_err_t *err) {
  if (rs_nodes_reserve(k->r, s->n) < 0) return rs_oom(err);
  memcpy(k->r->items + k->r->n, s->items, s->n * sizeof *s->items);
  k->r->n += s->n;
  s->n = 0;
  return k->q->configz ? start_configz(k, err) : 0;
}

static int on_pb_page(void *ud, unsigned page, rs_err_t *err) {
  struct collect *k = ud;
  return append_rows(k, &k->stage[page & 1], err);
}

/* A page in JSON (a server without protobuf for Nodes). */
static int on_json_page(void *ud, const char *body, size_t len, char **ret_continue,
                        rs_err_t *err) {
  struct collect *k = ud;
  json_error_t je;
  json_auto_t *list = json_loadb(body, len, 0, &je);
  if (!list) return rs_fail(err, RS_E_INPUT, 0, "GET /api/v1/nodes: invalid JSON: %s", je.text);
  json_t *items = json_object_get(list, "items");
  if (items && !json_is_array(items) && !json_is_null(items))
    return rs_fail(err, RS_E_INPUT, 0, "GET /api/v1/nodes: the answer is not a list");
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item) if (add_node(k, item, err) < 0) return -1;
  const char *next = json_string_value(json_object_get(json_object_get(list, "metadata"), "continue"));
  if (next && *next && !(*ret_continue = strdup(next))) return rs_oom(err);
  return k->q->configz ? start_configz(k, err) : 0;
}

/* Every node (or -l), page by page, the next page asked for while this one
 * arrives. */
static int list_nodes(struct collect *k, rs_err_t *err) {
  static const struct rs_kube_pb_list_fns fns = {
      .kind = "NodeList", .item = on_pb_item, .drop = on_pb_drop, .page = on_pb_page,
      .other = on_json_page};
  struct rs_kube_list_opts lo = {.label_selector = k->q->selector, .limit = k->q->page_size};
  int r = rs_kube_list_pb(k->c, "/api/v1/nodes", &lo, &fns, k, err);
  for (size_t i = 0; i < RS_ARRAY_SIZE(k->stage); i++) {
    on_pb_drop(k, (unsigned)i);
    free(k->stage[i].items);
    k->stage[i] = (struct rs_nodes_report){0};
  }
  return r;
}

/* ---- the default table: the server-side Table and the nodes' metadata ----
 * (see include/ops/nodes.h: what the Table carries).  Each Table page is
 * completed by its nodes' metadata, asked for with what pins the very same
 * page of the very same list: the continue token the Table page was asked
 * with, or, for the first page, its resourceVersion with
 * resourceVersionMatch=Exact.  A page with a row that says less than its
 * Node (NotReady, "<unknown>") is completed by its whole Nodes instead,
 * one such page at a time; when the first page has one, the Table is left
 * and the whole Nodes listed (a cluster of NotReady nodes). */

struct tpage {
  struct collect *k;
  struct rs_node_table t;
  char *asked;                 /* the continue token it was asked with */
  bool whole;                  /* completed by whole Nodes */
  bool asking, done;
  bool no_arch;                /* -o wide: a node without the arch label */
  struct rs_nodes_report rows; /* when done: one per row of t, in order */
};

static void tpage_rows_clear(struct tpage *p) {
  while (p->rows.n) rs_node_status_clear(&p->rows.items[--p->rows.n]);
}

static void tpage_free(struct tpage *p) {
  rs_node_table_clear(&p->t);
  free(p->asked);
  tpage_rows_clear(p);
  free(p->rows.items);
  free(p);
}

static int tpage_meta_item(void *ud, const void *msg, size_t len, rs_err_t *err) {
  struct tpage *p = ud;
  if (p->rows.n >= p->t.n)
    return rs_fail(err, RS_E_INPUT, 0, "more nodes' metadata than rows in the node table");
  if (rs_nodes_reserve(&p->rows, 1) < 0) return rs_oom(err);
  int r = rs_node_status_from_table(&p->t.rows[p->rows.n], msg, len, p->k->q->wide,
                                    &p->rows.items[p->rows.n], err);
  if (r < 0) return -1;
  if (r > 0) p->no_arch = true;
  p->rows.n++;
  return 0;
}

/* The answer is the Table page's own nodes, and says the same next page. */
static int tpage_check(struct tpage *p, const char *cont, rs_err_t *err) {
  if (p->rows.n != p->t.n)
    return rs_fail(err, RS_E_INPUT, 0, "the node table has %zu rows on a page and the list %zu nodes",
                   p->t.n, p->rows.n);
  for (size_t i = 0; i < p->t.n; i++)
    if (strcmp(p->rows.items[i].name, p->t.rows[i].name) != 0)
      return rs_fail(err, RS_E_INPUT, 0, "the node table's row %s came with the node %s",
                     p->t.rows[i].name, p->rows.items[i].name);
  if ((!cont) != (!p->t.cont) || (cont && strcmp(cont, p->t.cont) != 0))
    return rs_fail(err, RS_E_INPUT, 0, "the node table and the nodes' metadata are not the same list");
  return 0;
}

/* 0: the page's rows are in; 1: -o wide, and a node has no arch label:
 * the page is to be read as whole Nodes. */
static int tpage_complete(struct tpage *p, const char *body, size_t len, rs_err_t *err) {
  if (p->whole) {
    _cleanup_free_ char *cont = NULL;
    if (rs_nodes_add_pb_page(&p->rows, body, len, &cont, err) < 0) return -1;
    return tpage_check(p, cont, err);
  }
  _cleanup_(rs_pb_list_clear) struct rs_pb_list l = {.kind = "PartialObjectMetadataList",
                                                      .item = tpage_meta_item, .ud = p};
  if (rs_pb_list_feed(&l, body, len, err) < 0 || rs_pb_list_end(&l, err) < 0 ||
      tpage_check(p, l.cont, err) < 0)
    return -1;
  return p->no_arch ? 1 : 0;
}

static int tpage_ask(struct tpage *p, rs_err_t *err);

/* Done pages join the report in order; the next page of whole Nodes is
 * asked for. */
static int tpages_advance(struct collect *k, rs_err_t *err) {
  for (; k->tdone < k->ntp && k->tp[k->tdone]->done; k->tdone++)
    if (append_rows(k, &k->tp[k->tdone]->rows, err) < 0) return -1;
  for (size_t i = k->tdone; i < k->ntp; i++) {
    struct tpage *p = k->tp[i];
    if (p->whole && !p->done) return p->asking ? 0 : tpage_ask(p, err);
  }
  return 0;
}

static int on_tpage(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct tpage *p = ud;
  if (err->kind != RS_E_NONE) return -1;
  int r = tpage_complete(p, res->raw ? res->raw : "", res->raw ? res->raw_len : 0, err);
  if (r < 0) return rs_wrap(err, "GET /api/v1/nodes (%s)", p->whole ? "Nodes" : "metadata");
  if (r > 0) { /* read again, as whole Nodes, when its turn comes */
    tpage_rows_clear(p);
    p->whole = true;
    p->asking = false;
  } else {
    p->done = true;
  }
  return tpages_advance(p->k, err);
}

static int tpage_ask(struct tpage *p, rs_err_t *err) {
  const struct rs_nodes_query *q = p->k->q;
  char lim[32];
  snprintf(lim, sizeof lim, "%ld", q->page_size > 0 ? q->page_size : 500);
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(0);
  if (rs_buf_puts(&b, "/api/v1/nodes", err) < 0 ||
      rs_kube_query_add(&b, "labelSelector", q->selector, err) < 0 ||
      rs_kube_query_add(&b, "limit", lim, err) < 0 ||
      rs_kube_query_add(&b, "continue", p->asked, err) < 0 ||
      (!p->asked && rs_kube_query_add(&b, "resourceVersion", p->t.rv, err) < 0) ||
      (!p->asked && p->t.rv && rs_kube_query_add(&b, "resourceVersionMatch", "Exact", err) < 0))
    return -1;
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = b.data, .flags = RS_REQ_RAW,
                          .accept = p->whole ? RS_PB_ACCEPT : RS_ACCEPT_METADATA_LIST_PB};
  if (rs_kube_async(p->k->c, &r, on_tpage, p, err) < 0) return -1;
  p->asking = true;
  return 0;
}

static int on_table_page(void *ud, const char *body, size_t len, char **ret_continue,
                         rs_err_t *err) {
  struct collect *k = ud;
  _cleanup_(rs_node_table_clear) struct rs_node_table t = {0};
  int r = rs_node_table_parse(body, len, &t, err);
  if (r < 0) return rs_wrap(err, "GET /api/v1/nodes (Table)");
  if (r == 0) { /* no Table here: the Nodes themselves */
    if (k->ntp) return rs_fail(err, RS_E_INPUT, 0, "GET /api/v1/nodes: a Table, then none");
    return on_json_page(ud, body, len, ret_continue, err);
  }
  bool exact = true;
  for (size_t i = 0; exact && i < t.n; i++)
    exact = k->q->wide ? rs_node_table_row_wide_exact(&t.rows[i]) : rs_node_table_row_exact(&t.rows[i]);
  if (!exact && !k->ntp) { /* the listing ends here: whole Nodes instead */
    k->whole_list = true;
    return 0;
  }
  if (k->ntp == k->tpcap) {
    size_t cap = k->tpcap ? k->tpcap * 2 : 16;
    struct tpage **v = realloc(k->tp, cap * sizeof *v);
    if (!v) return rs_oom(err);
    k->tp = v;
    k->tpcap = cap;
  }
  struct tpage *p = calloc(1, sizeof *p);
  if (!p || (t.cont && !(*ret_continue = strdup(t.cont)))) {
    free(p);
    return rs_oom(err);
  }
  k->tp[k->ntp++] = p;
  *p = (struct tpage){.k = k, .asked = TAKE_PTR(k->table_cont), .whole = !exact};
  p->t = t;
  t = (struct rs_node_table){0};
  if (*ret_continue && !(k->table_cont = strdup(*ret_continue))) return rs_oom(err);
  return p->whole ? tpages_advance(k, err) : tpage_ask(p, err);
}

static void tpages_free(struct collect *k) {
  for (size_t i = 0; i < k->ntp; i++) tpage_free(k->tp[i]);
  free(k->tp);
  free(k->table_cont);
  k->tp = NULL;
  k->ntp = k->tpcap = k->tdone = 0;
  k->table_cont = NULL;
}

/* The default table's list: the Table and the nodes' metadata, or, when
 * its first page says that is not enough, the whole Nodes. */
static int list_brief(struct collect *k, rs_err_t *err) {
  struct rs_kube_list_opts lo = {.label_selector = k->q->selector, .limit = k->q->page_size,
                                 .include_object = "None"};
  if (rs_kube_list_pages(k->c, "/api/v1/nodes", &lo, RS_ACCEPT_TABLE, on_table_page, k, err) < 0)
    return -1;
  if (k->whole_list) return list_nodes(k, err);
  return rs_kube_run(k->c, NULL, err); /* the pages still being completed */
}

/* /configz: {"kubeletconfig": {...}} */
static void take_configz(struct rs_node_status *n, const json_t *body) {
  const json_t *kc = json_object_get(body, "kubeletconfig");
  if (!json_is_object(kc)) {
    n->configz = RS_CONFIGZ_UNAVAILABLE;
    return;
  }
  n->configz = RS_CONFIGZ_OK;
  n->configz_endpoint = jdup(kc, "containerRuntimeEndpoint");
  n->cgroup_driver = jdup(kc, "cgroupDriver");
}

struct cz_req {
  struct collect *k;
  size_t idx;
};

static int on_configz(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct cz_req *z = ud;
  struct collect *k = z->k;
  struct rs_node_status *n = &k->r->items[z->idx];
  k->inflight--;
  if (err->kind == RS_E_NONE) {
    take_configz(n, res->body);
    k->probed = true;
  } else if (rs_kube_err_is(err, 403) || rs_kube_err_is(err, 401)) {
    n->configz = RS_CONFIGZ_FORBIDDEN;
    k->forbidden = true;
  } else {
    k->probed = true;
    n->configz = RS_CONFIGZ_UNAVAILABLE;
    if (k->unavailable++ == 0) k->first_unavailable = rs_strdup_printf("%s: %s", n->name, err->msg);
  }
  rs_err_clear(err);
  return start_configz(k, err);
}

static bool wants_configz(const struct rs_node_status *n) {
  return n->ready && strcmp(n->ready, "True") == 0;
}

static int queue_one(struct collect *k, size_t idx, rs_err_t *err) {
  struct rs_node_status *n = &k->r->items[idx];
  _cleanup_free_ char *en = rs_kube_escape(n->name);
  _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/nodes/%s/proxy/configz", en) : NULL;
  if (!path) return rs_oom(err);
  if (k->nczs == k->czcap) {
    size_t cap = k->czcap ? k->czcap * 2 : 64;
    struct cz_req **v = realloc(k->czs, cap * sizeof *v);
    if (!v) return rs_oom(err);
    k->czs = v;
    k->czcap = cap;
  }
  struct cz_req *z = malloc(sizeof *z);
  if (!z) return rs_oom(err);
  k->czs[k->nczs++] = z;
  z->k = k;
  z->idx = idx;
  struct rs_kube_req req = {.method = RS_HTTP_GET, .path = path, .flags = RS_REQ_NO_RETRY,
                            .timeout_ms = k->q->configz_timeout_ms ? k->q->configz_timeout_ms : 5000};
  if (rs_kube_async(k->c, &req, on_configz, z, err) < 0) return -1;
  k->inflight++;
  return 0;
}

/* Keep up to `parallel` requests in flight (one until the first answer);
 * stop asking once forbidden.  Called again as rows and answers arrive. */
static int start_configz(struct collect *k, rs_err_t *err) {
  int par = !k->probed ? 1 : k->q->parallel > 0 ? k->q->parallel : 64;
  while (!k->forbidden && k->inflight < (size_t)par && k->next_configz < k->r->n) {
    size_t i = k->next_configz++;
    if (!wants_configz(&k->r->items[i])) continue;
    if (queue_one(k, i, err) < 0) return -1;
  }
  if (k->forbidden)
    for (; k->next_configz < k->r->n; k->next_configz++)
      if (wants_configz(&k->r->items[k->next_configz]))
        k->r->items[k->next_configz].configz = RS_CONFIGZ_FORBIDDEN;
  return 0;
}

/* The rest of /configz once every row is in (most is already asked for
 * while the pages arrived), then the warnings. */
static int collect_configz(struct collect *k, rs_err_t *err) {
  if (start_configz(k, err) < 0 || rs_kube_run(k->c, NULL, err) < 0) return -1;
  if (k->forbidden &&
      rs_strv_push(&k->r->warnings,
                   "cannot read the kubelet configuration (/configz) through the API server: "
                   "nodes/proxy is forbidden; the CRI endpoint comes from the kubeadm annotation only",
                   err) < 0)
    return -1;
  if (k->unavailable &&
      rs_strv_consume(&k->r->warnings,
                      rs_strdup_printf("could not read /configz of %zu node(s) (first: %s)",
                                       k->unavailable,
                                       k->first_unavailable ? k->first_unavailable : "?"),
                      err) < 0)
    return -1;
  return 0;
}

static int cmp_row(const void *a, const void *b) {
  return strcmp((*(struct rs_node_status *const *)a)->name, (*(struct rs_node_status *const *)b)->name);
}

static int cmp_name_row(const void *key, const void *elem) {
  return strcmp(key, (*(struct rs_node_status *const *)elem)->name);
}

/* The rows by name (they do not move any more), for the pods' nodeName. */
static int sorted_names(struct collect *k, rs_err_t *err) {
  k->sorted = calloc(k->r->n + 1, sizeof *k->sorted);
  if (!k->sorted) return rs_oom(err);
  for (size_t i = 0; i < k->r->n; i++) k->sorted[i] = &k->r->items[i];
  qsort(k->sorted, k->r->n, sizeof *k->sorted, cmp_row);
  return 0;
}

static struct rs_node_status *node_by_name(struct collect *k, const char *name) {
  struct rs_node_status **hit = bsearch(name, k->sorted, k->r->n, sizeof *k->sorted, cmp_name_row);
  return hit ? *hit : NULL;
}

static int on_pod(void *ud, json_t *pod, rs_err_t *err) {
  struct collect *k = ud;
  const char *node = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
  if (!node) return 0;
  size_t i;
  json_t *vol;
  json_array_foreach(json_object_get(json_object_get(pod, "spec"), "volumes"), i, vol) {
    const char *path = json_string_value(json_object_get(json_object_get(vol, "hostPath"), "path"));
    if (!rs_path_is_docker_socket(path)) continue;
    struct rs_node_status *n = node_by_name(k, node);
    if (!n) return 0;
    const json_t *meta = json_object_get(pod, "metadata");
    char *s = rs_strdup_printf("%s/%s (%s)", json_string_value(json_object_get(meta, "namespace")),
                               json_string_value(json_object_get(meta, "name")), path);
    return rs_strv_consume(&n->docker_sock_pods, s, err);
  }
  return 0;
}

static int collect_pods(struct collect *k, rs_err_t *err) {
  if (sorted_names(k, err) < 0) return -1;
  struct rs_kube_list_opts lo = {.limit = k->q->page_size};
  /* Few named nodes: ask per node; else one list of every pod. */
  if (k->q->names && k->q->names[0] && k->r->n <= 10) {
    for (size_t i = 0; i < k->r->n; i++) {
      _cleanup_free_ char *fs = rs_strdup_printf("spec.nodeName=%s", k->r->items[i].name);
      if (!fs) return rs_oom(err);
      lo.field_selector = fs;
      if (rs_kube_list(k->c, "/api/v1/pods", &lo, on_pod, k, NULL, err) < 0) return -1;
    }
    return 0;
  }
  return rs_kube_list(k->c, "/api/v1/pods", &lo, on_pod, k, NULL, err);
}

/* Without /configz, a Docker Engine node with no CRI endpoint on record
 * (no kubeadm cri-socket annotation) has dockershim or cri-dockerd judged
 * from its kubelet version: say so, once. */
static int note_guessed_endpoints(struct collect *k, rs_err_t *err) {
  size_t n = 0;
  const char *first = NULL;
  for (size_t i = 0; i < k->r->n; i++) {
    const struct rs_node_status *s = &k->r->items[i];
    int v = s->verdict.kind;
    if ((v == RS_VERDICT_DOCKERSHIM || v == RS_VERDICT_CRI_DOCKERD) &&
        rs_rt_by_endpoint(rs_node_endpoint(s)) == RS_RT_NONE && n++ == 0)
      first = s->name;
  }
  if (!n) return 0;
  return rs_strv_consume(&k->r->warnings,
                         rs_strdup_printf("%zu node(s) run Docker Engine with no CRI endpoint on record (first: %s, "
                                          "no kubeadm cri-socket annotation): dockershim or cri-dockerd is judged "
                                          "from the kubelet version; --configz reads the kubelet's own (it needs "
                                          "nodes/proxy get)", n, first),
                         err);
}

int rs_nodes_collect(rs_kube_client_t *c, const struct rs_nodes_query *q,
                     struct rs_nodes_report *ret, rs_err_t *err) {
  struct rs_nodes_report r = {0};
  struct collect k = {.c = c, .q = q, .r = &r};
  int rc = -1;
  r.warnings = rs_strv_new();
  r.missing = rs_strv_new();
  if (!r.warnings || !r.missing) {
    rs_oom(err);
    goto out;
  }
  if (q->names && q->names[0]) {
    if (get_named(&k, err) < 0) goto out;
  } else if ((q->brief || q->wide ? list_brief(&k, err) : list_nodes(&k, err)) < 0) {
    goto out;
  }
  if (q->configz && collect_configz(&k, err) < 0) goto out;
  if (q->pods && collect_pods(&k, err) < 0) goto out;
  for (size_t i = 0; i < r.n; i++)
    if (rs_verdict_for(&r.items[i], &r.items[i].verdict, err) < 0) goto out;
  if (!q->configz && note_guessed_endpoints(&k, err) < 0) goto out;
  rc = 0;
out:
  if (rc < 0) rs_kube_cancel_all(c); /* /configz still in flight */
  tpages_free(&k);
  for (size_t i = 0; i < k.nczs; i++) free(k.czs[i]);
  free(k.czs);
  free(k.sorted);
  free(k.first_unavailable);
  if (rc == 0) *ret = r;
  else rs_nodes_report_clear(&r);
  return rc;
}

/* ---- node operations ---- */

int rs_node_get(rs_kube_client_t *c, const char *name, json_t **ret, rs_err_t *err) {
  _cleanup_free_ char *en = rs_kube_escape(name);
  _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
  if (!path) return rs_oom(err);
  return rs_kube_get(c, path, ret, err);
}

int rs_nodes_select(rs_kube_client_t *c, const char *const *names, const char *selector, long page_size,
                    rs_kube_item_fn fn, void *ud, char ***missing, rs_err_t *err) {
  if (!names || !names[0]) {
    struct rs_kube_list_opts lo = {.label_selector = selector, .limit = page_size};
    return rs_kube_list(c, "/api/v1/nodes", &lo, fn, ud, NULL, err);
  }
  for (size_t i = 0; names[i]; i++) {
    bool dup = false;
    for (size_t k = 0; k < i; k++) dup = dup || strcmp(names[k], names[i]) == 0;
    if (dup) continue;
    json_auto_t *node = NULL;
    if (rs_node_get(c, names[i], &node, err) < 0) {
      if (!rs_kube_is_not_found(err)) return -1;
      rs_err_clear(err);
      if (rs_strv_push(missing, names[i], err) < 0) return -1;
      continue;
    }
    if (fn(ud, node, err) < 0) return -1;
  }
  return 0;
}

int rs_node_set_unschedulable(rs_kube_client_t *c, const char *name, bool on,
                              bool *ret_changed, rs_err_t *err) {
  json_auto_t *node = NULL;
  if (rs_node_get(c, name, &node, err) < 0) return -1;
  bool now = json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"));
  if (now == on) {
    if (ret_changed) *ret_changed = false;
    return 0;
  }
  _cleanup_free_ char *en = rs_kube_escape(name);
  _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
  json_auto_t *patch = on ? json_pack("{s:{s:b}}", "spec", "unschedulable", 1)
                          : json_pack("{s:{s:n}}", "spec", "unschedulable");
  if (!path || !patch) return rs_oom(err);
  if (rs_kube_patch(c, path, RS_PATCH_STRATEGIC, patch, NULL, err) < 0) return -1;
  if (ret_changed) *ret_changed = true;
  return 0;
}

int rs_node_annotate(rs_kube_client_t *c, const char *name, const char *key,
                     const char *value, rs_err_t *err) {
  _cleanup_free_ char *en = rs_kube_escape(name);
  _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
  json_auto_t *patch = json_pack("{s:{s:{s:o}}}", "metadata", "annotations", key,
                                 value ? json_string(value) : json_null());
  if (!path || !patch) return rs_oom(err);
  return rs_kube_patch(c, path, RS_PATCH_MERGE, patch, NULL, err);
}
