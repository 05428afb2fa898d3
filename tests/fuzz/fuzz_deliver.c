/* Fuzz target: what the switch reads from the cluster in ops/deliver.c and
 * ops/carrier.c -- the helper's JSON inside a pod log, a pod's state, a
 * Namespace's Pod Security labels, the pods and the node an image is
 * borrowed from, and a carrier (ConfigMap or Secret) compared with the
 * helper's bytes.  The input is the log as it is, then the same bytes as
 * JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/carrier.h"
#include "ops/deliver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char blob_bytes[] = "\x7f" "ELF pretend helper";
static const struct rs_helper_blob blob = {"amd64", blob_bytes, sizeof blob_bytes - 1,
                                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};

static void from_json(const json_t *j) {
  struct rs_pod_view v;
  rs_pod_view(j, &v);
  rs_err_t e = RS_ERR_INIT;
  char *s = NULL;
  (void)rs_deliver_psa_check(j, &s, &e);
  free(s);
  s = NULL;
  rs_err_clear(&e);
  (void)rs_deliver_pick_image(j, &s, &e);
  free(s);
  s = NULL;
  rs_err_clear(&e);
  (void)rs_deliver_pick_node_image(j, &s, &e);
  free(s);
  rs_err_clear(&e);
  for (int secret = 0; secret < 2; secret++) {
    int trip;
    (void)rs_carrier_check_object(j, secret, &blob, &trip, &e);
    rs_err_clear(&e);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 20) return 0;
  json_t *h = rs_helper_json_from_log((const char *)data, size);
  json_decref(h);
  json_t *j = json_loadb((const char *)data, size, 0, NULL);
  if (j) {
    from_json(j);
    size_t i;
    json_t *item;
    json_array_foreach(j, i, item) from_json(item);
    json_decref(j);
  }
  return 0;
}
