/* `check`: what changes or breaks when nodes leave Docker, found without
 * changing anything.  A report is a list of findings, each with a
 * severity, the evidence (the object, the field, the value) and what to
 * do, grouped by node and by workload.
 *
 *   check_path.c      hostPath resolution: what a mount reaches of Docker
 *   check_match.c     names: agents that bind to Docker, log collectors,
 *                     docker-in-docker
 *   check_conf.c      log collectors' configurations (ConfigMap contents)
 *   check_conf_parse.c  their text formats, read into JSON trees
 *   check_workload.c  pods and pod templates, their owners, their findings
 *   check_plan.c      node findings from the helper's preflight plan
 *   check_preflight.c the helper's read-only preflight on each node
 *   check_report.c    findings, merging, sorting, the JSON document
 *   check.c           the run: nodes, lists, findings, the JSON document
 *
 * Library code: it never prints; what could not be checked (a forbidden
 * list, a preflight the user may not run) becomes a note, not a failure. */
#ifndef RS_OPS_CHECK_H
#define RS_OPS_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"

/* The JSON document (README "check"): bump the version on any change that
 * is not an added field. */
#define RS_CHECK_API_VERSION "runtime-switch.k8s.io/v1alpha1"
#define RS_CHECK_KIND "CheckReport"

enum rs_check_sev {
  RS_SEV_INFO,
  RS_SEV_WARNING,
  RS_SEV_BLOCKER,
  _RS_SEV_MAX,
};
const char *rs_check_sev_name(int sev); /* "info", "warning", "blocker" */

/* ---- hostPath (check_path.c) ---- */

/* The longest path we resolve; longer ones are reported as they are. */
#define RS_CHECK_PATH_MAX 4096

/* Resolve path lexically: collapse "//", drop ".", apply ".." (never above
 * "/"), drop a trailing "/", and read the leading "/var/run" as "/run" (a
 * symlink to it on every current distribution).  A relative path is made
 * absolute.  *ret is heap; -1 on OOM or a path over RS_CHECK_PATH_MAX. */
int rs_check_path_resolve(const char *path, char **ret, rs_err_t *err);

/* What a host path reaches of Docker. */
enum rs_path_hit {
  RS_PATH_NONE,
  RS_PATH_SOCKET,       /* the Docker socket itself (or any .../docker.sock) */
  RS_PATH_SOCKET_DIR,   /* a directory holding it: /run (= /var/run) */
  RS_PATH_HOST_ROOT,    /* "/": the whole host, the socket included */
  RS_PATH_DATA,         /* /var/lib/docker, inside it, or /var, /var/lib */
  RS_PATH_LOGS,         /* /var/lib/docker/containers (Docker's JSON logs) */
  RS_PATH_STATE,        /* /run/docker (Docker's runtime state) */
  RS_PATH_SHIM,         /* dockershim's or cri-dockerd's CRI socket */
  RS_PATH_CONFIG,       /* /etc/docker */
  _RS_PATH_MAX,
};
/* Classify an already resolved path. */
int rs_check_path_hit(const char *resolved);

/* A hostPath volume mounted by a container, as one decision: the volume's
 * path and type, the mount's subPath (NULL: none). */
struct rs_mount_verdict {
  int hit;              /* enum rs_path_hit */
  int severity;         /* enum rs_check_sev */
  char *resolved;       /* the host path the container sees (with subPath) */
};
int rs_check_mount(const char *host_path, const char *type, const char *sub_path,
                   struct rs_mount_verdict *ret, rs_err_t *err);
void rs_mount_verdict_clear(struct rs_mount_verdict *v);

/* ---- names (check_match.c) ---- */

/* A known agent that binds to Docker. */
struct rs_agent {
  const char *id;        /* "datadog" */
  const char *name;      /* "Datadog Agent" */
  int severity;
  const char *action;    /* what to do */
};
/* The agent a workload, container or image name names (NULL: none).  Names
 * are compared word by word (split on - _ / . :), so "falco" does not
 * match "falcon". */
const struct rs_agent *rs_check_agent(const char *name);

enum rs_collector {
  RS_COLLECTOR_NONE,
  RS_COLLECTOR_FLUENT_BIT,
  RS_COLLECTOR_FLUENTD,
  RS_COLLECTOR_VECTOR,
  RS_COLLECTOR_PROMTAIL,
  RS_COLLECTOR_FILEBEAT,
  RS_COLLECTOR_CLOUDWATCH,
  _RS_COLLECTOR_MAX,
};
const char *rs_collector_name(int collector);
/* The log collector a name names (word by word, as above). */
int rs_check_collector(const char *name);

/* Does a container run Docker itself (docker-in-docker)?  image: the
 * image reference; argv: command then args (NULL-terminated, may be
 * NULL).  *ret_why (static) says what gave it away. */
bool rs_check_dind(const char *image, const char *const *argv, const char **ret_why);

/* ---- log collectors' configurations (check_conf.c) ---- */

/* Bounds of what is read: a ConfigMap holds at most 1 MiB. */
#define RS_CONF_MAX_BYTES ((size_t)1 << 20)
#define RS_CONF_MAX_LINE 8192
#define RS_CONF_MAX_DEPTH 32
#define RS_CONF_MAX_ITEMS 20000

enum rs_conf_what {
  RS_CONF_DOCKER_PARSER, /* parses lines as Docker's JSON, not CRI's format */
  RS_CONF_DOCKER_FILES,  /* reads Docker's log files (/var/lib/docker/containers) */
  RS_CONF_DOCKER_API,    /* asks the Docker daemon (logs, metadata, discovery) */
  _RS_CONF_WHAT_MAX,
};

/* One thing a configuration does that needs Docker. */
struct rs_conf_hit {
  int what;              /* enum rs_conf_what */
  size_t line;           /* 1-based line in the file; 0: unknown */
  char *where;           /* the setting, e.g. "[INPUT] tail: Parser docker" */
  char *value;           /* the value that gave it away */
};
struct rs_conf_hits {
  struct rs_conf_hit *v;
  size_t n;
};
void rs_conf_hits_clear(struct rs_conf_hits *h);

/* A configuration file of one collector.  A ConfigMap has several (key:
 * file name); fluent-bit's parsers and fluentd's includes live in other
 * keys, so the whole ConfigMap is read at once: keys[i] / values[i] /
 * lens[i], n of them.  The format of each key comes from the collector and
 * the key's extension (.conf, .yaml/.yml, .toml, .json).  Text that does
 * not parse is skipped (a key we cannot read says nothing), never an
 * error; -1 only on OOM.  Hits name the key in `where`. */
int rs_check_conf(int collector, const char *const *keys, const char *const *values,
                  const size_t *lens, size_t n, struct rs_conf_hits *ret, rs_err_t *err);

/* ---- findings and the report ---- */

/* An object: in a finding, owned copies; as an argument, borrowed. */
struct rs_check_ref {
  const char *kind, *ns, *name; /* kind NULL: none */
};

struct rs_check_finding {
  int severity;          /* enum rs_check_sev */
  const char *check;     /* stable id: "docker-socket", ... (README) */
  char **nodes;          /* where it applies, NULL-terminated, sorted; empty:
                            a pod template with no pod on the nodes now */
  struct rs_check_ref workload; /* kind NULL: about the node itself */
  struct rs_check_ref object;   /* the evidence: the object read */
  char *field;           /* where in it: "spec.volumes[1].hostPath.path" */
  char *value;           /* what it says: "/var/run" */
  char *message;
  char *action;          /* what to do */
};

enum rs_preflight_state {
  RS_PF_NOT_NEEDED,      /* the node does not run Docker */
  RS_PF_DONE,
  RS_PF_BLOCKED,         /* done; the helper found blockers */
  RS_PF_SKIPPED,         /* not run: --preflight=false, no rights, a switch
                            in progress on the node; note says which */
  RS_PF_FAILED,          /* run and failed; note says why */
  _RS_PF_MAX,
};
const char *rs_preflight_state_name(int state);

struct rs_check_node {
  char *name;
  char *runtime;         /* containerRuntimeVersion */
  char *kubelet;         /* kubeletVersion */
  char *arch;
  bool leaves_docker;    /* on Docker now, and --to is not cri-dockerd */
  bool preflight_wanted; /* rs_check_preflight runs it */
  int preflight;         /* enum rs_preflight_state */
  char *preflight_note;
  int kubenet;           /* 1 yes, 0 no, -1 unknown (kubenet_note says why) */
  char *kubenet_note;
  json_t *labels;        /* for pod templates' nodeSelector */
  json_t *obj;           /* the Node (nodes that run the preflight) */
  json_t *plan;          /* the helper's plan, or NULL */
};

struct rs_check_report {
  char *to;
  struct rs_check_node *nodes;
  size_t nnodes;
  struct rs_check_finding *v;
  size_t n, cap;
  char **notes;          /* what could not be checked, NULL-terminated */
  char **missing;        /* node names asked for that do not exist */
};
void rs_check_report_clear(struct rs_check_report *r);

/* Add a finding (copies every string; nodes may be NULL).  The same check
 * with the same workload, object, field and value is one finding: its nodes
 * are merged. */
int rs_check_add(struct rs_check_report *r, const struct rs_check_finding *f, rs_err_t *err);
/* The same with the message formatted (f->message is not read). */
int rs_check_addv(struct rs_check_report *r, const struct rs_check_finding *f, rs_err_t *err, const char *fmt,
                  va_list ap) RS_PRINTF(4, 0);
int rs_check_note(struct rs_check_report *r, rs_err_t *err, const char *fmt, ...) RS_PRINTF(3, 4);
/* Sort findings: blockers first, then by workload, node and check. */
void rs_check_sort(struct rs_check_report *r);
/* The worst severity found; -1 when there are no findings. */
int rs_check_worst(const struct rs_check_report *r);
/* Counts per severity (ret[_RS_SEV_MAX]). */
void rs_check_counts(const struct rs_check_report *r, size_t ret[_RS_SEV_MAX]);
/* The documented JSON document (NULL on OOM). */
json_t *rs_check_report_to_json(const struct rs_check_report *r);

/* ---- workloads (check_workload.c) ---- */

/* The owners of pods: ReplicaSets (to their Deployment) and Jobs (to their
 * CronJob), from their lists. */
struct rs_owner_index;
struct rs_owner_index *rs_owner_index_new(void);
void rs_owner_index_free(struct rs_owner_index *x);
/* kind "ReplicaSet" or "Job"; obj is the object (its ownerReferences). */
int rs_owner_index_add(struct rs_owner_index *x, const char *kind, const json_t *obj, rs_err_t *err);
/* The workload a pod belongs to: Deployment via its ReplicaSet, CronJob
 * via its Job, else its controller (DaemonSet, StatefulSet, Job, any
 * other kind), else the pod itself ("Pod").  Strings borrowed from pod or
 * the index. */
void rs_check_pod_owner(const struct rs_owner_index *x, const json_t *pod, struct rs_check_ref *ret);

/* What check_workload needs to read ConfigMaps a collector mounts. */
typedef int (*rs_check_cm_fn)(void *ud, const char *ns, const char *name, json_t **ret,
                              rs_err_t *err);

struct rs_check_scan {
  struct rs_check_report *r;
  rs_check_cm_fn get_configmap;   /* NULL: collectors' configs are not read */
  void *ud;
};
/* Findings of one pod spec: hostPath mounts, docker-in-docker, agents, log
 * collectors (their ConfigMaps through get_configmap).  spec is a PodSpec;
 * field_prefix where it sits in obj ("spec", "spec.template.spec",
 * "spec.jobTemplate.spec.template.spec"); nodes where it runs (may be
 * NULL: a template). */
int rs_check_pod_spec(struct rs_check_scan *s, const json_t *spec, const char *field_prefix,
                      const struct rs_check_ref *workload, const struct rs_check_ref *object,
                      const char *const *nodes, rs_err_t *err);

/* Node-level findings from the helper's plan (warnings, blockers,
 * docker_settings, kubenet, crictl) (check_plan.c). */
int rs_check_plan(struct rs_check_report *r, struct rs_check_node *n, rs_err_t *err);

/* ---- the run (check.c, check_preflight.c) ---- */

struct rs_check_opts {
  const char *const *names;  /* nodes; NULL/empty with selector or all */
  const char *selector;      /* -l */
  bool all;                  /* --all */
  const char *to;            /* target runtime; NULL: containerd */
  bool preflight;            /* run the helper's preflight on Docker nodes */
  const char *ns;            /* working namespace of the preflight */
  const char *image;         /* image for the preflight pods; NULL: borrowed */
  long long preflight_timeout_ms; /* per node; 0: 180 s */
  int parallel;              /* preflights at once; 0: 16 */
  long page_size;            /* list chunks; 0: 500 */
  bool leave_pods;           /* the preflight Jobs deleted, their pods not waited
                                for (a rollout that goes on: they leave meanwhile) */
};

int rs_check_run(rs_kube_client_t *c, const struct rs_check_opts *o,
                 struct rs_check_report *ret, rs_err_t *err);

/* The preflight on every node of r that leaves Docker (check_preflight.c):
 * fills each node's plan, preflight state and note.  pods: every pod of
 * those nodes (to borrow an image the node has). */
int rs_check_preflight(rs_kube_client_t *c, const struct rs_check_opts *o,
                       struct rs_check_report *r, const json_t *pods, rs_err_t *err);

#endif
