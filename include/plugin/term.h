/* Text for a terminal (plugin/output.c): what the cluster or a node wrote
 * is printed only through here. */
#ifndef RS_PLUGIN_TERM_H
#define RS_PLUGIN_TERM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

/* Text the cluster or a node wrote (API messages, names, pod logs, the
 * helper's plan), made safe for a terminal: control characters (C0 but tab
 * and newline, DEL, C1), bytes that are not UTF-8 and the bidirectional
 * and invisible format characters become visible escapes (\x1b, \u009b,
 * \u202e); all else is kept as it is.  Heap; NULL on OOM. */
char *rs_term_escape(const char *s, size_t len);
/* printf to a terminal (or a file a human reads): the whole text passes
 * rs_term_escape, so every string of the cluster's printed through it is
 * safe: every line that carries such text is printed through here. */
void rs_term_printf(FILE *f, const char *fmt, ...) RS_PRINTF(2, 3);
void rs_term_vprintf(FILE *f, const char *fmt, va_list ap) RS_PRINTF(2, 0);

#endif
