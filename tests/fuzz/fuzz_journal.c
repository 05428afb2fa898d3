/* Fuzz the journal reader (apply, the guard, rollback and report resume
 * from it): any bytes give records whose report is valid JSON, and the
 * resume queries hold on them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "helper/journal.h"
#include "helper/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  struct rs_journal j;
  if (rs_journal_parse((const char *)data, size, &j, &e) < 0) return 0;
  if (j.boot_at && (j.boot_at >= j.n || strcmp(j.recs[j.boot_at].event, "boot") != 0)) abort();
  size_t rb = rs_journal_last(&j, "state", "rolling-back");
  if (rs_journal_done_after(&j, rb, "stop-kubelet") && !rs_journal_done(&j, "stop-kubelet")) abort();
  struct rs_host h = {.root = ""};
  struct rs_run run = {&h, (char *)"fuzz", (char *)"/nonexistent", 0};
  rs_buf_t b = RS_BUF_INIT(8u << 20);
  int code = -1;
  if (rs_report_json(&run, &j, "docker", "containerd", &b, &code, &e) == 0) {
    rs_json_t *parsed = rs_json_parse(b.data, b.len, &e);
    if (!parsed) abort();
    rs_json_free(parsed);
  }
  rs_buf_free(&b);
  rs_journal_free(&j);
  return 0;
}
