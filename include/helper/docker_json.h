/* What the helper needs from Docker's /etc/docker/daemon.json: the settings
 * it carries over, every key (so none is lost silently), and Docker's own
 * value formats (sizes, ulimits) turned into the ones the new side reads. */
#ifndef RS_HELPER_DOCKER_JSON_H
#define RS_HELPER_DOCKER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

#define RS_DOCKER_MAX_KEYS 1024 /* settings in a daemon.json, at most */

/* One setting as daemon.json has it: a top-level key, or "log-opts.<opt>"
 * and "proxies.<name>" for the members of those two objects. */
struct rs_docker_key {
  char *key;
  char *value; /* short, credentials hidden; NULL when not shown */
};

struct rs_docker_cfg {
  char *cgroup_driver;   /* from exec-opts native.cgroupdriver=; NULL unset */
  char **exec_opts;      /* every exec-opts entry (strv, never NULL) */
  char **mirrors;        /* registry-mirrors (strv, never NULL) */
  char **insecure;       /* insecure-registries (strv, never NULL) */
  char *data_root;       /* data-root (or legacy graph); NULL unset */
  char *default_runtime; /* default-runtime; NULL unset */
  bool live_restore;
  char *log_driver;      /* log-driver; NULL unset (Docker's default: json-file) */
  char *log_max_size;    /* log-opts max-size when it is a string; NULL otherwise */
  char *log_max_file;    /* log-opts max-file when it is a string; NULL otherwise */
  char **ulimits;        /* default-ulimits as name=soft:hard (strv, never NULL) */
  char *ulimits_why;     /* why default-ulimits cannot be read that way; NULL */
  char *proxy[3];        /* proxies: http-proxy, https-proxy, no-proxy; NULL unset */
  struct rs_docker_key *keys; /* every setting, in the file's order */
  size_t nkeys;
};

/* The daemon.json "proxies" members, in the order of rs_docker_cfg.proxy,
 * and the environment variables they stand for. */
extern const char *const rs_docker_proxy_keys[3];
extern const char *const rs_docker_proxy_env[3];

/* Parse daemon.json text; an empty file counts as {}. */
int rs_docker_cfg_parse(const char *text, size_t len, struct rs_docker_cfg *ret,
                        rs_err_t *err);
void rs_docker_cfg_free(struct rs_docker_cfg *c);

/* Docker's size format (log-opts max-size: "10m", "1.5g", "512k", "100MB";
 * binary multiples, units in any case) as a Kubernetes quantity with the
 * same number of bytes ("10Mi", "1536Mi", "100"): exact or refused.  A
 * refusal is an RS_E_INPUT error whose message says why. */
int rs_docker_size_quantity(const char *docker, char **ret, rs_err_t *err);

/* s with the user information of every URL in it (the "u:p" of
 * "http://u:p@h") replaced by three asterisks; NULL on OOM. */
char *rs_redact_userinfo(const char *s);

#endif
