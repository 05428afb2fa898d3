/* catch-step: freeze the switch's helper on a node the moment it begins a
 * step (e2e harness of tests/e2e/test_reboot.sh; not product code).
 *
 *   catch-step ROOT STEP TIMEOUT_S
 *
 * ROOT is the node's root filesystem as this machine sees it.  catch-step
 * waits for a run directory under ROOT/var/lib/kubectl-runtime-switch that
 * did not exist when it started, follows that run's journal (inotify, so it
 * wakes when the record is written, not at the next poll) and, as soon as a
 * record "<time> begin STEP" is there, sends SIGSTOP to every process whose
 * executable is the helper's host copy (ROOT/var/lib/kubectl-runtime-switch
 * /bin/rs-node-helper: the apply unit, or the guard).  The step is then in
 * progress and stays so: what the helper started (a systemctl, a ctr) goes
 * on, the helper itself writes nothing more.
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
#include <sys/inotify.h>
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

/* Whether the journal text holds "begin STEP" as a whole record; *last
 * the start of its last complete record. */
static bool has_begin(const char *t, size_t len, const char *step, const char **last) {
  char pat[128];
  int pl = snprintf(pat, sizeof pat, " begin %s\n", step);
  bool found = false;
  *last = t;
  for (const char *s = t; s < t + len;) {
    const char *nl = memchr(s, '\n', (size_t)(t + len - s));
    if (!nl) break;
    const char *sp = memchr(s, ' ', (size_t)(nl - s));
    if (sp && (size_t)(nl + 1 - sp) == (size_t)pl && memcmp(sp, pat, (size_t)pl) == 0) found = true;
    *last = s;
    s = nl + 1;
  }
  return found;
}

static ssize_t read_all(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t n = 0;
  for (ssize_t r; n < cap && (r = read(fd, buf + n, cap - n)) != 0;) {
    if (r < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return -1;
    }
    n += (size_t)r;
  }
  close(fd);
  return (ssize_t)n;
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
  int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in < 0 || inotify_add_watch(in, journal, IN_MODIFY) < 0) {
    fprintf(stderr, "catch-step: inotify on %s: %s\n", journal, strerror(errno));
    return 1;
  }
  static char text[MAX_JOURNAL];
  for (;;) {
    ssize_t len = read_all(journal, text, sizeof text);
    const char *last = text;
    if (len > 0 && has_begin(text, (size_t)len, step, &last)) {
      pid_t pids[16];
      int n = stop_helpers(bin, pids, 16);
      /* what the journal says now the helper cannot write any more */
      len = read_all(journal, text, sizeof text);
      if (len > 0) has_begin(text, (size_t)len, step, &last);
      printf("%s", id);
      for (int i = 0; i < n; i++) printf(" %d", (int)pids[i]);
      printf("\n%.*s", len > 0 ? (int)(text + len - last) : 0, last);
      if (n == 0) fprintf(stderr, "catch-step: no process runs %s\n", bin);
      return n ? 0 : 1;
    }
    long long left = until - now_ms();
    if (left <= 0) {
      fprintf(stderr, "catch-step: run %s did not begin %s\n", id, step);
      return 1;
    }
    /* a wake-up per write; the poll's timeout only bounds the wait */
    struct pollfd p = {in, POLLIN, 0};
    if (poll(&p, 1, left < 1000 ? (int)left : 1000) > 0) {
      char ev[4096];
      while (read(in, ev, sizeof ev) > 0) {}
    }
  }
}
