/* The boot guard's unit file (see helper/guard.h). */
#include "helper/guard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "helper/units.h"

bool rs_guard_supported(const struct rs_host *h) {
  return rs_host_fixture(h) || rs_host_systemd(h);
}

char *rs_guard_unit(const char *id) {
  return rs_strdup_printf("%s%s.service", RS_HELPER_GUARD_PREFIX, id);
}

/* systemd splits ExecStart= on spaces and expands '%', '$', quotes and
 * backslashes; our arguments never need any of that, so refuse them. */
static int put_exec_arg(rs_buf_t *b, const char *a, rs_err_t *err) {
  if (!*a) return rs_fail(err, RS_E_INPUT, EINVAL, "guard: empty ExecStart argument");
  for (const char *p = a; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("/._:,+@=-", *p)))
      return rs_fail(err, RS_E_INPUT, EINVAL, "guard: '%s' cannot go into a unit's ExecStart", a);
  return rs_buf_printf(b, err, "%s%s", b->data[b->len - 1] == '=' ? "" : " ", a);
}

int rs_guard_text(const struct rs_host *h, const char *id, char **ret, rs_err_t *err) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(1 << 16);
  _cleanup_free_ char *bin = rs_host_path(h, RS_HELPER_HOST_BIN);
  if (!bin) return rs_oom(err);
  int r = rs_buf_printf(&b, err,
                        "# Written by kubectl runtime-switch for run %s; removed when the run ends.\n"
                        "[Unit]\n"
                        "Description=kubectl runtime-switch: finish or roll back run %s after a reboot\n"
                        "After=local-fs.target network.target\n"
                        "\n"
                        "[Service]\n"
                        "Type=exec\n"
                        "ExecStart=",
                        id, id);
  if (r == 0) r = put_exec_arg(&b, bin, err);
  const char *fixed[] = {RS_HELPER_CMD_GUARD, "--id", id};
  for (size_t i = 0; r == 0 && i < RS_ARRAY_SIZE(fixed); i++) r = put_exec_arg(&b, fixed[i], err);
  if (r == 0 && rs_host_fixture(h)) {
    char kw[32];
    snprintf(kw, sizeof kw, "%ld", h->kubelet_wait_s);
    const char *fx[] = {"--root", h->root, "--exec-path", h->exec_path, "--kubelet-healthz", h->healthz,
                        h->kubelet_wait_s > 0 ? "--kubelet-wait" : NULL, kw};
    for (size_t i = 0; r == 0 && i < RS_ARRAY_SIZE(fx) && fx[i]; i++) r = put_exec_arg(&b, fx[i], err);
  }
  if (r == 0)
    r = rs_buf_puts(&b,
                    "\n"
                    /* killed (OOM, SIGKILL): start again and resume */
                    "Restart=on-abnormal\n"
                    "RestartSec=5\n"
                    "KillMode=process\n"
                    "\n"
                    "[Install]\n"
                    "WantedBy=multi-user.target\n",
                    err);
  if (r < 0) return -1;
  *ret = rs_buf_steal(&b, NULL);
  return 0;
}

int rs_guard_install(const struct rs_host *h, const char *id, rs_err_t *err) {
  if (!rs_guard_supported(h)) return 0;
  _cleanup_free_ char *unit = rs_guard_unit(id);
  _cleanup_free_ char *dir = rs_host_path(h, RS_HELPER_UNIT_DIR);
  _cleanup_free_ char *path = rs_strdup_printf("%s/%s", dir ? dir : "", unit ? unit : "");
  _cleanup_free_ char *text = NULL;
  if (!unit || !dir || !path) return rs_oom(err);
  if (rs_guard_text(h, id, &text, err) < 0) return -1;
  if (rs_mkdir_p(dir, 0755, err) < 0 || rs_write_file_atomic(path, text, strlen(text), 0644, err) < 0)
    return rs_wrap(err, "install the boot guard");
  /* enable reloads systemd's configuration itself */
  if (rs_unit_do(h, "enable", unit, err) < 0) return rs_wrap(err, "enable the boot guard");
  return 0;
}

int rs_guard_remove(const struct rs_host *h, const char *id, rs_err_t *err) {
  if (!rs_guard_supported(h)) return 0;
  _cleanup_free_ char *unit = rs_guard_unit(id);
  _cleanup_free_ char *path =
      unit ? rs_strdup_printf("%s%s/%s", h->root, RS_HELPER_UNIT_DIR, unit) : NULL;
  if (!unit || !path) return rs_oom(err);
  if (access(path, F_OK) < 0) return 0;
  if (rs_unit_do(h, "disable", unit, err) < 0) return rs_wrap(err, "disable the boot guard");
  if (unlink(path) < 0 && errno != ENOENT) return rs_fail_errno(err, errno, "remove %s", path);
  const char *argv[] = {"systemctl", "daemon-reload", NULL};
  return rs_host_run_ok(h, argv, RS_UNIT_TIMEOUT_MS, NULL, err);
}
