/* Fuzz target: a page of the server-side Node Table (status's default
 * table): a Table read gives named rows with every cell, anything else is a
 * NodeList-or-other (0) or an error that says why, with nothing kept. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/err.h"
#include "ops/nodes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20)) return 0;
  struct rs_node_table t = {0};
  rs_err_t err = RS_ERR_INIT;
  int r = rs_node_table_parse((const char *)data, size, &t, &err);
  if (r == 1) {
    for (size_t i = 0; i < t.n; i++) {
      const struct rs_node_table_row *row = &t.rows[i];
      if (!row->name || !*row->name || !row->status || !row->version || !row->runtime) abort();
      (void)rs_node_table_row_exact(row);
      if (rs_node_table_row_wide_exact(row) && (!row->ip || !row->os || !row->kernel)) abort();
    }
  } else if (t.rows || t.n || t.cont || t.rv || (r < 0) != (err.msg != NULL)) {
    abort(); /* nothing kept; a failure, and only a failure, says why */
  }
  rs_node_table_clear(&t);
  rs_err_clear(&err);
  return 0;
}
