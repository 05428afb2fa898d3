/* containerd's registry host files, certs.d/<host>/hosts.toml, for what
 * Docker had in daemon.json (registry-mirrors, insecure-registries) and in
 * /etc/docker/certs.d/<host>/ (CA and client certificates). */
#ifndef RS_HELPER_HOSTS_TOML_H
#define RS_HELPER_HOSTS_TOML_H

#include <stdbool.h>

/* A registry host's TLS files, as the absolute paths the runtime reads
 * (strv; certs[i] goes with keys[i]). */
struct rs_reg_tls {
  char **cas;
  char **certs;
  char **keys;
};

/* A registry host as Docker lists it: "host", "host:port". */
bool rs_registry_host_ok(const char *host);
/* hosts.toml for docker.io with the given mirrors (URLs or hosts); tls,
 * when not NULL, holds each mirror's TLS files (NULL: none). */
char *rs_ctd_hosts_mirrors(char *const *mirrors, const struct rs_reg_tls *const *tls);
/* hosts.toml for one registry: insecure (https without verification,
 * then plain http, as Docker tries them), its TLS files (NULL: none), or
 * both. */
char *rs_ctd_hosts_registry(const char *host, bool insecure, const struct rs_reg_tls *tls);

#endif
