/* The record of a run kept on the node, so that a rerun resumes where the
 * node is (see ops/switch.h): two annotations written in one patch, the
 * contract's RS_HELPER_ANNOTATION_STATE ("<id> <phase>") and RS_ANN_RUN (a
 * JSON object).  The annotations are input others can write: parsing
 * bounds and checks them. */
#ifndef RS_OPS_SWITCH_RECORD_H
#define RS_OPS_SWITCH_RECORD_H

#include <stdbool.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"

#define RS_ANN_RUN "runtime-switch.kubectl.dev/run"

enum rs_sw_op { RS_OP_SWITCH, RS_OP_ROLLBACK };

/* The record kept on the node. */
struct rs_sw_record {
  char *id;
  int op;                       /* enum rs_sw_op */
  char *phase;                  /* see RS_REC_* */
  char *from, *to;
  char *ns;
  char *image;
  char *sandbox;                /* the plan's sandbox image (verify fallback) */
  bool secret;
  bool cordoned;                /* we cordoned the node (so we uncordon it) */
  long long started;            /* unix seconds */
};
/* Phases recorded, in order; the last four are final. */
#define RS_REC_STARTED "started"
#define RS_REC_CORDONED "cordoned"
#define RS_REC_DRAINED "drained"
#define RS_REC_LAUNCHED "launched"
#define RS_REC_SWITCHED "switched"
#define RS_REC_DONE "done"
#define RS_REC_ROLLED_BACK "rolled-back"
#define RS_REC_FAILED "failed"
#define RS_REC_ABANDONED "abandoned"
bool rs_sw_record_final(const struct rs_sw_record *r);
/* Parse the node's annotations; *ret zeroed (no id) when absent. */
int rs_sw_record_from_node(const json_t *node, struct rs_sw_record *ret,
                           rs_err_t *err);
json_t *rs_sw_record_to_json(const struct rs_sw_record *r);
void rs_sw_record_clear(struct rs_sw_record *r);
/* Order of a recorded phase (0 started ... 4 switched, 5 final); -1 unknown. */
int rs_sw_record_rank(const char *phase);
/* Set rec->phase and write both annotations of node in one patch. */
int rs_sw_record_save(rs_kube_client_t *c, const char *node, struct rs_sw_record *rec,
                      const char *phase, rs_err_t *err);

#endif
