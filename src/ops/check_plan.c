/* Node findings from the helper's read-only preflight plan (contract.h):
 * its blockers and warnings, each daemon.json setting and whether the
 * helper carries it over ("docker_settings", when the helper reports
 * them), kubenet (a --network-plugin the helper would remove from the
 * kubelet's flags), and /etc/crictl.yaml.  The plan comes from a pod's
 * log: every field is checked for its type and read as text. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/check.h"

#define CRICTL_YAML "/etc/crictl.yaml"

struct plan_scan {
  struct rs_check_report *r;
  struct rs_check_node *n;
  rs_err_t *err;
};

static int add(struct plan_scan *p, int sev, const char *check, const char *field, const char *value,
               const char *action, const char *fmt, ...) RS_PRINTF(7, 8);
static int add(struct plan_scan *p, int sev, const char *check, const char *field, const char *value,
               const char *action, const char *fmt, ...) {
  char *nodes[] = {p->n->name, NULL};
  struct rs_check_finding f = {.severity = sev, .check = check, .nodes = nodes,
                               .object = {.kind = "Node", .name = p->n->name}, .field = (char *)field,
                               .value = (char *)value, .action = (char *)action};
  va_list ap;
  va_start(ap, fmt);
  int r = rs_check_addv(p->r, &f, p->err, fmt, ap);
  va_end(ap);
  return r;
}

static const char *str(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

static int texts(struct plan_scan *p, const char *key, int sev, const char *check, const char *action) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(p->n->plan, key), i, v) {
    if (!json_is_string(v)) continue;
    char field[64];
    snprintf(field, sizeof field, "plan.%s[%zu]", key, i);
    if (add(p, sev, check, field, json_string_value(v), action, "preflight: %s", json_string_value(v)) < 0)
      return -1;
  }
  return 0;
}

/* "docker_settings": [{key, value, action, target, why}] */
static int settings(struct plan_scan *p) {
  const json_t *ds = json_object_get(p->n->plan, "docker_settings");
  if (!json_is_array(ds))
    return rs_check_note(p->r, p->err, "node %s: this helper does not report each daemon.json setting "
                         "(its plan has no docker_settings)", p->n->name);
  size_t i;
  json_t *s;
  json_array_foreach(ds, i, s) {
    const char *key = str(s, "key"), *value = str(s, "value"), *action = str(s, "action");
    const char *target = str(s, "target"), *why = str(s, "why");
    if (!key || !action) continue;
    char field[64];
    snprintf(field, sizeof field, "plan.docker_settings[%zu]", i);
    int r;
    if (strcmp(action, "carried") == 0)
      r = add(p, RS_SEV_INFO, "docker-setting", field, key, "nothing: the helper carries it over",
              "daemon.json %s%s%s: carried to %s", key, value ? " = " : "", value ? value : "",
              target ? target : "the new runtime");
    else if (strcmp(action, "reported") == 0)
      r = add(p, RS_SEV_WARNING, "docker-setting", field, key,
              target ? target : "set its equivalent for the new runtime by hand",
              "daemon.json %s%s%s is not carried over%s%s", key, value ? " = " : "", value ? value : "",
              why ? ": " : "", why ? why : "");
    else
      r = add(p, RS_SEV_WARNING, "docker-setting", field, key, "decide whether the new runtime needs it",
              "daemon.json %s%s%s is dropped%s%s", key, value ? " = " : "", value ? value : "", why ? ": " : "",
              why ? why : "");
    if (r < 0) return -1;
  }
  return 0;
}

/* "KUBELET_KUBEADM_ARGS: removed --network-plugin=kubenet" */
static bool removes_kubenet(const char *change) {
  const char *p = change ? strstr(change, "removed --network-plugin") : NULL;
  return p && strstr(p, "kubenet");
}

static int files(struct plan_scan *p, bool *ret_kubenet) {
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(p->n->plan, RS_JSON_FILES), i, f) {
    const char *path = str(f, "path");
    size_t k;
    json_t *c;
    json_array_foreach(json_object_get(f, "changes"), k, c) {
      if (removes_kubenet(json_string_value(c))) *ret_kubenet = true;
    }
    if (!path || strcmp(path, CRICTL_YAML) != 0) continue;
    bool shim = false;
    json_array_foreach(json_object_get(f, "changes"), k, c) {
      const char *t = json_string_value(c);
      if (t && strstr(t, "dockershim")) shim = true;
    }
    const char *action = str(f, "action");
    bool create = action && strcmp(action, "create") == 0;
    char field[64];
    snprintf(field, sizeof field, "plan.files[%zu]", i);
    if (add(p, RS_SEV_INFO, "crictl", field, CRICTL_YAML, "nothing: the helper writes it (the old file is kept in "
            "its backup)", create ? "there is no " CRICTL_YAML ": crictl tries dockershim.sock first; the helper "
            "writes one for the new runtime" : shim ? CRICTL_YAML " points crictl at dockershim; the helper "
            "rewrites it for the new runtime" : "the helper rewrites " CRICTL_YAML " for the new runtime") < 0)
      return -1;
  }
  return 0;
}

/* kubenet: the helper removes --network-plugin from the kubelet's flags,
 * so its plan says whether a dockershim kubelet has one; leaving
 * cri-dockerd (kubelet 1.24+: no such flag), the plan's cni.network_plugin
 * is cri-dockerd's own ("": not set, its default cni), and its
 * network_plugin_source says where it was read or why it is not known (an
 * older helper says nothing). */
static int kubenet_state(struct plan_scan *p, bool found) {
  const char *why = NULL;
  int maj = 0, min = 0;
  bool shim = rs_version_major_minor(p->n->kubelet, &maj, &min) == 0 && (maj < 1 || (maj == 1 && min < 24));
  const json_t *cni = json_object_get(p->n->plan, "cni");
  const char *np = str(cni, "network_plugin"), *src = str(cni, "network_plugin_source");
  _cleanup_free_ char *unread = NULL;
  if (found) p->n->kubenet = 1;
  else if (!json_is_object(p->n->plan)) why = "no preflight plan";
  else if (json_array_size(json_object_get(p->n->plan, RS_JSON_FILES)) == 0) why = "the preflight stopped before the kubelet's flags";
  else if (!shim && !np && src) {
    if (!(why = unread = rs_strdup_printf("cri-dockerd's --network-plugin: %s", src))) return rs_oom(p->err);
  } else if (!shim && !np) why = "kubelet 1.24+: a network plugin would be cri-dockerd's, which this helper does not read";
  else p->n->kubenet = 0;
  if (!why) return 0;
  p->n->kubenet = -1;
  free(p->n->kubenet_note);
  return (p->n->kubenet_note = strdup(why)) ? 0 : rs_oom(p->err);
}

int rs_check_plan(struct rs_check_report *r, struct rs_check_node *n, rs_err_t *err) {
  struct plan_scan p = {.r = r, .n = n, .err = err};
  if (!json_is_object(n->plan)) return kubenet_state(&p, false);
  if (texts(&p, RS_JSON_BLOCKERS, RS_SEV_BLOCKER, "preflight-blocker",
            "fix it on the node first; `kubectl runtime-switch node NODE --dry-run` shows the whole plan") < 0 ||
      texts(&p, RS_JSON_WARNINGS, RS_SEV_WARNING, "preflight-warning",
            "read it before the switch; `kubectl runtime-switch node NODE --dry-run` shows the whole plan") < 0 ||
      settings(&p) < 0)
    return -1;
  bool kubenet = false;
  const char *np = str(json_object_get(n->plan, "cni"), "network_plugin");
  bool crid_kubenet = np && strcmp(np, "kubenet") == 0;
  if (files(&p, &kubenet) < 0 || kubenet_state(&p, kubenet || crid_kubenet) < 0) return -1;
  if ((kubenet || crid_kubenet) &&
      add(&p, RS_SEV_BLOCKER, "kubenet", kubenet ? "plan.files" : "plan.cni.network_plugin",
          "--network-plugin=kubenet",
          "deploy a CNI plugin that gives pods their network (bridge + host-local, or the cluster's CNI) before "
          "the switch", "%s uses kubenet, which %s: the node's pods get no network on the new runtime without a "
          "CNI configuration", kubenet ? "the kubelet" : "cri-dockerd",
          kubenet ? "went away with dockershim" : "no other runtime has") < 0)
    return -1;
  return 0;
}
