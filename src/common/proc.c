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

/* The three pipes of a child, -1 where closed. */
struct proc_pipes {
  int in[2], out[2], err[2];
};

static void proc_pipes_close(struct proc_pipes *p) {
  for (int i = 0; i < 2; i++) {
    p->in[i] = rs_safe_close(p->in[i]);
    p->out[i] = rs_safe_close(p->out[i]);
    p->err[i] = rs_safe_close(p->err[i]);
  }
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

/* The child: default signals, its stdio on the pipes (or ours), nothing
 * else open, then the program. */
static void exec_child(const struct rs_proc_opts *o, const char *exe,
                       const char *const *envp, const struct proc_pipes *p)
    __attribute__((noreturn));
static void exec_child(const struct rs_proc_opts *o, const char *exe,
                       const char *const *envp, const struct proc_pipes *p) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  if (dup2(p->in[0], 0) < 0) _exit(127);
  if (!o->stdout_passthrough && dup2(p->out[1], 1) < 0) _exit(127);
  if (!o->stderr_passthrough && dup2(p->err[1], 2) < 0) _exit(127);
  child_close_fds();
  if (o->cwd && chdir(o->cwd) < 0) _exit(127);
  execve(exe, (char *const *)o->argv, (char *const *)envp);
  _exit(errno == ENOENT ? 127 : 126);
}

/* The parent's side of a running child. */
struct proc_io {
  pid_t pid;
  int in_fd, out_fd, err_fd;   /* our ends of the pipes; -1 once done */
  const char *input;
  size_t input_len, in_off;
  rs_buf_t out, errb;
  size_t out_max, err_max;
  int status;
  bool exited;
};

static void proc_io_close(struct proc_io *io) {
  io->in_fd = rs_safe_close(io->in_fd);
  io->out_fd = rs_safe_close(io->out_fd);
  io->err_fd = rs_safe_close(io->err_fd);
}

/* One wait of at most 50 ms: feed stdin, read stdout and stderr, reap. */
static int pump_once(struct proc_io *io, long long left, struct rs_proc_result *r) {
  struct pollfd pf[3];
  int n = 0, i_in = -1, i_out = -1, i_err = -1;
  if (io->in_fd >= 0) { pf[n] = (struct pollfd){io->in_fd, POLLOUT, 0}; i_in = n++; }
  if (io->out_fd >= 0) { pf[n] = (struct pollfd){io->out_fd, POLLIN, 0}; i_out = n++; }
  if (io->err_fd >= 0) { pf[n] = (struct pollfd){io->err_fd, POLLIN, 0}; i_err = n++; }
  int tick = left < 50 ? (int)left : 50;
  int pr = n ? poll(pf, (nfds_t)n, tick) : (usleep((useconds_t)tick * 1000), 0);
  if (pr < 0 && errno != EINTR) return -1;
  if (i_in >= 0 && pr > 0 && (pf[i_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
    ssize_t w = write(io->in_fd, io->input + io->in_off, io->input_len - io->in_off);
    if (w > 0) io->in_off += (size_t)w;
    if (w < 0 && errno != EAGAIN && errno != EINTR) io->in_off = io->input_len;
    if (io->in_off >= io->input_len) io->in_fd = rs_safe_close(io->in_fd);
  }
  if (i_out >= 0 && pr > 0 && pf[i_out].revents &&
      drain(io->out_fd, &io->out, io->out_max, &r->out_truncated) != 0)
    io->out_fd = rs_safe_close(io->out_fd);
  if (i_err >= 0 && pr > 0 && pf[i_err].revents &&
      drain(io->err_fd, &io->errb, io->err_max, &r->err_truncated) != 0)
    io->err_fd = rs_safe_close(io->err_fd);
  if (!io->exited && waitpid(io->pid, &io->status, WNOHANG) == io->pid) io->exited = true;
  if (io->exited) {
    /* The child is gone; a grandchild may still hold the pipes open.
     * Take what is buffered now and stop. */
    if (io->out_fd >= 0) {
      drain(io->out_fd, &io->out, io->out_max, &r->out_truncated);
      io->out_fd = rs_safe_close(io->out_fd);
    }
    if (io->err_fd >= 0) {
      drain(io->err_fd, &io->errb, io->err_max, &r->err_truncated);
      io->err_fd = rs_safe_close(io->err_fd);
    }
  }
  return 0;
}

/* Until the child exited and its pipes closed, or the timeout (the child
 * is then killed); the result's status as exit code or 128+signal. */
static void pump(struct proc_io *io, long long timeout, struct rs_proc_result *r) {
  long long deadline = rs_now_ms() + timeout;
  while (!io->exited || io->out_fd >= 0 || io->err_fd >= 0) {
    long long left = deadline - rs_now_ms();
    if (left <= 0) {
      r->timed_out = true;
      break;
    }
    if (pump_once(io, left, r) < 0) break;
  }
  proc_io_close(io);
  if (!io->exited) {
    (void)kill(io->pid, SIGKILL);
    while (waitpid(io->pid, &io->status, 0) < 0 && errno == EINTR) {}
  }
  if (r->timed_out)
    r->status = -1;
  else if (WIFEXITED(io->status))
    r->status = WEXITSTATUS(io->status);
  else if (WIFSIGNALED(io->status))
    r->status = 128 + WTERMSIG(io->status);
  else
    r->status = -1;
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

  _cleanup_(proc_pipes_close) struct proc_pipes p = {{-1, -1}, {-1, -1}, {-1, -1}};
  if (pipe2(p.in, O_CLOEXEC) < 0 || pipe2(p.out, O_CLOEXEC) < 0 ||
      pipe2(p.err, O_CLOEXEC) < 0)
    return rs_fail_errno(err, errno, "pipe for %s", o->argv[0]);
  pid_t pid = fork();
  if (pid < 0) return rs_fail_errno(err, errno, "fork for %s", o->argv[0]);
  if (pid == 0) exec_child(o, exe, envp, &p);

  size_t out_max = o->out_max ? o->out_max : (1u << 20);
  size_t err_max = o->err_max ? o->err_max : (64u << 10);
  struct proc_io io = {
      .pid = pid,
      .in_fd = TAKE_FD(p.in[1]),
      .out_fd = TAKE_FD(p.out[0]),
      .err_fd = TAKE_FD(p.err[0]),
      .input = o->input,
      .input_len = o->input_len,
      .out = RS_BUF_INIT(out_max + 1),
      .errb = RS_BUF_INIT(err_max + 1),
      .out_max = out_max,
      .err_max = err_max,
  };
  proc_pipes_close(&p); /* the child's ends: its exit is our EOF */
  set_nonblock(io.in_fd);
  set_nonblock(io.out_fd);
  set_nonblock(io.err_fd);
  if (!o->input || o->input_len == 0) io.in_fd = rs_safe_close(io.in_fd);

  struct rs_proc_result r = {0};
  pump(&io, o->timeout_ms > 0 ? o->timeout_ms : 60000, &r);
  r.out = rs_buf_steal(&io.out, &r.out_len);
  r.errout = rs_buf_steal(&io.errb, &r.err_len);
  *ret = r;
  return 0;
}

void rs_proc_result_free(struct rs_proc_result *r) {
  if (!r) return;
  free(r->out);
  free(r->errout);
  r->out = r->errout = NULL;
}
