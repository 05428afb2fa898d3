/* The state the helper keeps on the host: the journal (torn lines, resume
 * queries), the plan JSON round trip, the CRI-O files. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "helper/crio_conf.h"
#include "helper/journal.h"
#include "helper/plan.h"
#include "helper_root.h"

TestSuite(state, .init = helper_mkroot, .fini = helper_rmroot);

Test(state, journal_roundtrip_and_torn_line) {
  struct rs_host h;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_host_init(&h, root, "/bin", NULL, &e), 0);
  struct rs_run run;
  cr_assert_eq(rs_run_open(&h, "r1", true, &run, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert_eq(rs_journal_append(&run, "state", RS_STATE_RUNNING, NULL, &e), 0);
  cr_assert_eq(rs_journal_append(&run, "begin", "stop-kubelet", NULL, &e), 0);
  cr_assert_eq(rs_journal_append(&run, "done", "stop-kubelet", NULL, &e), 0);
  cr_assert_eq(rs_journal_append(&run, "state", RS_STATE_ROLLING_BACK, "x: a\nb", &e), 0);
  /* a write cut short by a crash */
  _cleanup_free_ char *jp = rs_run_file(&run, RS_HELPER_JOURNAL_FILE);
  int fd = open(jp, O_WRONLY | O_APPEND);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, "1 done rb-st", 12), 12);
  close(fd);
  struct rs_journal j;
  cr_assert_eq(rs_journal_read(&run, &j, &e), 0);
  cr_assert_eq(j.n, 4);
  cr_assert_str_eq(j.state, RS_STATE_ROLLING_BACK);
  cr_assert_str_eq(j.reason, "x: a b");
  cr_assert(rs_journal_done(&j, "stop-kubelet"));
  cr_assert(!rs_journal_done_since(&j, RS_STATE_ROLLING_BACK, "stop-kubelet"));
  cr_assert_eq(rs_state_exit(j.state), RS_HX_RUNNING);
  rs_buf_t b = RS_BUF_INIT(0);
  int code = -1;
  cr_assert_eq(rs_report_json(&run, &j, "docker", "containerd", &b, &code, &e), 0);
  cr_assert(strstr(b.data, "\"state\":\"rolling-back\""));
  cr_assert(strstr(b.data, "\"finished\":null"));
  rs_buf_free(&b);
  rs_journal_free(&j);
  rs_run_close(&run);
  rs_host_fini(&h);
}

Test(state, run_ids) {
  cr_assert(rs_run_id_ok("abc-123"));
  cr_assert(!rs_run_id_ok("-abc"));
  cr_assert(!rs_run_id_ok("a/b"));
  cr_assert(!rs_run_id_ok("../x"));
  cr_assert(!rs_run_id_ok("ABC"));
  cr_assert(!rs_run_id_ok(""));
}

Test(state, plan_json_roundtrip) {
  struct rs_plan p = {0};
  p.id = strdup("r2");
  p.from = RS_RT_DOCKER;
  p.to = RS_RT_CONTAINERD;
  p.socket = strdup("/run/containerd/containerd.sock");
  p.steps = rs_strv_new();
  p.warnings = rs_strv_new();
  p.blockers = rs_strv_new();
  p.images = rs_strv_new();
  rs_strv_push(&p.steps, RS_STEP_STOP_KUBELET, NULL);
  rs_strv_push(&p.images, "k8s.gcr.io/pause:3.6", NULL);
  p.deadline = 1234;
  p.files = calloc(1, sizeof *p.files);
  p.nfiles = 1;
  p.files[0].path = strdup("/etc/containerd/config.toml");
  p.files[0].group = RS_FG_RUNTIME;
  p.files[0].existed = true;
  p.files[0].mode = 0640;
  p.files[0].changes = rs_strv_new();
  memset(p.files[0].old_sha, 'a', 64);
  memset(p.files[0].new_sha, 'b', 64);
  p.units = calloc(1, sizeof *p.units);
  p.nunits = 1;
  p.units[0] = (struct rs_plan_unit){strdup("docker.socket"), RS_ROLE_SOURCE, {true, true, false}};
  rs_buf_t b = RS_BUF_INIT(0);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_plan_json(&p, &b, &e), 0);
  struct rs_plan q;
  cr_assert_eq(rs_plan_from_json(b.data, b.len, &q, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert_eq(q.to, RS_RT_CONTAINERD);
  cr_assert_eq(q.from, RS_RT_DOCKER);
  cr_assert(strstr(b.data, "\"from\":\"docker\",\"to\":\"containerd\""), "%s", b.data);
  cr_assert_eq(q.deadline, 1234);
  cr_assert_eq(q.nfiles, 1);
  cr_assert_eq(q.files[0].mode, 0640);
  cr_assert(q.files[0].existed);
  cr_assert_eq(strlen(q.files[0].new_sha), 64);
  cr_assert_eq(q.units[0].role, RS_ROLE_SOURCE);
  cr_assert(q.units[0].before.active && !q.units[0].before.enabled);
  cr_assert_str_eq(q.images[0], "k8s.gcr.io/pause:3.6");
  cr_assert(rs_plan_has_step(&q, RS_STEP_STOP_KUBELET));
  rs_plan_free(&q);
  rs_plan_free(&p);
  rs_buf_free(&b);
  cr_assert_eq(rs_plan_from_json("{\"id\":\"x\"}", 10, &q, &e), -1);
  rs_err_clear(&e);
  /* numbers out of range are refused, not cast (found by fuzz_plan_json) */
  static const char *const bad[] = {
      "{\"id\":\"x\",\"from\":\"docker\",\"to\":\"containerd\",\"runtime\":{\"socket\":\"/s\"},"
      "\"files\":[{\"path\":\"/f\",\"mode\":4.2e13}]}",
      "{\"id\":\"x\",\"from\":\"docker\",\"to\":\"containerd\",\"runtime\":{\"socket\":\"/s\"},"
      "\"deadline\":-1e300}",
  };
  for (size_t i = 0; i < 2; i++) {
    cr_assert_eq(rs_plan_from_json(bad[i], strlen(bad[i]), &q, &e), -1, "%s", bad[i]);
    cr_assert(strstr(e.msg, "plan.json"));
    rs_err_clear(&e);
  }
}

/* CRI-O's default runtime as its files set it, later files winning; the
 * drop-in that makes runc the default reads back where CRI-O looks */
Test(state, crio_default_runtime) {
  const char *names[] = {"crio.conf", "10-crio.conf", "20-x.conf"};
  const char *texts[] = {"[crio.runtime]\ndefault_runtime = 'kata'\n",
                         "[crio.runtime]\ndefault_runtime = \"crun\"\n"
                         "[crio.runtime.runtimes.crun]\nruntime_path = \"/usr/libexec/crio/crun\"\n",
                         "[crio.runtime.runtimes.crun]\nmonitor_path = \"/x\"\n"};
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *n = NULL, *p = NULL;
  cr_assert_eq(rs_crio_default_runtime(names, texts, 3, &n, &p, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert_str_eq(n, "crun");
  cr_assert_str_eq(p, "/usr/libexec/crio/crun");
  _cleanup_free_ char *n0 = NULL, *p0 = NULL;
  cr_assert_eq(rs_crio_default_runtime(names, texts, 0, &n0, &p0, &e), 0);
  cr_assert_str_eq(n0, RS_CRIO_BUILTIN_RUNTIME);
  cr_assert_null(p0);
  /* conmon: the runtime's monitor_path, else the older conmon, else none */
  _cleanup_free_ char *m = NULL, *m2 = NULL, *m3 = NULL;
  cr_assert_eq(rs_crio_monitor_path(names, texts, 3, "crun", &m, &e), 0);
  cr_assert_str_eq(m, "/x");
  const char *old[] = {"[crio.runtime]\nconmon = \"/usr/local/bin/conmon\"\n"};
  cr_assert_eq(rs_crio_monitor_path(names, old, 1, "runc", &m2, &e), 0);
  cr_assert_str_eq(m2, "/usr/local/bin/conmon");
  cr_assert_eq(rs_crio_monitor_path(names, texts, 2, "crun", &m3, &e), 0);
  cr_assert_null(m3);
  const char *bad[] = {"[crio.runtime\n"};
  char *n1 = NULL, *p1 = NULL;
  cr_assert_eq(rs_crio_default_runtime(names + 2, bad, 1, &n1, &p1, &e), -1);
  cr_assert(strstr(e.msg, "20-x.conf"), "%s", e.msg);
  rs_err_clear(&e);

  struct rs_crio_want w = {true, NULL, NULL, NULL, NULL, "runc", "/usr/sbin/runc"};
  _cleanup_free_ char *d = rs_crio_dropin(&w);
  const char *dn[] = {"99-kubectl-runtime-switch.conf"}, *dt[] = {d};
  _cleanup_free_ char *n2 = NULL, *p2 = NULL;
  cr_assert_eq(rs_crio_default_runtime(dn, dt, 1, &n2, &p2, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert_str_eq(n2, "runc");
  cr_assert_str_eq(p2, "/usr/sbin/runc");
  cr_assert(strstr(d, "[crio.runtime.runtimes.\"runc\"]\nruntime_path = \"/usr/sbin/runc\"\nruntime_type = \"oci\"\n"));
}

Test(state, crio_files) {
  struct rs_crio_want w = {false, "registry.k8s.io/pause:3.9", "/usr/lib/cni", NULL, NULL, NULL, NULL};
  _cleanup_free_ char *d = rs_crio_dropin(&w);
  cr_assert(strstr(d, "cgroup_manager = \"cgroupfs\""));
  cr_assert(strstr(d, "pause_image = \"registry.k8s.io/pause:3.9\""));
  cr_assert(strstr(d, "plugin_dirs = [\"/usr/lib/cni\"]"));
  char *m[] = {"https://m.example.com/", NULL};
  char *i[] = {"reg.local:5000", "10.0.0.0/8", NULL};
  bool empty = true;
  _cleanup_free_ char *r = rs_crio_registries(m, i, &empty);
  cr_assert(!empty);
  cr_assert(strstr(r, "location = \"m.example.com\""));
  cr_assert(strstr(r, "location = \"reg.local:5000\"\ninsecure = true"));
  cr_assert(!strstr(r, "10.0.0.0"));
  char *none[] = {NULL};
  cr_assert_null(rs_crio_registries(none, none, &empty));
  cr_assert(empty);
}
