/* systemctl / service / systemd-run, always by argv. */
#include "helper/units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/cmdout.h"

bool rs_host_systemd(const struct rs_host *h) {
  /* sd_booted(): this directory exists only when systemd is PID 1 */
  return rs_host_is_dir(h, "/run/systemd/system");
}

int rs_unit_query(const struct rs_host *h, const char *unit,
                  struct rs_unit_state *ret, rs_err_t *err) {
  struct rs_unit_state st = {0};
  if (rs_host_systemd(h)) {
    const char *argv[] = {"systemctl", "show", "--property=LoadState,ActiveState,UnitFileState",
                          unit, NULL};
    _cleanup_free_ char *out = NULL;
    if (rs_host_run_ok(h, argv, 30000, &out, err) < 0) return -1;
    rs_systemctl_show_parse(out, &st);
  } else {
    /* `service NAME status`: exit 0 running, 3 stopped, 4 unknown */
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(unit, "."), unit);
    const char *argv[] = {"service", name, "status", NULL};
    struct rs_proc_result r = {0};
    if (rs_host_run(h, argv, 30000, &r, err) < 0) return -1;
    st.loaded = r.status == 0 || r.status == 3;
    st.active = r.status == 0;
    st.enabled = st.loaded; /* not knowable in general; never disabled by us */
    rs_proc_result_free(&r);
  }
  *ret = st;
  return 0;
}

int rs_unit_do(const struct rs_host *h, const char *verb, const char *unit,
               rs_err_t *err) {
  if (rs_host_systemd(h)) {
    const char *argv[] = {"systemctl", verb, unit, NULL};
    return rs_host_run_ok(h, argv, RS_UNIT_TIMEOUT_MS, NULL, err);
  }
  if (strcmp(verb, "enable") == 0 || strcmp(verb, "disable") == 0 || strcmp(verb, "reset-failed") == 0)
    return 0;
  char name[128];
  snprintf(name, sizeof name, "%.*s", (int)strcspn(unit, "."), unit);
  if (strcmp(unit + strlen(name), ".socket") == 0) return 0; /* no sockets there */
  const char *argv[] = {"service", name, verb, NULL};
  return rs_host_run_ok(h, argv, RS_UNIT_TIMEOUT_MS, NULL, err);
}

int rs_unit_daemon_reload(const struct rs_host *h, rs_err_t *err) {
  if (!rs_host_systemd(h)) return 0;
  const char *argv[] = {"systemctl", "daemon-reload", NULL};
  return rs_host_run_ok(h, argv, RS_UNIT_TIMEOUT_MS, NULL, err);
}

int rs_unit_run_transient(const struct rs_host *h, const char *unit,
                          long runtime_max_s, const char *const *argv,
                          rs_err_t *err) {
  _cleanup_free_ char *u = rs_strdup_printf("--unit=%s", unit);
  _cleanup_free_ char *rt = rs_strdup_printf("--property=RuntimeMaxSec=%ld", runtime_max_s);
  const char *head[] = {"systemd-run", u, "--collect", "--no-block", "--quiet",
                        "--property=Type=exec", "--property=KillMode=process",
                        /* killed (OOM, SIGKILL): systemd starts apply again
                         * and it resumes from the journal; an exit code,
                         * even a failure, is final */
                        "--property=Restart=on-abnormal", "--property=RestartSec=5", rt,
                        "--"};
  size_t n = 0;
  while (argv[n]) n++;
  const char **full = calloc(RS_ARRAY_SIZE(head) + n + 1, sizeof *full);
  if (!u || !rt || !full) {
    free(full);
    return rs_oom(err);
  }
  for (size_t i = 0; i < RS_ARRAY_SIZE(head); i++) full[i] = head[i];
  for (size_t i = 0; i < n; i++) full[RS_ARRAY_SIZE(head) + i] = argv[i];
  int r = rs_host_run_ok(h, full, 60000, NULL, err);
  free(full);
  return r;
}
