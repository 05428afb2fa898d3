/* catch-step: freeze the switch's helper on a node the moment it begins a
 * step (e2e harness of tests/e2e/test_reboot.sh; not product code).
 *
 *   catch-step ROOT STEP TIMEOUT_S
 *
 * ROOT is the node's root filesystem as this machine sees it.  catch-step
 * waits for a run directory under ROOT/var/lib/kubectl-runtime-switch that
 * did not exist when it started and holds every open of that run's journal
 * (fanotify FAN_OPEN_PERM: the helper opens the journal for each record)
 * until it has read it.  When the journal's last record is "<time> begin
 * STEP", it sends SIGSTOP to every process whose executable is the helper's
 * host copy (ROOT/var/lib/kubectl-runtime-switch/bin/rs-node-helper: the
 * apply unit, or the guard) before it lets the waiting open go on: the
 * helper cannot write its next record ("end STEP", or the next "begin"), so
 * the step is caught in progress however fast it is, and stays so: what
 * the helper started (a systemctl, a ctr) goes on, the helper itself writes
 * nothing more.  (Following the journal with inotify and stopping the
 * helper after the wake-up let a step of a few milliseconds end first.)
 *
 * Prints "RUN-ID PID..." and the journal's last record; exits 0, or 1 when
 * the step did not begin within TIMEOUT_S seconds or nothing was stopped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATE_DIR "/var/lib/kubectl-runtime-switch"
#define HOST_BIN STATE_DIR "/bin/rs-node-helper"
#define MAX_RUNS 256
#define MAX_JOURNAL (4 << 20)

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool run_name(const char *n) {
  return n[0] != '.' && strcmp(n, "bin") != 0 && strlen(n) <= 40;
}

/* The run directories there now. */
static int list_runs(const char *dir, char names[][48], int max) {
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return 0;
  for (struct dirent *de; (de = readdir(d)) && n < max;)
    if (run_name(de->d_name)) snprintf(names[n++], 48, "%s", de->d_name);
  closedir(d);
  return n;
}

/* A run directory with a journal that is not among the first nold. */
static bool new_run(const char *dir, char old[][48], int nold, char ret[48]) {
  char now[MAX_RUNS][48];
  int n = list_runs(dir, now, MAX_RUNS);
  for (int i = 0; i < n; i++) {
    bool seen = false;
    for (int k = 0; k < nold && !seen; k++) seen = strcmp(now[i], old[k]) == 0;
    char j[PATH_MAX];
    snprintf(j, sizeof j, "%.2000s/%.47s/journal", dir, now[i]);
    if (!seen && access(j, F_OK) == 0) {
      memcpy(ret, now[i], 48);
      return true;
    }
  }
  return false;
}

/* SIGSTOP to every process running the helper's host copy; how many. */
static int stop_helpers(const char *bin, pid_t *pids, int max) {
  struct stat want;
  if (stat(bin, &want) < 0) return 0;
  DIR *d = opendir("/proc");
  int n = 0;
  if (!d) return 0;
  for (struct dirent *de; (de = readdir(d)) && n < max;) {
    char *end;
    long pid = strtol(de->d_name, &end, 10);
    if (*end || pid <= 1) continue;
    char exe[64];
    struct stat st;
    snprintf(exe, sizeof exe, "/proc/%ld/exe", pid);
    if (stat(exe, &st) < 0 || st.st_dev != want.st_dev || st.st_ino != want.st_ino) continue;
    if (kill((pid_t)pid, SIGSTOP) == 0) pids[n++] = (pid_t)pid;
  }
  closedir(d);
  return n;
}

enum where { NOT_YET, LAST, PAST };

/* Where "begin STEP" is in the journal text: not there yet, the last
 * complete record, or an earlier one (the step has already ended); *last
 * the start of the last complete record. */
static enum where find_begin(const char *t, size_t len, const char *step, const char **last) {
  char pat[128];
  int pl = snprintf(pat, sizeof pat, " begin %s\n", step);
  enum where w = NOT_YET;
  *last = t;
  for (const char *s = t; s < t + len;) {
    const char *nl = memchr(s, '\n', (size_t)(t + len - s));
    if (!nl) break;
    const char *sp = memchr(s, ' ', (size_t)(nl - s));
    bool is = sp && (size_t)(nl + 1 - sp) == (size_t)pl && memcmp(sp, pat, (size_t)pl) == 0;
    if (is)
      w = LAST;
    else if (w == LAST)
      w = PAST;
    *last = s;
    s = nl + 1;
  }
  return w;
}

/* Whether the record is a final state: the run will begin nothing more. */
static bool ended(const char *rec, size_t len) {
  static const char *const fin[] = {" state done\n", " state rolled-back\n", " state rollback-failed\n"};
  const char *sp = memchr(rec, ' ', len);
  for (size_t i = 0; sp && i < sizeof fin / sizeof fin[0]; i++)
    if ((size_t)(rec + len - sp) == strlen(fin[i]) && memcmp(sp, fin[i], strlen(fin[i])) == 0) return true;
  return false;
}

/* The journal as it is now, read through fd (opened before the fanotify
 * mark: an open of ours would wait for our own answer). */
static ssize_t read_journal(int fd, char *buf, size_t cap) {
  size_t n = 0;
  for (ssize_t r; n < cap && (r = pread(fd, buf + n, cap - n, (off_t)n)) != 0;) {
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    n += (size_t)r;
  }
  return (ssize_t)n;
}

/* Whether every pid is in the stopped state (T) now. */
static bool all_stopped(const pid_t *pids, int n) {
  for (int i = 0; i < n; i++) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pids[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0) return false;
    buf[r] = '\0';
    const char *st = strstr(buf, "\nState:");
    char c = st ? st[7 + strspn(st + 7, " \t")] : '\0';
    if (c != 'T' && c != 't') return false;
  }
  return true;
}

static void answer(int fan, int fd) {
  struct fanotify_response r = {.fd = fd, .response = FAN_ALLOW};
  if (write(fan, &r, sizeof r) < 0) fprintf(stderr, "catch-step: fanotify answer: %s\n", strerror(errno));
}

static char text[MAX_JOURNAL];

/* The journal's text is "begin STEP" last: freeze the helpers, say so. */
static int caught(const char *id, const char *bin, int jfd, const char *step, pid_t *pids, int *np) {
  int n = *np = stop_helpers(bin, pids, 16);
  /* what the journal says now the helper cannot write any more */
  ssize_t len = read_journal(jfd, text, sizeof text);
  const char *last = text;
  if (len > 0) find_begin(text, (size_t)len, step, &last);
  printf("%s", id);
  for (int i = 0; i < n; i++) printf(" %d", (int)pids[i]);
  printf("\n%.*s", len > 0 ? (int)(text + len - last) : 0, last);
  if (n == 0) fprintf(stderr, "catch-step: no process runs %s\n", bin);
  return n ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: catch-step ROOT STEP TIMEOUT_S\n");
    return 2;
  }
  const char *root = argv[1], *step = argv[2];
  if (strlen(root) > 1024 || strlen(step) > 64) {
    fprintf(stderr, "catch-step: ROOT or STEP too long\n");
    return 2;
  }
  long long until = now_ms() + atol(argv[3]) * 1000LL;
  char dir[PATH_MAX], bin[PATH_MAX], journal[PATH_MAX], id[48];
  snprintf(dir, sizeof dir, "%.1024s%s", root, STATE_DIR);
  snprintf(bin, sizeof bin, "%.1024s%s", root, HOST_BIN);
  static char old[MAX_RUNS][48];
  int nold = list_runs(dir, old, MAX_RUNS);
  while (!new_run(dir, old, nold, id)) {
    if (now_ms() >= until) {
      fprintf(stderr, "catch-step: no new run in %s\n", dir);
      return 1;
    }
    usleep(20 * 1000);
  }
  snprintf(journal, sizeof journal, "%.2000s/%.47s/journal", dir, id);
  int jfd = open(journal, O_RDONLY | O_CLOEXEC);
  int fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC | O_LARGEFILE);
  if (jfd < 0 || fan < 0 || fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, journal) < 0) {
    fprintf(stderr, "catch-step: open and fanotify on %s: %s\n", journal, strerror(errno));
    return 1;
  }
  for (bool first = true;; first = false) {
    /* Each record is an open, a write and a close of the journal: the
     * helper's open after "begin STEP" waits here until it is frozen, so
     * it can neither end the step nor begin the next one. */
    const char *last = text;
    ssize_t len = read_journal(jfd, text, sizeof text);
    enum where w = len > 0 ? find_begin(text, (size_t)len, step, &last) : NOT_YET;
    if (w == PAST) {
      fprintf(stderr, "catch-step: run %s %s\n", id,
              first ? "was past the step when it was found" : "went past the step unseen");
      return 1;
    }
    pid_t pids[16];
    int n = 0;
    if (w == LAST) return caught(id, bin, jfd, step, pids, &n);
    if (len > 0 && ended(last, (size_t)(text + len - last))) {
      fprintf(stderr, "catch-step: run %s ended without beginning %s: %.*s", id, step,
              (int)(text + len - last), last);
      return 1;
    }
    long long left = until - now_ms();
    if (left <= 0) {
      fprintf(stderr, "catch-step: run %s did not begin %s\n", id, step);
      return 1;
    }
    struct pollfd p = {fan, POLLIN, 0};
    if (poll(&p, 1, left < 1000 ? (int)left : 1000) <= 0) continue;
    char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
    ssize_t r = read(fan, buf, sizeof buf);
    int rc = -1;
    for (struct fanotify_event_metadata *m = (void *)buf; r > 0 && FAN_EVENT_OK(m, r); m = FAN_EVENT_NEXT(m, r)) {
      if (m->fd >= 0) {
        if (rc < 0) {
          len = read_journal(jfd, text, sizeof text);
          if (len > 0 && find_begin(text, (size_t)len, step, &last) == LAST) {
            rc = caught(id, bin, jfd, step, pids, &n);
            fflush(stdout);
          }
        }
        answer(fan, m->fd);
        close(m->fd);
      }
    }
    if (rc >= 0) {
      /* the held open returns, and the helper stops on its way back */
      for (int i = 0; i < 100 && !all_stopped(pids, n); i++) usleep(10 * 1000);
      return rc;
    }
  }
}
