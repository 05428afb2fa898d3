/* Fuzz the TOML scanner and the containerd editor: scan, read a few paths,
 * apply the containerd rules for 1.x and 2.x, and scan the result again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/containerd_toml.h"
#include "helper/toml.h"
#include "fuzz_shared.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  char *t = strndup((const char *)data, size);
  if (!t) return 0;
  size_t len = strlen(t);
  rs_err_t e = RS_ERR_INIT;
  struct rs_toml d;
  if (rs_toml_scan(t, len, &d, &e) == 0) rs_toml_free(&d);
  rs_err_clear(&e);
  const char *const p[] = {"disabled_plugins", NULL};
  char *raw = NULL;
  if (rs_toml_get_raw(t, len, p, &raw, &e) == 0 && raw) {
    char **v = NULL;
    if (rs_toml_decode_str_array(raw, &v, &e) == 0) rs_strv_free(v);
    char *s = NULL;
    if (rs_toml_decode_str(raw, &s, &e) == 0) free(s);
  }
  free(raw);
  rs_err_clear(&e);
  for (int major = 1; major <= 2; major++) {
    struct rs_ctd_want w = {major, 1, true, "registry.k8s.io/pause:3.9", "/usr/lib/cni",
                            "/etc/cni/net.d", "/etc/containerd/certs.d"};
    free(fuzz_ctd_edit(t, len, &w));
    rs_err_clear(&e);
  }
  free(t);
  return 0;
}
