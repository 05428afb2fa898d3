/* Fuzz target: drain's parsers on untrusted text: a label selector
 * (--pod-selector), an RFC 3339 timestamp, and a pod object through
 * kubectl's filter chain. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/drain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  (void)rs_label_selector_valid(s);
  (void)rs_rfc3339_seconds(s);
  json_t *pod = json_loadb((const char *)data, size, 0, NULL);
  if (pod) {
    static const struct rs_drain_opts opts[] = {
        RS_DRAIN_OPTS_INIT,
        {.force = true, .ignore_daemonsets = true, .delete_emptydir_data = true,
         .skip_wait_for_delete_timeout = 10, .grace_period = -1},
    };
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
      for (int ds = RS_DRAIN_DS_FOUND; ds <= RS_DRAIN_DS_ERROR; ds++)
        (void)rs_drain_filter_pod(pod, &opts[i], ds, "daemonsets.apps \"x\" not found", 1800000000LL);
    (void)rs_drain_pod_daemonset(pod);
    json_decref(pod);
  }
  free(s);
  return 0;
}
