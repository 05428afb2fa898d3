/* The pure side of drain: kubectl's pod filters and how their verdicts are
 * grouped into warnings and errors, label selector validation, Go duration
 * text, and events as JSON.  No I/O here. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/drain.h"

#define DS_FATAL "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
#define DS_WARNING "ignoring DaemonSet-managed Pods"
#define LOCAL_FATAL "Pods with local storage (use --delete-emptydir-data to override)"
#define LOCAL_WARNING "deleting Pods with local storage"
#define UNMANAGED_FATAL "cannot delete Pods that declare no controller (use --force to override)"
#define UNMANAGED_WARNING "deleting Pods that declare no controller"
#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"

int rs_dry_run_parse(const char *s) {
  if (!s || strcmp(s, "none") == 0 || strcmp(s, "false") == 0) return RS_DRY_RUN_NONE;
  /* a bare --dry-run is "unchanged" (kubectl's NoOptDefVal), and "true" is
   * the deprecated spelling: both mean client */
  if (strcmp(s, "client") == 0 || strcmp(s, "unchanged") == 0 || strcmp(s, "true") == 0)
    return RS_DRY_RUN_CLIENT;
  if (strcmp(s, "server") == 0) return RS_DRY_RUN_SERVER;
  return -1;
}

const char *rs_drain_pod_state_name(int state) {
  static const char *const names[_RS_DRAIN_POD_MAX] = {"pending", "requested", "evicting",
                                                       "gone", "skipped", "failed"};
  return state >= 0 && state < _RS_DRAIN_POD_MAX ? names[state] : "unknown";
}

const char *rs_drain_ev_name(int type) {
  static const char *const names[_RS_DRAIN_EV_MAX] = {
      "cordon", "cordonError", "warning", "evicting", "retry",
      "evicted", "skipped", "podFailed", "drained"};
  return type >= 0 && type < _RS_DRAIN_EV_MAX ? names[type] : "unknown";
}

/* ---- pods ---- */

static const json_t *controller_of(const json_t *pod) {
  size_t i;
  json_t *ref;
  json_array_foreach(json_object_get(json_object_get(pod, "metadata"), "ownerReferences"), i, ref) {
    if (json_is_true(json_object_get(ref, "controller"))) return ref;
  }
  return NULL;
}

const char *rs_drain_pod_daemonset(const json_t *pod) {
  const json_t *ref = controller_of(pod);
  const char *kind = json_string_value(json_object_get(ref, "kind"));
  const char *av = json_string_value(json_object_get(ref, "apiVersion"));
  const char *name = json_string_value(json_object_get(ref, "name"));
  if (!kind || strcmp(kind, "DaemonSet") != 0 || !av || strcmp(av, "apps/v1") != 0) return NULL;
  return name && *name ? name : NULL;
}

static bool pod_finished(const json_t *pod) {
  const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
  return phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
}

static bool has_emptydir(const json_t *pod) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(json_object_get(pod, "spec"), "volumes"), i, v) {
    json_t *ed = json_object_get(v, "emptyDir");
    if (ed && !json_is_null(ed)) return true;
  }
  return false;
}

static bool is_mirror(const json_t *pod) {
  return json_object_get(json_object_get(json_object_get(pod, "metadata"), "annotations"),
                         MIRROR_ANNOTATION) != NULL;
}

static bool deleted_long_ago(const json_t *pod, long skip_s, long long now_s) {
  if (skip_s <= 0) return false;
  const char *ts = json_string_value(
      json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"));
  long long t = ts ? rs_rfc3339_seconds(ts) : -1;
  return t >= 0 && now_s - t > skip_s;
}

typedef struct rs_drain_filter_result res_t;
static const res_t OKAY = {RS_DRAIN_DELETE, NULL};

struct fctx {
  const json_t *pod;
  const struct rs_drain_opts *o;
  int ds_state;
  const char *ds_message;
  long long now_s;
};

/* A pod of the caller's own Jobs (by namespace and Job UID). */
static res_t f_own(const struct fctx *f) {
  if (!f->o->own_ns || !f->o->own_job_uids) return OKAY;
  const json_t *meta = json_object_get(f->pod, "metadata");
  const char *ns = json_string_value(json_object_get(meta, "namespace"));
  const json_t *ref = controller_of(f->pod);
  const char *kind = json_string_value(json_object_get(ref, "kind"));
  const char *av = json_string_value(json_object_get(ref, "apiVersion"));
  const char *uid = json_string_value(json_object_get(ref, "uid"));
  if (!ns || strcmp(ns, f->o->own_ns) != 0 || !kind || strcmp(kind, "Job") != 0 || !av ||
      strcmp(av, "batch/v1") != 0 || !uid || !*uid)
    return OKAY;
  for (char *const *u = f->o->own_job_uids; *u; u++)
    if (strcmp(*u, uid) == 0) return (res_t){RS_DRAIN_SKIP, NULL};
  return OKAY;
}

static res_t f_skip_deleted(const struct fctx *f) {
  if (deleted_long_ago(f->pod, f->o->skip_wait_for_delete_timeout, f->now_s))
    return (res_t){RS_DRAIN_SKIP, NULL};
  return OKAY;
}

static res_t f_daemonset(const struct fctx *f) {
  if (!rs_drain_pod_daemonset(f->pod) || pod_finished(f->pod)) return OKAY;
  const char *m = f->ds_message && *f->ds_message ? f->ds_message : "unexpected error";
  if (f->ds_state == RS_DRAIN_DS_NOT_FOUND && f->o->force) return (res_t){RS_DRAIN_DELETE_WARN, m};
  if (f->ds_state != RS_DRAIN_DS_FOUND) return (res_t){RS_DRAIN_ERROR, m};
  if (!f->o->ignore_daemonsets) return (res_t){RS_DRAIN_ERROR, DS_FATAL};
  return (res_t){RS_DRAIN_SKIP_WARN, DS_WARNING};
}

static res_t f_mirror(const struct fctx *f) {
  return is_mirror(f->pod) ? (res_t){RS_DRAIN_SKIP, NULL} : OKAY;
}

static res_t f_local_storage(const struct fctx *f) {
  if (!has_emptydir(f->pod) || pod_finished(f->pod)) return OKAY;
  if (!f->o->delete_emptydir_data) return (res_t){RS_DRAIN_ERROR, LOCAL_FATAL};
  return (res_t){RS_DRAIN_DELETE_WARN, LOCAL_WARNING};
}

static res_t f_unreplicated(const struct fctx *f) {
  if (pod_finished(f->pod) || controller_of(f->pod)) return OKAY;
  if (f->o->force) return (res_t){RS_DRAIN_DELETE_WARN, UNMANAGED_WARNING};
  return (res_t){RS_DRAIN_ERROR, UNMANAGED_FATAL};
}

static bool deletes(const res_t *r) {
  return r->verdict == RS_DRAIN_DELETE || r->verdict == RS_DRAIN_DELETE_WARN;
}

/* kubectl's chain: each filter's status replaces the previous one (so a
 * later Okay erases an earlier warning) and the first non-delete stops it. */
struct rs_drain_filter_result rs_drain_filter_pod(const json_t *pod,
                                                  const struct rs_drain_opts *o,
                                                  int ds_state,
                                                  const char *ds_message,
                                                  long long now_s) {
  static res_t (*const chain[])(const struct fctx *) = {f_own, f_skip_deleted, f_daemonset, f_mirror,
                                                        f_local_storage, f_unreplicated};
  struct fctx f = {pod, o, ds_state, ds_message, now_s};
  res_t st = OKAY;
  for (size_t i = 0; i < RS_ARRAY_SIZE(chain); i++) {
    st = chain[i](&f);
    if (!deletes(&st)) break;
  }
  return st;
}

/* ---- groups ---- */

struct group {
  char *msg;
  char **pods; /* "ns/name" */
};

struct rs_drain_groups {
  struct group *g;
  size_t n, cap;
};

struct rs_drain_groups *rs_drain_groups_new(void) { return calloc(1, sizeof(struct rs_drain_groups)); }

size_t rs_drain_groups_count(const struct rs_drain_groups *g) { return g ? g->n : 0; }

int rs_drain_groups_add(struct rs_drain_groups *g, const char *msg, const char *ns,
                        const char *name, rs_err_t *err) {
  struct group *hit = NULL;
  for (size_t i = 0; i < g->n && !hit; i++)
    if (strcmp(g->g[i].msg, msg) == 0) hit = &g->g[i];
  if (!hit) {
    if (g->n == g->cap) {
      size_t cap = g->cap ? g->cap * 2 : 4;
      struct group *n = realloc(g->g, cap * sizeof *n);
      if (!n) return rs_oom(err);
      g->g = n;
      g->cap = cap;
    }
    hit = &g->g[g->n];
    *hit = (struct group){strdup(msg), rs_strv_new()};
    if (!hit->msg || !hit->pods) {
      free(hit->msg);
      rs_strv_free(hit->pods);
      return rs_oom(err);
    }
    g->n++;
  }
  return rs_strv_consume(&hit->pods, rs_strdup_printf("%s/%s", ns ? ns : "", name ? name : ""), err);
}

static int group_text(rs_buf_t *b, const char *prefix, const struct group *gr) {
  if (rs_buf_printf(b, NULL, "%s%s: ", prefix, gr->msg) < 0) return -1;
  for (size_t j = 0; gr->pods[j]; j++)
    if (rs_buf_printf(b, NULL, "%s%s", j ? ", " : "", gr->pods[j]) < 0) return -1;
  return 0;
}

char *rs_drain_groups_warnings(const struct rs_drain_groups *g) {
  if (!g || !g->n) return NULL;
  rs_buf_t b = RS_BUF_INIT(0);
  for (size_t i = 0; i < g->n; i++)
    if ((i && rs_buf_puts(&b, "; ", NULL) < 0) || group_text(&b, "", &g->g[i]) < 0) {
      rs_buf_free(&b);
      return NULL;
    }
  return rs_buf_steal(&b, NULL);
}

int rs_drain_groups_errors(const struct rs_drain_groups *g, char ***v, rs_err_t *err) {
  for (size_t i = 0; g && i < g->n; i++) {
    rs_buf_t b = RS_BUF_INIT(0);
    bool prefixed = strncasecmp(g->g[i].msg, "cannot delete", 13) == 0;
    if (group_text(&b, prefixed ? "" : "cannot delete ", &g->g[i]) < 0) {
      rs_buf_free(&b);
      return rs_oom(err);
    }
    if (rs_strv_consume(v, rs_buf_steal(&b, NULL), err) < 0) return -1;
  }
  return 0;
}

void rs_drain_groups_free(struct rs_drain_groups *g) {
  if (!g) return;
  for (size_t i = 0; i < g->n; i++) {
    free(g->g[i].msg);
    rs_strv_free(g->g[i].pods);
  }
  free(g->g);
  free(g);
}

/* ---- text ---- */

char *rs_drain_duration_text(long long ms, char *buf, size_t len) {
  if (ms < 0) ms = 0;
  if (ms < 1000) {
    snprintf(buf, len, ms ? "%lldms" : "0s", ms);
    return buf;
  }
  long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  char secs[32];
  if (frac) {
    char f[8];
    snprintf(f, sizeof f, "%03lld", frac);
    for (size_t l = strlen(f); l && f[l - 1] == '0'; l--) f[l - 1] = '\0';
    snprintf(secs, sizeof secs, "%lld.%s", s, f);
  } else {
    snprintf(secs, sizeof secs, "%lld", s);
  }
  if (h) snprintf(buf, len, "%lldh%lldm%ss", h, m, secs);
  else if (m) snprintf(buf, len, "%lldm%ss", m, secs);
  else snprintf(buf, len, "%ss", secs);
  return buf;
}

char *rs_drain_aggregate_text(char *const *errors) {
  size_t n = rs_strv_len(errors);
  if (n == 0) return strdup("");
  if (n == 1) return strdup(errors[0]);
  rs_buf_t b = RS_BUF_INIT(0);
  size_t shown = 0;
  for (size_t i = 0; i < n; i++) {
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++) seen = strcmp(errors[i], errors[j]) == 0;
    if (seen) continue;
    if (rs_buf_printf(&b, NULL, "%s%s", shown ? ", " : "", errors[i]) < 0) goto oom;
    shown++;
  }
  if (shown == 1) return rs_buf_steal(&b, NULL);
  char *inner = rs_buf_steal(&b, NULL);
  char *out = inner ? rs_strdup_printf("[%s]", inner) : NULL;
  free(inner);
  return out;
oom:
  rs_buf_free(&b);
  return NULL;
}

long long rs_rfc3339_seconds(const char *s) {
  if (!s) return -1;
  struct tm tm = {0};
  int n = 0;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
    return -1;
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  const char *p = s + n;
  if (*p == '.')
    for (p++; isdigit((unsigned char)*p); p++) {}
  long off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om, m = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 || oh > 23 || om > 59) return -1;
    off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    return -1;
  }
  if (*p) return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t t = timegm(&tm);
  return t == (time_t)-1 ? -1 : (long long)t - off;
}

/* ---- label selectors (k8s.io/apimachinery labels.Parse) ---- */

enum tok { T_END, T_IDENT, T_IN, T_NOTIN, T_EQ, T_DEQ, T_NEQ, T_NOT, T_GT, T_LT, T_OPEN,
           T_CLOSE, T_COMMA, T_BAD };

struct lexer {
  const char *p;
  const char *start;
  size_t len;
};

static bool special(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static int lex(struct lexer *l) {
  while (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r') l->p++;
  l->start = l->p;
  char c = *l->p;
  if (!c) return T_END;
  l->p++;
  switch (c) {
  case '(': return T_OPEN;
  case ')': return T_CLOSE;
  case ',': return T_COMMA;
  case '>': return T_GT;
  case '<': return T_LT;
  case '=':
    if (*l->p == '=') { l->p++; return T_DEQ; }
    return T_EQ;
  case '!':
    if (*l->p == '=') { l->p++; return T_NEQ; }
    return T_NOT;
  default: break;
  }
  while (*l->p && !special(*l->p) && *l->p != ' ' && *l->p != '\t' && *l->p != '\n' && *l->p != '\r')
    l->p++;
  l->len = (size_t)(l->p - l->start);
  if (l->len == 2 && strncmp(l->start, "in", 2) == 0) return T_IN;
  if (l->len == 5 && strncmp(l->start, "notin", 5) == 0) return T_NOTIN;
  return T_IDENT;
}

static int peek(const struct lexer *l) {
  struct lexer c = *l;
  return lex(&c);
}

static bool alnum(char c) { return isalnum((unsigned char)c) != 0; }

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 */
static bool name_part(const char *s, size_t n, bool allow_empty) {
  if (n == 0) return allow_empty;
  if (n > 63 || !alnum(s[0]) || !alnum(s[n - 1])) return false;
  for (size_t i = 0; i < n; i++)
    if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') return false;
  return true;
}

/* DNS-1123 subdomain, at most 253 */
static bool dns_subdomain(const char *s, size_t n) {
  if (n == 0 || n > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '.') {
      if (label == 0 || s[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-')) return false;
    if (label == 0 && c == '-') return false;
    label++;
  }
  return label > 0 && s[n - 1] != '-';
}

static bool qualified_name(const char *s, size_t n) {
  const char *slash = memchr(s, '/', n);
  if (!slash) return name_part(s, n, false);
  if (memchr(slash + 1, '/', n - (size_t)(slash - s) - 1)) return false;
  return dns_subdomain(s, (size_t)(slash - s)) &&
         name_part(slash + 1, n - (size_t)(slash - s) - 1, false);
}

static bool int_value(const char *s, size_t n) {
  size_t i = 0;
  if (n && (s[0] == '-' || s[0] == '+')) i++;
  if (i == n || n - i > 18) return false;
  for (; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return false;
  return true;
}

static bool requirement(struct lexer *l) {
  int t = lex(l);
  bool negated = false;
  if (t == T_NOT) {
    negated = true;
    t = lex(l);
  }
  if (t != T_IDENT || !qualified_name(l->start, l->len)) return false;
  int next = peek(l);
  if (negated || next == T_END || next == T_COMMA) return negated ? (next == T_END || next == T_COMMA) : true;
  int op = lex(l);
  switch (op) {
  case T_EQ:
  case T_DEQ:
  case T_NEQ: {
    int v = peek(l);
    if (v == T_END || v == T_COMMA) return true; /* empty value */
    lex(l);
    if (v != T_IDENT && v != T_IN && v != T_NOTIN) return false;
    return name_part(l->start, l->len, true);
  }
  case T_GT:
  case T_LT:
    if (lex(l) != T_IDENT) return false;
    return int_value(l->start, l->len);
  case T_IN:
  case T_NOTIN: {
    if (lex(l) != T_OPEN) return false;
    size_t count = 0;
    for (;;) {
      int v = lex(l);
      if (v == T_CLOSE) return count > 0;
      if (v == T_COMMA) {        /* an empty value before the comma */
        count++;
        continue;
      }
      if ((v != T_IDENT && v != T_IN && v != T_NOTIN) || !name_part(l->start, l->len, true))
        return false;
      count++;
      int after = lex(l);
      if (after == T_CLOSE) return true;
      if (after != T_COMMA) return false;
      if (peek(l) == T_CLOSE) return true;
    }
  }
  default:
    return false;
  }
}

bool rs_label_selector_valid(const char *s) {
  if (!s) return true;
  if (strlen(s) > 65536) return false;
  struct lexer l = {.p = s};
  if (peek(&l) == T_END) return true;
  for (;;) {
    if (!requirement(&l)) return false;
    int t = lex(&l);
    if (t == T_END) return true;
    if (t != T_COMMA) return false;
  }
}

/* ---- events ---- */

json_t *rs_drain_event_to_json(const struct rs_drain_event *ev) {
  json_t *o = json_pack("{s:s, s:s*, s:s*, s:s*, s:s*, s:s*, s:s*}", "event",
                        rs_drain_ev_name(ev->type), "node", ev->node, "namespace", ev->ns,
                        "pod", ev->pod, "uid", ev->uid, "message", ev->message, "text", ev->text);
  if (!o) return NULL;
  if (ev->type == RS_DRAIN_EV_RETRY &&
      json_object_set_new(o, "retryAfterSeconds", json_real((double)ev->retry_ms / 1000.0)) < 0)
    goto fail;
  if ((ev->type == RS_DRAIN_EV_EVICTING || ev->type == RS_DRAIN_EV_RETRY) &&
      json_object_set_new(o, "attempt", json_integer(ev->attempt)) < 0)
    goto fail;
  return o;
fail:
  json_decref(o);
  return NULL;
}
