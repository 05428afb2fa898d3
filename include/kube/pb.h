/* A minimal protobuf wire-format reader for Kubernetes' protobuf encoding
 * (Accept: application/vnd.kubernetes.protobuf): the API server encodes
 * and the client decodes it several times faster than JSON, and a reader
 * that only picks the fields it needs allocates nothing for the rest.
 *
 * Kubernetes wraps every object in a runtime.Unknown after a 4-byte magic
 * "k8s\0": typeMeta (1: apiVersion 1, kind 2), raw (2: the object's own
 * message), contentEncoding (3), contentType (4).  Field numbers of the
 * API types are those of k8s.io/api's generated.proto.
 *
 * Every reader here is bounded by its input and fails (-1) on truncated or
 * malformed data; nothing is assumed about field order or repetition. */
#ifndef RS_KUBE_PB_H
#define RS_KUBE_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define RS_PB_MAGIC "k8s\0"
#define RS_PB_ACCEPT "application/vnd.kubernetes.protobuf, application/json"

enum rs_pb_wire { RS_PB_VARINT = 0, RS_PB_I64 = 1, RS_PB_LEN = 2, RS_PB_I32 = 5 };

/* A message (or any byte range) being read. */
struct rs_pb {
  const unsigned char *p, *end;
};

struct rs_pb_field {
  uint32_t num;
  int wire;                    /* enum rs_pb_wire */
  uint64_t v;                  /* VARINT, I64, I32 */
  const unsigned char *data;   /* LEN: the bytes (a string or a message) */
  size_t len;
};

static inline struct rs_pb rs_pb_of(const void *data, size_t len) {
  return (struct rs_pb){(const unsigned char *)data, (const unsigned char *)data + len};
}
/* The sub-message of a LEN field. */
static inline struct rs_pb rs_pb_sub(const struct rs_pb_field *f) {
  return rs_pb_of(f->data, f->len);
}

/* Read the next field: 1 with *f filled, 0 at the end, -1 when malformed
 * (groups, bad wire types, lengths past the end, overlong varints). */
int rs_pb_next(struct rs_pb *r, struct rs_pb_field *f);

/* A LEN field as a NUL-terminated copy (heap); NULL when it holds a NUL
 * byte or memory ran out (errno EINVAL or ENOMEM). */
char *rs_pb_strdup(const struct rs_pb_field *f);
/* Does a LEN field hold exactly s? */
bool rs_pb_str_eq(const struct rs_pb_field *f, const char *s);

/* Is this a protobuf-encoded Kubernetes object (the magic)? */
bool rs_pb_is_k8s(const void *data, size_t len);

/* Unwrap runtime.Unknown: *ret_raw gets the object's message, kind (may be
 * NULL) TypeMeta.kind.  Fails on a content encoding (none is defined). */
int rs_pb_unwrap(const void *data, size_t len, struct rs_pb *ret_raw,
                 char *kind, size_t kind_len, rs_err_t *err);

/* From the first bytes of a protobuf list as the API server writes it
 * (runtime.Unknown: typeMeta, then raw, whose first field is the ListMeta):
 * 1 with *ret = metadata.continue (heap; NULL on the last page), 0 when more
 * bytes are needed, -1 when the bytes are not laid out so (then only the
 * whole page tells).  For asking the next page before this one is read. */
int rs_pb_peek_continue(const void *data, size_t len, char **ret);

/* A protobuf meta.k8s.io/v1 Status: message, reason and code (heap strings,
 * NULL when absent).  Returns -1 when data is not one. */
struct rs_pb_status {
  char *message;
  char *reason;
  int code;
};
int rs_pb_status_decode(const void *data, size_t len, struct rs_pb_status *ret);
void rs_pb_status_clear(struct rs_pb_status *s);

#endif
