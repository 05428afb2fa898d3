/* The pure parts of the switch: names, the refusals of the check phase,
 * runtime names and endpoints, journal times.
 * See include/ops/switch.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/nodes.h"
#include "ops/switch.h"

static const char *const phase_names[_RS_PH_MAX] = {
    "check",  "deliver",  "preflight", "plan",   "confirm",  "cordon",   "drain",
    "launch", "rollback", "restart",   "verify", "annotate", "uncordon", "cleanup",
};
static const char *const status_names[_RS_SW_STATUS_MAX] = {"done", "skipped", "resumed",
                                                            "failed", "stopped"};
static const char *const outcome_names[_RS_SW_OUTCOME_MAX] = {
    "switched", "dry-run", "refused", "drain-failed", "rolled-back", "needs-attention", "error"};

const char *rs_sw_phase_name(int p) { return p >= 0 && p < _RS_PH_MAX ? phase_names[p] : "?"; }
const char *rs_sw_status_name(int s) {
  return s >= 0 && s < _RS_SW_STATUS_MAX ? status_names[s] : "?";
}
const char *rs_sw_outcome_name(int o) {
  return o >= 0 && o < _RS_SW_OUTCOME_MAX ? outcome_names[o] : "?";
}

void rs_switch_result_clear(struct rs_switch_result *r) {
  free(r->id);
  free(r->from);
  free(r->to);
  free(r->runtime_before);
  free(r->runtime_after);
  json_decref(r->plan);
  json_decref(r->report);
  json_decref(r->manifests);
  free(r->reason);
  free(r->hint);
  *r = (struct rs_switch_result){0};
}

/* ---- runtimes ---- */

char *rs_runtime_name(const char *v) {
  if (!v || !*v) return NULL;
  const char *sep = strstr(v, "://");
  if (!sep || sep == v) return NULL;
  return strndup(v, (size_t)(sep - v));
}

static const json_t *node_info(const json_t *node) {
  return json_object_get(json_object_get(node, "status"), "nodeInfo");
}

/* The kubelet runs without dockershim (1.24+): docker:// means cri-dockerd. */
static bool kubelet_without_dockershim(const json_t *node) {
  const char *kv = json_string_value(json_object_get(node_info(node), "kubeletVersion"));
  int maj = 0, min = 0;
  if (!kv || rs_version_major_minor(kv, &maj, &min) < 0) return true;
  return maj > 1 || (maj == 1 && min >= 24);
}

bool rs_sw_runtime_is(const json_t *node, const char *to) {
  const char *v = json_string_value(json_object_get(node_info(node), "containerRuntimeVersion"));
  _cleanup_free_ char *name = rs_runtime_name(v);
  enum rs_rt rt = rs_rt_by_name(to);
  if (!name || rt == RS_RT_NONE || strcmp(name, rs_runtimes[rt].node_scheme) != 0) return false;
  return rt != RS_RT_CRI_DOCKERD || kubelet_without_dockershim(node);
}

bool rs_sw_runtime_ambiguous(const json_t *node, const char *to) {
  if (rs_rt_by_name(to) != RS_RT_CRI_DOCKERD) return false;
  const char *v = json_string_value(json_object_get(node_info(node), "containerRuntimeVersion"));
  _cleanup_free_ char *name = rs_runtime_name(v);
  return name && strcmp(name, rs_runtimes[RS_RT_CRI_DOCKERD].node_scheme) == 0 &&
         !kubelet_without_dockershim(node);
}

bool rs_sw_node_ready(const json_t *node) {
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, c) {
    const char *t = json_string_value(json_object_get(c, "type"));
    if (t && strcmp(t, "Ready") == 0) {
      const char *s = json_string_value(json_object_get(c, "status"));
      return s && strcmp(s, "True") == 0;
    }
  }
  return false;
}

const char *rs_sw_endpoint_for(const char *runtime) {
  return rs_rt_cri_socket(rs_rt_by_name(runtime));
}

static bool is_control_plane(const json_t *node) {
  const json_t *labels = json_object_get(json_object_get(node, "metadata"), "labels");
  return json_object_get(labels, "node-role.kubernetes.io/control-plane") ||
         json_object_get(labels, "node-role.kubernetes.io/master");
}

int rs_sw_check_node(const json_t *node, const json_t *nodes, const char *to,
                     bool force_single_control_plane, rs_err_t *err) {
  const char *name = json_string_value(json_object_get(json_object_get(node, "metadata"), "name"));
  const char *v = json_string_value(json_object_get(node_info(node), "containerRuntimeVersion"));
  if (!name) name = "?";
  if (rs_rt_target(to) == RS_RT_NONE)
    return rs_fail(err, RS_E_USAGE, 0, "unknown target runtime \"%s\" (use " RS_RUNTIME_TARGETS ")",
                   to ? to : "");
  _cleanup_free_ char *rt = rs_runtime_name(v);
  if (!rt || strcmp(rt, "Unknown") == 0)
    return rs_fail(err, RS_E_INPUT, 0,
                   "node %s reports no container runtime (containerRuntimeVersion \"%s\"): "
                   "is its kubelet running?", name, v ? v : "");
  if (!rs_rt_scheme(rt, strlen(rt)))
    return rs_fail(err, RS_E_INPUT, 0, "node %s runs %s, which runtime-switch does not know", name, v);
  if (rs_sw_runtime_is(node, to))
    return rs_fail(err, RS_E_INPUT, 0, "node %s already runs %s (%s): nothing to do", name, to, v);
  if (is_control_plane(node) && !force_single_control_plane) {
    size_t ready_cp = 0;
    bool self_ready = rs_sw_node_ready(node);
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n) {
      if (is_control_plane(n) && rs_sw_node_ready(n)) ready_cp++;
    }
    if (self_ready && ready_cp <= 1)
      return rs_fail(err, RS_E_INPUT, 0,
                     "node %s is the only Ready control-plane node: switching it takes the control "
                     "plane down while its kubelet restarts; add another control-plane node first, "
                     "or pass --force-single-control-plane", name);
  }
  return 0;
}

/* ---- the record on the node ---- */

/* ---- the helper's report ---- */

long long rs_sw_journal_time(const json_t *report, const char *event, const char *name) {
  size_t i;
  json_t *rec;
  long long t = -1;
  json_array_foreach(json_object_get(report, RS_JSON_JOURNAL), i, rec) {
    const char *ev = json_string_value(json_object_get(rec, "event"));
    const char *st = json_string_value(json_object_get(rec, "step"));
    if (!st) st = json_string_value(json_object_get(rec, "state"));
    if (ev && st && strcmp(ev, event) == 0 && strcmp(st, name) == 0) {
      t = json_integer_value(json_object_get(rec, "time"));
      if (strcmp(event, "begin") == 0) return t; /* the first begin */
    }
  }
  return t; /* the last done/state */
}

void rs_sw_windows(const json_t *rep, int op, long long ready_wall, long long notready_wall,
                   struct rs_switch_result *res) {
  /* A requested rollback's journal holds its run's switch first (a rollback
   * of an earlier run's id: minutes or days before): its window is its own
   * steps'.  A switch rolled back by the helper went away at its own stop. */
  bool rb = op == RS_OP_ROLLBACK;
  long long stop = rs_sw_journal_time(rep, "begin", rb ? "rb-stop-kubelet" : "stop-kubelet");
  if (stop < 0 && !rb) stop = rs_sw_journal_time(rep, "begin", "rb-stop-kubelet");
  long long up = rb ? -1 : rs_sw_journal_time(rep, "done", "wait-kubelet");
  if (up < 0) up = rs_sw_journal_time(rep, "done", "rb-start-kubelet");
  res->kubelet_down_ms = stop >= 0 && up >= stop ? (up - stop) * 1000 : -1;
  res->notready_ms = stop >= 0 && ready_wall >= stop * 1000 ? ready_wall - stop * 1000 : -1;
  res->api_notready_ms = notready_wall >= 0 && ready_wall >= notready_wall ? ready_wall - notready_wall : -1;
}
