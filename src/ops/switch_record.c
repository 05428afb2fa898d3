/* The record of a run kept on the node (see ops/switch_record.h): parsed
 * from its annotations, ranked, and written back. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/deliver.h"
#include "ops/nodes.h"
#include "ops/switch_record.h"

static const char *const rec_phases[] = {RS_REC_STARTED, RS_REC_CORDONED, RS_REC_DRAINED,
                                         RS_REC_LAUNCHED, RS_REC_SWITCHED};

int rs_sw_record_rank(const char *phase) {
  if (!phase) return -1;
  for (size_t i = 0; i < RS_ARRAY_SIZE(rec_phases); i++)
    if (strcmp(phase, rec_phases[i]) == 0) return (int)i;
  if (strcmp(phase, RS_REC_DONE) == 0 || strcmp(phase, RS_REC_ROLLED_BACK) == 0 ||
      strcmp(phase, RS_REC_FAILED) == 0 || strcmp(phase, RS_REC_ABANDONED) == 0)
    return (int)RS_ARRAY_SIZE(rec_phases);
  return -1;
}

bool rs_sw_record_final(const struct rs_sw_record *r) {
  return !r->id || rs_sw_record_rank(r->phase) >= (int)RS_ARRAY_SIZE(rec_phases) ||
         rs_sw_record_rank(r->phase) < 0;
}

void rs_sw_record_clear(struct rs_sw_record *r) {
  char **strs[] = {&r->id, &r->phase, &r->from, &r->to, &r->ns, &r->image, &r->sandbox};
  for (size_t i = 0; i < RS_ARRAY_SIZE(strs); i++) free(*strs[i]);
  *r = (struct rs_sw_record){0};
}

static int take(const json_t *o, const char *key, char **dst, rs_err_t *err) {
  const char *s = json_string_value(json_object_get(o, key));
  if (!s) return 0;
  if (strlen(s) > 1024) return rs_fail(err, RS_E_LIMIT, 0, "annotation %s: %s too long", RS_ANN_RUN, key);
  return (*dst = strdup(s)) ? 0 : rs_oom(err);
}

int rs_sw_record_from_node(const json_t *node, struct rs_sw_record *ret, rs_err_t *err) {
  const json_t *ann = json_object_get(json_object_get(node, "metadata"), "annotations");
  const char *state = json_string_value(json_object_get(ann, RS_HELPER_ANNOTATION_STATE));
  const char *run = json_string_value(json_object_get(ann, RS_ANN_RUN));
  struct rs_sw_record r = {0};
  *ret = r;
  if (!state && !run) return 0;
  if (run && strlen(run) > 16384)
    return rs_fail(err, RS_E_LIMIT, 0, "annotation %s is too long", RS_ANN_RUN);
  json_auto_t *j = run ? json_loads(run, 0, NULL) : NULL;
  if (run && !json_is_object(j))
    return rs_fail(err, RS_E_INPUT, 0, "annotation %s is not a JSON object; remove it with "
                   "`kubectl annotate node NODE %s-`", RS_ANN_RUN, RS_ANN_RUN);
  int rc = take(j, "id", &r.id, err);
  if (rc == 0) rc = take(j, "phase", &r.phase, err);
  if (rc == 0) rc = take(j, "from", &r.from, err);
  if (rc == 0) rc = take(j, "to", &r.to, err);
  if (rc == 0) rc = take(j, "namespace", &r.ns, err);
  if (rc == 0) rc = take(j, "image", &r.image, err);
  if (rc == 0) rc = take(j, "sandbox", &r.sandbox, err);
  if (rc < 0) {
    rs_sw_record_clear(&r);
    return -1;
  }
  const char *op = json_string_value(json_object_get(j, "op"));
  r.op = op && strcmp(op, "rollback") == 0 ? RS_OP_ROLLBACK : RS_OP_SWITCH;
  r.secret = json_is_true(json_object_get(j, "secret"));
  r.cordoned = json_is_true(json_object_get(j, "cordoned"));
  r.started = json_integer_value(json_object_get(j, "started"));
  /* The state annotation ("<id> <phase>") is the contract's; it wins when
   * the two disagree (it is written together with the record). */
  if (state) {
    const char *sp = strchr(state, ' ');
    if (sp && sp != state && strlen(sp + 1) < 64 && (size_t)(sp - state) <= 64) {
      char *id = strndup(state, (size_t)(sp - state));
      char *ph = strdup(sp + 1);
      if (!id || !ph) {
        free(id);
        free(ph);
        rs_sw_record_clear(&r);
        return rs_oom(err);
      }
      if (!r.id || strcmp(r.id, id) == 0) {
        free(r.id);
        free(r.phase);
        r.id = id;
        r.phase = ph;
      } else {
        free(id);
        free(ph);
      }
    }
  }
  *ret = r;
  return 0;
}

json_t *rs_sw_record_to_json(const struct rs_sw_record *r) {
  return json_pack("{s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:b, s:b, s:I}", "id", r->id, "op",
                   r->op == RS_OP_ROLLBACK ? "rollback" : "switch", "phase", r->phase, "from",
                   r->from, "to", r->to, "namespace", r->ns, "image", r->image, "sandbox", r->sandbox,
                   "secret", r->secret, "cordoned", r->cordoned, "started", (json_int_t)r->started);
}

static char *node_path(const char *node) {
  _cleanup_free_ char *en = rs_kube_escape(node);
  return en ? rs_strdup_printf("/api/v1/nodes/%s", en) : NULL;
}

int rs_sw_record_save(rs_kube_client_t *c, const char *node, struct rs_sw_record *rec,
                      const char *phase, rs_err_t *err) {
  char *p = strdup(phase);
  if (!p) return rs_oom(err);
  free(rec->phase);
  rec->phase = p;
  json_auto_t *rj = rs_sw_record_to_json(rec);
  _cleanup_free_ char *txt = rj ? json_dumps(rj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  _cleanup_free_ char *state = rs_strdup_printf("%s %s", rec->id, phase);
  _cleanup_free_ char *path = node_path(node);
  if (!txt || !state || !path) return rs_oom(err);
  json_auto_t *patch = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "annotations",
                                 RS_HELPER_ANNOTATION_STATE, state, RS_ANN_RUN, txt);
  if (!patch) return rs_oom(err);
  if (rs_kube_patch(c, path, RS_PATCH_MERGE, patch, NULL, err) < 0)
    return rs_wrap(err, "recording the switch's progress on node %s", node);
  return 0;
}
