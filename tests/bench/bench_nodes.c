/* Benchmark helper: create or delete many fake Node objects quickly, through
 * the project's own client (one HTTP/2 connection, many streams in flight).
 *
 *   bench_nodes create TEMPLATE.json PREFIX N [INFLIGHT]
 *       POST N copies of the Node in TEMPLATE.json named PREFIX-00000 ...;
 *       each gets its own kubernetes.io/hostname label and InternalIP
 *       (198.18.0.0/15, the benchmarking range), and one of three runtime
 *       profiles in turn (dockershim, containerd, cri-dockerd).
 *   bench_nodes delete SELECTOR [INFLIGHT]
 *       DELETE every Node matching the label selector.
 *
 * The kubeconfig comes from $KUBECONFIG as for the plugin.  Prints one line:
 * what was done, how many failed, and how long it took. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

struct tally {
  size_t ok, failed, missing;
  char first_error[512];
};

static int on_done(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct tally *t = ud;
  (void)res;
  if (err->kind == RS_E_NONE) {
    t->ok++;
  } else if (rs_kube_is_not_found(err)) {
    t->missing++;
  } else {
    if (t->failed++ == 0) snprintf(t->first_error, sizeof t->first_error, "%s", err->msg);
  }
  rs_err_clear(err);
  return 0;
}

static const struct {
  const char *runtime, *kubelet, *socket;
} profiles[] = {
    {"docker://20.10.24", "v1.23.17", "/var/run/dockershim.sock"},
    {"containerd://1.7.2", "v1.27.3", "unix:///run/containerd/containerd.sock"},
    {"docker://24.0.7", "v1.28.4", "unix:///var/run/cri-dockerd.sock"},
};

static json_t *node_for(const json_t *tmpl, const char *prefix, long i) {
  json_t *n = json_deep_copy(tmpl);
  if (!n) return NULL;
  char name[256], ip[32];
  snprintf(name, sizeof name, "%s-%05ld", prefix, i);
  snprintf(ip, sizeof ip, "198.%ld.%ld.%ld", 18 + (i >> 16), (i >> 8) & 255, i & 255);
  size_t p = (size_t)i % (sizeof profiles / sizeof *profiles);
  json_t *meta = json_object_get(n, "metadata");
  json_t *labels = json_object_get(meta, "labels");
  json_t *ann = json_object_get(meta, "annotations");
  json_t *info = json_object_get(json_object_get(n, "status"), "nodeInfo");
  if (!json_is_object(meta) || !json_is_object(labels) || !json_is_object(ann) ||
      !json_is_object(info)) {
    json_decref(n);
    return NULL;
  }
  json_object_set_new(meta, "name", json_string(name));
  json_object_set_new(labels, "kubernetes.io/hostname", json_string(name));
  json_object_set_new(ann, "kubeadm.alpha.kubernetes.io/cri-socket", json_string(profiles[p].socket));
  json_object_set_new(info, "containerRuntimeVersion", json_string(profiles[p].runtime));
  json_object_set_new(info, "kubeletVersion", json_string(profiles[p].kubelet));
  json_t *addrs = json_pack("[{s:s, s:s}, {s:s, s:s}]", "type", "InternalIP", "address", ip,
                            "type", "Hostname", "address", name);
  json_object_set_new(json_object_get(n, "status"), "addresses", addrs);
  return n;
}

static rs_kube_client_t *client(long inflight, rs_err_t *err) {
  _cleanup_kube_config_ rs_kube_config_t *cfg = NULL;
  struct rs_kube_overrides ov = RS_KUBE_OVERRIDES_INIT;
  if (rs_kube_config_resolve(&ov, NULL, &cfg, err) < 0) return NULL;
  struct rs_kube_client_opts o = {.max_inflight = (int)inflight};
  rs_kube_client_t *c = NULL;
  return rs_kube_client_new(cfg, &o, &c, err) < 0 ? NULL : c;
}

static int names_of(void *ud, json_t *item, rs_err_t *err) {
  const char *n = json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
  return n ? rs_strv_push(ud, n, err) : 0;
}

static int usage(void) {
  fprintf(stderr, "usage: bench_nodes create TEMPLATE.json PREFIX N [INFLIGHT]\n"
                  "       bench_nodes delete SELECTOR [INFLIGHT]\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  bool create = strcmp(argv[1], "create") == 0;
  if (!create && strcmp(argv[1], "delete") != 0) return usage();
  if (create && argc < 5) return usage();
  long inflight = 64, n = 0;
  if (create ? argc > 5 : argc > 3) {
    if (rs_parse_long(argv[create ? 5 : 3], 1, 1000, &inflight) < 0) return usage();
  }
  if (create && rs_parse_long(argv[4], 0, 1000000, &n) < 0) return usage();
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_kube_client_ rs_kube_client_t *c = client(inflight, &e);
  if (!c) {
    fprintf(stderr, "bench_nodes: %s\n", e.msg);
    return 1;
  }
  struct tally t = {0};
  long long t0 = rs_now_ms();
  if (create) {
    json_error_t je;
    json_auto_t *tmpl = json_load_file(argv[2], 0, &je);
    if (!tmpl) {
      fprintf(stderr, "bench_nodes: %s:%d: %s\n", argv[2], je.line, je.text);
      return 1;
    }
    for (long i = 0; i < n; i++) {
      json_auto_t *node = node_for(tmpl, argv[3], i);
      struct rs_kube_req r = {.method = RS_HTTP_POST, .path = "/api/v1/nodes", .body = node};
      if (!node || rs_kube_async(c, &r, on_done, &t, &e) < 0) {
        fprintf(stderr, "bench_nodes: %s\n", node ? e.msg : "the template is not a Node");
        return 1;
      }
    }
  } else {
    _cleanup_strv_ char **names = rs_strv_new();
    struct rs_kube_list_opts lo = {.label_selector = argv[2]};
    if (!names || rs_kube_list(c, "/api/v1/nodes", &lo, names_of, &names, NULL, &e) < 0) {
      fprintf(stderr, "bench_nodes: %s\n", e.msg ? e.msg : "out of memory");
      return 1;
    }
    for (size_t i = 0; names[i]; i++) {
      _cleanup_free_ char *en = rs_kube_escape(names[i]);
      _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
      struct rs_kube_req r = {.method = RS_HTTP_DELETE, .path = path};
      if (!path || rs_kube_async(c, &r, on_done, &t, &e) < 0) {
        fprintf(stderr, "bench_nodes: %s\n", path ? e.msg : "out of memory");
        return 1;
      }
    }
  }
  if (rs_kube_run(c, NULL, &e) < 0) {
    fprintf(stderr, "bench_nodes: %s\n", e.msg);
    return 1;
  }
  printf("%s: %zu done, %zu already gone, %zu failed in %.1f s over %lu request(s)%s%s\n",
         argv[1], t.ok, t.missing, t.failed, (double)(rs_now_ms() - t0) / 1000.0,
         rs_kube_client_requests(c), t.failed ? "; first error: " : "", t.first_error);
  return t.failed ? 1 : 0;
}
