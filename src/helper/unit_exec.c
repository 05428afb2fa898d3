/* ExecStart= of a systemd service and the long flags of its command (see
 * unit_exec.h). */
#include "helper/unit_exec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/unit_env.h"

#define SEP " \t" /* between words; any other control character is refused */
#define PREFIXES "@-:+!"

struct exec_read {
  char ***cmds;
  bool sets;
};

static int exec_assign(void *data, const char *key, const char *value, size_t line, rs_err_t *err) {
  struct exec_read *x = data;
  if (strcmp(key, "ExecStart") != 0) return 0;
  x->sets = true;
  if (!*value) { /* an empty assignment resets the list */
    rs_strv_free(*x->cmds);
    *x->cmds = rs_strv_new();
    return *x->cmds ? 0 : rs_oom(err);
  }
  if (rs_strv_len(*x->cmds) >= RS_EXEC_MAX_WORDS)
    return rs_fail(err, RS_E_LIMIT, E2BIG, "line %zu: more than %d ExecStart= commands", line,
                   RS_EXEC_MAX_WORDS);
  return rs_strv_push(x->cmds, value, err);
}

int rs_unit_exec_read(char ***cmds, const char *text, size_t len, bool *ret_sets, rs_err_t *err) {
  struct exec_read x = {cmds, false};
  if (rs_unit_walk(text, len, exec_assign, &x, err) < 0) return -1;
  if (ret_sets) *ret_sets = x.sets;
  return 0;
}

/* A character systemd would expand or treat specially, or that no word
 * of ours may hold. */
static const char *bad_char(char ch) {
  if (ch == '$') return "a $ (systemd expands variables)";
  if (ch == '%') return "a % (systemd expands specifiers)";
  if (ch == '\\') return "a backslash";
  if ((unsigned char)ch < 0x20 || ch == 0x7f) return "a control character";
  return NULL;
}

int rs_exec_split(const char *cmd, char ***ret_argv, rs_err_t *err) {
  const char *p = cmd + strspn(cmd, SEP);
  if (*p && strchr(PREFIXES, *p))
    return rs_fail(err, RS_E_INPUT, EINVAL, "ExecStart= with the prefix '%c' is not supported", *p);
  _cleanup_strv_ char **v = rs_strv_new();
  if (!v) return rs_oom(err);
  for (;;) {
    p += strspn(p, SEP);
    if (!*p) break;
    if (rs_strv_len(v) >= RS_EXEC_MAX_WORDS)
      return rs_fail(err, RS_E_LIMIT, E2BIG, "ExecStart= has more than %d words", RS_EXEC_MAX_WORDS);
    _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(strlen(cmd) + 1);
    char quote = 0;
    for (; *p && (quote || !strchr(SEP, *p)); p++) {
      const char *why = strchr(SEP, *p) ? NULL : bad_char(*p);
      if (why) return rs_fail(err, RS_E_INPUT, EINVAL, "ExecStart= has %s", why);
      if (!quote && (*p == '"' || *p == '\'')) {
        quote = *p;
        continue;
      }
      if (quote && *p == quote) {
        quote = 0;
        continue;
      }
      if (rs_buf_append(&b, p, 1, err) < 0) return -1;
    }
    if (quote) return rs_fail(err, RS_E_INPUT, EINVAL, "ExecStart= has an unterminated quote");
    if (rs_buf_puts(&b, "", err) < 0) return -1;
    if (strchr(b.data, '"') && strchr(b.data, '\''))
      return rs_fail(err, RS_E_INPUT, EINVAL, "ExecStart= has a word with both kinds of quotes");
    if (strcmp(b.data, ";") == 0)
      return rs_fail(err, RS_E_INPUT, EINVAL, "ExecStart= runs more than one command (\";\")");
    if (rs_strv_consume(&v, rs_buf_steal(&b, NULL), err) < 0) return -1;
  }
  if (!v[0]) return rs_fail(err, RS_E_INPUT, EINVAL, "ExecStart= is empty");
  if (v[0][0] != '/')
    return rs_fail(err, RS_E_INPUT, EINVAL, "ExecStart= runs %s, not an absolute path", v[0]);
  *ret_argv = TAKE_PTR(v);
  return 0;
}

/* argv[i] is the flag: 1 for "--flag", 2 for "--flag=...", else 0. */
static int flag_at(const char *w, const char *flag) {
  size_t n = strlen(flag);
  if (strncmp(w, flag, n) != 0) return 0;
  return w[n] == '\0' ? 1 : w[n] == '=' ? 2 : 0;
}

int rs_exec_flag_get(char *const *argv, const char *flag, char **ret, rs_err_t *err) {
  const char *v = NULL;
  for (size_t i = 1; argv[i]; i++) {
    int k = flag_at(argv[i], flag);
    if (k == 2) v = argv[i] + strlen(flag) + 1;
    if (k != 1) continue;
    if (!argv[i + 1] || argv[i + 1][0] == '-')
      return rs_fail(err, RS_E_INPUT, EINVAL, "ExecStart= has %s without a value", flag);
    v = argv[++i];
  }
  char *s = v ? strdup(v) : NULL;
  if (v && !s) return rs_oom(err);
  *ret = s;
  return 0;
}

int rs_exec_flag_set(char ***argv, const char *flag, const char *value, rs_err_t *err) {
  char **a = *argv;
  _cleanup_strv_ char **v = rs_strv_new();
  if (!v) return rs_oom(err);
  for (size_t i = 0; a[i]; i++) {
    int k = i ? flag_at(a[i], flag) : 0;
    if (k == 1 && a[i + 1] && a[i + 1][0] != '-') i++;
    if (k) continue;
    if (rs_strv_push(&v, a[i], err) < 0) return -1;
  }
  if (rs_strv_consume(&v, rs_strdup_printf("%s=%s", flag, value), err) < 0) return -1;
  if (rs_strv_len(v) > RS_EXEC_MAX_WORDS)
    return rs_fail(err, RS_E_LIMIT, E2BIG, "ExecStart= would have more than %d words", RS_EXEC_MAX_WORDS);
  rs_strv_free(*argv);
  *argv = TAKE_PTR(v);
  return 0;
}

int rs_exec_join(char *const *argv, char **ret, rs_err_t *err) {
  _cleanup_buf_ rs_buf_t b = RS_BUF_INIT(0);
  if (!argv[0] || argv[0][0] != '/')
    return rs_fail(err, RS_E_INPUT, EINVAL, "a command must be an absolute path");
  for (size_t i = 0; argv[i]; i++) {
    const char *w = argv[i];
    for (const char *p = w; *p; p++) {
      const char *why = strchr(SEP, *p) ? NULL : bad_char(*p);
      if (why) return rs_fail(err, RS_E_INPUT, EINVAL, "%s has %s", w, why);
    }
    if (strcmp(w, ";") == 0) return rs_fail(err, RS_E_INPUT, EINVAL, "a word \";\" cannot be written");
    bool dq = strchr(w, '"'), sq = strchr(w, '\'');
    if (dq && sq) return rs_fail(err, RS_E_INPUT, EINVAL, "%s has both kinds of quotes", w);
    const char *q = !*w || dq || sq || strpbrk(w, SEP) ? (dq ? "'" : "\"") : "";
    if (rs_buf_printf(&b, err, "%s%s%s%s", i ? " " : "", q, w, q) < 0) return -1;
  }
  *ret = rs_buf_steal(&b, NULL);
  return 0;
}
