/* Fuzz the containerd config editor with any values, not only fixed ones:
 * the edited file scans, a second edit changes nothing, and every value
 * reads back as itself at the key containerd reads it from.  Input: flags
 * byte (bit 0 SystemdCgroup, bit 1 containerd 2.x, bit 2 2.0, bits 3-6 which
 * values are set), then NUL-separated sandbox image, CNI bin dir, CNI conf
 * dir, registry config_path, then the config file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "helper/containerd_toml.h"
#include "helper/toml.h"
#include "fuzz_shared.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* TOML basic strings may hold no control character but tab, raw. */
static void must_be_quoted_well(const char *v) {
  char *q = rs_toml_quote(v);
  if (!q) abort();
  fuzz_no_control(q, "\t");
  rs_err_t e = RS_ERR_INIT;
  char *back = NULL;
  if (rs_toml_decode_str(q, &back, &e) != 0 || strcmp(back, v) != 0) abort();
  free(back);
  free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *end = NULL, *copy = fuzz_after_flags(data, size, &end), *p = copy;
  if (!copy) return 0;
  uint8_t fl = data[0];
  const char *vals[4];
  for (int i = 0; i < 4; i++) {
    vals[i] = fuzz_field(&p, end);
    if (!(fl & (8 << i))) vals[i] = NULL;
    if (vals[i]) must_be_quoted_well(vals[i]);
  }
  const char *text = p < end ? p : "";
  bool v2 = fl & 2;
  struct rs_ctd_want w = {v2 ? 2 : 1, v2 && (fl & 4) ? 0 : 1, fl & 1, vals[0], vals[1], vals[2], vals[3]};
  char *out = fuzz_ctd_edit(text, strlen(text), &w);
  if (out) {
    const char *cri = v2 ? "io.containerd.cri.v1.runtime" : "io.containerd.grpc.v1.cri";
    const char *img = v2 ? "io.containerd.cri.v1.images" : "io.containerd.grpc.v1.cri";
    const char *const sandbox1[] = {"plugins", img, "sandbox_image", NULL};
    const char *const sandbox2[] = {"plugins", img, "pinned_images", "sandbox", NULL};
    const char *const bin[] = {"plugins", cri, "cni", w.minor == 0 && v2 ? "bin_dir" : v2 ? "bin_dirs" : "bin_dir", NULL};
    const char *const conf[] = {"plugins", cri, "cni", "conf_dir", NULL};
    const char *const reg[] = {"plugins", img, "registry", "config_path", NULL};
    if (w.sandbox_image) fuzz_must_read_back(out, v2 ? sandbox2 : sandbox1, w.sandbox_image, false);
    if (w.cni_bin_dir) fuzz_must_read_back(out, bin, w.cni_bin_dir, v2 && w.minor != 0);
    if (w.cni_conf_dir) fuzz_must_read_back(out, conf, w.cni_conf_dir, false);
    if (w.config_path) fuzz_must_read_back(out, reg, w.config_path, false);
    /* the imports the plan warns about, read from any edited file */
    rs_err_t e = RS_ERR_INIT;
    char **imports = NULL;
    if (rs_ctd_imports(out, strlen(out), &imports, &e) == 0) {
      if (!imports) abort();
      rs_strv_free(imports);
    } else {
      rs_err_clear(&e);
    }
    free(out);
  }
  free(copy);
  return 0;
}
