/* Fuzz target: the run record and the node's lock, read from objects
 * others can write -- a Node's annotations (rs_sw_record_from_node), a
 * Lease (rs_lease_parse) and the record it carries
 * (rs_sw_record_from_lease) -- then the claim decided on what was read.
 * The input is tried as a Node, as a Lease and as the record's text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/lease.h"
#include "ops/switch_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void claims(const struct rs_sw_record *mirror, const struct rs_lease *l, const struct rs_sw_record *locked) {
  for (int t = 0; t < 2; t++) {
    struct rs_sw_claim_in in = {.node = "n1", .ns = "kube-system", .mirror = mirror, .lease = l,
                                .locked = locked && locked->id ? locked : NULL, .me = "alice", .take_over = t};
    int c = rs_sw_claim(&in);
    if (c >= RS_CLAIM_HELD) free(rs_sw_claim_why(c, &in));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = size <= 65536 ? strndup((const char *)data, size) : NULL;
  if (!s) return 0;
  json_t *j = json_loadb((const char *)data, size, 0, NULL);
  struct rs_sw_record mirror = {0}, locked = {0};
  struct rs_lease l = {0};
  rs_err_t e = RS_ERR_INIT;
  if (j && rs_sw_record_from_node(j, &mirror, &e) == 0) claims(&mirror, NULL, NULL);
  rs_err_clear(&e);
  if (j && rs_lease_parse(j, &l, &e) == 0 && rs_sw_record_from_lease(&l, &locked, &e) == 0)
    claims(&mirror, &l, &locked);
  rs_err_clear(&e);
  rs_sw_record_clear(&locked);
  /* the input as the record's text itself */
  struct rs_lease raw = {.ns = "kube-system", .name = "rsw-node-n1", .record = s};
  if (rs_sw_record_from_lease(&raw, &locked, &e) == 0) claims(&mirror, &raw, &locked);
  rs_err_clear(&e);
  rs_sw_record_clear(&locked);
  rs_sw_record_clear(&mirror);
  rs_lease_clear(&l);
  json_decref(j);
  free(s);
  return 0;
}
