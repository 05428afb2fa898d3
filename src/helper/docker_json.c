/* daemon.json: the settings that must survive leaving Docker. */
#include "helper/docker_json.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/json.h"

#define VALUE_MAX 96 /* bytes of a value shown in the plan */

const char *const rs_docker_proxy_keys[3] = {"http-proxy", "https-proxy", "no-proxy"};
const char *const rs_docker_proxy_env[3] = {"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"};

/* The resource limits Docker (and CRI-O) know by name. */
static const char *const ulimit_names[] = {
    "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
    "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
};

static int str_list(const rs_json_t *root, const char *key, char ***ret,
                    rs_err_t *err) {
  const rs_json_t *a = rs_json_get(root, key);
  if (!a || a->type == RS_J_NULL) return 0;
  if (a->type != RS_J_ARR)
    return rs_fail(err, RS_E_INPUT, EINVAL, "daemon.json: %s is not a list", key);
  for (size_t i = 0; i < a->n; i++) {
    if (a->items[i].type != RS_J_STR)
      return rs_fail(err, RS_E_INPUT, EINVAL,
                     "daemon.json: %s[%zu] is not a string", key, i);
    if (strlen(a->items[i].str) != 0 && rs_strv_push(ret, a->items[i].str, err) < 0)
      return -1;
  }
  return 0;
}

static int opt_str(const rs_json_t *root, const char *key, char **ret,
                   rs_err_t *err) {
  const rs_json_t *v = rs_json_get(root, key);
  if (!v || v->type == RS_J_NULL) return 0;
  if (v->type != RS_J_STR)
    return rs_fail(err, RS_E_INPUT, EINVAL, "daemon.json: %s is not a string", key);
  free(*ret);
  *ret = strdup(v->str);
  return *ret ? 0 : rs_oom(err);
}

/* A member's string value, or NULL (absent, or not a string). */
static int member_str(const rs_json_t *obj, const char *key, char **ret, rs_err_t *err) {
  const char *s = obj && obj->type == RS_J_OBJ ? rs_json_get_str(obj, key) : NULL;
  if (!s) return 0;
  *ret = strdup(s);
  return *ret ? 0 : rs_oom(err);
}

char *rs_redact_userinfo(const char *s) {
  rs_buf_t b = RS_BUF_INIT(0);
  int r = 0;
  for (const char *p = s; r == 0 && *p;) {
    const char *sep = strstr(p, "://");
    if (!sep) {
      r = rs_buf_puts(&b, p, NULL);
      break;
    }
    const char *auth = sep + 3;
    size_t n = strcspn(auth, "/?#, \t;\"'");
    const char *at = memrchr(auth, '@', n);
    r = rs_buf_append(&b, p, (size_t)(auth - p), NULL);
    if (r == 0 && at) r = rs_buf_puts(&b, "***", NULL);
    p = at ? at : auth;
  }
  if (r == 0 && !b.data) r = rs_buf_puts(&b, "", NULL);
  if (r < 0) {
    rs_buf_free(&b);
    return NULL;
  }
  return rs_buf_steal(&b, NULL);
}

static bool secret_name(const char *key) {
  static const char *const marks[] = {"token", "password", "secret", "credential"};
  for (size_t i = 0; i < RS_ARRAY_SIZE(marks); i++)
    if (strcasestr(key, marks[i])) return true;
  return false;
}

static int put_scalar(rs_buf_t *b, const rs_json_t *v) {
  switch (v->type) {
  case RS_J_STR: return rs_buf_puts(b, v->str, NULL);
  case RS_J_BOOL: return rs_buf_puts(b, v->b ? "true" : "false", NULL);
  case RS_J_NUM: return rs_buf_printf(b, NULL, "%.17g", v->num);
  case RS_J_NULL: return rs_buf_puts(b, "null", NULL);
  case RS_J_ARR: return rs_buf_puts(b, "[...]", NULL);
  default: return rs_buf_puts(b, "{...}", NULL);
  }
}

/* A value shown in the plan: lists joined with ", ", objects as k=v,
 * at most VALUE_MAX bytes (cut on a character), URLs' user info hidden. */
static char *short_value(const char *key, const rs_json_t *v) {
  if (secret_name(key)) return strdup("(hidden)");
  rs_buf_t b = RS_BUF_INIT(1 << 16);
  int r = 0;
  if (v->type == RS_J_ARR || v->type == RS_J_OBJ) {
    for (size_t i = 0; r == 0 && i < v->n && b.len <= VALUE_MAX; i++) {
      if (i) r = rs_buf_puts(&b, ", ", NULL);
      if (r == 0 && v->type == RS_J_OBJ) r = rs_buf_printf(&b, NULL, "%s=", v->keys[i]);
      if (r == 0) r = put_scalar(&b, &v->items[i]);
    }
  } else {
    r = put_scalar(&b, v);
  }
  if (r == 0 && !b.data) r = rs_buf_puts(&b, "", NULL);
  if (r < 0) {
    rs_buf_free(&b);
    return NULL;
  }
  if (b.len > VALUE_MAX) {
    size_t n = VALUE_MAX;
    while (n && ((unsigned char)b.data[n] & 0xC0) == 0x80) n--;
    b.data[n] = '\0';
    b.len = n;
    if (rs_buf_puts(&b, "...", NULL) < 0) {
      rs_buf_free(&b);
      return NULL;
    }
  }
  /* shown on terminals: no control characters */
  for (size_t i = 0; i < b.len; i++)
    if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f) b.data[i] = '?';
  char *raw = rs_buf_steal(&b, NULL);
  char *red = raw ? rs_redact_userinfo(raw) : NULL;
  free(raw);
  return red;
}

static int add_key(struct rs_docker_cfg *c, const char *key, const rs_json_t *v, rs_err_t *err) {
  struct rs_docker_key *nk = realloc(c->keys, (c->nkeys + 1) * sizeof *nk);
  if (!nk) return rs_oom(err);
  c->keys = nk;
  struct rs_docker_key *k = &c->keys[c->nkeys];
  k->key = strdup(key);
  k->value = short_value(key, v);
  if (!k->key || !k->value) {
    free(k->key);
    free(k->value);
    return rs_oom(err);
  }
  c->nkeys++;
  return 0;
}

/* Every setting: top-level keys, and the members of log-opts and proxies
 * (each of which is carried or reported on its own). */
static int list_keys(struct rs_docker_cfg *c, const rs_json_t *root, rs_err_t *err) {
  const rs_json_t *lo = rs_json_get(root, "log-opts"), *px = rs_json_get(root, "proxies");
  size_t n = root->n + (lo && lo->type == RS_J_OBJ ? lo->n : 0) + (px && px->type == RS_J_OBJ ? px->n : 0);
  if (n > RS_DOCKER_MAX_KEYS)
    return rs_fail(err, RS_E_LIMIT, E2BIG, "daemon.json: more than %d settings (Docker knows about 100)",
                   RS_DOCKER_MAX_KEYS);
  for (size_t i = 0; i < root->n; i++) {
    const char *k = root->keys[i];
    const rs_json_t *v = &root->items[i];
    /* a duplicate key: the last one counts (rs_json_get), listed once */
    bool dup = false;
    for (size_t j = i + 1; j < root->n && !dup; j++) dup = strcmp(root->keys[j], k) == 0;
    if (dup) continue;
    bool split = (strcmp(k, "log-opts") == 0 || strcmp(k, "proxies") == 0) && v->type == RS_J_OBJ;
    if (!split) {
      if (add_key(c, k, v, err) < 0) return -1;
      continue;
    }
    for (size_t m = 0; m < v->n; m++) {
      bool mdup = false;
      for (size_t j = m + 1; j < v->n && !mdup; j++) mdup = strcmp(v->keys[j], v->keys[m]) == 0;
      if (mdup) continue;
      _cleanup_free_ char *full = rs_strdup_printf("%s.%s", k, v->keys[m]);
      if (!full) return rs_oom(err);
      if (add_key(c, full, &v->items[m], err) < 0) return -1;
    }
  }
  return 0;
}

/* A whole JSON number in [min, max]. */
static bool whole(const rs_json_t *v, double min, double max, long long *ret) {
  if (!v || v->type != RS_J_NUM || !(v->num >= min && v->num <= max) || (double)(long long)v->num != v->num)
    return false;
  *ret = (long long)v->num;
  return true;
}

/* default-ulimits: {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}
 * as "nofile=1024:2048" (the form CRI-O's default_ulimits takes). */
static int read_ulimits(struct rs_docker_cfg *c, const rs_json_t *u, rs_err_t *err) {
  if (!u || u->type == RS_J_NULL) return 0;
  const char *why = NULL;
  if (u->type != RS_J_OBJ) why = "not an object";
  for (size_t i = 0; !why && i < u->n; i++) {
    const char *name = u->keys[i];
    const rs_json_t *l = &u->items[i];
    bool known = false;
    for (size_t k = 0; k < RS_ARRAY_SIZE(ulimit_names); k++) known |= strcmp(name, ulimit_names[k]) == 0;
    const char *nm = l->type == RS_J_OBJ ? rs_json_get_str(l, "Name") : NULL;
    long long soft, hard;
    if (!known) {
      why = "a limit Docker does not know";
      break;
    }
    if (l->type != RS_J_OBJ || (nm && strcmp(nm, name) != 0) ||
        !whole(rs_json_get(l, "Soft"), -1, 9007199254740992.0, &soft) ||
        !whole(rs_json_get(l, "Hard"), -1, 9007199254740992.0, &hard)) {
      why = "each limit needs its Name and whole Soft and Hard values";
      break;
    }
    if (hard >= 0 && (soft < 0 || soft > hard)) {
      why = "a soft limit above its hard limit";
      break;
    }
    char *s = rs_strdup_printf("%s=%lld:%lld", name, soft, hard);
    if (rs_strv_consume(&c->ulimits, s, err) < 0) return -1;
  }
  if (why) {
    rs_strv_free(c->ulimits);
    c->ulimits = rs_strv_new();
    c->ulimits_why = strdup(why);
    if (!c->ulimits || !c->ulimits_why) return rs_oom(err);
  }
  return 0;
}

/* exec-opts: Docker accepts "native.cgroupdriver=systemd", any case, spaces */
static int read_cgroup_driver(struct rs_docker_cfg *c, rs_err_t *err) {
  for (size_t k = 0; c->exec_opts[k]; k++) {
    const char *o = c->exec_opts[k];
    while (*o == ' ') o++;
    if (strncasecmp(o, "native.cgroupdriver", 19) != 0) continue;
    o += 19;
    while (*o == ' ') o++;
    if (*o != '=') continue;
    o++;
    while (*o == ' ') o++;
    free(c->cgroup_driver);
    c->cgroup_driver = strndup(o, strcspn(o, " "));
    if (!c->cgroup_driver) return rs_oom(err);
  }
  return 0;
}

int rs_docker_cfg_parse(const char *text, size_t len, struct rs_docker_cfg *ret,
                        rs_err_t *err) {
  struct rs_docker_cfg c = {0};
  c.mirrors = rs_strv_new();
  c.insecure = rs_strv_new();
  c.exec_opts = rs_strv_new();
  c.ulimits = rs_strv_new();
  if (!c.mirrors || !c.insecure || !c.exec_opts || !c.ulimits) {
    rs_docker_cfg_free(&c);
    return rs_oom(err);
  }
  size_t i = 0;
  while (i < len && strchr(" \t\r\n", text[i])) i++;
  if (i == len) {
    *ret = c;
    return 0;
  }
  _cleanup_json_ rs_json_t *root = rs_json_parse(text, len, err);
  int r = root ? 0 : -1;
  if (r == 0 && root->type != RS_J_OBJ)
    r = rs_fail(err, RS_E_INPUT, EINVAL, "daemon.json: not an object");
  if (r == 0) r = str_list(root, "registry-mirrors", &c.mirrors, err);
  if (r == 0) r = str_list(root, "insecure-registries", &c.insecure, err);
  if (r == 0) r = opt_str(root, "graph", &c.data_root, err);
  if (r == 0) r = opt_str(root, "data-root", &c.data_root, err);
  if (r == 0) r = opt_str(root, "default-runtime", &c.default_runtime, err);
  if (r == 0) r = opt_str(root, "log-driver", &c.log_driver, err);
  if (r == 0) r = str_list(root, "exec-opts", &c.exec_opts, err);
  if (r == 0) r = read_cgroup_driver(&c, err);
  if (r == 0) {
    const rs_json_t *lr = rs_json_get(root, "live-restore");
    c.live_restore = lr && lr->type == RS_J_BOOL && lr->b;
    const rs_json_t *lo = rs_json_get(root, "log-opts");
    r = member_str(lo, "max-size", &c.log_max_size, err);
    if (r == 0) r = member_str(lo, "max-file", &c.log_max_file, err);
    const rs_json_t *px = rs_json_get(root, "proxies");
    for (size_t k = 0; r == 0 && k < 3; k++) r = member_str(px, rs_docker_proxy_keys[k], &c.proxy[k], err);
  }
  if (r == 0) r = read_ulimits(&c, rs_json_get(root, "default-ulimits"), err);
  if (r == 0) r = list_keys(&c, root, err);
  /* default-ulimits shown as the limits they set */
  for (size_t k = 0; r == 0 && c.ulimits[0] && k < c.nkeys; k++) {
    if (strcmp(c.keys[k].key, "default-ulimits") != 0) continue;
    rs_buf_t b = RS_BUF_INIT(1 << 16);
    for (size_t u = 0; r == 0 && c.ulimits[u]; u++) r = rs_buf_printf(&b, err, "%s%s", u ? ", " : "", c.ulimits[u]);
    if (r < 0) {
      rs_buf_free(&b);
      break;
    }
    free(c.keys[k].value);
    c.keys[k].value = rs_buf_steal(&b, NULL);
  }
  if (r < 0) {
    rs_docker_cfg_free(&c);
    return -1;
  }
  *ret = c;
  return 0;
}

void rs_docker_cfg_free(struct rs_docker_cfg *c) {
  if (!c) return;
  free(c->cgroup_driver);
  rs_strv_free(c->exec_opts);
  rs_strv_free(c->mirrors);
  rs_strv_free(c->insecure);
  free(c->data_root);
  free(c->default_runtime);
  free(c->log_driver);
  free(c->log_max_size);
  free(c->log_max_file);
  rs_strv_free(c->ulimits);
  free(c->ulimits_why);
  for (size_t i = 0; i < 3; i++) free(c->proxy[i]);
  for (size_t i = 0; i < c->nkeys; i++) {
    free(c->keys[i].key);
    free(c->keys[i].value);
  }
  free(c->keys);
  memset(c, 0, sizeof *c);
}

/* ---- sizes ---- */

#define SIZE_DIGITS_MAX 19 /* digits in all: the number fits 64 bits */

static unsigned long long gcd(unsigned long long a, unsigned long long b) {
  while (b) {
    unsigned long long t = a % b;
    a = b;
    b = t;
  }
  return a;
}

int rs_docker_size_quantity(const char *s, char **ret, rs_err_t *err) {
  /* Docker (go-units RAMInBytes): digits, an optional fraction, an optional
   * space, then an optional k/m/g/t/p, "i" and "b" in any case; multiples
   * of 1024.  It computes in floating point and truncates: here the value
   * is computed exactly, and one that is not a whole number of bytes is
   * refused rather than guessed. */
  static const char units[] = "kmgtp";
  const char *p = s, *ip = s, *fp = NULL;
  size_t id = strspn(p, "0123456789"), fd = 0;
  p += id;
  if (*p == '.') {
    fp = ++p;
    fd = strspn(p, "0123456789");
    p += fd;
  }
  if (id == 0 || (fp && fd == 0))
    return rs_fail(err, RS_E_INPUT, EINVAL, "\"%s\" is not a size Docker reads (a number, then k, m, g, t or p)", s);
  if (id + fd > SIZE_DIGITS_MAX) return rs_fail(err, RS_E_INPUT, ERANGE, "\"%s\" has too many digits", s);
  if (*p == ' ') p++;
  int exp = 0;
  const char *u = *p ? strchr(units, *p | 0x20) : NULL;
  if (u) {
    exp = (int)(u - units) + 1;
    p++;
    if ((*p | 0x20) == 'i') p++;
  }
  if ((*p | 0x20) == 'b') p++;
  if (*p) return rs_fail(err, RS_E_INPUT, EINVAL, "\"%s\" is not a size Docker reads (unit)", s);
  /* bytes = num / den * mul, with num the digits, den = 10^fd, mul = 1024^exp */
  unsigned long long num = 0, den = 1, mul = 1ull << (10 * exp);
  for (size_t i = 0; i < id; i++) num = num * 10 + (unsigned)(ip[i] - '0');
  for (size_t i = 0; i < fd; i++) {
    num = num * 10 + (unsigned)(fp[i] - '0');
    den *= 10;
  }
  unsigned long long g = gcd(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  while (den % 2 == 0 && mul % 2 == 0) {
    den /= 2;
    mul /= 2;
  }
  if (num == 0) return rs_fail(err, RS_E_INPUT, EINVAL, "\"%s\" is no bytes; Docker refuses it too", s);
  if (den != 1)
    return rs_fail(err, RS_E_INPUT, EINVAL, "\"%s\" is not a whole number of bytes (Docker rounds it "
                   "down); the kubelet's quantity would differ", s);
  if (num > (unsigned long long)INT64_MAX / mul)
    return rs_fail(err, RS_E_INPUT, ERANGE, "\"%s\" is larger than the kubelet takes", s);
  unsigned long long bytes = num * mul;
  static const char *const suffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  int k = 0;
  while (k < 6 && bytes % 1024 == 0) {
    bytes /= 1024;
    k++;
  }
  char *q = rs_strdup_printf("%llu%s", bytes, suffix[k]);
  if (!q) return rs_oom(err);
  *ret = q;
  return 0;
}
