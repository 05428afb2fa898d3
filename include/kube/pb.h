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

/* ---- a list read as it arrives ----
 *
 * A protobuf list response (the magic, runtime.Unknown around a <Kind>List)
 * fed piece by piece, as its bytes arrive: each item is handed over as soon
 * as it is whole, so the page is never held whole (a 500-Node page is some
 * 3 MB; one Node some 6 KB).  The layout is the one the API server writes:
 * typeMeta (1) before raw (2), raw once; in raw, the list's metadata (1)
 * and its items (2).  Fields of other numbers, and of other wire types than
 * these, are skipped without being kept; the fields kept whole (typeMeta,
 * ListMeta, an item, contentEncoding) are bounded by max_field.  Feeding
 * the whole body at once and feeding it byte by byte give the same items,
 * the same errors. */
#define RS_PB_LIST_MAX_FIELD ((size_t)32 << 20)

struct rs_pb_list {
  /* set by the caller */
  const char *kind;     /* the TypeMeta.kind it must have, e.g. "NodeList" */
  size_t max_field;     /* 0: RS_PB_LIST_MAX_FIELD */
  /* Each item's message (borrowed), in order.  -1 stops the list with
   * *err (the feed fails with it). */
  int (*item)(void *ud, const void *msg, size_t len, rs_err_t *err);
  void *ud;
  /* what it read: metadata.continue (heap; NULL when empty or absent) and
   * remainingItemCount, as the last ListMeta had them; have_meta once one
   * ListMeta was read (the next page may be asked for from then on) */
  char *cont;
  uint64_t remaining;
  bool have_meta;
  size_t items;
  /* private */
  int phase;
  int level;            /* 0: runtime.Unknown, 1: inside raw (the list) */
  uint64_t raw_left;    /* bytes of raw still to come, at level 1 */
  uint32_t num;         /* the field being read */
  int wire;
  uint64_t left;        /* bytes of its body still to come */
  bool keep;            /* its body is kept whole (else skipped) */
  bool seen_type, seen_raw, failed;
  char seen_kind[64];
  unsigned char head[24]; /* the magic, or a field header cut short */
  size_t head_len;
  unsigned char *buf;   /* a kept body cut across feeds */
  size_t buf_len, buf_cap;
};

/* Read the next len bytes; -1 on malformed data (RS_E_INPUT), a bound
 * (RS_E_LIMIT), memory, or the item callback's error.  After a failure
 * every feed fails. */
int rs_pb_list_feed(struct rs_pb_list *l, const void *data, size_t len, rs_err_t *err);
/* Every byte is in: -1 when the list was cut short or had no body. */
int rs_pb_list_end(struct rs_pb_list *l, rs_err_t *err);
/* Back to the first byte (a transfer that starts over); keeps the settings
 * and the memory. */
void rs_pb_list_reset(struct rs_pb_list *l);
/* Free what it holds (the settings stay). */
void rs_pb_list_clear(struct rs_pb_list *l);

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
