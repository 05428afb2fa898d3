/* -o/--output, tables, -o json and -o yaml. */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cmd.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"

int rs_cli_output(const struct rs_cli *cli, const char **ret, rs_err_t *err) {
  const struct rs_opt *o = rs_cmd_opt(cli->cmd, "output", 0, NULL);
  const char *v = rs_cli_str(cli, "output");
  if (!v || !*v || !o || rs_opt_allows(o, v)) {
    *ret = v;
    return 0;
  }
  /* kubectl lists the formats sorted, comma-separated */
  const char *sorted[16];
  size_t n = 0;
  for (; o->values[n] && n < RS_ARRAY_SIZE(sorted); n++) {
    size_t j = n;
    for (; j > 0 && strcmp(sorted[j - 1], o->values[n]) > 0; j--) sorted[j] = sorted[j - 1];
    sorted[j] = o->values[n];
  }
  rs_buf_t b = RS_BUF_INIT(0);
  for (size_t i = 0; i < n; i++) rs_buf_printf(&b, NULL, "%s%s", i ? "," : "", sorted[i]);
  _cleanup_free_ char *list = rs_buf_steal(&b, NULL);
  if (!list) return rs_oom(err);
  return rs_fail(err, RS_E_USAGE, 0, "unable to match a printer suitable for the output format \"%s\", "
                 "allowed formats are: %s", v, list);
}

struct rs_table {
  size_t ncols;
  char **cells; /* row-major */
  size_t nrows, cap;
};

struct rs_table *rs_table_new(size_t ncols) {
  struct rs_table *t = calloc(1, sizeof *t);
  if (t) t->ncols = ncols;
  return t;
}

int rs_table_add(struct rs_table *t, const char *const *cells) {
  if (t->nrows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    char **n = realloc(t->cells, cap * t->ncols * sizeof(char *));
    if (!n) return -1;
    t->cells = n;
    t->cap = cap;
  }
  char **row = t->cells + t->nrows * t->ncols;
  for (size_t i = 0; i < t->ncols; i++) {
    row[i] = strdup(cells[i] && *cells[i] ? cells[i] : "<none>");
    if (!row[i]) {
      while (i--) free(row[i]);
      return -1;
    }
  }
  t->nrows++;
  return 0;
}

/* Columns on a terminal: one per UTF-8 character (verdicts have an em
 * dash, three bytes wide in memory and one on the screen). */
static size_t text_width(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
  return n;
}

void rs_table_print(const struct rs_table *t, FILE *f) {
  size_t *w = calloc(t->ncols, sizeof *w);
  if (!w) return;
  for (size_t r = 0; r < t->nrows; r++)
    for (size_t c = 0; c < t->ncols; c++) {
      size_t l = text_width(t->cells[r * t->ncols + c]);
      if (l > w[c]) w[c] = l;
    }
  for (size_t r = 0; r < t->nrows; r++) {
    for (size_t c = 0; c < t->ncols; c++) {
      const char *s = t->cells[r * t->ncols + c];
      fputs(s, f);
      if (c + 1 < t->ncols) fprintf(f, "%*s", (int)(w[c] - text_width(s) + 3), "");
    }
    fputc('\n', f);
  }
  free(w);
}

void rs_table_free(struct rs_table *t) {
  if (!t) return;
  for (size_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
  free(t->cells);
  free(t);
}

int rs_print_json(FILE *f, const json_t *v, rs_err_t *err) {
  if (json_dumpf(v, f, JSON_INDENT(4) | JSON_ENCODE_ANY) < 0)
    return rs_fail(err, RS_E_SYS, errno, "cannot write JSON");
  fputc('\n', f);
  return 0;
}

static int write_file(void *data, unsigned char *buf, size_t size) {
  return fwrite(buf, 1, size, data) == size;
}

/* A string that YAML would read back as something else gets quotes. */
static bool needs_quotes(const char *s) {
  static const char *const words[] = {"", "~", "null", "Null", "NULL", "true", "True", "TRUE",
                                      "false", "False", "FALSE", "y", "Y", "yes", "Yes", "YES",
                                      "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"};
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    if (strcmp(s, words[i]) == 0) return true;
  static regex_t re;
  static int ready = 0;
  if (!ready) {
    if (regcomp(&re, "^[-+]?(\\.?[0-9]|\\.inf|\\.Inf|\\.nan|0x|0o|0b)", REG_EXTENDED | REG_NOSUB) != 0)
      return true;
    ready = 1;
  }
  return regexec(&re, s, 0, NULL, 0) == 0;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, bool quote) {
  yaml_event_t ev;
  yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                               quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
  return yaml_emitter_emit(e, &ev) ? 0 : -1;
}

static int emit(yaml_emitter_t *e, const json_t *v) {
  yaml_event_t ev;
  char num[64];
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    if (!yaml_emitter_emit(e, &ev)) return -1;
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val) {
      if (emit_scalar(e, k, needs_quotes(k)) < 0 || emit(e, val) < 0) return -1;
    }
    yaml_mapping_end_event_initialize(&ev);
    return yaml_emitter_emit(e, &ev) ? 0 : -1;
  }
  case JSON_ARRAY: {
    yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                         json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE
                                                            : YAML_FLOW_SEQUENCE_STYLE);
    if (!yaml_emitter_emit(e, &ev)) return -1;
    size_t i;
    json_t *val;
    json_array_foreach(v, i, val) if (emit(e, val) < 0) return -1;
    yaml_sequence_end_event_initialize(&ev);
    return yaml_emitter_emit(e, &ev) ? 0 : -1;
  }
  case JSON_STRING: {
    const char *s = json_string_value(v);
    return emit_scalar(e, s, needs_quotes(s));
  }
  case JSON_INTEGER:
    snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return emit_scalar(e, num, false);
  case JSON_REAL:
    snprintf(num, sizeof num, "%.17g", json_real_value(v));
    return emit_scalar(e, num, false);
  case JSON_TRUE: return emit_scalar(e, "true", false);
  case JSON_FALSE: return emit_scalar(e, "false", false);
  default: return emit_scalar(e, "null", false);
  }
}

int rs_print_yaml(FILE *f, const json_t *v, rs_err_t *err) {
  yaml_emitter_t e;
  yaml_event_t ev;
  if (!yaml_emitter_initialize(&e)) return rs_oom(err);
  yaml_emitter_set_output(&e, write_file, f);
  yaml_emitter_set_unicode(&e, 1);
  yaml_emitter_set_width(&e, -1);
  yaml_emitter_set_indent(&e, 2);
  int r = -1;
  yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
  if (!yaml_emitter_emit(&e, &ev)) goto out;
  yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
  if (!yaml_emitter_emit(&e, &ev)) goto out;
  if (emit(&e, v) < 0) goto out;
  yaml_document_end_event_initialize(&ev, 1);
  if (!yaml_emitter_emit(&e, &ev)) goto out;
  yaml_stream_end_event_initialize(&ev);
  if (!yaml_emitter_emit(&e, &ev)) goto out;
  r = 0;
out:
  if (r < 0) rs_fail(err, RS_E_SYS, 0, "cannot write YAML: %s", e.problem ? e.problem : "emitter error");
  yaml_emitter_delete(&e);
  return r;
}
