/* A service's ExecStart= as systemd reads it across its unit file and
 * drop-ins, split into words only where that is safe to do without
 * systemd's expansions, and a long flag of that command set again: how
 * the helper gives cri-dockerd the node's CNI and sandbox settings. */
#ifndef RS_HELPER_UNIT_EXEC_H
#define RS_HELPER_UNIT_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

#define RS_EXEC_MAX_WORDS 512

/* Apply one unit file or drop-in (in systemd's order) to *cmds, the
 * ExecStart= commands in effect (strv, raw values): each non-empty
 * assignment adds one, an empty one resets the list.  *ret_sets: the file
 * assigns ExecStart= at all. */
int rs_unit_exec_read(char ***cmds, const char *text, size_t len, bool *ret_sets, rs_err_t *err);

/* Split one ExecStart= value into words.  Refused (RS_E_INPUT, saying why):
 * a prefix (@ - : + !), a $ or % (systemd expands them), a backslash, a
 * control character, a lone ";" (a second command), an unterminated quote,
 * a word holding both kinds of quotes (it could not be written back),
 * more than RS_EXEC_MAX_WORDS words, and a command that is not an absolute
 * path. */
int rs_exec_split(const char *cmd, char ***ret_argv, rs_err_t *err);

/* The value the program gets for a long flag that takes one ("--f=v" or
 * "--f v"; the last one wins, as Go's flag packages read them); NULL when
 * absent.  A "--f" with no value after it is refused. */
int rs_exec_flag_get(char *const *argv, const char *flag, char **ret, rs_err_t *err);
/* Drop every occurrence of the flag and append "--flag=value". */
int rs_exec_flag_set(char ***argv, const char *flag, const char *value, rs_err_t *err);

/* The words as one ExecStart= value that rs_exec_split reads back as the
 * same words (a word with blanks or quotes is quoted); a word it could not
 * hold is refused. */
int rs_exec_join(char *const *argv, char **ret, rs_err_t *err);

#endif
