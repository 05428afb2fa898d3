/* kubectl drain's flags, defined once for the three commands that drain:
 * `drain` shows them and checks their values in kubectl's words (its
 * output must match kubectl's); `node` and `rollback node` drain as one of
 * their steps, say so in their help ("Drain: ..."), always ignore
 * DaemonSet pods (they stay on the node and move with it) and word a bad
 * value their own way.  A new drain flag is one line of DRAIN_FLAGS and
 * one read in rs_drain_flags_read. */
#include <ctype.h>
#include <string.h>

#include "cmd.h"
#include "common/strutil.h"

/* F(name, type, arg, default, help, default as a step, help as a step);
 * sorted by name. */
#define DRAIN_FLAGS(F)                                                                              \
  F("chunk-size", RS_OPT_STRING, "N", "500",                                                       \
    "Return large lists in chunks rather than all at once. Pass 0 to disable.", "500",             \
    "Drain: list the node's pods in chunks of N (0: all at once).")                                \
  F("delete-emptydir-data", RS_OPT_BOOL, NULL, "false",                                            \
    "Continue even if there are pods using emptyDir (local data that will be deleted when the "    \
    "node is drained).", "false",                                                                  \
    "Drain: continue even if there are pods using emptyDir (local data that will be deleted when " \
    "the node is drained).")                                                                       \
  F("disable-eviction", RS_OPT_BOOL, NULL, "false",                                                \
    "Force drain to use delete, even if eviction is supported. This will bypass checking "         \
    "PodDisruptionBudgets, use with caution.", "false",                                            \
    "Drain: delete pods instead of evicting them. This bypasses PodDisruptionBudgets, use with "   \
    "caution.")                                                                                    \
  F("force", RS_OPT_BOOL, NULL, "false",                                                           \
    "Continue even if there are pods that do not declare a controller.", "false",                  \
    "Drain: continue even if there are pods that do not declare a controller.")                    \
  F("grace-period", RS_OPT_STRING, "SECONDS", "-1",                                                \
    "Period of time in seconds given to each pod to terminate gracefully. If negative, the "       \
    "default value specified in the pod will be used.", "-1",                                      \
    "Drain: seconds given to each pod to terminate gracefully; negative: the pod's own.")          \
  F("ignore-daemonsets", RS_OPT_BOOL, NULL, "false", "Ignore DaemonSet-managed pods.", "true",     \
    "Drain: ignore DaemonSet-managed pods (always on: they stay on the node and move with it).")   \
  F("pod-selector", RS_OPT_STRING, "SELECTOR", "", "Label selector to filter pods on the node",    \
    "", "Drain: label selector to filter pods on the node.")                                       \
  F("skip-wait-for-delete-timeout", RS_OPT_STRING, "SECONDS", "0",                                 \
    "If pod DeletionTimestamp older than N seconds, skip waiting for the pod.  Seconds must be "   \
    "greater than 0 to skip.", "0",                                                                \
    "Drain: if a pod's DeletionTimestamp is older than N seconds, skip waiting for the pod.")      \
  F("timeout", RS_OPT_STRING, "DURATION", "0s",                                                    \
    "The length of time to wait before giving up, zero means infinite", "0s",                      \
    "Drain: give up after this long; zero means infinite.")

#define AS_DRAIN(name_, type_, arg_, def_, help_, step_def, step_help) \
  {.name = name_, .type = type_, .arg = arg_, .def = def_, .help = help_},
#define AS_STEP(name_, type_, arg_, def_, help_, step_def, step_help) \
  {.name = name_, .type = type_, .arg = arg_, .def = step_def, .help = step_help},
static const struct rs_opt drain_opts[] = {DRAIN_FLAGS(AS_DRAIN)};
static const struct rs_opt step_opts[] = {DRAIN_FLAGS(AS_STEP)};
const struct rs_opt_table rs_drain_flags = RS_OPT_TABLE(drain_opts);
const struct rs_opt_table rs_drain_step_flags = RS_OPT_TABLE(step_opts);

/* What can be wrong with a value, and how each voice says it. */
enum bad { BAD_INT, BAD_DURATION_UNIT, BAD_DURATION, BAD_SELECTOR };

static int bad_value(rs_err_t *err, bool step, enum bad b, const char *name, const char *v) {
  switch (b) {
  case BAD_INT:
    if (step) return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"--%s\" flag", v, name);
    return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"--%s\" flag: "
                   "strconv.ParseInt: parsing \"%s\": invalid syntax", v, name, v);
  case BAD_DURATION_UNIT:
  case BAD_DURATION:
    if (step)
      return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"--%s\" flag: a duration such as "
                     "90s, 15m or 1h is expected", v, name);
    return rs_fail(err, RS_E_USAGE, 0, "invalid argument \"%s\" for \"--%s\" flag: time: %s duration \"%s\"",
                   v, name, b == BAD_DURATION_UNIT ? "missing unit in" : "invalid", v);
  case BAD_SELECTOR:
  default:
    /* kubectl drain exits 1 here; for a switch it is a usage error */
    return rs_fail(err, step ? RS_E_USAGE : RS_E_INPUT, 0,
                   "--pod-selector=<pod_selector> must be a valid label selector");
  }
}

/* An integer in [min, max]; "-N" also as the negation of N. */
static int int_flag(const struct rs_cli *cli, bool step, const char *name, long min, long max,
                    long *ret, rs_err_t *err) {
  const char *v = rs_cli_str(cli, name);
  if (!v || rs_parse_long(v, min, max, ret) == 0) return 0;
  long n;
  if (v[0] == '-' && rs_parse_long(v + 1, 0, -min, &n) == 0) {
    *ret = -n;
    return 0;
  }
  return bad_value(err, step, BAD_INT, name, v);
}

/* A Go duration; a bare number other than 0 lacks its unit.  A step takes
 * "" as unset. */
static int duration_flag(const struct rs_cli *cli, bool step, const char *name, long long *ret,
                         rs_err_t *err) {
  const char *v = rs_cli_str(cli, name);
  if (!v || (step && !*v)) return 0;
  bool bare = *v != '\0';
  for (const char *p = v; *p; p++)
    if (!isdigit((unsigned char)*p)) bare = false;
  if (bare && strcmp(v, "0") != 0) return bad_value(err, step, BAD_DURATION_UNIT, name, v);
  if (rs_parse_duration_ms(v, ret) < 0) return bad_value(err, step, BAD_DURATION, name, v);
  return 0;
}

int rs_drain_flags_read(const struct rs_cli *cli, bool step, struct rs_drain_opts *o, rs_err_t *err) {
  o->force = rs_cli_bool(cli, "force");
  o->ignore_daemonsets = step || rs_cli_bool(cli, "ignore-daemonsets");
  o->delete_emptydir_data = rs_cli_bool(cli, "delete-emptydir-data");
  o->disable_eviction = rs_cli_bool(cli, "disable-eviction");
  long n = o->grace_period;
  if (int_flag(cli, step, "grace-period", -2147483647L, 2147483647L, &n, err) < 0) return -1;
  o->grace_period = (int)n;
  n = o->skip_wait_for_delete_timeout;
  if (int_flag(cli, step, "skip-wait-for-delete-timeout", -2147483647L, 2147483647L, &n, err) < 0)
    return -1;
  o->skip_wait_for_delete_timeout = n;
  n = -1;
  if (int_flag(cli, step, "chunk-size", 0, 1000000000L, &n, err) < 0) return -1;
  if (n >= 0) o->chunk_size = n ? n : 1000000000L;
  if (duration_flag(cli, step, "timeout", &o->timeout_ms, err) < 0) return -1;
  const char *sel = rs_cli_str(cli, "pod-selector");
  if (sel && *sel && !rs_label_selector_valid(sel)) return bad_value(err, step, BAD_SELECTOR, NULL, sel);
  o->pod_selector = sel && *sel ? sel : NULL;
  return 0;
}
