/* A lock held as a coordination.k8s.io/v1 Lease: one per node a switch
 * works on (and, for a rollout, one per node in flight), in the working
 * namespace, which only the tool's operators can write.
 *
 *   - taken with a POST: a 409 means someone holds it (read it, say who);
 *   - never expires by itself: no leaseDurationSeconds, so a holder that
 *     died keeps it until the same run resumes it or an operator takes it
 *     over on purpose (spec.holderIdentity changes, leaseTransitions + 1);
 *   - every change is a PUT carrying the resourceVersion it was read at:
 *     a 409 means someone else changed it since, and the caller stops;
 *   - released with a DELETE whose preconditions are its UID and that
 *     resourceVersion, so a lock taken over or re-created is never
 *     released by the holder it was taken from.
 *
 * The Lease carries its holder's record as one annotation
 * (RS_ANN_LEASE_RECORD), opaque here: the switch keeps its run record
 * there (ops/switch_record.h).  Library code: no printing. */
#ifndef RS_OPS_LEASE_H
#define RS_OPS_LEASE_H

#include <stdbool.h>
#include <jansson.h>

#include "common/err.h"
#include "kube/client.h"

#define RS_ANN_LEASE_RECORD "runtime-switch.kubectl.dev/record"
/* Bounds on what a Lease read back may carry. */
#define RS_LEASE_RECORD_MAX 65536
#define RS_LEASE_FIELD_MAX 1024

struct rs_lease {
  char *ns;
  char *name;
  char *uid;        /* metadata.uid */
  char *rv;         /* metadata.resourceVersion, as last read or written */
  char *holder;     /* spec.holderIdentity (NULL: none) */
  char *acquired;   /* spec.acquireTime (MicroTime text; NULL: none) */
  char *renewed;    /* spec.renewTime */
  long transitions; /* spec.leaseTransitions */
  char *record;     /* the RS_ANN_LEASE_RECORD annotation (NULL: none) */
  json_t *obj;      /* the object as last read or written (updates keep
                       what else it carries) */
};
void rs_lease_clear(struct rs_lease *l);

/* The Lease's name for a subject (a node name), under a prefix: a valid
 * DNS-1123 subdomain of at most 253 characters, the same for the same
 * subject (long names end in a hash of the whole).  NULL: OOM. */
char *rs_lease_name(const char *prefix, const char *subject);

/* Parse a Lease object (input others may have written: every field is
 * bounded and type-checked).  *ret is zeroed first; on -1 it is left
 * cleared (RS_E_INPUT or RS_E_LIMIT naming the field). */
int rs_lease_parse(const json_t *obj, struct rs_lease *ret, rs_err_t *err);

/* Create the Lease ns/name held by holder with record (POST).  0: taken,
 * *ret is the Lease as created.  1: it exists, *ret is the Lease as read
 * back (someone else's, or an earlier run's).  -1: error. */
int rs_lease_take(rs_kube_client_t *c, const char *ns, const char *name,
                  const char *holder, const char *record,
                  const json_t *annotations, struct rs_lease *ret,
                  rs_err_t *err);
/* Read it: 0 with *ret_found (false on 404, *ret zeroed). */
int rs_lease_read(rs_kube_client_t *c, const char *ns, const char *name,
                  struct rs_lease *ret, bool *ret_found, rs_err_t *err);
/* Replace it at l->rv (PUT): holder (NULL: unchanged; another value: a
 * take-over, acquireTime now, leaseTransitions + 1), record (NULL:
 * unchanged), renewTime now.  On success *l is the Lease as written.  A
 * 409 or 404 fails with the API error and a message saying that someone
 * else changed or removed the lock. */
int rs_lease_update(rs_kube_client_t *c, struct rs_lease *l, const char *holder,
                    const char *record, rs_err_t *err);
/* Delete it with preconditions on l->uid and l->rv.  Gone already (404):
 * 0.  Changed since (409): -1. */
int rs_lease_release(rs_kube_client_t *c, struct rs_lease *l, rs_err_t *err);

/* Who is asking: the user name the API server authenticated (a
 * SelfSubjectReview, authentication.k8s.io/v1); when the server has no
 * such API, the kubeconfig's impersonated user or its user entry and
 * context, and *ret_verified false.  *ret is heap. */
int rs_lease_whoami(rs_kube_client_t *c, char **ret, bool *ret_verified,
                    rs_err_t *err);

#endif
