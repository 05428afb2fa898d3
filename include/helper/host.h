/* The host as the helper sees it: a root directory (/ on a node, a fixture
 * tree in tests), commands run without a shell, PID 1's namespaces. */
#ifndef RS_HELPER_HOST_H
#define RS_HELPER_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include "common/clock.h"
#include "common/err.h"
#include "common/proc.h"

struct rs_host {
  const char *root;      /* "" on a node; a fixture directory in tests */
  const char *exec_path; /* PATH for host commands */
  const char *healthz;   /* kubelet healthz HOST:PORT */
  long crash_after;      /* tests: SIGKILL after this many journal records */
  long kubelet_wait_s;   /* how long apply waits for kubelet healthz */
  char self_sha[65];     /* sha256 of the running helper ("" if not read) */
  bool self_vouched;     /* it equals --expect-sha256 (the plugin's value) */
  char *envp[4];         /* PATH=..., LC_ALL=C, RS_HELPER_ROOT=... */
};

#define RS_HOST_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define RS_MAX_CONFIG ((size_t)1 << 20)

int rs_host_init(struct rs_host *h, const char *root, const char *exec_path,
                 const char *healthz, rs_err_t *err);
void rs_host_fini(struct rs_host *h);
bool rs_host_fixture(const struct rs_host *h);

/* root + abs (abs starts with '/'); heap. */
char *rs_host_path(const struct rs_host *h, const char *abs);
/* The host path of abs with every symlink on the way followed inside the
 * root, as the node's kernel resolves it on the node: an absolute target
 * starts again at the root, ".." stops there, a missing tail is kept as it
 * is.  More than RS_HOST_MAX_LINKS links is an error (ELOOP). */
#define RS_HOST_MAX_LINKS 40
int rs_host_resolve(const struct rs_host *h, const char *abs, char **ret, rs_err_t *err);
/* Read a host file (through its symlinks, inside the root); a missing file
 * gives *ret NULL and returns 0. */
int rs_host_read(const struct rs_host *h, const char *abs, size_t max,
                 char **ret, size_t *ret_len, rs_err_t *err);
/* This boot's id (/proc/sys/kernel/random/boot_id on the host). */
#define RS_HOST_BOOT_ID "/proc/sys/kernel/random/boot_id"
int rs_host_boot_id(const struct rs_host *h, char ret[64], rs_err_t *err);
bool rs_host_exists(const struct rs_host *h, const char *abs);
bool rs_host_is_dir(const struct rs_host *h, const char *abs);
/* Free bytes for an unprivileged-or-root writer on the filesystem holding
 * abs (or its nearest existing parent); *ret_dev identifies it. */
int rs_host_free_bytes(const struct rs_host *h, const char *abs,
                       unsigned long long *ret, unsigned long long *ret_dev,
                       rs_err_t *err);

/* Run a host command (argv[0] looked up on exec_path). */
int rs_host_run(const struct rs_host *h, const char *const *argv,
                long long timeout_ms, struct rs_proc_result *ret, rs_err_t *err);
/* Same, but a non-zero exit is an error naming the command and its stderr;
 * *ret_out (may be NULL) gets stdout. */
int rs_host_run_ok(const struct rs_host *h, const char *const *argv,
                   long long timeout_ms, char **ret_out, rs_err_t *err);
bool rs_host_has_cmd(const struct rs_host *h, const char *name);

/* Enter PID 1's mount, UTS, IPC, network, PID and cgroup namespaces where
 * they differ from ours (needs a privileged hostPID pod). */
int rs_host_enter_pid1(rs_err_t *err);

/* Connect to a unix socket (host path) within timeout. */
int rs_host_unix_connect(const struct rs_host *h, const char *abs,
                         long long timeout_ms, rs_err_t *err);
/* GET /healthz over plain HTTP at HOST:PORT; 0 when it answers 200. */
int rs_host_http_healthz(const char *hostport, long long timeout_ms,
                         rs_err_t *err);

#endif
