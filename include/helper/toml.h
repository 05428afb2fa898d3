/* An editor for the subset of TOML that containerd configs use.  It finds
 * tables, keys and the exact byte span of each value (strings of the four
 * kinds, arrays and inline tables over several lines, bare values), so one
 * value can be replaced, one key added or deleted, and every other byte of
 * the operator's file (comments, order, spacing) stays as it was.  Keys
 * under arrays of tables ([[...]]) are read-only. */
#ifndef RS_HELPER_TOML_H
#define RS_HELPER_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

#define RS_TOML_MAX_SIZE ((size_t)1 << 20)
#define RS_TOML_MAX_ENTRIES 20000
#define RS_TOML_MAX_DEPTH 32

enum rs_toml_kind { RS_TOML_HEADER, RS_TOML_KV };

struct rs_toml_entry {
  int kind;
  char **path;     /* HEADER: the table; KV: table path + key path */
  size_t nkey;     /* KV: how many trailing segments are the key */
  bool array;      /* inside an array of tables (or is one) */
  bool inline_tbl; /* KV whose value is an inline table */
  size_t ls, le;   /* the line(s): start, end after the newline */
  size_t vs, ve;   /* KV: the value's bytes */
};

struct rs_toml {
  struct rs_toml_entry *e;
  size_t n;
};

int rs_toml_scan(const char *t, size_t len, struct rs_toml *ret, rs_err_t *err);
void rs_toml_free(struct rs_toml *d);

/* The raw value text at a full path (table segments + key), *ret NULL when
 * absent.  path is NULL-terminated. */
int rs_toml_get_raw(const char *t, size_t len, const char *const *path,
                    char **ret, rs_err_t *err);
/* Decode a raw string value (basic or literal, single line). */
int rs_toml_decode_str(const char *raw, char **ret, rs_err_t *err);
/* Decode a raw array of strings. */
int rs_toml_decode_str_array(const char *raw, char ***ret, rs_err_t *err);

/* Set table.key = raw (raw is TOML text, e.g. "true" or "\"x\"").  table is
 * NULL-terminated (empty for the root table).  Creates the table at the end
 * of the file when it does not exist. */
int rs_toml_set(const char *t, size_t len, const char *const *table,
                const char *key, const char *raw, char **ret, rs_err_t *err);
/* Remove the line(s) of table.key; no-op when absent. */
int rs_toml_delete(const char *t, size_t len, const char *const *table,
                   const char *key, char **ret, rs_err_t *err);

/* Append s as a TOML basic string literal. */
char *rs_toml_quote(const char *s);

#endif
