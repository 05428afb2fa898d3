/* State directory, journal and report (see helper/journal.h). */
#include "helper/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "helper/json.h"

bool rs_run_id_ok(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > 40) return false;
  if (strcmp(id, "bin") == 0) return false; /* RS_HELPER_HOST_BIN's directory */
  if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9'))) return false;
  for (size_t i = 0; i < n; i++)
    if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
      return false;
  return true;
}

int rs_run_open(const struct rs_host *h, const char *id, bool create,
                struct rs_run *ret, rs_err_t *err) {
  if (!rs_run_id_ok(id)) return rs_fail(err, RS_E_USAGE, EINVAL, "bad run id '%s'", id ? id : "");
  struct rs_run r = {h, strdup(id), rs_strdup_printf("%s%s/%s", h->root, RS_HELPER_STATE_DIR, id), 0};
  if (!r.id || !r.dir) {
    rs_run_close(&r);
    return rs_oom(err);
  }
  if (create) {
    _cleanup_free_ char *b = rs_strdup_printf("%s/%s", r.dir, RS_HELPER_BACKUP_DIR);
    _cleanup_free_ char *s = rs_strdup_printf("%s/%s", r.dir, RS_HELPER_STAGED_DIR);
    if (!b || !s || rs_mkdir_p(b, 0700, err) < 0 || rs_mkdir_p(s, 0700, err) < 0) {
      rs_run_close(&r);
      return -1;
    }
  } else if (access(r.dir, F_OK) < 0) {
    rs_fail(err, RS_E_INPUT, ENOENT, "no run %s on this node (%s)", id, r.dir);
    rs_run_close(&r);
    return -1;
  }
  *ret = r;
  return 0;
}

void rs_run_close(struct rs_run *r) {
  free(r->id);
  free(r->dir);
  r->id = r->dir = NULL;
}

char *rs_run_file(const struct rs_run *r, const char *name) {
  return rs_strdup_printf("%s/%s", r->dir, name);
}

int rs_journal_append(struct rs_run *r, const char *event, const char *name,
                      const char *reason, rs_err_t *err) {
  _cleanup_free_ char *path = rs_run_file(r, RS_HELPER_JOURNAL_FILE);
  _cleanup_free_ char *clean = reason ? strdup(reason) : NULL;
  if (!path || (reason && !clean)) return rs_oom(err);
  for (char *p = clean; p && *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  if (clean && strlen(clean) > 2000) clean[2000] = '\0';
  _cleanup_free_ char *line = rs_strdup_printf("%lld %s %s%s%s\n", (long long)time(NULL), event,
                                               name, clean ? " " : "", clean ? clean : "");
  if (!line) return rs_oom(err);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return rs_fail_errno(err, errno, "open %s", path);
  size_t n = strlen(line);
  ssize_t w = write(fd, line, n);
  if (w < 0 || (size_t)w != n) return rs_fail_errno(err, w < 0 ? errno : EIO, "write %s", path);
  if (fsync(fd) < 0) return rs_fail_errno(err, errno, "fsync %s", path);
  r->records++;
  /* tests: die here, as a power cut or OOM kill would */
  if (r->h->crash_after > 0 && r->records == r->h->crash_after) raise(SIGKILL);
  return 0;
}

void rs_journal_free(struct rs_journal *j) {
  for (size_t i = 0; j && i < j->n; i++) {
    free(j->recs[i].event);
    free(j->recs[i].name);
    free(j->recs[i].reason);
  }
  if (j) {
    free(j->recs);
    memset(j, 0, sizeof *j);
  }
}

int rs_journal_read(const struct rs_run *r, struct rs_journal *ret, rs_err_t *err) {
  _cleanup_free_ char *path = rs_run_file(r, RS_HELPER_JOURNAL_FILE);
  if (!path) return rs_oom(err);
  _cleanup_free_ char *t = NULL;
  size_t len = 0;
  if (access(path, F_OK) < 0) {
    *ret = (struct rs_journal){0};
    return 0;
  }
  if (rs_read_file(path, RS_JOURNAL_MAX, &t, &len, err) < 0) return -1;
  return rs_journal_parse(t, len, ret, err);
}

static bool event_known(const char *ev, size_t n) {
  static const char *const events[] = {"begin", "done", "fail", "state", "boot", "force", "retry"};
  for (size_t i = 0; i < RS_ARRAY_SIZE(events); i++)
    if (strlen(events[i]) == n && memcmp(events[i], ev, n) == 0) return true;
  return false;
}

/* One line "<time> <event> <name>[ <reason>]" (no newline); false when it
 * does not parse. */
static bool parse_line(const char *s, size_t n, struct rs_jrec *rec, rs_err_t *err, int *oom) {
  const char *end = s + n;
  const char *ev = memchr(s, ' ', n);
  if (!ev || ev == s) return false;
  long long t = 0;
  for (const char *p = s; p < ev; p++) {
    if (*p < '0' || *p > '9' || t > 999999999999LL) return false;
    t = t * 10 + (*p - '0');
  }
  ev++;
  const char *nm = memchr(ev, ' ', (size_t)(end - ev));
  if (!nm || !event_known(ev, (size_t)(nm - ev))) return false;
  nm++;
  const char *rs = memchr(nm, ' ', (size_t)(end - nm));
  size_t nl = (size_t)((rs ? rs : end) - nm);
  if (nl == 0 || memchr(nm, '\0', nl)) return false;
  rec->time = t;
  rec->event = strndup(ev, (size_t)(nm - 1 - ev));
  rec->name = strndup(nm, nl);
  rec->reason = rs ? strndup(rs + 1, (size_t)(end - rs - 1)) : NULL;
  if (!rec->event || !rec->name || (rs && !rec->reason)) {
    free(rec->event);
    free(rec->name);
    free(rec->reason);
    *oom = rs_oom(err);
    return false;
  }
  return true;
}

int rs_journal_parse(const char *t, size_t len, struct rs_journal *ret, rs_err_t *err) {
  if (len > RS_JOURNAL_MAX)
    return rs_fail(err, RS_E_LIMIT, EFBIG, "journal: %zu bytes, more than %zu", len, RS_JOURNAL_MAX);
  struct rs_journal j = {0};
  size_t cap = 0;
  for (const char *s = t; s < t + len;) {
    const char *nl = memchr(s, '\n', (size_t)(t + len - s));
    if (!nl) break; /* torn last line */
    if (j.n == cap) {
      cap = cap ? cap * 2 : 32;
      struct rs_jrec *nr = realloc(j.recs, cap * sizeof *nr);
      if (!nr) {
        rs_journal_free(&j);
        return rs_oom(err);
      }
      j.recs = nr;
    }
    int oom = 0;
    if (parse_line(s, (size_t)(nl - s), &j.recs[j.n], err, &oom)) j.n++;
    if (oom) {
      rs_journal_free(&j);
      return -1;
    }
    s = nl + 1;
  }
  for (size_t i = 0; i < j.n; i++) {
    if (strcmp(j.recs[i].event, "state") == 0) {
      j.state = j.recs[i].name;
      j.reason = j.recs[i].reason;
    } else if (strcmp(j.recs[i].event, "begin") == 0) {
      j.last_step = j.recs[i].name;
    } else if (strcmp(j.recs[i].event, "boot") == 0) {
      j.boot_id = j.recs[i].name;
      j.boot_at = i;
    }
  }
  *ret = j;
  return 0;
}

bool rs_journal_done(const struct rs_journal *j, const char *step) {
  for (size_t i = 0; i < j->n; i++)
    if (strcmp(j->recs[i].event, "done") == 0 && strcmp(j->recs[i].name, step) == 0) return true;
  return false;
}

bool rs_journal_done_since(const struct rs_journal *j, const char *state, const char *step) {
  size_t from = 0;
  for (size_t i = 0; i < j->n; i++)
    if (strcmp(j->recs[i].event, "state") == 0 && strcmp(j->recs[i].name, state) == 0) from = i;
  for (size_t i = from; i < j->n; i++)
    if (strcmp(j->recs[i].event, "done") == 0 && strcmp(j->recs[i].name, step) == 0) return true;
  return false;
}

bool rs_journal_done_after(const struct rs_journal *j, size_t from, const char *step) {
  for (size_t i = from; i < j->n; i++)
    if (strcmp(j->recs[i].event, "done") == 0 && strcmp(j->recs[i].name, step) == 0) return true;
  return false;
}

size_t rs_journal_last(const struct rs_journal *j, const char *event, const char *name) {
  for (size_t i = j->n; i > 0; i--)
    if (strcmp(j->recs[i - 1].event, event) == 0 && (!name || strcmp(j->recs[i - 1].name, name) == 0))
      return i - 1;
  return 0;
}

int rs_journal_note_boot(struct rs_run *r, const struct rs_journal *j, bool always, bool *ret_new,
                         rs_err_t *err) {
  char id[64];
  if (rs_host_boot_id(r->h, id, err) < 0) return -1;
  *ret_new = always || !j->boot_id || strcmp(j->boot_id, id) != 0;
  if (!*ret_new) return 0;
  return rs_journal_append(r, "boot", id, NULL, err);
}

int rs_run_lock(const struct rs_run *r, bool wait, int *ret_fd, rs_err_t *err) {
  _cleanup_free_ char *path = rs_run_file(r, "lock");
  if (!path) return rs_oom(err);
  _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return rs_fail_errno(err, errno, "open %s", path);
  int rc;
  while ((rc = flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) < 0 && errno == EINTR) {}
  if (rc < 0 && errno == EWOULDBLOCK)
    return rs_fail(err, RS_E_NODE, EBUSY, "run %s is being worked on by another process", r->id);
  if (rc < 0) return rs_fail_errno(err, errno, "lock %s", path);
  *ret_fd = TAKE_FD(fd);
  return 0;
}

int rs_state_exit(const char *state) {
  if (!state) return RS_HX_RUNNING;
  if (strcmp(state, RS_STATE_DONE) == 0) return RS_HX_OK;
  if (strcmp(state, RS_STATE_ROLLED_BACK) == 0) return RS_HX_ROLLED_BACK;
  if (strcmp(state, RS_STATE_ROLLBACK_FAILED) == 0) return RS_HX_ROLLBACK_FAILED;
  return RS_HX_RUNNING;
}

int rs_report_json(const struct rs_run *r, const struct rs_journal *j,
                   const char *from, const char *to, rs_buf_t *b, int *ret_exit,
                   rs_err_t *err) {
  int code = rs_state_exit(j->state);
  bool final = code != RS_HX_RUNNING;
  long long started = j->n ? j->recs[0].time : 0;
  long long finished = final && j->n ? j->recs[j->n - 1].time : 0;
  int rc = rs_buf_printf(b, err, "{\"%s\":%d,\"%s\":", RS_JSON_CONTRACT,
                         RS_HELPER_CONTRACT_VERSION, RS_JSON_ID);
  if (rc == 0) rc = rs_json_put_str(b, r->id, err);
  if (rc == 0) rc = rs_buf_printf(b, err, ",\"%s\":", RS_JSON_STATE);
  if (rc == 0) rc = rs_json_put_str(b, j->state ? j->state : RS_STATE_LAUNCHED, err);
  if (rc == 0) rc = rs_buf_printf(b, err, ",\"%s\":", RS_JSON_FROM);
  if (rc == 0) rc = rs_json_put_str(b, from, err);
  if (rc == 0) rc = rs_buf_printf(b, err, ",\"%s\":", RS_JSON_TO);
  if (rc == 0) rc = rs_json_put_str(b, to, err);
  if (rc == 0) rc = rs_buf_printf(b, err, ",\"%s\":", RS_JSON_STEP);
  if (rc == 0) rc = rs_json_put_str(b, j->last_step, err);
  if (rc == 0) rc = rs_buf_printf(b, err, ",\"%s\":", RS_JSON_REASON);
  if (rc == 0) rc = rs_json_put_str(b, j->reason, err);
  if (rc == 0) rc = rs_buf_printf(b, err, ",\"started\":%lld,\"finished\":", started);
  if (rc == 0) rc = final ? rs_buf_printf(b, err, "%lld", finished) : rs_buf_puts(b, "null", err);
  if (rc == 0) rc = rs_buf_printf(b, err, ",\"%s\":%d,\"%s\":[", RS_JSON_EXIT_CODE, code, RS_JSON_JOURNAL);
  for (size_t i = 0; rc == 0 && i < j->n; i++) {
    const struct rs_jrec *x = &j->recs[i];
    bool st = strcmp(x->event, "state") == 0;
    rc = rs_buf_printf(b, err, "%s{\"time\":%lld,\"event\":", i ? "," : "", x->time);
    if (rc == 0) rc = rs_json_put_str(b, x->event, err);
    if (rc == 0) rc = rs_buf_printf(b, err, ",\"%s\":", st ? "state" : "step");
    if (rc == 0) rc = rs_json_put_str(b, x->name, err);
    if (rc == 0 && x->reason) {
      rc = rs_buf_puts(b, ",\"reason\":", err);
      if (rc == 0) rc = rs_json_put_str(b, x->reason, err);
    }
    if (rc == 0) rc = rs_buf_puts(b, "}", err);
  }
  if (rc == 0) rc = rs_buf_puts(b, "]}\n", err);
  if (rc == 0) *ret_exit = code;
  return rc;
}
