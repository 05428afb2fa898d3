/* Fuzz target: rs_term_escape, through which every string of the cluster's
 * or a node's reaches a terminal.  What comes out must hold no control
 * character but tab and newline, and nothing left to escape. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/term.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 20) return 0;
  char *out = rs_term_escape((const char *)data, size);
  if (!out) return 0;
  for (const unsigned char *p = (const unsigned char *)out; *p; p++)
    if ((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f) abort();
  /* nothing is left to escape: a second pass changes nothing */
  char *again = rs_term_escape(out, strlen(out));
  if (again && strcmp(again, out) != 0) abort();
  free(again);
  free(out);
  return 0;
}
