/* Internal to src/ops: what the node files share (include/ops/nodes.h is
 * their public face).  node_status.c reads one Node; nodes.c collects them
 * for status. */
#ifndef RS_OPS_NODES_INT_H
#define RS_OPS_NODES_INT_H

#include "ops/nodes.h"

/* Room for `more` further rows; -1 when memory ran out. */
int rs_nodes_reserve(struct rs_nodes_report *r, size_t more);
/* One protobuf Node (an item of a NodeList) as a row more of the report
 * ud; the shape of struct rs_pb_list's item. */
int rs_nodes_add_pb_item(void *ud, const void *msg, size_t len, rs_err_t *err);

#endif
