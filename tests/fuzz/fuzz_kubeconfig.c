/* Fuzz target: one kubeconfig file through the libyaml loader. */
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "kube/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20)) return 0;
  rs_kcfg_file_t *f = NULL;
  rs_err_t err = RS_ERR_INIT;
  if (rs_kcfg_parse((const char *)data, size, "/fuzz/dir/kubeconfig", &f, &err) == 0)
    rs_kcfg_file_free(f);
  rs_err_clear(&err);
  return 0;
}
