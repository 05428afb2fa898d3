/* The helper's trust and recovery pieces: files through symlinks inside a
 * root, the backup manifest, journal boot/force records and the run lock,
 * the helper's own hash against a run's record, the boot guard's unit
 * file, which old runs are pruned, the command output parsers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/sha256.h"
#include "common/strutil.h"
#include "helper/cmdout.h"
#include "helper/contract.h"
#include "helper/guard.h"
#include "helper/integrity.h"
#include "helper/journal.h"
#include "helper/manifest.h"
#include "helper/runs.h"
#include "helper/toml.h"
#include "helper/units.h"
#include "helper_root.h"

static struct rs_host h;

static void mkroot(void) {
  helper_mkroot();
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_host_init(&h, root, "/bin", NULL, &e), 0);
}
static void rmroot(void) {
  rs_host_fini(&h);
  helper_rmroot();
}

TestSuite(trust, .init = mkroot, .fini = rmroot);

static void put(const char *rel, const char *text) {
  _cleanup_free_ char *p = rs_strdup_printf("%s%s", root, rel);
  _cleanup_free_ char *d = strdup(p);
  *strrchr(d, '/') = '\0';
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_mkdir_p(d, 0755, &e), 0);
  cr_assert_eq(rs_write_file_atomic(p, text, strlen(text), 0644, &e), 0);
}

static void link_at(const char *target, const char *rel) {
  _cleanup_free_ char *p = rs_strdup_printf("%s%s", root, rel);
  cr_assert_eq(symlink(target, p), 0);
}

static char *resolved(const char *abs) {
  char *r = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_host_resolve(&h, abs, &r, &e), 0, "%s", e.msg ? e.msg : "");
  return r + strlen(root); /* the path below the root */
}

Test(trust, symlinks_resolve_inside_the_root) {
  put("/srv/cfg/containerd.toml", "x");
  put("/etc/containerd/.keep", "");
  /* an absolute target starts again at the root, never at the real / */
  link_at("/srv/cfg/containerd.toml", "/etc/containerd/config.toml");
  char *r = resolved("/etc/containerd/config.toml");
  cr_assert_str_eq(r, "/srv/cfg/containerd.toml");
  free(r - strlen(root));
  /* relative, through a linked directory, and ".." that cannot leave */
  link_at("../srv/cfg", "/etc/cfg");
  r = resolved("/etc/cfg/../../../../srv/cfg/containerd.toml");
  cr_assert_str_eq(r, "/srv/cfg/containerd.toml");
  free(r - strlen(root));
  r = resolved("/etc/cfg/containerd.toml");
  cr_assert_str_eq(r, "/srv/cfg/containerd.toml");
  free(r - strlen(root));
  /* a missing tail is kept */
  r = resolved("/etc/cfg/new/x.toml");
  cr_assert_str_eq(r, "/srv/cfg/new/x.toml");
  free(r - strlen(root));
  link_at("/etc/loop", "/etc/loop");
  char *out = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_host_resolve(&h, "/etc/loop", &out, &e), -1);
  cr_assert(strstr(e.msg, "symbolic links"));
  rs_err_clear(&e);
  /* reads go through the link too */
  _cleanup_free_ char *t = NULL;
  cr_assert_eq(rs_host_read(&h, "/etc/containerd/config.toml", 100, &t, NULL, &e), 0);
  cr_assert_str_eq(t, "x");
}

Test(trust, manifest_roundtrip_and_refusals) {
  struct rs_manifest_file f = {2, true, "", 0640, 0, 5, "/etc/containerd/config.toml"};
  memset(f.sha, 'a', 64);
  rs_buf_t b = RS_BUF_INIT(0);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_manifest_put_file(&b, &f, &e), 0);
  struct rs_manifest_file g = {3, false, "", 0644, 0, 0, "/etc/containerd/certs.d/docker.io/hosts.toml"};
  cr_assert_eq(rs_manifest_put_file(&b, &g, &e), 0);
  cr_assert_eq(rs_manifest_put_dir(&b, "/etc/containerd/certs.d", &e), 0);
  struct rs_manifest m;
  cr_assert_eq(rs_manifest_parse(b.data, b.len, &m, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert_eq(m.nfiles, 2);
  cr_assert_eq(m.files[0].idx, 2);
  cr_assert_eq(m.files[0].mode, 0640);
  cr_assert_eq(m.files[0].gid, 5);
  cr_assert(!m.files[1].existed);
  cr_assert_str_eq(m.files[1].sha, "");
  cr_assert_str_eq(m.dirs[0], "/etc/containerd/certs.d");
  rs_manifest_free(&m);
  rs_buf_free(&b);
  static const char *const bad[] = {
      "file 0 1 zz 644 0 0 /etc/x\n",   /* not a sha256 */
      "file 0 1 - 644 0 0 /etc/x\n",    /* existed without one */
      "file 0 0 - 999 0 0 /etc/x\n",    /* not octal */
      "file 0 0 - 644 0 0 etc/x\n",     /* relative */
      "file 0 0 - 644 0 0 /etc/../x\n", /* escapes */
      "dir /a/./b\n",
      "file 0 0 - 644 0 0 /etc/x",      /* cut short */
      "something else\n",
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(bad); i++) {
    cr_assert_eq(rs_manifest_parse(bad[i], strlen(bad[i]), &m, &e), -1, "%s", bad[i]);
    cr_assert(strstr(e.msg, "backup manifest"), "%s", e.msg);
    rs_err_clear(&e);
  }
}

Test(trust, journal_boot_force_and_lock) {
  static const char text[] = "10 state launched\n11 boot aaaa\n12 state running\n13 done stop-kubelet\n"
                             "14 boot bbbb\n15 state rolling-back x: y\n16 force rollback\n17 junk line\n"
                             "18 done rb-stop-kubelet\n18 retry remove-pod-containers crictl: exit 1\n"
                             "19 begin rb-re";
  struct rs_journal j;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_journal_parse(text, strlen(text), &j, &e), 0);
  cr_assert_eq(j.n, 9); /* the junk line and the torn one are not records */
  cr_assert_str_eq(j.recs[8].event, "retry");
  cr_assert_str_eq(j.recs[8].name, "remove-pod-containers");
  cr_assert_str_eq(j.recs[8].reason, "crictl: exit 1");
  cr_assert_str_eq(j.boot_id, "bbbb");
  cr_assert_eq(j.boot_at, 4);
  cr_assert_str_eq(j.state, RS_STATE_ROLLING_BACK);
  cr_assert(rs_journal_done(&j, "stop-kubelet"));
  cr_assert(!rs_journal_done_after(&j, j.boot_at, "stop-kubelet"));
  cr_assert_eq(rs_journal_last(&j, "force", "rollback"), 6);
  cr_assert(rs_journal_done_after(&j, rs_journal_last(&j, "state", RS_STATE_ROLLING_BACK), "rb-stop-kubelet"));
  rs_journal_free(&j);

  put(RS_HOST_BOOT_ID, "0f0e11aa-2b3c-4d5e-8f90-a1b2c3d4e5f6\n");
  struct rs_run run;
  cr_assert_eq(rs_run_open(&h, "r1", true, &run, &e), 0);
  struct rs_journal empty = {0};
  bool fresh = false;
  cr_assert_eq(rs_journal_note_boot(&run, &empty, false, &fresh, &e), 0, "%s", e.msg ? e.msg : "");
  cr_assert(fresh);
  cr_assert_eq(rs_journal_read(&run, &j, &e), 0);
  cr_assert_str_eq(j.boot_id, "0f0e11aa-2b3c-4d5e-8f90-a1b2c3d4e5f6");
  cr_assert_eq(rs_journal_note_boot(&run, &j, false, &fresh, &e), 0);
  cr_assert(!fresh, "the same boot is recorded once");
  cr_assert_eq(rs_journal_note_boot(&run, &j, true, &fresh, &e), 0);
  cr_assert(fresh, "unless the guard says it booted");
  rs_journal_free(&j);

  int fd = -1, fd2 = -1;
  cr_assert_eq(rs_run_lock(&run, false, &fd, &e), 0);
  /* flock is per open file: a second open in this process is refused too */
  cr_assert_eq(rs_run_lock(&run, false, &fd2, &e), -1);
  cr_assert_eq(e.code, EBUSY);
  rs_err_clear(&e);
  close(fd);
  cr_assert_eq(rs_run_lock(&run, false, &fd2, &e), 0);
  close(fd2);
  cr_assert(!rs_run_id_ok("bin"), "the helper's own directory is no run");
  rs_run_close(&run);
}

Test(trust, helper_record) {
  struct rs_run run;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_run_open(&h, "r2", true, &run, &e), 0);
  char sha[65];
  rs_sha256_hex("helper bytes", 12, sha);
  cr_assert(rs_sha256_hex_ok(sha));
  cr_assert(!rs_sha256_hex_ok("ABC"));
  /* no record: only a helper the plugin vouched for may act */
  memcpy(h.self_sha, sha, sizeof sha);
  cr_assert_eq(rs_run_check_helper(&run, &e), -1);
  rs_err_clear(&e);
  h.self_vouched = true;
  cr_assert_eq(rs_run_check_helper(&run, &e), 0);
  h.self_vouched = false;
  cr_assert_eq(rs_run_record_helper(&run, sha, &e), 0);
  cr_assert_eq(rs_run_check_helper(&run, &e), 0);
  rs_sha256_hex("other bytes", 11, h.self_sha);
  cr_assert_eq(rs_run_check_helper(&run, &e), -1);
  cr_assert(strstr(e.msg, sha) && strstr(e.msg, h.self_sha), "both hashes named: %s", e.msg);
  rs_err_clear(&e);
  h.self_sha[0] = '\0';
  rs_run_close(&run);
}

Test(trust, guard_unit_file) {
  _cleanup_free_ char *unit = rs_guard_unit("abc-1");
  cr_assert_str_eq(unit, "kubectl-runtime-switch-guard-abc-1.service");
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *t = NULL;
  h.kubelet_wait_s = 5;
  cr_assert_eq(rs_guard_text(&h, "abc-1", &t, &e), 0);
  _cleanup_free_ char *exec = rs_strdup_printf("\nExecStart=%s%s guard --id abc-1 --root %s --exec-path /bin "
                                               "--kubelet-healthz 127.0.0.1:10248 --kubelet-wait 5\n",
                                               root, RS_HELPER_HOST_BIN, root);
  cr_assert(strstr(t, exec), "%s", t);
  cr_assert(strstr(t, "\nWantedBy=multi-user.target\n"));
  cr_assert(strstr(t, "\nRestart=on-abnormal\n"));
  /* nothing systemd would split or expand goes into ExecStart */
  struct rs_host odd;
  cr_assert_eq(rs_host_init(&odd, "/tmp/a b", "/bin", NULL, &e), 0);
  _cleanup_free_ char *t2 = NULL;
  cr_assert_eq(rs_guard_text(&odd, "x", &t2, &e), -1);
  cr_assert(strstr(e.msg, "ExecStart"));
  rs_err_clear(&e);
  rs_host_fini(&odd);
  h.kubelet_wait_s = 0;
}

static void run_with(const char *id, const char *journal, const char *plan) {
  struct rs_run run;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_run_open(&h, id, true, &run, &e), 0);
  if (journal) {
    _cleanup_free_ char *p = rs_run_file(&run, RS_HELPER_JOURNAL_FILE);
    cr_assert_eq(rs_write_file_atomic(p, journal, strlen(journal), 0600, &e), 0);
  }
  if (plan) {
    _cleanup_free_ char *p = rs_run_file(&run, RS_HELPER_PLAN_FILE);
    cr_assert_eq(rs_write_file_atomic(p, plan, strlen(plan), 0600, &e), 0);
  }
  rs_run_close(&run);
}

static bool run_exists(const char *id) {
  _cleanup_free_ char *p = rs_strdup_printf("%s%s/%s", root, RS_HELPER_STATE_DIR, id);
  return access(p, F_OK) == 0;
}

Test(trust, prune_keeps_what_matters) {
  long long day = 86400, now = 1000 * day;
  char j[128];
  /* five old finished runs: the three newest stay */
  for (int i = 1; i <= 5; i++) {
    char id[16];
    snprintf(id, sizeof id, "old%d", i);
    snprintf(j, sizeof j, "%lld state launched\n%lld state %s\n", now - 100 * day + i, now - 100 * day + i,
             i % 2 ? RS_STATE_DONE : RS_STATE_ROLLED_BACK);
    run_with(id, j, "{}");
  }
  snprintf(j, sizeof j, "%lld state launched\n%lld state rollback-failed x\n", now - 100 * day, now - 100 * day);
  run_with("failed", j, "{}");
  snprintf(j, sizeof j, "%lld state launched\n%lld state running\n", now - 100 * day, now - 100 * day);
  run_with("unfinished", j, "{}");
  snprintf(j, sizeof j, "%lld state launched\n%lld state done\n", now - 2 * day, now - 2 * day);
  run_with("recent", j, "{}");
  run_with("current", NULL, NULL);
  put(RS_HELPER_HOST_BIN, "helper");
  int removed = -1;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_runs_prune(&h, "current", now, &removed, &e), 0, "%s", e.msg ? e.msg : "");
  /* recent, old5, old4 are the three newest finished; recent is young anyway */
  cr_assert_eq(removed, 3);
  cr_assert(!run_exists("old1") && !run_exists("old2") && !run_exists("old3"));
  cr_assert(run_exists("old4") && run_exists("old5") && run_exists("recent"));
  cr_assert(run_exists("failed"), "rollback-failed keeps its backups");
  cr_assert(run_exists("unfinished") && run_exists("current"));
  _cleanup_free_ char *bin = rs_host_path(&h, RS_HELPER_HOST_BIN);
  cr_assert_eq(access(bin, F_OK), 0);
  _cleanup_free_ char *other = NULL;
  cr_assert_eq(rs_runs_unfinished(&h, "current", &other, &e), 0);
  cr_assert_str_eq(other, "unfinished");
}

Test(trust, command_output) {
  struct rs_unit_state st;
  rs_systemctl_show_parse("LoadState=loaded\nActiveState=activating\nUnitFileState=enabled-runtime\n", &st);
  cr_assert(st.loaded && st.active && st.enabled);
  rs_systemctl_show_parse("LoadState=not-found\nActiveState=inactive\nUnitFileState=\n", &st);
  cr_assert(!st.loaded && !st.active && !st.enabled);
  rs_systemctl_show_parse("XActiveState=active\nActiveState=active2\n", &st);
  cr_assert(!st.active);
  cr_assert(rs_ctr_cri_ok("TYPE ID PLATFORMS STATUS\nio.containerd.grpc.v1   cri   linux/amd64   ok    \n"));
  cr_assert(!rs_ctr_cri_ok("io.containerd.grpc.v1 cri linux/amd64 error\n"));
  cr_assert(!rs_ctr_cri_ok("io.containerd.grpc.v1 cri-x linux/amd64 ok\n"));
  cr_assert(!rs_ctr_cri_ok("io.containerd.grpc.v1 cri\n"));
}

Test(trust, toml_strings_escape_control_characters) {
  _cleanup_free_ char *q = rs_toml_quote("a\"b\\c\td\r\x01\x7f\n");
  cr_assert_str_eq(q, "\"a\\\"b\\\\c\\td\\r\\u0001\\u007F\\n\"");
  _cleanup_free_ char *back = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_toml_decode_str(q, &back, &e), 0);
  cr_assert_str_eq(back, "a\"b\\c\td\r\x01\x7f\n");
  _cleanup_free_ char *u = NULL;
  cr_assert_eq(rs_toml_decode_str("\"\\u00e9\\U0001F600\\b\"", &u, &e), 0);
  cr_assert_str_eq(u, "\xc3\xa9\xf0\x9f\x98\x80\b");
  char *bad = NULL;
  cr_assert_eq(rs_toml_decode_str("\"\\u0000\"", &bad, &e), -1);
  rs_err_clear(&e);
  cr_assert_eq(rs_toml_decode_str("\"\\uD800\"", &bad, &e), -1);
  rs_err_clear(&e);
}
