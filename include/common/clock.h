/* The clock of every deadline and timeout in the project (plugin and node
 * helper alike): monotonic milliseconds, never moved by a change of the
 * wall clock. */
#ifndef RS_COMMON_CLOCK_H
#define RS_COMMON_CLOCK_H

long long rs_now_ms(void);

#endif
