/* apply: runs on the host (transient unit), and as the boot guard after a
 * reboot.  Each step is journaled (begin/done) and written so that running
 * it again is harmless, which is what makes a killed apply resumable; a
 * reboot is a kill that also undoes what services were doing, so after one
 * the steps whose effect does not survive it are done again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "common/strutil.h"
#include "helper/cmdout.h"
#include "helper/contract.h"
#include "helper/guard.h"
#include "helper/integrity.h"
#include "helper/run.h"
#include "helper/units.h"

#define WAIT_RUNTIME_MS (120 * 1000LL)
#define WAIT_KUBELET_MS (180 * 1000LL)

struct step_ctx {
  struct rs_run *run;
  const struct rs_plan *plan;
  bool rebooted; /* a boot came after the run began its steps */
};

static long long left_ms(const struct rs_plan *p, long long cap) {
  if (!p->deadline) return cap;
  long long l = (p->deadline - (long long)time(NULL)) * 1000;
  return l < cap ? (l > 1000 ? l : 1000) : cap;
}

static char *staged(const struct rs_run *run, size_t i, size_t *len, rs_err_t *err) {
  _cleanup_free_ char *p = rs_strdup_printf("%s/%s/%zu", run->dir, RS_HELPER_STAGED_DIR, i);
  char *t = NULL;
  if (!p) {
    rs_oom(err);
    return NULL;
  }
  if (rs_read_file(p, RS_MAX_CONFIG, &t, len, err) < 0) return NULL;
  return t;
}

/* A symlinked file (a config kept elsewhere, managed by other tools) is
 * replaced through the link: its target gets the new bytes, the link stays,
 * and rollback puts the target's bytes back the same way. */
int rs_install_file(const struct rs_host *h, const char *abs, const char *data, size_t len,
                    mode_t mode, rs_err_t *err) {
  _cleanup_free_ char *hp = NULL;
  if (rs_host_resolve(h, abs, &hp, err) < 0) return -1;
  _cleanup_free_ char *dir = strdup(hp);
  if (!dir) return rs_oom(err);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (rs_mkdir_p(dir, 0755, err) < 0) return -1;
  }
  return rs_write_file_atomic(hp, data, len, mode, err);
}

static int units_do(struct step_ctx *c, int role, const char *verb, bool sockets_first,
                    rs_err_t *err) {
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < c->plan->nunits; i++) {
      const struct rs_plan_unit *u = &c->plan->units[i];
      if (u->role != role) continue;
      bool sock = rs_endswith(u->unit, ".socket");
      if ((pass == 0) != (sockets_first ? sock : !sock)) continue;
      if (rs_unit_do(c->run->h, verb, u->unit, err) < 0) return -1;
    }
  return 0;
}

/* A container whose process is exiting on its own as crictl stops it (the
 * launch pod's, say) can be refused for a moment: containerd 2.x finds its
 * task gone but has not yet handled the exit event, and answers "container
 * is still running, to stop first".  Each attempt lists what is left again,
 * so a retry removes it once the runtime has caught up (each refusal is a
 * "retry" record in the run's journal); a refusal that lasts is the
 * error. */
enum { CRICTL_ATTEMPTS = 4 };

static int crictl_all(struct step_ctx *c, const char *const *argv, rs_err_t *err) {
  for (int attempt = 1;; attempt++) {
    if (rs_host_run_ok(c->run->h, argv, 300000, NULL, err) == 0) return 0;
    if (attempt == CRICTL_ATTEMPTS) return rs_wrap(err, "after %d attempts", CRICTL_ATTEMPTS);
    rs_err_t e = RS_ERR_INIT;
    if (rs_journal_append(c->run, "retry", RS_STEP_REMOVE_PODS, err->msg, &e) < 0) {
      rs_err_move(err, &e);
      return -1;
    }
    rs_err_clear(err);
    usleep((useconds_t)attempt * 1000 * 1000);
  }
}

/* A CRI runtime's pods (CRI-O's, containerd's) removed through its CRI
 * while it still runs (crio leaves containers running when it stops;
 * containerd keeps running for Docker): the containers killed and removed at
 * once, as `docker rm -f` does (logs kept), then the sandboxes, their
 * network torn down. (A sandbox stopped with its containers running waits
 * out each container's stop timeout.) */
static int remove_cri_pods(struct step_ctx *c, rs_err_t *err) {
  const char *sock = rs_rt_info(c->plan->from)->endpoint + strlen("unix://");
  _cleanup_free_ char *ep = rs_strdup_printf("unix://%s%s", c->run->h->root, sock);
  if (!ep) return rs_oom(err);
  const char *rm[] = {"crictl", "--runtime-endpoint", ep, "--timeout", "60s", "rm", "--force", "--keep-logs", "--all", NULL};
  const char *rmp[] = {"crictl", "--runtime-endpoint", ep, "--timeout", "60s", "rmp", "--force", "--all", NULL};
  if (crictl_all(c, rm, err) < 0) return -1;
  return crictl_all(c, rmp, err);
}

/* After a boot in the middle of the switch the source units started again
 * on a half-switched node, and one may have failed there (cri-dockerd
 * without its Docker): a stop leaves a failed unit failed, and systemd
 * reports the node degraded for a unit we meant to be inactive. */
static int stop_source(struct step_ctx *c, rs_err_t *err) {
  if (units_do(c, RS_ROLE_SOURCE, "stop", true, err) < 0) return -1;
  if (!c->rebooted) return 0;
  /* only a unit's state: a unit it cannot clear fails no switch */
  rs_err_t e = RS_ERR_INIT;
  for (size_t i = 0; i < c->plan->nunits; i++)
    if (c->plan->units[i].role == RS_ROLE_SOURCE) {
      (void)rs_unit_do(c->run->h, "reset-failed", c->plan->units[i].unit, &e);
      rs_err_clear(&e);
    }
  return 0;
}

/* After a boot, whether the old runtime's units are all stopped and
 * disabled: disable-source ran before the power went (its "done" record
 * lost with it), so that runtime did not start and runs no container. */
static int source_down_after_boot(struct step_ctx *c, bool *ret, rs_err_t *err) {
  size_t n = 0;
  *ret = false;
  if (!c->rebooted) return 0;
  for (size_t i = 0; i < c->plan->nunits; i++) {
    const struct rs_plan_unit *u = &c->plan->units[i];
    if (u->role != RS_ROLE_SOURCE) continue;
    struct rs_unit_state st;
    if (rs_unit_query(c->run->h, u->unit, &st, err) < 0) return -1;
    if (st.active || st.enabled) return 0;
    n++;
  }
  *ret = n > 0;
  return 0;
}

/* Docker's pod containers; after a boot Docker may still be starting
 * (docker.service enabled without its socket), so it is asked again for a
 * while before the step fails. */
static int docker_pod_ids(struct step_ctx *c, char **ret, rs_err_t *err) {
  const char *ps[] = {"docker", "ps", "-aq", "--filter", "label=io.kubernetes.pod.name", NULL};
  long long until = rs_now_ms() + (c->rebooted ? left_ms(c->plan, WAIT_RUNTIME_MS) : 0);
  for (;;) {
    if (rs_host_run_ok(c->run->h, ps, 120000, ret, err) == 0) return 0;
    if (rs_now_ms() >= until) return -1;
    rs_err_clear(err);
    usleep(1000 * 1000);
  }
}

static int remove_pods(struct step_ctx *c, rs_err_t *err) {
  bool down = false;
  if (source_down_after_boot(c, &down, err) < 0) return -1;
  if (down) return 0;
  if (c->plan->from == RS_RT_CRIO || c->plan->from == RS_RT_CONTAINERD) return remove_cri_pods(c, err);
  _cleanup_free_ char *out = NULL;
  if (docker_pod_ids(c, &out, err) < 0) return -1;
  _cleanup_strv_ char **argv = rs_strv_new();
  if (!argv || rs_strv_push(&argv, "docker", err) < 0 || rs_strv_push(&argv, "rm", err) < 0 ||
      rs_strv_push(&argv, "-f", err) < 0)
    return -1;
  size_t base = rs_strv_len(argv);
  for (char *s = strtok(out, " \n"); s; s = strtok(NULL, " \n"))
    if (rs_strv_push(&argv, s, err) < 0) return -1;
  if (rs_strv_len(argv) == base) return 0;
  return rs_host_run_ok(c->run->h, (const char *const *)argv, 300000, NULL, err);
}

/* The files must be as launch backed them up (or already ours). */
static int check_drift(struct step_ctx *c, int group, rs_err_t *err) {
  for (size_t i = 0; i < c->plan->nfiles; i++) {
    const struct rs_plan_file *f = &c->plan->files[i];
    if (f->group != group) continue;
    _cleanup_free_ char *t = NULL;
    size_t len = 0;
    if (rs_host_read(c->run->h, f->path, RS_MAX_CONFIG, &t, &len, err) < 0) return -1;
    char sha[65] = "";
    if (t) rs_sha256_hex(t, len, sha);
    bool as_before = f->existed ? (t && strcmp(sha, f->old_sha) == 0) : !t;
    bool ours = t && strcmp(sha, f->new_sha) == 0;
    if (!as_before && !ours)
      return rs_fail(err, RS_E_INPUT, EAGAIN, "%s was changed by someone else since launch", f->path);
  }
  return 0;
}

static int validate(struct step_ctx *c, rs_err_t *err) {
  if (check_drift(c, RS_FG_RUNTIME, err) < 0) return -1;
  const struct rs_host *h = c->run->h;
  for (size_t i = 0; i < c->plan->nfiles; i++) {
    const struct rs_plan_file *f = &c->plan->files[i];
    _cleanup_free_ char *sp = rs_strdup_printf("%s/%s/%zu", c->run->dir, RS_HELPER_STAGED_DIR, i);
    if (!sp) return rs_oom(err);
    if (strcmp(f->path, "/etc/containerd/config.toml") == 0) {
      /* containerd parses the new file and prints the merged config */
      const char *argv[] = {"containerd", "--config", sp, "config", "dump", NULL};
      if (rs_host_run_ok(h, argv, 60000, NULL, err) < 0)
        return rs_wrap(err, "the new containerd config is refused");
    } else if (rs_startswith(f->path, "/etc/crio/crio.conf.d/")) {
      _cleanup_free_ char *dir = rs_strdup_printf("%s/crio-check", c->run->dir);
      _cleanup_free_ char *copy = rs_strdup_printf("%s/crio-check/99-check.conf", c->run->dir);
      size_t len = 0;
      _cleanup_free_ char *t = staged(c->run, i, &len, err);
      if (!dir || !copy || !t || rs_mkdir_p(dir, 0700, err) < 0 ||
          rs_write_file_atomic(copy, t, len, 0600, err) < 0)
        return err->msg ? -1 : rs_oom(err);
      const char *argv[] = {"crio", "--config-dir", dir, "config", NULL};
      if (rs_host_run_ok(h, argv, 60000, NULL, err) < 0)
        return rs_wrap(err, "the new cri-o drop-in is refused");
    }
  }
  return 0;
}

static int install_group(struct step_ctx *c, int group, rs_err_t *err) {
  if (check_drift(c, group, err) < 0) return -1;
  for (size_t i = 0; i < c->plan->nfiles; i++) {
    const struct rs_plan_file *f = &c->plan->files[i];
    if (f->group != group) continue;
    size_t len = 0;
    _cleanup_free_ char *t = staged(c->run, i, &len, err);
    if (!t) return -1;
    if (rs_install_file(c->run->h, f->path, t, len, f->mode, err) < 0) return -1;
  }
  return 0;
}

/* Start a unit the plan has (one it does not is not installed). */
static int start_planned(struct step_ctx *c, const char *unit, rs_err_t *err) {
  for (size_t i = 0; i < c->plan->nunits; i++)
    if (strcmp(c->plan->units[i].unit, unit) == 0) return rs_unit_do(c->run->h, "start", unit, err);
  return 0;
}

static int restart_runtime(struct step_ctx *c, rs_err_t *err) {
  if (units_do(c, RS_ROLE_TARGET, "enable", true, err) < 0) return -1;
  if (c->plan->to == RS_RT_CRI_DOCKERD) {
    /* Docker keeps running (its socket first: dockerd -H fd:// takes it
     * from systemd); (re)start cri-dockerd next to it */
    if (start_planned(c, "docker.socket", err) < 0 || rs_unit_do(c->run->h, "start", "docker.service", err) < 0 ||
        start_planned(c, "cri-docker.socket", err) < 0)
      return -1;
    return rs_unit_do(c->run->h, "restart", "cri-docker.service", err);
  }
  return units_do(c, RS_ROLE_TARGET, "restart", true, err);
}

static int wait_runtime(struct step_ctx *c, rs_err_t *err) {
  const struct rs_host *h = c->run->h;
  long long until = rs_now_ms() + left_ms(c->plan, WAIT_RUNTIME_MS);
  _cleanup_free_ char *sock = rs_strdup_printf("%s%s", h->root, c->plan->socket);
  _cleanup_free_ char *ep = rs_strdup_printf("unix://%s", sock ? sock : "");
  if (!sock || !ep) return rs_oom(err);
  bool containerd = c->plan->to == RS_RT_CONTAINERD;
  for (;;) {
    rs_err_clear(err);
    int ok = -1;
    if (containerd && rs_host_has_cmd(h, "ctr")) {
      const char *argv[] = {"ctr", "--address", sock, "plugins", "ls", NULL};
      _cleanup_free_ char *out = NULL;
      ok = rs_host_run_ok(h, argv, 20000, &out, err);
      if (ok == 0 && !rs_ctr_cri_ok(out))
        ok = rs_fail(err, RS_E_NODE, 0, "containerd answers but its CRI plugin is not ok");
    } else if (rs_host_has_cmd(h, "crictl")) {
      const char *argv[] = {"crictl", "--runtime-endpoint", ep, "--timeout", "10s", "version", NULL};
      ok = rs_host_run_ok(h, argv, 20000, NULL, err);
    } else {
      ok = rs_host_unix_connect(h, c->plan->socket, 5000, err);
    }
    if (ok == 0) return 0;
    if (rs_now_ms() >= until) return rs_wrap(err, "the runtime's CRI did not answer");
    usleep(1000 * 1000);
  }
}

static int wait_kubelet(struct step_ctx *c, rs_err_t *err) {
  long long cap = c->run->h->kubelet_wait_s > 0 ? c->run->h->kubelet_wait_s * 1000LL : WAIT_KUBELET_MS;
  long long until = rs_now_ms() + left_ms(c->plan, cap);
  for (;;) {
    rs_err_clear(err);
    if (rs_host_http_healthz(c->run->h->healthz, 5000, err) == 0) return 0;
    if (rs_now_ms() >= until) return rs_wrap(err, "kubelet healthz");
    usleep(1000 * 1000);
  }
}

static int run_step(struct step_ctx *c, const char *step, rs_err_t *err) {
  const struct rs_host *h = c->run->h;
  if (strcmp(step, RS_STEP_IMAGES_SAVE) == 0) return rs_images_save(c->run, c->plan, err);
  if (strcmp(step, RS_STEP_STOP_KUBELET) == 0) return rs_unit_do(h, "stop", "kubelet.service", err);
  if (strcmp(step, RS_STEP_REMOVE_PODS) == 0) return remove_pods(c, err);
  /* stopped early, disabled only once the kubelet is healthy on the new
   * runtime: a reboot before that boots the old runtime again */
  if (strcmp(step, RS_STEP_STOP_SOURCE) == 0) return stop_source(c, err);
  if (strcmp(step, RS_STEP_DISABLE_SOURCE) == 0) return units_do(c, RS_ROLE_SOURCE, "disable", true, err);
  if (strcmp(step, RS_STEP_VALIDATE) == 0) return validate(c, err);
  if (strcmp(step, RS_STEP_INSTALL_RUNTIME) == 0) return install_group(c, RS_FG_RUNTIME, err);
  if (strcmp(step, RS_STEP_DAEMON_RELOAD) == 0) return rs_unit_daemon_reload(h, err);
  if (strcmp(step, RS_STEP_RESTART_RUNTIME) == 0) return restart_runtime(c, err);
  if (strcmp(step, RS_STEP_WAIT_RUNTIME) == 0) return wait_runtime(c, err);
  if (strcmp(step, RS_STEP_IMAGES_IMPORT) == 0) return rs_images_import(c->run, c->plan, err);
  if (strcmp(step, RS_STEP_INSTALL_KUBELET) == 0) return install_group(c, RS_FG_KUBELET, err);
  if (strcmp(step, RS_STEP_START_KUBELET) == 0) return rs_unit_do(h, "restart", "kubelet.service", err);
  if (strcmp(step, RS_STEP_WAIT_KUBELET) == 0) return wait_kubelet(c, err);
  return rs_fail(err, RS_E_INPUT, EINVAL, "unknown step %s", step);
}

int rs_write_result(struct rs_run *run, const struct rs_plan *plan, rs_err_t *err) {
  struct rs_journal j;
  if (rs_journal_read(run, &j, err) < 0) return -1;
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(8u << 20);
  int code;
  int r = rs_report_json(run, &j, rs_rt_name(plan->from), rs_rt_name(plan->to), &b, &code, err);
  rs_journal_free(&j);
  if (r < 0) return -1;
  _cleanup_free_ char *p = rs_run_file(run, RS_HELPER_RESULT_FILE);
  if (!p) return rs_oom(err);
  return rs_write_file_atomic(p, b.data, b.len, 0644, err);
}

void rs_run_cleanup(struct rs_run *run) {
  _cleanup_free_ char *tar = rs_images_tar(run);
  if (tar) (void)unlink(tar);
  rs_err_t e = RS_ERR_INIT;
  rs_guard_remove(run->h, run->id, &e);
  rs_err_clear(&e);
}

int rs_run_finish(struct rs_run *run, const struct rs_plan *plan, const char *state,
                  const char *reason, rs_err_t *err) {
  if (rs_journal_append(run, "state", state, reason, err) < 0) return -1;
  int r = rs_write_result(run, plan, err);
  rs_run_cleanup(run);
  return r;
}

int rs_load_plan(struct rs_run *run, struct rs_plan *p, rs_err_t *err) {
  _cleanup_free_ char *pj = rs_run_file(run, RS_HELPER_PLAN_FILE);
  _cleanup_free_ char *t = NULL;
  size_t len = 0;
  if (!pj) return rs_oom(err);
  if (rs_read_file(pj, 8u << 20, &t, &len, err) < 0) return -1;
  return rs_plan_from_json(t, len, p, err);
}

/* Steps whose effect is on disk and survives a reboot; the others (what
 * services run, the pods' containers) are done again after one. */
static bool step_persists(const char *step) {
  static const char *const v[] = {RS_STEP_IMAGES_SAVE,     RS_STEP_VALIDATE,
                                  RS_STEP_INSTALL_RUNTIME, RS_STEP_IMAGES_IMPORT,
                                  RS_STEP_INSTALL_KUBELET, RS_STEP_DISABLE_SOURCE};
  for (size_t i = 0; i < RS_ARRAY_SIZE(v); i++)
    if (strcmp(step, v[i]) == 0) return true;
  return false;
}

static int run_steps(struct rs_run *run, const struct rs_plan *plan, struct rs_journal *j,
                     rs_err_t *err) {
  if (!j->state || strcmp(j->state, RS_STATE_RUNNING) != 0)
    if (rs_journal_append(run, "state", RS_STATE_RUNNING, NULL, err) < 0) return RS_HX_FAILED;
  /* once every step is done, nothing a boot undid matters: the last one
   * (disable-source) made the new runtime the one that boots */
  bool all = true;
  for (size_t i = 0; plan->steps[i]; i++)
    if (!rs_journal_done(j, plan->steps[i])) all = false;
  struct step_ctx c = {run, plan, false};
  for (size_t i = 0; i < j->boot_at && !c.rebooted; i++) c.rebooted = strcmp(j->recs[i].event, "begin") == 0;
  for (size_t i = 0; plan->steps[i]; i++) {
    const char *step = plan->steps[i];
    if (rs_journal_done_after(j, all || step_persists(step) ? 0 : j->boot_at, step)) continue;
    int r = 0;
    if (plan->deadline && (long long)time(NULL) > plan->deadline)
      r = rs_fail(err, RS_E_TIMEOUT, ETIMEDOUT, "deadline passed before step %s", step);
    if (r == 0) r = rs_journal_append(run, "begin", step, NULL, err);
    if (r == 0) r = run_step(&c, step, err);
    if (r < 0) {
      _cleanup_free_ char *reason = rs_strdup_printf("%s: %s", step, err->msg ? err->msg : "failed");
      rs_err_clear(err);
      rs_err_t e2 = RS_ERR_INIT;
      rs_journal_append(run, "fail", step, reason, &e2);
      rs_err_clear(&e2);
      return rs_rollback_run(run, plan, reason ? reason : step, false, err);
    }
    if (rs_journal_append(run, "done", step, NULL, err) < 0) return RS_HX_FAILED;
  }
  return rs_run_finish(run, plan, RS_STATE_DONE, NULL, err) < 0 ? RS_HX_FAILED : RS_HX_OK;
}

int rs_apply(const struct rs_host *h, const char *id, bool guard, rs_err_t *err) {
  struct rs_run run;
  if (rs_run_open(h, id, false, &run, err) < 0) {
    if (guard) { /* nothing left to guard */
      rs_err_t e = RS_ERR_INIT;
      rs_guard_remove(h, id, &e);
      rs_err_clear(&e);
    }
    return RS_HX_NOT_FOUND;
  }
  _cleanup_close_ int lock = -1;
  struct rs_plan plan = {0};
  struct rs_journal j = {0};
  int code = RS_HX_FAILED;
  bool booted = false;
  if (rs_run_check_helper(&run, err) < 0) {
    code = RS_HX_INTEGRITY;
    goto out;
  }
  /* the apply unit and the guard may both start after a reboot (a rerun of
   * the plugin launches again): one works, the other waits and finds the
   * run final */
  if (rs_run_lock(&run, true, &lock, err) < 0 || rs_load_plan(&run, &plan, err) < 0 ||
      rs_journal_read(&run, &j, err) < 0)
    goto out;
  code = rs_state_exit(j.state);
  if (code != RS_HX_RUNNING) {
    rs_run_cleanup(&run);
    goto out;
  }
  code = RS_HX_FAILED;
  if (rs_journal_note_boot(&run, &j, guard, &booted, err) < 0) goto out;
  rs_journal_free(&j);
  if (rs_journal_read(&run, &j, err) < 0) goto out;
  if (j.state && strcmp(j.state, RS_STATE_ROLLING_BACK) == 0)
    code = rs_rollback_run(&run, &plan, j.reason ? j.reason : "resumed", false, err);
  else
    code = run_steps(&run, &plan, &j, err);
out:
  rs_journal_free(&j);
  rs_plan_free(&plan);
  rs_run_close(&run);
  return code;
}

int rs_report(const struct rs_host *h, const char *id, long wait_s, rs_err_t *err) {
  struct rs_run run;
  if (rs_run_open(h, id, false, &run, err) < 0) return RS_HX_NOT_FOUND;
  long long until = rs_now_ms() + (long long)wait_s * 1000;
  struct rs_plan plan = {0};
  int code = RS_HX_FAILED;
  if (rs_load_plan(&run, &plan, err) < 0) goto out;
  for (;;) {
    struct rs_journal j;
    if (rs_journal_read(&run, &j, err) < 0) goto out;
    _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(8u << 20);
    int r = rs_report_json(&run, &j, rs_rt_name(plan.from), rs_rt_name(plan.to), &b, &code, err);
    rs_journal_free(&j);
    if (r < 0) {
      code = RS_HX_FAILED;
      goto out;
    }
    if (code != RS_HX_RUNNING || rs_now_ms() >= until) {
      fputs(b.data, stdout);
      break;
    }
    usleep(500 * 1000);
  }
out:
  rs_plan_free(&plan);
  rs_run_close(&run);
  return code;
}
