/* A lock held as a coordination.k8s.io/v1 Lease (see ops/lease.h): taken
 * with a POST, changed only at the resourceVersion it was read at,
 * released with preconditions on its UID and resourceVersion. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/sha256.h"
#include "common/strutil.h"
#include "kube/kubeconfig.h"
#include "ops/deliver.h"
#include "ops/lease.h"

#define LEASE_API "/apis/coordination.k8s.io/v1"
#define NAME_MAX_LEN 253

void rs_lease_clear(struct rs_lease *l) {
  char **strs[] = {&l->ns, &l->name, &l->uid, &l->rv, &l->holder, &l->acquired, &l->renewed, &l->record};
  for (size_t i = 0; i < RS_ARRAY_SIZE(strs); i++) free(*strs[i]);
  json_decref(l->obj);
  *l = (struct rs_lease){0};
}

static bool name_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
}

/* The subject as it is when it fits and is made of a subdomain's
 * characters (node names are subdomains); else a piece of it made of
 * [a-z0-9-] and a hash of all of it. */
char *rs_lease_name(const char *prefix, const char *subject) {
  size_t plen = strlen(prefix), slen = strlen(subject);
  bool plain = slen > 0 && plen + slen <= NAME_MAX_LEN && name_char(subject[slen - 1]) &&
               subject[slen - 1] != '-' && subject[slen - 1] != '.';
  for (size_t i = 0; plain && i < slen; i++) plain = name_char(subject[i]);
  if (plain) return rs_strdup_printf("%s%s", prefix, subject);
  char hash[65];
  rs_sha256_hex(subject, slen, hash);
  size_t keep = NAME_MAX_LEN - plen - 17;
  if (slen < keep) keep = slen;
  _cleanup_free_ char *piece = strndup(subject, keep);
  if (!piece) return NULL;
  for (char *p = piece; *p; p++) {
    char lower = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
    *p = name_char(lower) && lower != '.' ? lower : '-';
  }
  size_t n = strlen(piece);
  while (n && piece[n - 1] == '-') piece[--n] = '\0';
  return rs_strdup_printf("%s%s%s%.16s", prefix, piece, n ? "-" : "", hash);
}

/* ---- parsing what the API server (or anyone who could write the Lease)
 * sent ---- */

static int take_str(const json_t *o, const char *key, const char *where, size_t max, char **dst,
                    rs_err_t *err) {
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v)) return rs_fail(err, RS_E_INPUT, 0, "Lease: %s%s is not a string", where, key);
  if (json_string_length(v) > max)
    return rs_fail(err, RS_E_LIMIT, 0, "Lease: %s%s is longer than %zu bytes", where, key, max);
  if (strlen(json_string_value(v)) != json_string_length(v))
    return rs_fail(err, RS_E_INPUT, 0, "Lease: %s%s holds a NUL byte", where, key);
  return (*dst = strdup(json_string_value(v))) ? 0 : rs_oom(err);
}

int rs_lease_parse(const json_t *obj, struct rs_lease *ret, rs_err_t *err) {
  *ret = (struct rs_lease){0};
  if (!json_is_object(obj)) return rs_fail(err, RS_E_INPUT, 0, "Lease: not a JSON object");
  const json_t *md = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
  const json_t *ann = json_object_get(md, "annotations");
  if (!json_is_object(md)) return rs_fail(err, RS_E_INPUT, 0, "Lease: no metadata");
  if (spec && !json_is_object(spec)) return rs_fail(err, RS_E_INPUT, 0, "Lease: spec is not an object");
  if (ann && !json_is_object(ann))
    return rs_fail(err, RS_E_INPUT, 0, "Lease: metadata.annotations is not an object");
  struct rs_lease l = {0};
  int rc = take_str(md, "name", "metadata.", NAME_MAX_LEN, &l.name, err);
  if (rc == 0) rc = take_str(md, "namespace", "metadata.", 63, &l.ns, err);
  if (rc == 0) rc = take_str(md, "uid", "metadata.", 128, &l.uid, err);
  if (rc == 0) rc = take_str(md, "resourceVersion", "metadata.", 128, &l.rv, err);
  if (rc == 0) rc = take_str(spec, "holderIdentity", "spec.", RS_LEASE_FIELD_MAX, &l.holder, err);
  if (rc == 0) rc = take_str(spec, "acquireTime", "spec.", 64, &l.acquired, err);
  if (rc == 0) rc = take_str(spec, "renewTime", "spec.", 64, &l.renewed, err);
  if (rc == 0)
    rc = take_str(ann, RS_ANN_LEASE_RECORD, "metadata.annotations.", RS_LEASE_RECORD_MAX, &l.record, err);
  const json_t *tr = json_object_get(spec, "leaseTransitions");
  if (rc == 0 && tr && !json_is_null(tr)) {
    if (!json_is_integer(tr) || json_integer_value(tr) < 0 || json_integer_value(tr) > 1000000000)
      rc = rs_fail(err, RS_E_INPUT, 0, "Lease: spec.leaseTransitions is not a count");
    else
      l.transitions = (long)json_integer_value(tr);
  }
  if (rc == 0 && !l.name) rc = rs_fail(err, RS_E_INPUT, 0, "Lease: no metadata.name");
  if (rc == 0 && !(l.obj = json_deep_copy(obj))) rc = rs_oom(err);
  if (rc < 0) {
    rs_lease_clear(&l);
    return -1;
  }
  *ret = l;
  return 0;
}

/* ---- the API ---- */

/* MicroTime: RFC 3339 with microseconds, UTC. */
static void micro_now(char buf[96]) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  snprintf(buf, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
}

static char *lease_path(const char *ns, const char *name) {
  _cleanup_free_ char *en = rs_kube_escape(ns);
  _cleanup_free_ char *nn = name ? rs_kube_escape(name) : NULL;
  if (!en || (name && !nn)) return NULL;
  return name ? rs_strdup_printf(LEASE_API "/namespaces/%s/leases/%s", en, nn)
              : rs_strdup_printf(LEASE_API "/namespaces/%s/leases?fieldValidation=Strict", en);
}

/* The answer of a write is the Lease as stored: take it as ours. */
static int adopt(json_t *obj, struct rs_lease *l, rs_err_t *err) {
  struct rs_lease got;
  if (rs_lease_parse(obj, &got, err) < 0) return rs_wrap(err, "the API server's answer");
  rs_lease_clear(l);
  *l = got;
  return 0;
}

int rs_lease_read(rs_kube_client_t *c, const char *ns, const char *name, struct rs_lease *ret,
                  bool *ret_found, rs_err_t *err) {
  *ret_found = false;
  _cleanup_free_ char *path = lease_path(ns, name);
  if (!path) return rs_oom(err);
  json_auto_t *obj = NULL;
  if (rs_kube_get(c, path, &obj, err) < 0) {
    if (!rs_kube_is_not_found(err)) return rs_wrap(err, "reading the lock Lease %s/%s", ns, name);
    rs_err_clear(err);
    *ret = (struct rs_lease){0};
    return 0;
  }
  if (rs_lease_parse(obj, ret, err) < 0) return rs_wrap(err, "the lock Lease %s/%s", ns, name);
  *ret_found = true;
  return 0;
}

int rs_lease_take(rs_kube_client_t *c, const char *ns, const char *name, const char *holder,
                  const char *record, const json_t *annotations, struct rs_lease *ret, rs_err_t *err) {
  char now[96];
  micro_now(now);
  json_auto_t *ann = annotations ? json_deep_copy(annotations) : json_object();
  if (!ann || (record && json_object_set_new(ann, RS_ANN_LEASE_RECORD, json_string(record)) < 0))
    return rs_oom(err);
  json_auto_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:O}, s:{s:s, s:s, s:s, s:i}}", "apiVersion",
                               "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", name, "namespace",
                               ns, "labels", RS_LABEL_MANAGED_BY, RS_MANAGED_BY, "annotations", ann, "spec",
                               "holderIdentity", holder, "acquireTime", now, "renewTime", now,
                               "leaseTransitions", 0);
  _cleanup_free_ char *coll = lease_path(ns, NULL);
  if (!obj || !coll) return rs_oom(err);
  json_auto_t *got = NULL;
  *ret = (struct rs_lease){0};
  if (rs_kube_post(c, coll, obj, &got, err) == 0) return adopt(got, ret, err);
  if (!rs_kube_is_conflict(err)) return rs_wrap(err, "taking the lock Lease %s/%s", ns, name);
  rs_err_clear(err);
  bool found = false;
  if (rs_lease_read(c, ns, name, ret, &found, err) < 0) return -1;
  if (!found) /* released between the POST and the GET: say so, never loop */
    return rs_fail(err, RS_E_API, 409, "the lock Lease %s/%s existed, then was gone: another run just "
                   "finished with it; try again", ns, name);
  return 1;
}

int rs_lease_update(rs_kube_client_t *c, struct rs_lease *l, const char *holder, const char *record,
                    rs_err_t *err) {
  char now[96];
  micro_now(now);
  if (!l->obj || !l->rv || !l->ns)
    return rs_fail(err, RS_E_INPUT, 0, "Lease %s: read without a namespace or resourceVersion",
                   l->name ? l->name : "?");
  json_auto_t *obj = json_deep_copy(l->obj);
  _cleanup_free_ char *path = lease_path(l->ns, l->name);
  if (!obj || !path) return rs_oom(err);
  json_t *md = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
  if (!spec) {
    spec = json_object();
    if (!spec || json_object_set_new(obj, "spec", spec) < 0) return rs_oom(err);
  }
  json_t *ann = json_object_get(md, "annotations");
  if (!json_is_object(ann)) {
    ann = json_object();
    if (!ann || json_object_set_new(md, "annotations", ann) < 0) return rs_oom(err);
  }
  int rc = json_object_set_new(md, "resourceVersion", json_string(l->rv));
  json_object_del(md, "managedFields");
  if (rc == 0 && record) rc = json_object_set_new(ann, RS_ANN_LEASE_RECORD, json_string(record));
  if (rc == 0 && holder && (!l->holder || strcmp(holder, l->holder) != 0)) {
    rc = json_object_set_new(spec, "holderIdentity", json_string(holder));
    if (rc == 0) rc = json_object_set_new(spec, "acquireTime", json_string(now));
    if (rc == 0) rc = json_object_set_new(spec, "leaseTransitions", json_integer(l->transitions + 1));
  }
  if (rc == 0) rc = json_object_set_new(spec, "renewTime", json_string(now));
  if (rc < 0) return rs_oom(err);
  json_auto_t *got = NULL;
  if (rs_kube_put(c, path, obj, &got, err) < 0) {
    if (rs_kube_is_conflict(err) || rs_kube_is_not_found(err))
      return rs_fail(err, RS_E_API, err->code, "the lock Lease %s/%s was %s by someone else since this run "
                     "read it (holder then: %s); stopping", l->ns, l->name,
                     err->code == 404 ? "deleted" : "changed", l->holder ? l->holder : "none");
    return rs_wrap(err, "updating the lock Lease %s/%s", l->ns, l->name);
  }
  return adopt(got, l, err);
}

int rs_lease_release(rs_kube_client_t *c, struct rs_lease *l, rs_err_t *err) {
  _cleanup_free_ char *path = lease_path(l->ns, l->name);
  json_auto_t *opts = json_pack("{s:s, s:s, s:{s:s?, s:s?}}", "apiVersion", "v1", "kind", "DeleteOptions",
                                "preconditions", "uid", l->uid, "resourceVersion", l->rv);
  if (!path || !opts) return rs_oom(err);
  if (rs_kube_delete(c, path, opts, NULL, err) == 0 || rs_kube_is_not_found(err)) {
    rs_err_clear(err);
    rs_lease_clear(l);
    return 0;
  }
  if (rs_kube_is_conflict(err))
    return rs_fail(err, RS_E_API, 409, "the lock Lease %s/%s was changed by someone else since this run "
                   "wrote it; it was left in place", l->ns, l->name);
  return rs_wrap(err, "releasing the lock Lease %s/%s", l->ns, l->name);
}

/* ---- who is asking ---- */

int rs_lease_whoami(rs_kube_client_t *c, char **ret, bool *ret_verified, rs_err_t *err) {
  json_auto_t *req = json_pack("{s:s, s:s}", "apiVersion", "authentication.k8s.io/v1", "kind",
                               "SelfSubjectReview");
  if (!req) return rs_oom(err);
  json_auto_t *got = NULL;
  if (rs_kube_post(c, "/apis/authentication.k8s.io/v1/selfsubjectreviews", req, &got, err) == 0) {
    const json_t *name = json_object_get(json_object_get(json_object_get(got, "status"), "userInfo"),
                                         "username");
    if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > RS_LEASE_FIELD_MAX ||
        strlen(json_string_value(name)) != json_string_length(name))
      return rs_fail(err, RS_E_INPUT, 0, "the SelfSubjectReview's answer names no user");
    *ret_verified = true;
    return (*ret = strdup(json_string_value(name))) ? 0 : rs_oom(err);
  }
  /* an API server before 1.27 (404), or one that does not let this user
   * ask (403): the kubeconfig's word for it */
  if (!rs_kube_err_is(err, 404) && !rs_kube_err_is(err, 403))
    return rs_wrap(err, "asking the API server who this user is (SelfSubjectReview)");
  rs_err_clear(err);
  const rs_kube_config_t *cfg = rs_kube_client_config(c);
  const char *who = cfg->as ? cfg->as : cfg->user_name;
  *ret_verified = false;
  *ret = who ? rs_strdup_printf("%s (kubeconfig%s%s)", who, cfg->context ? " context " : "",
                                cfg->context ? cfg->context : "")
             : strdup("unknown user (kubeconfig)");
  return *ret ? 0 : rs_oom(err);
}
