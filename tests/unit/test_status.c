/* status: verdicts per node, node parsing, and the CLI end to end (help,
 * unknown flags, exit codes, table/json output, forbidden /configz). */
#include <criterion/criterion.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube_fixture.h"
#include "ops/nodes.h"

struct vcase {
  const char *runtime, *kubelet, *socket;
  int kind, action;
};
static const struct vcase vcases[] = {
    {"docker://20.10.24", "v1.23.17", "/var/run/dockershim.sock", RS_VERDICT_DOCKERSHIM, RS_ACTION_REQUIRED},
    {"docker://20.10.24", "v1.22.0", NULL, RS_VERDICT_DOCKERSHIM, RS_ACTION_REQUIRED},
    {"docker://24.0.5", "v1.27.3", "unix:///var/run/cri-dockerd.sock", RS_VERDICT_CRI_DOCKERD, RS_ACTION_RECOMMENDED},
    {"docker://24.0.5", "v1.23.1", "unix:///var/run/cri-dockerd.sock", RS_VERDICT_CRI_DOCKERD, RS_ACTION_RECOMMENDED},
    {"docker://24.0.5", "v1.28.5-eks-5e0fdde", NULL, RS_VERDICT_CRI_DOCKERD, RS_ACTION_RECOMMENDED},
    {"containerd://1.7.2", "v1.29.3+k3s1", NULL, RS_VERDICT_CONTAINERD, RS_ACTION_NONE},
    {"cri-o://1.28.1", "v1.28.2", NULL, RS_VERDICT_CRIO, RS_ACTION_NONE},
    {"rkt://1.0", "v1.10.0", NULL, RS_VERDICT_UNKNOWN, RS_ACTION_CHECK},
    {NULL, "v1.27.0", NULL, RS_VERDICT_UNKNOWN, RS_ACTION_CHECK},
};

Test(verdict, table) {
  for (size_t i = 0; i < sizeof vcases / sizeof *vcases; i++) {
    json_auto_t *n = json_pack("{s:{s:s, s:{s:s?}}, s:{s:{s:s, s:s?}}}", "metadata", "name", "n",
                               "annotations", RS_ANN_CRI_SOCKET, vcases[i].socket, "status",
                               "nodeInfo", "kubeletVersion", vcases[i].kubelet,
                               "containerRuntimeVersion", vcases[i].runtime);
    cr_assert(n);
    struct rs_node_status s = {0};
    _cleanup_err_ rs_err_t e = RS_ERR_INIT;
    cr_assert_eq(rs_node_status_from_json(n, &s, &e), 0, "%s", e.msg);
    cr_assert_eq(rs_verdict_for(&s, &s.verdict, &e), 0);
    cr_assert_eq(s.verdict.kind, vcases[i].kind, "case %zu: %s", i, s.verdict.message);
    cr_assert_eq(s.verdict.action, vcases[i].action, "case %zu", i);
    rs_node_status_clear(&s);
  }
}

Test(nodes, docker_socket_paths) {
  cr_assert(rs_path_is_docker_socket("/var/run/docker.sock"));
  cr_assert(rs_path_is_docker_socket("/run/docker.sock/"));
  cr_assert(rs_path_is_docker_socket("/var/run"));
  cr_assert(rs_path_is_docker_socket("/custom/docker.sock"));
  cr_assert_not(rs_path_is_docker_socket("/var/lib/docker"));
  cr_assert_not(rs_path_is_docker_socket("/run/containerd/containerd.sock"));
  cr_assert_not(rs_path_is_docker_socket(NULL));
}

/* ---- the binary ---- */

static struct fake F;
static char kc[PATH_MAX];

static void run_plugin(const char *const *args, struct rs_proc_result *r) {
  const char *plugin = getenv("RS_TEST_PLUGIN");
  cr_assert(plugin, "RS_TEST_PLUGIN is not set");
  const char *argv[32] = {plugin};
  size_t n = 1;
  for (size_t i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
  argv[n] = NULL;
  _cleanup_free_ char *kenv = rs_strdup_printf("KUBECONFIG=%s", kc);
  const char *envp[] = {kenv, "HOME=/nonexistent", "PATH=/usr/bin:/bin", NULL};
  struct rs_proc_opts o = {.argv = argv, .envp = envp, .timeout_ms = 60000};
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_proc_run(&o, r, &e), 0, "%s", e.msg);
}

static void start(void) {
  const char *a[] = {"--nodes", "9", NULL};
  fake_start(&F, a);
  fake_kubeconfig(&F, NULL, "    token: x\n", kc, sizeof kc);
}
static void start_forbidden(void) {
  const char *a[] = {"--nodes", "3", "--configz", "forbidden", NULL};
  fake_start(&F, a);
  fake_kubeconfig(&F, NULL, "    token: x\n", kc, sizeof kc);
}
static void stop(void) { fake_stop(&F); }

Test(cli, help_and_usage_errors) {
  struct rs_proc_result r = {0};
  const char *h[] = {"--help", NULL};
  run_plugin(h, &r);
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "Commands:\n  status"), "%s", r.out);
  cr_assert(strstr(r.out, "Use \"kubectl runtime-switch <command> --help\""));
  cr_assert_null(strstr(r.out, "  config "), "hidden commands stay hidden");
  rs_proc_result_free(&r);
  const char *hs[] = {"help", "status", NULL};
  run_plugin(hs, &r);
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "Examples:") && strstr(r.out, "-l, --selector=''"), "%s", r.out);
  rs_proc_result_free(&r);
  const char *bad[] = {"status", "--bogus", NULL};
  run_plugin(bad, &r);
  cr_assert_eq(r.status, 2);
  cr_assert_str_eq(r.errout, "error: unknown flag: --bogus\nSee 'kubectl runtime-switch status --help' for usage.\n");
  rs_proc_result_free(&r);
  const char *unk[] = {"frobnicate", NULL};
  run_plugin(unk, &r);
  cr_assert_eq(r.status, 2);
  cr_assert(rs_startswith(r.errout, "error: unknown command \"frobnicate\""), "%s", r.errout);
  rs_proc_result_free(&r);
  const char *miss[] = {"status", "-l", NULL};
  run_plugin(miss, &r);
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.errout, "flag needs an argument"), "%s", r.errout);
  rs_proc_result_free(&r);
  const char *v[] = {"version", "--client", NULL};
  run_plugin(v, &r);
  cr_assert_eq(r.status, 0);
  cr_assert(rs_startswith(r.out, "Client Version: v" RS_VERSION "\n"), "%s", r.out);
  /* one line per embedded helper, with its sha256 */
  cr_assert(strstr(r.out, "\nNode Helper: v" RS_VERSION " linux/amd64 "), "%s", r.out);
  cr_assert(strstr(r.out, "\nNode Helper: v" RS_VERSION " linux/arm64 "), "%s", r.out);
  const char *sha = strstr(r.out, "sha256:");
  cr_assert_not_null(sha);
  cr_assert_eq(strspn(sha + 7, "0123456789abcdef"), 64, "%s", r.out);
  rs_proc_result_free(&r);
}

Test(cli, no_kubeconfig_one_line_error) {
  snprintf(kc, sizeof kc, "/nonexistent/kubeconfig");
  struct rs_proc_result r = {0};
  const char *a[] = {"status", NULL};
  run_plugin(a, &r);
  cr_assert_eq(r.status, 1);
  cr_assert(rs_startswith(r.errout, "error: "), "%s", r.errout);
  cr_assert_eq(strchr(r.errout, '\n'), r.errout + strlen(r.errout) - 1, "one line: %s", r.errout);
  rs_proc_result_free(&r);
}

Test(cli, status_table_json_and_missing, .init = start, .fini = stop) {
  struct rs_proc_result r = {0};
  const char *a[] = {"status", "--pods", NULL};
  run_plugin(a, &r);
  cr_assert_eq(r.status, 0, "%s", r.errout);
  cr_assert(rs_startswith(r.out, "NAME         STATUS"), "%s", r.out);
  cr_assert(strstr(r.out, "node-00000   Ready   ") && strstr(r.out, "   control-plane   "), "%s", r.out);
  cr_assert(strstr(r.out, "dockershim — must switch before upgrading kubelet to 1.24"));
  cr_assert(strstr(r.out, "node-00000   ci/dind (/var/run/docker.sock)"), "%s", r.out);
  rs_proc_result_free(&r);
  const char *j[] = {"status", "-o", "json", "node-00001", NULL};
  run_plugin(j, &r);
  cr_assert_eq(r.status, 0, "%s", r.errout);
  json_auto_t *doc = json_loads(r.out, 0, NULL);
  cr_assert(doc, "%s", r.out);
  json_t *it = json_array_get(json_object_get(doc, "items"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(it, "status")), "Ready,SchedulingDisabled");
  cr_assert_str_eq(json_string_value(json_object_get(it, "cgroupDriver")), "systemd");
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(it, "verdict"), "kind")), "containerd");
  rs_proc_result_free(&r);
  const char *m[] = {"status", "node-00002", "node-99999", NULL};
  run_plugin(m, &r);
  cr_assert_eq(r.status, 1);
  cr_assert(strstr(r.out, "node-00002"));
  cr_assert_str_eq(r.errout, "Error from server (NotFound): nodes \"node-99999\" not found\n");
  rs_proc_result_free(&r);
  const char *o[] = {"status", "-o", "xml", NULL};
  run_plugin(o, &r);
  cr_assert_eq(r.status, 2);
  rs_proc_result_free(&r);
}

Test(cli, configz_forbidden_is_partial_with_warning, .init = start_forbidden, .fini = stop) {
  struct rs_proc_result r = {0};
  const char *a[] = {"status", "-v", "6", NULL};
  run_plugin(a, &r);
  cr_assert_eq(r.status, 0, "%s", r.errout);
  cr_assert(strstr(r.out, "node-00002"), "%s", r.out);
  cr_assert(strstr(r.errout, "Warning: cannot read the kubelet configuration"), "%s", r.errout);
  /* one /configz request, not one per node */
  size_t n = 0;
  for (const char *p = r.errout; (p = strstr(p, "/proxy/configz")); p++) n++;
  cr_assert_eq(n, 1, "%s", r.errout);
  rs_proc_result_free(&r);
}
