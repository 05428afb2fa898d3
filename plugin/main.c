/* kubectl runtime-switch: parse the command line, run one command, print
 * its error once, choose the exit code. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "common/cleanup.h"
#include "common/signals.h"
#include "plugin/completion.h"
#include "plugin/malloc_policy.h"

/* Exit codes (README): */
enum {
  EXIT_OK = 0,
  EXIT_ERROR = 1,       /* any failure: API, kubeconfig, auth, network */
  EXIT_USAGE = 2,       /* unknown command or flag, bad arguments */
  EXIT_INTERRUPTED = 130,
};

static int print_error(struct rs_cli *cli, rs_err_t *e) {
  /* no message: the command printed its error itself (drain, as kubectl) */
  if (!e->msg && e->kind != RS_E_NONE)
    return e->kind == RS_E_INTERRUPTED ? EXIT_INTERRUPTED : EXIT_ERROR;
  const char *msg = e->msg ? e->msg : "unknown error";
  switch (e->kind) {
  case RS_E_USAGE:
    rs_term_printf(cli->errf, "error: %s\n", msg);
    if (cli->cmd)
      rs_term_printf(cli->errf, "See 'kubectl runtime-switch %s --help' for usage.\n", cli->cmd->name);
    else
      rs_term_printf(cli->errf, "Run 'kubectl runtime-switch --help' for usage.\n");
    return EXIT_USAGE;
  case RS_E_INTERRUPTED:
    rs_term_printf(cli->errf, "error: %s\n", msg);
    return EXIT_INTERRUPTED;
  case RS_E_API:
    if (e->code == 401)
      rs_term_printf(cli->errf, "error: You must be logged in to the server (%s)\n", msg);
    else
      rs_term_printf(cli->errf, "Error from server (%s): %s\n", e->reason ? e->reason : "InternalError", msg);
    return EXIT_ERROR;
  default:
    rs_term_printf(cli->errf, "error: %s\n", msg);
    return EXIT_ERROR;
  }
}

int main(int argc, char **argv) {
  /* before anything is allocated: big blocks mapped, not kept in the
   * threads' arenas (a rollout's peak RSS) */
  (void)rs_malloc_policy();
  struct rs_cli cli = {
      .commands = rs_commands,
      .ov = RS_KUBE_OVERRIDES_INIT,
      .out = stdout,
      .errf = stderr,
      .err_is_tty = isatty(STDERR_FILENO),
  };
  _cleanup_err_ rs_err_t err = RS_ERR_INIT;
  int code = EXIT_OK;
  rs_completion_argv(&argc, &argv);
  if (rs_signals_install(&err) < 0 || rs_cli_parse(&cli, argc - 1, argv + 1, NULL, &err) < 0) {
    code = print_error(&cli, &err);
    rs_cli_free(&cli);
    return code;
  }
  if (cli.want_help && cli.cmd) {
    rs_help_cmd(stdout, cli.cmd);
  } else if (cli.want_help || !cli.cmd) {
    rs_help_root(stdout, &cli.commands);
  } else if (cli.cmd->run(&cli, &err) < 0) {
    fflush(stdout);
    code = print_error(&cli, &err);
    if (cli.exit_code) code = cli.exit_code;
  }
  if (fflush(stdout) != 0 && code == EXIT_OK) {
    rs_term_printf(stderr, "error: writing the output: %s\n", strerror(errno));
    code = EXIT_ERROR;
  }
  rs_cli_free(&cli);
  return code;
}
