/* SHA-256 without a crypto library (the node helper links only libc). */
#ifndef RS_COMMON_SHA256_H
#define RS_COMMON_SHA256_H

#include <stddef.h>

/* SHA-256 of a buffer as 64 lowercase hex chars + NUL. */
void rs_sha256_hex(const void *data, size_t len, char out[65]);

#endif
