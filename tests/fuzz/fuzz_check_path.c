/* Fuzz target: check's hostPath resolution and the name recognisers.  The
 * input is a path, then (after a newline) a subPath; a resolved path must
 * be absolute, canonical (no //, ., .., trailing / or /var/run) and
 * resolve to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void canonical(const char *p) {
  if (p[0] != '/') abort();
  if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../")) abort();
  size_t n = strlen(p);
  if (n > 1 && p[n - 1] == '/') abort();
  if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0)) abort();
  if (strncmp(p, "/var/run", 8) == 0 && (p[8] == '\0' || p[8] == '/')) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > RS_CHECK_PATH_MAX * 2) return 0;
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  char *sub = strchr(s, '\n');
  if (sub) *sub++ = '\0';
  rs_err_t e = RS_ERR_INIT;
  char *r = NULL;
  if (rs_check_path_resolve(s, &r, &e) == 0) {
    canonical(r);
    char *again = NULL;
    if (rs_check_path_resolve(r, &again, &e) != 0 || strcmp(again, r) != 0) abort();
    int hit = rs_check_path_hit(r);
    if (hit < 0 || hit >= _RS_PATH_MAX) abort();
    free(again);
    free(r);
  }
  rs_err_clear(&e);
  struct rs_mount_verdict v;
  if (rs_check_mount(s, sub ? "Socket" : NULL, sub, &v, &e) == 0) {
    canonical(v.resolved);
    if (v.severity < 0 || v.severity >= _RS_SEV_MAX) abort();
    rs_mount_verdict_clear(&v);
  }
  rs_err_clear(&e);
  (void)rs_check_agent(s);
  (void)rs_check_collector(s);
  const char *argv[] = {s, sub, NULL};
  (void)rs_check_dind(s, argv, NULL);
  free(s);
  return 0;
}
