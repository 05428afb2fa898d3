/* The Jobs that run the helper on the node, the working namespace, the
 * image they borrow, and what the helper's pods tell.  See
 * include/ops/deliver.h; the carrier of the helper's bytes, and what is
 * checked where so that only those bytes run as root, is ops/carrier.c. */
#include "ops/deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "kube/kubeconfig.h"


static const char *const role_names[_RS_JOB_MAX] = {"preflight", "switch", "verify", "rollback"};

const char *rs_job_role_name(int role) {
  return role >= 0 && role < _RS_JOB_MAX ? role_names[role] : "unknown";
}

/* ---- run ids and names ---- */

bool rs_run_id_valid(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > RS_RUN_ID_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = id[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (ch == '-' && i > 0);
    if (!ok) return false;
  }
  return id[n - 1] != '-';
}

int rs_run_id_new(char ret[RS_RUN_ID_MAX + 1], rs_err_t *err) {
  unsigned char rnd[2];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    return rs_fail_errno(err, errno, "getrandom");
  time_t now = time(NULL);
  struct tm tm;
  if (!gmtime_r(&now, &tm)) return rs_fail(err, RS_E_SYS, EINVAL, "gmtime");
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  snprintf(ret, RS_RUN_ID_MAX + 1, "%s-%02x%02x", stamp, rnd[0], rnd[1]);
  return 0;
}

char *rs_deliver_job_name(const char *id, int role) {
  return rs_strdup_printf("rsw-%s-%s", id, rs_job_role_name(role));
}

/* ---- manifests ---- */

static json_t *labels_for(const struct rs_deliver_spec *s, const char *role) {
  json_t *l = json_pack("{s:s, s:s}", RS_LABEL_MANAGED_BY, RS_MANAGED_BY, RS_LABEL_ID, s->id);
  if (l && role) json_object_set_new(l, RS_LABEL_ROLE, json_string(role));
  return l;
}

static int push_long(char ***v, const char *flag, long n, rs_err_t *err) {
  char num[32];
  snprintf(num, sizeof num, "%ld", n);
  if (rs_strv_push(v, flag, err) < 0 || rs_strv_push(v, num, err) < 0) return -1;
  return 0;
}

char **rs_deliver_helper_argv(const struct rs_deliver_spec *s, int role, rs_err_t *err) {
  _cleanup_strv_ char **v = rs_strv_new();
  if (!v) {
    rs_oom(err);
    return NULL;
  }
  if (!s->helper_sha256) {
    rs_fail(err, RS_E_USAGE, EINVAL, "no helper sha256 for the %s Job", rs_job_role_name(role));
    return NULL;
  }
  /* the bytes that start check themselves first (helper/contract.h) */
  int r = rs_strv_push(&v, RS_DELIVER_MOUNT_DIR "/" RS_DELIVER_FILE, err);
  switch (role) {
  case RS_JOB_PREFLIGHT:
  case RS_JOB_SWITCH:
    if (!s->to) {
      rs_fail(err, RS_E_USAGE, EINVAL, "no target runtime for the %s Job", rs_job_role_name(role));
      return NULL;
    }
    if (r == 0)
      r = rs_strv_push(&v, role == RS_JOB_PREFLIGHT ? RS_HELPER_CMD_PREFLIGHT : RS_HELPER_CMD_LAUNCH, err);
    if (r == 0) r = rs_strv_push(&v, "--to", err);
    if (r == 0) r = rs_strv_push(&v, s->to, err);
    if (r == 0) r = rs_strv_push(&v, "--id", err);
    if (r == 0) r = rs_strv_push(&v, s->id, err);
    if (r == 0 && s->no_images) r = rs_strv_push(&v, "--no-images", err);
    if (r == 0 && role == RS_JOB_SWITCH && s->helper_deadline_s > 0)
      r = push_long(&v, "--deadline", s->helper_deadline_s, err);
    if (r == 0 && role == RS_JOB_SWITCH && s->kubelet_wait_s > 0)
      r = push_long(&v, "--kubelet-wait", s->kubelet_wait_s, err);
    break;
  case RS_JOB_VERIFY:
    if (r == 0) r = rs_strv_push(&v, RS_HELPER_CMD_REPORT, err);
    if (r == 0) r = rs_strv_push(&v, "--id", err);
    if (r == 0) r = rs_strv_push(&v, s->id, err);
    if (r == 0 && s->wait_s > 0) r = push_long(&v, "--wait", s->wait_s, err);
    break;
  case RS_JOB_ROLLBACK:
    if (r == 0) r = rs_strv_push(&v, RS_HELPER_CMD_ROLLBACK, err);
    if (r == 0) r = rs_strv_push(&v, "--id", err);
    if (r == 0) r = rs_strv_push(&v, s->id, err);
    if (r == 0 && s->reason) r = rs_strv_push(&v, "--reason", err);
    if (r == 0 && s->reason) r = rs_strv_push(&v, s->reason, err);
    break;
  default:
    rs_fail(err, RS_E_USAGE, EINVAL, "unknown Job role %d", role);
    return NULL;
  }
  if (r == 0) r = rs_strv_push(&v, RS_HELPER_OPT_EXPECT_SHA256, err);
  if (r == 0) r = rs_strv_push(&v, s->helper_sha256, err);
  return r == 0 ? TAKE_PTR(v) : NULL;
}

/* How long each Job may run before the Job controller stops it, and how
 * many pods it may use.  The verify Job's first pod may start on the old
 * runtime and die with it; later pods then run on the new one. */
static long active_deadline(const struct rs_deliver_spec *s, int role) {
  switch (role) {
  case RS_JOB_PREFLIGHT: return 600;
  case RS_JOB_SWITCH: return 900;
  case RS_JOB_VERIFY: return (s->wait_s > 0 ? s->wait_s : 900) + 900;
  default: return 1800;
  }
}

static int backoff_limit(int role) {
  switch (role) {
  case RS_JOB_VERIFY: return 6;
  case RS_JOB_ROLLBACK: return 2;
  default: return 0;
  }
}

/* The pod template; also the body of the admission probe.  The verify
 * pod alone uses the pod network: it must prove that a pod, sandbox and
 * CNI included, runs on the new runtime (on the host's network a broken
 * CNI carry-over would pass); it reads the helper's report all the same
 * (the helper enters PID 1's namespaces).  Every pod runs as the
 * namespace's default service account without a token: the helper needs
 * no API access, and a pod of ours must never lend the user another
 * identity (in kube-system, `pods create` let the user run pods as any of
 * its service accounts, the controllers' among them). */
static json_t *pod_spec(const struct rs_deliver_spec *s, int role, rs_err_t *err) {
  _cleanup_strv_ char **argv = rs_deliver_helper_argv(s, role, err);
  if (!argv) return NULL;
  const char *carrier = s->carrier;
  if (!carrier) {
    rs_fail(err, RS_E_USAGE, EINVAL, "no carrier for the %s Job", rs_job_role_name(role));
    return NULL;
  }
  json_t *cmd = json_array();
  if (!cmd) {
    rs_oom(err);
    return NULL;
  }
  for (size_t i = 0; argv[i]; i++) json_array_append_new(cmd, json_string(argv[i]));
  json_t *vol = s->use_secret
                    ? json_pack("{s:s, s:{s:s, s:i}}", "name", "helper", "secret", "secretName",
                                carrier, "defaultMode", 0755)
                    : json_pack("{s:s, s:{s:s, s:i}}", "name", "helper", "configMap", "name",
                                carrier, "defaultMode", 0755);
  json_t *spec = json_pack(
      "{s:s, s:b, s:b, s:s, s:s, s:b, s:b, s:i, s:[{s:s}],"
      " s:[{s:s, s:s, s:s, s:o, s:s,"
      "     s:{s:b, s:i, s:i},"
      "     s:[{s:s, s:s, s:b}],"
      "     s:{s:{s:s, s:s}}}],"
      " s:[o]}",
      "nodeName", s->node, "hostPID", 1, "hostNetwork", role != RS_JOB_VERIFY, "restartPolicy", "Never",
      "serviceAccountName", "default", "automountServiceAccountToken", 0, "enableServiceLinks", 0,
      "terminationGracePeriodSeconds", 10, "tolerations", "operator", "Exists",
      "containers", "name", RS_DELIVER_CONTAINER, "image", s->image, "imagePullPolicy", "Never",
      "command", cmd, "terminationMessagePolicy", "FallbackToLogsOnError",
      "securityContext", "privileged", 1, "runAsUser", 0, "runAsGroup", 0,
      "volumeMounts", "name", "helper", "mountPath", RS_DELIVER_MOUNT_DIR, "readOnly", 1,
      "resources", "requests", "cpu", "10m", "memory", "16Mi",
      "volumes", vol);
  if (!spec) {
    rs_oom(err);
    return NULL;
  }
  if (s->priority) json_object_set_new(spec, "priorityClassName", json_string(RS_DELIVER_PRIORITY));
  return spec;
}

json_t *rs_deliver_job(const struct rs_deliver_spec *s, int role, rs_err_t *err) {
  if (!s->image || !*s->image) {
    rs_fail(err, RS_E_USAGE, EINVAL, "no image for the %s Job", rs_job_role_name(role));
    return NULL;
  }
  json_t *spec = pod_spec(s, role, err);
  if (!spec) return NULL;
  _cleanup_free_ char *name = rs_deliver_job_name(s->id, role);
  if (!name) {
    json_decref(spec);
    rs_oom(err);
    return NULL;
  }
  json_t *job = json_pack(
      "{s:s, s:s, s:{s:s, s:s, s:o, s:{s:s}},"
      " s:{s:b, s:i, s:i, s:i, s:{s:{s:o}, s:o}}}",
      "apiVersion", "batch/v1", "kind", "Job", "metadata", "name", name, "namespace", s->ns,
      "labels", labels_for(s, rs_job_role_name(role)), "annotations", RS_ANN_NODE, s->node,
      "spec", "suspend", 1, "backoffLimit", backoff_limit(role), "activeDeadlineSeconds",
      (json_int_t)active_deadline(s, role), "ttlSecondsAfterFinished", 86400, "template",
      "metadata", "labels", labels_for(s, rs_job_role_name(role)), "spec", spec);
  if (!job) rs_oom(err);
  return job;
}

/* ---- Pod Security ---- */

static int level_rank(const char *level) {
  if (!level || strcmp(level, "privileged") == 0) return 0;
  if (strcmp(level, "baseline") == 0) return 1;
  if (strcmp(level, "restricted") == 0) return 2;
  return -1;
}

int rs_deliver_psa_check(const json_t *ns_obj, char **ret_warning, rs_err_t *err) {
  const json_t *meta = json_object_get(ns_obj, "metadata");
  const char *name = json_string_value(json_object_get(meta, "name"));
  const json_t *labels = json_object_get(meta, "labels");
  const char *enforce = json_string_value(json_object_get(labels, "pod-security.kubernetes.io/enforce"));
  if (!name) name = "?";
  int r = level_rank(enforce);
  if (r != 0) {
    return rs_fail(err, RS_E_CONFIG, 0,
                   "namespace %s enforces Pod Security \"%s\" (label pod-security.kubernetes.io/enforce=%s), "
                   "which rejects the helper's privileged hostPID pods; allow them with "
                   "`kubectl label namespace %s pod-security.kubernetes.io/enforce=privileged --overwrite`, "
                   "or pick a namespace that allows privileged pods with -n NAMESPACE",
                   name, enforce, enforce, name);
  }
  if (!ret_warning) return 0;
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(4096);
  static const char *const modes[] = {"warn", "audit"};
  for (size_t i = 0; i < RS_ARRAY_SIZE(modes); i++) {
    _cleanup_free_ char *key = rs_strdup_printf("pod-security.kubernetes.io/%s", modes[i]);
    if (!key) return rs_oom(err);
    const char *lvl = json_string_value(json_object_get(labels, key));
    if (lvl && level_rank(lvl) != 0 &&
        rs_buf_printf(&b, err, "%snamespace %s has %s=%s: the helper's pods will be reported as violations",
                      b.len ? "; " : "", name, key, lvl) < 0)
      return -1;
  }
  *ret_warning = b.len ? rs_buf_steal(&b, NULL) : NULL;
  return 0;
}

json_t *rs_deliver_namespace(rs_err_t *err) {
  json_t *o = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s, s:s, s:s}}}", "apiVersion", "v1", "kind",
                        "Namespace", "metadata", "name", RS_DELIVER_DEFAULT_NS, "labels", RS_LABEL_MANAGED_BY,
                        RS_MANAGED_BY, "pod-security.kubernetes.io/enforce", "privileged",
                        "pod-security.kubernetes.io/enforce-version", "latest",
                        "pod-security.kubernetes.io/audit", "privileged",
                        "pod-security.kubernetes.io/warn", "privileged");
  if (!o) rs_oom(err);
  return o;
}

/* Create the default working namespace; 409 (another run made it first)
 * is fine, a 403 says which manifest an admin can apply instead. */
static int create_namespace(rs_kube_client_t *c, rs_err_t *err) {
  json_auto_t *ns = rs_deliver_namespace(err);
  if (!ns) return -1;
  if (rs_kube_post(c, "/api/v1/namespaces?fieldValidation=Strict", ns, NULL, err) == 0) return 0;
  if (rs_kube_is_conflict(err)) {
    rs_err_clear(err);
    return 0;
  }
  if (rs_kube_err_is(err, 403)) {
    _cleanup_free_ char *why = rs_strdup0(err->msg);
    return rs_fail(err, RS_E_CONFIG, 403,
                   "the working namespace %s does not exist and you may not create it (%s); ask an admin "
                   "to `kubectl apply -f %s` (it creates %s with the Pod Security labels the helper's "
                   "privileged pods need), or pass -n NAMESPACE",
                   RS_DELIVER_DEFAULT_NS, why ? why : "forbidden", RS_DELIVER_NS_MANIFEST,
                   RS_DELIVER_DEFAULT_NS);
  }
  return rs_wrap(err, "creating namespace %s", RS_DELIVER_DEFAULT_NS);
}

int rs_deliver_check_namespace(rs_kube_client_t *c, const char *ns, bool create, bool *ret_created,
                               char **ret_warning, rs_err_t *err) {
  _cleanup_free_ char *en = rs_kube_escape(ns);
  _cleanup_free_ char *path = en ? rs_strdup_printf("/api/v1/namespaces/%s", en) : NULL;
  if (!path) return rs_oom(err);
  if (ret_created) *ret_created = false;
  json_auto_t *obj = NULL;
  if (rs_kube_get(c, path, &obj, err) < 0) {
    if (!rs_kube_is_not_found(err)) return rs_wrap(err, "reading namespace %s", ns);
    if (!create)
      return rs_fail(err, RS_E_CONFIG, 404, "namespace %s does not exist (choose one with -n, or leave -n "
                     "out for the plugin's own, %s)", ns, RS_DELIVER_DEFAULT_NS);
    rs_err_clear(err);
    if (create_namespace(c, err) < 0) return -1;
    if (ret_created) *ret_created = true;
    if (rs_kube_get(c, path, &obj, err) < 0) return rs_wrap(err, "reading namespace %s", ns);
  }
  return rs_deliver_psa_check(obj, ret_warning, err);
}

/* ---- the image ---- */

struct cand {
  const char *image;
  int score;
};

static bool pod_stays(const json_t *pod) {
  const json_t *meta = json_object_get(pod, "metadata");
  if (json_object_get(json_object_get(meta, "annotations"), "kubernetes.io/config.mirror")) return true;
  size_t i;
  json_t *ref;
  json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref) {
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    if (kind && strcmp(kind, "DaemonSet") == 0 && json_is_true(json_object_get(ref, "controller")))
      return true;
  }
  return false;
}

static bool pod_is_ours(const json_t *pod) {
  const char *m = json_string_value(json_object_get(
      json_object_get(json_object_get(pod, "metadata"), "labels"), RS_LABEL_MANAGED_BY));
  return m && strcmp(m, RS_MANAGED_BY) == 0;
}

/* The spec image of the container named name. */
static const char *spec_image(const json_t *pod, const char *name) {
  size_t i;
  json_t *ct;
  json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, ct) {
    const char *n = json_string_value(json_object_get(ct, "name"));
    if (n && name && strcmp(n, name) == 0) return json_string_value(json_object_get(ct, "image"));
  }
  return NULL;
}

int rs_deliver_pick_image(const json_t *pods, char **ret, rs_err_t *err) {
  size_t n = json_array_size(pods), ncand = 0;
  struct cand *cands = NULL;
  int rc = -1;
  if (n > 100000) return rs_fail(err, RS_E_LIMIT, 0, "too many pods on the node (%zu)", n);
  size_t i;
  json_t *pod;
  json_array_foreach(pods, i, pod) {
    if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") || pod_is_ours(pod))
      continue;
    bool stays = pod_stays(pod);
    size_t j;
    json_t *cs;
    json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), j, cs) {
      if (!json_object_get(json_object_get(cs, "state"), "running")) continue;
      const char *img = spec_image(pod, json_string_value(json_object_get(cs, "name")));
      if (!img || !*img) continue;
      size_t k;
      for (k = 0; k < ncand && strcmp(cands[k].image, img) != 0; k++) {}
      if (k == ncand) {
        struct cand *nc = realloc(cands, (ncand + 1) * sizeof *cands);
        if (!nc) {
          rs_oom(err);
          goto out;
        }
        cands = nc;
        cands[ncand++] = (struct cand){img, 0};
      }
      cands[k].score += stays ? 1000 : 1;
    }
  }
  if (!ncand) {
    rs_fail(err, RS_E_INPUT, 0,
            "no running container on the node to borrow an image from; pass --image with an "
            "image the node already has");
    goto out;
  }
  size_t best = 0;
  for (size_t k = 1; k < ncand; k++)
    if (cands[k].score > cands[best].score ||
        (cands[k].score == cands[best].score && strcmp(cands[k].image, cands[best].image) < 0))
      best = k;
  if (!(*ret = strdup(cands[best].image))) {
    rs_oom(err);
    goto out;
  }
  rc = 0;
out:
  free(cands);
  return rc;
}

int rs_deliver_pick_node_image(const json_t *node, char **ret, rs_err_t *err) {
  const char *best = NULL;
  json_int_t best_size = 0;
  size_t i, j;
  json_t *img, *name;
  json_array_foreach(json_object_get(json_object_get(node, "status"), "images"), i, img) {
    json_int_t size = json_integer_value(json_object_get(img, "sizeBytes"));
    json_array_foreach(json_object_get(img, "names"), j, name) {
      const char *n = json_string_value(name);
      if (!n || strchr(n, '@') || !strchr(n, ':') || rs_startswith(n, "sha256:")) continue;
      if (!best || size < best_size || (size == best_size && strcmp(n, best) < 0)) {
        best = n;
        best_size = size;
      }
    }
  }
  if (!best)
    return rs_fail(err, RS_E_INPUT, 0, "no running container on the node and no image in its status to "
                   "borrow; pass --image with an image the node already has");
  return (*ret = strdup(best)) ? 0 : rs_oom(err);
}

/* ---- API calls ---- */

char *rs_deliver_path(const char *group_prefix, const char *ns, const char *plural, const char *name) {
  _cleanup_free_ char *en = rs_kube_escape(ns);
  _cleanup_free_ char *nn = name ? rs_kube_escape(name) : NULL;
  if (!en || (name && !nn)) return NULL;
  return name ? rs_strdup_printf("%s/namespaces/%s/%s/%s", group_prefix, en, plural, nn)
              : rs_strdup_printf("%s/namespaces/%s/%s", group_prefix, en, plural);
}

static bool mentions_priority(const char *msg) {
  return msg && (strstr(msg, "priorityclass") || strstr(msg, "PriorityClass") ||
                 strstr(msg, "priorityClass") || strstr(msg, RS_DELIVER_PRIORITY) ||
                 strstr(msg, "insufficient quota to match these scopes"));
}

int rs_deliver_probe(rs_kube_client_t *c, struct rs_deliver_spec *s, char **ret_note,
                     rs_err_t *err) {
  _cleanup_free_ char *path = rs_deliver_path("/api/v1", s->ns, "pods", NULL);
  _cleanup_free_ char *full = path ? rs_strdup_printf("%s?dryRun=All&fieldValidation=Strict", path) : NULL;
  _cleanup_free_ char *name = rs_strdup_printf("rsw-%s-probe", s->id);
  if (!full || !name) return rs_oom(err);
  for (int attempt = 0; attempt < 2; attempt++) {
    json_auto_t *spec = pod_spec(s, RS_JOB_PREFLIGHT, err);
    if (!spec) return -1;
    json_auto_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:O}", "apiVersion", "v1", "kind",
                                 "Pod", "metadata", "name", name, "namespace", s->ns, "labels",
                                 labels_for(s, "probe"), "spec", spec);
    if (!pod) return rs_oom(err);
    rs_err_t e = RS_ERR_INIT;
    if (rs_kube_post(c, full, pod, NULL, &e) == 0) return 0;
    if (e.kind == RS_E_API && (e.code == 403 || e.code == 422) && s->priority &&
        mentions_priority(e.msg)) {
      s->priority = false;
      if (ret_note && !*ret_note)
        *ret_note = rs_strdup_printf("priorityClassName %s is not allowed in namespace %s (%s); "
                                     "the helper's pods run without it",
                                     RS_DELIVER_PRIORITY, s->ns, e.msg);
      rs_err_clear(&e);
      continue;
    }
    if (e.kind == RS_E_API && e.code == 403 && e.msg && strstr(e.msg, "PodSecurity")) {
      rs_fail(err, RS_E_CONFIG, 403,
              "namespace %s does not admit the helper's privileged hostPID pod: %s; allow it with "
              "`kubectl label namespace %s pod-security.kubernetes.io/enforce=privileged --overwrite` "
              "or use -n with a namespace that allows privileged pods",
              s->ns, e.msg, s->ns);
      rs_err_clear(&e);
      return -1;
    }
    rs_err_move(err, &e);
    return rs_wrap(err, "checking that namespace %s admits the helper's pod", s->ns);
  }
  return 0;
}

static const char *ann(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"),
                                                           "annotations"), key));
}

int rs_deliver_put_job(rs_kube_client_t *c, const struct rs_deliver_spec *s, int role, json_t **ret_job,
                       bool *ret_existed, rs_err_t *err) {
  json_auto_t *job = rs_deliver_job(s, role, err);
  if (!job) return -1;
  const char *name = json_string_value(json_object_get(json_object_get(job, "metadata"), "name"));
  _cleanup_free_ char *coll = rs_deliver_path("/apis/batch/v1", s->ns, "jobs", NULL);
  _cleanup_free_ char *post = coll ? rs_strdup_printf("%s?fieldValidation=Strict", coll) : NULL;
  _cleanup_free_ char *item = name ? rs_deliver_path("/apis/batch/v1", s->ns, "jobs", name) : NULL;
  if (!post || !item) return rs_oom(err);
  json_auto_t *got = NULL;
  bool existed = false;
  if (rs_kube_post(c, post, job, &got, err) < 0) {
    if (!rs_kube_is_conflict(err)) return rs_wrap(err, "creating Job %s/%s", s->ns, name);
    rs_err_clear(err);
    existed = true;
    if (rs_kube_get(c, item, &got, err) < 0) return rs_wrap(err, "reading Job %s/%s", s->ns, name);
  }
  if (!json_is_object(got) || !json_string_value(json_object_get(json_object_get(got, "metadata"), "uid")))
    return rs_fail(err, RS_E_INPUT, 0, "Job %s/%s: no uid in the API server's answer", s->ns, name);
  if (ret_existed) *ret_existed = existed;
  if (ret_job) *ret_job = TAKE_PTR(got);
  return 0;
}

int rs_deliver_unsuspend_job(rs_kube_client_t *c, const char *ns, const char *job, const char *uid,
                             rs_err_t *err) {
  _cleanup_free_ char *item = rs_deliver_path("/apis/batch/v1", ns, "jobs", job);
  if (!item) return rs_oom(err);
  /* a JSON patch whose test fails leaves another Job of that name alone */
  json_auto_t *patch = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:b}]", "op", "test", "path", "/metadata/uid",
                                 "value", uid, "op", "replace", "path", "/spec/suspend", "value", 0);
  if (!patch) return rs_oom(err);
  if (rs_kube_patch(c, item, RS_PATCH_JSON, patch, NULL, err) < 0)
    return rs_wrap(err, "starting Job %s/%s (spec.suspend=false)", ns, job);
  return 0;
}

static const char *created(const json_t *o) {
  const char *t = json_string_value(json_object_get(json_object_get(o, "metadata"), "creationTimestamp"));
  return t ? t : "";
}

int rs_deliver_get_job(rs_kube_client_t *c, const char *ns, const char *job, json_t **ret, rs_err_t *err) {
  *ret = NULL;
  _cleanup_free_ char *path = rs_deliver_path("/apis/batch/v1", ns, "jobs", job);
  if (!path) return rs_oom(err);
  if (rs_kube_get(c, path, ret, err) == 0) return 0;
  if (!rs_kube_is_not_found(err)) return rs_wrap(err, "reading Job %s/%s", ns, job);
  rs_err_clear(err);
  return 0;
}

int rs_deliver_job_uid(rs_kube_client_t *c, const char *ns, const char *job, char **ret, rs_err_t *err) {
  *ret = NULL;
  json_auto_t *obj = NULL;
  if (rs_deliver_get_job(c, ns, job, &obj, err) < 0) return -1;
  if (!obj) return 0;
  const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
  if (!uid) return rs_fail(err, RS_E_INPUT, 0, "Job %s/%s has no uid", ns, job);
  return (*ret = strdup(uid)) ? 0 : rs_oom(err);
}

int rs_deliver_job_exists(rs_kube_client_t *c, const char *ns, const char *job, bool *ret,
                          rs_err_t *err) {
  _cleanup_free_ char *uid = NULL;
  int r = rs_deliver_job_uid(c, ns, job, &uid, err);
  *ret = uid != NULL;
  return r;
}

int rs_deliver_job_pod(rs_kube_client_t *c, const char *ns, const char *job, json_t **ret,
                       rs_err_t *err) {
  _cleanup_free_ char *path = rs_deliver_path("/api/v1", ns, "pods", NULL);
  _cleanup_free_ char *sel = rs_kube_escape(job);
  _cleanup_free_ char *full =
      path && sel ? rs_strdup_printf("%s?labelSelector=job-name%%3D%s", path, sel) : NULL;
  if (!full) return rs_oom(err);
  json_auto_t *list = NULL;
  if (rs_kube_get(c, full, &list, err) < 0) return rs_wrap(err, "listing the pods of Job %s", job);
  json_t *best = NULL, *p;
  size_t i;
  json_array_foreach(json_object_get(list, "items"), i, p) {
    if (!best || strcmp(created(p), created(best)) > 0) best = p;
  }
  *ret = best ? json_incref(best) : NULL;
  return 0;
}

int rs_deliver_job_failed_create(rs_kube_client_t *c, const char *ns, const char *job,
                                 char **ret, rs_err_t *err) {
  _cleanup_free_ char *path = rs_deliver_path("/api/v1", ns, "events", NULL);
  _cleanup_free_ char *j = rs_kube_escape(job);
  _cleanup_free_ char *full =
      path && j ? rs_strdup_printf("%s?fieldSelector=involvedObject.kind%%3DJob%%2CinvolvedObject.name%%3D%s"
                                   "%%2Creason%%3DFailedCreate", path, j)
                : NULL;
  if (!full) return rs_oom(err);
  json_auto_t *list = NULL;
  if (rs_kube_get(c, full, &list, err) < 0) return rs_wrap(err, "reading the events of Job %s", job);
  const char *msg = NULL, *last = "";
  json_t *e;
  size_t i;
  json_array_foreach(json_object_get(list, "items"), i, e) {
    const char *t = json_string_value(json_object_get(e, "lastTimestamp"));
    if (!t) t = created(e);
    const char *m = json_string_value(json_object_get(e, "message"));
    if (m && strcmp(t, last) >= 0) {
      msg = m;
      last = t;
    }
  }
  *ret = NULL;
  if (msg && !(*ret = strdup(msg))) return rs_oom(err);
  return 0;
}

static int delete_path(rs_kube_client_t *c, const char *path, const char *what, rs_err_t *err) {
  json_auto_t *opts = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions",
                                "propagationPolicy", "Background");
  if (!opts) return rs_oom(err);
  if (rs_kube_delete(c, path, opts, NULL, err) == 0) return 0;
  if (rs_kube_is_not_found(err)) {
    rs_err_clear(err);
    return 0;
  }
  return rs_wrap(err, "deleting %s", what);
}

int rs_deliver_delete_job(rs_kube_client_t *c, const char *ns, const char *job, rs_err_t *err) {
  _cleanup_free_ char *path = rs_deliver_path("/apis/batch/v1", ns, "jobs", job);
  _cleanup_free_ char *what = rs_strdup_printf("Job %s/%s", ns, job);
  if (!path || !what) return rs_oom(err);
  return delete_path(c, path, what, err);
}

/* Delete what matches a label selector, optionally only objects of one
 * node and not of one run. */
static int cleanup_selected(rs_kube_client_t *c, const char *ns, const char *sel, const char *node,
                            const char *keep_id, int *ret_count, rs_err_t *err) {
  static const struct {
    const char *prefix, *plural, *kind;
  } kinds[] = {
      {"/apis/batch/v1", "jobs", "Job"},
      {"/api/v1", "configmaps", "ConfigMap"},
      {"/api/v1", "secrets", "Secret"},
  };
  _cleanup_free_ char *esel = rs_kube_escape(sel);
  if (!esel) return rs_oom(err);
  int count = 0;
  for (size_t k = 0; k < RS_ARRAY_SIZE(kinds); k++) {
    _cleanup_free_ char *coll = rs_deliver_path(kinds[k].prefix, ns, kinds[k].plural, NULL);
    _cleanup_free_ char *full = coll ? rs_strdup_printf("%s?labelSelector=%s", coll, esel) : NULL;
    if (!full) return rs_oom(err);
    json_auto_t *list = NULL;
    if (rs_kube_get(c, full, &list, err) < 0) {
      /* Secrets only with --use-secret (rbac/use-secret.yaml): without
       * the right to list them, this user made none here */
      if (strcmp(kinds[k].plural, "secrets") == 0 && rs_kube_err_is(err, 403)) {
        rs_err_clear(err);
        continue;
      }
      return rs_wrap(err, "listing %s (%s)", kinds[k].plural, sel);
    }
    json_t *o;
    size_t i;
    json_array_foreach(json_object_get(list, "items"), i, o) {
      const json_t *meta = json_object_get(o, "metadata");
      const char *name = json_string_value(json_object_get(meta, "name"));
      if (!name) continue;
      if (node) {
        const char *on = ann(o, RS_ANN_NODE);
        const char *oid = json_string_value(json_object_get(json_object_get(meta, "labels"), RS_LABEL_ID));
        if (!on || strcmp(on, node) != 0 || (oid && keep_id && strcmp(oid, keep_id) == 0)) continue;
      }
      _cleanup_free_ char *item = rs_deliver_path(kinds[k].prefix, ns, kinds[k].plural, name);
      _cleanup_free_ char *what = rs_strdup_printf("%s %s/%s", kinds[k].kind, ns, name);
      if (!item || !what) return rs_oom(err);
      if (delete_path(c, item, what, err) < 0) return -1;
      count++;
    }
  }
  if (ret_count) *ret_count = count;
  return 0;
}

int rs_deliver_cleanup(rs_kube_client_t *c, const char *ns, const char *id, int *ret_count,
                       rs_err_t *err) {
  _cleanup_free_ char *sel = rs_strdup_printf("%s=%s", RS_LABEL_ID, id);
  if (!sel) return rs_oom(err);
  return cleanup_selected(c, ns, sel, NULL, NULL, ret_count, err);
}

static char *run_selector_path(const char *ns, const char *plural, const char *id) {
  _cleanup_free_ char *sel = rs_strdup_printf("%s=%s", RS_LABEL_ID, id);
  _cleanup_free_ char *esel = sel ? rs_kube_escape(sel) : NULL;
  _cleanup_free_ char *coll = rs_deliver_path("/api/v1", ns, plural, NULL);
  return esel && coll ? rs_strdup_printf("%s?labelSelector=%s", coll, esel) : NULL;
}

int rs_deliver_kill_run(rs_kube_client_t *c, const char *ns, const char *id, rs_err_t *err) {
  if (rs_deliver_cleanup(c, ns, id, NULL, err) < 0) return -1;
  _cleanup_free_ char *path = run_selector_path(ns, "pods", id);
  json_auto_t *now = json_pack("{s:s, s:s, s:i}", "apiVersion", "v1", "kind", "DeleteOptions",
                               "gracePeriodSeconds", 0);
  if (!path || !now) return rs_oom(err);
  json_auto_t *list = NULL;
  if (rs_kube_get(c, path, &list, err) < 0) return rs_wrap(err, "listing the pods of run %s", id);
  size_t i;
  json_t *pod;
  json_array_foreach(json_object_get(list, "items"), i, pod) {
    const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
    _cleanup_free_ char *pp = name ? rs_deliver_path("/api/v1", ns, "pods", name) : NULL;
    rs_err_t e = RS_ERR_INIT;
    if (pp) rs_kube_delete(c, pp, now, NULL, &e);
    rs_err_clear(&e);
  }
  return 0;
}

static int nap_tick(void *ud, rs_err_t *err) { return 1; }

int rs_deliver_nap(rs_kube_client_t *c, long long ms, rs_err_t *err) {
  struct rs_kube_run_opts ro = {.tick = nap_tick, .tick_ms = ms, .until_stopped = true};
  return rs_kube_run(c, &ro, err);
}

int rs_deliver_cleanup_stale(rs_kube_client_t *c, const char *ns, const char *node, const char *keep_id,
                             int *ret_count, rs_err_t *err) {
  _cleanup_free_ char *sel = rs_strdup_printf("%s=%s", RS_LABEL_MANAGED_BY, RS_MANAGED_BY);
  if (!sel) return rs_oom(err);
  return cleanup_selected(c, ns, sel, node, keep_id, ret_count, err);
}

/* ---- pod state ---- */

static const char *runtime_of(const char *container_id) {
  if (!container_id) return NULL;
  const char *sep = strstr(container_id, "://");
  if (!sep) return NULL;
  const char *known = rs_rt_scheme(container_id, (size_t)(sep - container_id));
  return known ? known : "other";
}

void rs_pod_view(const json_t *pod, struct rs_pod_view *ret) {
  static const char *const blocked[] = {"ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff",
                                        "InvalidImageName", "CreateContainerConfigError",
                                        "CreateContainerError", "RunContainerError"};
  const json_t *st = json_object_get(pod, "status");
  *ret = (struct rs_pod_view){.state = RS_POD_PENDING};
  ret->name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
  const json_t *cs = NULL, *x;
  size_t i;
  json_array_foreach(json_object_get(st, "containerStatuses"), i, x) {
    const char *n = json_string_value(json_object_get(x, "name"));
    if (n && strcmp(n, RS_DELIVER_CONTAINER) == 0) cs = x;
  }
  const json_t *state = json_object_get(cs, "state");
  const json_t *term = json_object_get(state, "terminated");
  const json_t *wait = json_object_get(state, "waiting");
  if (cs) ret->runtime = runtime_of(json_string_value(json_object_get(cs, "containerID")));
  if (term) {
    ret->state = RS_POD_EXITED;
    ret->exit_code = (int)json_integer_value(json_object_get(term, "exitCode"));
    ret->why = json_string_value(json_object_get(term, "message"));
    if (!ret->why) ret->why = json_string_value(json_object_get(term, "reason"));
    if (!ret->runtime) ret->runtime = runtime_of(json_string_value(json_object_get(term, "containerID")));
    return;
  }
  if (json_object_get(state, "running")) {
    ret->state = RS_POD_RUNNING;
    return;
  }
  const char *phase = json_string_value(json_object_get(st, "phase"));
  if (phase && (strcmp(phase, "Failed") == 0 || strcmp(phase, "Succeeded") == 0)) {
    ret->state = RS_POD_GONE;
    ret->why = json_string_value(json_object_get(st, "message"));
    if (!ret->why) ret->why = json_string_value(json_object_get(st, "reason"));
    return;
  }
  const char *reason = json_string_value(json_object_get(wait, "reason"));
  for (size_t k = 0; reason && k < RS_ARRAY_SIZE(blocked); k++)
    if (strcmp(reason, blocked[k]) == 0) {
      ret->state = RS_POD_BLOCKED;
      ret->why = json_string_value(json_object_get(wait, "message"));
      if (!ret->why) ret->why = reason;
      return;
    }
}

json_t *rs_helper_json_from_log(const char *log, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (log[i] != '{' || (i > 0 && log[i - 1] != '\n')) continue;
    json_t *o = json_loadb(log + i, len - i, JSON_DISABLE_EOF_CHECK, NULL);
    if (json_is_object(o) && json_object_get(o, RS_JSON_CONTRACT)) return o;
    json_decref(o);
  }
  return NULL;
}
