#include <criterion/criterion.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "helper/kubelet_yaml.h"

static const char *cfg =
    "apiVersion: kubelet.config.k8s.io/v1beta1\n"
    "authentication:\n"
    "  anonymous:\n"
    "    enabled: false\n"
    "cgroupDriver: systemd   # kubeadm default\n"
    "containerRuntimeEndpoint: \"unix:///var/run/cri-dockerd.sock\"\n"
    "kind: KubeletConfiguration\n";

Test(kyaml, get) {
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *d = NULL, *ep = NULL, *none = NULL, *nested = NULL;
  cr_assert_eq(rs_kyaml_get(cfg, strlen(cfg), "cgroupDriver", &d, &e), 0);
  cr_assert_str_eq(d, "systemd");
  cr_assert_eq(rs_kyaml_get(cfg, strlen(cfg), "containerRuntimeEndpoint", &ep, &e), 0);
  cr_assert_str_eq(ep, "unix:///var/run/cri-dockerd.sock");
  cr_assert_eq(rs_kyaml_get(cfg, strlen(cfg), "enabled", &none, &e), 0);
  cr_assert_null(none);
  cr_assert_eq(rs_kyaml_get(cfg, strlen(cfg), "authentication", &nested, &e), -1);
  rs_err_clear(&e);
}

Test(kyaml, set_replaces_in_place_keeping_comment) {
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *out = NULL;
  _cleanup_strv_ char **ch = rs_strv_new();
  cr_assert_eq(rs_kyaml_set(cfg, strlen(cfg), "containerRuntimeEndpoint",
                            "unix:///run/containerd/containerd.sock", &out, &ch, &e), 0);
  cr_assert(strstr(out, "containerRuntimeEndpoint: unix:///run/containerd/containerd.sock\n"));
  cr_assert(strstr(out, "cgroupDriver: systemd   # kubeadm default\n"));
  cr_assert_eq(strlen(out), strlen(cfg) - strlen("\"unix:///var/run/cri-dockerd.sock\"") +
                                strlen("unix:///run/containerd/containerd.sock"));
  cr_assert_eq(rs_strv_len(ch), 1);
}

Test(kyaml, set_appends_in_first_document) {
  const char *two = "kind: KubeletConfiguration\nfoo: 1\n---\nkind: Other\n";
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *out = NULL;
  cr_assert_eq(rs_kyaml_set(two, strlen(two), "containerRuntimeEndpoint", "unix:///x", &out, NULL, &e), 0);
  cr_assert_str_eq(out, "kind: KubeletConfiguration\nfoo: 1\ncontainerRuntimeEndpoint: unix:///x\n---\nkind: Other\n");
}

Test(kyaml, quoting_and_noop) {
  rs_err_t e = RS_ERR_INIT;
  _cleanup_free_ char *out = NULL, *out2 = NULL;
  const char *t = "a: 'it''s'\nb: x";
  cr_assert_eq(rs_kyaml_set(t, strlen(t), "b", "true", &out, NULL, &e), 0);
  cr_assert_str_eq(out, "a: 'it''s'\nb: \"true\"");
  cr_assert_eq(rs_kyaml_set(t, strlen(t), "a", "it's", &out2, NULL, &e), 0);
  cr_assert_str_eq(out2, t);
}

Test(kyaml, json_document_refused) {
  const char *t = "{\"kind\": \"KubeletConfiguration\"}";
  rs_err_t e = RS_ERR_INIT;
  char *out = NULL;
  cr_assert_eq(rs_kyaml_get(t, strlen(t), "kind", &out, &e), -1);
  rs_err_clear(&e);
}

Test(kyaml, malformed_values) {
  static const char *bad[] = {"a: \"x\" y\n", "a: 'x\n", "a: |\n  x\n", "k: v\0z\n"};
  static const size_t len[] = {9, 7, 11, 7};
  for (size_t i = 0; i < 4; i++) {
    rs_err_t e = RS_ERR_INIT;
    char *out = NULL;
    cr_assert_eq(rs_kyaml_get(bad[i], len[i], "a", &out, &e), -1, "accepted case %zu", i);
    rs_err_clear(&e);
  }
}
