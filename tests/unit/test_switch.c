/* ops/switch: the pure parts — refusals of the check phase, runtime names,
 * the record kept on the node (what a rerun resumes from), journal times. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/contract.h"
#include "ops/switch.h"

/* A node as the API shows it. */
static json_t *node(const char *name, const char *runtime, const char *kubelet, bool ready, bool cp) {
  json_t *n = json_pack("{s:{s:s, s:{}, s:{}}, s:{s:{s:s, s:s, s:s}, s:[{s:s, s:s}]}}", "metadata", "name", name,
                        "labels", "annotations", "status", "nodeInfo", "containerRuntimeVersion", runtime,
                        "kubeletVersion", kubelet, "architecture", "amd64", "conditions", "type", "Ready",
                        "status", ready ? "True" : "False");
  cr_assert_not_null(n);
  if (cp)
    json_object_set_new(json_object_get(json_object_get(n, "metadata"), "labels"),
                        "node-role.kubernetes.io/control-plane", json_string(""));
  return n;
}

Test(switch, names) {
  cr_assert_str_eq(rs_sw_phase_name(RS_PH_CHECK), "check");
  cr_assert_str_eq(rs_sw_phase_name(RS_PH_CLEANUP), "cleanup");
  cr_assert_str_eq(rs_sw_phase_name(_RS_PH_MAX), "?");
  cr_assert_str_eq(rs_sw_status_name(RS_SW_RESUMED), "resumed");
  cr_assert_str_eq(rs_sw_outcome_name(RS_SW_ROLLED_BACK), "rolled-back");
}

Test(switch, runtime_names) {
  static const struct {
    const char *in, *out;
  } cases[] = {{"docker://20.10.24", "docker"}, {"containerd://1.6.20", "containerd"},
               {"cri-o://1.28.1", "cri-o"}, {"remote://x", "remote"}, {"docker", NULL}, {"://x", NULL},
               {"", NULL}, {NULL, NULL}};
  for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
    _cleanup_free_ char *n = rs_runtime_name(cases[i].in);
    if (cases[i].out) cr_assert_str_eq(n, cases[i].out);
    else cr_assert_null(n, "%s", cases[i].in);
  }
}

Test(switch, runtime_is) {
  json_auto_t *d134 = node("n", "docker://20.10.24", "v1.34.4", true, false);
  json_auto_t *d123 = node("n", "docker://20.10.24", "v1.23.17", true, false);
  json_auto_t *c = node("n", "containerd://1.6.20", "v1.34.4", true, false);
  cr_assert(rs_sw_runtime_is(d134, "cri-dockerd"), "docker:// on 1.24+ is cri-dockerd");
  cr_assert_not(rs_sw_runtime_is(d123, "cri-dockerd"), "docker:// on 1.23 is dockershim");
  cr_assert(rs_sw_runtime_is(d123, "docker"));
  cr_assert(rs_sw_runtime_is(c, "containerd"));
  cr_assert_not(rs_sw_runtime_is(c, "cri-o"));
  cr_assert_not(rs_sw_runtime_is(c, NULL));
  /* only the kubelet's flags tell dockershim from cri-dockerd before 1.24 */
  cr_assert(rs_sw_runtime_ambiguous(d123, "cri-dockerd"));
  cr_assert_not(rs_sw_runtime_ambiguous(d134, "cri-dockerd"), "1.24+ has no dockershim");
  cr_assert_not(rs_sw_runtime_ambiguous(d123, "containerd"));
  cr_assert_not(rs_sw_runtime_ambiguous(d123, "docker"), "docker:// is docker");
  cr_assert_not(rs_sw_runtime_ambiguous(c, "cri-dockerd"));
  cr_assert_not(rs_sw_runtime_ambiguous(c, NULL));
  cr_assert(rs_sw_node_ready(c));
  json_auto_t *nr = node("n", "containerd://1.6.20", "v1.34.4", false, false);
  cr_assert_not(rs_sw_node_ready(nr));
}

Test(switch, endpoints) {
  cr_assert_str_eq(rs_sw_endpoint_for("containerd"), "unix:///run/containerd/containerd.sock");
  cr_assert_str_eq(rs_sw_endpoint_for("cri-o"), "unix:///var/run/crio/crio.sock");
  cr_assert_str_eq(rs_sw_endpoint_for("cri-dockerd"), "unix:///var/run/cri-dockerd.sock");
  /* kubeadm's annotation for dockershim is a bare path */
  cr_assert_str_eq(rs_sw_endpoint_for("docker"), "/var/run/dockershim.sock");
  cr_assert_null(rs_sw_endpoint_for("podman"));
  cr_assert_null(rs_sw_endpoint_for(NULL));
}

Test(switch, runtime_table) {
  cr_assert_eq(rs_rt_target("containerd"), RS_RT_CONTAINERD);
  cr_assert_eq(rs_rt_target("cri-o"), RS_RT_CRIO);
  cr_assert_eq(rs_rt_target("cri-dockerd"), RS_RT_CRI_DOCKERD);
  cr_assert_eq(rs_rt_target("docker"), RS_RT_NONE, "dockershim is a source only");
  cr_assert_eq(rs_rt_target("crio"), RS_RT_NONE);
  cr_assert_eq(rs_rt_target(NULL), RS_RT_NONE);
  cr_assert_eq(rs_rt_by_name("docker"), RS_RT_DOCKER);
  cr_assert_null(rs_rt_name(RS_RT_NONE));
  cr_assert_str_eq(rs_rt_socket(RS_RT_CRIO), "/var/run/crio/crio.sock");
  /* "cri-dockerd" is recognised before "dockershim", "containerd", "crio" */
  cr_assert_eq(rs_rt_by_endpoint("unix:///var/run/cri-dockerd.sock"), RS_RT_CRI_DOCKERD);
  cr_assert_eq(rs_rt_by_endpoint("unix:///var/run/dockershim.sock"), RS_RT_DOCKER);
  cr_assert_eq(rs_rt_by_endpoint("/run/containerd/containerd.sock"), RS_RT_CONTAINERD);
  cr_assert_eq(rs_rt_by_endpoint("unix:///var/run/crio/crio.sock"), RS_RT_CRIO);
  cr_assert_eq(rs_rt_by_endpoint("unix:///run/podman.sock"), RS_RT_NONE);
  cr_assert_str_eq(rs_rt_scheme("cri-o://1.30", 5), "cri-o");
  cr_assert_null(rs_rt_scheme("crio://1.30", 4));
  cr_assert_null(rs_rt_scheme("docker", 3));
}

struct check_case {
  const char *runtime;
  const char *to;
  bool cp;
  bool other_cp_ready;
  bool force;
  bool ok;
  const char *needle;
};

Test(switch, check_refusals) {
  static const struct check_case cases[] = {
      {"docker://20.10.24", "containerd", false, false, false, true, NULL},
      {"containerd://1.6.20", "containerd", false, false, false, false, "already runs containerd"},
      {"docker://20.10.24", "cri-dockerd", false, false, false, false, "already runs cri-dockerd"},
      {"containerd://1.6.20", "cri-dockerd", false, false, false, true, NULL},
      {"Unknown", "containerd", false, false, false, false, "reports no container runtime"},
      {"", "containerd", false, false, false, false, "reports no container runtime"},
      {"Unknown://", "containerd", false, false, false, false, "reports no container runtime"},
      {"podman://4", "containerd", false, false, false, false, "does not know"},
      {"docker://20.10.24", "containerd", true, false, false, false, "only Ready control-plane"},
      {"docker://20.10.24", "containerd", true, false, true, true, NULL},
      {"docker://20.10.24", "containerd", true, true, false, true, NULL},
  };
  for (size_t i = 0; i < RS_ARRAY_SIZE(cases); i++) {
    const struct check_case *k = &cases[i];
    json_auto_t *n = node("n1", k->runtime, "v1.34.4", true, k->cp);
    json_auto_t *all = json_array();
    json_array_append(all, n);
    json_array_append_new(all, node("n2", "containerd://1.6.20", "v1.34.4", k->other_cp_ready, true));
    json_array_append_new(all, node("w3", "containerd://1.6.20", "v1.34.4", true, false));
    rs_err_t e = RS_ERR_INIT;
    int r = rs_sw_check_node(n, all, k->to, k->force, &e);
    cr_assert_eq(r == 0, k->ok, "case %zu: %s", i, e.msg ? e.msg : "");
    if (!k->ok) cr_assert(strstr(e.msg, k->needle), "case %zu: %s", i, e.msg);
    rs_err_clear(&e);
  }
  json_auto_t *n = node("n1", "docker://20.10.24", "v1.34.4", true, false);
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_sw_check_node(n, NULL, "runc", false, &e), -1);
  cr_assert_eq(e.kind, RS_E_USAGE);
  rs_err_clear(&e);
}

Test(switch, record_round_trip) {
  struct rs_sw_record r = {.id = "20261126-101500-ab12", .op = RS_OP_SWITCH, .phase = RS_REC_DRAINED,
                           .from = "cri-dockerd", .to = "containerd", .ns = "kube-system",
                           .image = "localhost/busybox:1", .cordoned = true, .started = 1790000000};
  json_auto_t *j = rs_sw_record_to_json(&r);
  _cleanup_free_ char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  json_auto_t *n = node("n1", "docker://20.10.24", "v1.34.4", true, false);
  json_t *ann = json_object_get(json_object_get(n, "metadata"), "annotations");
  json_object_set_new(ann, RS_ANN_RUN, json_string(txt));
  json_object_set_new(ann, RS_HELPER_ANNOTATION_STATE, json_string("20261126-101500-ab12 launched"));
  struct rs_sw_record got;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_sw_record_from_node(n, &got, &e), 0, "%s", e.msg);
  cr_assert_str_eq(got.id, r.id);
  cr_assert_str_eq(got.phase, "launched", "the contract's state annotation wins");
  cr_assert_str_eq(got.from, "cri-dockerd");
  cr_assert_str_eq(got.to, "containerd");
  cr_assert_str_eq(got.ns, "kube-system");
  cr_assert_str_eq(got.image, "localhost/busybox:1");
  cr_assert(got.cordoned);
  cr_assert_not(got.secret);
  cr_assert_eq(got.op, RS_OP_SWITCH);
  cr_assert_eq(got.started, 1790000000);
  cr_assert_not(rs_sw_record_final(&got));
  rs_sw_record_clear(&got);
}

Test(switch, record_absent_or_bad) {
  json_auto_t *n = node("n1", "docker://20.10.24", "v1.34.4", true, false);
  struct rs_sw_record got;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_sw_record_from_node(n, &got, &e), 0);
  cr_assert_null(got.id);
  cr_assert(rs_sw_record_final(&got), "no record: nothing in progress");
  json_t *ann = json_object_get(json_object_get(n, "metadata"), "annotations");
  json_object_set_new(ann, RS_ANN_RUN, json_string("[1,2]"));
  cr_assert_eq(rs_sw_record_from_node(n, &got, &e), -1);
  cr_assert(strstr(e.msg, "kubectl annotate node"), "%s", e.msg);
  rs_err_clear(&e);
  /* only the contract's annotation (e.g. written by another tool) */
  json_object_del(ann, RS_ANN_RUN);
  json_object_set_new(ann, RS_HELPER_ANNOTATION_STATE, json_string("abc cordoned"));
  cr_assert_eq(rs_sw_record_from_node(n, &got, &e), 0);
  cr_assert_str_eq(got.id, "abc");
  cr_assert_str_eq(got.phase, "cordoned");
  rs_sw_record_clear(&got);
  /* a state annotation of another run than the record: the record stays */
  json_object_set_new(ann, RS_ANN_RUN, json_string("{\"id\":\"r1\",\"phase\":\"done\",\"op\":\"rollback\"}"));
  cr_assert_eq(rs_sw_record_from_node(n, &got, &e), 0);
  cr_assert_str_eq(got.id, "r1");
  cr_assert_str_eq(got.phase, "done");
  cr_assert_eq(got.op, RS_OP_ROLLBACK);
  cr_assert(rs_sw_record_final(&got));
  rs_sw_record_clear(&got);
}

Test(switch, record_ranks) {
  static const char *const order[] = {RS_REC_STARTED, RS_REC_CORDONED, RS_REC_DRAINED, RS_REC_LAUNCHED,
                                      RS_REC_SWITCHED, RS_REC_DONE};
  for (size_t i = 1; i < RS_ARRAY_SIZE(order); i++)
    cr_assert_lt(rs_sw_record_rank(order[i - 1]), rs_sw_record_rank(order[i]), "%s", order[i]);
  cr_assert_eq(rs_sw_record_rank(RS_REC_ROLLED_BACK), rs_sw_record_rank(RS_REC_DONE));
  cr_assert_eq(rs_sw_record_rank(RS_REC_ABANDONED), rs_sw_record_rank(RS_REC_DONE));
  cr_assert_eq(rs_sw_record_rank("bogus"), -1);
  cr_assert_eq(rs_sw_record_rank(NULL), -1);
  struct rs_sw_record r = {.id = "x", .phase = "bogus"};
  cr_assert(rs_sw_record_final(&r), "an unknown phase is not resumed");
}

Test(switch, journal_times) {
  const char *t = "{\"contract\":1,\"state\":\"done\",\"journal\":["
                  "{\"time\":100,\"event\":\"state\",\"state\":\"launched\"},"
                  "{\"time\":101,\"event\":\"begin\",\"step\":\"stop-kubelet\"},"
                  "{\"time\":102,\"event\":\"done\",\"step\":\"stop-kubelet\"},"
                  "{\"time\":103,\"event\":\"begin\",\"step\":\"stop-kubelet\"},"
                  "{\"time\":110,\"event\":\"done\",\"step\":\"wait-kubelet\"},"
                  "{\"time\":111,\"event\":\"state\",\"state\":\"done\"}]}";
  json_auto_t *rep = json_loads(t, 0, NULL);
  cr_assert_eq(rs_sw_journal_time(rep, "begin", "stop-kubelet"), 101, "the first begin");
  cr_assert_eq(rs_sw_journal_time(rep, "done", "wait-kubelet"), 110);
  cr_assert_eq(rs_sw_journal_time(rep, "state", "done"), 111);
  cr_assert_eq(rs_sw_journal_time(rep, "begin", "images-save"), -1);
  cr_assert_eq(rs_sw_journal_time(NULL, "begin", "x"), -1);
}

/* A rollback of an earlier run's id: its report's journal starts with that
 * run's switch (here at 100-110); the rollback's own window is 200-216
 * (the NotReady figure once came out as the time since the switch's stop). */
Test(switch, windows_are_the_runs_own) {
  const char *t = "{\"contract\":1,\"state\":\"rolled-back\",\"journal\":["
                  "{\"time\":100,\"event\":\"begin\",\"step\":\"stop-kubelet\"},"
                  "{\"time\":110,\"event\":\"done\",\"step\":\"wait-kubelet\"},"
                  "{\"time\":111,\"event\":\"state\",\"state\":\"done\"},"
                  "{\"time\":200,\"event\":\"begin\",\"step\":\"rb-stop-kubelet\"},"
                  "{\"time\":212,\"event\":\"done\",\"step\":\"rb-start-kubelet\"},"
                  "{\"time\":213,\"event\":\"state\",\"state\":\"rolled-back\"}]}";
  json_auto_t *rep = json_loads(t, 0, NULL);
  struct rs_switch_result r = {0};
  rs_sw_windows(rep, RS_OP_ROLLBACK, 216500, 203000, &r);
  cr_assert_eq(r.notready_ms, 16500, "the rollback's own: %lld", r.notready_ms);
  cr_assert_eq(r.kubelet_down_ms, 12000);
  cr_assert_eq(r.api_notready_ms, 13500);
  /* the switch that was rolled back by the helper: from its own stop */
  rs_sw_windows(rep, RS_OP_SWITCH, 216500, -1, &r);
  cr_assert_eq(r.notready_ms, 116500);
  cr_assert_eq(r.kubelet_down_ms, 10000);
  cr_assert_eq(r.api_notready_ms, -1);
}
