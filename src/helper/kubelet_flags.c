/* Kubelet flags in environment files: find an assignment, split its value
 * into whitespace-separated flags, and rewrite only what changes. */
#include "helper/kubelet_flags.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"

struct assign {
  size_t in_s, in_e; /* the value without its quotes */
  char quote;        /* '"', '\'' or 0 */
  size_t line_no;
};

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* Find the last assignment of var.  Returns 1 found, 0 absent, -1 on a
 * malformed assignment of var. */
static int find_assign(const char *t, size_t len, const char *var,
                       struct assign *ret, rs_err_t *err) {
  size_t vl = strlen(var), pos = 0, line = 0;
  int found = 0;
  if (memchr(t, '\0', len))
    return rs_fail(err, RS_E_INPUT, EINVAL, "NUL byte in an environment file");
  while (pos < len) {
    line++;
    size_t ls = pos, le = pos;
    while (le < len && t[le] != '\n') le++;
    pos = le < len ? le + 1 : le;
    size_t p = ls;
    while (p < le && is_blank(t[p])) p++;
    if (p >= le || t[p] == '#' || t[p] == ';') continue;
    if (le - p > 7 && memcmp(t + p, "export", 6) == 0 && is_blank(t[p + 6])) {
      p += 7;
      while (p < le && is_blank(t[p])) p++;
    }
    if (le - p < vl || memcmp(t + p, var, vl) != 0) continue;
    size_t q = p + vl;
    while (q < le && is_blank(t[q])) q++;
    if (q >= le || t[q] != '=') continue;
    q++;
    while (q < le && is_blank(t[q])) q++;
    struct assign a = {0, 0, 0, line};
    if (q < le && (t[q] == '"' || t[q] == '\'')) {
      char qc = t[q];
      size_t c = q + 1;
      while (c < le && t[c] != qc) {
        if (qc == '"' && t[c] == '\\' && c + 1 < le) c++;
        c++;
      }
      if (c >= le)
        return rs_fail(err, RS_E_INPUT, EINVAL,
                       "line %zu: unterminated quote in %s", line, var);
      a.quote = qc;
      a.in_s = q + 1;
      a.in_e = c;
    } else {
      size_t e = le;
      while (e > q && (is_blank(t[e - 1]) || t[e - 1] == '\r')) e--;
      a.in_s = q;
      a.in_e = e;
    }
    *ret = a;
    found = 1;
  }
  return found;
}

/* Undo the quoting of a value part: backslash escapes in double quotes. */
static char *unquote(const char *s, size_t n, char quote) {
  char *r = malloc(n + 1);
  if (!r) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (quote == '"' && s[i] == '\\' && i + 1 < n) i++;
    r[o++] = s[i];
  }
  r[o] = '\0';
  return r;
}

int rs_env_get(const char *text, size_t len, const char *var, char **ret,
               rs_err_t *err) {
  struct assign a;
  int f = find_assign(text, len, var, &a, err);
  if (f < 0) return -1;
  if (f == 0) {
    *ret = NULL;
    return 0;
  }
  char *v = unquote(text + a.in_s, a.in_e - a.in_s, a.quote);
  if (!v) return rs_oom(err);
  *ret = v;
  return 0;
}

struct tok {
  size_t s, e;    /* token bytes in the text */
  size_t sep_s;   /* whitespace before it starts here */
  bool dead;
  char *repl;     /* replacement text, owned */
};

#define MAX_TOKENS 4096

static int tokenize(const char *t, const struct assign *a, struct tok **ret,
                    size_t *ret_n, rs_err_t *err) {
  size_t cap = 16, n = 0;
  struct tok *v = calloc(cap, sizeof *v);
  if (!v) return rs_oom(err);
  size_t p = a->in_s;
  while (p < a->in_e) {
    size_t sep = p;
    while (p < a->in_e && isspace((unsigned char)t[p])) p++;
    if (p >= a->in_e) break;
    size_t s = p;
    while (p < a->in_e && !isspace((unsigned char)t[p])) {
      if (a->quote == '"' && t[p] == '\\' && p + 1 < a->in_e) p++;
      p++;
    }
    if (n == MAX_TOKENS) {
      free(v);
      return rs_fail(err, RS_E_LIMIT, E2BIG, "more than %d flags", MAX_TOKENS);
    }
    if (n == cap) {
      struct tok *nv = realloc(v, 2 * cap * sizeof *v);
      if (!nv) {
        free(v);
        return rs_oom(err);
      }
      v = nv;
      cap *= 2;
    }
    v[n++] = (struct tok){s, p, sep, false, NULL};
  }
  *ret = v;
  *ret_n = n;
  return 0;
}

static void toks_free(struct tok *v, size_t n) {
  for (size_t i = 0; v && i < n; i++) free(v[i].repl);
  free(v);
}

/* 2: "--flag=v", 1: "--flag", 0: no match */
static int tok_match(const char *t, const struct tok *k, const char *flag) {
  size_t fl = strlen(flag), tl = k->e - k->s;
  if (tl < fl || memcmp(t + k->s, flag, fl) != 0) return 0;
  if (tl == fl) return 1;
  return t[k->s + fl] == '=' ? 2 : 0;
}

/* A bare flag takes the next token as its value unless that is a flag. */
static bool next_is_value(const char *t, const struct tok *v, size_t n,
                          size_t i) {
  return i + 1 < n && t[v[i + 1].s] != '-';
}

int rs_env_flag_get(const char *text, size_t len, const char *var,
                    const char *flag, char **ret, rs_err_t *err) {
  struct assign a;
  int f = find_assign(text, len, var, &a, err);
  if (f < 0) return -1;
  *ret = NULL;
  if (f == 0) return 0;
  struct tok *v = NULL;
  size_t n = 0;
  if (tokenize(text, &a, &v, &n, err) < 0) return -1;
  char *found = NULL;
  for (size_t i = 0; i < n; i++) {
    int m = tok_match(text, &v[i], flag);
    if (!m) continue;
    free(found);
    if (m == 2) {
      size_t vs = v[i].s + strlen(flag) + 1;
      found = unquote(text + vs, v[i].e - vs, a.quote);
    } else if (next_is_value(text, v, n, i)) {
      found = unquote(text + v[i + 1].s, v[i + 1].e - v[i + 1].s, a.quote);
      i++;
    } else {
      found = strdup("");
    }
    if (!found) {
      toks_free(v, n);
      return rs_oom(err);
    }
  }
  toks_free(v, n);
  *ret = found;
  return 0;
}

static bool safe_value(const char *s) {
  for (; *s; s++)
    if (isspace((unsigned char)*s) || *s == '"' || *s == '\'' || *s == '\\' ||
        *s == '$' || *s == '`')
      return false;
  return true;
}

static int note(char ***changes, rs_err_t *err, const char *fmt, ...)
    RS_PRINTF(3, 4);
static int note(char ***changes, rs_err_t *err, const char *fmt, ...) {
  if (!changes) return 0;
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return rs_strv_consume(changes, s, err);
}

int rs_env_flags_edit(const char *text, size_t len, const char *var,
                      const struct rs_flag_op *ops, size_t nops, char **ret,
                      char ***changes, rs_err_t *err) {
  if (len > RS_ENV_MAX_SIZE)
    return rs_fail(err, RS_E_LIMIT, EFBIG, "file larger than %zu bytes",
                   RS_ENV_MAX_SIZE);
  for (size_t k = 0; k < nops; k++)
    if (ops[k].kind != RS_FLAG_DROP &&
        (!ops[k].value || !safe_value(ops[k].value)))
      return rs_fail(err, RS_E_INPUT, EINVAL, "unsafe value for %s",
                     ops[k].flag);
  struct assign a;
  int f = find_assign(text, len, var, &a, err);
  if (f < 0) return -1;
  _cleanup_buf_ rs_buf_t out = RS_BUF_INIT(RS_ENV_MAX_SIZE * 2);

  if (f == 0) {
    /* No assignment: keep the text, add one if a SET asks for it. */
    if (rs_buf_append(&out, text, len, err) < 0) return -1;
    bool any = false;
    for (size_t k = 0; k < nops; k++) {
      if (ops[k].kind != RS_FLAG_SET) continue;
      if (!any) {
        if (len && text[len - 1] != '\n' && rs_buf_puts(&out, "\n", err) < 0)
          return -1;
        if (rs_buf_printf(&out, err, "%s=\"", var) < 0) return -1;
      }
      if (rs_buf_printf(&out, err, "%s%s=%s", any ? " " : "", ops[k].flag,
                        ops[k].value) < 0 ||
          note(changes, err, "%s: added %s=%s", var, ops[k].flag,
               ops[k].value) < 0)
        return -1;
      any = true;
    }
    if (any && rs_buf_puts(&out, "\"\n", err) < 0) return -1;
    *ret = rs_buf_steal(&out, NULL);
    return 0;
  }

  struct tok *v = NULL;
  size_t n = 0;
  if (tokenize(text, &a, &v, &n, err) < 0) return -1;
  _cleanup_strv_ char **append = rs_strv_new();
  int r = append ? 0 : rs_oom(err);
  for (size_t k = 0; r == 0 && k < nops; k++) {
    const struct rs_flag_op *op = &ops[k];
    bool done = false;
    for (size_t i = 0; r == 0 && i < n; i++) {
      if (v[i].dead) continue;
      int m = tok_match(text, &v[i], op->flag);
      if (!m) continue;
      bool pair = m == 1 && next_is_value(text, v, n, i);
      size_t last = pair ? i + 1 : i;
      int old_len = (int)(v[last].e - v[i].s);
      if (op->kind == RS_FLAG_DROP || done) {
        v[i].dead = true;
        if (pair) v[i + 1].dead = true;
        r = note(changes, err, "%s: removed %.*s", var, old_len, text + v[i].s);
      } else {
        done = true;
        char *nt = rs_strdup_printf("%s=%s", op->flag, op->value);
        if (!nt) {
          r = rs_oom(err);
          break;
        }
        bool same = m == 2 && strlen(nt) == v[i].e - v[i].s &&
                    memcmp(nt, text + v[i].s, v[i].e - v[i].s) == 0;
        if (same) {
          free(nt);
        } else {
          free(v[i].repl);
          v[i].repl = nt;
          if (pair) v[i + 1].dead = true;
          r = note(changes, err, "%s: %.*s -> %s", var, old_len, text + v[i].s,
                   v[i].repl);
        }
      }
      if (pair) i++;
    }
    if (r == 0 && !done && op->kind == RS_FLAG_SET) {
      r = rs_strv_consume(&append, rs_strdup_printf("%s=%s", op->flag, op->value), err);
      if (r == 0)
        r = note(changes, err, "%s: added %s=%s", var, op->flag, op->value);
    }
  }
  /* Rebuild: text before the value, the kept tokens each with the spacing
   * that preceded it (the first keeps the value's leading spacing), the
   * appended flags, then the rest of the file. */
  if (r == 0) r = rs_buf_append(&out, text, a.in_s, err);
  bool first = true;
  size_t lead_end = n ? v[0].s : a.in_e;
  for (size_t i = 0; r == 0 && i < n; i++) {
    if (v[i].dead) continue;
    if (first)
      r = rs_buf_append(&out, text + a.in_s, lead_end - a.in_s, err);
    else
      r = rs_buf_append(&out, text + v[i].sep_s, v[i].s - v[i].sep_s, err);
    if (r == 0) {
      if (v[i].repl)
        r = rs_buf_puts(&out, v[i].repl, err);
      else
        r = rs_buf_append(&out, text + v[i].s, v[i].e - v[i].s, err);
    }
    first = false;
  }
  for (size_t i = 0; r == 0 && append && append[i]; i++) {
    if (!first || (i > 0)) r = rs_buf_puts(&out, " ", err);
    else if (n == 0 && lead_end > a.in_s)
      r = rs_buf_append(&out, text + a.in_s, lead_end - a.in_s, err);
    if (r == 0) r = rs_buf_puts(&out, append[i], err);
    first = false;
  }
  /* trailing spacing inside the value, then the closing quote and the rest */
  size_t tail = n ? v[n - 1].e : a.in_e;
  if (r == 0 && n) r = rs_buf_append(&out, text + tail, a.in_e - tail, err);
  if (r == 0) r = rs_buf_append(&out, text + a.in_e, len - a.in_e, err);
  toks_free(v, n);
  if (r < 0) return -1;
  *ret = rs_buf_steal(&out, NULL);
  return 0;
}
