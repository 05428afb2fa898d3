/* The containerd settings a switch must get right, written into the
 * operator's config.toml with the TOML editor (everything else is kept).
 * The certs.d/<host>/hosts.toml files are in hosts_toml.h. */
#ifndef RS_HELPER_CONTAINERD_TOML_H
#define RS_HELPER_CONTAINERD_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include "common/err.h"

struct rs_ctd_want {
  int major, minor;          /* containerd version that will read the file */
  bool systemd_cgroup;
  const char *sandbox_image; /* NULL: leave */
  const char *cni_bin_dir;   /* NULL: leave */
  const char *cni_conf_dir;  /* NULL: leave */
  const char *config_path;   /* registry config_path; NULL: leave */
};

/* The file's config version (no `version` line means 1). */
int rs_ctd_config_version(const char *text, size_t len, int *ret, rs_err_t *err);

/* Edit the config so containerd's CRI is enabled and matches the node.
 * Version 1 files are turned into version 2 for containerd 1.x (plugin
 * sections renamed to their full IDs); containerd 2.x needs a version 3
 * file, or 3 or 4 from 2.3 on (the caller migrates with `containerd config
 * migrate` first; 2.3 and later migrate to 4). */
int rs_ctd_config_edit(const char *text, size_t len, const struct rs_ctd_want *w,
                       char **ret, char ***changes, rs_err_t *err);

/* The files the config imports (its top-level `imports`, glob patterns
 * containerd merges over it, later winning); an empty list when none. */
int rs_ctd_imports(const char *text, size_t len, char ***ret, rs_err_t *err);

/* Whether the file already configures registries the old way (an entry in
 * registry.mirrors / registry.configs), which excludes config_path; their
 * empty tables do not count. */
int rs_ctd_has_legacy_registry(const char *text, size_t len, bool *ret,
                               rs_err_t *err);

#endif
