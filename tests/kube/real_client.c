/* The API client against the REAL kube-apiserver of tests/e2e/cluster.sh
 * (run by tests/kube/real_apiserver.sh, which prepares what is named in
 * the environment and removes it afterwards):
 *
 *   RS_REAL_KUBECONFIG     admin: client certificate + the cluster CA
 *   RS_REAL_KC_TOKEN       a ServiceAccount's token (kubectl create token), CA
 *   RS_REAL_KC_BADTOKEN    a token the server does not know, CA
 *   RS_REAL_KC_ANON        the CA and no credentials
 *   RS_REAL_KC_WRONGCA     admin's credentials, a CA that did not sign the server
 *   RS_REAL_NS             a namespace of the test's own (the ServiceAccount
 *                          rs-real may do anything to configmaps there, and
 *                          get and list nodes; nothing else)
 *   RS_REAL_LOG_POD        a pod there printing "line 1" .. "line 30", 50 ms apart
 *   RS_REAL_DEMO_POD       ns/name of a pod of the seeded workload (logs read only)
 *   RS_REAL_DEMO_LOG_LINES how many lines `kubectl logs --tail=20` printed for it
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/pb.h"

static const char *env(const char *name) {
  const char *v = getenv(name);
  cr_assert(v && *v, "%s is not set: run tests/kube/real_apiserver.sh", name);
  return v;
}

static rs_kube_client_t *client_o(const char *kc_env, const struct rs_kube_client_opts *o) {
  struct rs_kube_overrides ov = RS_KUBE_OVERRIDES_INIT;
  ov.kubeconfig = env(kc_env);
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_config_ rs_kube_config_t *cfg = NULL;
  cr_assert_eq(rs_kube_config_resolve(&ov, NULL, &cfg, &e), 0, "%s", e.msg);
  rs_kube_client_t *c = NULL;
  cr_assert_eq(rs_kube_client_new(cfg, o, &c, &e), 0, "%s", e.msg);
  return c;
}
static rs_kube_client_t *client(const char *kc_env) { return client_o(kc_env, NULL); }

/* /api/v1/namespaces/<ns>/configmaps[/<name>] */
static char *cm_path(const char *name) {
  const char *ns = env("RS_REAL_NS");
  return name ? rs_strdup_printf("/api/v1/namespaces/%s/configmaps/%s", ns, name)
              : rs_strdup_printf("/api/v1/namespaces/%s/configmaps", ns);
}

static json_t *cm(const char *name, const char *label, const char *k, const char *v) {
  return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                   "metadata", "name", name, "labels", "rs-real", label, "data", k, v);
}

static const char *data_of(const json_t *o, const char *key) {
  return json_string_value(json_object_get(json_object_get(o, "data"), key));
}

static json_t *whoami(rs_kube_client_t *c) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  json_auto_t *review = json_pack("{s:s, s:s}", "apiVersion", "authentication.k8s.io/v1", "kind",
                                  "SelfSubjectReview");
  json_t *r = NULL;
  cr_assert_eq(rs_kube_post(c, "/apis/authentication.k8s.io/v1/selfsubjectreviews", review, &r, &e),
               0, "%s", e.msg);
  return r;
}

static const char *username(const json_t *review) {
  return json_string_value(
      json_object_get(json_object_get(json_object_get(review, "status"), "userInfo"), "username"));
}

/* ---- TLS and authentication ---- */

Test(tls, client_certificate_and_cluster_ca) {
  _cleanup_kube_client_ rs_kube_client_t *c = client("RS_REAL_KUBECONFIG");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  json_auto_t *v = NULL;
  cr_assert_eq(rs_kube_get(c, "/version", &v, &e), 0, "%s", e.msg);
  cr_assert(rs_startswith(json_string_value(json_object_get(v, "gitVersion")), "v1."));
  json_auto_t *me = whoami(c);
  cr_assert_str_eq(username(me), "admin", "the client certificate is who we are");
  json_t *groups = json_object_get(json_object_get(json_object_get(me, "status"), "userInfo"), "groups");
  bool masters = false;
  size_t i;
  json_t *g;
  json_array_foreach(groups, i, g) masters |= strcmp(json_string_value(g), "system:masters") == 0;
  cr_assert(masters);
}

Test(tls, wrong_ca_refused) {
  _cleanup_kube_client_ rs_kube_client_t *c = client("RS_REAL_KC_WRONGCA");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_kube_get(c, "/version", NULL, &e), -1);
  cr_assert_eq(e.kind, RS_E_TRANSPORT, "%s", e.msg);
  cr_assert_eq(e.code, CURLE_PEER_FAILED_VERIFICATION, "%d %s", e.code, e.msg);
  cr_assert_eq(rs_kube_client_requests(c), 1, "a TLS refusal is not retried");
}

Test(auth, bearer_token_of_a_service_account) {
  _cleanup_kube_client_ rs_kube_client_t *c = client("RS_REAL_KC_TOKEN");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  json_auto_t *me = whoami(c);
  _cleanup_free_ char *want = rs_strdup_printf("system:serviceaccount:%s:rs-real", env("RS_REAL_NS"));
  cr_assert_str_eq(username(me), want);
  _cleanup_free_ char *p = cm_path(NULL);
  cr_assert_eq(rs_kube_get(c, p, NULL, &e), 0, "the Role allows configmaps: %s", e.msg);
  /* ... and not secrets: a typed 403 from RBAC */
  cr_assert_eq(rs_kube_get(c, "/api/v1/namespaces/kube-system/secrets", NULL, &e), -1);
  cr_assert(rs_kube_err_is(&e, 403), "%s", e.msg);
  cr_assert_str_eq(e.reason, "Forbidden");
  cr_assert(strstr(e.msg, want) && strstr(e.msg, "cannot list resource \"secrets\""), "%s", e.msg);
}

Test(auth, unknown_token_and_anonymous) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  rs_kube_client_t *c = client("RS_REAL_KC_BADTOKEN");
  cr_assert_eq(rs_kube_get(c, "/api/v1/namespaces", NULL, &e), -1);
  cr_assert(rs_kube_err_is(&e, 401), "%s", e.msg);
  cr_assert_str_eq(e.reason, "Unauthorized");
  rs_kube_client_free(c);
  c = client("RS_REAL_KC_ANON");
  cr_assert_eq(rs_kube_get(c, "/api/v1/namespaces", NULL, &e), -1);
  cr_assert(rs_kube_err_is(&e, 403) || rs_kube_err_is(&e, 401), "%s", e.msg);
  if (rs_kube_err_is(&e, 403)) cr_assert(strstr(e.msg, "system:anonymous"), "%s", e.msg);
  rs_kube_client_free(c);
}

/* ---- verbs, the three patch types, typed errors ---- */

Test(verbs, post_get_patch_put_delete) {
  _cleanup_kube_client_ rs_kube_client_t *c = client("RS_REAL_KUBECONFIG");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *coll = cm_path(NULL), *one = cm_path("crud");
  json_auto_t *body = cm("crud", "crud", "a", "1");
  json_auto_t *created = NULL, *got = NULL;
  cr_assert_eq(rs_kube_post(c, coll, body, &created, &e), 0, "%s", e.msg);
  cr_assert_str_eq(data_of(created, "a"), "1");
  cr_assert_eq(rs_kube_get(c, one, &got, &e), 0, "%s", e.msg);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(got, "metadata"), "uid")),
                   json_string_value(json_object_get(json_object_get(created, "metadata"), "uid")));

  /* strategic merge: its $patch directive replaces the whole map */
  json_auto_t *sp = json_pack("{s:{s:s, s:s}}", "data", "$patch", "replace", "only", "this");
  json_auto_t *r1 = NULL;
  cr_assert_eq(rs_kube_patch(c, one, RS_PATCH_STRATEGIC, sp, &r1, &e), 0, "%s", e.msg);
  cr_assert_eq(json_object_size(json_object_get(r1, "data")), 1, "the directive was understood");
  cr_assert_str_eq(data_of(r1, "only"), "this");
  /* sent as a merge patch the directive is just a (bad) key: 422 */
  cr_assert_eq(rs_kube_patch(c, one, RS_PATCH_MERGE, sp, NULL, &e), -1);
  cr_assert(rs_kube_err_is(&e, 422), "%s", e.msg);
  cr_assert_str_eq(e.reason, "Invalid");

  /* JSON merge patch: null deletes a key */
  json_auto_t *mp = json_pack("{s:{s:n, s:s}}", "data", "only", "b", "2");
  json_auto_t *r2 = NULL;
  cr_assert_eq(rs_kube_patch(c, one, RS_PATCH_MERGE, mp, &r2, &e), 0, "%s", e.msg);
  cr_assert_null(data_of(r2, "only"));
  cr_assert_str_eq(data_of(r2, "b"), "2");

  /* JSON patch: a list of operations, test included */
  json_auto_t *jp = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "op", "test", "path", "/data/b",
                              "value", "2", "op", "add", "path", "/data/c", "value", "3");
  json_auto_t *r3 = NULL;
  cr_assert_eq(rs_kube_patch(c, one, RS_PATCH_JSON, jp, &r3, &e), 0, "%s", e.msg);
  cr_assert_str_eq(data_of(r3, "c"), "3");
  cr_assert_str_eq(data_of(r3, "b"), "2");
  /* a list is no merge patch: the server refuses what the Content-Type says it is not */
  cr_assert_eq(rs_kube_patch(c, one, RS_PATCH_MERGE, jp, NULL, &e), -1);
  cr_assert(e.kind == RS_E_API && (e.code == 400 || e.code == 422), "%d %s", e.code, e.msg);
  json_auto_t *failing = json_pack("[{s:s, s:s, s:s}]", "op", "test", "path", "/data/b", "value", "9");
  cr_assert_eq(rs_kube_patch(c, one, RS_PATCH_JSON, failing, NULL, &e), -1);
  cr_assert(e.kind == RS_E_API && e.code >= 400 && e.code < 500, "a failed test op: %s", e.msg);

  /* PUT with the current resourceVersion, then again with the stale one: 409 */
  json_t *meta = json_object_get(r3, "metadata");
  json_auto_t *stale = json_deep_copy(r3);
  json_object_set_new(json_object_get(r3, "data"), "d", json_string("4"));
  json_auto_t *r4 = NULL;
  cr_assert_eq(rs_kube_put(c, one, r3, &r4, &e), 0, "%s", e.msg);
  cr_assert_str_eq(data_of(r4, "d"), "4");
  cr_assert_str_neq(json_string_value(json_object_get(json_object_get(r4, "metadata"), "resourceVersion")),
                    json_string_value(json_object_get(meta, "resourceVersion")));
  cr_assert_eq(rs_kube_put(c, one, stale, NULL, &e), -1);
  cr_assert(rs_kube_is_conflict(&e), "%s", e.msg);
  cr_assert_str_eq(e.reason, "Conflict");

  /* DELETE, then it is gone: 404 NotFound */
  json_auto_t *opts = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions",
                                "propagationPolicy", "Background");
  cr_assert_eq(rs_kube_delete(c, one, opts, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(rs_kube_get(c, one, NULL, &e), -1);
  cr_assert(rs_kube_is_not_found(&e), "%s", e.msg);
  cr_assert_str_eq(e.reason, "NotFound");
  cr_assert_str_eq(e.msg, "configmaps \"crud\" not found");
  cr_assert_eq(rs_kube_delete(c, one, NULL, NULL, &e), -1);
  cr_assert(rs_kube_is_not_found(&e), "%s", e.msg);
}

Test(verbs, already_exists_and_invalid) {
  _cleanup_kube_client_ rs_kube_client_t *c = client("RS_REAL_KUBECONFIG");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *coll = cm_path(NULL);
  json_auto_t *body = cm("twice", "errors", "a", "1");
  cr_assert_eq(rs_kube_post(c, coll, body, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(rs_kube_post(c, coll, body, NULL, &e), -1);
  cr_assert(rs_kube_is_conflict(&e), "%s", e.msg);
  cr_assert_str_eq(e.reason, "AlreadyExists");
  cr_assert_str_eq(e.msg, "configmaps \"twice\" already exists");
  cr_assert_eq(rs_kube_client_requests(c), 2, "a POST's 409 is not retried");
  json_auto_t *bad = cm("Not_A_Valid_Name", "errors", "a", "1");
  cr_assert_eq(rs_kube_post(c, coll, bad, NULL, &e), -1);
  cr_assert(rs_kube_err_is(&e, 422), "%s", e.msg);
  cr_assert_str_eq(e.reason, "Invalid");
  cr_assert(strstr(e.msg, "ConfigMap \"Not_A_Valid_Name\" is invalid: metadata.name: Invalid value"),
            "%s", e.msg);
  /* the same errors, asked for in protobuf: the Status comes back in
   * protobuf and is typed all the same */
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = "/api/v1/namespaces/default/configmaps/no-such-cm",
                          .accept = RS_PB_ACCEPT};
  char *raw = NULL;
  cr_assert_eq(rs_kube_request_raw(c, &r, &raw, NULL, &e), -1);
  cr_assert(rs_kube_is_not_found(&e), "%s", e.msg);
  cr_assert_str_eq(e.reason, "NotFound");
  cr_assert_str_eq(e.msg, "configmaps \"no-such-cm\" not found");
}

/* ---- lists ---- */

struct names {
  char last[256];
  int n, out_of_order;
};

static int on_item(void *ud, json_t *item, rs_err_t *err) {
  struct names *s = ud;
  (void)err;
  const char *name = json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
  if (s->n && strcmp(name, s->last) <= 0) s->out_of_order++;
  snprintf(s->last, sizeof s->last, "%s", name);
  s->n++;
  return 0;
}

static int count_ok(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  int *ok = ud;
  if (err->kind == RS_E_NONE && res->status == 201) (*ok)++;
  rs_err_clear(err);
  return 0;
}

/* Established TCP connections of this process to the API server's port. */
static int connections_to(int port) {
  char inodes[4096] = " ";
  DIR *d = opendir("/proc/self/fd");
  cr_assert(d);
  struct dirent *de;
  while ((de = readdir(d))) {
    char p[PATH_MAX], l[64];
    snprintf(p, sizeof p, "/proc/self/fd/%s", de->d_name);
    ssize_t n = readlink(p, l, sizeof l - 1);
    if (n <= 0) continue;
    l[n] = '\0';
    unsigned long ino;
    if (sscanf(l, "socket:[%lu]", &ino) == 1) {
      size_t len = strlen(inodes);
      snprintf(inodes + len, sizeof inodes - len, "%lu ", ino);
    }
  }
  closedir(d);
  int count = 0;
  const char *tables[] = {"/proc/self/net/tcp", "/proc/self/net/tcp6"};
  for (size_t t = 0; t < 2; t++) {
    FILE *f = fopen(tables[t], "re");
    if (!f) continue;
    char line[512];
    while (fgets(line, sizeof line, f)) {
      char rem[64];
      unsigned st;
      unsigned long ino;
      if (sscanf(line, "%*s %*s %63s %x %*s %*s %*s %*s %*s %lu", rem, &st, &ino) != 3) continue;
      const char *colon = strrchr(rem, ':');
      char key[32];
      snprintf(key, sizeof key, " %lu ", ino);
      if (colon && strtol(colon + 1, NULL, 16) == port && st == 1 && strstr(inodes, key)) count++;
    }
    fclose(f);
  }
  return count;
}

static int server_port(rs_kube_client_t *c) {
  const char *s = rs_kube_client_config(c)->server;
  const char *colon = strrchr(s, ':');
  return colon ? atoi(colon + 1) : 443;
}

struct logcap {
  int http2;
  int lines;
};
static void cap_log(void *ud, int level, const char *line) {
  struct logcap *l = ud;
  (void)level;
  l->lines++;
  if (strstr(line, "Response Header: HTTP/2 ")) l->http2++;
}

/* 150 ConfigMaps created concurrently (HTTP/2, as many streams as the
 * server allows, 100: all on one connection), then listed 7 at a time:
 * continue tokens, every item once, in order. */
Test(list, many_configmaps_small_pages_one_connection, .timeout = 120) {
  static struct logcap lc;
  struct rs_kube_client_opts o = {.verbosity = 9, .log = cap_log, .log_ud = &lc};
  _cleanup_kube_client_ rs_kube_client_t *c = client_o("RS_REAL_KUBECONFIG", &o);
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *coll = cm_path(NULL);
  int ok = 0;
  for (int i = 0; i < 150; i++) {
    char name[32];
    snprintf(name, sizeof name, "page-%03d", i);
    json_auto_t *body = cm(name, "page", "i", name);
    struct rs_kube_req r = {.method = RS_HTTP_POST, .path = coll, .body = body};
    cr_assert_eq(rs_kube_async(c, &r, count_ok, &ok, &e), 0, "%s", e.msg);
  }
  cr_assert_eq(rs_kube_run(c, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(ok, 150);
  cr_assert_eq(rs_kube_client_requests(c), 150);
  int conns = connections_to(server_port(c));
  cr_assert_eq(conns, 1, "150 requests, 100 in flight, one connection (%d)", conns);
  cr_assert_eq(lc.http2, 150, "every answer came over HTTP/2 (%d of %d log lines)", lc.http2, lc.lines);

  struct names s = {0};
  _cleanup_free_ char *rv = NULL;
  struct rs_kube_list_opts lo = {.label_selector = "rs-real=page", .limit = 7};
  unsigned long before = rs_kube_client_requests(c);
  cr_assert_eq(rs_kube_list(c, coll, &lo, on_item, &s, &rv, &e), 0, "%s", e.msg);
  cr_assert_eq(s.n, 150);
  cr_assert_eq(s.out_of_order, 0);
  cr_assert_str_eq(s.last, "page-149");
  cr_assert_eq(rs_kube_client_requests(c) - before, 22, "ceil(150/7) pages");
  cr_assert(rv && *rv);
  cr_assert_eq(connections_to(server_port(c)), 1, "and still the one connection");
}

struct pbpages {
  rs_kube_client_t *c;
  int pages, items;
  unsigned long requests_at[64];
};

/* A protobuf ConfigMapList page: count its items, return its continue. */
static int on_pb_page(void *ud, const char *body, size_t len, char **ret_continue, rs_err_t *err) {
  struct pbpages *p = ud;
  if (p->pages < 64) p->requests_at[p->pages] = rs_kube_client_requests(p->c);
  p->pages++;
  struct rs_pb raw;
  char kind[64];
  if (rs_pb_unwrap(body, len, &raw, kind, sizeof kind, err) < 0) return -1;
  cr_assert_str_eq(kind, "ConfigMapList");
  struct rs_pb_field f, g;
  while (rs_pb_next(&raw, &f) > 0) {
    if (f.num == 2) p->items++;
    if (f.num != 1) continue;
    struct rs_pb m = rs_pb_sub(&f);
    while (rs_pb_next(&m, &g) > 0)
      if (g.num == 3 && g.len) *ret_continue = rs_pb_strdup(&g);
  }
  return 0;
}

/* The look-ahead of rs_kube_list_pages on a real server: by the time page k
 * is handed over, page k+1 has already been asked for. */
Test(list, pages_with_look_ahead, .timeout = 120) {
  _cleanup_kube_client_ rs_kube_client_t *c = client("RS_REAL_KUBECONFIG");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *coll = cm_path(NULL);
  int ok = 0;
  for (int i = 0; i < 60; i++) {
    char name[32];
    snprintf(name, sizeof name, "ahead-%03d", i);
    json_auto_t *body = cm(name, "ahead", "i", name);
    struct rs_kube_req r = {.method = RS_HTTP_POST, .path = coll, .body = body};
    cr_assert_eq(rs_kube_async(c, &r, count_ok, &ok, &e), 0, "%s", e.msg);
  }
  cr_assert_eq(rs_kube_run(c, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(ok, 60);
  struct pbpages p = {.c = c};
  struct rs_kube_list_opts lo = {.label_selector = "rs-real=ahead", .limit = 10};
  unsigned long before = rs_kube_client_requests(c);
  cr_assert_eq(rs_kube_list_pages(c, coll, &lo, RS_PB_ACCEPT, on_pb_page, &p, &e), 0, "%s", e.msg);
  cr_assert_eq(p.items, 60);
  /* 6 full pages, and a 7th, empty one when the server could not tell the
   * 6th was the last */
  cr_assert(p.pages == 6 || p.pages == 7, "%d pages", p.pages);
  for (int k = 0; k + 1 < p.pages; k++)
    cr_assert_eq(p.requests_at[k] - before, (unsigned long)k + 2,
                 "page %d: the next one was already asked for (%lu)", k, p.requests_at[k] - before);
  cr_assert_eq(p.requests_at[p.pages - 1] - before, (unsigned long)p.pages, "nothing after the last");
  cr_assert_eq(rs_kube_client_requests(c) - before, (unsigned long)p.pages);
}

/* ---- watches ---- */

struct wstate {
  rs_kube_client_t *c;
  char types[2048];
  int bookmarks, added_after, errors, ticks;
  long long last_rv, started;
  bool made_after;
};

static int on_event(void *ud, const char *type, json_t *obj, rs_err_t *err) {
  struct wstate *w = ud;
  (void)err;
  const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
  const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
  long long r = rv ? atoll(rv) : 0;
  if (r < w->last_rv) w->errors++;
  w->last_rv = r;
  size_t l = strlen(w->types);
  snprintf(w->types + l, sizeof w->types - l, "%s%s%s ", type, name ? ":" : "", name ? name : "");
  if (strcmp(type, "BOOKMARK") == 0) w->bookmarks++;
  if (strcmp(type, "ADDED") == 0 && name && strcmp(name, "w-after") == 0) {
    w->added_after++;
    return 1;
  }
  return 0;
}

/* Every tick: change a ConfigMap the watch does not select.  (The API
 * server's watch cache sends a bookmark only once it has seen a newer
 * resourceVersion of the resource than the watcher has: on a quiet
 * cluster there would be none.)  Once the first watch call has ended
 * (timeoutSeconds 4) and been renewed, create one the watch selects. */
static int on_tick(void *ud, rs_err_t *err) {
  struct wstate *w = ud;
  _cleanup_free_ char *coll = cm_path(NULL), *ticker = cm_path("w-ticker");
  char n[32];
  snprintf(n, sizeof n, "%d", ++w->ticks);
  json_auto_t *patch = json_pack("{s:{s:s}}", "data", "n", n);
  if (rs_kube_patch(w->c, ticker, RS_PATCH_MERGE, patch, NULL, err) < 0) return -1;
  if (!w->made_after && rs_now_ms() - w->started > 6000) {
    json_auto_t *after = cm("w-after", "watch", "x", "y");
    if (rs_kube_post(w->c, coll, after, NULL, err) < 0) return -1;
    w->made_after = true;
  }
  return 0;
}

struct wlog {
  int watch_calls;
};
static void count_watch_calls(void *ud, int level, const char *line) {
  struct wlog *l = ud;
  if (level == 6 && strstr(line, "GET ") && strstr(line, "watch=1") && strstr(line, " 200 in ")) l->watch_calls++;
}

Test(watch, resource_version_bookmarks_renewal, .timeout = 120) {
  static struct wlog wl;
  struct rs_kube_client_opts o = {.verbosity = 6, .log = count_watch_calls, .log_ud = &wl};
  _cleanup_kube_client_ rs_kube_client_t *c = client_o("RS_REAL_KUBECONFIG", &o);
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *coll = cm_path(NULL), *one = cm_path("w-1");
  json_auto_t *ticker = cm("w-ticker", "ticker", "n", "0");
  cr_assert_eq(rs_kube_post(c, coll, ticker, NULL, &e), 0, "%s", e.msg);
  struct rs_kube_list_opts lo = {.label_selector = "rs-real=watch"};
  struct names s = {0};
  _cleanup_free_ char *rv = NULL;
  cr_assert_eq(rs_kube_list(c, coll, &lo, on_item, &s, &rv, &e), 0, "%s", e.msg);
  /* changes after the list's resourceVersion, made before the watch starts */
  json_auto_t *body = cm("w-1", "watch", "a", "1");
  json_auto_t *patch = json_pack("{s:{s:s}}", "data", "a", "2");
  cr_assert_eq(rs_kube_post(c, coll, body, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(rs_kube_patch(c, one, RS_PATCH_MERGE, patch, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(rs_kube_delete(c, one, NULL, NULL, &e), 0, "%s", e.msg);
  struct wstate w = {.c = c, .last_rv = atoll(rv), .started = rs_now_ms()};
  struct rs_kube_watch_opts wo = {.label_selector = "rs-real=watch", .resource_version = rv,
                                  .timeout_seconds = 4, .on_event = on_event, .ud = &w};
  cr_assert_eq(rs_kube_watch_start(c, coll, &wo, &e), 0, "%s", e.msg);
  struct rs_kube_run_opts ro = {.tick = on_tick, .tick_ud = &w, .tick_ms = 300,
                                .deadline_ms = rs_now_ms() + 60000};
  cr_assert_eq(rs_kube_run(c, &ro, &e), 0, "%s (events: %s)", e.msg, w.types);
  cr_assert(rs_startswith(w.types, "ADDED:w-1 MODIFIED:w-1 DELETED:w-1 "), "%s", w.types);
  cr_assert_geq(w.bookmarks, 1, "bookmarks before each call's timeout: %s", w.types);
  cr_assert_eq(w.added_after, 1, "%s", w.types);
  cr_assert_geq(wl.watch_calls, 2, "the watch was renewed (%d calls)", wl.watch_calls);
  cr_assert_eq(w.errors, 0, "resourceVersions never go back: %s", w.types);
}

struct gstate {
  rs_kube_client_t *c;
  int relists, added;
};

/* Events: the one core resource the API server keeps no watch cache for, so
 * a watch of them is served from etcd's own history.  The harness compacts
 * that history before the suite (as the API server does every five minutes
 * on a cluster older than its first compaction): revision 1 is gone. */
static char *ev_path(const char *name) {
  const char *ns = env("RS_REAL_NS");
  return name ? rs_strdup_printf("/api/v1/namespaces/%s/events/%s", ns, name)
              : rs_strdup_printf("/api/v1/namespaces/%s/events", ns);
}

static json_t *ev(const char *name, const char *label) {
  return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s, s:s, s:s}, s:s, s:s, s:s}", "apiVersion",
                   "v1", "kind", "Event", "metadata", "name", name, "labels", "rs-real", label,
                   "involvedObject", "kind", "ConfigMap", "name", "w-ticker", "namespace",
                   env("RS_REAL_NS"), "reason", "RuntimeSwitchTest", "message", "relist", "type",
                   "Normal");
}

static int on_gone_event(void *ud, const char *type, json_t *obj, rs_err_t *err) {
  struct gstate *g = ud;
  (void)err;
  const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
  if (strcmp(type, "ADDED") == 0 && name && strcmp(name, "gone-after") == 0) {
    g->added++;
    return 1;
  }
  return 0;
}

/* 410 Gone: list again (synchronous calls are allowed here), make a change
 * after that list, and watch from the new resourceVersion. */
static int relist(void *ud, char **ret_rv, rs_err_t *err) {
  struct gstate *g = ud;
  g->relists++;
  _cleanup_free_ char *coll = ev_path(NULL);
  struct rs_kube_list_opts lo = {.label_selector = "rs-real=gone"};
  struct names s = {0};
  if (rs_kube_list(g->c, coll, &lo, on_item, &s, ret_rv, err) < 0) return -1;
  json_auto_t *body = ev("gone-after", "gone");
  return rs_kube_post(g->c, coll, body, NULL, err);
}

Test(watch, too_old_resource_version_relists, .timeout = 60) {
  _cleanup_kube_client_ rs_kube_client_t *c = client("RS_REAL_KUBECONFIG");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *coll = ev_path(NULL), *made = ev_path("gone-after");
  rs_kube_delete(c, made, NULL, NULL, &e); /* a rerun's; absent is fine */
  rs_err_clear(&e);
  struct gstate g = {.c = c};
  struct rs_kube_watch_opts wo = {.label_selector = "rs-real=gone", .resource_version = "1",
                                  .timeout_seconds = 30, .on_event = on_gone_event,
                                  .on_gone = relist, .ud = &g};
  rs_kube_client_set_deadline(c, rs_now_ms() + 45000);
  cr_assert_eq(rs_kube_watch(c, coll, &wo, &e), 0, "%s (relists %d)", e.msg, g.relists);
  cr_assert_eq(g.relists, 1);
  cr_assert_eq(g.added, 1);
  /* without a relist callback the 410 is the caller's */
  struct gstate h = {.c = c};
  struct rs_kube_watch_opts wo2 = {.label_selector = "rs-real=gone", .resource_version = "1",
                                   .on_event = on_gone_event, .ud = &h};
  cr_assert_eq(rs_kube_watch(c, coll, &wo2, &e), -1);
  cr_assert(rs_kube_is_gone(&e), "%d %s", e.code, e.msg);
}

/* ---- pod logs ---- */

struct lines {
  char all[4096];
  int n, ends;
  int stop_at;
};

static int on_line(void *ud, const char *line, size_t len, rs_err_t *err) {
  struct lines *l = ud;
  (void)err;
  if (!line) {
    l->ends++;
    return 0;
  }
  size_t o = strlen(l->all);
  snprintf(l->all + o, sizeof l->all - o, "%.*s|", (int)len, line);
  return ++l->n == l->stop_at ? 1 : 0;
}

Test(logs, stream_a_real_pod, .timeout = 90) {
  _cleanup_kube_client_ rs_kube_client_t *c = client("RS_REAL_KUBECONFIG");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  const char *ns = env("RS_REAL_NS"), *pod = env("RS_REAL_LOG_POD");
  /* follow: the lines as the container prints them, until we stop */
  struct lines f = {.stop_at = 30};
  struct rs_kube_log_opts fo = {.follow = true};
  rs_kube_client_set_deadline(c, rs_now_ms() + 60000);
  cr_assert_eq(rs_kube_pod_logs(c, ns, pod, &fo, on_line, &f, &e), 0, "%s", e.msg);
  rs_buf_t want = RS_BUF_INIT(0);
  for (int i = 1; i <= 30; i++) rs_buf_printf(&want, NULL, "line %d|", i);
  cr_assert_str_eq(f.all, want.data);
  rs_buf_free(&want);
  /* tail and limitBytes */
  struct lines t = {0};
  struct rs_kube_log_opts to = {.tail_lines = 3, .tail_set = true};
  cr_assert_eq(rs_kube_pod_logs(c, ns, pod, &to, on_line, &t, &e), 0, "%s", e.msg);
  cr_assert_str_eq(t.all, "line 28|line 29|line 30|");
  cr_assert_eq(t.ends, 1, "one end of stream");
  struct lines b = {0};
  struct rs_kube_log_opts bo = {.limit_bytes = 7};
  cr_assert_eq(rs_kube_pod_logs(c, ns, pod, &bo, on_line, &b, &e), 0, "%s", e.msg);
  cr_assert_str_eq(b.all, "line 1|");
  /* a pod that is not there: typed */
  struct lines m = {0};
  cr_assert_eq(rs_kube_pod_logs(c, ns, "no-such-pod", &to, on_line, &m, &e), -1);
  cr_assert(rs_kube_is_not_found(&e), "%s", e.msg);
}

Test(logs, a_pod_of_the_demo_workload) {
  _cleanup_kube_client_ rs_kube_client_t *c = client("RS_REAL_KUBECONFIG");
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *nsname = strdup(env("RS_REAL_DEMO_POD"));
  char *slash = strchr(nsname, '/');
  cr_assert(slash);
  *slash = '\0';
  struct lines l = {0};
  struct rs_kube_log_opts o = {.tail_lines = 20, .tail_set = true};
  cr_assert_eq(rs_kube_pod_logs(c, nsname, slash + 1, &o, on_line, &l, &e), 0, "%s", e.msg);
  cr_assert_eq(l.n, atoi(env("RS_REAL_DEMO_LOG_LINES")), "as many lines as kubectl logs: %s", l.all);
  cr_assert_eq(l.ends, 1);
}
