/* -o/--output, text for a terminal, tables, -o json and -o yaml. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <regex.h>
#include <stdint.h>
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

/* ---- text for a terminal ---- */

/* The length of the UTF-8 sequence at s (1..4) and its code point, or 0
 * when it is not well-formed (overlong, surrogate, past U+10FFFF, cut). */
static size_t utf8_seq(const unsigned char *s, size_t left, unsigned *ret_cp) {
  unsigned c = s[0], cp;
  size_t n;
  if (c < 0x80) n = 1, cp = c;
  else if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  if (n > left) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  *ret_cp = cp;
  return n;
}

/* Characters that move the cursor, change the terminal or hide text. */
static bool unsafe_cp(unsigned cp) {
  return (cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *rs_term_escape(const char *s, size_t len) {
  rs_buf_t b = RS_BUF_INIT(0);
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    unsigned cp = 0;
    size_t n = utf8_seq(p + i, len - i, &cp);
    int r;
    if (n == 0) r = rs_buf_printf(&b, NULL, "\\x%02x", p[i]), n = 1;
    else if (unsafe_cp(cp) && cp < 0x80) r = rs_buf_printf(&b, NULL, "\\x%02x", cp);
    else if (unsafe_cp(cp)) r = rs_buf_printf(&b, NULL, "\\u%04x", cp);
    else r = rs_buf_append(&b, s + i, n, NULL);
    if (r < 0) {
      rs_buf_free(&b);
      return NULL;
    }
    i += n;
  }
  return rs_buf_steal(&b, NULL);
}

void rs_term_vprintf(FILE *f, const char *fmt, va_list ap) {
  char *text = NULL;
  int n = vasprintf(&text, fmt, ap);
  if (n < 0) return;
  _cleanup_free_ char *safe = rs_term_escape(text, (size_t)n);
  fputs(safe ? safe : "(out of memory)\n", f);
  free(text);
}

void rs_term_printf(FILE *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rs_term_vprintf(f, fmt, ap);
  va_end(ap);
}

/* ---- tables ---- */

/* Whether a cell needs rs_term_escape (anything but printable ASCII goes
 * the slow way; most cells are names and versions in plain ASCII). */
static bool needs_escape(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) return true;
  return false;
}

/* A table: every cell's text back to back in one buffer (a 5,000-node
 * status has 60,000 cells: one allocation each cost more than the rest of
 * the printing), each cell's offset, length and width on screen, and the
 * widest cell of each column. */
struct rs_cell {
  size_t off;
  uint32_t len, width;
};

struct rs_table {
  size_t ncols;
  rs_buf_t text;
  struct rs_cell *cells; /* row-major */
  size_t *colw;
  size_t nrows, cap;
};

struct rs_table *rs_table_new(size_t ncols) {
  struct rs_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->ncols = ncols;
  t->text = (rs_buf_t)RS_BUF_INIT((size_t)1 << 30);
  if (!(t->colw = calloc(ncols ? ncols : 1, sizeof *t->colw))) {
    free(t);
    return NULL;
  }
  return t;
}

/* Columns on a terminal: one per UTF-8 character (verdicts have an em
 * dash, three bytes wide in memory and one on the screen). */
static size_t text_width(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xc0) != 0x80;
  return n;
}

int rs_table_add(struct rs_table *t, const char *const *cells) {
  if (t->nrows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct rs_cell *n = realloc(t->cells, cap * t->ncols * sizeof *n);
    if (!n) return -1;
    t->cells = n;
    t->cap = cap;
  }
  struct rs_cell *row = t->cells + t->nrows * t->ncols;
  size_t start = t->text.len;
  for (size_t i = 0; i < t->ncols; i++) {
    const char *c = cells[i] && *cells[i] ? cells[i] : "<none>";
    size_t len = strlen(c);
    _cleanup_free_ char *esc = NULL;
    if (needs_escape(c, len)) { /* names and versions the API gave */
      if (!(esc = rs_term_escape(c, len))) {
        t->text.len = start;
        return -1;
      }
      c = esc;
      len = strlen(esc);
    }
    if (len > UINT32_MAX || rs_buf_append(&t->text, c, len + 1, NULL) < 0) {
      t->text.len = start; /* the row is not added */
      return -1;
    }
    size_t w = text_width(c, len);
    row[i] = (struct rs_cell){.off = t->text.len - len - 1, .len = (uint32_t)len, .width = (uint32_t)w};
    if (w > t->colw[i]) t->colw[i] = w;
  }
  t->nrows++;
  return 0;
}

/* Each row as one line: cells padded to their column's width, three
 * spaces apart. */
void rs_table_print(const struct rs_table *t, FILE *f) {
  rs_buf_t line = RS_BUF_INIT(0);
  for (size_t r = 0; r < t->nrows; r++) {
    rs_buf_reset(&line);
    for (size_t c = 0; c < t->ncols; c++) {
      const struct rs_cell *cell = &t->cells[r * t->ncols + c];
      size_t pad = c + 1 < t->ncols ? t->colw[c] - cell->width + 3 : 0;
      if (rs_buf_reserve(&line, cell->len + pad + 1, NULL) < 0) {
        rs_buf_free(&line);
        return;
      }
      memcpy(line.data + line.len, t->text.data + cell->off, cell->len);
      memset(line.data + line.len + cell->len, ' ', pad);
      line.len += cell->len + pad;
    }
    line.data[line.len++] = '\n';
    line.data[line.len] = '\0';
    fwrite(line.data, 1, line.len, f);
  }
  rs_buf_free(&line);
}

void rs_table_free(struct rs_table *t) {
  if (!t) return;
  rs_buf_free(&t->text);
  free(t->cells);
  free(t->colw);
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

int rs_cli_nodes_not_found(struct rs_cli *cli, char *const *missing, rs_err_t *err) {
  if (!missing || !missing[0]) return 0;
  for (size_t i = 1; missing[i]; i++)
    rs_term_printf(cli->errf, "Error from server (NotFound): nodes \"%s\" not found\n", missing[i]);
  rs_fail(err, RS_E_API, 404, "nodes \"%s\" not found", missing[0]);
  rs_err_set_reason(err, "NotFound");
  return -1;
}
