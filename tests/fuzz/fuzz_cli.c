/* Fuzz the command line parser: the input is argv, one word a line.
 * Parsed strictly (as main does) it either fails with a message or gives
 * a command whose every option reads back the last value given; parsed
 * leniently (as completion does) it never fails, and agrees with a strict
 * success on the command and its arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "plugin/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = size <= 4096 ? strndup((const char *)data, size) : NULL;
  if (!text) return 0;
  char *words[MAX_WORDS];
  int n = 0;
  for (char *p = text; n < MAX_WORDS;) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = '\0';
    words[n++] = p;
    if (!nl) break;
    p = nl + 1;
  }

  struct rs_cli strict = {.commands = rs_commands, .ov = RS_KUBE_OVERRIDES_INIT};
  rs_err_t e = RS_ERR_INIT;
  int rc = rs_cli_parse(&strict, n, words, NULL, &e);
  if (rc < 0 && !e.msg) abort();
  if (rc == 0 && strict.cmd) {
    struct rs_opt_iter it = {.cmd = strict.cmd};
    const struct rs_opt *o;
    size_t slot;
    while ((o = rs_opt_next(&it, &slot))) {
      size_t nv = rs_strv_len(strict.values[slot]);
      const char *v = rs_cli_str(&strict, o->name);
      if (nv ? !v || strcmp(v, strict.values[slot][nv - 1]) != 0 : v != NULL) abort();
    }
  }
  rs_err_clear(&e);

  struct rs_cli lenient = {.commands = rs_commands, .ov = RS_KUBE_OVERRIDES_INIT};
  struct rs_cli_end end = {0};
  if (rs_cli_parse(&lenient, n, words, &end, &e) < 0) abort();
  if (rc == 0) {
    if (lenient.cmd != strict.cmd || end.pending || end.unknown_cmd) abort();
    if (rs_strv_len(lenient.args) != rs_strv_len(strict.args)) abort();
    for (size_t i = 0; strict.args && strict.args[i]; i++)
      if (strcmp(strict.args[i], lenient.args[i]) != 0) abort();
  }
  rs_cli_free(&strict);
  rs_cli_free(&lenient);
  rs_err_clear(&e);
  free(text);
  return 0;
}
