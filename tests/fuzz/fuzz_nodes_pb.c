/* Fuzz target: a protobuf NodeList page (the fast path of `status`), a
 * protobuf Status (errors of requests that accept protobuf), and the
 * continue-token peek of the list look-ahead. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/err.h"
#include "kube/pb.h"
#include "ops/nodes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (4u << 20)) return 0;
  struct rs_nodes_report r = {0};
  char *cont = NULL;
  rs_err_t err = RS_ERR_INIT;
  if (rs_nodes_add_pb_page(&r, data, size, &cont, &err) == 0) {
    for (size_t i = 0; i < r.n; i++)
      if (!r.items[i].name) abort(); /* every row is named */
  } else if (!err.msg || cont || r.n) {
    abort(); /* a failure says why and leaves nothing behind */
  }
  free(cont);
  rs_err_clear(&err);
  rs_nodes_report_clear(&r);
  struct rs_pb_status st;
  if (rs_pb_status_decode(data, size, &st) == 0) rs_pb_status_clear(&st);
  /* the look-ahead reads prefixes: the whole input and half of it */
  for (size_t cut = size; ; cut /= 2) {
    char *c = NULL;
    if (rs_pb_peek_continue(data, cut, &c) == 1) free(c);
    else if (c) abort();
    if (cut == 0) break;
  }
  return 0;
}
