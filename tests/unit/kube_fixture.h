/* Test fixture: a fake Kubernetes API server over real TLS
 * (tests/fakes/fakeapi.py) with the test's own certificates. */
#ifndef RS_TEST_KUBE_FIXTURE_H
#define RS_TEST_KUBE_FIXTURE_H

#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/proc.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

struct fake {
  pid_t pid;
  int port;
  char root[1024];   /* repository root */
  char certs[1024];
  char tmp[256];     /* per-test scratch directory */
};

static void fake_paths(struct fake *f) {
  const char *data = getenv("RS_TEST_DATA");
  size_t dl = data ? strlen(data) : 0;
  if (data && dl > 11 && dl < sizeof f->root && strcmp(data + dl - 11, "/tests/data") == 0) {
    snprintf(f->root, sizeof f->root, "%.*s", (int)(dl - 11), data);
  } else if (!getcwd(f->root, sizeof f->root)) {
    cr_assert_fail("getcwd");
  }
  const char *plugin = getenv("RS_TEST_PLUGIN");
  if (plugin) {
    snprintf(f->certs, sizeof f->certs, "%s", plugin);
    char *slash = strrchr(f->certs, '/');
    if (slash && (size_t)(slash - f->certs) + 5 < sizeof f->certs) memcpy(slash, "/tls", 5);
  } else if (strlen(f->root) + 11 < sizeof f->certs) {
    memcpy(f->certs, f->root, strlen(f->root));
    memcpy(f->certs + strlen(f->root), "/build/tls", 11);
  }
  snprintf(f->tmp, sizeof f->tmp, "/tmp/rs-test-%d-XXXXXX", (int)getpid());
  cr_assert(mkdtemp(f->tmp), "mkdtemp");
}

static void fake_certs(struct fake *f) {
  char script[PATH_MAX + 32];
  snprintf(script, sizeof script, "%s/tests/fakes/gen-certs.sh", f->root);
  const char *argv[] = {script, f->certs, NULL};
  extern char **environ;
  struct rs_proc_opts o = {.argv = argv, .envp = (const char *const *)environ, .timeout_ms = 60000};
  struct rs_proc_result r = {0};
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_proc_run(&o, &r, &e), 0, "gen-certs: %s", e.msg);
  cr_assert_eq(r.status, 0, "gen-certs failed: %s", r.errout);
  rs_proc_result_free(&r);
}

/* Start the server with extra arguments (NULL-terminated). */
__attribute__((unused)) static void fake_start(struct fake *f, const char *const *extra) {
  fake_paths(f);
  fake_certs(f);
  char script[PATH_MAX + 32], portfile[PATH_MAX + 16];
  snprintf(script, sizeof script, "%s/tests/fakes/fakeapi.py", f->root);
  snprintf(portfile, sizeof portfile, "%s/port", f->tmp);
  const char *argv[32] = {"python3", script, "--certs", f->certs, "--port-file", portfile,
                          "--lifetime", "120"};
  size_t n = 8;
  for (size_t i = 0; extra && extra[i] && n < 31; i++) argv[n++] = extra[i];
  argv[n] = NULL;
  f->pid = fork();
  cr_assert(f->pid >= 0);
  if (f->pid == 0) {
    execvp("python3", (char *const *)argv);
    _exit(127);
  }
  for (int i = 0; i < 200; i++) {
    char *data = NULL;
    if (rs_read_file(portfile, 64, &data, NULL, NULL) == 0) {
      f->port = atoi(data);
      free(data);
      return;
    }
    usleep(50000);
  }
  cr_assert_fail("fake API server did not start");
}

__attribute__((unused)) static void fake_stop(struct fake *f) {
  if (f->pid > 0) {
    kill(f->pid, SIGTERM);
    waitpid(f->pid, NULL, 0);
    f->pid = 0;
  }
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "%s", f->tmp);
  /* scratch files are few and named by the tests */
  const char *names[] = {"port", "kubeconfig", "token", "count", NULL};
  for (size_t i = 0; names[i]; i++) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/%s", f->tmp, names[i]);
    unlink(p);
  }
  rmdir(cmd);
}

/* Write a kubeconfig whose user section is `user_yaml` (indented by 4)
 * and cluster extras `cluster_yaml`; %PORT%/%CERTS%/%ROOT% substituted. */
static void fake_kubeconfig(struct fake *f, const char *cluster_yaml, const char *user_yaml,
                            char *path, size_t len) {
  char body[8192];
  snprintf(body, sizeof body,
           "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
           "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:%%PORT%%\n%s"
           "users:\n- name: u\n  user:\n%s"
           "contexts:\n- name: t\n  context: {cluster: c, user: u}\n",
           cluster_yaml ? cluster_yaml : "    certificate-authority: %CERTS%/ca.crt\n",
           user_yaml ? user_yaml : "    {}\n");
  char out[16384];
  size_t o = 0;
  for (const char *p = body; *p && o < sizeof out - PATH_MAX;) {
    if (strncmp(p, "%PORT%", 6) == 0) {
      o += (size_t)snprintf(out + o, sizeof out - o, "%d", f->port);
      p += 6;
    } else if (strncmp(p, "%CERTS%", 7) == 0) {
      o += (size_t)snprintf(out + o, sizeof out - o, "%s", f->certs);
      p += 7;
    } else if (strncmp(p, "%ROOT%", 6) == 0) {
      o += (size_t)snprintf(out + o, sizeof out - o, "%s", f->root);
      p += 6;
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = '\0';
  snprintf(path, len, "%s/kubeconfig", f->tmp);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_write_file_atomic(path, out, o, 0600, &e), 0, "%s", e.msg);
}

__attribute__((unused)) static rs_kube_client_t *fake_client_o(struct fake *f, const char *cluster_yaml,
                                       const char *user_yaml, const struct rs_kube_client_opts *co,
                                       rs_err_t *err) {
  char kc[PATH_MAX];
  fake_kubeconfig(f, cluster_yaml, user_yaml, kc, sizeof kc);
  struct rs_kube_overrides ov = RS_KUBE_OVERRIDES_INIT;
  ov.kubeconfig = kc;
  rs_kube_config_t *cfg = NULL;
  if (rs_kube_config_resolve(&ov, NULL, &cfg, err) < 0) return NULL;
  rs_kube_client_t *c = NULL;
  int r = rs_kube_client_new(cfg, co, &c, err);
  rs_kube_config_free(cfg);
  return r < 0 ? NULL : c;
}

__attribute__((unused)) static rs_kube_client_t *fake_client(struct fake *f, const char *cluster_yaml,
                                     const char *user_yaml, rs_err_t *err) {
  return fake_client_o(f, cluster_yaml, user_yaml, NULL, err);
}

/* Run the plugin ($RS_TEST_PLUGIN) with args against the kubeconfig at
 * kc, in a clean environment; *r gets its status and output. */
__attribute__((unused)) static void fake_run_plugin(const char *kc, const char *const *args,
                                                    struct rs_proc_result *r) {
  const char *plugin = getenv("RS_TEST_PLUGIN");
  cr_assert(plugin, "RS_TEST_PLUGIN is not set");
  const char *argv[32] = {plugin};
  size_t n = 1;
  for (size_t i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
  argv[n] = NULL;
  char kenv[PATH_MAX + 16];
  snprintf(kenv, sizeof kenv, "KUBECONFIG=%s", kc);
  const char *envp[] = {kenv, "HOME=/nonexistent", "PATH=/usr/bin:/bin", NULL};
  struct rs_proc_opts o = {.argv = argv, .envp = envp, .timeout_ms = 60000};
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_proc_run(&o, r, &e), 0, "%s", e.msg);
}

#endif
