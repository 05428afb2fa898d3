/* Fuzz the CRI-O config generator with any values: the drop-in and the
 * registries file must be TOML our scanner reads, and each value must read
 * back as itself.  Input: flags byte, then NUL-separated pause image, CNI
 * bin dir, CNI conf dir, with flag 2 a default runtime and its path, and
 * registry entries (mirrors, then insecure after an empty field). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"
#include "helper/crio_conf.h"
#include "helper/toml.h"
#include "fuzz_shared.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *end = NULL, *copy = fuzz_after_flags(data, size, &end), *p = copy;
  if (!copy) return 0;
  struct rs_crio_want w = {data[0] & 1, fuzz_field(&p, end), fuzz_field(&p, end), fuzz_field(&p, end), NULL, NULL, NULL};
  if (data[0] & 2) { /* a default runtime and its path */
    w.default_runtime = fuzz_field(&p, end);
    w.runtime_path = fuzz_field(&p, end);
  }
  char *dropin = rs_crio_dropin(&w);
  if (!dropin) abort();
  fuzz_no_control(dropin, "\t\n"); /* what CRI-O reads must be TOML */
  rs_err_t e = RS_ERR_INIT;
  struct rs_toml d;
  if (rs_toml_scan(dropin, strlen(dropin), &d, &e) != 0) abort();
  rs_toml_free(&d);
  const char *const pause[] = {"crio", "image", "pause_image", NULL};
  const char *const net[] = {"crio", "network", "network_dir", NULL};
  const char *const plug[] = {"crio", "network", "plugin_dirs", NULL};
  if (w.pause_image) fuzz_must_read_back(dropin, pause, w.pause_image, false);
  if (w.cni_conf_dir) fuzz_must_read_back(dropin, net, w.cni_conf_dir, false);
  if (w.cni_bin_dir) fuzz_must_read_back(dropin, plug, w.cni_bin_dir, true);
  /* the reader of CRI-O's own files, on any text */
  const char *name = "fuzz.conf", *text = dropin;
  char *rn = NULL, *rp = NULL;
  if (rs_crio_default_runtime(&name, &text, 1, &rn, &rp, &e) != 0) abort();
  if (w.default_runtime && w.runtime_path && *w.default_runtime && *w.runtime_path &&
      (strcmp(rn, w.default_runtime) != 0 || !rp || strcmp(rp, w.runtime_path) != 0))
    abort(); /* written where CRI-O reads it */
  char *mp = NULL;
  if (rs_crio_monitor_path(&name, &text, 1, rn, &mp, &e) != 0 || mp) abort(); /* we write none */
  free(mp);
  free(rn);
  free(rp);
  free(dropin);
  char **mirrors = rs_strv_new(), **insecure = rs_strv_new();
  char ***into = &mirrors;
  for (char *f; mirrors && insecure && (f = fuzz_field(&p, end));) {
    if (!*f) into = &insecure;
    else if (rs_strv_push(into, f, &e) < 0) break;
  }
  bool empty = true;
  char *reg = mirrors && insecure ? rs_crio_registries(mirrors, insecure, &empty) : NULL;
  if (reg) fuzz_no_control(reg, "\t\n");
  if (reg && rs_toml_scan(reg, strlen(reg), &d, &e) != 0) abort();
  if (reg) rs_toml_free(&d);
  free(reg);
  rs_strv_free(mirrors);
  rs_strv_free(insecure);
  rs_err_clear(&e);
  free(copy);
  return 0;
}
