/* CRI-O drop-in (/etc/crio/crio.conf.d/) and registries.conf.d file the
 * helper writes when the target is cri-o, and where CRI-O keeps what Docker
 * kept in /etc/docker (certs.d) and in its data-root. */
#ifndef RS_HELPER_CRIO_CONF_H
#define RS_HELPER_CRIO_CONF_H

#include <stdbool.h>
#include <stddef.h>
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
  /* default_runtime with its [crio.runtime.runtimes.<name>] runtime_path
   * (runtime_type "oci"): for a node whose configured default runtime is
   * not installed (CRI-O's own default is crun); NULL: leave */
  const char *default_runtime, *runtime_path;
};

/* CRI-O's built-in default runtime, looked up in PATH when no file gives a
 * runtime_path for it */
#define RS_CRIO_BUILTIN_RUNTIME "crun"
#define RS_CRIO_MAX_DROPINS 64

/* The default runtime the CRI-O configuration files set, read in the order
 * CRI-O merges them (crio.conf, then crio.conf.d/ by name; a later file
 * wins key by key): *ret_name (RS_CRIO_BUILTIN_RUNTIME when none sets it)
 * and *ret_path, its runtime_path (NULL when none sets one: CRI-O looks the
 * name up in PATH). A file that is not TOML is an error naming it. */
int rs_crio_default_runtime(const char *const *names, const char *const *texts, size_t n,
                            char **ret_name, char **ret_path, rs_err_t *err);
/* The container monitor (conmon) the same files give runtime: its
 * monitor_path, else the older [crio.runtime] conmon; NULL when neither
 * is set (CRI-O looks "conmon" up in PATH). */
int rs_crio_monitor_path(const char *const *names, const char *const *texts, size_t n,
                         const char *runtime, char **ret, rs_err_t *err);

char *rs_crio_dropin(const struct rs_crio_want *w);
/* NULL with *ret_empty when there is nothing to write. */
char *rs_crio_registries(char *const *mirrors, char *const *insecure,
                         bool *ret_empty);

#endif
