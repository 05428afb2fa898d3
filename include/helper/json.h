/* A small bounded JSON reader (a tree) and string writer for the static
 * helper, which links no JSON library. */
#ifndef RS_HELPER_JSON_H
#define RS_HELPER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include "common/buf.h"
#include "common/err.h"

#define RS_JSON_MAX_SIZE ((size_t)1 << 20)
#define RS_JSON_MAX_DEPTH 64
#define RS_JSON_MAX_NODES 100000

enum rs_json_type { RS_J_NULL, RS_J_BOOL, RS_J_NUM, RS_J_STR, RS_J_ARR, RS_J_OBJ };

typedef struct rs_json {
  int type;
  bool b;
  double num;
  char *str;              /* RS_J_STR (NUL-terminated; may hold NULs) */
  size_t n;               /* items in arrays and objects */
  struct rs_json *items;  /* RS_J_ARR, RS_J_OBJ values */
  char **keys;            /* RS_J_OBJ keys, parallel to items */
} rs_json_t;

/* Parse a whole document (trailing garbage is an error). */
rs_json_t *rs_json_parse(const char *text, size_t len, rs_err_t *err);
void rs_json_free(rs_json_t *j);
static inline void rs_json_freep(rs_json_t **j) { rs_json_free(*j); }
#define _cleanup_json_ __attribute__((cleanup(rs_json_freep)))

/* Member of an object (last duplicate wins), or NULL. */
const rs_json_t *rs_json_get(const rs_json_t *obj, const char *key);
/* String member, or NULL when absent or not a string. */
const char *rs_json_get_str(const rs_json_t *obj, const char *key);

/* Append s as a JSON string literal (quotes included). */
int rs_json_put_str(rs_buf_t *b, const char *s, rs_err_t *err);

#endif
