/* rs-node-helper: the node side of kubectl runtime-switch.  The only file
 * of the helper that prints to stderr and chooses the exit code. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "helper/host.h"
#include "helper/integrity.h"
#include "helper/plan.h"
#include "helper/run.h"

struct opts {
  const char *cmd, *id, *to, *root, *exec_path, *healthz, *reason, *expect_sha;
  long deadline_s, wait_s, crash_after, kubelet_wait_s;
  bool no_images, force;
};

enum arg_kind { A_STR, A_LONG, A_FLAG };
struct arg {
  const char *name;
  int kind;
  size_t off;
  long min, max;
};
/* sorted by name for bsearch */
static const struct arg args[] = {
    {"--crash-after-step", A_LONG, offsetof(struct opts, crash_after), 1, 1000},
    {"--deadline", A_LONG, offsetof(struct opts, deadline_s), 30, 86400},
    {"--exec-path", A_STR, offsetof(struct opts, exec_path), 0, 0},
    {"--expect-sha256", A_STR, offsetof(struct opts, expect_sha), 0, 0},
    {"--force", A_FLAG, offsetof(struct opts, force), 0, 0},
    {"--id", A_STR, offsetof(struct opts, id), 0, 0},
    {"--kubelet-healthz", A_STR, offsetof(struct opts, healthz), 0, 0},
    {"--kubelet-wait", A_LONG, offsetof(struct opts, kubelet_wait_s), 1, 3600},
    {"--no-images", A_FLAG, offsetof(struct opts, no_images), 0, 0},
    {"--reason", A_STR, offsetof(struct opts, reason), 0, 0},
    {"--root", A_STR, offsetof(struct opts, root), 0, 0},
    {"--to", A_STR, offsetof(struct opts, to), 0, 0},
    {"--wait", A_LONG, offsetof(struct opts, wait_s), 0, 86400},
};

static int arg_cmp(const void *k, const void *e) {
  return strcmp(k, ((const struct arg *)e)->name);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: rs-node-helper preflight --to RUNTIME [--id ID] [--no-images]\n"
          "       rs-node-helper launch --to RUNTIME --id ID [--deadline SECONDS] [--no-images]\n"
          "                             [--kubelet-wait SECONDS]\n"
          "       rs-node-helper apply --id ID\n"
          "       rs-node-helper guard --id ID\n"
          "       rs-node-helper rollback --id ID [--reason TEXT] [--force]\n"
          "       rs-node-helper report --id ID [--wait SECONDS]\n"
          "       rs-node-helper version\n"
          "Every subcommand takes --expect-sha256 HEX: refuse to run unless this\n"
          "executable's sha256 is HEX.\n"
          "RUNTIME: containerd, cri-o, cri-dockerd\n");
}

static int parse(int argc, char **argv, struct opts *o, rs_err_t *err) {
  if (argc < 2) return rs_fail(err, RS_E_USAGE, EINVAL, "no subcommand");
  o->cmd = argv[1];
  o->deadline_s = 900;
  for (int i = 2; i < argc; i++) {
    char *name = argv[i], *val = NULL;
    char *eq = strchr(name, '=');
    _cleanup_free_ char *key = eq ? strndup(name, (size_t)(eq - name)) : strdup(name);
    if (!key) return rs_oom(err);
    const struct arg *a = bsearch(key, args, RS_ARRAY_SIZE(args), sizeof *args, arg_cmp);
    if (!a) return rs_fail(err, RS_E_USAGE, EINVAL, "unknown option %s", key);
    if (a->kind == A_FLAG) {
      if (eq) return rs_fail(err, RS_E_USAGE, EINVAL, "%s takes no value", key);
      *(bool *)((char *)o + a->off) = true;
      continue;
    }
    if (eq) val = eq + 1;
    else if (i + 1 < argc) val = argv[++i];
    else return rs_fail(err, RS_E_USAGE, EINVAL, "%s needs a value", key);
    if (a->kind == A_STR) {
      *(const char **)((char *)o + a->off) = val;
    } else {
      long v;
      if (rs_parse_long(val, a->min, a->max, &v) < 0)
        return rs_fail(err, RS_E_USAGE, EINVAL, "%s: %s is not a number in [%ld, %ld]", key, val,
                       a->min, a->max);
      *(long *)((char *)o + a->off) = v;
    }
  }
  if (o->crash_after && !o->root)
    return rs_fail(err, RS_E_USAGE, EINVAL, "--crash-after-step is for fixture tests (--root) only");
  if (o->expect_sha && !rs_sha256_hex_ok(o->expect_sha))
    return rs_fail(err, RS_E_USAGE, EINVAL, "--expect-sha256 needs 64 lowercase hex digits");
  return 0;
}

static int need(const struct opts *o, bool id, bool to, rs_err_t *err) {
  if (id && !o->id) return rs_fail(err, RS_E_USAGE, EINVAL, "%s needs --id", o->cmd);
  if (to && rs_rt_target(o->to) == RS_RT_NONE)
    return rs_fail(err, RS_E_USAGE, EINVAL, "%s needs --to containerd|cri-o|cri-dockerd", o->cmd);
  return 0;
}

static int cmd_preflight(const struct rs_host *h, const struct opts *o, rs_err_t *err) {
  if (need(o, false, true, err) < 0) return RS_HX_USAGE;
  struct rs_plan p;
  struct rs_plan_opts po = {o->id ? o->id : "preflight", rs_rt_target(o->to), o->no_images};
  if (rs_plan_build(h, &po, &p, err) < 0) return RS_HX_FAILED;
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(8u << 20);
  int code = RS_HX_FAILED;
  if (rs_plan_json(&p, &b, err) == 0) {
    fputs(b.data, stdout);
    code = p.blockers[0] ? RS_HX_BLOCKED : RS_HX_OK;
  }
  rs_plan_free(&p);
  return code;
}

static int cmd_launch(const struct rs_host *h, const struct opts *o, const char *self,
                      size_t self_len, rs_err_t *err) {
  if (need(o, true, true, err) < 0) return RS_HX_USAGE;
  /* in tests the unit gets the same fixture options */
  const char *fx[11] = {NULL};
  char kw[32];
  size_t n = 0;
  if (o->kubelet_wait_s) {
    snprintf(kw, sizeof kw, "%ld", o->kubelet_wait_s);
    fx[n++] = "--kubelet-wait";
    fx[n++] = kw;
  }
  if (o->root) {
    fx[n++] = "--root";
    fx[n++] = o->root;
    if (o->exec_path) { fx[n++] = "--exec-path"; fx[n++] = o->exec_path; }
    if (o->healthz) { fx[n++] = "--kubelet-healthz"; fx[n++] = o->healthz; }
  }
  struct rs_launch_opts lo = {o->id, rs_rt_target(o->to), o->no_images, o->deadline_s, self, self_len,
                              n ? fx : NULL};
  return rs_launch(h, &lo, err);
}

int main(int argc, char **argv) {
  struct opts o = {0};
  rs_err_t err = RS_ERR_INIT;
  if (parse(argc, argv, &o, &err) < 0) {
    fprintf(stderr, "rs-node-helper: %s\n", err.msg);
    usage(stderr);
    rs_err_clear(&err);
    return RS_HX_USAGE;
  }
  /* Our own bytes first, before anything else: launch copies them to the
   * host, apply/guard/rollback check them against the run's record, and
   * with --expect-sha256 they must be what the plugin embedded. */
  _cleanup_free_ char *self = NULL;
  size_t self_len = 0;
  char self_sha[65] = "";
  bool launch = strcmp(o.cmd, RS_HELPER_CMD_LAUNCH) == 0;
  bool needs_self = o.expect_sha || launch || strcmp(o.cmd, RS_HELPER_CMD_APPLY) == 0 ||
                    strcmp(o.cmd, RS_HELPER_CMD_GUARD) == 0 || strcmp(o.cmd, RS_HELPER_CMD_ROLLBACK) == 0;
  if (needs_self) {
    int r = launch ? rs_read_file("/proc/self/exe", RS_HELPER_MAX_SELF, &self, &self_len, &err)
                   : rs_self_sha256(self_sha, &err);
    if (r == 0 && launch) rs_sha256_hex(self, self_len, self_sha);
    if (r < 0) {
      fprintf(stderr, "rs-node-helper: %s\n", err.msg);
      rs_err_clear(&err);
      return RS_HX_FAILED;
    }
  }
  if (o.expect_sha && rs_sha256_expect("this helper (/proc/self/exe)", self_sha, o.expect_sha, &err) < 0) {
    fprintf(stderr, "rs-node-helper: %s\n", err.msg);
    rs_err_clear(&err);
    return RS_HX_INTEGRITY;
  }
  if (strcmp(o.cmd, RS_HELPER_CMD_VERSION) == 0) {
    printf("rs-node-helper %s (contract %d)\n", RS_VERSION, RS_HELPER_CONTRACT_VERSION);
    return RS_HX_OK;
  }
  if (strcmp(o.cmd, "help") == 0 || strcmp(o.cmd, "--help") == 0) {
    usage(stdout);
    return RS_HX_OK;
  }
  static const struct { const char *cmd; bool id, to; } needs[] = {
      {RS_HELPER_CMD_PREFLIGHT, false, true}, {RS_HELPER_CMD_LAUNCH, true, true},
      {RS_HELPER_CMD_APPLY, true, false},     {RS_HELPER_CMD_GUARD, true, false},
      {RS_HELPER_CMD_ROLLBACK, true, false},
      {RS_HELPER_CMD_REPORT, true, false},
  };
  bool known = false;
  for (size_t i = 0; i < RS_ARRAY_SIZE(needs); i++) {
    if (strcmp(o.cmd, needs[i].cmd) != 0) continue;
    known = true;
    if (need(&o, needs[i].id, needs[i].to, &err) < 0) {
      fprintf(stderr, "rs-node-helper: %s\n", err.msg);
      rs_err_clear(&err);
      return RS_HX_USAGE;
    }
  }
  if (!known) {
    fprintf(stderr, "rs-node-helper: unknown subcommand %s\n", o.cmd);
    usage(stderr);
    return RS_HX_USAGE;
  }
  /* On a node: become a process of the host (PID 1's namespaces). */
  if (!o.root && rs_host_enter_pid1(&err) < 0) {
    fprintf(stderr, "rs-node-helper: %s\n", err.msg);
    rs_err_clear(&err);
    return RS_HX_FAILED;
  }
  struct rs_host h;
  if (rs_host_init(&h, o.root, o.exec_path, o.healthz, &err) < 0) {
    fprintf(stderr, "rs-node-helper: %s\n", err.msg);
    rs_err_clear(&err);
    return RS_HX_FAILED;
  }
  h.crash_after = o.crash_after;
  h.kubelet_wait_s = o.kubelet_wait_s;
  memcpy(h.self_sha, self_sha, sizeof h.self_sha);
  h.self_vouched = o.expect_sha != NULL;
  int code;
  if (strcmp(o.cmd, RS_HELPER_CMD_PREFLIGHT) == 0)
    code = cmd_preflight(&h, &o, &err);
  else if (strcmp(o.cmd, RS_HELPER_CMD_LAUNCH) == 0)
    code = cmd_launch(&h, &o, self, self_len, &err);
  else if (strcmp(o.cmd, RS_HELPER_CMD_APPLY) == 0)
    code = need(&o, true, false, &err) < 0 ? RS_HX_USAGE : rs_apply(&h, o.id, false, &err);
  else if (strcmp(o.cmd, RS_HELPER_CMD_GUARD) == 0) {
    code = need(&o, true, false, &err) < 0 ? RS_HX_USAGE : rs_apply(&h, o.id, true, &err);
    /* systemd keeps a unit that exited non-zero loaded as "failed" (and the
     * node degraded) even after its file is gone: a run the guard rolled
     * back, or one that no longer exists, is its job done. */
    if (code == RS_HX_ROLLED_BACK || code == RS_HX_NOT_FOUND) code = RS_HX_OK;
  }
  else if (strcmp(o.cmd, RS_HELPER_CMD_ROLLBACK) == 0)
    code = need(&o, true, false, &err) < 0 ? RS_HX_USAGE
                                           : rs_rollback_request(&h, o.id, o.reason, o.force, &err);
  else if (strcmp(o.cmd, RS_HELPER_CMD_REPORT) == 0)
    code = need(&o, true, false, &err) < 0 ? RS_HX_USAGE : rs_report(&h, o.id, o.wait_s, &err);
  else {
    rs_fail(&err, RS_E_USAGE, EINVAL, "unknown subcommand %s", o.cmd);
    usage(stderr);
    code = RS_HX_USAGE;
  }
  if (err.msg) fprintf(stderr, "rs-node-helper: %s\n", err.msg);
  rs_err_clear(&err);
  rs_host_fini(&h);
  return code;
}
