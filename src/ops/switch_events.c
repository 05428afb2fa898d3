/* What a run tells its caller: progress events and the one PHASE event
 * that ends each phase (with its wall time in the result). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include "common/err.h"
#include "ops/switch.h"
#include "switch_int.h"

long long sw_wall_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void sw_emit(struct sw_events *s, int type, int phase, const char *fmt, ...) {
  if (!s->on_event) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
  va_end(ap);
  struct rs_sw_event ev = {.type = type, .phase = phase, .message = msg ? msg : fmt};
  s->on_event(s->ud, &ev);
  free(msg);
}

void sw_phase_begin(struct sw_events *s) { s->phase_t0 = rs_now_ms(); }

/* End a phase: one PHASE event (data is consumed). */
void sw_phase_end(struct sw_events *s, int phase, int status, json_t *data, const char *fmt, ...) {
  long long ms = rs_now_ms() - s->phase_t0;
  s->phase_ms[phase] = ms;
  char *msg = NULL;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
    va_end(ap);
  }
  if (s->on_event) {
    struct rs_sw_event ev = {.type = RS_SW_EV_PHASE, .phase = phase, .status = status, .ms = ms,
                             .message = msg, .data = data};
    s->on_event(s->ud, &ev);
  }
  free(msg);
  json_decref(data);
}

void sw_forward_drain(void *ud, const struct rs_drain_event *dev) {
  struct sw_events *s = ud;
  if (!s->on_event) return;
  struct rs_sw_event ev = {.type = RS_SW_EV_DRAIN, .phase = RS_PH_DRAIN, .message = dev->text,
                           .drain = dev};
  if (dev->type == RS_DRAIN_EV_CORDON) ev.phase = RS_PH_CORDON;
  s->on_event(s->ud, &ev);
}

/* Mark the outcome "refused" (nothing changed). */
int sw_fail_refused(struct sw *s, rs_err_t *err) {
  s->res->outcome = RS_SW_REFUSED;
  return -1;
  (void)err;
}
