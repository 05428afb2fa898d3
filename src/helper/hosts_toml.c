/* containerd's certs.d/<host>/hosts.toml (see hosts_toml.h). */
#include "helper/hosts_toml.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/toml.h"

#define CAPS_ALL "[\"pull\", \"resolve\", \"push\"]"

bool rs_registry_host_ok(const char *h) {
  if (!h || !*h || strlen(h) > 253) return false;
  for (const char *p = h; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != ':' &&
        *p != '[' && *p != ']')
      return false;
  return h[0] != '.' && h[0] != '-';
}

static int put_paths(rs_buf_t *b, char *const *v) {
  for (size_t i = 0; v[i]; i++) {
    _cleanup_free_ char *q = rs_toml_quote(v[i]);
    if (!q || rs_buf_printf(b, NULL, "%s%s", i ? ", " : "", q) < 0) return -1;
  }
  return 0;
}

/* ca = [...] and client = [[cert, key], ...] of a host table */
static int put_tls(rs_buf_t *b, const struct rs_reg_tls *t) {
  if (!t) return 0;
  if (t->cas && t->cas[0] &&
      (rs_buf_puts(b, "  ca = [", NULL) < 0 || put_paths(b, t->cas) < 0 || rs_buf_puts(b, "]\n", NULL) < 0))
    return -1;
  if (!t->certs || !t->certs[0]) return 0;
  if (rs_buf_puts(b, "  client = [", NULL) < 0) return -1;
  for (size_t i = 0; t->certs[i] && t->keys[i]; i++) {
    char *const pair[] = {t->certs[i], t->keys[i], NULL};
    if (rs_buf_puts(b, i ? ", [" : "[", NULL) < 0 || put_paths(b, pair) < 0 || rs_buf_puts(b, "]", NULL) < 0)
      return -1;
  }
  return rs_buf_puts(b, "]\n", NULL);
}

static char *done(rs_buf_t *b, int r) {
  if (r < 0) {
    rs_buf_free(b);
    return NULL;
  }
  return rs_buf_steal(b, NULL);
}

char *rs_ctd_hosts_mirrors(char *const *mirrors, const struct rs_reg_tls *const *tls) {
  rs_buf_t b = RS_BUF_INIT(1 << 20);
  int r = rs_buf_puts(&b, "# written by kubectl runtime-switch from Docker's "
                          "registry-mirrors\nserver = \"https://registry-1.docker.io\"\n", NULL);
  for (size_t i = 0; r == 0 && mirrors && mirrors[i]; i++) {
    const char *m = mirrors[i];
    size_t n = strlen(m);
    while (n && m[n - 1] == '/') n--;
    bool scheme = rs_startswith(m, "https://") || rs_startswith(m, "http://");
    _cleanup_free_ char *url = rs_strdup_printf("%s%.*s", scheme ? "" : "https://", (int)n, m);
    _cleanup_free_ char *q = url ? rs_toml_quote(url) : NULL;
    if (!q) r = -1;
    if (r == 0)
      r = rs_buf_printf(&b, NULL, "\n[host.%s]\n  capabilities = [\"pull\", \"resolve\"]\n", q);
    if (r == 0 && tls) r = put_tls(&b, tls[i]);
  }
  return done(&b, r);
}

char *rs_ctd_hosts_registry(const char *host, bool insecure, const struct rs_reg_tls *tls) {
  if (!rs_registry_host_ok(host) || (!insecure && !tls)) return NULL;
  rs_buf_t b = RS_BUF_INIT(1 << 20);
  int r = rs_buf_printf(&b, NULL, "# written by kubectl runtime-switch from Docker's %s%s%s\n"
                        "server = \"https://%s\"\n\n[host.\"https://%s\"]\n  capabilities = " CAPS_ALL "\n",
                        insecure ? "insecure-registries" : "", insecure && tls ? " and " : "",
                        tls ? "certs.d" : "", host, host);
  if (r == 0) r = put_tls(&b, tls);
  if (r == 0 && insecure)
    r = rs_buf_printf(&b, NULL, "  skip_verify = true\n\n[host.\"http://%s\"]\n  capabilities = " CAPS_ALL "\n",
                      host);
  return done(&b, r);
}
