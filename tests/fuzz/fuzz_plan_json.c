/* Fuzz the plan.json reader (what apply, the guard and rollback trust after
 * launch wrote it): read, write back, read again; both reads must agree on
 * what apply acts on (steps, files, services). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  _cleanup_err_ rs_err_t e = RS_ERR_INIT;
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(8u << 20);
  struct rs_plan p;
  if (size > 1 << 20 || rs_plan_from_json((const char *)data, size, &p, &e) < 0) return 0;
  if (rs_plan_json(&p, &b, &e) == 0) {
    struct rs_plan q;
    if (rs_plan_from_json(b.data, b.len, &q, &e) != 0) abort();
    if (q.nfiles != p.nfiles || q.nunits != p.nunits || rs_strv_len(q.steps) != rs_strv_len(p.steps))
      abort();
    for (size_t i = 0; i < p.nfiles; i++)
      if (strcmp(p.files[i].path, q.files[i].path) != 0 || strcmp(p.files[i].new_sha, q.files[i].new_sha) != 0 ||
          p.files[i].existed != q.files[i].existed)
        abort();
    for (size_t i = 0; i < p.nunits; i++)
      if (strcmp(p.units[i].unit, q.units[i].unit) != 0 || p.units[i].role != q.units[i].role) abort();
    rs_plan_free(&q);
  }
  rs_plan_free(&p);
  return 0;
}
