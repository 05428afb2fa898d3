/* What `node` and `rollback node` share: the options they read alike, the
 * live progress (text on stdout, or one JSON event per phase with -o
 * json), the confirmation prompt and the exit codes. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "switch_cli.h"

static const struct rs_opt switch_opts[] = {
    {.name = "take-over", .type = RS_OPT_BOOL, .def = "false",
     .help = "Continue the run that holds the node's lock (a Lease in the working namespace) although another user "
         "holds it, when its plugin is gone for good; the output names the holder it was taken from."},
    {.name = "use-secret", .type = RS_OPT_BOOL, .def = "false",
     .help = "Carry the helper in a Secret instead of a ConfigMap."},
    {.name = "yes", .short_name = 'y', .type = RS_OPT_BOOL, .def = "false",
     .help = "Do not ask for confirmation."},
};
const struct rs_opt_table rs_switch_flags = RS_OPT_TABLE(switch_opts);

/* ---- options ---- */

static int duration_opt(struct rs_cli *cli, const char *name, long long *ret, rs_err_t *err) {
  const char *v = rs_cli_str(cli, name);
  if (!v || !*v) return 0;
  bool bare = true;
  for (const char *p = v; *p; p++)
    if (!isdigit((unsigned char)*p)) bare = false;
  if ((bare && strcmp(v, "0") != 0) || rs_parse_duration_ms(v, ret) < 0)
    return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"--%s\" flag: a duration such as 90s, "
                   "15m or 1h is expected", v, name);
  return 0;
}

int rs_switch_cli_opts(struct rs_cli *cli, struct rs_switch_opts *o, rs_err_t *err) {
  const char *out;
  struct rs_drain_opts d = RS_DRAIN_OPTS_INIT;
  if (rs_cli_output(cli, &out, err) < 0 || rs_drain_flags_read(cli, true, &d, err) < 0) return -1;
  o->drain = d;
  long long ms = 0;
  if (duration_opt(cli, "node-timeout", &ms, err) < 0) return -1;
  o->node_timeout_ms = ms;
  ms = 0;
  if (duration_opt(cli, "helper-deadline", &ms, err) < 0) return -1;
  if (ms && (ms < 30000 || ms > 86400000LL))
    return rs_fail(err, RS_E_USAGE, 0, "--helper-deadline must be between 30s and 24h");
  o->helper_deadline_s = (long)(ms / 1000);
  if (o->node_timeout_ms && o->helper_deadline_s && o->node_timeout_ms / 1000 < o->helper_deadline_s)
    return rs_fail(err, RS_E_USAGE, 0, "--node-timeout must not be shorter than --helper-deadline");
  const char *img = rs_cli_str(cli, "image");
  o->image = img && *img ? img : NULL;
  o->ns = cli->ov.ns && *cli->ov.ns ? cli->ov.ns : NULL;
  o->dry_run = rs_cli_bool(cli, "dry-run");
  o->yes = rs_cli_bool(cli, "yes");
  o->no_uncordon = rs_cli_bool(cli, "no-uncordon");
  o->use_secret = rs_cli_bool(cli, "use-secret");
  o->take_over = rs_cli_bool(cli, "take-over");
  o->no_images = rs_cli_bool(cli, "no-images");
  o->force_single_control_plane = rs_cli_bool(cli, "force-single-control-plane");
  return 0;
}

/* ---- output ---- */

struct view {
  struct rs_cli *cli;
  bool json;
  long long t0;
  const char *node;
};

static double secs(long long ms) { return (double)ms / 1000.0; }

static void stamp(char *buf, size_t len) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000);
}

static void json_line(struct view *v, json_t *ev) {
  char ts[64];
  stamp(ts, sizeof ts);
  json_object_set_new(ev, "time", json_string(ts));
  json_dumpf(ev, v->cli->out, JSON_COMPACT | JSON_SORT_KEYS);
  fputc('\n', v->cli->out);
  fflush(v->cli->out);
}

static const char *mib(double bytes, char *buf, size_t len) {
  snprintf(buf, len, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "?";
}

/* The helper's plan, for people. */
static void print_plan(FILE *f, const json_t *p) {
  const json_t *k = json_object_get(p, "kubelet"), *rt = json_object_get(p, "runtime");
  const json_t *cni = json_object_get(p, "cni"), *img = json_object_get(p, "images");
  char b1[32], b2[32];
  rs_term_printf(f, "Plan (run %s): %s -> %s %s (config version %d)\n", jstr(p, RS_JSON_ID), jstr(p, RS_JSON_FROM),
          jstr(p, RS_JSON_TO), jstr(rt, "version"), (int)json_integer_value(json_object_get(rt, "config_version")));
  rs_term_printf(f, "  kubelet %s: CRI endpoint %s -> %s (in %s)\n", jstr(k, "version"), jstr(k, "endpoint_before"),
          jstr(k, "endpoint_after"), jstr(k, "endpoint_where"));
  rs_term_printf(f, "  cgroup driver: %s (%s)\n", jstr(k, "cgroup_driver"), jstr(k, "cgroup_driver_source"));
  rs_term_printf(f, "  sandbox image: %s (%s)\n", jstr(p, "sandbox_image"), jstr(p, "sandbox_image_source"));
  rs_term_printf(f, "  CNI: binaries %s, configuration %s\n", jstr(cni, "bin_dir"), jstr(cni, "conf_dir"));
  size_t nimg = json_array_size(json_object_get(img, "carry"));
  if (nimg)
    rs_term_printf(f, "  images carried over: %zu (%s; %s free)\n", nimg,
            mib((double)json_integer_value(json_object_get(img, "bytes")), b1, sizeof b1),
            mib((double)json_integer_value(json_object_get(img, "free_bytes")), b2, sizeof b2));
  else
    rs_term_printf(f, "  images carried over: none\n");
  size_t i, j;
  json_t *x, *c;
  if (json_array_size(json_object_get(p, RS_JSON_FILES))) rs_term_printf(f, "  node files:\n");
  json_array_foreach(json_object_get(p, RS_JSON_FILES), i, x) {
    rs_term_printf(f, "    %s %s\n", jstr(x, "action"), jstr(x, "path"));
    json_array_foreach(json_object_get(x, "changes"), j, c) rs_term_printf(f, "      + %s\n", json_string_value(c));
  }
  if (json_array_size(json_object_get(p, RS_JSON_SERVICES))) rs_term_printf(f, "  services:\n");
  json_array_foreach(json_object_get(p, RS_JSON_SERVICES), i, x) {
    const json_t *b = json_object_get(x, "before");
    rs_term_printf(f, "    %-24s %s (now %s, %s)\n", jstr(x, "unit"), jstr(x, "action"),
            json_is_true(json_object_get(b, "active")) ? "active" : "inactive",
            json_is_true(json_object_get(b, "enabled")) ? "enabled" : "disabled");
  }
  /* what becomes of each of Docker's settings (contract.h docker_settings) */
  if (json_array_size(json_object_get(p, RS_JSON_DOCKER_SETTINGS))) rs_term_printf(f, "  Docker's settings:\n");
  json_array_foreach(json_object_get(p, RS_JSON_DOCKER_SETTINGS), i, x) {
    const char *v = json_string_value(json_object_get(x, "value")), *to = json_string_value(json_object_get(x, "target"));
    const char *why = json_string_value(json_object_get(x, "why"));
    rs_term_printf(f, "    %-8s %s%s%s%s%s%s%s\n", jstr(x, "action"), jstr(x, "key"), v ? " = " : "", v ? v : "",
            to ? " -> " : "", to ? to : "", why ? ": " : "", why ? why : "");
  }
  rs_term_printf(f, "  steps:");
  json_array_foreach(json_object_get(p, RS_JSON_STEPS), i, x) rs_term_printf(f, "%s%s", i ? ", " : " ", json_string_value(x));
  fputc('\n', f);
  json_array_foreach(json_object_get(p, RS_JSON_WARNINGS), i, x) rs_term_printf(f, "  warning: %s\n", json_string_value(x));
  json_array_foreach(json_object_get(p, RS_JSON_BLOCKERS), i, x) rs_term_printf(f, "  blocker: %s\n", json_string_value(x));
  json_array_foreach(json_object_get(p, "drain_blockers"), i, x)
    rs_term_printf(f, "  the drain would refuse: %s\n", json_string_value(x));
}

static void on_event(void *ud, const struct rs_sw_event *ev) {
  struct view *v = ud;
  struct rs_cli *cli = v->cli;
  double t = secs(rs_now_ms() - v->t0);
  if (ev->type == RS_SW_EV_PHASE) {
    if (v->json) {
      json_t *j = json_pack("{s:s, s:s, s:s, s:f, s:s?}", "kind", "phase", "phase", rs_sw_phase_name(ev->phase),
                            "status", rs_sw_status_name(ev->status), "seconds", secs(ev->ms), "message",
                            ev->message);
      if (j && v->node) json_object_set_new(j, "node", json_string(v->node));
      if (j && ev->data) json_object_set(j, ev->phase == RS_PH_PLAN ? "plan" : "data", (json_t *)ev->data);
      if (j) json_line(v, j);
      json_decref(j);
      return;
    }
    rs_term_printf(cli->out, "[%6.1fs] %-9s %s%s%s(%.1fs)\n", t, rs_sw_phase_name(ev->phase),
            ev->message ? ev->message : "", ev->message ? " " : "",
            ev->status == RS_SW_DONE ? "" : ev->status == RS_SW_FAILED ? "FAILED " : "",
            secs(ev->ms));
    if (ev->phase == RS_PH_PLAN && ev->data) print_plan(cli->out, ev->data);
    fflush(cli->out);
    return;
  }
  FILE *f = v->json ? cli->errf : cli->out;
  switch (ev->type) {
  case RS_SW_EV_WARNING:
    fflush(cli->out);
    rs_cli_warn(cli, "%s", ev->message);
    return;
  case RS_SW_EV_HELPER:
    rs_term_printf(f, "           | %s\n", ev->message);
    break;
  case RS_SW_EV_DRAIN:
    if (ev->drain && ev->drain->type == RS_DRAIN_EV_WARNING) {
      fflush(cli->out);
      rs_cli_warn(cli, "%s", ev->message);
      return;
    }
    if (ev->drain && ev->drain->type == RS_DRAIN_EV_POD_FAILED) return;
    if (ev->drain && ev->drain->to_stderr) {
      fflush(cli->out);
      f = cli->errf;
    }
    rs_term_printf(f, "           %s\n", ev->message);
    break;
  default:
    rs_term_printf(f, "           %s\n", ev->message);
    break;
  }
  fflush(f);
}

static int confirm(void *ud, const char *question, const json_t *plan, bool *ret_yes, rs_err_t *err) {
  struct view *v = ud;
  fflush(v->cli->out);
  rs_term_printf(v->cli->errf, "%s [y/N]: ", question);
  fflush(v->cli->errf);
  char line[64];
  if (!fgets(line, sizeof line, stdin)) {
    *ret_yes = false;
    return 0;
  }
  *ret_yes = line[0] == 'y' || line[0] == 'Y';
  return 0;
}

static void print_summary(struct view *v, const struct rs_switch_opts *o, const struct rs_switch_result *r) {
  struct rs_cli *cli = v->cli;
  if (v->json) {
    json_t *phases = json_object();
    for (int i = 0; phases && i < _RS_PH_MAX; i++)
      if (r->phase_ms[i] >= 0) json_object_set_new(phases, rs_sw_phase_name(i), json_real(secs(r->phase_ms[i])));
    json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:b, s:b, s:o, s:f, s:s?, s:s?}", "kind",
                          "summary", "node", o->node, "outcome", rs_sw_outcome_name(r->outcome), "id", r->id,
                          "from", r->from, "to", r->to, "runtimeBefore", r->runtime_before, "runtimeAfter",
                          r->runtime_after, "resumed", r->resumed, "uncordoned", r->uncordoned, "phases",
                          phases, "totalSeconds", secs(r->total_ms), "reason", r->reason, "hint", r->hint);
    if (j && r->notready_ms >= 0) json_object_set_new(j, "notReadySeconds", json_real(secs(r->notready_ms)));
    if (j && r->kubelet_down_ms >= 0)
      json_object_set_new(j, "kubeletDownSeconds", json_real(secs(r->kubelet_down_ms)));
    if (j && r->api_notready_ms >= 0)
      json_object_set_new(j, "apiNotReadySeconds", json_real(secs(r->api_notready_ms)));
    if (j && r->manifests) json_object_set(j, "manifests", r->manifests);
    if (j) json_line(v, j);
    json_decref(j);
    return;
  }
  FILE *f = cli->out;
  if (r->outcome == RS_SW_DRY_RUN) {
    for (size_t i = 0; i < json_array_size(r->manifests); i++) {
      rs_term_printf(f, "---\n");
      rs_print_yaml(f, json_array_get(r->manifests, i), NULL);
    }
    rs_term_printf(f, "Dry run: nothing was changed on node %s.\n", o->node);
    return;
  }
  if (r->outcome != RS_SW_OK && r->outcome != RS_SW_ROLLED_BACK) return;
  if (r->outcome == RS_SW_OK)
    rs_term_printf(f, "%s node %s: %s -> %s in %.1fs (run %s%s)\n",
            o->op == RS_OP_ROLLBACK ? "Rolled back" : "Switched", o->node,
            r->resumed && r->from ? r->from : r->runtime_before ? r->runtime_before : "?",
            r->runtime_after ? r->runtime_after : "?",
            secs(r->total_ms), r->id ? r->id : "?", r->resumed ? ", resumed" : "");
  if (r->notready_ms >= 0 || r->kubelet_down_ms >= 0) {
    rs_term_printf(f, "  NotReady window: ");
    if (r->notready_ms >= 0) rs_term_printf(f, "%.1fs (kubelet stopped -> node Ready again)", secs(r->notready_ms));
    else rs_term_printf(f, "not measured (the node was back before this run watched it)");
    if (r->kubelet_down_ms >= 0) rs_term_printf(f, "; kubelet down %.0fs (helper journal)", secs(r->kubelet_down_ms));
    if (r->api_notready_ms >= 0) rs_term_printf(f, "; the API showed NotReady for %.1fs", secs(r->api_notready_ms));
    fputc('\n', f);
  }
  rs_term_printf(f, "  phases:");
  bool first = true;
  for (int i = 0; i < _RS_PH_MAX; i++)
    if (r->phase_ms[i] >= 0) {
      rs_term_printf(f, "%s %s %.1fs", first ? "" : ",", rs_sw_phase_name(i), secs(r->phase_ms[i]));
      first = false;
    }
  fputc('\n', f);
  if (r->outcome == RS_SW_OK && r->hint) rs_term_printf(f, "  %s\n", r->hint);
}

int rs_switch_cli_run(struct rs_cli *cli, struct rs_switch_opts *o, rs_err_t *err) {
  const char *out = rs_cli_str(cli, "output");
  struct view v = {.cli = cli, .json = out && strcmp(out, "json") == 0, .t0 = rs_now_ms(), .node = o->node};
  o->on_event = on_event;
  o->ud = &v;
  o->confirm = !o->yes && !v.json && isatty(STDIN_FILENO) ? confirm : NULL;
  _cleanup_kube_client_ rs_kube_client_t *c = NULL;
  if (rs_cli_client(cli, &c, err) < 0) return -1;
  struct rs_switch_result r;
  int rc = rs_switch_run(c, o, &r, err);
  print_summary(&v, o, &r);
  fflush(cli->out);
  if (rc < 0) {
    switch (r.outcome) {
    case RS_SW_REFUSED: cli->exit_code = RS_SWX_REFUSED; break;
    case RS_SW_DRAIN_FAILED: cli->exit_code = RS_SWX_DRAIN; break;
    case RS_SW_ROLLED_BACK: cli->exit_code = RS_SWX_ROLLED_BACK; break;
    case RS_SW_NEEDS_HUMAN: cli->exit_code = RS_SWX_HUMAN; break;
    default: break;
    }
    if (err->kind == RS_E_INTERRUPTED) cli->exit_code = 0;
    if (r.hint && err->msg) {
      /* the error, then what to do about it */
      _cleanup_free_ char *msg = rs_strdup_printf("%s\n%s", err->msg, r.hint);
      if (msg) {
        int kind = err->kind, code = err->code;
        _cleanup_free_ char *reason = rs_strdup0(err->reason);
        rs_fail(err, kind, code, "%s", msg);
        if (reason) rs_err_set_reason(err, reason);
      }
    }
  }
  rs_switch_result_clear(&r);
  return rc;
}

