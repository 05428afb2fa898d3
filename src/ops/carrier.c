/* The helper's carrier: created or joined, compared byte for byte, guarded
 * by a watch, released.  The design, and what it leaves open, is in
 * include/ops/carrier.h. */
#include "ops/carrier.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/sha256.h"
#include "common/strutil.h"
#include "kube/kubeconfig.h"
#include "ops/deliver.h"

/* A list of metadata only (the carriers' bytes are not needed to drop a
 * reference). */
#define ACCEPT_METADATA_LIST \
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"

/* Conflicting writers (runs joining or leaving at once) are retried. */
#define CARRIER_TRIES 8
/* How long a carrier being deleted may take to go (finalizers of others). */
#define CARRIER_GONE_POLLS 50
#define CARRIER_GONE_POLL_MS 200

static const char *kind_of(bool secret) { return secret ? "Secret" : "ConfigMap"; }
static const char *plural_of(bool secret) { return secret ? "secrets" : "configmaps"; }

static const json_t *meta_of(const json_t *o) { return json_object_get(o, "metadata"); }
static const char *meta_str(const json_t *o, const char *key) {
  return json_string_value(json_object_get(meta_of(o), key));
}

char *rs_carrier_name(const struct rs_helper_blob *blob) {
  return rs_strdup_printf("rsw-helper-%s-%.16s", blob->arch, blob->sha256);
}

int rs_carrier_init(struct rs_carrier *car, const char *ns, bool secret, const struct rs_helper_blob *blob,
                    rs_err_t *err) {
  *car = (struct rs_carrier){.secret = secret, .blob = blob};
  car->ns = strdup(ns);
  car->name = rs_carrier_name(blob);
  car->selector = car->name ? rs_strdup_printf("metadata.name=%s", car->name) : NULL;
  if (!car->ns || !car->name || !car->selector) {
    rs_carrier_clear(car);
    return rs_oom(err);
  }
  return 0;
}

void rs_carrier_clear(struct rs_carrier *car) {
  char **strs[] = {&car->ns, &car->name, &car->uid, &car->rv, &car->trip_why, &car->selector};
  for (size_t i = 0; i < RS_ARRAY_SIZE(strs); i++) free(*strs[i]);
  rs_err_clear(&car->watch_err);
  *car = (struct rs_carrier){0};
}

static char *item_path(const struct rs_carrier *car) {
  return rs_deliver_path("/api/v1", car->ns, plural_of(car->secret), car->name);
}

static char *ref_key(const char *id) { return rs_strdup_printf("%s%s", RS_CARRIER_REF_PREFIX, id); }

json_t *rs_carrier_manifest(const struct rs_carrier *car, const char *id, const char *node, rs_err_t *err) {
  _cleanup_free_ char *b64 = rs_base64_encode(car->blob->data, car->blob->size);
  _cleanup_free_ char *ref = id ? ref_key(id) : NULL;
  if (!b64 || (id && !ref)) {
    rs_oom(err);
    return NULL;
  }
  json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s}, s:[s]}, s:b, s:{s:s}}",
                        "apiVersion", "v1", "kind", kind_of(car->secret), "metadata", "name", car->name,
                        "namespace", car->ns, "labels", RS_LABEL_MANAGED_BY, RS_MANAGED_BY, RS_LABEL_ROLE,
                        "helper", RS_LABEL_ARCH, car->blob->arch, "annotations", RS_ANN_HELPER_SHA,
                        car->blob->sha256, "finalizers", RS_CARRIER_FINALIZER, "immutable", 1,
                        car->secret ? "data" : "binaryData", RS_DELIVER_FILE, b64);
  if (o && car->secret) json_object_set_new(o, "type", json_string("Opaque"));
  if (o && ref && node)
    json_object_set_new(json_object_get(json_object_get(o, "metadata"), "annotations"), ref, json_string(node));
  if (!o) rs_oom(err);
  return o;
}

/* The one key's bytes, compared with the blob. */
static int check_bytes(const char *b64, size_t len, const struct rs_helper_blob *blob, rs_err_t *err) {
  /* bounded before decoding: base64 of n bytes is 4*ceil(n/3) characters */
  if (len > (blob->size / 3 + 2) * 4 + 64)
    return rs_fail(err, RS_E_INPUT, 0, "it holds about %zu bytes, not the helper's %zu", len / 4 * 3, blob->size);
  struct rs_bytes got = {0};
  rs_err_t e = RS_ERR_INIT;
  if (rs_base64_decode(b64, len, &got, &e) < 0) {
    rs_fail(err, RS_E_INPUT, 0, "its %s is not base64 (%s)", RS_DELIVER_FILE, e.msg ? e.msg : "?");
    rs_err_clear(&e);
    return -1;
  }
  _cleanup_free_ unsigned char *data = got.data;
  if (got.len == blob->size && memcmp(got.data, blob->data, blob->size) == 0) return 0;
  char sha[65];
  rs_sha256_hex(got.data, got.len, sha);
  return rs_fail(err, RS_E_INPUT, 0, "it holds %zu bytes with sha256 %s, not the plugin's helper (%zu bytes, "
                 "sha256 %s)", got.len, sha, blob->size, blob->sha256);
}

int rs_carrier_check_object(const json_t *obj, bool secret, const struct rs_helper_blob *blob, int *ret_trip,
                            rs_err_t *err) {
  if (ret_trip) *ret_trip = RS_CARRIER_CHANGED;
  const json_t *data = json_object_get(obj, secret ? "data" : "binaryData");
  const json_t *other = json_object_get(obj, secret ? "stringData" : "data");
  const json_t *val = json_object_get(data, RS_DELIVER_FILE);
  if (!json_is_true(json_object_get(obj, "immutable")))
    return rs_fail(err, RS_E_INPUT, 0, "it is not immutable");
  if (json_object_size(other) || json_object_size(data) != 1 || !json_is_string(val))
    return rs_fail(err, RS_E_INPUT, 0, "it does not hold exactly one key, %s", RS_DELIVER_FILE);
  if (check_bytes(json_string_value(val), json_string_length(val), blob, err) < 0) return -1;
  if (json_object_get(meta_of(obj), "deletionTimestamp")) {
    if (ret_trip) *ret_trip = RS_CARRIER_DELETING;
    return rs_fail(err, RS_E_INPUT, 0, "it is marked for deletion");
  }
  if (ret_trip) *ret_trip = RS_CARRIER_OK;
  return 0;
}

/* ---- the guard's state ---- */

static void trip(struct rs_carrier *car, int kind, const char *why) {
  if (car->trip != RS_CARRIER_OK) return;
  car->trip = kind;
  free(car->trip_why);
  car->trip_why = rs_strdup0(why);
  if (car->on_trip) car->on_trip(car->ud, car);
}

int rs_carrier_trip_error(const struct rs_carrier *car, rs_err_t *err) {
  static const char *const what[] = {
      [RS_CARRIER_OK] = "was checked", [RS_CARRIER_DELETED] = "was deleted",
      [RS_CARRIER_REPLACED] = "was replaced", [RS_CARRIER_DELETING] = "was marked for deletion",
      [RS_CARRIER_CHANGED] = "changed", [RS_CARRIER_UNWATCHED] = "could not be watched"};
  int t = car->trip >= 0 && car->trip <= RS_CARRIER_UNWATCHED ? car->trip : RS_CARRIER_CHANGED;
  return rs_fail(err, RS_E_INPUT, 0, "%s %s/%s, the helper's carrier, %s between verification and pod start (%s): "
                 "refusing to run it as root; the run's Jobs were deleted (their pods with grace 0)",
                 kind_of(car->secret), car->ns, car->name, what[t], car->trip_why ? car->trip_why : "?");
}

/* The watch was refused: its error, as a check's. */
static int watch_failed(const struct rs_carrier *car, rs_err_t *err) {
  rs_fail(err, car->watch_err.kind, car->watch_err.code, "%s", car->watch_err.msg);
  if (car->watch_err.reason) rs_err_set_reason(err, car->watch_err.reason);
  return -1;
}

static int set_seen(struct rs_carrier *car, const json_t *obj, rs_err_t *err) {
  const char *uid = meta_str(obj, "uid"), *rv = meta_str(obj, "resourceVersion");
  if (!uid || !rv) return rs_fail(err, RS_E_INPUT, 0, "%s %s/%s: no uid or resourceVersion in the answer",
                                  kind_of(car->secret), car->ns, car->name);
  char *u = strdup(uid), *r = strdup(rv);
  if (!u || !r) {
    free(u);
    free(r);
    return rs_oom(err);
  }
  free(car->uid);
  free(car->rv);
  car->uid = u;
  car->rv = r;
  return 0;
}

/* ---- reading ---- */

static int get_carrier(rs_kube_client_t *c, const struct rs_carrier *car, bool metadata_only, json_t **ret,
                       rs_err_t *err) {
  _cleanup_free_ char *path = item_path(car);
  if (!path) return rs_oom(err);
  struct rs_kube_req r = {.method = RS_HTTP_GET, .path = path, .accept = metadata_only ? RS_ACCEPT_METADATA : NULL};
  return rs_kube_request(c, &r, ret, err);
}

/* Same object, not deleting: the check of the guard on a read. */
static int same_object(struct rs_carrier *car, const json_t *obj, rs_err_t *err) {
  const char *uid = meta_str(obj, "uid");
  if (!uid || !car->uid || strcmp(uid, car->uid) != 0) {
    _cleanup_free_ char *why = rs_strdup_printf("another object (uid %s) holds its name; this run's was %s",
                                                uid ? uid : "?", car->uid ? car->uid : "?");
    trip(car, RS_CARRIER_REPLACED, why);
  } else if (json_object_get(meta_of(obj), "deletionTimestamp")) {
    trip(car, RS_CARRIER_DELETING, "deletionTimestamp is set");
  }
  return car->trip == RS_CARRIER_OK ? 0 : rs_carrier_trip_error(car, err);
}

/* The carrier as the API has it now; gone trips the guard. */
static int read_carrier(rs_kube_client_t *c, struct rs_carrier *car, bool metadata_only, json_t **ret,
                        rs_err_t *err) {
  if (car->trip != RS_CARRIER_OK) return rs_carrier_trip_error(car, err);
  if (get_carrier(c, car, metadata_only, ret, err) == 0) return 0;
  if (!rs_kube_is_not_found(err)) return rs_wrap(err, "reading %s %s/%s", kind_of(car->secret), car->ns, car->name);
  rs_err_clear(err);
  trip(car, RS_CARRIER_DELETED, "it is gone");
  return rs_carrier_trip_error(car, err);
}

int rs_carrier_verify(rs_kube_client_t *c, struct rs_carrier *car, rs_err_t *err) {
  json_auto_t *obj = NULL;
  if (read_carrier(c, car, false, &obj, err) < 0) return -1;
  int kind;
  rs_err_t e = RS_ERR_INIT;
  if (rs_carrier_check_object(obj, car->secret, car->blob, &kind, &e) < 0) {
    trip(car, kind, e.msg);
    rs_err_clear(&e);
    return rs_carrier_trip_error(car, err);
  }
  if (same_object(car, obj, err) < 0) return -1;
  return set_seen(car, obj, err);
}

int rs_carrier_still(rs_kube_client_t *c, struct rs_carrier *car, rs_err_t *err) {
  json_auto_t *obj = NULL;
  if (read_carrier(c, car, true, &obj, err) < 0 || same_object(car, obj, err) < 0) return -1;
  return car->watch_err.kind != RS_E_NONE ? watch_failed(car, err) : 0;
}

/* ---- the watch ---- */

static int on_event(void *ud, const char *type, json_t *obj, rs_err_t *err) {
  struct rs_carrier *car = ud;
  if (strcmp(type, "BOOKMARK") == 0) return 0;
  if (car->trip != RS_CARRIER_OK) return 1;
  if (strcmp(type, "DELETED") == 0) {
    trip(car, RS_CARRIER_DELETED, "a DELETED event");
    return 1;
  }
  /* a reference added or removed (same UID, same bytes) is no change */
  int kind;
  rs_err_t e = RS_ERR_INIT;
  if (same_object(car, obj, &e) == 0 && rs_carrier_check_object(obj, car->secret, car->blob, &kind, &e) < 0) {
    _cleanup_free_ char *why = rs_strdup_printf("a %s event: %s", type, e.msg ? e.msg : "?");
    trip(car, kind, why);
  }
  rs_err_clear(&e);
  return car->trip == RS_CARRIER_OK ? 0 : 1;
}

/* 410 Gone: its history was compacted; read it again and go on from there
 * if it is still ours. */
static int on_gone(void *ud, char **ret_rv, rs_err_t *err) {
  struct rs_carrier *car = ud;
  if (rs_carrier_verify(car->client, car, err) < 0) return -1;
  return (*ret_rv = strdup(car->rv)) ? 0 : rs_oom(err);
}

/* The watch ended (an error the client could not retry, or it tripped):
 * the next rs_carrier_guard_start opens it again after a read. */
static int on_end(void *ud, const struct rs_kube_result *res, rs_err_t *err) {
  struct rs_carrier *car = ud;
  car->watching = false;
  if (err->kind == RS_E_INTERRUPTED) return -1;
  /* refused (RBAC ...): without its watch the guard cannot stop a pod in
   * time, so the run may not go on; kept for the next check to say */
  if (err->kind == RS_E_API && car->watch_err.kind == RS_E_NONE) {
    rs_fail(&car->watch_err, RS_E_API, err->code, "watching %s %s/%s: %s", kind_of(car->secret), car->ns,
            car->name, err->msg ? err->msg : "?");
    if (err->reason) rs_err_set_reason(&car->watch_err, err->reason);
  }
  return 0;
}


int rs_carrier_guard_start(rs_kube_client_t *c, struct rs_carrier *car, rs_err_t *err) {
  if (car->trip != RS_CARRIER_OK) return rs_carrier_trip_error(car, err);
  if (car->watch_err.kind != RS_E_NONE) return watch_failed(car, err);
  if (car->watching) return 0;
  _cleanup_free_ char *coll = rs_deliver_path("/api/v1", car->ns, plural_of(car->secret), NULL);
  if (!coll) return rs_oom(err);
  car->client = c;
  struct rs_kube_watch_opts wo = {.field_selector = car->selector, .resource_version = car->rv,
                                  .timeout_seconds = 300, .on_event = on_event, .on_gone = on_gone,
                                  .on_end = on_end, .ud = car};
  if (rs_kube_watch_start(c, coll, &wo, err) < 0) return -1;
  car->watching = true;
  return 0;
}

void rs_carrier_guard_stop(rs_kube_client_t *c, struct rs_carrier *car) {
  if (car->watching) rs_kube_cancel_ud(c, car);
  car->watching = false;
}

/* ---- writing: create, join, release ---- */

/* A merge patch of metadata that applies only to the object as it was read
 * (its resourceVersion inside the patch: another writer in between makes
 * it a 409).  *ret (may be NULL) gets the object after. */
static int patch_meta(rs_kube_client_t *c, const struct rs_carrier *car, const char *rv, json_t *meta,
                      json_t **ret, rs_err_t *err) {
  _cleanup_free_ char *path = item_path(car);
  if (!meta || !path || json_object_set_new(meta, "resourceVersion", json_string(rv)) < 0) {
    json_decref(meta);
    return rs_oom(err);
  }
  json_auto_t *patch = json_pack("{s:o}", "metadata", meta);
  if (!patch) return rs_oom(err);
  return rs_kube_patch(c, path, RS_PATCH_MERGE, patch, ret, err);
}

/* The finalizers of obj plus (add) or minus (!add) ours. */
static json_t *finalizers_with(const json_t *obj, bool add) {
  json_t *out = json_array();
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(meta_of(obj), "finalizers"), i, f)
    if (out && !(json_is_string(f) && strcmp(json_string_value(f), RS_CARRIER_FINALIZER) == 0))
      json_array_append(out, f);
  if (out && add) json_array_append_new(out, json_string(RS_CARRIER_FINALIZER));
  return out;
}

/* The runs that reference obj, other than skip_id (NULL: none). */
static size_t refs_other_than(const json_t *obj, const char *skip_id) {
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(meta_of(obj), "annotations"), k, v) {
    if (!rs_startswith(k, RS_CARRIER_REF_PREFIX)) continue;
    if (skip_id && strcmp(k + strlen(RS_CARRIER_REF_PREFIX), skip_id) == 0) continue;
    n++;
  }
  return n;
}

static bool is_conflict_or_gone(rs_err_t *err) {
  if (!rs_kube_is_conflict(err) && !rs_kube_is_not_found(err)) return false;
  rs_err_clear(err);
  return true;
}

/* Ours (its bytes), being deleted, used by no other run: take our
 * finalizer off and wait until it is gone. */
static int let_go(rs_kube_client_t *c, struct rs_carrier *car, const json_t *cur, const char *id, rs_err_t *err) {
  if (refs_other_than(cur, id))
    return rs_fail(err, RS_E_INPUT, 0, "%s %s/%s is being deleted while other runs use it; retry when it is gone",
                   kind_of(car->secret), car->ns, car->name);
  json_t *meta = json_pack("{s:o}", "finalizers", finalizers_with(cur, false));
  if (patch_meta(c, car, meta_str(cur, "resourceVersion"), meta, NULL, err) < 0 && !is_conflict_or_gone(err))
    return rs_wrap(err, "letting %s %s/%s go", kind_of(car->secret), car->ns, car->name);
  for (int i = 0; i < CARRIER_GONE_POLLS; i++) {
    json_auto_t *o = NULL;
    if (get_carrier(c, car, true, &o, err) < 0) {
      if (!rs_kube_is_not_found(err)) return -1;
      rs_err_clear(err);
      return 0;
    }
    if (!json_object_get(meta_of(o), "deletionTimestamp")) return 0; /* another run made it again */
    if (rs_deliver_nap(c, CARRIER_GONE_POLL_MS, err) < 0) return -1;
  }
  return rs_fail(err, RS_E_TIMEOUT, 0, "%s %s/%s is being deleted and still there after %d s (finalizers of "
                 "others?)", kind_of(car->secret), car->ns, car->name, CARRIER_GONE_POLLS * CARRIER_GONE_POLL_MS / 1000);
}

/* The object under our name when the create said 409: 0 joined, 1 try the
 * create again, -1 refused or failed. */
static int join(rs_kube_client_t *c, struct rs_carrier *car, const json_t *cur, const char *id, const char *node,
                rs_err_t *err) {
  int kind;
  rs_err_t e = RS_ERR_INIT;
  if (rs_carrier_check_object(cur, car->secret, car->blob, &kind, &e) < 0) {
    if (kind == RS_CARRIER_DELETING) {
      rs_err_clear(&e);
      return let_go(c, car, cur, id, err) < 0 ? -1 : 1;
    }
    rs_fail(err, RS_E_INPUT, 0, "%s %s/%s is under the name of the plugin's helper carrier but %s: it was not made "
            "by this plugin, or was tampered with; it is neither used nor deleted.  Look at it, then remove it: "
            "`kubectl -n %s delete %s %s`", kind_of(car->secret), car->ns, car->name, e.msg ? e.msg : "differs",
            car->ns, car->secret ? "secret" : "configmap", car->name);
    rs_err_clear(&e);
    return -1;
  }
  _cleanup_free_ char *ref = ref_key(id);
  json_t *meta = ref ? json_pack("{s:{s:s}, s:o}", "annotations", ref, node, "finalizers", finalizers_with(cur, true))
                     : NULL;
  json_auto_t *after = NULL;
  if (patch_meta(c, car, meta_str(cur, "resourceVersion"), meta, &after, err) < 0) {
    if (is_conflict_or_gone(err)) return 1;
    return rs_wrap(err, "joining %s %s/%s", kind_of(car->secret), car->ns, car->name);
  }
  return set_seen(car, after, err);
}

int rs_carrier_acquire(rs_kube_client_t *c, struct rs_carrier *car, const char *id, const char *node, rs_err_t *err) {
  json_auto_t *obj = rs_carrier_manifest(car, id, node, err);
  if (!obj) return -1;
  _cleanup_free_ char *coll = rs_deliver_path("/api/v1", car->ns, plural_of(car->secret), NULL);
  _cleanup_free_ char *post = coll ? rs_strdup_printf("%s?fieldValidation=Strict", coll) : NULL;
  if (!post) return rs_oom(err);
  for (int i = 0; i < CARRIER_TRIES; i++) {
    json_auto_t *made = NULL;
    if (rs_kube_post(c, post, obj, &made, err) == 0) return set_seen(car, made, err);
    if (!rs_kube_is_conflict(err))
      return rs_wrap(err, "creating %s %s/%s", kind_of(car->secret), car->ns, car->name);
    rs_err_clear(err);
    json_auto_t *cur = NULL;
    if (get_carrier(c, car, false, &cur, err) < 0) {
      if (!rs_kube_is_not_found(err)) return rs_wrap(err, "reading %s %s/%s", kind_of(car->secret), car->ns, car->name);
      rs_err_clear(err);
      continue;
    }
    int r = join(c, car, cur, id, node, err);
    if (r <= 0) return r;
  }
  return rs_fail(err, RS_E_API, 409, "%s %s/%s kept changing while this run joined it", kind_of(car->secret),
                 car->ns, car->name);
}

/* The last user: DELETE (only the object as read: a run that joins in
 * between changes its resourceVersion and keeps it), then our finalizer
 * off.  0 done, 1 read it again and retry. */
static int delete_last(rs_kube_client_t *c, struct rs_carrier *car, const json_t *cur, rs_err_t *err) {
  const char *rv = meta_str(cur, "resourceVersion"), *uid = meta_str(cur, "uid");
  _cleanup_free_ char *path = item_path(car);
  if (!path) return rs_oom(err);
  json_auto_t *marked = NULL;
  if (!json_object_get(meta_of(cur), "deletionTimestamp")) {
    json_auto_t *opts = json_pack("{s:s, s:s, s:{s:s?, s:s?}}", "apiVersion", "v1", "kind", "DeleteOptions",
                                  "preconditions", "uid", uid, "resourceVersion", rv);
    if (!opts) return rs_oom(err);
    if (rs_kube_delete(c, path, opts, &marked, err) < 0) {
      if (rs_kube_is_not_found(err)) {
        rs_err_clear(err);
        return 0;
      }
      return is_conflict_or_gone(err) ? 1 : rs_wrap(err, "deleting %s %s/%s", kind_of(car->secret), car->ns, car->name);
    }
    /* gone at once (no finalizer left), or marked */
    if (!meta_str(marked, "resourceVersion") || !json_object_get(meta_of(marked), "deletionTimestamp")) return 0;
    cur = marked;
  }
  json_t *meta = json_pack("{s:o}", "finalizers", finalizers_with(cur, false));
  if (patch_meta(c, car, meta_str(cur, "resourceVersion"), meta, NULL, err) < 0)
    return is_conflict_or_gone(err) ? 1 : rs_wrap(err, "removing the finalizer of %s %s/%s", kind_of(car->secret),
                                                  car->ns, car->name);
  return 0;
}

int rs_carrier_release(rs_kube_client_t *c, struct rs_carrier *car, const char *id, bool *ret_deleted, rs_err_t *err) {
  if (ret_deleted) *ret_deleted = false;
  if (!car->uid) return 0; /* nothing this run created or joined */
  _cleanup_free_ char *ref = ref_key(id);
  if (!ref) return rs_oom(err);
  for (int i = 0; i < CARRIER_TRIES; i++) {
    json_auto_t *cur = NULL;
    if (get_carrier(c, car, true, &cur, err) < 0) {
      if (!rs_kube_is_not_found(err)) return rs_wrap(err, "reading %s %s/%s", kind_of(car->secret), car->ns, car->name);
      rs_err_clear(err);
      if (ret_deleted) *ret_deleted = true;
      return 0;
    }
    const char *uid = meta_str(cur, "uid");
    if (!uid || strcmp(uid, car->uid) != 0) return 0; /* not the object this run used */
    if (json_object_get(json_object_get(meta_of(cur), "annotations"), ref)) {
      json_t *meta = json_pack("{s:{s:n}}", "annotations", ref);
      json_t *after = NULL;
      if (patch_meta(c, car, meta_str(cur, "resourceVersion"), meta, &after, err) < 0) {
        if (is_conflict_or_gone(err)) continue;
        return rs_wrap(err, "releasing %s %s/%s", kind_of(car->secret), car->ns, car->name);
      }
      json_decref(cur);
      cur = after;
    }
    if (refs_other_than(cur, id)) return 0;
    int r = delete_last(c, car, cur, err);
    if (r < 0) return -1;
    if (r == 0) {
      if (ret_deleted) *ret_deleted = true;
      return 0;
    }
  }
  return rs_fail(err, RS_E_API, 409, "%s %s/%s kept changing while this run released it", kind_of(car->secret),
                 car->ns, car->name);
}

/* The stale references of one carrier (a list item): those of node's runs
 * other than keep_id. */
static int release_item(rs_kube_client_t *c, const char *ns, bool secret, const json_t *item, const char *node,
                        const char *keep_id, int *count, rs_err_t *err) {
  const char *name = meta_str(item, "name"), *uid = meta_str(item, "uid");
  if (!name || !uid) return 0;
  struct rs_carrier car = {.ns = (char *)ns, .secret = secret, .name = (char *)name, .uid = (char *)uid};
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(meta_of(item), "annotations"), k, v) {
    const char *id = rs_startswith(k, RS_CARRIER_REF_PREFIX) ? k + strlen(RS_CARRIER_REF_PREFIX) : NULL;
    const char *on = json_string_value(v);
    if (!id || !on || strcmp(on, node) != 0 || (keep_id && strcmp(id, keep_id) == 0)) continue;
    if (rs_carrier_release(c, &car, id, NULL, err) < 0) return -1;
    (*count)++;
  }
  return 0;
}

int rs_carrier_release_stale(rs_kube_client_t *c, const char *ns, const char *node, const char *keep_id,
                             int *ret_count, rs_err_t *err) {
  _cleanup_free_ char *sel = rs_strdup_printf("%s=%s,%s=helper", RS_LABEL_MANAGED_BY, RS_MANAGED_BY, RS_LABEL_ROLE);
  _cleanup_free_ char *esel = sel ? rs_kube_escape(sel) : NULL;
  if (!esel) return rs_oom(err);
  int count = 0;
  for (int secret = 0; secret < 2; secret++) {
    _cleanup_free_ char *coll = rs_deliver_path("/api/v1", ns, plural_of(secret), NULL);
    _cleanup_free_ char *path = coll ? rs_strdup_printf("%s?labelSelector=%s", coll, esel) : NULL;
    if (!path) return rs_oom(err);
    struct rs_kube_req r = {.method = RS_HTTP_GET, .path = path, .accept = ACCEPT_METADATA_LIST};
    json_auto_t *list = NULL;
    if (rs_kube_request(c, &r, &list, err) < 0) {
      /* Secrets only with --use-secret (rbac/use-secret.yaml): without
       * the right to list them, this user made no Secret carrier here */
      if (secret && rs_kube_err_is(err, 403)) {
        rs_err_clear(err);
        continue;
      }
      return rs_wrap(err, "listing the %s in %s", plural_of(secret), ns);
    }
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(list, "items"), i, item)
      if (release_item(c, ns, secret, item, node, keep_id, &count, err) < 0) return -1;
  }
  if (ret_count) *ret_count = count;
  return 0;
}

/* ---- a Job, the guarded way ---- */

static const char *job_carrier(const json_t *job) {
  const json_t *vol = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(
      job, "spec"), "template"), "spec"), "volumes"), 0);
  const char *n = json_string_value(json_object_get(json_object_get(vol, "configMap"), "name"));
  return n ? n : json_string_value(json_object_get(json_object_get(vol, "secret"), "secretName"));
}

/* A Job that was never started and names another carrier (an earlier
 * version's run): deleted, so that it is made again. */
static int drop_unstarted(rs_kube_client_t *c, const char *ns, const char *name, rs_err_t *err) {
  if (rs_deliver_delete_job(c, ns, name, err) < 0) return -1;
  for (int i = 0; i < 60; i++) {
    bool there = true;
    if (rs_deliver_job_exists(c, ns, name, &there, err) < 0) return -1;
    if (!there) return 0;
    if (rs_deliver_nap(c, 500, err) < 0) return -1;
  }
  return rs_fail(err, RS_E_TIMEOUT, 0, "Job %s/%s was not deleted in time", ns, name);
}

/* One attempt; 1: a stale Job was dropped, try again. */
static int start_once(rs_kube_client_t *c, struct rs_carrier *car, const struct rs_deliver_spec *spec, int role,
                      char **ret_uid, bool *ret_existed, int *ret_started, rs_err_t *err) {
  if (rs_carrier_verify(c, car, err) < 0 || rs_carrier_guard_start(c, car, err) < 0) return -1;
  json_auto_t *job = NULL;
  bool existed = false;
  if (rs_deliver_put_job(c, spec, role, &job, &existed, err) < 0) return -1;
  if (car->on_job && car->on_job(car->ud, role, job, existed, err) < 0) return -1;
  const json_t *meta = json_object_get(job, "metadata");
  const char *uid = json_string_value(json_object_get(meta, "uid"));
  const char *name = json_string_value(json_object_get(meta, "name"));
  free(*ret_uid);
  if (!(*ret_uid = strdup(uid))) return rs_oom(err);
  if (ret_existed) *ret_existed = existed;
  if (!json_is_true(json_object_get(json_object_get(job, "spec"), "suspend"))) {
    *ret_started = RS_CARRIER_JOB_RUNNING; /* a resumed run's, started by it */
    return rs_carrier_still(c, car, err);
  }
  const char *jc = job_carrier(job);
  if (existed && (!jc || strcmp(jc, car->name) != 0)) return drop_unstarted(c, spec->ns, name, err) < 0 ? -1 : 1;
  /* the Job exists, no pod yet: the carrier must still be the object
   * compared above (the watch has seen nothing), then its pod may start */
  if (rs_carrier_still(c, car, err) < 0) return -1;
  *ret_started = RS_CARRIER_JOB_STARTED;
  if (rs_deliver_unsuspend_job(c, spec->ns, name, uid, err) == 0) return 0;
  /* the Job went (the guard deleted it) or is another: it starts no pod */
  if (rs_kube_is_not_found(err) || rs_kube_err_is(err, 422) || rs_kube_is_conflict(err))
    *ret_started = RS_CARRIER_JOB_NOT_STARTED;
  return -1;
}

int rs_carrier_start_job(rs_kube_client_t *c, struct rs_carrier *car, const struct rs_deliver_spec *spec, int role,
                         char **ret_uid, bool *ret_existed, int *ret_started, rs_err_t *err) {
  _cleanup_free_ char *uid = NULL;
  int started = RS_CARRIER_JOB_NOT_STARTED, r = 1;
  for (int attempt = 0; r == 1 && attempt < 2; attempt++)
    r = start_once(c, car, spec, role, &uid, ret_existed, &started, err);
  if (r == 1) r = rs_fail(err, RS_E_API, 409, "the %s Job of run %s kept coming back", rs_job_role_name(role), spec->id);
  *ret_started = started;
  if (ret_uid) *ret_uid = TAKE_PTR(uid);
  return r;
}
