/* Internal to src/kube: the parsed form of one kubeconfig file. */
#ifndef RS_KUBE_KCFG_YAML_H
#define RS_KUBE_KCFG_YAML_H

#include <stdbool.h>
#include "kube/kubeconfig.h"

struct kc_cluster {
  char *name;
  int line, col;
  char *server;
  char *tls_server_name;
  char *ca_file;
  struct rs_bytes ca_data;
  bool has_ca_data;
  bool insecure;
  char *proxy_url;
  bool disable_compression;
  char *exec_ext; /* JSON of extension client.authentication.k8s.io/exec */
};

struct kc_user {
  char *name;
  int line, col;
  char *cert_file;
  struct rs_bytes cert_data;
  bool has_cert_data;
  char *key_file;
  struct rs_bytes key_data;
  bool has_key_data;
  char *token;
  char *token_file;
  char *username;
  char *password;
  char *as;
  char *as_uid;
  char **as_groups;
  char *auth_provider; /* its name; only reported */
  struct rs_kube_exec *exec;
};

struct kc_context {
  char *name;
  int line, col;
  char *cluster;
  char *user;
  char *ns;
};

struct rs_kcfg_file {
  char *path;
  char *dir;
  char *current_context;
  struct kc_cluster *clusters;
  size_t n_clusters;
  struct kc_user *users;
  size_t n_users;
  struct kc_context *contexts;
  size_t n_contexts;
};

void rs_kube_exec_free(struct rs_kube_exec *e);
struct rs_kube_exec *rs_kube_exec_dup(const struct rs_kube_exec *e);
char *rs_path_join(const char *dir, const char *rel);

#endif
