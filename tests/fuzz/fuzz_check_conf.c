/* Fuzz target: the readers of log collectors' configurations (check's
 * ConfigMap contents).  The first byte picks the collector, the second the
 * key's extension; a NUL byte in the rest splits it into two keys (the
 * second is fluent-bit's parsers file), as a ConfigMap holds several. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"fluent-bit.conf", "fluent-bit.yaml", "vector.toml", "config.json",
                                      "promtail.yml"};
  if (size < 2 || size > RS_CONF_MAX_BYTES + 2) return 0;
  int collector = 1 + data[0] % (_RS_COLLECTOR_MAX - 1);
  const char *keys[2] = {names[data[1] % (sizeof names / sizeof *names)], "parsers.conf"};
  const char *text = (const char *)data + 2;
  size_t len = size - 2;
  const char *nul = memchr(text, '\0', len);
  const char *vals[2] = {text, nul ? nul + 1 : NULL};
  size_t lens[2] = {nul ? (size_t)(nul - text) : len, nul ? len - (size_t)(nul - text) - 1 : 0};
  struct rs_conf_hits h = {0};
  rs_err_t e = RS_ERR_INIT;
  if (rs_check_conf(collector, keys, vals, lens, nul ? 2 : 1, &h, &e) == 0) {
    for (size_t i = 0; i < h.n; i++)
      if (!h.v[i].where || !h.v[i].value || h.v[i].what < 0 || h.v[i].what >= _RS_CONF_WHAT_MAX) abort();
    rs_conf_hits_clear(&h);
  }
  rs_err_clear(&e);
  return 0;
}
