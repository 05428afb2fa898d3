/* Fuzz target: the rollout's record (ops/rollout_record.h), input anyone
 * who can write ConfigMaps in the working namespace can change.  Any bytes:
 * a record that parses keeps its promises (known states, batches 1, 2, ...
 * in order, every node once, a final rollout has only final nodes), is
 * written back, and what is written reads back and is written the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/rollout_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct rs_ror_record *r) {
  if (!r->id || !r->to || !r->owner || !r->opts.max_unavailable || !r->nnodes) abort();
  if (r->state < 0 || r->state >= _RS_ROR_STATE_MAX) abort();
  if ((r->names != NULL) + (r->selector != NULL) + r->all != 1) abort();
  long prev = 0;
  for (size_t i = 0; i < r->nnodes; i++) {
    const struct rs_ror_node *n = &r->nodes[i];
    if (n->state < 0 || n->state >= _RS_ROR_NODE_STATE_MAX) abort();
    if (n->batch != prev && n->batch != prev + 1) abort();
    prev = n->batch;
    if (rs_ror_node_find(r, n->name) != n) abort();
    if (rs_ror_final(r->state) && !rs_ror_node_final(n->state)) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rs_ror_record r, back;
  rs_err_t e = RS_ERR_INIT;
  if (rs_ror_parse((const char *)data, size, &r, &e) < 0) {
    if (!e.msg || r.id || r.nodes) abort();
    rs_err_clear(&e);
    return 0;
  }
  check(&r);
  char *out = rs_ror_dump(&r, &e);
  if (!out) abort();
  if (rs_ror_parse(out, strlen(out), &back, &e) < 0) abort();
  check(&back);
  char *again = rs_ror_dump(&back, &e);
  if (!again || strcmp(out, again) != 0) abort();
  free(out);
  free(again);
  rs_ror_record_clear(&back);
  rs_ror_record_clear(&r);
  return 0;
}
