/* The allocator's policy for the plugin, set once at the start of main.
 *
 * glibc serves a block of M_MMAP_THRESHOLD bytes or more with its own
 * mapping, returned to the system at free.  By default that threshold
 * slides: the free of a mapped block raises it to the block's size (up to
 * 32 MiB).  The client's first transfer frees its 1 MiB receive buffer
 * (CURLOPT_BUFFERSIZE, kube/transfer.c), so every later receive buffer,
 * carrier body and list page comes from the heap arena of the thread that
 * asked, and the pages it touched stay resident after its free.  A
 * rollout's coordinator and each worker have an arena of their own: the
 * switch fake over HTTPS (make bench-rollout-rss) had one switch at 16.2
 * MiB and a three-node rollout at 25.8 MiB (1.59x), and the cluster 16.2
 * and 27.0 MiB (1.67x).  A fixed threshold keeps big blocks mapped, their
 * untouched pages never resident and all of it returned at free: 14.7 and
 * 18.0 MiB (1.22x) on the fake.  Library code does not call it: a
 * process-wide choice is main's. */
#ifndef RS_PLUGIN_MALLOC_POLICY_H
#define RS_PLUGIN_MALLOC_POLICY_H

#include <stdbool.h>

/* glibc's own starting value, now fixed */
#define RS_MALLOC_MMAP_THRESHOLD (128 * 1024)

/* Fix the mmap threshold at RS_MALLOC_MMAP_THRESHOLD.  false: not done
 * (another C library, or an allocator that does not take mallopt, as
 * ASan's). */
bool rs_malloc_policy(void);

#endif
