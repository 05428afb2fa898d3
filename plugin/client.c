/* The API client a command asks for: the kubeconfig resolved with the
 * global flags, its log lines and warnings on stderr as kubectl prints
 * them. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "common/strutil.h"

void rs_cli_warn(struct rs_cli *cli, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (cli->err_is_tty) fputs("\033[33;1m", cli->errf);
  fputs("Warning: ", cli->errf);
  rs_term_vprintf(cli->errf, fmt, ap);
  if (cli->err_is_tty) fputs("\033[0m", cli->errf);
  fputc('\n', cli->errf);
  va_end(ap);
}

/* Level 0: a warning from the server; above: klog's header, as -v shows. */
static void log_line(void *ud, int level, const char *line) {
  struct rs_cli *cli = ud;
  if (level == 0) {
    if (rs_startswith(line, "Warning: ")) line += 9;
    rs_cli_warn(cli, "%s", line);
    return;
  }
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  rs_term_printf(cli->errf, "I%02d%02d %02d:%02d:%02d.%06ld %7d kube] %s\n", tm.tm_mon + 1,
          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec, (int)getpid(),
          line);
}

int rs_cli_client_config(struct rs_cli *cli, rs_kube_config_t **ret_cfg, struct rs_kube_client_opts *ret_opts,
                         rs_err_t *err) {
  if (rs_kube_config_resolve(&cli->ov, NULL, ret_cfg, err) < 0) return -1;
  *ret_opts = (struct rs_kube_client_opts){
      .verbosity = cli->verbosity,
      .log = log_line,
      .log_ud = cli,
  };
  return 0;
}

int rs_cli_client(struct rs_cli *cli, rs_kube_client_t **ret, rs_err_t *err) {
  _cleanup_kube_config_ rs_kube_config_t *cfg = NULL;
  struct rs_kube_client_opts o;
  if (rs_cli_client_config(cli, &cfg, &o, err) < 0) return -1;
  return rs_kube_client_new(cfg, &o, ret, err);
}
