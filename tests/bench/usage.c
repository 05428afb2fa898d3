/* Benchmark helper: run a command and record what it cost.
 *
 *   usage -o FILE COMMAND [ARG...]
 *
 * Writes one line to FILE, the fields of GNU time's "%e %U %S %M" but to
 * the microsecond (GNU time prints hundredths, too coarse for a client
 * that spends a few tens of milliseconds):
 *   wall_s user_s sys_s peak_rss_KiB
 * and exits with the command's status (128 + the signal that ended it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double secs(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[1], "-o") != 0) {
    fprintf(stderr, "usage: %s -o FILE COMMAND [ARG...]\n", argv[0]);
    return 2;
  }
  FILE *out = fopen(argv[2], "w");
  if (!out) {
    fprintf(stderr, "usage: %s: %s\n", argv[2], strerror(errno));
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "usage: fork: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    execvp(argv[3], argv + 3);
    fprintf(stderr, "usage: %s: %s\n", argv[3], strerror(errno));
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "usage: wait4: %s\n", strerror(errno));
      return 2;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  fprintf(out, "%.6f %.6f %.6f %ld\n", wall, secs(ru.ru_utime), secs(ru.ru_stime), ru.ru_maxrss);
  if (fclose(out) != 0) {
    fprintf(stderr, "usage: %s: %s\n", argv[2], strerror(errno));
    return 2;
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
