/* Parsers of what host commands print (systemctl show, ctr plugins ls):
 * pure functions over the captured output, fuzzed in tests/fuzz. */
#ifndef RS_HELPER_CMDOUT_H
#define RS_HELPER_CMDOUT_H

#include <stdbool.h>

struct rs_unit_state;

/* `systemctl show --property=LoadState,ActiveState,UnitFileState UNIT`:
 * KEY=VALUE lines. */
void rs_systemctl_show_parse(const char *out, struct rs_unit_state *ret);
/* `ctr plugins ls`: a "TYPE ID PLATFORMS STATUS" table; true when the line
 * of io.containerd.grpc.v1 cri says ok. */
bool rs_ctr_cri_ok(const char *out);

#endif
