#include <criterion/criterion.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/kubelet_flags.h"

#define KA "KUBELET_KUBEADM_ARGS"

static char *edit(const char *in, const struct rs_flag_op *ops, size_t n,
                  char ***changes) {
  char *out = NULL;
  rs_err_t e = RS_ERR_INIT;
  int r = rs_env_flags_edit(in, strlen(in), KA, ops, n, &out, changes, &e);
  cr_assert_eq(r, 0, "%s", e.msg ? e.msg : "");
  return out;
}

Test(envfile, get_value_and_flags) {
  const char *t = "# c\nKUBELET_KUBEADM_ARGS=\"--a=1 --network-plugin=cni --b 2\"\n";
  _cleanup_free_ char *v = NULL, *f1 = NULL, *f2 = NULL, *f3 = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_env_get(t, strlen(t), KA, &v, &e), 0);
  cr_assert_str_eq(v, "--a=1 --network-plugin=cni --b 2");
  cr_assert_eq(rs_env_flag_get(t, strlen(t), KA, "--network-plugin", &f1, &e), 0);
  cr_assert_str_eq(f1, "cni");
  cr_assert_eq(rs_env_flag_get(t, strlen(t), KA, "--b", &f2, &e), 0);
  cr_assert_str_eq(f2, "2");
  cr_assert_eq(rs_env_flag_get(t, strlen(t), KA, "--nope", &f3, &e), 0);
  cr_assert_null(f3);
}

Test(envfile, drop_set_keep_quotes) {
  const char *in =
      "KUBELET_KUBEADM_ARGS=\"--container-runtime=docker --network-plugin=cni "
      "--pod-infra-container-image=k8s.gcr.io/pause:3.2\"\n";
  struct rs_flag_op ops[] = {
      {"--network-plugin", RS_FLAG_DROP, NULL},
      {"--container-runtime", RS_FLAG_SET, "remote"},
      {"--container-runtime-endpoint", RS_FLAG_SET, "unix:///run/containerd/containerd.sock"},
  };
  _cleanup_strv_ char **ch = rs_strv_new();
  _cleanup_free_ char *out = edit(in, ops, 3, &ch);
  cr_assert_str_eq(out,
                   "KUBELET_KUBEADM_ARGS=\"--container-runtime=remote "
                   "--pod-infra-container-image=k8s.gcr.io/pause:3.2 "
                   "--container-runtime-endpoint=unix:///run/containerd/containerd.sock\"\n");
  cr_assert_eq(rs_strv_len(ch), 3);
}

Test(envfile, separate_value_form_and_single_quotes) {
  const char *in = "export KUBELET_KUBEADM_ARGS='--cni-bin-dir /usr/lib/cni  --v=2'\n";
  struct rs_flag_op ops[] = {{"--cni-bin-dir", RS_FLAG_DROP, NULL}};
  _cleanup_free_ char *out = edit(in, ops, 1, NULL);
  cr_assert_str_eq(out, "export KUBELET_KUBEADM_ARGS='--v=2'\n");
}

Test(envfile, untouched_when_nothing_matches) {
  const char *in = "A=b\nKUBELET_KUBEADM_ARGS=\"--v=2\"   \n# end";
  struct rs_flag_op ops[] = {{"--docker-endpoint", RS_FLAG_DROP, NULL},
                             {"--container-runtime", RS_FLAG_REPLACE, "remote"}};
  _cleanup_free_ char *out = edit(in, ops, 2, NULL);
  cr_assert_str_eq(out, in);
}

Test(envfile, missing_variable_is_added) {
  const char *in = "# only a comment";
  struct rs_flag_op ops[] = {{"--container-runtime-endpoint", RS_FLAG_SET, "unix:///x.sock"}};
  _cleanup_free_ char *out = edit(in, ops, 1, NULL);
  cr_assert_str_eq(out, "# only a comment\nKUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///x.sock\"\n");
}

Test(envfile, last_assignment_counts_and_duplicates_dropped) {
  const char *in = "KUBELET_KUBEADM_ARGS=\"--x=1\"\nKUBELET_KUBEADM_ARGS=\"--e=a --v=1 --e=b\"\n";
  struct rs_flag_op ops[] = {{"--e", RS_FLAG_SET, "c"}};
  _cleanup_free_ char *out = edit(in, ops, 1, NULL);
  cr_assert_str_eq(out, "KUBELET_KUBEADM_ARGS=\"--x=1\"\nKUBELET_KUBEADM_ARGS=\"--e=c --v=1\"\n");
}

Test(envfile, errors) {
  const char *bad = "KUBELET_KUBEADM_ARGS=\"--x=1\n";
  char *out = NULL;
  rs_err_t e = RS_ERR_INIT;
  struct rs_flag_op ops[] = {{"--e", RS_FLAG_SET, "c d"}};
  cr_assert_eq(rs_env_flags_edit("A=1", 3, KA, ops, 1, &out, NULL, &e), -1);
  cr_assert_eq(rs_env_get(bad, strlen(bad), KA, &out, &e), -1);
  cr_assert(strstr(e.msg, "unterminated"));
  rs_err_clear(&e);
}

Test(envfile, unquoted_extra_args) {
  const char *in = "KUBELET_EXTRA_ARGS=\n";
  struct rs_flag_op ops[] = {{"--container-runtime-endpoint", RS_FLAG_SET, "unix:///s"}};
  char *out = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_env_flags_edit(in, strlen(in), "KUBELET_EXTRA_ARGS", ops, 1, &out, NULL, &e), 0);
  cr_assert_str_eq(out, "KUBELET_EXTRA_ARGS=--container-runtime-endpoint=unix:///s\n");
  free(out);
}

Test(envfile, nul_refused) {
  const char t[] = "KUBELET_KUBEADM_ARGS=\"--a=1\"\0\n";
  char *out = NULL;
  rs_err_t e = RS_ERR_INIT;
  cr_assert_eq(rs_env_get(t, sizeof t - 1, KA, &out, &e), -1);
  rs_err_clear(&e);
}
