/* CRI-O drop-in (/etc/crio/crio.conf.d/) and registries.conf.d file the
 * helper writes when the target is cri-o, and where CRI-O keeps what Docker
 * kept in /etc/docker (certs.d) and in its data-root. */
#ifndef RS_HELPER_CRIO_CONF_H
#define RS_HELPER_CRIO_CONF_H

#include <stdbool.h>
#include "common/err.h"

#define RS_CRIO_DROPIN "/etc/crio/crio.conf.d/99-kubectl-runtime-switch.conf"
#define RS_CRIO_REGISTRIES "/etc/containers/registries.conf.d/99-kubectl-runtime-switch.conf"
/* Per-registry TLS files, named as Docker names them (*.crt, *.cert, *.key) */
#define RS_CRIO_CERTS_D "/etc/containers/certs.d"
/* Where CRI-O (containers/storage) keeps images and containers */
#define RS_CRIO_STORAGE_CONF "/etc/containers/storage.conf"

struct rs_crio_want {
  bool systemd_cgroup;
  const char *pause_image;   /* NULL: leave CRI-O's */
  const char *cni_bin_dir;   /* NULL: leave */
  const char *cni_conf_dir;  /* NULL: leave */
  char *const *ulimits;      /* default_ulimits, "name=soft:hard"; NULL: leave */
};

char *rs_crio_dropin(const struct rs_crio_want *w);
/* NULL with *ret_empty when there is nothing to write. */
char *rs_crio_registries(char *const *mirrors, char *const *insecure,
                         bool *ret_empty);

#endif
