/* ops/carrier, the pure parts: its name, its manifest (against
 * tests/data/switch/configmap.json) and the byte-for-byte check of what the
 * API server answers.  Against an API server: test_switch_flow.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube/kubeconfig.h"
#include "ops/carrier.h"
#include "ops/deliver.h"

static const unsigned char blob_bytes[] = "\x7f" "ELF pretend helper \x00\x01\x02\xff";
static const struct rs_helper_blob blob = {"amd64", blob_bytes, sizeof blob_bytes - 1,
                                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};

static char *data_path(const char *name) {
  const char *d = getenv("RS_TEST_DATA");
  return rs_strdup_printf("%s/switch/%s", d ? d : "tests/data", name);
}

static json_t *manifest(bool secret) {
  struct rs_carrier car;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_carrier_init(&car, "kubectl-runtime-switch", secret, &blob, &e), 0);
  json_t *m = rs_carrier_manifest(&car, "20261126-101500-ab12", "node-1", &e);
  cr_assert_not_null(m, "%s", e.msg);
  rs_carrier_clear(&car);
  return m;
}

Test(carrier, name_says_the_bytes) {
  _cleanup_free_ char *n = rs_carrier_name(&blob);
  cr_assert_str_eq(n, "rsw-helper-amd64-0123456789abcdef");
  cr_assert_leq(strlen(n), 63);
}

Test(carrier, manifest_is_immutable_with_our_finalizer) {
  json_auto_t *cm = manifest(false);
  _cleanup_free_ char *p = data_path("configmap.json");
  if (getenv("RS_UPDATE_GOLDEN")) cr_assert_eq(json_dump_file(cm, p, JSON_INDENT(2) | JSON_SORT_KEYS), 0);
  json_auto_t *want = json_load_file(p, 0, NULL);
  _cleanup_free_ char *got = json_dumps(cm, JSON_INDENT(2) | JSON_SORT_KEYS);
  cr_assert(json_equal(cm, want), "configmap.json differs; got:\n%s", got);
  cr_assert(json_is_true(json_object_get(cm, "immutable")));
  json_t *meta = json_object_get(cm, "metadata");
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(meta, "finalizers"), 0)), RS_CARRIER_FINALIZER);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(meta, "annotations"),
                                                     RS_CARRIER_REF_PREFIX "20261126-101500-ab12")), "node-1");
  /* what it carries is what the check accepts */
  rs_err_t e = RS_ERR_INIT;
  int trip = -1;
  cr_assert_eq(rs_carrier_check_object(cm, false, &blob, &trip, &e), 0, "%s", e.msg);
  cr_assert_eq(trip, RS_CARRIER_OK);
}

Test(carrier, secret_variant) {
  json_auto_t *sec = manifest(true);
  cr_assert_str_eq(json_string_value(json_object_get(sec, "kind")), "Secret");
  cr_assert_str_eq(json_string_value(json_object_get(sec, "type")), "Opaque");
  cr_assert_not_null(json_object_get(json_object_get(sec, "data"), RS_DELIVER_FILE));
  cr_assert_null(json_object_get(sec, "binaryData"));
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_carrier_check_object(sec, true, &blob, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(rs_carrier_check_object(sec, false, &blob, NULL, &e), -1, "a Secret is not read as a ConfigMap");
  rs_err_clear(&e);
}

/* What the check must refuse, grouped by what it says. */
struct check_case {
  const char *needle;
  void (*edits[4])(json_t *cm);
};

static json_t *bin(json_t *cm) { return json_object_get(cm, "binaryData"); }
static void set_b64(json_t *cm, const unsigned char *d, size_t n) {
  _cleanup_free_ char *b = rs_base64_encode(d, n);
  json_object_set_new(bin(cm), RS_DELIVER_FILE, json_string(b));
}
static void not_immutable(json_t *cm) { json_object_set_new(cm, "immutable", json_false()); }
static void no_flag(json_t *cm) { json_object_del(cm, "immutable"); }
static void extra_key(json_t *cm) { json_object_set_new(bin(cm), "x", json_string("AA==")); }
static void data_key(json_t *cm) { json_object_set_new(cm, "data", json_pack("{s:s}", "y", "z")); }
static void no_key(json_t *cm) { json_object_del(bin(cm), RS_DELIVER_FILE); json_object_set_new(bin(cm), "h", json_string("AA==")); }
static void not_string(json_t *cm) { json_object_set_new(bin(cm), RS_DELIVER_FILE, json_integer(1)); }
static void one_byte(json_t *cm) {
  unsigned char d[sizeof blob_bytes - 1];
  memcpy(d, blob_bytes, sizeof d);
  d[5] ^= 1;
  set_b64(cm, d, sizeof d);
}
static void shorter(json_t *cm) { set_b64(cm, blob_bytes, sizeof blob_bytes - 2); }
static void longer(json_t *cm) {
  unsigned char d[sizeof blob_bytes];
  memcpy(d, blob_bytes, sizeof d);
  set_b64(cm, d, sizeof d);
}
static void huge(json_t *cm) {
  _cleanup_free_ char *s = malloc(1 << 20);
  memset(s, 'A', (1 << 20) - 1);
  s[(1 << 20) - 1] = '\0';
  json_object_set_new(bin(cm), RS_DELIVER_FILE, json_string(s));
}
static void not_base64(json_t *cm) { json_object_set_new(bin(cm), RS_DELIVER_FILE, json_string("f00!")); }
static void deleting(json_t *cm) {
  json_object_set_new(json_object_get(cm, "metadata"), "deletionTimestamp", json_string("2026-11-26T10:00:00Z"));
}

Test(carrier, check_is_byte_for_byte) {
  static const struct check_case cases[] = {
      {"not immutable", {not_immutable, no_flag}},
      {"exactly one key", {extra_key, data_key, no_key, not_string}},
      {"not the plugin's helper", {one_byte, shorter, longer}},
      {"not the helper's", {huge}},
      {"not base64", {not_base64}},
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++)
    for (size_t k = 0; k < 4 && cases[i].edits[k]; k++) {
      json_auto_t *cm = manifest(false);
      cases[i].edits[k](cm);
      rs_err_t e = RS_ERR_INIT;
      int trip = -1;
      cr_assert_eq(rs_carrier_check_object(cm, false, &blob, &trip, &e), -1, "%s/%zu: accepted", cases[i].needle, k);
      cr_assert_eq(e.kind, RS_E_INPUT);
      cr_assert_eq(trip, RS_CARRIER_CHANGED, "%s/%zu: trip %d", cases[i].needle, k, trip);
      cr_assert(strstr(e.msg, cases[i].needle), "%s/%zu: %s", cases[i].needle, k, e.msg);
      rs_err_clear(&e);
    }
  /* our bytes, but going away: a trip of its own */
  json_auto_t *cm = manifest(false);
  deleting(cm);
  rs_err_t e = RS_ERR_INIT;
  int trip = -1;
  cr_assert_eq(rs_carrier_check_object(cm, false, &blob, &trip, &e), -1);
  cr_assert_eq(trip, RS_CARRIER_DELETING);
  cr_assert(strstr(e.msg, "marked for deletion"), "%s", e.msg);
  rs_err_clear(&e);
}

Test(carrier, the_trip_error_names_it) {
  struct rs_carrier car;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_carrier_init(&car, "kubectl-runtime-switch", false, &blob, &e), 0);
  car.trip = RS_CARRIER_REPLACED;
  car.trip_why = strdup("another object (uid b) holds its name; this run's was a");
  cr_assert_eq(rs_carrier_trip_error(&car, &e), -1);
  cr_assert(strstr(e.msg, "ConfigMap kubectl-runtime-switch/rsw-helper-amd64-0123456789abcdef, the helper's "
                          "carrier, was replaced between verification and pod start (another object (uid b)"),
            "%s", e.msg);
  cr_assert(strstr(e.msg, "refusing to run it as root"), "%s", e.msg);
  rs_err_clear(&e);
  rs_carrier_clear(&car);
}
