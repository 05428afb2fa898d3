/* Fuzz the parser of `ctr plugins ls` output (wait-runtime's test that
 * containerd's CRI plugin is ok). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper/cmdout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *t = strndup((const char *)data, size);
  if (!t) return 0;
  bool ok = rs_ctr_cri_ok(t);
  if (ok && (!strstr(t, "io.containerd.grpc.v1") || !strstr(t, "cri") || !strstr(t, "ok"))) abort();
  free(t);
  return 0;
}
