#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/clock.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

char *rs_proc_which(const char *prog, const char *path) {
  if (!prog || !*prog) return NULL;
  if (strchr(prog, '/')) return access(prog, X_OK) == 0 ? strdup(prog) : NULL;
  if (!path) path = DEFAULT_PATH;
  const char *p = path;
  while (*p) {
    const char *colon = strchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    char *cand = NULL;
    if (asprintf(&cand, "%.*s/%s", (int)n, n ? p : ".", prog) < 0) return NULL;
    if (access(cand, X_OK) == 0) return cand;
    free(cand);
    if (!colon) break;
    p = colon + 1;
  }
  return NULL;
}

static const char *env_path(const char *const *envp) {
  for (size_t i = 0; envp && envp[i]; i++)
    if (strncmp(envp[i], "PATH=", 5) == 0) return envp[i] + 5;
  return NULL;
}

static void child_close_fds(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = 3; fd < max; fd++) (void)close(fd);
}

static int set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Read what is available; returns 1 at EOF, 0 otherwise, -1 on error. */
static int drain(int fd, rs_buf_t *b, size_t max, bool *truncated) {
  char chunk[8192];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n == 0) return 1;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 0;
      return -1;
    }
    size_t room = b->len < max ? max - b->len : 0;
    size_t take = (size_t)n < room ? (size_t)n : room;
    if (take < (size_t)n) *truncated = true;
    if (take && rs_buf_append(b, chunk, take, NULL) < 0) *truncated = true;
  }
}

int rs_proc_run(const struct rs_proc_opts *o, struct rs_proc_result *ret,
                rs_err_t *err) {
  if (!o->argv || !o->argv[0])
    return rs_fail(err, RS_E_USAGE, EINVAL, "no program to run");
  const char *const empty_env[] = {NULL};
  const char *const *envp = o->envp ? o->envp : empty_env;
  const char *path = o->path ? o->path : env_path(envp);
  _cleanup_free_ char *exe = rs_proc_which(o->argv[0], path ? path : DEFAULT_PATH);
  if (!exe)
    return rs_fail(err, RS_E_SYS, ENOENT, "%s: executable not found%s%s",
                   o->argv[0], strchr(o->argv[0], '/') ? "" : " in PATH ",
                   strchr(o->argv[0], '/') ? "" : (path ? path : DEFAULT_PATH));

  size_t out_max = o->out_max ? o->out_max : (1u << 20);
  size_t err_max = o->err_max ? o->err_max : (64u << 10);
  long long timeout = o->timeout_ms > 0 ? o->timeout_ms : 60000;

  int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
  if (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0 ||
      pipe2(err_p, O_CLOEXEC) < 0) {
    int e = errno;
    for (int i = 0; i < 2; i++) {
      rs_safe_close(in_p[i]);
      rs_safe_close(out_p[i]);
      rs_safe_close(err_p[i]);
    }
    return rs_fail_errno(err, e, "pipe for %s", o->argv[0]);
  }

  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    for (int i = 0; i < 2; i++) {
      rs_safe_close(in_p[i]);
      rs_safe_close(out_p[i]);
      rs_safe_close(err_p[i]);
    }
    return rs_fail_errno(err, e, "fork for %s", o->argv[0]);
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in_p[0], 0) < 0) _exit(127);
    if (!o->stdout_passthrough && dup2(out_p[1], 1) < 0) _exit(127);
    if (!o->stderr_passthrough && dup2(err_p[1], 2) < 0) _exit(127);
    child_close_fds();
    if (o->cwd && chdir(o->cwd) < 0) _exit(127);
    execve(exe, (char *const *)o->argv, (char *const *)envp);
    _exit(errno == ENOENT ? 127 : 126);
  }

  rs_safe_close(in_p[0]);
  rs_safe_close(out_p[1]);
  rs_safe_close(err_p[1]);
  int in_fd = in_p[1], out_fd = out_p[0], err_fd = err_p[0];
  set_nonblock(in_fd);
  set_nonblock(out_fd);
  set_nonblock(err_fd);
  if (!o->input || o->input_len == 0) in_fd = rs_safe_close(in_fd);

  rs_buf_t out = RS_BUF_INIT(out_max + 1), errb = RS_BUF_INIT(err_max + 1);
  struct rs_proc_result r = {0};
  size_t in_off = 0;
  long long deadline = rs_now_ms() + timeout;
  int status = 0;
  bool exited = false;

  while (!exited || out_fd >= 0 || err_fd >= 0) {
    long long left = deadline - rs_now_ms();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    struct pollfd pf[3];
    int n = 0, i_in = -1, i_out = -1, i_err = -1;
    if (in_fd >= 0) { pf[n] = (struct pollfd){in_fd, POLLOUT, 0}; i_in = n++; }
    if (out_fd >= 0) { pf[n] = (struct pollfd){out_fd, POLLIN, 0}; i_out = n++; }
    if (err_fd >= 0) { pf[n] = (struct pollfd){err_fd, POLLIN, 0}; i_err = n++; }
    int tick = left < 50 ? (int)left : 50;
    int pr = n ? poll(pf, (nfds_t)n, tick) : (usleep((useconds_t)tick * 1000), 0);
    if (pr < 0 && errno != EINTR) break;
    if (i_in >= 0 && pr > 0 && (pf[i_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(in_fd, (const char *)o->input + in_off, o->input_len - in_off);
      if (w > 0) in_off += (size_t)w;
      if (w < 0 && errno != EAGAIN && errno != EINTR) in_off = o->input_len;
      if (in_off >= o->input_len) in_fd = rs_safe_close(in_fd);
    }
    if (i_out >= 0 && pr > 0 && pf[i_out].revents) {
      if (drain(out_fd, &out, out_max, &r.out_truncated) != 0)
        out_fd = rs_safe_close(out_fd);
    }
    if (i_err >= 0 && pr > 0 && pf[i_err].revents) {
      if (drain(err_fd, &errb, err_max, &r.err_truncated) != 0)
        err_fd = rs_safe_close(err_fd);
    }
    if (!exited) {
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) exited = true;
    }
    if (exited) {
      /* The child is gone; a grandchild may still hold the pipes open.
       * Take what is buffered now and stop. */
      if (out_fd >= 0) { drain(out_fd, &out, out_max, &r.out_truncated); out_fd = rs_safe_close(out_fd); }
      if (err_fd >= 0) { drain(err_fd, &errb, err_max, &r.err_truncated); err_fd = rs_safe_close(err_fd); }
    }
  }
  in_fd = rs_safe_close(in_fd);
  out_fd = rs_safe_close(out_fd);
  err_fd = rs_safe_close(err_fd);
  if (!exited) {
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  }
  if (r.timed_out)
    r.status = -1;
  else if (WIFEXITED(status))
    r.status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.status = 128 + WTERMSIG(status);
  else
    r.status = -1;
  r.out = rs_buf_steal(&out, &r.out_len);
  r.errout = rs_buf_steal(&errb, &r.err_len);
  *ret = r;
  return 0;
}

void rs_proc_result_free(struct rs_proc_result *r) {
  if (!r) return;
  free(r->out);
  free(r->errout);
  r->out = r->errout = NULL;
}
