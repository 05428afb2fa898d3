/* Fuzz the ExecStart= reader and the command line editor: any unit text;
 * a command it splits is written back and split again to the same words,
 * also after a flag is set, and the flag then reads back as set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "helper/unit_exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_words(char *const *argv) {
  char *cmd = NULL, **back = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_exec_join(argv, &cmd, &e) < 0) abort(); /* what split read, join writes */
  if (rs_exec_split(cmd, &back, &e) < 0) abort();
  if (rs_strv_len(back) != rs_strv_len(argv)) abort();
  for (size_t i = 0; argv[i]; i++)
    if (strcmp(back[i], argv[i]) != 0) abort();
  rs_strv_free(back);
  free(cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  char **cmds = rs_strv_new();
  rs_err_t e = RS_ERR_INIT;
  if (!cmds) abort();
  if (rs_unit_exec_read(&cmds, (const char *)data, size, NULL, &e) < 0) {
    rs_err_clear(&e);
    rs_strv_free(cmds);
    return 0;
  }
  for (size_t i = 0; cmds[i]; i++) {
    char **argv = NULL, *v = NULL;
    if (rs_exec_split(cmds[i], &argv, &e) < 0) {
      rs_err_clear(&e);
      continue;
    }
    same_words(argv);
    if (rs_exec_flag_get(argv, "--cni-bin-dir", &v, &e) < 0) rs_err_clear(&e);
    free(v);
    v = NULL;
    if (rs_exec_flag_set(&argv, "--cni-bin-dir", "/usr/lib/cni", &e) == 0) {
      if (rs_exec_flag_get(argv, "--cni-bin-dir", &v, &e) < 0 || !v || strcmp(v, "/usr/lib/cni") != 0) abort();
      free(v);
      same_words(argv);
    } else {
      rs_err_clear(&e);
    }
    rs_strv_free(argv);
  }
  rs_strv_free(cmds);
  return 0;
}
