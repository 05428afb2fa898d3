/* rollback: put every file back byte for byte from the backup, return the
 * services to their state before the switch, and record why.  Journaled
 * like apply (steps "rb-*"), so a killed rollback resumes, and after a
 * reboot the guard finishes it.
 *
 * A file edited since the switch (neither the original bytes nor the ones
 * the switch wrote) is not overwritten: its bytes are kept in the run's
 * edited/ directory and the rollback of that file is refused with a reason
 * naming it, unless the rollback is forced (rollback --force, recorded in
 * the journal so a resumed rollback keeps it). */
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
#include "helper/guard.h"
#include "helper/integrity.h"
#include "helper/manifest.h"
#include "helper/run.h"
#include "helper/units.h"

#define EDITED_DIR "edited"

static int read_manifest(const struct rs_run *run, const struct rs_plan *p, struct rs_manifest *m,
                         rs_err_t *err) {
  _cleanup_free_ char *mp = rs_strdup_printf("%s/%s/manifest", run->dir, RS_HELPER_BACKUP_DIR);
  _cleanup_free_ char *man = NULL;
  size_t len = 0;
  if (!mp) return rs_oom(err);
  if (rs_read_file(mp, RS_MANIFEST_MAX, &man, &len, err) < 0 || rs_manifest_parse(man, len, m, err) < 0)
    return -1;
  for (size_t i = 0; i < m->nfiles; i++)
    if (m->files[i].idx >= p->nfiles || strcmp(m->files[i].path, p->files[m->files[i].idx].path) != 0) {
      rs_manifest_free(m);
      return rs_fail(err, RS_E_INPUT, EINVAL, "backup manifest: file %u is not the plan's", m->files[i].idx);
    }
  return 0;
}

/* A file as the rollback finds it. */
enum file_now {
  NOW_BEFORE, /* as before the switch (absent, for a file the switch creates) */
  NOW_AFTER,  /* as the switch wrote it */
  NOW_EDITED, /* changed (or deleted) by someone since */
};

struct file_look {
  int now;         /* enum file_now */
  char *hp;        /* host path, through symlinks */
  char *data;      /* current bytes (NULL: absent) */
  size_t len;
  char sha[65];
};

static void look_free(struct file_look *l) {
  free(l->hp);
  free(l->data);
}

static int look(const struct rs_run *run, const struct rs_plan *p, const struct rs_manifest_file *mf,
                struct file_look *ret, rs_err_t *err) {
  struct file_look l = {0};
  if (rs_host_resolve(run->h, mf->path, &l.hp, err) < 0 ||
      rs_host_read(run->h, mf->path, RS_MAX_CONFIG, &l.data, &l.len, err) < 0) {
    look_free(&l);
    return -1;
  }
  if (l.data) rs_sha256_hex(l.data, l.len, l.sha);
  const char *after = p->files[mf->idx].new_sha;
  if (!l.data)
    l.now = mf->existed ? NOW_EDITED : NOW_BEFORE;
  else if (mf->existed && strcmp(l.sha, mf->sha) == 0)
    l.now = NOW_BEFORE;
  else if (*after && strcmp(l.sha, after) == 0)
    l.now = NOW_AFTER;
  else
    l.now = NOW_EDITED;
  *ret = l;
  return 0;
}

/* Keep an edited file's bytes in edited/<index>; *ret its host path. */
static int keep_copy(const struct rs_run *run, const struct rs_manifest_file *mf,
                     const struct file_look *l, char **ret, rs_err_t *err) {
  _cleanup_free_ char *dir = rs_run_file(run, EDITED_DIR);
  _cleanup_free_ char *path = rs_strdup_printf("%s/%s/%u", run->dir, EDITED_DIR, mf->idx);
  if (!dir || !path) return rs_oom(err);
  if (l->data &&
      (rs_mkdir_p(dir, 0700, err) < 0 || rs_write_file_atomic(path, l->data, l->len, 0600, err) < 0))
    return -1;
  *ret = TAKE_PTR(path);
  return 0;
}

/* "PATH was changed since the switch ...; kept in ..." into b. */
static int say_edited(rs_buf_t *b, const struct rs_run *run, const struct rs_plan *p,
                      const struct rs_manifest_file *mf, const struct file_look *l, const char *what,
                      rs_err_t *err) {
  _cleanup_free_ char *copy = NULL;
  if (keep_copy(run, mf, l, &copy, err) < 0) return -1;
  if (b->len && rs_buf_puts(b, "; ", err) < 0) return -1;
  if (!l->data) return rs_buf_printf(b, err, "%s was deleted since the switch: %s", mf->path, what);
  return rs_buf_printf(b, err, "%s was changed since the switch (sha256 %.12s..., the switch wrote %.12s...): "
                       "%s; its bytes are kept in %s", mf->path, l->sha, p->files[mf->idx].new_sha, what,
                       copy + strlen(run->h->root));
}

static int restore_one(const struct rs_run *run, const struct rs_manifest_file *mf,
                       const struct file_look *l, rs_err_t *err) {
  const struct rs_host *h = run->h;
  if (!mf->existed) {
    if (l->data && unlink(l->hp) < 0 && errno != ENOENT) return rs_fail_errno(err, errno, "remove %s", l->hp);
    return 0;
  }
  if (l->now != NOW_BEFORE) {
    _cleanup_free_ char *bp = rs_strdup_printf("%s/%s/%u", run->dir, RS_HELPER_BACKUP_DIR, mf->idx);
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    char got[65];
    if (!bp) return rs_oom(err);
    if (rs_read_file(bp, RS_MAX_CONFIG, &data, &len, err) < 0) return -1;
    rs_sha256_hex(data, len, got);
    if (strcmp(got, mf->sha) != 0)
      return rs_fail(err, RS_E_INPUT, EIO, "backup of %s is damaged (checksum)", mf->path);
    if (rs_install_file(h, mf->path, data, len, mf->mode, err) < 0) return -1;
  }
  if (chown(l->hp, mf->uid, mf->gid) < 0 && errno != EPERM) return rs_fail_errno(err, errno, "chown %s", l->hp);
  if (chmod(l->hp, mf->mode) < 0) return rs_fail_errno(err, errno, "chmod %s", l->hp);
  return 0;
}

static int restore_files(struct rs_run *run, const struct rs_plan *p, bool force, rs_err_t *err) {
  struct rs_manifest m;
  if (read_manifest(run, p, &m, err) < 0) return -1;
  _cleanup_buf_ rs_buf_t refused = RS_BUF_INIT(1 << 16);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < m.nfiles; i++) {
    const struct rs_manifest_file *mf = &m.files[i];
    struct file_look l;
    if (look(run, p, mf, &l, err) < 0) {
      rc = -1;
      break;
    }
    _cleanup_free_ char *copy = NULL;
    if (l.now == NOW_EDITED && !force)
      rc = say_edited(&refused, run, p, mf, &l, "not restored (rollback --force restores it)", err);
    else if (l.now == NOW_EDITED)
      rc = keep_copy(run, mf, &l, &copy, err);
    if (rc == 0 && (l.now != NOW_EDITED || force)) rc = restore_one(run, mf, &l, err);
    look_free(&l);
  }
  /* directories the switch created, innermost first; only if empty */
  for (size_t i = rs_strv_len(m.dirs); rc == 0 && i > 0; i--) {
    _cleanup_free_ char *hp = rs_host_path(run->h, m.dirs[i - 1]);
    if (hp && rmdir(hp) < 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
      rc = rs_fail_errno(err, errno, "rmdir %s", hp);
  }
  rs_manifest_free(&m);
  if (rc == 0 && refused.len) rc = rs_fail(err, RS_E_INPUT, EEXIST, "%s", refused.data);
  return rc;
}

/* Files edited since the switch, said in *b (copies kept); for a rollback
 * that is asked for, before it changes anything. */
static int find_edited(struct rs_run *run, const struct rs_plan *p, rs_buf_t *b, rs_err_t *err) {
  struct rs_manifest m;
  if (read_manifest(run, p, &m, err) < 0) return -1;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < m.nfiles; i++) {
    struct file_look l;
    if (look(run, p, &m.files[i], &l, err) < 0) {
      rc = -1;
      break;
    }
    if (l.now == NOW_EDITED) rc = say_edited(b, run, p, &m.files[i], &l, "left as it is", err);
    look_free(&l);
  }
  rs_manifest_free(&m);
  return rc;
}

static int units_back(struct rs_run *run, const struct rs_plan *p, int role, rs_err_t *err) {
  const struct rs_host *h = run->h;
  /* a unit drop-in the switch wrote is gone again: systemd must know */
  if (role == RS_ROLE_TARGET && rs_plan_has_step(p, RS_STEP_DAEMON_RELOAD) && rs_unit_daemon_reload(h, err) < 0)
    return -1;
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

#define RB_RESTORE_FILES "rb-restore-files"

static int rb_step(struct rs_run *run, const struct rs_plan *p, const char *step, bool force,
                   rs_err_t *err) {
  const struct rs_host *h = run->h;
  if (strcmp(step, "rb-stop-kubelet") == 0) return rs_unit_do(h, "stop", "kubelet.service", err);
  if (strcmp(step, RB_RESTORE_FILES) == 0) return restore_files(run, p, force, err);
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

static const char *const rb_steps[] = {"rb-stop-kubelet", RB_RESTORE_FILES, "rb-target-units",
                                       "rb-source-units", "rb-start-kubelet"};

/* Record what the rollback starts from (state, force, this boot) and read
 * the journal again. */
static int rb_begin(struct rs_run *run, const char *why, bool force, struct rs_journal *j,
                    rs_err_t *err) {
  bool resumed = j->state && strcmp(j->state, RS_STATE_ROLLING_BACK) == 0;
  if (!resumed && rs_journal_append(run, "state", RS_STATE_ROLLING_BACK, why, err) < 0) return -1;
  bool booted;
  if (force && rs_journal_append(run, "force", "rollback", NULL, err) < 0) return -1;
  if (rs_journal_note_boot(run, j, false, &booted, err) < 0) return -1;
  rs_journal_free(j);
  return rs_journal_read(run, j, err);
}

int rs_rollback_run(struct rs_run *run, const struct rs_plan *p, const char *reason, bool force,
                    rs_err_t *err) {
  struct rs_journal j;
  _cleanup_free_ char *why = strdup(reason ? reason : "rollback");
  if (!why) return RS_HX_ROLLBACK_FAILED;
  if (rs_journal_read(run, &j, err) < 0) return RS_HX_ROLLBACK_FAILED;
  if (rb_begin(run, why, force, &j, err) < 0) {
    rs_journal_free(&j);
    return RS_HX_ROLLBACK_FAILED;
  }
  size_t rb = rs_journal_last(&j, "state", RS_STATE_ROLLING_BACK);
  size_t since_boot = j.boot_at > rb ? j.boot_at : rb;
  bool forced = rs_journal_last(&j, "force", "rollback") > rb;
  bool all = true;
  for (size_t i = 0; i < RS_ARRAY_SIZE(rb_steps); i++)
    if (!rs_journal_done_after(&j, rb, rb_steps[i])) all = false;
  _cleanup_buf_ rs_buf_t failures = RS_BUF_INIT(1 << 16);
  for (size_t i = 0; i < RS_ARRAY_SIZE(rb_steps); i++) {
    /* after a boot, the service steps are done again; the files stay */
    bool persists = all || strcmp(rb_steps[i], RB_RESTORE_FILES) == 0;
    if (rs_journal_done_after(&j, persists ? rb : since_boot, rb_steps[i])) continue;
    rs_err_t e = RS_ERR_INIT;
    int r = rs_journal_append(run, "begin", rb_steps[i], NULL, &e);
    if (r == 0) r = rb_step(run, p, rb_steps[i], forced, &e);
    if (r == 0) r = rs_journal_append(run, "done", rb_steps[i], NULL, &e);
    if (r < 0) {
      /* keep going: every other step still brings the node closer back */
      rs_buf_printf(&failures, NULL, "%s%s: %s", failures.len ? "; " : "", rb_steps[i],
                    e.msg ? e.msg : "failed");
      rs_err_t e2 = RS_ERR_INIT;
      rs_journal_append(run, "fail", rb_steps[i], e.msg, &e2);
      rs_err_clear(&e2);
    }
    rs_err_clear(&e);
  }
  rs_journal_free(&j);
  int code = RS_HX_ROLLED_BACK;
  if (failures.len) {
    _cleanup_free_ char *r2 = rs_strdup_printf("%s; rollback: %s", why, failures.data);
    code = RS_HX_ROLLBACK_FAILED;
    rs_run_finish(run, p, RS_STATE_ROLLBACK_FAILED, r2 ? r2 : why, err);
  } else {
    rs_run_finish(run, p, RS_STATE_ROLLED_BACK, why, err);
  }
  return code;
}

/* Whether a requested rollback may start: RS_HX_RUNNING when it may, else
 * the exit code that answers the request. */
static int may_roll_back(struct rs_run *run, const struct rs_plan *p, const struct rs_journal *j,
                         bool force, rs_err_t *err) {
  const struct rs_host *h = run->h;
  _cleanup_free_ char *unit = rs_strdup_printf("%s%s", RS_HELPER_UNIT_PREFIX, run->id);
  if (!unit) {
    rs_oom(err);
    return RS_HX_FAILED;
  }
  struct rs_unit_state st = {0};
  rs_err_t e = RS_ERR_INIT;
  /* between two starts of the unit (it restarts after a kill) the lock is free */
  bool busy = j->state && strcmp(j->state, RS_STATE_RUNNING) == 0 &&
              (rs_host_fixture(h) || rs_host_systemd(h)) && rs_unit_query(h, unit, &st, &e) == 0 && st.active;
  rs_err_clear(&e);
  if (busy) {
    rs_fail(err, RS_E_NODE, EBUSY, "apply is still running as %s; it rolls back by itself on failure", unit);
    return RS_HX_FAILED;
  }
  if (j->state && strcmp(j->state, RS_STATE_ROLLED_BACK) == 0) {
    rs_run_cleanup(run);
    return RS_HX_ROLLED_BACK;
  }
  if (force || (j->state && strcmp(j->state, RS_STATE_ROLLING_BACK) == 0)) return RS_HX_RUNNING;
  _cleanup_buf_ rs_buf_t edited = RS_BUF_INIT(1 << 16);
  if (find_edited(run, p, &edited, err) < 0) return RS_HX_FAILED;
  if (!edited.len) return RS_HX_RUNNING;
  rs_fail(err, RS_E_INPUT, EEXIST, "rollback refused, nothing was changed: %s; rollback --force restores "
          "the files as they were before the switch", edited.data);
  return RS_HX_EDITED;
}

int rs_rollback_request(const struct rs_host *h, const char *id, const char *reason, bool force,
                        rs_err_t *err) {
  struct rs_run run;
  if (rs_run_open(h, id, false, &run, err) < 0) return RS_HX_NOT_FOUND;
  _cleanup_close_ int lock = -1;
  _cleanup_free_ char *why = rs_strdup_printf("requested: %s", reason ? reason : "by the operator");
  struct rs_plan p = {0};
  struct rs_journal j = {0};
  int code = RS_HX_FAILED;
  if (rs_run_check_helper(&run, err) < 0) {
    code = RS_HX_INTEGRITY;
  } else if (rs_run_lock(&run, false, &lock, err) < 0) {
    if (err->code == EBUSY)
      rs_fail(err, RS_E_NODE, EBUSY, "apply is still running (%s%s, or its boot guard); it rolls back "
              "by itself on failure", RS_HELPER_UNIT_PREFIX, id);
  } else if (rs_load_plan(&run, &p, err) == 0 && rs_journal_read(&run, &j, err) == 0) {
    code = may_roll_back(&run, &p, &j, force, err);
    /* a reboot during the rollback must not need this pod to finish it */
    if (code == RS_HX_RUNNING)
      code = rs_guard_install(h, id, err) < 0 ? RS_HX_FAILED
                                              : rs_rollback_run(&run, &p, why ? why : "requested", force, err);
  }
  rs_journal_free(&j);
  rs_plan_free(&p);
  rs_run_close(&run);
  return code;
}
