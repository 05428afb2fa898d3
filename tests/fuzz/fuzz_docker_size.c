/* Fuzz the Docker size -> kubelet quantity converter: a quantity it gives
 * is well formed and means the same bytes (the byte count converts to the
 * same quantity); a refusal is an input error with a reason. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper/docker_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char in[64];
  if (size >= sizeof in) return 0;
  memcpy(in, data, size);
  in[size] = '\0';
  char *q = NULL;
  rs_err_t e = RS_ERR_INIT;
  if (rs_docker_size_quantity(in, &q, &e) < 0) {
    if (e.kind != RS_E_INPUT || !e.msg || !*e.msg) abort();
    rs_err_clear(&e);
    return 0;
  }
  static const char *const suffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  size_t digits = strspn(q, "0123456789");
  int k = -1;
  for (int i = 0; i < 7; i++)
    if (strcmp(q + digits, suffix[i]) == 0) k = i;
  if (digits == 0 || q[0] == '0' || k < 0) abort();
  unsigned long long n = strtoull(q, NULL, 10), bytes = n;
  for (int i = 0; i < k; i++) {
    if (bytes > (unsigned long long)INT64_MAX / 1024) abort();
    bytes *= 1024;
  }
  if (k < 6 && n % 1024 == 0) abort(); /* not in its largest unit */
  char plain[32], *q2 = NULL;
  snprintf(plain, sizeof plain, "%llu", bytes);
  if (rs_docker_size_quantity(plain, &q2, &e) < 0 || strcmp(q, q2) != 0) abort();
  free(q);
  free(q2);
  return 0;
}
