/* The runs on a node (see helper/runs.h). */
#include "helper/runs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "helper/journal.h"

struct run_info {
  char *id;
  const char *state; /* final state, or NULL */
  long long finished;
};

static void infos_free(struct run_info *v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i].id);
  free(v);
}

/* Every run directory with its final state and when it was reached. */
static int list_runs(const struct rs_host *h, struct run_info **ret, size_t *ret_n, rs_err_t *err) {
  _cleanup_free_ char *dir = rs_host_path(h, RS_HELPER_STATE_DIR);
  if (!dir) return rs_oom(err);
  *ret = NULL;
  *ret_n = 0;
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : rs_fail_errno(err, errno, "open %s", dir);
  struct run_info *v = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!rs_run_id_ok(de->d_name)) continue; /* ".", "..", "bin" */
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) continue;
    struct rs_run run = {0};
    rs_err_t e = RS_ERR_INIT;
    struct rs_journal j = {0};
    /* a journal that cannot be read counts as unfinished: never pruned */
    if (rs_run_open(h, de->d_name, false, &run, &e) == 0) rs_journal_read(&run, &j, &e);
    rs_err_clear(&e);
    static const char *const finals[] = {RS_STATE_DONE, RS_STATE_ROLLED_BACK, RS_STATE_ROLLBACK_FAILED};
    struct run_info info = {strdup(de->d_name), NULL, 0};
    for (size_t k = 0; j.state && k < RS_ARRAY_SIZE(finals); k++)
      if (strcmp(j.state, finals[k]) == 0) info.state = finals[k];
    if (info.state) info.finished = j.recs[rs_journal_last(&j, "state", NULL)].time;
    /* a directory without a journal and without plan.json is what a killed
     * launch leaves: it changed nothing on the host */
    _cleanup_free_ char *pj = run.dir ? rs_run_file(&run, RS_HELPER_PLAN_FILE) : NULL;
    _cleanup_free_ char *jp = run.dir ? rs_run_file(&run, RS_HELPER_JOURNAL_FILE) : NULL;
    bool empty = pj && jp && access(pj, F_OK) < 0 && access(jp, F_OK) < 0;
    rs_journal_free(&j);
    rs_run_close(&run);
    if (empty && !info.state) {
      info.state = RS_STATE_ROLLED_BACK;
      info.finished = (long long)st.st_mtime;
    }
    struct run_info *nv = info.id ? realloc(v, (n + 1) * sizeof *v) : NULL;
    if (!nv) {
      free(info.id);
      infos_free(v, n);
      return rs_oom(err);
    }
    v = nv;
    v[n++] = info;
  }
  *ret = v;
  *ret_n = n;
  return 0;
}

int rs_runs_unfinished(const struct rs_host *h, const char *skip_id, char **ret, rs_err_t *err) {
  struct run_info *v;
  size_t n;
  if (list_runs(h, &v, &n, err) < 0) return -1;
  char *found = NULL;
  for (size_t i = 0; i < n && !found; i++)
    if (!v[i].state && strcmp(v[i].id, skip_id) != 0 && !(found = strdup(v[i].id))) {
      infos_free(v, n);
      return rs_oom(err);
    }
  infos_free(v, n);
  *ret = found;
  return 0;
}

/* rm -r of name under dfd, never following a symlink. */
static int rm_tree_at(int dfd, const char *name, int depth, rs_err_t *err) {
  if (depth > 16) return rs_fail(err, RS_E_LIMIT, ELOOP, "%s: nested too deeply", name);
  int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOTDIR || errno == ELOOP) {
      if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) return rs_fail_errno(err, errno, "remove %s", name);
      return 0;
    }
    return errno == ENOENT ? 0 : rs_fail_errno(err, errno, "open %s", name);
  }
  _cleanup_closedir_ DIR *d = fdopendir(fd);
  if (!d) {
    rs_safe_close(fd);
    return rs_fail_errno(err, errno, "open %s", name);
  }
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
        rm_tree_at(dirfd(d), de->d_name, depth + 1, err) < 0)
      return -1;
  if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return rs_fail_errno(err, errno, "remove %s", name);
  return 0;
}

static int newest_first(const void *a, const void *b) {
  const struct run_info *x = a, *y = b;
  return (y->finished > x->finished) - (y->finished < x->finished);
}

int rs_runs_prune(const struct rs_host *h, const char *skip_id, long long now, int *ret_removed,
                  rs_err_t *err) {
  struct run_info *v;
  size_t n;
  if (list_runs(h, &v, &n, err) < 0) return -1;
  /* finished and prunable runs first, newest first */
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (v[i].state && strcmp(v[i].state, RS_STATE_ROLLBACK_FAILED) != 0 && strcmp(v[i].id, skip_id) != 0) {
      struct run_info t = v[m];
      v[m++] = v[i];
      v[i] = t;
    }
  qsort(v, m, sizeof *v, newest_first);
  _cleanup_close_ int dfd = -1;
  _cleanup_free_ char *dir = rs_host_path(h, RS_HELPER_STATE_DIR);
  int removed = 0, rc = 0;
  if (!dir) rc = rs_oom(err);
  for (size_t i = RS_RUNS_KEEP; rc == 0 && i < m; i++) {
    if (now - v[i].finished < (long long)RS_RUNS_KEEP_DAYS * 86400) continue;
    if (dfd < 0 && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
      rc = rs_fail_errno(err, errno, "open %s", dir);
      break;
    }
    rc = rm_tree_at(dfd, v[i].id, 0, err);
    if (rc == 0) removed++;
  }
  infos_free(v, n);
  if (rc == 0 && ret_removed) *ret_removed = removed;
  return rc;
}
