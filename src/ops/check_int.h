/* Inside `check` (src/ops/check*.c only): the configuration readers of
 * check_conf_parse.c, which turn each collector's text format into one
 * JSON tree that check_conf.c reads.
 *
 * Every reader is bounded (RS_CONF_MAX_* of ops/check.h) and never fails
 * on bad text: it returns 0 with *ret NULL when the text is not of its
 * format or over a bound, -1 (with *err) only when memory runs out.
 * Scalars are strings.  Where a reader knows lines, an object carries
 * "__line" (its first line) and "__lines" {key: line}. */
#ifndef RS_OPS_CHECK_INT_H
#define RS_OPS_CHECK_INT_H

#include <stddef.h>
#include <jansson.h>

#include "common/err.h"

/* fluent-bit's classic format: [SECTION] headers and "Key Value" lines.
 * An array of sections {"__section": "input" (lower case), "__line", "__lines",
 * key (lower case): value ...}; @INCLUDE and @SET lines are skipped. */
int rs_conf_read_fluentbit(const char *text, size_t len, json_t **ret, rs_err_t *err);

/* fluentd's format: <directive arg> ... </directive>, nested, and
 * "key value" lines.  The top is {"__children": [...]}; a directive is
 * {"__directive": "source", "__arg": "...", "__line", "__lines", key: value,
 * "__children": [...]}. */
int rs_conf_read_fluentd(const char *text, size_t len, json_t **ret, rs_err_t *err);

/* The TOML that vector's configurations use: [a.b] and [[a.b]] tables,
 * key = "string" | 'string' | [strings] | other scalars (kept as text).
 * Nested objects; tables carry "__line" and "__lines". */
int rs_conf_read_toml(const char *text, size_t len, json_t **ret, rs_err_t *err);

/* YAML (the first document), through libyaml's events: no aliases, no
 * tags beyond the plain ones, keys that are scalars. */
int rs_conf_read_yaml(const char *text, size_t len, json_t **ret, rs_err_t *err);

/* JSON (CloudWatch agent), with jansson's bounded depth. */
int rs_conf_read_json(const char *text, size_t len, json_t **ret, rs_err_t *err);

#endif
