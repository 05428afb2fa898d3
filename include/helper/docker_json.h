/* What the helper needs from Docker's /etc/docker/daemon.json. */
#ifndef RS_HELPER_DOCKER_JSON_H
#define RS_HELPER_DOCKER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

struct rs_docker_cfg {
  char *cgroup_driver;   /* from exec-opts native.cgroupdriver=; NULL unset */
  char **mirrors;        /* registry-mirrors (strv, never NULL) */
  char **insecure;       /* insecure-registries (strv, never NULL) */
  char *data_root;       /* data-root (or legacy graph); NULL unset */
  char *default_runtime; /* default-runtime; NULL unset */
  bool live_restore;
};

/* Parse daemon.json text; an empty file counts as {}. */
int rs_docker_cfg_parse(const char *text, size_t len, struct rs_docker_cfg *ret,
                        rs_err_t *err);
void rs_docker_cfg_free(struct rs_docker_cfg *c);

#endif
