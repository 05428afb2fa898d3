/* The container runtimes runtime-switch knows, in one table that both sides
 * read: the plugin and the static node helper (so: libc only).
 *
 * A runtime's name is a string only at the edges (--to, "from"/"to" in the
 * plan and report JSON, the node's annotations); inside, each side holds an
 * enum rs_rt and asks this table what it needs.  Four entries: lookups are
 * linear, and the order of the enum is the order in which an endpoint is
 * recognised (rs_rt_by_endpoint: "cri-dockerd" before "dockershim").
 */
#ifndef RS_HELPER_RUNTIMES_H
#define RS_HELPER_RUNTIMES_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Runtime names (--to, and "from"/"to" in the JSON) */
#define RS_RUNTIME_CRI_DOCKERD "cri-dockerd"
#define RS_RUNTIME_DOCKER "docker" /* dockershim, kubelet < 1.24 */
#define RS_RUNTIME_CONTAINERD "containerd"
#define RS_RUNTIME_CRIO "cri-o"
/* The --to values, as messages list them. */
#define RS_RUNTIME_TARGETS "containerd, cri-o or cri-dockerd"

/* RS_RT_NONE is 0, so a zeroed struct holds "no runtime (yet)". */
enum rs_rt {
  RS_RT_NONE = 0,
  RS_RT_CRI_DOCKERD,
  RS_RT_DOCKER,
  RS_RT_CONTAINERD,
  RS_RT_CRIO,
  _RS_RT_MAX,
};

/* The runtime configuration the helper writes for a target. */
enum rs_rt_config {
  RS_RT_CFG_NONE = 0,       /* Docker's daemon.json stays as it is */
  RS_RT_CFG_CONTAINERD_TOML, /* /etc/containerd/config.toml */
  RS_RT_CFG_CRIO_DROPIN,     /* a drop-in under /etc/crio/crio.conf.d */
};

struct rs_rt_unit {
  const char *name;
  bool required; /* preflight blocks when it is not installed */
};

struct rs_rt_info {
  const char *name;
  /* The CRI endpoint the kubelet is pointed at ("unix://" + socket path). */
  const char *endpoint;
  /* What kubeadm's cri-socket node annotation holds for it when that is
   * not the endpoint (see rs_rt_cri_socket). */
  const char *cri_socket;
  /* An endpoint that contains this names this runtime. */
  const char *endpoint_mark;
  /* containerRuntimeVersion is "<scheme>://<version>" (Docker Engine is
   * "docker" behind dockershim and behind cri-dockerd alike). */
  const char *node_scheme;
  const char *command;         /* its program (`--version`) */
  const char *image_dir;       /* where its images are stored */
  const char *runtime_cgroups; /* kubelet --runtime-cgroups for it; NULL: none */
  enum rs_rt_config config;
  bool target;        /* a --to value */
  bool docker_engine; /* Docker Engine runs the containers */
  /* Enabled and (re)started when switching to it, in this order; [0] is
   * the runtime's daemon. */
  struct rs_rt_unit start[4];
  /* Stopped and disabled when switching away from it (unless Docker Engine
   * stays: docker -> cri-dockerd). */
  const char *stop[4];
};

/* Indexed by enum rs_rt; [RS_RT_NONE] is all zeros. */
static const struct rs_rt_info rs_runtimes[_RS_RT_MAX] = {
    [RS_RT_CRI_DOCKERD] = {
        .name = RS_RUNTIME_CRI_DOCKERD, .command = "cri-dockerd", .node_scheme = "docker",
        .endpoint = "unix:///var/run/cri-dockerd.sock", .endpoint_mark = "cri-dockerd",
        .image_dir = "/var/lib/docker", .target = true, .docker_engine = true,
        /* Docker Engine as its packages enable it, socket included: a
         * switch away disabled docker.socket, the way back enables it */
        .start = {{"docker.service", true}, {"docker.socket", false}, {"cri-docker.socket", false},
                  {"cri-docker.service", true}},
        .stop = {"docker.socket", "docker.service", "cri-docker.socket", "cri-docker.service"},
    },
    [RS_RT_DOCKER] = {
        .name = RS_RUNTIME_DOCKER, .command = "docker", .node_scheme = "docker",
        .endpoint = "unix:///var/run/dockershim.sock", .endpoint_mark = "dockershim",
        .cri_socket = "/var/run/dockershim.sock", /* kubeadm < 1.24 wrote a path */
        .image_dir = "/var/lib/docker", .docker_engine = true,
        .stop = {"docker.socket", "docker.service"},
    },
    [RS_RT_CONTAINERD] = {
        .name = RS_RUNTIME_CONTAINERD, .command = "containerd", .node_scheme = "containerd",
        .endpoint = "unix:///run/containerd/containerd.sock", .endpoint_mark = "containerd",
        .image_dir = "/var/lib/containerd", .runtime_cgroups = "/system.slice/containerd.service",
        .config = RS_RT_CFG_CONTAINERD_TOML, .target = true,
        .start = {{"containerd.service", true}},
    },
    [RS_RT_CRIO] = {
        .name = RS_RUNTIME_CRIO, .command = "crio", .node_scheme = "cri-o",
        .endpoint = "unix:///var/run/crio/crio.sock", .endpoint_mark = "crio",
        .image_dir = "/var/lib/containers/storage", .runtime_cgroups = "/system.slice/crio.service",
        .config = RS_RT_CFG_CRIO_DROPIN, .target = true,
        .start = {{"crio.service", true}}, .stop = {"crio.service"},
    },
};

/* NULL for RS_RT_NONE (or anything outside the table). */
static inline const struct rs_rt_info *rs_rt_info(enum rs_rt rt) {
  return rt > RS_RT_NONE && rt < _RS_RT_MAX ? &rs_runtimes[rt] : NULL;
}

static inline const char *rs_rt_name(enum rs_rt rt) {
  const struct rs_rt_info *i = rs_rt_info(rt);
  return i ? i->name : NULL;
}

/* The host path of its CRI socket (its endpoint without "unix://"). */
static inline const char *rs_rt_socket(enum rs_rt rt) {
  const struct rs_rt_info *i = rs_rt_info(rt);
  return i ? i->endpoint + strlen("unix://") : NULL;
}

/* The value of kubeadm's cri-socket node annotation for it. */
static inline const char *rs_rt_cri_socket(enum rs_rt rt) {
  const struct rs_rt_info *i = rs_rt_info(rt);
  return !i ? NULL : i->cri_socket ? i->cri_socket : i->endpoint;
}

static inline enum rs_rt rs_rt_by_name(const char *name) {
  for (int i = RS_RT_NONE + 1; name && i < _RS_RT_MAX; i++)
    if (strcmp(name, rs_runtimes[i].name) == 0) return (enum rs_rt)i;
  return RS_RT_NONE;
}

/* A --to value: RS_RT_NONE unless name is a runtime the switch goes to. */
static inline enum rs_rt rs_rt_target(const char *name) {
  enum rs_rt rt = rs_rt_by_name(name);
  return rt != RS_RT_NONE && rs_runtimes[rt].target ? rt : RS_RT_NONE;
}

/* The runtime a CRI endpoint names (see the order above). */
static inline enum rs_rt rs_rt_by_endpoint(const char *ep) {
  for (int i = RS_RT_NONE + 1; ep && i < _RS_RT_MAX; i++)
    if (strstr(ep, rs_runtimes[i].endpoint_mark)) return (enum rs_rt)i;
  return RS_RT_NONE;
}

/* The table's own spelling of a containerRuntimeVersion scheme ("docker",
 * "containerd", "cri-o"), or NULL when no runtime here has it; len: the
 * scheme's length (it need not be NUL-terminated). */
static inline const char *rs_rt_scheme(const char *scheme, size_t len) {
  for (int i = RS_RT_NONE + 1; scheme && i < _RS_RT_MAX; i++)
    if (strlen(rs_runtimes[i].node_scheme) == len && strncmp(scheme, rs_runtimes[i].node_scheme, len) == 0)
      return rs_runtimes[i].node_scheme;
  return NULL;
}

#endif
