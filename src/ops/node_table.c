/* The server-side Table of Nodes (Accept: application/json;as=Table...),
 * read for status's default table: see include/ops/nodes.h. */
#include "ops/nodes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"

static void row_free(struct rs_node_table_row *r);

void rs_node_table_clear(struct rs_node_table *t) {
  for (size_t i = 0; i < t->n; i++) row_free(&t->rows[i]);
  free(t->rows);
  free(t->cont);
  free(t->rv);
  *t = (struct rs_node_table){0};
}

/* The columns status reads, by the names the API server gives them; the
 * first _COL_NEEDED must be there, the others only for -o wide (a table
 * without them has its rows read as whole Nodes there). */
enum { COL_NAME, COL_STATUS, COL_VERSION, COL_RUNTIME, _COL_NEEDED = COL_RUNTIME + 1,
       COL_IP = _COL_NEEDED, COL_OS, COL_KERNEL, _COL_MAX };
static const char *const col_names[_COL_MAX] = {"Name", "Status", "Version", "Container-Runtime",
                                                "Internal-IP", "OS-Image", "Kernel-Version"};

static int find_columns(const json_t *defs, size_t idx[_COL_MAX], rs_err_t *err) {
  for (size_t c = 0; c < _COL_MAX; c++) {
    size_t i;
    json_t *d;
    idx[c] = SIZE_MAX;
    json_array_foreach(defs, i, d) {
      const char *n = json_string_value(json_object_get(d, "name"));
      if (n && strcmp(n, col_names[c]) == 0 && idx[c] == SIZE_MAX) idx[c] = i;
    }
    if (idx[c] == SIZE_MAX && c < _COL_NEEDED)
      return rs_fail(err, RS_E_INPUT, 0, "the server's Node table has no column \"%s\"", col_names[c]);
  }
  return 0;
}

static void row_free(struct rs_node_table_row *r) {
  free(r->name);
  free(r->status);
  free(r->version);
  free(r->runtime);
  free(r->ip);
  free(r->os);
  free(r->kernel);
}

static int take_row(const json_t *row, size_t ncols, const size_t idx[_COL_MAX],
                    struct rs_node_table_row *ret, rs_err_t *err) {
  const json_t *cells = json_object_get(row, "cells");
  if (!json_is_array(cells) || json_array_size(cells) != ncols)
    return rs_fail(err, RS_E_INPUT, 0, "a row of the server's Node table has not one cell per column");
  const char *v[_COL_MAX] = {0};
  for (size_t c = 0; c < _COL_MAX; c++)
    if (idx[c] != SIZE_MAX && !(v[c] = json_string_value(json_array_get(cells, idx[c]))))
      return rs_fail(err, RS_E_INPUT, 0, "the %s of a row of the server's Node table is not a string",
                     col_names[c]);
  if (!*v[COL_NAME]) return rs_fail(err, RS_E_INPUT, 0, "a row of the server's Node table has no name");
  struct rs_node_table_row r = {.name = strdup(v[COL_NAME]), .status = strdup(v[COL_STATUS]),
                                .version = strdup(v[COL_VERSION]), .runtime = strdup(v[COL_RUNTIME])};
  bool oom = !r.name || !r.status || !r.version || !r.runtime;
  char **opt[] = {[COL_IP - _COL_NEEDED] = &r.ip, [COL_OS - _COL_NEEDED] = &r.os,
                  [COL_KERNEL - _COL_NEEDED] = &r.kernel};
  for (size_t c = _COL_NEEDED; c < _COL_MAX; c++)
    if (v[c] && !(*opt[c - _COL_NEEDED] = strdup(v[c]))) oom = true;
  if (oom) {
    row_free(&r);
    return rs_oom(err);
  }
  *ret = r;
  return 0;
}

int rs_node_table_parse(const char *body, size_t len, struct rs_node_table *ret, rs_err_t *err) {
  json_error_t je;
  json_auto_t *doc = json_loadb(body, len, 0, &je);
  if (!doc) return rs_fail(err, RS_E_INPUT, 0, "invalid JSON: %s", je.text);
  const char *kind = json_string_value(json_object_get(doc, "kind"));
  if (!kind || strcmp(kind, "Table") != 0) return 0;
  const json_t *defs = json_object_get(doc, "columnDefinitions");
  const json_t *rows = json_object_get(doc, "rows");
  const json_t *meta = json_object_get(doc, "metadata");
  if (!json_is_array(defs) || !(json_is_array(rows) || json_is_null(rows) || !rows))
    return rs_fail(err, RS_E_INPUT, 0, "the server's Node table has no columns or no rows");
  size_t idx[_COL_MAX];
  if (find_columns(defs, idx, err) < 0) return -1;
  _cleanup_(rs_node_table_clear) struct rs_node_table t = {0};
  const char *cont = json_string_value(json_object_get(meta, "continue"));
  const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
  if ((cont && *cont && !(t.cont = strdup(cont))) || (rv && *rv && !(t.rv = strdup(rv))))
    return rs_oom(err);
  size_t n = json_array_size(rows);
  if (n && !(t.rows = calloc(n, sizeof *t.rows))) return rs_oom(err);
  for (; t.n < n; t.n++)
    if (take_row(json_array_get(rows, t.n), json_array_size(defs), idx, &t.rows[t.n], err) < 0)
      return -1;
  *ret = t;
  t = (struct rs_node_table){0};
  return 1;
}

/* "Ready" or "Unknown" (no Ready condition), maybe ",SchedulingDisabled":
 * what the Node says too.  "NotReady" is a Ready condition of False or of
 * Unknown, which status tells apart. */
static bool status_exact(const char *s) {
  static const char *const ok[] = {"Ready", "Unknown", "Ready,SchedulingDisabled",
                                   "Unknown,SchedulingDisabled"};
  for (size_t i = 0; i < RS_ARRAY_SIZE(ok); i++)
    if (strcmp(s, ok[i]) == 0) return true;
  return false;
}

bool rs_node_table_row_exact(const struct rs_node_table_row *r) {
  /* "<unknown>" is an empty containerRuntimeVersion, or that very text */
  return status_exact(r->status) && strcmp(r->runtime, "<unknown>") != 0;
}

bool rs_node_table_row_wide_exact(const struct rs_node_table_row *r) {
  /* the printer's "<unknown>" is an empty osImage or kernelVersion (or that
   * text); "<none>" no InternalIP address (or that text), and an empty
   * first one is skipped by status but not by the printer */
  return rs_node_table_row_exact(r) && r->ip && r->os && r->kernel && *r->ip &&
         strcmp(r->ip, "<none>") != 0 && strcmp(r->os, "<unknown>") != 0 &&
         strcmp(r->kernel, "<unknown>") != 0;
}
