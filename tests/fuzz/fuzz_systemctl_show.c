/* Fuzz the parser of `systemctl show` output (what preflight and rollback
 * believe about a service). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper/cmdout.h"
#include "helper/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *t = strndup((const char *)data, size);
  if (!t) return 0;
  struct rs_unit_state st;
  rs_systemctl_show_parse(t, &st);
  /* a value is only what follows KEY= on its own line */
  if (st.active && !strstr(t, "ActiveState=")) abort();
  if (st.loaded && !strstr(t, "LoadState=loaded")) abort();
  free(t);
  return 0;
}
