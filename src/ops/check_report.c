/* The report of `check`: findings (one per workload, object, field and
 * value, with every node it applies to), their order, the counts the exit
 * code comes from, and the JSON document README documents. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "ops/check.h"

static const char *const sev_names[_RS_SEV_MAX] = {"info", "warning", "blocker"};
static const char *const pf_names[_RS_PF_MAX] = {"not-needed", "done", "blocked", "skipped", "failed"};

const char *rs_check_sev_name(int s) { return s >= 0 && s < _RS_SEV_MAX ? sev_names[s] : "info"; }
const char *rs_preflight_state_name(int s) { return s >= 0 && s < _RS_PF_MAX ? pf_names[s] : "failed"; }

static void ref_clear(struct rs_check_ref *r) {
  free((char *)r->kind);
  free((char *)r->ns);
  free((char *)r->name);
  *r = (struct rs_check_ref){0};
}

static int ref_copy(struct rs_check_ref *dst, const struct rs_check_ref *src) {
  *dst = (struct rs_check_ref){0};
  if (!src->kind) return 0;
  dst->kind = strdup(src->kind);
  dst->ns = rs_strdup0(src->ns);
  dst->name = rs_strdup0(src->name);
  if (!dst->kind || (src->ns && !dst->ns) || (src->name && !dst->name)) {
    ref_clear(dst);
    return -1;
  }
  return 0;
}

static void finding_clear(struct rs_check_finding *f) {
  rs_strv_free(f->nodes);
  ref_clear(&f->workload);
  ref_clear(&f->object);
  free(f->field);
  free(f->value);
  free(f->message);
  free(f->action);
  *f = (struct rs_check_finding){0};
}

void rs_check_report_clear(struct rs_check_report *r) {
  for (size_t i = 0; i < r->n; i++) finding_clear(&r->v[i]);
  free(r->v);
  for (size_t i = 0; i < r->nnodes; i++) {
    struct rs_check_node *n = &r->nodes[i];
    free(n->name);
    free(n->runtime);
    free(n->kubelet);
    free(n->arch);
    free(n->preflight_note);
    free(n->kubenet_note);
    json_decref(n->labels);
    json_decref(n->obj);
    json_decref(n->plan);
  }
  free(r->nodes);
  free(r->to);
  rs_strv_free(r->notes);
  rs_strv_free(r->missing);
  *r = (struct rs_check_report){0};
}

static int cmp0(const char *a, const char *b) {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  return strcmp(a, b);
}

static int ref_cmp(const struct rs_check_ref *a, const struct rs_check_ref *b) {
  int c = cmp0(a->kind, b->kind);
  if (!c) c = cmp0(a->ns, b->ns);
  if (!c) c = cmp0(a->name, b->name);
  return c;
}

static bool same(const struct rs_check_finding *a, const struct rs_check_finding *b) {
  return strcmp(a->check, b->check) == 0 && ref_cmp(&a->workload, &b->workload) == 0 &&
         ref_cmp(&a->object, &b->object) == 0 && cmp0(a->field, b->field) == 0 &&
         cmp0(a->value, b->value) == 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int add_nodes(char ***dst, const char *const *nodes, rs_err_t *err) {
  for (size_t i = 0; nodes && nodes[i]; i++)
    if (!rs_strv_contains(*dst, nodes[i]) && rs_strv_push(dst, nodes[i], err) < 0) return -1;
  qsort(*dst, rs_strv_len(*dst), sizeof **dst, cmp_str);
  return 0;
}

int rs_check_add(struct rs_check_report *r, const struct rs_check_finding *f, rs_err_t *err) {
  for (size_t i = 0; i < r->n; i++)
    if (same(&r->v[i], f)) {
      if (f->severity > r->v[i].severity) r->v[i].severity = f->severity;
      return add_nodes(&r->v[i].nodes, (const char *const *)f->nodes, err);
    }
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 32;
    struct rs_check_finding *v = realloc(r->v, cap * sizeof *v);
    if (!v) return rs_oom(err);
    r->v = v;
    r->cap = cap;
  }
  struct rs_check_finding c = {.severity = f->severity, .check = f->check};
  if (!(c.nodes = rs_strv_new()) || ref_copy(&c.workload, &f->workload) < 0 ||
      ref_copy(&c.object, &f->object) < 0 || (f->field && !(c.field = strdup(f->field))) ||
      (f->value && !(c.value = strdup(f->value))) || (f->message && !(c.message = strdup(f->message))) ||
      (f->action && !(c.action = strdup(f->action))) || add_nodes(&c.nodes, (const char *const *)f->nodes, err) < 0) {
    finding_clear(&c);
    return rs_oom(err);
  }
  r->v[r->n++] = c;
  return 0;
}

int rs_check_addv(struct rs_check_report *r, const struct rs_check_finding *f, rs_err_t *err, const char *fmt,
                  va_list ap) {
  _cleanup_free_ char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) return rs_oom(err);
  struct rs_check_finding g = *f;
  g.message = msg;
  return rs_check_add(r, &g, err);
}

int rs_check_note(struct rs_check_report *r, rs_err_t *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0) return rs_oom(err);
  if (rs_strv_contains(r->notes, s)) {
    free(s);
    return 0;
  }
  return rs_strv_consume(&r->notes, s, err);
}

/* Node findings first, by node; then workloads, by kind, namespace, name;
 * within a group the worst first, then by check, object, field, value. */
static int cmp_finding(const void *pa, const void *pb) {
  const struct rs_check_finding *a = pa, *b = pb;
  int c = (a->workload.kind != NULL) - (b->workload.kind != NULL);
  if (!c && !a->workload.kind) c = cmp0(a->nodes[0], b->nodes[0]);
  if (!c) c = ref_cmp(&a->workload, &b->workload);
  if (!c) c = b->severity - a->severity;
  if (!c) c = strcmp(a->check, b->check);
  if (!c) c = ref_cmp(&a->object, &b->object);
  if (!c) c = cmp0(a->field, b->field);
  if (!c) c = cmp0(a->value, b->value);
  return c;
}

void rs_check_sort(struct rs_check_report *r) {
  if (r->n) qsort(r->v, r->n, sizeof *r->v, cmp_finding);
}

void rs_check_counts(const struct rs_check_report *r, size_t ret[_RS_SEV_MAX]) {
  for (int s = 0; s < _RS_SEV_MAX; s++) ret[s] = 0;
  for (size_t i = 0; i < r->n; i++)
    if (r->v[i].severity >= 0 && r->v[i].severity < _RS_SEV_MAX) ret[r->v[i].severity]++;
}

int rs_check_worst(const struct rs_check_report *r) {
  int w = -1;
  for (size_t i = 0; i < r->n; i++)
    if (r->v[i].severity > w) w = r->v[i].severity;
  return w;
}

static json_t *ref_json(const struct rs_check_ref *r) {
  if (!r->kind) return json_null();
  return json_pack("{s:s, s:s?, s:s?}", "kind", r->kind, "namespace", r->ns, "name", r->name);
}

static json_t *strv_json(char *const *v) {
  json_t *a = json_array();
  for (size_t i = 0; a && v && v[i]; i++)
    if (json_array_append_new(a, json_string(v[i])) < 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

json_t *rs_check_report_to_json(const struct rs_check_report *r) {
  size_t cnt[_RS_SEV_MAX];
  rs_check_counts(r, cnt);
  int worst = rs_check_worst(r);
  const char *result = worst == RS_SEV_BLOCKER ? "blockers" : worst == RS_SEV_WARNING ? "warnings" : "ok";
  json_t *nodes = json_array(), *findings = json_array();
  for (size_t i = 0; nodes && i < r->nnodes; i++) {
    const struct rs_check_node *n = &r->nodes[i];
    const char *kubenet = n->kubenet > 0 ? "yes" : n->kubenet == 0 ? "no" : "unknown";
    if (json_array_append_new(nodes, json_pack("{s:s, s:s?, s:s?, s:b, s:s, s:s?, s:s, s:s?}", "name", n->name,
                                               "runtime", n->runtime, "kubeletVersion", n->kubelet, "leavesDocker",
                                               n->leaves_docker, "preflight", rs_preflight_state_name(n->preflight),
                                               "preflightNote", n->preflight_note, "kubenet", kubenet,
                                               "kubenetNote", n->kubenet_note)) < 0) {
      json_decref(nodes);
      nodes = NULL;
    }
  }
  for (size_t i = 0; findings && i < r->n; i++) {
    const struct rs_check_finding *f = &r->v[i];
    if (json_array_append_new(findings, json_pack("{s:s, s:s, s:o, s:o, s:o, s:s?, s:s?, s:s?, s:s?}", "severity",
                                                  rs_check_sev_name(f->severity), "check", f->check, "nodes",
                                                  strv_json(f->nodes), "workload", ref_json(&f->workload),
                                                  "object", ref_json(&f->object), "field", f->field, "value",
                                                  f->value, "message", f->message, "action", f->action)) < 0) {
      json_decref(findings);
      findings = NULL;
    }
  }
  json_t *notes = strv_json(r->notes);
  if (!nodes || !findings || !notes) {
    json_decref(nodes);
    json_decref(findings);
    json_decref(notes);
    return NULL;
  }
  return json_pack("{s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I}, s:o, s:o, s:o}", "apiVersion", RS_CHECK_API_VERSION,
                   "kind", RS_CHECK_KIND, "to", r->to ? r->to : "", "result", result, "summary", "blockers",
                   (json_int_t)cnt[RS_SEV_BLOCKER], "warnings", (json_int_t)cnt[RS_SEV_WARNING], "info",
                   (json_int_t)cnt[RS_SEV_INFO], "nodes", nodes, "findings", findings, "notes", notes);
}
