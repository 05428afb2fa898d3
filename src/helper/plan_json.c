/* The plan as JSON (preflight's output, plan.json) and back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "helper/json.h"
#include "helper/plan.h"

static const char *const role_names[] = {"kubelet", "source", "target"};
static const char *const role_actions[] = {"stop, then start", "stop, disable",
                                           "enable, restart"};
/* by enum rs_setting_action (an undecided one never reaches the JSON) */
static const char *const setting_actions[] = {RS_SETTING_REPORTED, RS_SETTING_CARRIED,
                                              RS_SETTING_REPORTED, RS_SETTING_DROPPED};

static int kv_str(rs_buf_t *b, const char *k, const char *v, bool comma, rs_err_t *err) {
  if (rs_buf_printf(b, err, "%s\"%s\":", comma ? "," : "", k) < 0) return -1;
  return rs_json_put_str(b, v, err);
}

static int strv_json(rs_buf_t *b, const char *k, char *const *v, rs_err_t *err) {
  if (rs_buf_printf(b, err, ",\"%s\":[", k) < 0) return -1;
  for (size_t i = 0; v && v[i]; i++) {
    if (i && rs_buf_puts(b, ",", err) < 0) return -1;
    if (rs_json_put_str(b, v[i], err) < 0) return -1;
  }
  return rs_buf_puts(b, "]", err);
}

int rs_plan_json(const struct rs_plan *p, rs_buf_t *b, rs_err_t *err) {
  int r = rs_buf_printf(b, err, "{\"%s\":%d", RS_JSON_CONTRACT, RS_HELPER_CONTRACT_VERSION);
  if (r == 0) r = kv_str(b, RS_JSON_ID, p->id, true, err);
  if (r == 0) r = rs_buf_printf(b, err, ",\"%s\":%s", RS_JSON_OK, p->blockers && p->blockers[0] ? "false" : "true");
  if (r == 0) r = kv_str(b, RS_JSON_FROM, rs_rt_name(p->from), true, err);
  if (r == 0) r = kv_str(b, RS_JSON_TO, rs_rt_name(p->to), true, err);
  if (r == 0) r = rs_buf_printf(b, err, ",\"deadline\":%lld", p->deadline);
  if (r == 0) r = rs_buf_puts(b, ",\"kubelet\":{", err);
  if (r == 0) r = kv_str(b, "version", p->kubelet_version, false, err);
  if (r == 0) r = kv_str(b, "endpoint_before", p->endpoint_before, true, err);
  if (r == 0) r = kv_str(b, "endpoint_after", p->endpoint_after, true, err);
  if (r == 0) r = kv_str(b, "endpoint_where", p->endpoint_where, true, err);
  if (r == 0) r = kv_str(b, "cgroup_driver", p->cgroup_driver, true, err);
  if (r == 0) r = kv_str(b, "cgroup_driver_source", p->cgroup_driver_source, true, err);
  if (r == 0) r = rs_buf_puts(b, "},\"runtime\":{", err);
  if (r == 0) r = kv_str(b, "name", rs_rt_name(p->to), false, err);
  if (r == 0) r = kv_str(b, "version", p->runtime_version, true, err);
  if (r == 0) r = rs_buf_printf(b, err, ",\"config_version\":%d", p->config_version);
  if (r == 0) r = kv_str(b, "socket", p->socket, true, err);
  if (r == 0) r = rs_buf_puts(b, "}", err);
  if (r == 0) r = kv_str(b, "sandbox_image", p->sandbox_image, true, err);
  if (r == 0) r = kv_str(b, "sandbox_image_source", p->sandbox_image_source, true, err);
  if (r == 0) r = rs_buf_puts(b, ",\"cni\":{", err);
  if (r == 0) r = kv_str(b, "bin_dir", p->cni_bin_dir, false, err);
  if (r == 0) r = kv_str(b, "conf_dir", p->cni_conf_dir, true, err);
  if (r == 0 && p->network_plugin_source) {
    r = kv_str(b, "network_plugin", p->network_plugin, true, err);
    if (r == 0) r = kv_str(b, "network_plugin_source", p->network_plugin_source, true, err);
  }
  if (r == 0) r = rs_buf_puts(b, "},\"images\":{\"carry\":[", err);
  for (size_t i = 0; r == 0 && p->images && p->images[i]; i++) {
    if (i) r = rs_buf_puts(b, ",", err);
    if (r == 0) r = rs_json_put_str(b, p->images[i], err);
  }
  if (r == 0)
    r = rs_buf_printf(b, err, "],\"bytes\":%llu,\"free_bytes\":%llu}", p->images_bytes, p->free_bytes);
  if (r == 0) r = rs_buf_printf(b, err, ",\"%s\":[", RS_JSON_FILES);
  for (size_t i = 0; r == 0 && i < p->nfiles; i++) {
    const struct rs_plan_file *f = &p->files[i];
    r = rs_buf_puts(b, i ? ",{" : "{", err);
    if (r == 0) r = kv_str(b, "path", f->path, false, err);
    if (r == 0) r = kv_str(b, "group", f->group == RS_FG_RUNTIME ? "runtime" : "kubelet", true, err);
    if (r == 0) r = kv_str(b, "action", f->existed ? "modify" : "create", true, err);
    if (r == 0) r = rs_buf_printf(b, err, ",\"mode\":%u", (unsigned)f->mode);
    if (r == 0) r = kv_str(b, "sha256_before", f->existed ? f->old_sha : NULL, true, err);
    if (r == 0) r = kv_str(b, "sha256_after", f->new_sha, true, err);
    if (r == 0) r = strv_json(b, "changes", f->changes, err);
    if (r == 0) r = rs_buf_puts(b, "}", err);
  }
  if (r == 0) r = rs_buf_printf(b, err, "],\"%s\":[", RS_JSON_SERVICES);
  for (size_t i = 0; r == 0 && i < p->nunits; i++) {
    const struct rs_plan_unit *u = &p->units[i];
    r = rs_buf_puts(b, i ? ",{" : "{", err);
    if (r == 0) r = kv_str(b, "unit", u->unit, false, err);
    if (r == 0) r = kv_str(b, "role", role_names[u->role], true, err);
    if (r == 0) r = kv_str(b, "action", role_actions[u->role], true, err);
    if (r == 0)
      r = rs_buf_printf(b, err, ",\"before\":{\"active\":%s,\"enabled\":%s}}",
                        u->before.active ? "true" : "false", u->before.enabled ? "true" : "false");
  }
  if (r == 0) r = rs_buf_printf(b, err, "],\"%s\":[", RS_JSON_DOCKER_SETTINGS);
  for (size_t i = 0; r == 0 && i < p->nsettings; i++) {
    const struct rs_docker_setting *s = &p->settings[i];
    r = rs_buf_puts(b, i ? ",{" : "{", err);
    if (r == 0) r = kv_str(b, "key", s->key, false, err);
    if (r == 0) r = kv_str(b, "value", s->value, true, err);
    if (r == 0) r = kv_str(b, "action", setting_actions[s->action], true, err);
    if (r == 0) r = kv_str(b, "target", s->target, true, err);
    if (r == 0) r = kv_str(b, "why", s->why, true, err);
    if (r == 0) r = rs_buf_puts(b, "}", err);
  }
  if (r == 0) r = rs_buf_puts(b, "]", err);
  if (r == 0) r = strv_json(b, RS_JSON_STEPS, p->steps, err);
  if (r == 0) r = strv_json(b, RS_JSON_WARNINGS, p->warnings, err);
  if (r == 0) r = strv_json(b, RS_JSON_BLOCKERS, p->blockers, err);
  if (r == 0) r = rs_buf_puts(b, "}\n", err);
  return r;
}

static int dup_str(const rs_json_t *o, const char *k, char **dst, rs_err_t *err) {
  const char *v = rs_json_get_str(o, k);
  if (!v) return 0;
  *dst = strdup(v);
  return *dst ? 0 : rs_oom(err);
}

static int strv_from(const rs_json_t *a, char ***dst, rs_err_t *err) {
  if (!(*dst = rs_strv_new())) return rs_oom(err);
  for (size_t i = 0; a && a->type == RS_J_ARR && i < a->n; i++)
    if (a->items[i].type == RS_J_STR && rs_strv_push(dst, a->items[i].str, err) < 0) return -1;
  return 0;
}

static bool jbool(const rs_json_t *o, const char *k) {
  const rs_json_t *v = rs_json_get(o, k);
  return v && v->type == RS_J_BOOL && v->b;
}

int rs_plan_from_json(const char *text, size_t len, struct rs_plan *ret, rs_err_t *err) {
  _cleanup_json_ rs_json_t *j = rs_json_parse(text, len, err);
  if (!j) return rs_wrap(err, "plan.json");
  if (j->type != RS_J_OBJ) return rs_fail(err, RS_E_INPUT, EINVAL, "plan.json: not an object");
  struct rs_plan p = {0};
  const rs_json_t *kub = rs_json_get(j, "kubelet"), *rt = rs_json_get(j, "runtime");
  const rs_json_t *img = rs_json_get(j, "images"), *dl = rs_json_get(j, "deadline");
  int r = dup_str(j, RS_JSON_ID, &p.id, err);
  p.from = rs_rt_by_name(rs_json_get_str(j, RS_JSON_FROM));
  p.to = rs_rt_by_name(rs_json_get_str(j, RS_JSON_TO));
  if (r == 0) r = dup_str(kub, "version", &p.kubelet_version, err);
  if (r == 0) r = dup_str(kub, "endpoint_after", &p.endpoint_after, err);
  if (r == 0) r = dup_str(rt, "socket", &p.socket, err);
  if (r == 0) r = dup_str(j, "sandbox_image", &p.sandbox_image, err);
  if (r == 0) r = strv_from(rs_json_get(img, "carry"), &p.images, err);
  if (r == 0) r = strv_from(rs_json_get(j, RS_JSON_STEPS), &p.steps, err);
  if (r == 0) r = strv_from(rs_json_get(j, RS_JSON_WARNINGS), &p.warnings, err);
  if (r == 0) r = strv_from(rs_json_get(j, RS_JSON_BLOCKERS), &p.blockers, err);
  /* numbers are doubles: range-checked before they become integers */
  if (r == 0 && dl && dl->type == RS_J_NUM && !(dl->num >= 0 && dl->num <= 1e12))
    r = rs_fail(err, RS_E_INPUT, EINVAL, "plan.json: deadline %g is not a time", dl->num);
  if (r == 0 && dl && dl->type == RS_J_NUM) p.deadline = (long long)dl->num;
  if (r == 0 && (!p.id || !p.from || !p.to || !p.socket))
    r = rs_fail(err, RS_E_INPUT, EINVAL, "plan.json: id, from, to or runtime.socket missing");
  const rs_json_t *files = rs_json_get(j, RS_JSON_FILES);
  if (r == 0 && files && files->type == RS_J_ARR && files->n) {
    p.files = calloc(files->n, sizeof *p.files);
    if (!p.files) r = rs_oom(err);
    for (size_t i = 0; r == 0 && i < files->n; i++) {
      const rs_json_t *f = &files->items[i];
      struct rs_plan_file *pf = &p.files[p.nfiles++];
      const char *grp = rs_json_get_str(f, "group"), *act = rs_json_get_str(f, "action");
      const char *sa = rs_json_get_str(f, "sha256_after"), *sb = rs_json_get_str(f, "sha256_before");
      const rs_json_t *mode = rs_json_get(f, "mode");
      r = dup_str(f, "path", &pf->path, err);
      if (r == 0 && (!pf->path || pf->path[0] != '/'))
        r = rs_fail(err, RS_E_INPUT, EINVAL, "plan.json: files[%zu].path", i);
      pf->group = grp && strcmp(grp, "kubelet") == 0 ? RS_FG_KUBELET : RS_FG_RUNTIME;
      pf->existed = act && strcmp(act, "modify") == 0;
      if (r == 0 && mode && mode->type == RS_J_NUM && !(mode->num >= 0 && mode->num <= 07777))
        r = rs_fail(err, RS_E_INPUT, EINVAL, "plan.json: files[%zu].mode %g is not a file mode", i, mode->num);
      pf->mode = r == 0 && mode && mode->type == RS_J_NUM ? (mode_t)mode->num : 0644;
      if (sa && strlen(sa) == 64) memcpy(pf->new_sha, sa, 65);
      if (sb && strlen(sb) == 64) memcpy(pf->old_sha, sb, 65);
    }
  }
  const rs_json_t *svc = rs_json_get(j, RS_JSON_SERVICES);
  if (r == 0 && svc && svc->type == RS_J_ARR && svc->n) {
    p.units = calloc(svc->n, sizeof *p.units);
    if (!p.units) r = rs_oom(err);
    for (size_t i = 0; r == 0 && i < svc->n; i++) {
      const rs_json_t *u = &svc->items[i];
      struct rs_plan_unit *pu = &p.units[p.nunits++];
      const char *role = rs_json_get_str(u, "role");
      r = dup_str(u, "unit", &pu->unit, err);
      if (r == 0 && !pu->unit) r = rs_fail(err, RS_E_INPUT, EINVAL, "plan.json: services[%zu]", i);
      pu->role = RS_ROLE_KUBELET;
      for (int k = 0; role && k < 3; k++)
        if (strcmp(role, role_names[k]) == 0) pu->role = k;
      const rs_json_t *before = rs_json_get(u, "before");
      pu->before.loaded = true;
      pu->before.active = jbool(before, "active");
      pu->before.enabled = jbool(before, "enabled");
    }
  }
  if (r < 0) {
    rs_plan_free(&p);
    return -1;
  }
  *ret = p;
  return 0;
}
