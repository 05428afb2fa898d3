/* Fuzz the bounded JSON reader and the daemon.json extraction. */
#include <stdint.h>
#include <stdlib.h>

#include "helper/docker_json.h"
#include "helper/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rs_err_t e = RS_ERR_INIT;
  rs_json_t *j = rs_json_parse((const char *)data, size, &e);
  rs_json_free(j);
  rs_err_clear(&e);
  struct rs_docker_cfg c;
  if (rs_docker_cfg_parse((const char *)data, size, &c, &e) == 0) rs_docker_cfg_free(&c);
  rs_err_clear(&e);
  return 0;
}
