/* Fuzz the kubelet YAML key editor: get, set, and read back what was set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper/kubelet_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  const char *t = (const char *)data;
  rs_err_t e = RS_ERR_INIT;
  char *v = NULL;
  if (rs_kyaml_get(t, size, "cgroupDriver", &v, &e) == 0) free(v);
  rs_err_clear(&e);
  char *out = NULL;
  const char *want = "unix:///run/containerd/containerd.sock";
  if (rs_kyaml_set(t, size, "containerRuntimeEndpoint", want, &out, NULL, &e) == 0) {
    char *back = NULL;
    /* what was written must read back, unless the text hid it in a way the
     * reader refuses (then get fails, which is fine) */
    if (rs_kyaml_get(out, strlen(out), "containerRuntimeEndpoint", &back, &e) == 0 &&
        back && strcmp(back, want) != 0 && memchr(t, '\0', size) == NULL)
      abort();
    free(back);
    free(out);
  }
  rs_err_clear(&e);
  return 0;
}
