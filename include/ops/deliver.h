/* Delivering the node helper: the Jobs that run it on the node
 * (nodeName-pinned, hostPID, privileged, tolerating every taint,
 * system-node-critical where allowed, an image the node already has, never
 * pulled), mounting the carrier of its bytes (ops/carrier.h: what is
 * checked where so that only the plugin's own bytes run as root), and the
 * working namespace they run in.
 *
 * The manifest builders are pure (JSON in, JSON out) so tests and --dry-run
 * see exactly what is sent.  The API calls below them create, wait for and
 * delete those objects; none of them prints. */
#ifndef RS_OPS_DELIVER_H
#define RS_OPS_DELIVER_H

#include <stdbool.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"
#include "ops/helper_blob.h"

/* The working namespace: the plugin's own, created when absent (with the
 * Pod Security labels its privileged pods need), holding nothing but the
 * carrier and the Jobs.  Any other (kube-system ...) only with -n. */
#define RS_DELIVER_DEFAULT_NS "kubectl-runtime-switch"
/* Where an admin finds it as a manifest (for users who may not create
 * namespaces). */
#define RS_DELIVER_NS_MANIFEST "rbac/namespace.yaml"
/* Where the helper file is mounted in the Job's container. */
#define RS_DELIVER_MOUNT_DIR "/opt/kubectl-runtime-switch"
#define RS_DELIVER_FILE "rs-node-helper"
#define RS_DELIVER_CONTAINER "helper"
#define RS_DELIVER_PRIORITY "system-node-critical"

/* Labels and annotations on everything we create. */
#define RS_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define RS_MANAGED_BY "kubectl-runtime-switch"
#define RS_LABEL_ID "runtime-switch.kubectl.dev/id"
#define RS_LABEL_ROLE "runtime-switch.kubectl.dev/role"
#define RS_ANN_NODE "runtime-switch.kubectl.dev/node"
/* for people reading the carrier; never trusted (its bytes are compared) */
#define RS_ANN_HELPER_SHA "runtime-switch.kubectl.dev/helper-sha256"

/* A run id: what the helper accepts ([a-z0-9][a-z0-9-]{0,39}). */
#define RS_RUN_ID_MAX 40

/* What each Job runs. */
enum rs_job_role {
  RS_JOB_PREFLIGHT, /* preflight --to T --id ID: the plan, read-only */
  RS_JOB_SWITCH,    /* launch --to T --id ID: backups + the host unit */
  RS_JOB_VERIFY,    /* report --id ID --wait S: on the new runtime */
  RS_JOB_ROLLBACK,  /* rollback --id ID --reason R */
  _RS_JOB_MAX,
};

struct rs_deliver_spec {
  const char *ns;        /* working namespace */
  const char *node;      /* node name (nodeName of every pod) */
  const char *id;        /* run id */
  const char *to;        /* target runtime (preflight, switch) */
  const char *image;     /* container image; must be on the node already */
  const char *carrier;   /* the carrier's name (ops/carrier.h) */
  const char *helper_sha256; /* the embedded helper's: every command line
                            carries --expect-sha256 with it */
  bool use_secret;       /* carry the helper in a Secret, not a ConfigMap */
  bool priority;         /* priorityClassName system-node-critical */
  bool no_images;        /* helper --no-images */
  long helper_deadline_s;/* helper launch --deadline (0: helper default) */
  long kubelet_wait_s;   /* helper launch --kubelet-wait (0: default) */
  long wait_s;           /* verify: report --wait */
  const char *reason;    /* rollback --reason (NULL: none) */
};

/* A fresh run id from the clock and /dev/urandom: "YYYYMMDD-HHMMSS-xxxx". */
int rs_run_id_new(char ret[RS_RUN_ID_MAX + 1], rs_err_t *err);
bool rs_run_id_valid(const char *id);

/* Job names: "rsw-<id>-<role>" (at most 63 characters, a valid label
 * value). */
char *rs_deliver_job_name(const char *id, int role);
const char *rs_job_role_name(int role);

/* "<group_prefix>/namespaces/<ns>/<plural>[/<name>]", escaped (heap). */
char *rs_deliver_path(const char *group_prefix, const char *ns,
                      const char *plural, const char *name);
/* The batch/v1 Job for one role. */
json_t *rs_deliver_job(const struct rs_deliver_spec *s, int role, rs_err_t *err);
/* The helper's argv for a role (NULL-terminated, heap strings). */
char **rs_deliver_helper_argv(const struct rs_deliver_spec *s, int role,
                              rs_err_t *err);

/* ---- Pod Security ---- */

/* Check a Namespace object's Pod Security labels.  Returns 0 when the
 * enforce level admits privileged hostPID pods (or no level is set);
 * otherwise -1 with *err (RS_E_CONFIG) saying which label forbids them
 * and what to change.  *ret_warning (may be NULL) gets a message when only
 * warn/audit would complain (heap; NULL when nothing to say). */
int rs_deliver_psa_check(const json_t *ns_obj, char **ret_warning, rs_err_t *err);

/* ---- choosing the image ---- */

/* From a pod list's items (pods on the node), the image to run the helper
 * with: a container that is running now (so the image is on the node),
 * preferring pods that stay on the node through a drain (mirror/static,
 * DaemonSet), then the most used image; ties by name.  *ret is heap;
 * -1 (RS_E_INPUT) when no running container is found. */
int rs_deliver_pick_image(const json_t *pods, char **ret, rs_err_t *err);

/* When no container runs on the node: the smallest image the node lists
 * in status.images (present, whatever the list leaves out), by a tagged
 * name; -1 (RS_E_INPUT) when it lists none. */
int rs_deliver_pick_node_image(const json_t *node, char **ret, rs_err_t *err);

/* ---- API calls ---- */

/* The Namespace object of the default working namespace (what
 * RS_DELIVER_NS_MANIFEST holds): Pod Security enforce/audit/warn
 * "privileged" and our managed-by label. */
json_t *rs_deliver_namespace(rs_err_t *err);

/* GET the namespace and check its labels (above).  A missing namespace is
 * created (rs_deliver_namespace) when create is set (the default one;
 * *ret_created says so), else an error naming it; a user who may not
 * create namespaces is told which manifest an admin applies. */
int rs_deliver_check_namespace(rs_kube_client_t *c, const char *ns, bool create,
                               bool *ret_created, char **ret_warning,
                               rs_err_t *err);

/* Ask the API server (dryRun=All) whether the pod of this Job would be
 * admitted: Pod Security, quotas on the priority class.  When only the
 * priority class is refused, turns s->priority off and *ret_note says so.
 * Other refusals fail with the server's message and what to change. */
int rs_deliver_probe(rs_kube_client_t *c, struct rs_deliver_spec *s,
                     char **ret_note, rs_err_t *err);

/* Create the Job, suspended (spec.suspend: the Job controller makes no
 * pod until rs_deliver_unsuspend_job).  *ret_job (may be NULL) gets the
 * Job as the API server answered; an existing Job of the same name is
 * returned instead (a resumed run; *ret_existed, may be NULL, says so):
 * its UID binds it to the run's record. */
int rs_deliver_put_job(rs_kube_client_t *c, const struct rs_deliver_spec *s,
                       int role, json_t **ret_job, bool *ret_existed,
                       rs_err_t *err);
/* Let the Job with this uid make its pod (spec.suspend=false; a JSON
 * patch that tests the uid first). */
int rs_deliver_unsuspend_job(rs_kube_client_t *c, const char *ns,
                             const char *job, const char *uid, rs_err_t *err);

/* Job `job` in `ns` as the API has it (NULL *ret when there is none). */
int rs_deliver_get_job(rs_kube_client_t *c, const char *ns, const char *job,
                       json_t **ret, rs_err_t *err);
/* The UID of Job `job` in `ns` (heap; NULL *ret when there is none). */
int rs_deliver_job_uid(rs_kube_client_t *c, const char *ns, const char *job,
                       char **ret, rs_err_t *err);
/* Whether Job `job` exists in `ns` (a 404 is false, not an error). */
int rs_deliver_job_exists(rs_kube_client_t *c, const char *ns, const char *job,
                          bool *ret, rs_err_t *err);
/* The latest pod of a Job, as seen now (NULL *ret: none yet). */
int rs_deliver_job_pod(rs_kube_client_t *c, const char *ns, const char *job,
                       json_t **ret, rs_err_t *err);
/* Why the Job controller could not create pods (FailedCreate events), or
 * NULL *ret. */
int rs_deliver_job_failed_create(rs_kube_client_t *c, const char *ns,
                                 const char *job, char **ret, rs_err_t *err);

/* Delete a Job of ours (404 is fine) with its pods. */
int rs_deliver_delete_job(rs_kube_client_t *c, const char *ns, const char *job,
                          rs_err_t *err);
/* Delete every object labelled with this run id (Jobs; the carriers of
 * earlier versions, one per run); *ret_count (may be NULL) gets how many. */
int rs_deliver_cleanup(rs_kube_client_t *c, const char *ns, const char *id,
                       int *ret_count, rs_err_t *err);

/* A run that must stop at once (its carrier changed): its Jobs (a Job
 * being deleted makes no new pod), then their pods with grace 0. */
int rs_deliver_kill_run(rs_kube_client_t *c, const char *ns, const char *id,
                        rs_err_t *err);

/* Wait ms, turning the client's loop (watches go on being read; Ctrl-C
 * ends it: RS_E_INTERRUPTED). */
int rs_deliver_nap(rs_kube_client_t *c, long long ms, rs_err_t *err);

/* Delete the Jobs, ConfigMaps and Secrets of other runs on this node
 * (annotation RS_ANN_NODE) than keep_id: leftovers of killed runs. */
int rs_deliver_cleanup_stale(rs_kube_client_t *c, const char *ns, const char *node,
                             const char *keep_id, int *ret_count, rs_err_t *err);

/* ---- pod state ---- */

enum rs_pod_state {
  RS_POD_PENDING,   /* not started (scheduled or waiting for the kubelet) */
  RS_POD_RUNNING,   /* the helper container runs */
  RS_POD_EXITED,    /* the container terminated; exit code known */
  RS_POD_BLOCKED,   /* it cannot start: image missing, config error ... */
  RS_POD_GONE,      /* deleted or failed without a container result */
};

struct rs_pod_view {
  int state;              /* enum rs_pod_state */
  int exit_code;          /* RS_POD_EXITED */
  const char *name;       /* borrowed from the pod JSON */
  const char *runtime;    /* "containerd", "docker" ... from containerID */
  const char *why;        /* waiting/terminated reason or message */
};

/* Read a pod's state from its JSON (borrowed pointers into pod). */
void rs_pod_view(const json_t *pod, struct rs_pod_view *ret);

/* The first JSON object in a log that has a "contract" member (the
 * helper's plan or report); other lines (stderr) are skipped.  NULL when
 * none parses. */
json_t *rs_helper_json_from_log(const char *log, size_t len);

#endif
