/* URLs of the API client: percent-encoding, query strings, and the
 * server's base URL (with tls-server-name, the name the URL carries for
 * SNI and the certificate check, while the connection goes to the real
 * host). */
#include <string.h>

#include "client_int.h"
#include "common/cleanup.h"
#include "common/strutil.h"

char *rs_kube_escape(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *o = malloc(n * 3 + 1), *p = o;
  if (!o) return NULL;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      *p++ = (char)ch;
    } else {
      *p++ = '%';
      *p++ = hex[ch >> 4];
      *p++ = hex[ch & 15];
    }
  }
  *p = '\0';
  return o;
}

int rs_kube_query_add(rs_buf_t *b, const char *key, const char *value,
                      rs_err_t *err) {
  if (!value) return 0;
  _cleanup_free_ char *v = rs_kube_escape(value);
  if (!v) return rs_oom(err);
  bool has_q = b->data && strchr(b->data, '?');
  return rs_buf_printf(b, err, "%c%s=%s", has_q ? '&' : '?', key, v);
}

static void curl_urlp(CURLU **u) { curl_url_cleanup(*u); }
static void curl_freep(char **s) { curl_free(*s); }

/* tls-server-name: the URL names it (SNI and certificate check), the
 * connection goes to the real host, and Host: stays the server's. */
static int setup_server_name(rs_kube_client_t *c, rs_err_t *err) {
  const char *server = c->cfg->server;
  _cleanup_(curl_urlp) CURLU *u = curl_url();
  _cleanup_(curl_freep) char *scheme = NULL;
  _cleanup_(curl_freep) char *host = NULL;
  _cleanup_(curl_freep) char *port = NULL;
  _cleanup_(curl_freep) char *path = NULL;
  if (!u || curl_url_set(u, CURLUPART_URL, server, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
    return rs_fail(err, RS_E_CONFIG, 0, "server \"%s\" is not a valid URL", server);
  size_t pl = strlen(path);
  while (pl && path[pl - 1] == '/') path[--pl] = '\0';
  const char *name = c->cfg->tls_server_name;
  c->url_base = rs_strdup_printf("%s://%s:%s%s", scheme, name, port, path);
  _cleanup_free_ char *ct = rs_strdup_printf("%s:%s:%s:%s", name, port, host, port);
  const char *hp = strstr(server, "://");
  hp = hp ? hp + 3 : server;
  size_t hl = strcspn(hp, "/");
  c->host_header = rs_strdup_printf("Host: %.*s", (int)hl, hp);
  if (!c->url_base || !ct || !c->host_header ||
      !(c->connect_to = curl_slist_append(NULL, ct)))
    return rs_oom(err);
  return 0;
}

int url_setup(rs_kube_client_t *c, rs_err_t *err) {
  if (!c->cfg->server) return rs_fail(err, RS_E_CONFIG, 0, "the configuration names no server");
  if (c->cfg->tls_server_name) return setup_server_name(c, err);
  c->url_base = strdup(c->cfg->server);
  return c->url_base ? 0 : rs_oom(err);
}

char *url_of(const rs_kube_client_t *c, const char *path) {
  return rs_strdup_printf("%s%s%s", c->url_base, path[0] == '/' ? "" : "/", path);
}
