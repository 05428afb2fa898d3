/* rollback: put every file back byte for byte from the backup, return the
 * services to their state before the switch, and record why.  Journaled
 * like apply (steps "rb-*"), so a killed rollback resumes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "helper/integrity.h"
#include "helper/run.h"
#include "helper/units.h"

static int restore_files(struct rs_run *run, rs_err_t *err) {
  const struct rs_host *h = run->h;
  _cleanup_free_ char *mp = rs_strdup_printf("%s/%s/manifest", run->dir, RS_HELPER_BACKUP_DIR);
  _cleanup_free_ char *man = NULL;
  if (!mp) return rs_oom(err);
  if (rs_read_file(mp, 1u << 20, &man, NULL, err) < 0) return -1;
  _cleanup_strv_ char **dirs = rs_strv_new();
  if (!dirs) return rs_oom(err);
  for (char *line = strtok(man, "\n"); line; line = strtok(NULL, "\n")) {
    if (rs_startswith(line, "dir ")) {
      if (rs_strv_push(&dirs, line + 4, err) < 0) return -1;
      continue;
    }
    unsigned idx, existed, mode, uid, gid;
    char sha[65];
    int off = 0;
    if (sscanf(line, "file %u %u %64s %o %u %u %n", &idx, &existed, sha, &mode, &uid, &gid, &off) != 6 ||
        !off || line[off] != '/')
      return rs_fail(err, RS_E_INPUT, EINVAL, "backup manifest: bad line '%s'", line);
    const char *path = line + off;
    _cleanup_free_ char *hp = rs_host_path(h, path);
    if (!hp) return rs_oom(err);
    if (!existed) {
      if (unlink(hp) < 0 && errno != ENOENT) return rs_fail_errno(err, errno, "remove %s", hp);
      continue;
    }
    _cleanup_free_ char *bp = rs_strdup_printf("%s/%s/%u", run->dir, RS_HELPER_BACKUP_DIR, idx);
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    char got[65];
    if (!bp) return rs_oom(err);
    if (rs_read_file(bp, RS_MAX_CONFIG, &data, &len, err) < 0) return -1;
    rs_sha256_hex(data, len, got);
    if (strcmp(got, sha) != 0)
      return rs_fail(err, RS_E_INPUT, EIO, "backup of %s is damaged (checksum)", path);
    if (rs_install_file(h, path, data, len, (mode_t)mode, err) < 0) return -1;
    if (chown(hp, (uid_t)uid, (gid_t)gid) < 0 && errno != EPERM)
      return rs_fail_errno(err, errno, "chown %s", hp);
    if (chmod(hp, (mode_t)mode) < 0) return rs_fail_errno(err, errno, "chmod %s", hp);
  }
  /* directories the switch created, innermost first; only if empty */
  for (size_t i = rs_strv_len(dirs); i > 0; i--) {
    _cleanup_free_ char *hp = rs_host_path(h, dirs[i - 1]);
    if (hp && rmdir(hp) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
      return rs_fail_errno(err, errno, "rmdir %s", hp);
  }
  return 0;
}

static int units_back(struct rs_run *run, const struct rs_plan *p, int role, rs_err_t *err) {
  const struct rs_host *h = run->h;
  /* sockets first when starting (they would start the service anyway) */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < p->nunits; i++) {
      const struct rs_plan_unit *u = &p->units[i];
      if (u->role != role || (pass == 0) != rs_endswith(u->unit, ".socket")) continue;
      const char *en = u->before.enabled ? "enable" : "disable";
      if (rs_unit_do(h, en, u->unit, err) < 0) return -1;
      if (u->before.active) {
        /* the runtime whose config was replaced must read it again */
        bool reread = role == RS_ROLE_TARGET && (strcmp(u->unit, "containerd.service") == 0 ||
                                                 strcmp(u->unit, "crio.service") == 0);
        if (rs_unit_do(h, reread ? "restart" : "start", u->unit, err) < 0) return -1;
      } else if (rs_unit_do(h, "stop", u->unit, err) < 0) {
        return -1;
      }
    }
  return 0;
}

static int rb_step(struct rs_run *run, const struct rs_plan *p, const char *step, rs_err_t *err) {
  const struct rs_host *h = run->h;
  if (strcmp(step, "rb-stop-kubelet") == 0) return rs_unit_do(h, "stop", "kubelet.service", err);
  if (strcmp(step, "rb-restore-files") == 0) return restore_files(run, err);
  if (strcmp(step, "rb-target-units") == 0) return units_back(run, p, RS_ROLE_TARGET, err);
  if (strcmp(step, "rb-source-units") == 0) return units_back(run, p, RS_ROLE_SOURCE, err);
  if (strcmp(step, "rb-start-kubelet") == 0) {
    for (size_t i = 0; i < p->nunits; i++)
      if (p->units[i].role == RS_ROLE_KUBELET && p->units[i].before.active)
        return rs_unit_do(h, "start", p->units[i].unit, err);
    return 0;
  }
  return rs_fail(err, RS_E_INPUT, EINVAL, "unknown rollback step %s", step);
}

int rs_rollback_run(struct rs_run *run, const struct rs_plan *p, const char *reason,
                    rs_err_t *err) {
  static const char *const steps[] = {"rb-stop-kubelet", "rb-restore-files", "rb-target-units",
                                      "rb-source-units", "rb-start-kubelet"};
  struct rs_journal j;
  if (rs_journal_read(run, &j, err) < 0) return RS_HX_ROLLBACK_FAILED;
  _cleanup_free_ char *why = strdup(reason ? reason : "rollback");
  if (!why) {
    rs_journal_free(&j);
    return RS_HX_ROLLBACK_FAILED;
  }
  bool resumed = j.state && strcmp(j.state, RS_STATE_ROLLING_BACK) == 0;
  if (!resumed && rs_journal_append(run, "state", RS_STATE_ROLLING_BACK, why, err) < 0) {
    rs_journal_free(&j);
    return RS_HX_ROLLBACK_FAILED;
  }
  _cleanup_buf_ rs_buf_t failures = RS_BUF_INIT(1 << 16);
  for (size_t i = 0; i < RS_ARRAY_SIZE(steps); i++) {
    if (resumed && rs_journal_done_since(&j, RS_STATE_ROLLING_BACK, steps[i])) continue;
    rs_err_t e = RS_ERR_INIT;
    int r = rs_journal_append(run, "begin", steps[i], NULL, &e);
    if (r == 0) r = rb_step(run, p, steps[i], &e);
    if (r == 0) r = rs_journal_append(run, "done", steps[i], NULL, &e);
    if (r < 0) {
      /* keep going: every other step still brings the node closer back */
      rs_buf_printf(&failures, NULL, "%s%s: %s", failures.len ? "; " : "", steps[i],
                    e.msg ? e.msg : "failed");
      rs_err_t e2 = RS_ERR_INIT;
      rs_journal_append(run, "fail", steps[i], e.msg, &e2);
      rs_err_clear(&e2);
    }
    rs_err_clear(&e);
  }
  rs_journal_free(&j);
  int code;
  if (failures.len) {
    _cleanup_free_ char *r2 = rs_strdup_printf("%s; rollback: %s", why, failures.data);
    rs_journal_append(run, "state", RS_STATE_ROLLBACK_FAILED, r2 ? r2 : why, err);
    code = RS_HX_ROLLBACK_FAILED;
  } else {
    rs_journal_append(run, "state", RS_STATE_ROLLED_BACK, why, err);
    code = RS_HX_ROLLED_BACK;
  }
  rs_err_t e3 = RS_ERR_INIT;
  rs_write_result(run, p, &e3);
  rs_err_clear(&e3);
  return code;
}

int rs_rollback_request(const struct rs_host *h, const char *id, const char *reason,
                        rs_err_t *err) {
  struct rs_run run;
  if (rs_run_open(h, id, false, &run, err) < 0) return RS_HX_NOT_FOUND;
  _cleanup_free_ char *pj = rs_run_file(&run, RS_HELPER_PLAN_FILE);
  _cleanup_free_ char *t = NULL;
  size_t len = 0;
  struct rs_plan p;
  int code = RS_HX_FAILED;
  if (rs_run_check_helper(&run, err) < 0) {
    rs_run_close(&run);
    return RS_HX_INTEGRITY;
  }
  if (!pj || rs_read_file(pj, 8u << 20, &t, &len, err) < 0 || rs_plan_from_json(t, len, &p, err) < 0) {
    rs_run_close(&run);
    return RS_HX_FAILED;
  }
  struct rs_journal j;
  if (rs_journal_read(&run, &j, err) == 0) {
    _cleanup_free_ char *unit = rs_strdup_printf("%s%s", RS_HELPER_UNIT_PREFIX, id);
    struct rs_unit_state st = {0};
    rs_err_t e = RS_ERR_INIT;
    bool busy = unit && j.state && strcmp(j.state, RS_STATE_RUNNING) == 0 &&
                (rs_host_fixture(h) || rs_host_systemd(h)) &&
                rs_unit_query(h, unit, &st, &e) == 0 && st.active;
    rs_err_clear(&e);
    if (busy)
      rs_fail(err, RS_E_NODE, EBUSY, "apply is still running as %s; it rolls back by itself on failure", unit);
    else if (j.state && (strcmp(j.state, RS_STATE_ROLLED_BACK) == 0))
      code = RS_HX_ROLLED_BACK;
    else {
      _cleanup_free_ char *why = rs_strdup_printf("requested: %s", reason ? reason : "by the operator");
      code = rs_rollback_run(&run, &p, why ? why : "requested", err);
    }
    rs_journal_free(&j);
  }
  rs_plan_free(&p);
  rs_run_close(&run);
  return code;
}
