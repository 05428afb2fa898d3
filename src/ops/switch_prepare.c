/* The switch's phases before anything changes on the node, and the two
 * that make room for the change: check, deliver, preflight, plan, confirm,
 * cordon, drain. */
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
#include "ops/switch.h"
#include "ops/switch_record.h"
#include "switch_int.h"

static int list_nodes(struct sw *s, json_t **ret, rs_err_t *err) {
  return rs_kube_get(s->c, "/api/v1/nodes", ret, err);
}

/* switch: what refuses it, and a fresh record when no run is in progress. */
static int check_switch(struct sw *s, bool in_progress, const char *current, bool unsched, rs_err_t *err) {
  const struct rs_switch_opts *o = s->o;
  if (in_progress && s->rec.op == RS_OP_ROLLBACK) {
    rs_fail(err, RS_E_INPUT, 0, "a rollback of run %s is in progress on node %s (phase %s); finish it with "
            "`kubectl runtime-switch rollback node %s`", s->rec.id, o->node, s->rec.phase ? s->rec.phase
            : RS_REC_STARTED, o->node);
    return sw_fail_refused(s, err);
  }
  if (in_progress && s->rec.to && strcmp(s->rec.to, o->to) != 0) {
    rs_fail(err, RS_E_INPUT, 0, "a switch of node %s to %s (run %s) is in progress at phase %s; rerun with --to "
            "%s to finish it, or roll it back with `kubectl runtime-switch rollback node %s`", o->node, s->rec.to,
            s->rec.id, s->rec.phase ? s->rec.phase : RS_REC_STARTED, s->rec.to, o->node);
    return sw_fail_refused(s, err);
  }
  if (in_progress) {
    s->resume = rs_sw_record_rank(s->rec.phase ? s->rec.phase : RS_REC_STARTED);
    return 0;
  }
  json_auto_t *nodes = NULL;
  if (list_nodes(s, &nodes, err) < 0) return -1;
  if (rs_sw_check_node(s->node, json_object_get(nodes, "items"), o->to, o->force_single_control_plane, err) < 0)
    return err->kind == RS_E_USAGE ? -1 : sw_fail_refused(s, err);
  if (rs_run_id_new(s->id, err) < 0) return -1;
  rs_sw_record_clear(&s->rec);
  s->rec = (struct rs_sw_record){.op = RS_OP_SWITCH, .cordoned = !unsched, .started = (long long)time(NULL),
                                 .secret = o->use_secret};
  if (rs_sw_record_set(&s->rec.id, s->id, err) < 0 || rs_sw_record_set(&s->rec.to, o->to, err) < 0 ||
      rs_sw_record_set(&s->rec.ns, sw_ns(s), err) < 0 || rs_sw_record_set(&s->rec.from, current, err) < 0)
    return -1;
  return 0;
}

/* rollback: of the node's last switch, or of --id; what refuses it, and
 * the rollback's record (the switch's from/to swapped, its objects kept). */
static int check_rollback(struct sw *s, bool in_progress, const char *raw, bool unsched, rs_err_t *err) {
  const struct rs_switch_opts *o = s->o;
  const char *id = o->id ? o->id : s->rec.id;
  if (!id) {
    rs_fail(err, RS_E_INPUT, 0, "node %s has no record of a switch (annotation %s); pass --id ID with the run id "
            "(a directory under %s on the node)", o->node, RS_ANN_RUN, RS_HELPER_STATE_DIR);
    return sw_fail_refused(s, err);
  }
  if (!rs_run_id_valid(id)) return rs_fail(err, RS_E_USAGE, 0, "invalid run id \"%s\"", id);
  bool same = s->rec.id && strcmp(s->rec.id, id) == 0, sw = s->rec.op == RS_OP_SWITCH;
  const char *ph = s->rec.phase ? s->rec.phase : RS_REC_STARTED;
  bool refused = true;
  if (s->rec.id && !same)
    rs_fail(err, RS_E_INPUT, 0, "node %s last ran run %s, not %s: roll back the last run first", o->node,
            s->rec.id, id);
  else if (same && in_progress && sw && rs_sw_record_rank(ph) < rs_sw_record_rank(RS_REC_LAUNCHED))
    rs_fail(err, RS_E_INPUT, 0, "run %s stopped at phase %s before anything changed on node %s: nothing to roll "
            "back%s", id, ph, o->node, unsched ? "; the node is cordoned: `kubectl uncordon` it when ready" : "");
  else if (same && !in_progress && strcmp(ph, sw ? RS_REC_ROLLED_BACK : RS_REC_DONE) == 0)
    rs_fail(err, RS_E_INPUT, 0, "run %s was already rolled back on node %s (now %s)", id, o->node, raw ? raw : "?");
  else
    refused = false;
  if (refused) return sw_fail_refused(s, err);
  if (same && in_progress && !sw) {
    s->resume = rs_sw_record_rank(ph);
    return 0;
  }
  struct rs_sw_record r = {.op = RS_OP_ROLLBACK, .cordoned = !unsched, .started = (long long)time(NULL),
                           .secret = o->use_secret};
  if (rs_sw_record_set(&r.id, id, err) < 0 || rs_sw_record_set(&r.ns, sw_ns(s), err) < 0) {
    rs_sw_record_clear(&r);
    return -1;
  }
  /* the switch's from/to swapped; what it created stays the run's */
  r.from = TAKE_PTR(s->rec.to);
  r.to = TAKE_PTR(s->rec.from);
  r.carrier = TAKE_PTR(s->rec.carrier);
  r.carrier_uid = TAKE_PTR(s->rec.carrier_uid);
  r.carrier_sha256 = TAKE_PTR(s->rec.carrier_sha256);
  for (int i = 0; i < _RS_JOB_MAX; i++) r.job_uid[i] = TAKE_PTR(s->rec.job_uid[i]);
  rs_sw_record_clear(&s->rec);
  s->rec = r;
  return 0;
}

int sw_phase_check(struct sw *s, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  const struct rs_switch_opts *o = s->o;
  if (sw_reload_node(s, err) < 0) {
    if (rs_kube_is_not_found(err)) return rs_fail(err, RS_E_INPUT, 404, "node %s not found", o->node);
    return -1;
  }
  const char *raw = sw_node_runtime_raw(s->node);
  if (!(s->res->runtime_before = rs_strdup0(raw)) && raw) return rs_oom(err);
  _cleanup_free_ char *current = rs_runtime_name(raw);
  bool unsched = json_is_true(json_object_get(json_object_get(s->node, "spec"), "unschedulable"));
  const char *arch = json_string_value(json_object_get(
      json_object_get(json_object_get(s->node, "status"), "nodeInfo"), "architecture"));
  bool in_progress = false;
  s->resume = -1;
  if (sw_lock_claim(s, &in_progress, err) < 0) return -1;
  if (in_progress && o->dry_run) {
    rs_fail(err, RS_E_INPUT, 0, "run %s is in progress on node %s (phase %s): a dry run has nothing to show; "
            "rerun without --dry-run to continue it", s->rec.id, o->node, s->rec.phase ? s->rec.phase : RS_REC_STARTED);
    return sw_fail_refused(s, err);
  }
  if (o->op == RS_OP_SWITCH ? check_switch(s, in_progress, current, unsched, err) < 0
                            : check_rollback(s, in_progress, raw, unsched, err) < 0)
    return -1;
  /* without a record (rollback --id alone) the helper's report says where
   * the node goes back to */
  s->want = o->op == RS_OP_SWITCH ? o->to : s->rec.to;
  s->res->resumed = s->resume >= 0;
  if (in_progress && sw_lock_resume_checks(s, unsched, err) < 0) return -1;
  snprintf(s->id, sizeof s->id, "%s", s->rec.id);
  s->owns_record = true;
  if (!(s->res->id = strdup(s->rec.id))) return rs_oom(err);
  if (!(s->res->to = rs_strdup0(s->want)) && s->want) return rs_oom(err);
  if (!(s->res->from = rs_strdup0(s->rec.from)) && s->rec.from) return rs_oom(err);
  s->res->cordoned_by_us = s->rec.cordoned;
  s->blob = rs_helper_blob_for(arch);
  if (!s->blob)
    return rs_fail(err, RS_E_INPUT, 0, "node %s is %s: this build of the plugin carries no helper for it",
                   o->node, arch ? arch : "of an unknown architecture");
  json_t *data = json_pack("{s:s, s:s?, s:s?, s:s, s:b, s:s?, s:s?}", "id", s->rec.id, "runtime", raw,
                           "architecture", arch, "op", o->op == RS_OP_ROLLBACK ? "rollback" : "switch",
                           "resumed", s->res->resumed, "resumeFrom", s->res->resumed ? s->rec.phase : NULL,
                           "user", s->lock.me);
  if (s->res->resumed)
    sw_phase_end(&s->ev, RS_PH_CHECK, RS_SW_DONE, data, "node %s runs %s; resuming run %s from phase %s", o->node,
                 raw ? raw : "?", s->rec.id, s->rec.phase ? s->rec.phase : RS_REC_STARTED);
  else
    sw_phase_end(&s->ev, RS_PH_CHECK, RS_SW_DONE, data, "node %s runs %s; run %s", o->node, raw ? raw : "?",
                 s->rec.id);
  return 0;
}

static int pods_on_node(struct sw *s, json_t **ret, rs_err_t *err) {
  _cleanup_free_ char *sel = rs_strdup_printf("spec.nodeName=%s", s->o->node);
  _cleanup_free_ char *esel = sel ? rs_kube_escape(sel) : NULL;
  _cleanup_free_ char *path = esel ? rs_strdup_printf("/api/v1/pods?fieldSelector=%s", esel) : NULL;
  if (!path) return rs_oom(err);
  return rs_kube_get(s->c, path, ret, err);
}

/* The image the helper's pods borrow: --image, the record's, or one a
 * container on the node runs (else the smallest the node lists). */
static int choose_image(struct sw *s, rs_err_t *err) {
  const struct rs_switch_opts *o = s->o;
  const char *img = o->image ? o->image : s->rec.image;
  if (img) return (s->image = strdup(img)) ? 0 : rs_oom(err);
  json_auto_t *pods = NULL;
  if (pods_on_node(s, &pods, err) < 0) return rs_wrap(err, "listing the pods of node %s", o->node);
  rs_err_t e = RS_ERR_INIT;
  if (rs_deliver_pick_image(json_object_get(pods, "items"), &s->image, &e) == 0) return 0;
  rs_err_clear(&e);
  if (rs_deliver_pick_node_image(s->node, &s->image, err) < 0)
    return rs_wrap(err, "choosing an image for the helper's pods on node %s", o->node);
  sw_emit(&s->ev, RS_SW_EV_INFO, RS_PH_DELIVER, "no container runs on node %s: the helper's pods use %s, the "
          "smallest image the node lists", o->node, s->image);
  return 0;
}

/* The carrier: what killed runs on this node left first, then create or
 * join it (ops/carrier.h).  One under our name with other bytes refuses
 * the run. */
static int deliver_carrier(struct sw *s, rs_err_t *err) {
  if (s->resume < 0) {
    /* what earlier runs on this node left (killed before they recorded
     * anything) */
    int n = 0, refs = 0;
    if (rs_deliver_cleanup_stale(s->c, s->spec.ns, s->o->node, s->id, &n, err) < 0 ||
        rs_carrier_release_stale(s->c, s->spec.ns, s->o->node, s->id, &refs, err) < 0)
      return -1;
    if (n + refs)
      sw_emit(&s->ev, RS_SW_EV_INFO, RS_PH_DELIVER, "removed %d object(s) and %d carrier reference(s) that "
              "earlier runs left in %s", n, refs, s->spec.ns);
  }
  if (rs_carrier_acquire(s->c, &s->car, s->id, s->o->node, err) < 0)
    return err->kind == RS_E_INPUT ? sw_fail_refused(s, err) : -1;
  return 0;
}

int sw_phase_deliver(struct sw *s, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  const struct rs_switch_opts *o = s->o;
  s->spec = (struct rs_deliver_spec){.ns = s->rec.ns, .node = o->node, .id = s->rec.id, .to = s->want,
                                     .helper_sha256 = s->blob->sha256, .use_secret = s->rec.secret, .priority = true,
                                     .no_images = o->no_images, .helper_deadline_s = o->helper_deadline_s};
  _cleanup_free_ char *warning = NULL;
  bool created = false;
  if (rs_deliver_check_namespace(s->c, s->spec.ns, strcmp(s->spec.ns, RS_DELIVER_DEFAULT_NS) == 0, &created,
                                 &warning, err) < 0)
    return err->kind == RS_E_CONFIG ? sw_fail_refused(s, err) : -1;
  if (created)
    sw_emit(&s->ev, RS_SW_EV_INFO, RS_PH_DELIVER, "created the working namespace %s (Pod Security: privileged)",
            s->spec.ns);
  if (warning) sw_emit(&s->ev, RS_SW_EV_WARNING, RS_PH_DELIVER, "%s", warning);
  if (sw_lock_take(s, err) < 0) return -1;
  if (choose_image(s, err) < 0) return -1;
  s->spec.image = s->image;
  if (!s->rec.image && !(s->rec.image = strdup(s->image))) return rs_oom(err);
  if (rs_carrier_init(&s->car, s->spec.ns, s->spec.use_secret, s->blob, err) < 0) return -1;
  s->car.on_trip = sw_on_carrier_trip;
  s->car.on_job = sw_on_job;
  s->car.ud = s;
  s->spec.carrier = s->car.name;
  _cleanup_free_ char *note = NULL;
  if (rs_deliver_probe(s->c, &s->spec, &note, err) < 0)
    return err->kind == RS_E_CONFIG ? sw_fail_refused(s, err) : -1;
  if (note) sw_emit(&s->ev, RS_SW_EV_WARNING, RS_PH_DELIVER, "%s", note);
  if (deliver_carrier(s, err) < 0) return -1;
  if (rs_sw_record_set(&s->rec.carrier, s->car.name, err) < 0 ||
      rs_sw_record_set(&s->rec.carrier_sha256, s->blob->sha256, err) < 0)
    return -1;
  json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b}", "namespace", s->spec.ns, "carrier",
                           s->car.name, "uid", s->car.uid, "image", s->image, "architecture", s->blob->arch,
                           "bytes", (json_int_t)s->blob->size, "sha256", s->blob->sha256, "priority",
                           s->spec.priority);
  sw_phase_end(&s->ev, RS_PH_DELIVER, RS_SW_DONE, data, "helper %s (%zu bytes, sha256 %.12s) in %s %s/%s, "
               "immutable, compared byte for byte; pods use image %s", s->blob->arch, s->blob->size,
               s->blob->sha256, s->spec.use_secret ? "Secret" : "ConfigMap", s->spec.ns, s->car.name, s->image);
  return 0;
}

static int collect_item(void *ud, json_t *item, rs_err_t *err) {
  return json_array_append(ud, item) == 0 ? 0 : rs_oom(err);
}

/* kubectl drain's filters, run before anything changes: a drain that
 * would refuse (a pod without a controller, emptyDir data, ...) is a
 * reason not to start, not a surprise after the cordon. */
static int drain_precheck(struct sw *s, rs_err_t *err) {
  struct rs_drain_opts d = sw_drain_opts(s);
  _cleanup_free_ char *fs = rs_strdup_printf("spec.nodeName=%s", s->o->node);
  if (!fs) return rs_oom(err);
  struct rs_kube_list_opts lo = {.field_selector = fs, .label_selector = d.pod_selector,
                                 .limit = d.chunk_size};
  json_auto_t *pods = json_array();
  if (!pods) return rs_oom(err);
  if (rs_kube_list(s->c, "/api/v1/pods", &lo, collect_item, pods, NULL, err) < 0)
    return rs_wrap(err, "listing the pods of node %s", s->o->node);
  struct rs_drain_groups *g = rs_drain_groups_new();
  if (!g) return rs_oom(err);
  int rc = 0;
  size_t i;
  json_t *pod;
  json_array_foreach(pods, i, pod) {
    const json_t *meta = json_object_get(pod, "metadata");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ds = rs_drain_pod_daemonset(pod);
    int ds_state = RS_DRAIN_DS_FOUND;
    _cleanup_free_ char *ds_msg = NULL;
    if (ds && ns) {
      _cleanup_free_ char *ens = rs_kube_escape(ns), *eds = rs_kube_escape(ds);
      _cleanup_free_ char *path = ens && eds ? rs_strdup_printf("/apis/apps/v1/namespaces/%s/daemonsets/%s", ens, eds)
                                             : NULL;
      if (!path) {
        rc = rs_oom(err);
        break;
      }
      rs_err_t e = RS_ERR_INIT;
      if (rs_kube_get(s->c, path, NULL, &e) < 0) {
        ds_state = rs_kube_is_not_found(&e) ? RS_DRAIN_DS_NOT_FOUND : RS_DRAIN_DS_ERROR;
        ds_msg = rs_strdup0(e.msg);
      }
      rs_err_clear(&e);
    }
    struct rs_drain_filter_result fr = rs_drain_filter_pod(pod, &d, ds_state, ds_msg, (long long)time(NULL));
    if (fr.verdict == RS_DRAIN_ERROR && ns && name &&
        rs_drain_groups_add(g, fr.message ? fr.message : "cannot delete", ns, name, err) < 0) {
      rc = -1;
      break;
    }
  }
  rs_strv_free(s->drain_blockers);
  s->drain_blockers = rs_strv_new();
  if (rc == 0 && (!s->drain_blockers || rs_drain_groups_errors(g, &s->drain_blockers, err) < 0)) rc = -1;
  rs_drain_groups_free(g);
  return rc;
}

/* The drain's blockers, found before anything changes; a refusal (not
 * with --dry-run, which shows them in the plan) ends the phase (-1: no
 * phase event). */
static int drain_refuses(struct sw *s, int phase, rs_err_t *err) {
  if (drain_precheck(s, err) < 0) return -1;
  if (!s->drain_blockers || !s->drain_blockers[0] || s->o->dry_run) return 0;
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(1 << 16);
  for (size_t i = 0; s->drain_blockers[i]; i++) rs_buf_printf(&b, NULL, "\n  %s", s->drain_blockers[i]);
  if (phase >= 0) sw_phase_end(&s->ev, phase, RS_SW_FAILED, NULL, "the drain would refuse");
  rs_fail(err, RS_E_INPUT, 0, "the drain of node %s would refuse (nothing was changed):%s\nadd the drain "
          "flags that allow it, as for kubectl drain", s->o->node, b.data ? b.data : "");
  return sw_fail_refused(s, err);
}

/* rollback: the same check before its confirm and cordon (a rollback
 * that cordoned and then found a pod without a controller left the node
 * cordoned); not again once the run has cordoned. */
int sw_rollback_precheck(struct sw *s, rs_err_t *err) {
  if (s->resume >= rs_sw_record_rank(RS_REC_CORDONED)) return 0;
  return drain_refuses(s, -1, err);
}

/* The helper's plan taken (the run's from, the kubelet's endpoint) and
 * its verdict: blockers refuse the switch, another failure is the
 * helper's exit code. */
static int take_plan(struct sw *s, json_t *plan, int exit_code, const char *log, rs_err_t *err) {
  json_decref(s->res->plan);
  s->res->plan = plan;
  const char *from = json_string_value(json_object_get(plan, RS_JSON_FROM));
  const char *eb = json_string_value(json_object_get(json_object_get(plan, "kubelet"), "endpoint_before"));
  if (from) {
    free(s->rec.from);
    if (!(s->rec.from = strdup(from))) return rs_oom(err);
    free(s->res->from);
    if (!(s->res->from = strdup(from))) return rs_oom(err);
  }
  free(s->endpoint_before);
  s->endpoint_before = rs_strdup0(eb);
  if (exit_code == RS_HX_BLOCKED || json_is_false(json_object_get(plan, RS_JSON_OK))) {
    _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(1 << 16);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(plan, RS_JSON_BLOCKERS), i, x)
      rs_buf_printf(&b, NULL, "\n  - %s", json_string_value(x) ? json_string_value(x) : "?");
    sw_phase_end(&s->ev, RS_PH_PREFLIGHT, RS_SW_FAILED, json_incref(plan), "blocked");
    rs_fail(err, RS_E_INPUT, RS_HX_BLOCKED, "preflight on node %s found what blocks the switch to %s:%s",
            s->o->node, s->want, b.data ? b.data : " (no reason given)");
    return sw_fail_refused(s, err);
  }
  if (exit_code != RS_HX_OK)
    return rs_fail(err, RS_E_NODE, exit_code, "preflight on node %s failed (exit %d): %s", s->o->node,
                   exit_code, log);
  return 0;
}

int sw_phase_preflight(struct sw *s, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  if (s->resume >= rs_sw_record_rank(RS_REC_LAUNCHED)) {
    sw_phase_end(&s->ev, RS_PH_PREFLIGHT, RS_SW_RESUMED, NULL, "the switch was launched already");
    return 0;
  }
  const char *given = "";
  if (s->o->preflight_plan) {
    /* the rollout's plan ran it on this node moments ago */
    json_t *plan = json_deep_copy(s->o->preflight_plan);
    if (!plan) return rs_oom(err);
    if (take_plan(s, plan, RS_HX_OK, "", err) < 0) return -1;
    given = " (the rollout plan's preflight)";
  } else {
    if (sw_put_job(s, &s->spec, RS_JOB_PREFLIGHT, NULL, err) < 0)
      return sw_carrier_refused(s, RS_PH_PREFLIGHT, false, err);
    json_auto_t *pod = NULL;
    long long to = s->o->pod_start_timeout_ms ? s->o->pod_start_timeout_ms : SW_DEFAULT_POD_START_MS;
    if (sw_wait_pod(s, RS_PH_PREFLIGHT, RS_JOB_PREFLIGHT, true, to, &pod, err) < 0)
      return s->car.trip ? sw_carrier_refused(s, RS_PH_PREFLIGHT, false, err)
                         : rs_wrap(err, "preflight on node %s", s->o->node);
    /* it ran and ended: from the carrier checked before its Job */
    if (sw_pod_started(s, RS_JOB_PREFLIGHT, true, err) < 0)
      return sw_carrier_refused(s, RS_PH_PREFLIGHT, false, err);
    _cleanup_(sw_output_clear) struct sw_output out = {0};
    if (sw_helper_output(s, RS_PH_PREFLIGHT, false, pod, 1, &out, err) < 0) return -1;
    json_t *plan = TAKE_PTR(out.json);
    if (!plan) {
      return rs_fail(err, RS_E_NODE, out.v.exit_code, "preflight on node %s exited %d without a plan: %s",
                     s->o->node, out.v.exit_code, out.len ? out.log : "(no output)");
    }
    if (take_plan(s, plan, out.v.exit_code, out.log, err) < 0) return -1;
    /* its pod would only be in the drain's way */
    _cleanup_free_ char *job = rs_deliver_job_name(s->id, RS_JOB_PREFLIGHT);
    if (!job) return rs_oom(err);
    if (rs_deliver_delete_job(s->c, s->spec.ns, job, err) < 0) return -1;
    /* no Job of ours is left to start a pod until the launch */
    rs_carrier_guard_stop(s->c, &s->car);
  }
  if (drain_refuses(s, RS_PH_PREFLIGHT, err) < 0) return -1;
  const char *from = json_string_value(json_object_get(s->res->plan, RS_JSON_FROM));
  sw_phase_end(&s->ev, RS_PH_PREFLIGHT, RS_SW_DONE, NULL, "node %s can switch from %s to %s%s", s->o->node,
               from ? from : "?", s->want, given);
  return 0;
}

/* Copies of what would be created, for --dry-run (the helper's bytes are
 * replaced by a note: 150 kB of base64 helps no one). */
static int build_manifests(struct sw *s, rs_err_t *err) {
  json_auto_t *arr = json_array();
  json_t *carrier = rs_carrier_manifest(&s->car, s->id, s->o->node, err);
  if (!arr || !carrier) {
    json_decref(carrier);
    return arr ? -1 : rs_oom(err);
  }
  json_t *data = json_object_get(carrier, s->spec.use_secret ? "data" : "binaryData");
  _cleanup_free_ char *note = rs_strdup_printf("<%zu bytes of rs-node-helper for %s, base64; sha256 %s>",
                                               s->blob->size, s->blob->arch, s->blob->sha256);
  if (!note) {
    json_decref(carrier);
    return rs_oom(err);
  }
  json_object_set_new(data, RS_DELIVER_FILE, json_string(note));
  json_array_append_new(arr, carrier);
  struct rs_deliver_spec vs = s->spec;
  vs.image = s->verify_image;
  vs.wait_s = 900;
  static const int roles[] = {RS_JOB_PREFLIGHT, RS_JOB_SWITCH, RS_JOB_VERIFY};
  for (size_t i = 0; i < RS_ARRAY_SIZE(roles); i++) {
    json_t *job = rs_deliver_job(roles[i] == RS_JOB_VERIFY ? &vs : &s->spec, roles[i], err);
    if (!job) return -1;
    json_array_append_new(arr, job);
  }
  json_decref(s->res->manifests);
  s->res->manifests = TAKE_PTR(arr);
  return 0;
}

int sw_phase_plan(struct sw *s, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  if (!s->res->plan) {
    sw_phase_end(&s->ev, RS_PH_PLAN, RS_SW_RESUMED, NULL, "the plan was shown before");
    return 0;
  }
  if (sw_choose_verify_images(s, err) < 0) return -1;
  json_t *shown = json_deep_copy(s->res->plan);
  if (!shown) return rs_oom(err);
  json_t *blk = json_array();
  for (size_t i = 0; blk && s->drain_blockers && s->drain_blockers[i]; i++)
    json_array_append_new(blk, json_string(s->drain_blockers[i]));
  json_object_set_new(shown, "drain_blockers", blk ? blk : json_array());
  if (!s->o->dry_run) {
    sw_phase_end(&s->ev, RS_PH_PLAN, RS_SW_DONE, shown, NULL);
    return 0;
  }
  if (build_manifests(s, err) < 0 || sw_cleanup_objects(s, RS_PH_PLAN, false, err) < 0) {
    json_decref(shown);
    return -1;
  }
  s->res->outcome = RS_SW_DRY_RUN;
  sw_phase_end(&s->ev, RS_PH_PLAN, RS_SW_STOPPED, shown, "dry run: nothing was changed");
  return 0;
}

int sw_phase_confirm(struct sw *s, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  if (s->resume >= rs_sw_record_rank(RS_REC_CORDONED)) {
    sw_phase_end(&s->ev, RS_PH_CONFIRM, RS_SW_RESUMED, NULL, "confirmed before");
    return 0;
  }
  if (s->o->yes) {
    sw_phase_end(&s->ev, RS_PH_CONFIRM, RS_SW_SKIPPED, NULL, "--yes");
    return 0;
  }
  bool yes = false;
  _cleanup_free_ char *q = s->o->op == RS_OP_ROLLBACK
      ? rs_strdup_printf("Roll node %s back to %s (run %s)? It will be cordoned and drained.", s->o->node,
                         s->want ? s->want : "its runtime before", s->id)
      : rs_strdup_printf("Switch node %s to %s? It will be cordoned and drained.", s->o->node, s->want);
  if (!q) return rs_oom(err);
  if (!s->o->confirm) {
    rs_fail(err, RS_E_INPUT, 0, "not confirmed: pass --yes (the standard input is not a terminal)");
  } else if (s->o->confirm(s->o->ud, q, s->res->plan, &yes, err) < 0) {
    return -1;
  } else if (!yes) {
    rs_fail(err, RS_E_INPUT, 0, "not confirmed: nothing was changed");
  }
  if (yes) {
    sw_phase_end(&s->ev, RS_PH_CONFIRM, RS_SW_DONE, NULL, "confirmed");
    return 0;
  }
  rs_err_t e = RS_ERR_INIT;
  if (sw_cleanup_objects(s, RS_PH_CONFIRM, false, &e) == 0 && s->rec.phase)
    sw_record_save(s, RS_REC_ABANDONED, &e);
  rs_err_clear(&e);
  sw_phase_end(&s->ev, RS_PH_CONFIRM, RS_SW_FAILED, NULL, "not confirmed");
  return sw_fail_refused(s, err);
}

int sw_phase_cordon(struct sw *s, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  struct rs_drain_opts d = sw_drain_opts(s);
  d.on_event = NULL; /* the phase's own line says it */
  /* recorded first: a run killed right after the cordon must know that
   * the cordon was its own */
  if (s->resume < rs_sw_record_rank(RS_REC_CORDONED)) {
    if (s->rec.cordoned) s->rec.cordoned_at = (long long)time(NULL);
    if (sw_record_save(s, RS_REC_CORDONED, err) < 0) return -1;
  }
  if (rs_drain_cordon(s->c, s->o->node, true, &d, err) < 0) return -1;
  sw_phase_end(&s->ev, RS_PH_CORDON, s->rec.cordoned ? RS_SW_DONE : RS_SW_SKIPPED, NULL,
            s->rec.cordoned ? "node %s cordoned" : "node %s was cordoned already (it stays so afterwards)",
            s->o->node);
  return 0;
}

int sw_phase_drain(struct sw *s, rs_err_t *err) {
  sw_phase_begin(&s->ev);
  /* A run that recorded "drained" but launched nothing drains again: the
   * node may have been uncordoned since, and pods come back (a drain of
   * an empty node costs one list). */
  if (s->resume >= rs_sw_record_rank(RS_REC_LAUNCHED)) {
    sw_phase_end(&s->ev, RS_PH_DRAIN, RS_SW_RESUMED, NULL, "node %s was drained before", s->o->node);
    return 0;
  }
  if (sw_note_run_jobs(s, err) < 0) return -1;
  struct rs_drain_opts d = sw_drain_opts(s);
  struct rs_drain_report rep = {0};
  int r = rs_drain_pods(s->c, s->o->node, &d, &rep, err);
  size_t evicted = 0;
  for (size_t i = 0; i < rep.npods; i++)
    if (rep.pods[i].state == RS_DRAIN_POD_GONE) evicted++;
  if (r < 0 && rep.errors && rep.errors[0] && err->kind != RS_E_INTERRUPTED) {
    /* kubectl's grouped reasons, one per line */
    _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(1 << 16);
    for (size_t i = 0; rep.errors[i]; i++) rs_buf_printf(&b, NULL, "%s%s", i ? "\n" : "", rep.errors[i]);
    if (b.data) rs_fail(err, err->kind, err->code, "%s", b.data);
  }
  rs_drain_report_clear(&rep);
  if (r < 0) {
    if (err->kind == RS_E_INTERRUPTED) return -1;
    s->res->outcome = RS_SW_DRAIN_FAILED;
    free(s->res->hint);
    s->res->hint = rs_strdup_printf("node %s stays cordoned and still runs %s; fix what blocks the drain "
                                    "and rerun the same command, or `kubectl uncordon %s`", s->o->node,
                                    s->res->runtime_before ? s->res->runtime_before : "its runtime",
                                    s->o->node);
    sw_phase_end(&s->ev, RS_PH_DRAIN, RS_SW_FAILED, NULL, "%s", err->msg ? err->msg : "drain failed");
    return rs_wrap(err, "draining node %s", s->o->node);
  }
  if (s->resume < rs_sw_record_rank(RS_REC_DRAINED) && sw_record_save(s, RS_REC_DRAINED, err) < 0) return -1;
  sw_phase_end(&s->ev, RS_PH_DRAIN, RS_SW_DONE, json_pack("{s:I}", "evicted", (json_int_t)evicted),
            "node %s drained (%zu pods evicted)", s->o->node, evicted);
  return 0;
}
