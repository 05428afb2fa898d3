/* Nodes: what `status` shows (node objects, kubelet /configz through the
 * node proxy, pods mounting the Docker socket), and the small node
 * operations other commands share (get, cordon/uncordon, annotate). */
#ifndef RS_OPS_NODES_H
#define RS_OPS_NODES_H

#include <stdbool.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"
#include "ops/verdict.h"

#define RS_ANN_CRI_SOCKET "kubeadm.alpha.kubernetes.io/cri-socket"

enum rs_configz_state {
  RS_CONFIGZ_SKIPPED,     /* not asked (node not Ready, or not requested) */
  RS_CONFIGZ_OK,
  RS_CONFIGZ_FORBIDDEN,   /* RBAC: no get on nodes/proxy */
  RS_CONFIGZ_UNAVAILABLE, /* kubelet unreachable or odd answer */
  _RS_CONFIGZ_MAX,
};

struct rs_node_status {
  char *name;
  char *ready;              /* Ready condition status: "True", "False", "Unknown" */
  bool unschedulable;
  char *roles;              /* "control-plane,master"; NULL: none */
  char *kubelet_version;
  char *runtime;            /* "docker", "containerd", "cri-o", ...; NULL: unknown */
  char *runtime_version;
  char *runtime_raw;        /* containerRuntimeVersion as the node reports it */
  char *cri_socket;         /* kubeadm's cri-socket annotation */
  char *os_image;
  char *kernel;
  char *internal_ip;
  char *arch;
  int configz;              /* enum rs_configz_state */
  char *configz_endpoint;   /* kubeletconfig.containerRuntimeEndpoint */
  char *cgroup_driver;      /* kubeletconfig.cgroupDriver */
  char **docker_sock_pods;  /* "ns/name (path)", NULL-terminated, never NULL */
  struct rs_verdict verdict;
};

/* Fill *ret from a Node object (JSON).  The configz and pods fields are
 * left empty. */
int rs_node_status_from_json(const json_t *node, struct rs_node_status *ret,
                             rs_err_t *err);
/* The same from a protobuf Node message (an item of a NodeList, or the raw
 * of a runtime.Unknown; see kube/pb.h).  Empty strings count as absent. */
int rs_node_status_from_pb(const void *msg, size_t len, struct rs_node_status *ret,
                           rs_err_t *err);
void rs_node_status_clear(struct rs_node_status *n);

/* ---- the server-side Table, for the default table ----
 * The Node Table of the API server (1.34: pkg/printers printNode; Accept:
 * application/json;as=Table;v=v1;g=meta.k8s.io, includeObject=None) has
 * Name, Status, Roles, Age, Version, Internal-IP, External-IP, OS-Image,
 * Kernel-Version and Container-Runtime, built from the whole Node on the
 * server: a few hundred bytes a row instead of the Node's kilobytes.  With
 * the node's metadata (PartialObjectMetadata: the cri-socket annotation,
 * the role labels) that is all the default table shows, except where a
 * cell says less than the Node: Status "NotReady" is a Ready condition of
 * False or of Unknown (status shows "NotReady" and "Unknown"), and
 * "<unknown>" an empty field or that very text.  -o wide also shows the
 * Internal-IP, OS-Image and Kernel-Version cells (exact unless "<none>",
 * empty or "<unknown>") and the architecture: the Table has no
 * status.nodeInfo.architecture, so -o wide shows the kubernetes.io/arch
 * label from the metadata, which the kubelet sets to the same value (as
 * kubectl get nodes -L kubernetes.io/arch shows it; whoever may patch the
 * node may change it, and the helper never reads it: the switch takes the
 * architecture from the whole Node); a node without the label has its page
 * read as whole Nodes.  json and yaml read whole Nodes. */
struct rs_node_table_row {
  char *name, *status, *version, *runtime; /* the cells, as they were */
  char *ip, *os, *kernel;                  /* NULL: no such column */
};
struct rs_node_table {
  struct rs_node_table_row *rows;
  size_t n;
  char *cont; /* metadata.continue; NULL: none */
  char *rv;   /* metadata.resourceVersion; NULL: none */
};
/* 1: a Table page read into *ret; 0: the body is JSON but no Table (a
 * server without it answers a NodeList); -1: malformed (a Table without
 * one of those columns, or a row without one cell per column). */
int rs_node_table_parse(const char *json, size_t len, struct rs_node_table *ret, rs_err_t *err);
void rs_node_table_clear(struct rs_node_table *t);
/* Can the row stand for its Node in the default table?  In -o wide? */
bool rs_node_table_row_exact(const struct rs_node_table_row *r);
bool rs_node_table_row_wide_exact(const struct rs_node_table_row *r);
/* A row of the default table from an exact Table row and the node's
 * PartialObjectMetadata (protobuf, an item of a PartialObjectMetadataList);
 * -1 when they are not of the same node.  With wide, a row of -o wide from
 * a wide-exact row: 1 when the metadata has no kubernetes.io/arch label
 * (*ret is filled all the same, without the architecture); without, OS
 * image, kernel, internal IP and architecture stay empty. */
int rs_node_status_from_table(const struct rs_node_table_row *row, const void *meta, size_t len,
                              bool wide, struct rs_node_status *ret, rs_err_t *err);
/* The endpoint to believe: /configz, else the kubeadm annotation, or NULL. */
const char *rs_node_endpoint(const struct rs_node_status *n);
/* "Ready", "NotReady", "Unknown", with ",SchedulingDisabled" as kubectl. */
const char *rs_node_ready_text(const struct rs_node_status *n, char *buf, size_t len);

struct rs_nodes_query {
  const char *const *names;    /* NULL or empty: all nodes (or -l) */
  const char *selector;        /* label selector */
  bool configz;                /* read /configz of Ready nodes */
  bool pods;                   /* find pods mounting the Docker socket */
  int parallel;                /* concurrent /configz requests; 0: 64 */
  long long configz_timeout_ms;/* 0: 5000 */
  long page_size;              /* 0: 500 */
  bool brief;                  /* only what the default table shows (name,
                                  status, roles, kubelet, runtime, CRI
                                  endpoint, verdict): read from the server's
                                  Table where it says enough; OS image,
                                  kernel, IP and architecture may stay empty */
  bool wide;                   /* what -o wide shows: from the server's
                                  Table too, where it says enough */
};

struct rs_nodes_report {
  struct rs_node_status *items;
  size_t n;
  size_t cap;                  /* rows allocated */
  char **warnings;             /* for the user, NULL-terminated */
  char **missing;              /* names asked for that do not exist */
};

/* Collect everything `status` shows.  A forbidden or unreachable /configz
 * does not fail: it becomes a warning and partial rows. */
int rs_nodes_collect(rs_kube_client_t *c, const struct rs_nodes_query *q,
                     struct rs_nodes_report *ret, rs_err_t *err);
void rs_nodes_report_clear(struct rs_nodes_report *r);
/* Append the Nodes of one protobuf NodeList page (GET /api/v1/nodes with
 * Accept: RS_PB_ACCEPT) to r's rows; *ret_continue gets metadata.continue
 * (NULL on the last page).  Configz, pods and verdicts are left empty.
 * On failure r is as it was. */
int rs_nodes_add_pb_page(struct rs_nodes_report *r, const void *data, size_t len,
                         char **ret_continue, rs_err_t *err);
json_t *rs_node_status_to_json(const struct rs_node_status *n);

/* Does this hostPath expose the Docker socket? */
bool rs_path_is_docker_socket(const char *path);

/* GET /api/v1/nodes/<name>. */
int rs_node_get(rs_kube_client_t *c, const char *name, json_t **ret, rs_err_t *err);

/* The nodes a command names (a GET each, a name given twice once; names
 * that do not exist are pushed to *missing), else those the label selector
 * matches (one list; NULL: every node): fn on each. */
int rs_nodes_select(rs_kube_client_t *c, const char *const *names, const char *selector, long page_size,
                    rs_kube_item_fn fn, void *ud, char ***missing, rs_err_t *err);
/* Cordon (true) or uncordon with a strategic-merge patch, as kubectl; sets
 * *ret_changed (may be NULL) to false when it was already so. */
int rs_node_set_unschedulable(rs_kube_client_t *c, const char *name, bool on,
                              bool *ret_changed, rs_err_t *err);
/* Set (value) or remove (NULL) one annotation with a merge patch. */
int rs_node_annotate(rs_kube_client_t *c, const char *name, const char *key,
                     const char *value, rs_err_t *err);

#endif
