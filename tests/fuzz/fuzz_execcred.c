/* Fuzz target: an exec credential plugin's stdout.  The first byte picks
 * the configured apiVersion. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "kube/exec_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (2u << 20)) return 0;
  const char *api = (data[0] & 1) ? "client.authentication.k8s.io/v1beta1"
                                  : "client.authentication.k8s.io/v1";
  struct rs_exec_cred cred = {0};
  rs_err_t err = RS_ERR_INIT;
  if (rs_exec_cred_parse((const char *)data + 1, size - 1, api, &cred, &err) == 0)
    rs_exec_cred_clear(&cred);
  rs_err_clear(&err);
  char ts[64];
  size_t n = size - 1 < sizeof ts - 1 ? size - 1 : sizeof ts - 1;
  memcpy(ts, data + 1, n);
  ts[n] = '\0';
  long long t;
  (void)rs_parse_rfc3339(ts, &t);
  return 0;
}
