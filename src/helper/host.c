/* Host access: paths under a root, commands by execve, namespaces. */
#include "helper/host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"

int rs_host_init(struct rs_host *h, const char *root, const char *exec_path,
                 const char *healthz, rs_err_t *err) {
  memset(h, 0, sizeof *h);
  h->root = root ? root : "";
  h->exec_path = exec_path ? exec_path : RS_HOST_PATH;
  h->healthz = healthz ? healthz : "127.0.0.1:10248";
  h->envp[0] = rs_strdup_printf("PATH=%s", h->exec_path);
  h->envp[1] = strdup("LC_ALL=C");
  h->envp[2] = *h->root ? rs_strdup_printf("RS_HELPER_ROOT=%s", h->root) : NULL;
  h->envp[3] = NULL;
  if (!h->envp[0] || !h->envp[1] || (*h->root && !h->envp[2])) {
    rs_host_fini(h);
    return rs_oom(err);
  }
  return 0;
}

void rs_host_fini(struct rs_host *h) {
  for (int i = 0; i < 3; i++) {
    free(h->envp[i]);
    h->envp[i] = NULL;
  }
}

bool rs_host_fixture(const struct rs_host *h) { return h->root && *h->root; }

char *rs_host_path(const struct rs_host *h, const char *abs) {
  return rs_strdup_printf("%s%s", h->root, abs);
}

/* Drop the last component of a resolved path ("/a/b" -> "/a"; "/a" -> ""). */
static void pop_component(rs_buf_t *b) {
  char *s = b->data ? strrchr(b->data, '/') : NULL;
  if (!s) return;
  *s = '\0';
  b->len = (size_t)(s - b->data);
}

int rs_host_resolve(const struct rs_host *h, const char *abs, char **ret, rs_err_t *err) {
  if (!abs || abs[0] != '/') return rs_fail(err, RS_E_INPUT, EINVAL, "%s: not an absolute path", abs ? abs : "");
  /* done: the resolved part below the root ("" or "/a/b"); todo: the rest */
  _cleanup_buf_ rs_buf_t done = RS_BUF_INIT(PATH_MAX);
  _cleanup_free_ char *todo = strdup(abs);
  if (!todo || rs_buf_reserve(&done, 0, err) < 0) return todo ? -1 : rs_oom(err);
  int links = 0;
  bool missing = false;
  for (char *p = todo; *p;) {
    while (*p == '/') p++;
    size_t n = strcspn(p, "/");
    if (n == 0) break;
    if (n == 1 && p[0] == '.') {
      p += n;
      continue;
    }
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      pop_component(&done);
      p += n;
      continue;
    }
    size_t mark = done.len;
    if (rs_buf_puts(&done, "/", err) < 0 || rs_buf_append(&done, p, n, err) < 0) return -1;
    p += n;
    if (missing) continue;
    _cleanup_free_ char *full = rs_strdup_printf("%s%s", h->root, done.data);
    if (!full) return rs_oom(err);
    struct stat st;
    if (lstat(full, &st) < 0) {
      if (errno != ENOENT && errno != ENOTDIR) return rs_fail_errno(err, errno, "stat %s", full);
      missing = true; /* the rest cannot be links: keep it as it is */
      continue;
    }
    if (!S_ISLNK(st.st_mode)) continue;
    if (++links > RS_HOST_MAX_LINKS)
      return rs_fail(err, RS_E_INPUT, ELOOP, "%s: more than %d symbolic links", abs, RS_HOST_MAX_LINKS);
    char target[PATH_MAX];
    ssize_t tl = readlink(full, target, sizeof target);
    if (tl < 0) return rs_fail_errno(err, errno, "readlink %s", full);
    if ((size_t)tl >= sizeof target) return rs_fail(err, RS_E_LIMIT, ENAMETOOLONG, "readlink %s: too long", full);
    _cleanup_free_ char *rest = rs_strdup_printf("%.*s/%s", (int)tl, target, p);
    if (!rest) return rs_oom(err);
    if (target[0] == '/') {
      done.len = 0;
      done.data[0] = '\0';
    } else {
      done.len = mark;
      done.data[mark] = '\0';
    }
    free(todo);
    todo = TAKE_PTR(rest);
    p = todo;
  }
  char *r = rs_strdup_printf("%s%s", h->root, done.len ? done.data : "/");
  if (!r) return rs_oom(err);
  *ret = r;
  return 0;
}

int rs_host_read(const struct rs_host *h, const char *abs, size_t max,
                 char **ret, size_t *ret_len, rs_err_t *err) {
  _cleanup_free_ char *p = NULL;
  if (rs_host_resolve(h, abs, &p, err) < 0) return -1;
  struct stat st;
  if (stat(p, &st) < 0 && errno == ENOENT) {
    *ret = NULL;
    if (ret_len) *ret_len = 0;
    return 0;
  }
  size_t len = 0;
  if (rs_read_file(p, max, ret, &len, err) < 0) return -1;
  if (ret_len) *ret_len = len;
  return 0;
}

int rs_host_boot_id(const struct rs_host *h, char ret[64], rs_err_t *err) {
  _cleanup_free_ char *t = NULL;
  size_t len = 0;
  if (rs_host_read(h, RS_HOST_BOOT_ID, 256, &t, &len, err) < 0) return -1;
  while (t && len && (t[len - 1] == '\n' || t[len - 1] == ' ')) t[--len] = '\0';
  bool ok = t && len >= 8 && len < 64;
  for (size_t i = 0; ok && i < len; i++)
    ok = (t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f') || t[i] == '-';
  if (!ok) return rs_fail(err, RS_E_INPUT, EINVAL, "%s%s: no boot id there", h->root, RS_HOST_BOOT_ID);
  memcpy(ret, t, len + 1);
  return 0;
}

bool rs_host_exists(const struct rs_host *h, const char *abs) {
  _cleanup_free_ char *p = rs_host_path(h, abs);
  return p && access(p, F_OK) == 0;
}

bool rs_host_is_dir(const struct rs_host *h, const char *abs) {
  _cleanup_free_ char *p = rs_host_path(h, abs);
  struct stat st;
  return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int rs_host_free_bytes(const struct rs_host *h, const char *abs,
                       unsigned long long *ret, unsigned long long *ret_dev,
                       rs_err_t *err) {
  _cleanup_free_ char *p = rs_host_path(h, abs);
  if (!p) return rs_oom(err);
  /* walk up to an existing directory */
  for (;;) {
    struct stat st;
    if (stat(p, &st) == 0) {
      struct statvfs vfs;
      if (statvfs(p, &vfs) < 0) return rs_fail_errno(err, errno, "statvfs %s", p);
      *ret = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
      if (ret_dev) *ret_dev = (unsigned long long)st.st_dev;
      return 0;
    }
    char *slash = strrchr(p, '/');
    if (!slash || slash == p) {
      if (slash == p && p[1]) {
        p[1] = '\0';
        continue;
      }
      return rs_fail(err, RS_E_SYS, ENOENT, "no filesystem for %s", abs);
    }
    *slash = '\0';
  }
}

bool rs_host_has_cmd(const struct rs_host *h, const char *name) {
  _cleanup_free_ char *p = rs_proc_which(name, h->exec_path);
  return p != NULL;
}

int rs_host_run(const struct rs_host *h, const char *const *argv,
                long long timeout_ms, struct rs_proc_result *ret, rs_err_t *err) {
  struct rs_proc_opts o = {0};
  o.argv = argv;
  o.envp = (const char *const *)h->envp;
  o.path = h->exec_path;
  o.cwd = "/";
  o.timeout_ms = timeout_ms;
  o.out_max = 4u << 20;
  o.err_max = 64u << 10;
  return rs_proc_run(&o, ret, err);
}

static char *argv_text(const char *const *argv) {
  rs_buf_t b = RS_BUF_INIT(4096);
  for (size_t i = 0; argv[i] && b.len < 300; i++)
    rs_buf_printf(&b, NULL, "%s%s", i ? " " : "", argv[i]);
  return rs_buf_steal(&b, NULL);
}

int rs_host_run_ok(const struct rs_host *h, const char *const *argv,
                   long long timeout_ms, char **ret_out, rs_err_t *err) {
  struct rs_proc_result r = {0};
  if (rs_host_run(h, argv, timeout_ms, &r, err) < 0) return -1;
  int rc = 0;
  if (r.timed_out || r.status != 0) {
    _cleanup_free_ char *cmd = argv_text(argv);
    /* the last line of stderr says what went wrong */
    char *e = r.errout ? r.errout : "";
    size_t n = strlen(e);
    while (n && (e[n - 1] == '\n' || e[n - 1] == ' ')) e[--n] = '\0';
    char *last = strrchr(e, '\n');
    last = last ? last + 1 : e;
    if (strlen(last) > 300) last[300] = '\0';
    if (r.timed_out)
      rc = rs_fail(err, RS_E_TIMEOUT, ETIMEDOUT, "%s: timed out after %lld ms", cmd, timeout_ms);
    else
      rc = rs_fail(err, RS_E_NODE, r.status, "%s: exit status %d%s%s", cmd, r.status,
                   *last ? ": " : "", last);
  } else if (ret_out) {
    *ret_out = TAKE_PTR(r.out);
  }
  rs_proc_result_free(&r);
  return rc;
}

int rs_host_enter_pid1(rs_err_t *err) {
  /* open every target first: after the mount namespace changes, /proc may
   * be another one */
  static const struct { const char *name; int type; } ns[] = {
      {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
      {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
  };
  int fds[RS_ARRAY_SIZE(ns)];
  for (size_t i = 0; i < RS_ARRAY_SIZE(ns); i++) fds[i] = -1;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < RS_ARRAY_SIZE(ns); i++) {
    char mine[64], theirs[64];
    snprintf(mine, sizeof mine, "/proc/self/ns/%s", ns[i].name);
    snprintf(theirs, sizeof theirs, "/proc/1/ns/%s", ns[i].name);
    struct stat a, b;
    if (stat(theirs, &b) < 0) {
      if (errno == ENOENT) continue; /* kernel without this namespace */
      rc = rs_fail_errno(err, errno, "stat %s (is the pod hostPID and privileged?)", theirs);
      break;
    }
    if (stat(mine, &a) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
    fds[i] = open(theirs, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) rc = rs_fail_errno(err, errno, "open %s", theirs);
  }
  for (size_t i = 0; rc == 0 && i < RS_ARRAY_SIZE(ns); i++) {
    if (fds[i] < 0) continue;
    if (setns(fds[i], ns[i].type) < 0)
      rc = rs_fail_errno(err, errno, "enter PID 1's %s namespace", ns[i].name);
  }
  for (size_t i = 0; i < RS_ARRAY_SIZE(ns); i++) rs_safe_close(fds[i]);
  if (rc == 0 && chdir("/") < 0) rc = rs_fail_errno(err, errno, "chdir /");
  return rc;
}

static int wait_connected(int fd, long long timeout_ms, const char *what,
                          rs_err_t *err) {
  struct pollfd pf = {fd, POLLOUT, 0};
  int pr;
  do pr = poll(&pf, 1, (int)(timeout_ms > 0 ? timeout_ms : 1));
  while (pr < 0 && errno == EINTR);
  if (pr == 0) return rs_fail(err, RS_E_TIMEOUT, ETIMEDOUT, "connect %s: timed out", what);
  int soerr = 0;
  socklen_t sl = sizeof soerr;
  if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
    return rs_fail_errno(err, errno, "connect %s", what);
  if (soerr) return rs_fail_errno(err, soerr, "connect %s", what);
  return 0;
}

int rs_host_unix_connect(const struct rs_host *h, const char *abs,
                         long long timeout_ms, rs_err_t *err) {
  _cleanup_free_ char *p = rs_host_path(h, abs);
  if (!p) return rs_oom(err);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(p) >= sizeof sa.sun_path)
    return rs_fail(err, RS_E_LIMIT, ENAMETOOLONG, "socket path too long: %s", p);
  memcpy(sa.sun_path, p, strlen(p) + 1);
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return rs_fail_errno(err, errno, "socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) return 0;
  if (errno != EINPROGRESS && errno != EAGAIN) return rs_fail_errno(err, errno, "connect %s", p);
  return wait_connected(fd, timeout_ms, p, err);
}

int rs_host_http_healthz(const char *hostport, long long timeout_ms,
                         rs_err_t *err) {
  const char *colon = strrchr(hostport, ':');
  long port;
  char host[64];
  if (!colon || (size_t)(colon - hostport) >= sizeof host ||
      rs_parse_long(colon + 1, 1, 65535, &port) < 0)
    return rs_fail(err, RS_E_USAGE, EINVAL, "bad healthz address %s", hostport);
  memcpy(host, hostport, (size_t)(colon - hostport));
  host[colon - hostport] = '\0';
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
    return rs_fail(err, RS_E_USAGE, EINVAL, "healthz host must be an IPv4 address: %s", host);
  long long deadline = rs_now_ms() + timeout_ms;
  _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return rs_fail_errno(err, errno, "socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (errno != EINPROGRESS) return rs_fail_errno(err, errno, "connect %s", hostport);
    if (wait_connected(fd, timeout_ms, hostport, err) < 0) return -1;
  }
  char req[160];
  int rl = snprintf(req, sizeof req,
                    "GET /healthz HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", hostport);
  if (rl < 0 || (size_t)rl >= sizeof req) return rs_fail(err, RS_E_LIMIT, E2BIG, "request too long");
  size_t off = 0;
  _cleanup_buf_ rs_buf_t resp = RS_BUF_INIT(8192);
  while (rs_now_ms() < deadline) {
    struct pollfd pf = {fd, off < (size_t)rl ? POLLOUT : POLLIN, 0};
    long long left = deadline - rs_now_ms();
    int pr = poll(&pf, 1, (int)(left > 0 ? left : 1));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) break;
    if (off < (size_t)rl) {
      ssize_t w = send(fd, req + off, (size_t)rl - off, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EINTR)
        return rs_fail_errno(err, errno, "send to %s", hostport);
      if (w > 0) off += (size_t)w;
      continue;
    }
    char chunk[1024];
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return rs_fail_errno(err, errno, "recv from %s", hostport);
    if (n == 0) break;
    if (rs_buf_append(&resp, chunk, (size_t)n, err) < 0) return -1;
  }
  if (!resp.data || resp.len < 12)
    return rs_fail(err, RS_E_TIMEOUT, ETIMEDOUT, "healthz %s: no answer", hostport);
  /* "HTTP/1.x 200 ..." */
  if (strncmp(resp.data, "HTTP/1.", 7) != 0 || strncmp(resp.data + 8, " 200", 4) != 0) {
    size_t eol = strcspn(resp.data, "\r\n");
    return rs_fail(err, RS_E_NODE, 0, "healthz %s: %.*s", hostport, (int)(eol > 80 ? 80 : eol),
                   resp.data);
  }
  return 0;
}
