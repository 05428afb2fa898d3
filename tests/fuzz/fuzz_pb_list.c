/* Fuzz target: the protobuf list read as it arrives (kube/pb.h
 * rs_pb_list).  The first byte seeds how the rest is cut into pieces; read
 * in those pieces, after a reset in the middle, and all at once, the list
 * must give the same items, the same metadata and the same error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "kube/pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
  rs_buf_t items; /* each item as its length, then its bytes */
  size_t refuse_at; /* refuse this item (1-based; 0: none) */
  size_t n;
};

static int on_item(void *ud, const void *msg, size_t len, rs_err_t *err) {
  struct seen *s = ud;
  if (++s->n == s->refuse_at) return rs_fail(err, RS_E_INPUT, 0, "item %zu refused", s->n);
  if (rs_buf_append(&s->items, &len, sizeof len, NULL) < 0 ||
      rs_buf_append(&s->items, msg, len, NULL) < 0)
    abort();
  return 0;
}

struct outcome {
  int rc;
  char *msg;
  struct seen seen;
  char *cont;
  uint64_t remaining;
};

/* Read data in pieces of the sizes the seed gives (0: at once); with
 * reset_at, start over once that many bytes were fed. */
static void run(const uint8_t *data, size_t size, unsigned seed, size_t reset_at,
                size_t refuse_at, struct outcome *o) {
  struct rs_pb_list l = {.kind = "NodeList", .item = on_item, .ud = &o->seen, .max_field = 1 << 16};
  rs_err_t err = RS_ERR_INIT;
  o->seen = (struct seen){.items = RS_BUF_INIT(0), .refuse_at = refuse_at};
  if (reset_at && reset_at < size) {
    (void)rs_pb_list_feed(&l, data, reset_at, &err);
    rs_err_clear(&err);
    rs_pb_list_reset(&l);
    rs_buf_reset(&o->seen.items);
    o->seen.n = 0;
  }
  int rc = 0;
  size_t off = 0;
  while (rc == 0 && off < size) {
    size_t n = size - off;
    if (seed) {
      seed = seed * 1103515245u + 12345u;
      size_t piece = 1 + (seed >> 16) % 37;
      if (piece < n) n = piece;
    }
    rc = rs_pb_list_feed(&l, data + off, n, &err);
    off += n;
  }
  if (rc == 0) rc = rs_pb_list_end(&l, &err);
  if (rc < 0 && !err.msg) abort(); /* a failure says why */
  if (rc == 0 && (l.items != o->seen.n || (!l.have_meta && (l.cont || l.remaining)))) abort();
  o->rc = rc;
  o->msg = err.msg ? strdup(err.msg) : NULL;
  o->cont = l.cont ? strdup(l.cont) : NULL;
  o->remaining = l.remaining;
  rs_err_clear(&err);
  rs_pb_list_clear(&l);
}

static void same(const struct outcome *a, const struct outcome *b) {
  if (a->rc != b->rc) abort();
  if ((a->msg == NULL) != (b->msg == NULL) || (a->msg && strcmp(a->msg, b->msg) != 0)) abort();
  if (a->rc == 0) {
    if (a->seen.items.len != b->seen.items.len ||
        (a->seen.items.len && memcmp(a->seen.items.data, b->seen.items.data, a->seen.items.len) != 0))
      abort();
    if ((a->cont == NULL) != (b->cont == NULL) || (a->cont && strcmp(a->cont, b->cont) != 0)) abort();
    if (a->remaining != b->remaining) abort();
  }
}

static void done(struct outcome *o) {
  free(o->msg);
  free(o->cont);
  rs_buf_free(&o->seen.items);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  unsigned seed = data[0] | 1u;
  data++;
  size--;
  struct outcome whole, pieces, again;
  run(data, size, 0, 0, 0, &whole);
  run(data, size, seed, 0, 0, &pieces);
  run(data, size, seed, size / 2, 0, &again);
  same(&whole, &pieces);
  same(&whole, &again);
  done(&pieces);
  done(&again);
  /* an item refused: the read stops there, with that error */
  if (whole.rc == 0 && whole.seen.n) {
    struct outcome refused;
    run(data, size, seed, 0, (size_t)(seed % whole.seen.n) + 1, &refused);
    if (refused.rc == 0 || !refused.msg || strncmp(refused.msg, "item ", 5) != 0) abort();
    done(&refused);
  }
  done(&whole);
  return 0;
}
