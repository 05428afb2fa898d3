/* Fuzz the kubelet flags env-file editor: read, edit, and check that a
 * second identical edit changes nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "helper/kubelet_flags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  const char *t = (const char *)data;
  rs_err_t e = RS_ERR_INIT;
  static const char *const vars[] = {"KUBELET_KUBEADM_ARGS", "KUBELET_EXTRA_ARGS"};
  static const struct rs_flag_op ops[] = {
      {"--network-plugin", RS_FLAG_DROP, NULL},
      {"--cni-bin-dir", RS_FLAG_DROP, NULL},
      {"--container-runtime", RS_FLAG_REPLACE, "remote"},
      {"--container-runtime-endpoint", RS_FLAG_SET, "unix:///run/containerd/containerd.sock"},
  };
  for (size_t k = 0; k < 2; k++) {
    char *v = NULL;
    if (rs_env_get(t, size, vars[k], &v, &e) == 0) free(v);
    rs_err_clear(&e);
    if (rs_env_flag_get(t, size, vars[k], "--container-runtime-endpoint", &v, &e) == 0) free(v);
    rs_err_clear(&e);
    char *out = NULL;
    char **ch = rs_strv_new();
    if (rs_env_flags_edit(t, size, vars[k], ops, 4, &out, &ch, &e) == 0) {
      char *ep = NULL;
      if (rs_env_flag_get(out, strlen(out), vars[k], "--container-runtime-endpoint", &ep, &e) != 0 ||
          !ep || strcmp(ep, "unix:///run/containerd/containerd.sock") != 0)
        abort();
      free(ep);
      char *again = NULL;
      char **ch2 = rs_strv_new();
      if (rs_env_flags_edit(out, strlen(out), vars[k], ops, 4, &again, &ch2, &e) != 0) abort();
      if (strcmp(again, out) != 0 || rs_strv_len(ch2) != 0) abort();
      free(again);
      rs_strv_free(ch2);
      free(out);
    }
    rs_strv_free(ch);
    rs_err_clear(&e);
  }
  return 0;
}
