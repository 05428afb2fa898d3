/* launch: runs in the pod.  Back up, stage (backup manifest: see
 * helper/manifest.h), copy the helper onto the host and check the copy,
 * install the boot guard and start `apply` outside the pod, because stopping
 * Docker kills the pod.  Old runs' directories are pruned (helper/runs.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

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
#include "helper/runs.h"
#include "helper/units.h"

static int write_run_file(const struct rs_run *run, const char *name, const char *data,
                          size_t len, mode_t mode, rs_err_t *err) {
  _cleanup_free_ char *p = rs_run_file(run, name);
  if (!p) return rs_oom(err);
  return rs_write_file_atomic(p, data, len, mode, err);
}

/* Directories missing above abs, outermost first. */
static int missing_dirs(const struct rs_host *h, const char *abs, char ***v, rs_err_t *err) {
  _cleanup_free_ char *d = strdup(abs);
  if (!d) return rs_oom(err);
  _cleanup_strv_ char **rev = rs_strv_new();
  if (!rev) return rs_oom(err);
  for (char *s = strrchr(d, '/'); s && s != d; s = strrchr(d, '/')) {
    *s = '\0';
    if (rs_host_exists(h, d)) break;
    if (rs_strv_push(&rev, d, err) < 0) return -1;
  }
  for (size_t i = rs_strv_len(rev); i > 0; i--)
    if (!rs_strv_contains(*v, rev[i - 1]) && rs_strv_push(v, rev[i - 1], err) < 0) return -1;
  return 0;
}

static int backup_and_stage(struct rs_run *run, const struct rs_plan *p, rs_err_t *err) {
  _cleanup_buf_ rs_buf_t man = RS_BUF_INIT(RS_MANIFEST_MAX);
  _cleanup_strv_ char **dirs = rs_strv_new();
  if (!dirs) return rs_oom(err);
  for (size_t i = 0; i < p->nfiles; i++) {
    const struct rs_plan_file *f = &p->files[i];
    _cleanup_free_ char *bname = rs_strdup_printf("%s/%zu", RS_HELPER_BACKUP_DIR, i);
    _cleanup_free_ char *sname = rs_strdup_printf("%s/%zu", RS_HELPER_STAGED_DIR, i);
    if (!bname || !sname) return rs_oom(err);
    struct stat st = {0};
    if (f->existed) {
      /* the bytes on disk now, not the plan's copy: they must still match */
      _cleanup_free_ char *hp = NULL;
      _cleanup_free_ char *cur = NULL;
      size_t len = 0;
      char sha[65];
      if (rs_host_resolve(run->h, f->path, &hp, err) < 0) return -1;
      if (stat(hp, &st) < 0) return rs_fail_errno(err, errno, "stat %s", hp);
      if (rs_read_file(hp, RS_MAX_CONFIG, &cur, &len, err) < 0) return -1;
      rs_sha256_hex(cur, len, sha);
      if (strcmp(sha, f->old_sha) != 0)
        return rs_fail(err, RS_E_INPUT, EAGAIN, "%s changed during preflight", f->path);
      if (write_run_file(run, bname, cur, len, 0600, err) < 0) return -1;
    } else if (missing_dirs(run->h, f->path, &dirs, err) < 0) {
      return -1;
    }
    if (write_run_file(run, sname, f->new_text, strlen(f->new_text), 0600, err) < 0) return -1;
    struct rs_manifest_file mf = {(unsigned)i, f->existed, "", f->existed ? st.st_mode & 07777 : f->mode,
                                  st.st_uid, st.st_gid, f->path};
    if (f->existed) memcpy(mf.sha, f->old_sha, sizeof mf.sha);
    if (rs_manifest_put_file(&man, &mf, err) < 0) return -1;
  }
  for (size_t i = 0; dirs[i]; i++)
    if (rs_manifest_put_dir(&man, dirs[i], err) < 0) return -1;
  _cleanup_free_ char *mname = rs_strdup_printf("%s/manifest", RS_HELPER_BACKUP_DIR);
  if (!mname) return rs_oom(err);
  return write_run_file(run, mname, man.data ? man.data : "", man.len, 0600, err);
}

/* No systemd: leave the pod's cgroup (the runtime kills every process in
 * it when the pod's container stops) and detach. */
static int spawn_detached(struct rs_run *run, const char *const *argv, rs_err_t *err) {
  _cleanup_free_ char *log = rs_run_file(run, "apply.log");
  if (!log) return rs_oom(err);
  pid_t pid = fork();
  if (pid < 0) return rs_fail_errno(err, errno, "fork");
  if (pid == 0) {
    setsid();
    char pidtxt[32];
    int pl = snprintf(pidtxt, sizeof pidtxt, "%d\n", (int)getpid());
    /* cgroup v2: the root's cgroup.procs; v1: each hierarchy's */
    int fd = open("/sys/fs/cgroup/cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      (void)!write(fd, pidtxt, (size_t)pl);
      close(fd);
    } else {
      DIR *d = opendir("/sys/fs/cgroup");
      struct dirent *de;
      while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char p[512];
        snprintf(p, sizeof p, "/sys/fs/cgroup/%s/cgroup.procs", de->d_name);
        int f1 = open(p, O_WRONLY | O_CLOEXEC);
        if (f1 >= 0) {
          (void)!write(f1, pidtxt, (size_t)pl);
          close(f1);
        }
      }
      if (d) closedir(d);
    }
    pid_t g = fork();
    if (g != 0) _exit(g < 0 ? 1 : 0);
    int lf = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int nf = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (lf < 0 || nf < 0 || dup2(nf, 0) < 0 || dup2(lf, 1) < 0 || dup2(lf, 2) < 0) _exit(127);
    signal(SIGHUP, SIG_IGN);
    const char *envp[] = {"PATH=" RS_HOST_PATH, "LC_ALL=C", NULL};
    execve(argv[0], (char *const *)argv, (char *const *)envp);
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return rs_fail(err, RS_E_NODE, 0, "could not detach the apply process");
  return 0;
}

static int start_apply(struct rs_run *run, const struct rs_launch_opts *o, rs_err_t *err) {
  const struct rs_host *h = run->h;
  _cleanup_free_ char *bin = rs_host_path(h, RS_HELPER_HOST_BIN);
  _cleanup_free_ char *unit = rs_strdup_printf("%s%s", RS_HELPER_UNIT_PREFIX, run->id);
  if (!bin || !unit) return rs_oom(err);
  const char *argv[16] = {bin, RS_HELPER_CMD_APPLY, "--id", run->id};
  size_t n = 4;
  for (size_t i = 0; o->fixture_args && o->fixture_args[i] && n < 15; i++) argv[n++] = o->fixture_args[i];
  argv[n] = NULL;
  if (rs_host_fixture(h) || rs_host_systemd(h)) {
    struct rs_unit_state st;
    if (rs_unit_query(h, unit, &st, err) == 0 && st.active) return 0; /* already running */
    rs_err_clear(err);
    return rs_unit_run_transient(h, unit, o->deadline_s + 900, argv, err);
  }
  return spawn_detached(run, argv, err);
}

/* The helper onto the host, where the unit and the guard run it: a
 * root-only directory and file, written atomically, then read back and
 * checked against the hash this helper was started with (the plugin's
 * --expect-sha256).  *ret_bad: the copy differs. */
static int copy_self(const struct rs_host *h, const struct rs_launch_opts *o, const char want[65],
                     bool *ret_bad, rs_err_t *err) {
  _cleanup_free_ char *bin = rs_host_path(h, RS_HELPER_HOST_BIN);
  _cleanup_free_ char *bindir = rs_host_path(h, RS_HELPER_STATE_DIR "/bin");
  char got[65];
  *ret_bad = false;
  if (!bin || !bindir) return rs_oom(err);
  if (rs_mkdir_p(bindir, 0700, err) < 0) return -1;
  if (chmod(bindir, 0700) < 0) return rs_fail_errno(err, errno, "chmod %s", bindir);
  if (rs_write_file_atomic(bin, o->self, o->self_len, 0700, err) < 0) return -1;
  if (chmod(bin, 0700) < 0) return rs_fail_errno(err, errno, "chmod %s", bin);
  if (rs_file_sha256(bin, RS_HELPER_MAX_SELF, got, err) < 0) return -1;
  if (rs_sha256_expect(bin, got, want, err) < 0) {
    *ret_bad = true;
    (void)unlink(bin);
    return -1;
  }
  return 0;
}

/* Everything the apply unit needs on the host, then the unit: the checked
 * copy of the helper, its hash in the run, the boot guard. */
static int start_run(struct rs_run *run, const struct rs_launch_opts *o, rs_err_t *err) {
  char want[65];
  bool bad = false;
  if (*run->h->self_sha)
    memcpy(want, run->h->self_sha, sizeof want);
  else
    rs_sha256_hex(o->self, o->self_len, want);
  if (copy_self(run->h, o, want, &bad, err) < 0) return bad ? RS_HX_INTEGRITY : RS_HX_FAILED;
  if (rs_run_record_helper(run, want, err) < 0 || rs_guard_install(run->h, run->id, err) < 0 ||
      start_apply(run, o, err) < 0)
    return RS_HX_FAILED;
  return RS_HX_LAUNCHED;
}

/* A launch killed before it wrote plan.json changed nothing on the host
 * (only backup/ and staged/ copies exist): start that run over. */
static int remove_unfinished(struct rs_run *run, rs_err_t *err) {
  static const char *const sub[] = {RS_HELPER_BACKUP_DIR, RS_HELPER_STAGED_DIR};
  for (size_t i = 0; i < RS_ARRAY_SIZE(sub); i++) {
    _cleanup_free_ char *d = rs_run_file(run, sub[i]);
    if (!d) return rs_oom(err);
    _cleanup_closedir_ DIR *dir = opendir(d);
    if (!dir) {
      if (errno == ENOENT) continue;
      return rs_fail_errno(err, errno, "open %s", d);
    }
    struct dirent *de;
    while ((de = readdir(dir)))
      if (de->d_name[0] != '.' && unlinkat(dirfd(dir), de->d_name, 0) < 0)
        return rs_fail_errno(err, errno, "remove %s/%s", d, de->d_name);
  }
  return 0;
}

int rs_launch(const struct rs_host *h, const struct rs_launch_opts *o, rs_err_t *err) {
  struct rs_run run = {0};
  /* A run that exists is resumed, never re-planned: its backups are the
   * only copy of the original files. */
  if (rs_run_open(h, o->id, false, &run, err) == 0) {
    _cleanup_free_ char *pj = rs_run_file(&run, RS_HELPER_PLAN_FILE);
    _cleanup_free_ char *plan_text = NULL;
    struct rs_journal j = {0};
    int code = RS_HX_FAILED;
    if (pj && access(pj, F_OK) == 0 && rs_read_file(pj, 4u << 20, &plan_text, NULL, err) == 0 &&
        rs_journal_read(&run, &j, err) == 0) {
      fputs(plan_text, stdout);
      code = rs_state_exit(j.state);
      if (code == RS_HX_RUNNING) code = start_run(&run, o, err);
      rs_journal_free(&j);
      rs_run_close(&run);
      return code;
    }
    rs_journal_free(&j);
    if (err->msg || remove_unfinished(&run, err) < 0) {
      rs_run_close(&run);
      return RS_HX_FAILED;
    }
    rs_run_close(&run);
  }
  rs_err_clear(err);
  struct rs_plan p;
  struct rs_plan_opts po = {o->id, o->to, o->no_images};
  if (rs_plan_build(h, &po, &p, err) < 0) return RS_HX_FAILED;
  p.deadline = (long long)time(NULL) + o->deadline_s;
  _cleanup_buf_ rs_buf_t pj = RS_BUF_INIT(8u << 20);
  int code = RS_HX_FAILED;
  /* one switch at a time on a node: an unfinished run keeps its guard,
   * its helper copy and its backups; it ends first */
  _cleanup_free_ char *other = NULL;
  if (!p.blockers[0] && rs_runs_unfinished(h, o->id, &other, err) < 0) goto out;
  if (other && rs_strv_consume(&p.blockers, rs_strdup_printf("run %s on this node has not finished "
                                                             "(%s/%s/journal); roll it back first", other,
                                                             RS_HELPER_STATE_DIR, other), err) < 0)
    goto out;
  if (rs_plan_json(&p, &pj, err) < 0) goto out;
  if (p.blockers[0]) {
    fputs(pj.data, stdout);
    code = RS_HX_BLOCKED;
    goto out;
  }
  /* old runs go now, while nothing of this one exists yet; a failure to
   * prune never stops a switch */
  rs_err_t pe = RS_ERR_INIT;
  rs_runs_prune(h, o->id, (long long)time(NULL), NULL, &pe);
  rs_err_clear(&pe);
  if (rs_run_open(h, o->id, true, &run, err) < 0) goto out;
  if (backup_and_stage(&run, &p, err) < 0 ||
      write_run_file(&run, RS_HELPER_PLAN_FILE, pj.data, pj.len, 0600, err) < 0 ||
      rs_journal_append(&run, "state", RS_STATE_LAUNCHED, NULL, err) < 0)
    goto out;
  fputs(pj.data, stdout);
  fflush(stdout);
  code = start_run(&run, o, err);
  if (code != RS_HX_LAUNCHED) {
    /* nothing was changed yet: record why and leave the node as it is */
    rs_err_t e2 = RS_ERR_INIT;
    rs_run_finish(&run, &p, RS_STATE_ROLLED_BACK, err->msg, &e2);
    rs_err_clear(&e2);
  }
out:
  rs_run_close(&run);
  rs_plan_free(&p);
  return code;
}
