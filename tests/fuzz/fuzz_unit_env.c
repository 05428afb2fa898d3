/* Fuzz the systemd Environment= reader: what it reads, written back as a
 * drop-in, reads back the same. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "helper/unit_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_ctl(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  struct rs_unit_env env;
  rs_err_t e = RS_ERR_INIT;
  if (rs_unit_env_init(&env, &e) < 0) abort();
  if (rs_unit_env_read(&env, (const char *)data, size, &e) < 0) {
    rs_err_clear(&e);
    rs_unit_env_free(&env);
    return 0;
  }
  bool ctl = false;
  for (size_t i = 0; env.values[i]; i++) ctl |= has_ctl(env.values[i]);
  char *t = NULL;
  int r = rs_unit_env_dropin("fuzz", env.names, env.values, &t, &e);
  if (r != (ctl ? -1 : 0)) abort(); /* refused exactly when a value cannot be written */
  rs_err_clear(&e);
  if (r == 0) {
    struct rs_unit_env back;
    if (rs_unit_env_init(&back, &e) < 0 || rs_unit_env_read(&back, t, strlen(t), &e) < 0) abort();
    if (rs_strv_len(back.names) != rs_strv_len(env.names)) abort();
    for (size_t i = 0; env.names[i]; i++)
      if (strcmp(back.names[i], env.names[i]) != 0 || strcmp(back.values[i], env.values[i]) != 0) abort();
    rs_unit_env_free(&back);
    free(t);
  }
  rs_unit_env_free(&env);
  return 0;
}
