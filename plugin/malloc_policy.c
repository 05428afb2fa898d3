/* The allocator's policy for the plugin (include/plugin/malloc_policy.h). */
#include <stdlib.h> /* __GLIBC__ */

#include "plugin/malloc_policy.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

bool rs_malloc_policy(void) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
  /* setting it also turns the sliding adjustment off */
  return mallopt(M_MMAP_THRESHOLD, RS_MALLOC_MMAP_THRESHOLD) == 1;
#else
  return false;
#endif
}
